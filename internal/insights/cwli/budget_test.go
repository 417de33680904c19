package cwli

import (
	"errors"
	"fmt"
	"testing"

	"github.com/cairnlog/cairn/internal/store"
)

// TestSharedBudget: runs charge their state to a shared Budget as well as
// their own bound; one that would take the total past it fails with
// ErrServerMemory, snapshots give back what they charged, and Release and
// Finish return everything (Used back to zero).
func TestSharedBudget(t *testing.T) {
	var evs []store.StoredEvent
	for i := 0; i < 5000; i++ {
		evs = append(evs, store.StoredEvent{Stream: "s", Timestamp: int64(i), Message: fmt.Sprintf(`{"k":"key-%d"}`, i)})
	}
	blk := store.ScanBlock{Group: "g", Events: evs}
	q, err := Compile("stats count() as n by k")
	if err != nil {
		t.Fatal(err)
	}
	// what one run holds
	probe := q.Run(Options{})
	probe.AddBlock("g", blk)
	one := probe.mem
	if one <= 0 {
		t.Fatalf("no memory charged: %d", one)
	}
	for _, lanes := range []int{0, 2} {
		b := &Budget{Limit: one + one/2}
		a := q.Run(Options{Shared: b, Parallel: lanes})
		if !a.AddBlock("g", blk) {
			t.Fatalf("lanes %d: first run failed: %v", lanes, a.err)
		}
		for i := 0; i < 3; i++ {
			a.Snapshot()
		}
		if u := b.Used(); u != a.mem || u <= 0 {
			t.Fatalf("lanes %d: used %d, the run holds %d", lanes, u, a.mem)
		}
		c := q.Run(Options{Shared: b, Parallel: lanes})
		c.AddBlock("g", blk)
		if _, err := c.Finish(); !errors.Is(err, ErrServerMemory) {
			t.Fatalf("lanes %d: second run: %v, want ErrServerMemory", lanes, err)
		}
		a.Release()
		if u := b.Used(); u != 0 {
			t.Fatalf("lanes %d: used %d after both ended", lanes, u)
		}
		d := q.Run(Options{Shared: b, Parallel: lanes})
		d.AddBlock("g", blk)
		res, err := d.Finish()
		if err != nil || len(res.Rows) != 5000 {
			t.Fatalf("lanes %d: third run: %v, %d rows", lanes, err, len(res.Rows))
		}
		d.Release()
		if u := b.Used(); u != 0 {
			t.Fatalf("lanes %d: used %d after the third", lanes, u)
		}
	}
}
