package insights

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/cairnlog/cairn/internal/insights/cwli"
	"github.com/cairnlog/cairn/internal/store"
)

// A re-compacted block may interleave more appends than the cache's least
// size (64), event by event: each append's originals must still be read
// (decrypted) once for the block, not once per event.
func TestUnmaskReadsEachAppendOncePerBlock(t *testing.T) {
	const appends, perAppend = 100, 3
	var mu sync.Mutex
	reads := map[uint64]int{}
	originals := func(_ context.Context, _ store.Scope, _ string, seq uint64) (func(uint32, string) (string, bool), error) {
		mu.Lock()
		reads[seq]++
		mu.Unlock()
		m := map[uint32]string{}
		for i := uint32(0); i < perAppend; i++ {
			m[i] = fmt.Sprintf("orig %d.%d", seq, i)
		}
		return func(i uint32, _ string) (string, bool) { o, ok := m[i]; return o, ok }, nil
	}
	u := &unmasker{scope: store.Scope{Account: "123456789012", Region: "us-east-1"}, originals: originals,
		cache: map[unmaskKey]func(uint32, string) (string, bool){}, limit: unmaskCacheSize}
	q, err := cwli.Compile(`fields unmask(@message) as o`)
	if err != nil {
		t.Fatal(err)
	}
	exec := u.wrap(q.Run(cwli.Options{Start: 0, End: 1 << 40, Limit: 10_000, Unmask: u.fn()}))

	// Appends 1..100 with three events each, in the order a merged block
	// sorted by time keeps them: index 0 of every append, then index 1...
	var evs []store.StoredEvent
	for i := uint32(0); i < perAppend; i++ {
		for seq := uint64(1); seq <= appends; seq++ {
			evs = append(evs, store.StoredEvent{Stream: "s", Timestamp: 1000 + int64(i), Message: "masked",
				Pos: store.Position{Seq: seq, Index: i}})
		}
	}
	exec.AddBlock("g", store.ScanBlock{Group: "g", Events: evs})
	res, err := exec.Finish()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, row := range res.Rows {
		for _, f := range row {
			if f.Field == "o" {
				got[f.Value]++
			}
		}
	}
	for seq := 1; seq <= appends; seq++ {
		for i := 0; i < perAppend; i++ {
			if want := fmt.Sprintf("orig %d.%d", seq, i); got[want] != 1 {
				t.Errorf("original %q shown %d times, want once", want, got[want])
			}
		}
		if reads[uint64(seq)] != 1 {
			t.Errorf("append %d: originals read %d times, want once", seq, reads[uint64(seq)])
		}
	}
}
