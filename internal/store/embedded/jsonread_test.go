package embedded

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/store"
)

// noLiterals is a filter that tells the engine nothing of what its matches
// hold: the engine renders and tests every message in range.
type noLiterals struct{ store.Matcher }

func (noLiterals) Required() []string              { return nil }
func (noLiterals) RequiredUnlessEscaped() []string { return nil }

// TestReadJSONPatternOverMergedBlocks: FilterLogEvents' read with a JSON
// filter pattern (whose literals hold only unless escaped, so blocks are
// ruled out by their grams only when they hold no backslash) returns
// exactly, page by page and resumed from each token, what the same read
// returns when the filter tells the engine nothing, over merged and fresh
// blocks, forward and backward, with keys and values spelled with \u
// escapes among the lines. (The scan's template filter, templateEscaped,
// is not used here: measured with BenchmarkScanJSON, rendering only the
// candidates saved nothing on this path, whose skipped events must still
// be sized exactly, and the template pass cost as much.)
func TestReadJSONPatternOverMergedBlocks(t *testing.T) {
	e, err := Open(Config{Dir: t.TempDir(), RecompactInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"a", "b", "c", "d"} {
		if err := e.CreateStream(ctx, scope, "g", store.Stream{Name: s}); err != nil {
			t.Fatal(err)
		}
	}
	gen := bench.NewLineGen(21)
	rng := rand.New(rand.NewPCG(21, 22))
	odd := []string{
		`{"latency\u005fms":%d,"level":"info"}`,
		`{"latency_ms":%d,"level":"\u0065rror"}`,
		`{"lev\u0065l":"error","n":%d}`,
		`level=error latency_ms=%d`,
	}
	ts := int64(1_764_000_000_000)
	escaped := 0
	appendSome := func(blocks int) {
		for b := range blocks {
			evs := make([]store.Event, 1+rng.IntN(300))
			for i := range evs {
				ts += int64(rng.IntN(50))
				m := gen.Line()
				if k := rng.IntN(len(odd) * 5); k < len(odd) {
					m = fmt.Sprintf(odd[k], rng.IntN(3000))
					if k == 0 || k == 2 {
						escaped++
					}
				}
				evs[i] = store.Event{Timestamp: ts, Message: m}
			}
			if _, err := e.Append(ctx, scope, "g", []string{"a", "b", "c"}[b%3], evs, ts); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Stream d's blocks hold only escaped spellings: their grams lack
	// the literals, and only their backslashes keep them from being
	// ruled out.
	escapedOnly := func() {
		evs := make([]store.Event, 50)
		for i := range evs {
			ts += int64(rng.IntN(50))
			evs[i] = store.Event{Timestamp: ts, Message: fmt.Sprintf(odd[[]int{0, 2}[i%2]], 101+rng.IntN(3000))}
			escaped++
		}
		if _, err := e.Append(ctx, scope, "g", "d", evs, ts); err != nil {
			t.Fatal(err)
		}
	}
	appendSome(45)
	escapedOnly()
	if _, err := e.RecompactSettled(); err != nil {
		t.Fatal(err)
	}
	appendSome(6)
	escapedOnly()
	if escaped == 0 {
		t.Fatal("no escaped line: the test proves nothing")
	}
	readAll := func(q store.ReadRequest) []string {
		var out []string
		for pages := 0; ; pages++ {
			p, err := e.Read(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range p.Events {
				out = append(out, fmt.Sprintf("%s %d %d/%d %s", ev.Stream, ev.Timestamp, ev.Pos.Seq, ev.Pos.Index, ev.Message))
			}
			if p.Next == nil {
				return out
			}
			if pages > 10000 {
				t.Fatal("no end of pages")
			}
			q.After = p.Next
		}
	}
	for _, expr := range []string{`{ $.latency_ms > 100 }`, `{ $.level = "error" }`, `{ $.latency_ms = * && $.level = "info" }`} {
		p, err := pattern.Compile(expr)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Required()) != 0 || len(p.RequiredUnlessEscaped()) == 0 {
			t.Fatalf("%s: Required %q, RequiredUnlessEscaped %q: not the case this test is for", expr, p.Required(), p.RequiredUnlessEscaped())
		}
		for _, backward := range []bool{false, true} {
			for _, limit := range []int{7, 1000} {
				q := store.ReadRequest{Group: scope, Name: "g", Limit: limit, MaxBytes: 1 << 20, Backward: backward, Filter: p}
				got := readAll(q)
				q.Filter = noLiterals{p}
				want := readAll(q)
				if len(want) == 0 {
					t.Fatalf("%s: no match at all", expr)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("%s (backward %v, limit %d): %d events, the unhinted read %d; first difference at %d", expr, backward, limit,
						len(got), len(want), firstDiff(got, want))
				}
			}
		}
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
