package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/pgtest"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

// literalMatcher matches messages holding need, and unless too when they
// have no backslash (the shape of a JSON pattern's literals).
type literalMatcher struct{ need, unless string }

func (m literalMatcher) Match(msg string) bool {
	return strings.Contains(msg, m.need) && (m.unless == "" || strings.Contains(msg, `\`) || strings.Contains(msg, m.unless))
}
func (m literalMatcher) Required() []string { return []string{m.need} }
func (m literalMatcher) RequiredUnlessEscaped() []string {
	if m.unless == "" {
		return nil
	}
	return []string{m.unless}
}

type modelEvent struct {
	stream string
	ts     int64
	seq    uint64
	idx    int
	msg    string
}

// TestSummaryCacheAcrossNodes: four engines on one database — two with the
// summary cache, one without, one whose cache is too small for the group —
// append in turn and answer random filtered reads (both directions, time
// ranges, stream names and prefixes, small pages resumed from their
// positions, a scan budget), each compared with the events the test wrote
// (an in-memory model ordered by timestamp, sequence, index). Streams are
// deleted and created again through a node whose cache does not know, so
// the cached nodes hold entries of deleted blocks; a write through any node
// must be in the next read through any other.
func TestSummaryCacheAcrossNodes(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	open := func(bytes int64) *Engine {
		e, err := Open(Config{URL: url, SummaryCacheBytes: bytes})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return e
	}
	a, c, plain, tiny := open(0), open(0), open(-1), open(8<<10)
	nodes := []*Engine{a, c, plain, tiny}
	ctx := context.Background()
	scope := store.Scope{Account: "000000000000", Region: "us-east-1"}
	streams := []string{"app-1", "app-2", "app-10", "web-1", "web-2"}
	storetest.Setup(t, a, scope, "g", streams...)

	rng := rand.New(rand.NewPCG(16, 6))
	words := []string{"alpha", "beta", "gamma", "delta", "needle", `nee\dle`, "hay", "stack", "omega", "zeta"}
	base := time.Now().UnixMilli() - 3_600_000
	var model []modelEvent
	appendSome := func(n int) {
		for range n {
			e := nodes[rng.IntN(len(nodes))]
			st := streams[rng.IntN(len(streams))]
			first := base + rng.Int64N(600_000)
			evs := make([]store.Event, 1+rng.IntN(20))
			ts := first
			for i := range evs {
				ts += rng.Int64N(3000)
				var w []string
				for range 1 + rng.IntN(4) {
					w = append(w, words[rng.IntN(len(words))])
				}
				evs[i] = store.Event{Timestamp: ts, Message: strings.Join(w, " ")}
			}
			res, err := e.Append(ctx, scope, "g", st, evs, time.Now().UnixMilli())
			if err != nil {
				t.Fatal(err)
			}
			for i, ev := range evs {
				model = append(model, modelEvent{st, ev.Timestamp, res.Seq, i, ev.Message})
			}
		}
	}
	matchers := []store.Matcher{literalMatcher{need: "needle"}, literalMatcher{need: "stack"}, literalMatcher{need: "zeta", unless: "omega"},
		literalMatcher{need: "gamma delta"}, literalMatcher{need: "absent"}}
	check := func(round int) {
		for k := range 12 {
			e := nodes[rng.IntN(len(nodes))]
			q := store.ReadRequest{Group: scope, Name: "g", Filter: matchers[rng.IntN(len(matchers))], Backward: rng.IntN(2) == 0,
				Limit: 1 + rng.IntN(40), MaxBytes: 1 << 20}
			if rng.IntN(2) == 0 {
				q.Start = base + rng.Int64N(600_000)
				q.End = q.Start + rng.Int64N(300_000)
			}
			switch rng.IntN(4) {
			case 0:
				q.Streams = []string{streams[rng.IntN(len(streams))], streams[rng.IntN(len(streams))]}
			case 1:
				q.StreamPrefix = []string{"app-1", "web-", "app"}[rng.IntN(3)]
			}
			if rng.IntN(3) == 0 {
				q.ScanBudget = 2000
			}
			var want []modelEvent
			end := q.End
			if end == 0 {
				end = 1 << 62
			}
			for _, m := range model {
				if m.ts < q.Start || m.ts >= end || !q.Filter.Match(m.msg) ||
					len(q.Streams) > 0 && !slices.Contains(q.Streams, m.stream) || !strings.HasPrefix(m.stream, q.StreamPrefix) {
					continue
				}
				want = append(want, m)
			}
			slices.SortFunc(want, func(x, y modelEvent) int {
				if x.ts != y.ts {
					return int(x.ts - y.ts)
				}
				if x.seq != y.seq {
					return int(int64(x.seq) - int64(y.seq))
				}
				return x.idx - y.idx
			})
			if q.Backward {
				slices.Reverse(want)
			}
			var got []store.StoredEvent
			for pages := 0; ; pages++ {
				if pages > 10_000 {
					t.Fatalf("round %d read %d: no end", round, k)
				}
				p, err := e.Read(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, p.Events...)
				if p.Next == nil {
					break
				}
				q.After = p.Next
			}
			if len(got) != len(want) {
				t.Fatalf("round %d read %d (%+v): %d events, want %d", round, k, q, len(got), len(want))
			}
			for i := range got {
				w := want[i]
				if got[i].Stream != w.stream || got[i].Timestamp != w.ts || got[i].Message != w.msg || got[i].Pos.Seq != w.seq || int(got[i].Pos.Index) != w.idx {
					t.Fatalf("round %d read %d (%+v): event %d is %+v, want %+v", round, k, q, i, got[i], w)
				}
			}
		}
	}
	for round := range 8 {
		appendSome(15)
		check(round)
		if round == 3 || round == 5 {
			// Through the node without a cache: the others hold the
			// deleted blocks' summaries.
			st := streams[rng.IntN(len(streams))]
			if err := plain.DeleteStream(ctx, scope, "g", st); err != nil {
				t.Fatal(err)
			}
			model = slices.DeleteFunc(model, func(m modelEvent) bool { return m.stream == st })
			check(round)
			if err := plain.CreateStream(ctx, scope, "g", store.Stream{Name: st, CreationTime: time.Now().UnixMilli()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Not vacuous: the cached nodes read from their caches, the tiny one
	// refused the group.
	for i, e := range []*Engine{a, c, tiny} {
		e.sums.mu.Lock()
		n := 0
		for _, g := range e.sums.groups {
			if s := g.snap.Load(); s != nil {
				n += len(s.byMin)
			}
		}
		e.sums.mu.Unlock()
		if i < 2 && n == 0 || i == 2 && n != 0 {
			t.Errorf("node %d caches %d summaries", i, n)
		}
	}
}

// TestSummaryCacheEviction: a cache bounded to about two groups' summaries
// keeps the most recently read ones, within its bound, and reads of every
// group stay right.
func TestSummaryCacheEviction(t *testing.T) {
	pg := pgtest.Start(t)
	e, err := Open(Config{URL: pg.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	scope := store.Scope{Account: "000000000000", Region: "us-east-1"}
	now := time.Now().UnixMilli()
	for g := range 4 {
		name := fmt.Sprintf("g%d", g)
		storetest.Setup(t, e, scope, name, "s")
		for b := range 10 {
			if _, err := e.Append(ctx, scope, name, "s", []store.Event{{Timestamp: now + int64(b), Message: fmt.Sprintf("x needle%d", g)}}, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i, g := range []int{0, 1, 2, 3, 1, 3} {
		if i == 1 {
			// Bound the cache to 2.5 groups' summaries (all the same size).
			e.sums.mu.Lock()
			e.sums.limit = e.sums.bytes * 5 / 2
			e.sums.mu.Unlock()
		}
		p, err := e.Read(ctx, store.ReadRequest{Group: scope, Name: fmt.Sprintf("g%d", g), Filter: literalMatcher{need: fmt.Sprintf("needle%d", g)}, Limit: 100})
		if err != nil || len(p.Events) != 10 {
			t.Fatalf("group %d: %d events (%v), want 10", g, len(p.Events), err)
		}
	}
	e.sums.mu.Lock()
	defer e.sums.mu.Unlock()
	if e.sums.bytes > e.sums.limit {
		t.Errorf("cache holds %d bytes, bound %d", e.sums.bytes, e.sums.limit)
	}
	var sum int64
	for _, g := range e.sums.groups {
		if s := g.snap.Load(); s != nil {
			sum += s.bytes
		}
	}
	if sum != e.sums.bytes {
		t.Errorf("cache counts %d bytes, its groups hold %d", e.sums.bytes, sum)
	}
	// The last two read (g1, g3) are kept.
	var kept []int64
	for gid, g := range e.sums.groups {
		if g.snap.Load() != nil {
			kept = append(kept, gid)
		}
	}
	slices.Sort(kept)
	if !slices.Equal(kept, []int64{2, 4}) {
		t.Errorf("cached groups %v, want the last two read [2 4]", kept)
	}
}
