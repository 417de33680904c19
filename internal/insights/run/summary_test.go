package run_test

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/insights/cwli"
	"github.com/cairnlog/cairn/internal/insights/run"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

// tally wraps a *cwli.Exec and counts how its blocks arrived: undecoded
// (a summary) or as events, so the test knows both paths ran.
type tally struct {
	*cwli.Exec
	mu                sync.Mutex
	summaries, events int
}

func (t *tally) AddBlock(group string, b store.ScanBlock) bool {
	t.mu.Lock()
	if b.Summary != nil {
		t.summaries++
	} else {
		t.events++
	}
	t.mu.Unlock()
	return t.Exec.AddBlock(group, b)
}

// TestCountByBinFromSummaries: stats count() by bin(5m) takes blocks that
// lie inside one bin from their summaries, and must give exactly what
// counting every event does, at bin edges (an event on the last
// millisecond of a bin, one on the first of the next), with blocks that
// straddle bins, and with a window that starts and ends inside blocks.
// Expected counts come from a loop over the appended timestamps.
func TestCountByBinFromSummaries(t *testing.T) {
	e, err := embedded.Open(embedded.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g", CreationTime: 1})
	e.CreateStream(ctx, scope, "g", store.Stream{Name: "s", CreationTime: 1})
	const bin = 5 * 60 * 1000
	base := int64(1_764_000_000_000) / bin * bin // a bin edge
	var all []int64
	add := func(ts ...int64) {
		var evs []store.Event
		for _, x := range ts {
			evs = append(evs, store.Event{Timestamp: x, Message: "m " + strconv.FormatInt(x, 10)})
		}
		if _, err := e.Append(ctx, scope, "g", "s", evs, base); err != nil {
			t.Fatal(err)
		}
		all = append(all, ts...)
	}
	add(base, base+1, base+bin-1)               // exactly one bin, both of its edges
	add(base+bin-1, base+bin)                   // straddles: last ms of bin 0, first of bin 1
	add(base+bin, base+bin+10, base+2*bin-1)    // one bin
	add(base + 2*bin + 5)                       // a single event
	add(base+3*bin-2, base+3*bin-1, base+3*bin) // straddles at the end
	for i := 0; i < 50; i++ {                   // many events, one bin, equal timestamps
		add(base+4*bin+int64(i%3), base+4*bin+int64(i%3), base+4*bin+100)
	}
	add(base+5*bin+bin/2, base+7*bin+3) // spans three bins (one empty)
	m := run.New(run.Config{Store: e})
	defer m.Close()
	q, err := cwli.Compile("stats count() by bin(5m)")
	if err != nil {
		t.Fatal(err)
	}
	if q.Pushdown().NeedMessage {
		t.Fatal("count by bin needs messages?")
	}
	for _, w := range []struct{ start, end int64 }{
		{0, 1 << 50},                   // everything
		{base + 1, base + 3*bin - 1},   // starts and ends inside blocks
		{base + bin, base + 2*bin - 1}, // one bin exactly
		{base + bin - 1, base + bin},   // two milliseconds across an edge
		{base + 4*bin + 1, base + 4*bin + 100},
		{base + 7*bin + 3, base + 7*bin + 3},
	} {
		want := map[int64]int{}
		for _, ts := range all {
			if ts >= w.start && ts <= w.end {
				want[ts/bin*bin]++
			}
		}
		x := &tally{Exec: q.Run(cwli.Options{Start: w.start, End: w.end})}
		id, err := m.Start(run.Spec{Scope: scope, Groups: []string{"g"}, Start: w.start, End: w.end, NoMessages: true, Exec: x, Language: "CWLI"})
		if err != nil {
			t.Fatal(err)
		}
		snap := waitStatus(t, m, id, run.Complete)
		got := map[string]string{}
		for _, r := range snap.Result.Rows {
			got[r[0].Value] = r[1].Value
		}
		wantRows := map[string]string{}
		total := 0
		for b, n := range want {
			wantRows[time.UnixMilli(b).UTC().Format("2006-01-02 15:04:05.000")] = strconv.Itoa(n)
			total += n
		}
		if fmt.Sprint(got) != fmt.Sprint(wantRows) {
			t.Errorf("window %d..%d: got %v, want %v", w.start-base, w.end-base, got, wantRows)
		}
		if snap.Result.RecordsMatched != float64(total) || snap.Result.RecordsScanned != float64(total) {
			t.Errorf("window %d..%d: matched %v scanned %v, want %d", w.start-base, w.end-base, snap.Result.RecordsMatched, snap.Result.RecordsScanned, total)
		}
		// rows in bin order
		keys := make([]string, 0, len(snap.Result.Rows))
		for _, r := range snap.Result.Rows {
			keys = append(keys, r[0].Value)
		}
		if !sort.StringsAreSorted(keys) {
			t.Errorf("rows not in bin order: %v", keys)
		}
		if w.start == 0 && (x.summaries == 0 || x.events == 0) {
			t.Errorf("whole window: %d blocks from summaries, %d decoded; want both paths used", x.summaries, x.events)
		}
	}
}
