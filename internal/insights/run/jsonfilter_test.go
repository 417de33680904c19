package run_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/insights/cwli"
	"github.com/cairnlog/cairn/internal/insights/run"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

// TestJSONFieldFilterOverMergedBlocks: a leading filter on a JSON field
// (ispresent(f), f = "v") makes merged blocks render only the events whose
// template holds the field's name or value, or a backslash (the JSON may
// spell either with escapes), and leave the others' columns behind
// (embedded's lazy seek walk). The rows, the matched count and the
// scanned figures are those of the same query given no store filter,
// which renders every message; over merged and fresh blocks, the whole
// window and windows that cut blocks, with keys and values spelled with
// \u escapes among the lines.
func TestJSONFieldFilterOverMergedBlocks(t *testing.T) {
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
	gen := bench.NewLineGen(9)
	rng := rand.New(rand.NewPCG(5, 6))
	odd := []string{
		`{"latency\u005fms":%d,"user":7,"level":"info"}`,  // the key escaped
		`{"latency_ms":%d,"user":8,"level":"\u0065rror"}`, // the value escaped
		`{"user":9,"latency_ms":%d,"note":"a\\b"}`,
		`{"user":%d}`,
		`latency_ms=%d user=3`, // not JSON: no JSON field
	}
	var first, last int64
	escaped := 0 // events whose only spelling of latency_ms is escaped
	ts := int64(1_764_000_000_000)
	first = ts
	appendSome := func(blocks int) {
		for b := range blocks {
			evs := make([]store.Event, 1+rng.IntN(400))
			for i := range evs {
				ts += int64(rng.IntN(200))
				m := gen.Line()
				if k := rng.IntN(len(odd) * 4); k < len(odd) {
					m = fmt.Sprintf(odd[k], rng.IntN(3000))
					if k == 0 {
						escaped++
					}
				}
				evs[i] = store.Event{Timestamp: ts, Message: m}
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
	last = ts
	if escaped == 0 {
		t.Fatal("no line with an escaped key: the test proves nothing")
	}
	m := run.New(run.Config{Store: e})
	defer m.Close()
	runQuery := func(text string, start, end int64, pushed bool) run.Snapshot {
		q, err := cwli.Compile(text)
		if err != nil {
			t.Fatal(err)
		}
		pd := q.Pushdown()
		spec := run.Spec{Scope: scope, Groups: []string{"g"}, Start: start, End: end, Exec: rendering{q.Run(cwli.Options{Start: start, End: end, Parallel: 2})},
			Language: "CWLI"}
		if pushed {
			spec.Filter = pd.Filter
		}
		id, err := m.Start(spec)
		if err != nil {
			t.Fatal(err)
		}
		return waitStatus(t, m, id, run.Complete)
	}
	queries := []string{
		`filter ispresent(latency_ms) | stats count() as n, sum(latency_ms) as s by user`,
		`filter level = "error" | stats count() as n by bin(1h)`,
		`filter ispresent(latency_ms) and user > 5 | stats count() as n`,
	}
	sawEscaped := false
	for _, text := range queries {
		q, err := cwli.Compile(text)
		if err != nil {
			t.Fatal(err)
		}
		if q.Pushdown().Filter == nil {
			t.Fatalf("%s: no store filter pushed; the test would not reach the lazy walk", text)
		}
		for round := range 6 {
			start, end := first, last
			if round > 0 {
				start = first + rng.Int64N(last-first)
				end = start + rng.Int64N(last-start+1)
			}
			got := runQuery(text, start, end, true)
			ref := runQuery(text, start, end, false)
			if fmt.Sprint(got.Result.Rows) != fmt.Sprint(ref.Result.Rows) {
				t.Fatalf("%s [%d, %d]: rows %v, unfiltered store %v", text, start, end, got.Result.Rows, ref.Result.Rows)
			}
			if got.Result.RecordsMatched != ref.Result.RecordsMatched {
				t.Fatalf("%s [%d, %d]: matched %v, unfiltered store %v", text, start, end, got.Result.RecordsMatched, ref.Result.RecordsMatched)
			}
			if got.Result.RecordsScanned != ref.Result.RecordsScanned || got.Result.BytesScanned != ref.Result.BytesScanned {
				t.Fatalf("%s: scanned %v events %v bytes, unfiltered store %v and %v", text, got.Result.RecordsScanned, got.Result.BytesScanned,
					ref.Result.RecordsScanned, ref.Result.BytesScanned)
			}
			for _, row := range got.Result.Rows {
				for _, f := range row {
					if f.Field == "user" && f.Value == "7" {
						sawEscaped = true
					}
				}
			}
		}
	}
	if !sawEscaped {
		t.Fatal("no row of user 7 (only the escaped key's lines have it): escapes were not decoded, the test proves less than it says")
	}
}
