package run_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/insights/cwli"
	"github.com/cairnlog/cairn/internal/insights/run"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

// rendering hides cwli.Exec's SkipPushedFilter: the run takes the path
// that renders every message and runs the query's filters itself.
type rendering struct{ run.Exec }

// withoutMessages counts the events that reached the executor with and
// without their messages, so the test knows which path ran.
type withoutMessages struct {
	*cwli.Exec
	mu           sync.Mutex
	empty, wordy int
}

func (w *withoutMessages) AddBlock(group string, b store.ScanBlock) bool {
	w.mu.Lock()
	for _, e := range b.Events {
		if e.Message == "" {
			w.empty++
		} else {
			w.wordy++
		}
	}
	w.mu.Unlock()
	return w.Exec.AddBlock(group, b)
}

// TestExactFilterFromStore: a query whose only use of the message is its
// leading filters (filter @message like "ERROR" | stats count() ...)
// leaves them to the store and scans without messages (merged blocks are
// then answered from their templates), and gives exactly what the run
// that renders every message and filters itself gives, and what a count
// over the appended messages gives; over merged and fresh blocks, the
// whole window and windows that cut blocks. A query that reads the
// message afterwards keeps the rendering path.
func TestExactFilterFromStore(t *testing.T) {
	e, err := embedded.Open(embedded.Config{Dir: t.TempDir(), RecompactInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g", CreationTime: 1})
	for _, s := range []string{"a", "b"} {
		e.CreateStream(ctx, scope, "g", store.Stream{Name: s, CreationTime: 1})
	}
	gen := bench.NewLineGen(8)
	rng := rand.New(rand.NewPCG(3, 4))
	type ev struct {
		ts  int64
		msg string
	}
	var all []ev
	ts := int64(1_764_000_000_000)
	appendSome := func(blocks int) {
		for b := range blocks {
			evs := make([]store.Event, 1+rng.IntN(500))
			for i := range evs {
				ts += int64(rng.IntN(200))
				m := gen.Line()
				if rng.IntN(7) == 0 {
					m = fmt.Sprintf("ERROR%d x", rng.IntN(100)) // the literal next to a number
				}
				evs[i] = store.Event{Timestamp: ts, Message: m}
				all = append(all, ev{ts, m})
			}
			if _, err := e.Append(ctx, scope, "g", []string{"a", "b"}[b%2], evs, ts); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendSome(60)
	if _, err := e.RecompactSettled(); err != nil {
		t.Fatal(err)
	}
	appendSome(10)
	m := run.New(run.Config{Store: e})
	defer m.Close()
	first, last := all[0].ts, all[len(all)-1].ts
	runQuery := func(text string, start, end int64, wrap func(*cwli.Exec) run.Exec) run.Snapshot {
		q, err := cwli.Compile(text)
		if err != nil {
			t.Fatal(err)
		}
		pd := q.Pushdown()
		x := wrap(q.Run(cwli.Options{Start: start, End: end, Parallel: 2}))
		id, err := m.Start(run.Spec{Scope: scope, Groups: []string{"g"}, Start: start, End: end, Filter: pd.Filter, NoMessages: !pd.NeedMessage,
			Exec: x, Language: "CWLI"})
		if err != nil {
			t.Fatal(err)
		}
		return waitStatus(t, m, id, run.Complete)
	}
	for _, c := range []struct {
		query string
		exact bool
		match func(string) bool
	}{
		{`filter @message like "ERROR" | stats count() as n`, true, func(s string) bool { return strings.Contains(s, "ERROR") }},
		{`filter @message like /ERROR/ | stats count() as n by bin(1h)`, true, func(s string) bool { return strings.Contains(s, "ERROR") }},
		{`filter @message like "ERROR" | filter @message not like "slow" | stats count() as n by @logStream`, true,
			func(s string) bool { return strings.Contains(s, "ERROR") && !strings.Contains(s, "slow") }},
		{`filter @message like "ERROR" | stats count() as n, max(strlen(@message)) as longest`, false, func(s string) bool { return strings.Contains(s, "ERROR") }},
	} {
		q, err := cwli.Compile(c.query)
		if err != nil {
			t.Fatal(err)
		}
		if got := q.Pushdown().ExactFilter; got != c.exact {
			t.Fatalf("%s: ExactFilter %v, want %v", c.query, got, c.exact)
		}
		for round := range 6 {
			start, end := first, last
			if round > 0 {
				start = first + rng.Int64N(last-first)
				end = start + rng.Int64N(last-start+1)
			}
			want := 0
			for _, x := range all {
				if x.ts >= start && x.ts <= end && c.match(x.msg) {
					want++
				}
			}
			w := &withoutMessages{}
			got := runQuery(c.query, start, end, func(x *cwli.Exec) run.Exec { w.Exec = x; return w })
			ref := runQuery(c.query, start, end, func(x *cwli.Exec) run.Exec { return rendering{x} })
			if fmt.Sprint(got.Result.Rows) != fmt.Sprint(ref.Result.Rows) {
				t.Fatalf("%s [%d, %d]: rows %v, rendering %v", c.query, start, end, got.Result.Rows, ref.Result.Rows)
			}
			if got.Result.RecordsMatched != float64(want) || ref.Result.RecordsMatched != float64(want) {
				t.Fatalf("%s [%d, %d]: matched %v, rendering %v, want %d", c.query, start, end, got.Result.RecordsMatched, ref.Result.RecordsMatched, want)
			}
			if got.Result.RecordsScanned != ref.Result.RecordsScanned || got.Result.BytesScanned != ref.Result.BytesScanned {
				t.Fatalf("%s: scanned %v events %v bytes, rendering %v and %v", c.query, got.Result.RecordsScanned, got.Result.BytesScanned,
					ref.Result.RecordsScanned, ref.Result.BytesScanned)
			}
			if c.exact && want > 0 && (w.empty == 0 || w.wordy != 0) || !c.exact && w.empty != 0 {
				t.Fatalf("%s: %d events came without their messages, %d with", c.query, w.empty, w.wordy)
			}
		}
	}
}
