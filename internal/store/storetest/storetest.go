// Package storetest is the conformance suite every storage engine must pass:
// the contract of store.Store checked through its interface only. An engine's
// tests call Run with an Opener, which opens a fresh, empty store and says how
// to open the same storage again (for durability checks).
//
// The suite covers metadata, paged reads (fixed cases and a randomized model),
// retention, Scan (order, selection, block skipping, stop, cancellation),
// the feed (order, paging, and a randomized concurrent test that no follower
// ever skips an append), Subscribe, cursors and resource records (durable
// across reopen, deleted with their group).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/store"
)

var scope = store.Scope{Account: "000000000000", Region: "us-east-1"}

// substr is a substring filter whose required literal is itself.
type substr string

func (s substr) Match(m string) bool             { return strings.Contains(m, string(s)) }
func (s substr) Required() []string              { return []string{string(s)} }
func (s substr) RequiredUnlessEscaped() []string { return nil }

// Opener opens a store on new, empty storage. reopen opens the same storage
// again; the suite closes the store it had before calling it, and closes
// every store it is given.
type Opener func(t *testing.T) (s store.Store, reopen func(t *testing.T) store.Store)

// Run runs the suite.
func Run(t *testing.T, open Opener) {
	fresh := func(t *testing.T) store.Store { s, _ := open(t); return s }
	t.Run("Metadata", func(t *testing.T) { testMetadata(t, fresh(t)) })
	t.Run("StreamListings", func(t *testing.T) { testStreamListings(t, fresh(t)) })
	t.Run("Order", func(t *testing.T) { testOrder(t, fresh(t)) })
	t.Run("BudgetProgress", func(t *testing.T) { testBudgetProgress(t, fresh(t)) })
	t.Run("Retention", func(t *testing.T) { testRetention(t, fresh(t)) })
	t.Run("RandomPaging", func(t *testing.T) { testRandomPaging(t, fresh) })
	t.Run("Scan", func(t *testing.T) { testScan(t, fresh(t)) })
	t.Run("ScanStop", func(t *testing.T) { testScanStop(t, fresh(t)) })
	t.Run("Feed", func(t *testing.T) { testFeed(t, fresh(t)) })
	t.Run("FeedConcurrent", func(t *testing.T) { testFeedConcurrent(t, fresh(t)) })
	t.Run("Subscribe", func(t *testing.T) { testSubscribe(t, fresh(t)) })
	t.Run("Cursors", func(t *testing.T) { testCursors(t, open) })
	t.Run("Resources", func(t *testing.T) { testResources(t, open) })
}

func testMetadata(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := context.Background()
	if err := s.CreateGroup(ctx, store.Group{Scope: scope, Name: "b", Tags: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGroup(ctx, store.Group{Scope: scope, Name: "b"}); !errors.Is(err, store.ErrGroupExists) {
		t.Fatalf("duplicate group: %v", err)
	}
	other := store.Scope{Account: scope.Account, Region: "eu-west-1"}
	if err := s.CreateGroup(ctx, store.Group{Scope: other, Name: "b"}); err != nil {
		t.Fatalf("same name in another region: %v", err)
	}
	for _, n := range []string{"a", "c", "ab"} {
		if err := s.CreateGroup(ctx, store.Group{Scope: scope, Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	s.ListGroups(ctx, scope, "", "", func(g store.Group) bool { names = append(names, g.Name); return true })
	if !slices.Equal(names, []string{"a", "ab", "b", "c"}) {
		t.Fatalf("groups %v", names)
	}
	names = nil
	s.ListGroups(ctx, scope, "a", "a", func(g store.Group) bool { names = append(names, g.Name); return true })
	if !slices.Equal(names, []string{"ab"}) {
		t.Fatalf("prefix a after a: %v", names)
	}
	err := s.UpdateGroup(ctx, scope, "b", func(g *store.Group) error { g.RetentionDays = 7; g.Tags["x"] = "y"; return nil })
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.GetGroup(ctx, scope, "b")
	if err != nil || g.RetentionDays != 7 || g.Tags["x"] != "y" || g.Tags["k"] != "v" {
		t.Fatalf("after update: %+v %v", g, err)
	}
	if err := s.CreateStream(ctx, scope, "nope", store.Stream{Name: "s"}); !errors.Is(err, store.ErrGroupNotFound) {
		t.Fatalf("stream in missing group: %v", err)
	}
	s.CreateStream(ctx, scope, "b", store.Stream{Name: "s2", CreationTime: 5})
	s.CreateStream(ctx, scope, "b", store.Stream{Name: "s1", CreationTime: 6})
	if err := s.CreateStream(ctx, scope, "b", store.Stream{Name: "s1"}); !errors.Is(err, store.ErrStreamExists) {
		t.Fatalf("duplicate stream: %v", err)
	}
	names = nil
	s.ListStreams(ctx, scope, "b", "", "", func(st store.Stream) bool { names = append(names, st.Name); return true })
	if !slices.Equal(names, []string{"s1", "s2"}) {
		t.Fatalf("streams %v", names)
	}
	if _, err := s.Append(ctx, scope, "b", "missing", []store.Event{{Timestamp: 1, Message: "m"}}, 1); !errors.Is(err, store.ErrStreamNotFound) {
		t.Fatalf("append to missing stream: %v", err)
	}
	now := time.Now().UnixMilli()
	if _, err := s.Append(ctx, scope, "b", "s1", []store.Event{{Timestamp: now - 5, Message: "m"}, {Timestamp: now, Message: "n"}}, now+1); err != nil {
		t.Fatal(err)
	}
	st, err := s.GetStream(ctx, scope, "b", "s1")
	if err != nil || st.FirstEventTimestamp != now-5 || st.LastEventTimestamp != now || st.LastIngestionTime != now+1 || st.CreationTime != 6 {
		t.Fatalf("stream stats %+v %v", st, err)
	}
	if err := s.DeleteStream(ctx, scope, "b", "s1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetStream(ctx, scope, "b", "s1"); !errors.Is(err, store.ErrStreamNotFound) {
		t.Fatalf("deleted stream: %v", err)
	}
	s.CreateStream(ctx, scope, "b", store.Stream{Name: "s1"})
	p, err := s.Read(ctx, store.ReadRequest{Group: scope, Name: "b", Limit: 10})
	if err != nil || len(p.Events) != 0 {
		t.Fatalf("a re-created stream sees old events: %+v %v", p.Events, err)
	}
	if err := s.DeleteGroup(ctx, scope, "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetGroup(ctx, scope, "b"); !errors.Is(err, store.ErrGroupNotFound) {
		t.Fatalf("deleted group: %v", err)
	}
	if _, err := s.GetGroup(ctx, other, "b"); err != nil {
		t.Fatalf("the other region's group went too: %v", err)
	}
}

type want struct {
	stream, msg string
	pos         store.Position
}

// comparePos orders positions for slices.SortFunc.
func comparePos(a, b store.Position) int {
	switch {
	case a.Less(b):
		return -1
	case b.Less(a):
		return 1
	}
	return 0
}

// testOrder writes interleaved, overlapping, equal-timestamp batches across
// streams and reads them back in pages, both ways, with every selector.
func testOrder(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := context.Background()
	Setup(t, s, scope, "g", "a", "b", "c")
	rng := rand.New(rand.NewSource(1))
	base := time.Now().UnixMilli() - 3_600_000
	var all []want
	for i := 0; i < 200; i++ {
		stream := []string{"a", "b", "c"}[rng.Intn(3)]
		ts := base + rng.Int63n(100_000)
		var evs []store.Event
		for j := 0; j < 1+rng.Intn(20); j++ {
			ts += rng.Int63n(50)
			evs = append(evs, store.Event{Timestamp: ts, Message: fmt.Sprintf("m%d-%d word%d", i, j, rng.Intn(5))})
		}
		all = append(all, mustAppend(t, s, "g", stream, evs, base)...)
	}
	slices.SortFunc(all, func(a, b want) int { return comparePos(a.pos, b.pos) })
	check := func(name string, q store.ReadRequest, keep func(want) bool) {
		t.Helper()
		var got []store.StoredEvent
		for pages := 0; ; pages++ {
			p, err := s.Read(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, p.Events...)
			if p.Next == nil {
				break
			}
			if pages > 10_000 {
				t.Fatalf("%s: no end", name)
			}
			q.After = p.Next
		}
		var exp []want
		for _, x := range all {
			if keep(x) && x.pos.Time >= q.Start && (q.End == 0 || x.pos.Time < q.End) {
				exp = append(exp, x)
			}
		}
		if q.Backward {
			slices.Reverse(exp)
		}
		if len(got) != len(exp) {
			t.Fatalf("%s: %d events, want %d", name, len(got), len(exp))
		}
		for i := range got {
			if got[i].Pos != exp[i].pos || got[i].Message != exp[i].msg || got[i].Stream != exp[i].stream {
				t.Fatalf("%s: event %d is %+v, want %+v", name, i, got[i], exp[i])
			}
		}
	}
	any := func(want) bool { return true }
	only := func(n string) func(want) bool { return func(x want) bool { return x.stream == n } }
	check("all", store.ReadRequest{Group: scope, Name: "g", Limit: 7}, any)
	check("all backward", store.ReadRequest{Group: scope, Name: "g", Limit: 13, Backward: true}, any)
	check("window", store.ReadRequest{Group: scope, Name: "g", Limit: 5, Start: base + 30_000, End: base + 60_000}, any)
	check("window backward", store.ReadRequest{Group: scope, Name: "g", Limit: 5, Start: base + 30_000, End: base + 60_000, Backward: true}, any)
	check("one stream", store.ReadRequest{Group: scope, Name: "g", Limit: 9, Streams: []string{"b"}}, only("b"))
	check("one stream backward", store.ReadRequest{Group: scope, Name: "g", Limit: 9, Streams: []string{"b"}, Backward: true}, only("b"))
	check("two streams", store.ReadRequest{Group: scope, Name: "g", Limit: 50, Streams: []string{"a", "c"}}, func(x want) bool { return x.stream != "b" })
	check("prefix", store.ReadRequest{Group: scope, Name: "g", Limit: 100, StreamPrefix: "c"}, only("c"))
	check("filter", store.ReadRequest{Group: scope, Name: "g", Limit: 3, Filter: substr("word3")}, func(x want) bool { return strings.Contains(x.msg, "word3") })
	check("filter backward", store.ReadRequest{Group: scope, Name: "g", Limit: 3, Filter: substr("word3"), Backward: true}, func(x want) bool { return strings.Contains(x.msg, "word3") })
	check("tiny budget", store.ReadRequest{Group: scope, Name: "g", Limit: 3, Filter: substr("word3"), ScanBudget: 100}, func(x want) bool { return strings.Contains(x.msg, "word3") })
	check("tiny budget backward", store.ReadRequest{Group: scope, Name: "g", Limit: 3, Filter: substr("word1"), ScanBudget: 100, Backward: true}, func(x want) bool { return strings.Contains(x.msg, "word1") })
	check("byte budget", store.ReadRequest{Group: scope, Name: "g", Limit: 10_000, MaxBytes: 200}, any)
}

// testBudgetProgress: many blocks at one timestamp and a one-byte scan budget
// must still page to the end without repeating a cursor.
func testBudgetProgress(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := context.Background()
	Setup(t, s, scope, "g", "s")
	ts := time.Now().UnixMilli()
	for i := 0; i < 30; i++ {
		var evs []store.Event
		for j := 0; j < 10; j++ {
			msg := "filler"
			if j == 5 && i%7 == 0 {
				msg = "needle"
			}
			evs = append(evs, store.Event{Timestamp: ts, Message: msg})
		}
		s.Append(ctx, scope, "g", "s", evs, ts)
	}
	q := store.ReadRequest{Group: scope, Name: "g", Limit: 100, Filter: substr("needle"), ScanBudget: 1}
	found := 0
	var last *store.Position
	for pages := 0; ; pages++ {
		p, err := s.Read(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		found += len(p.Events)
		if p.Next == nil {
			break
		}
		if (last != nil && *last == *p.Next) || pages > 1000 {
			t.Fatalf("no progress at page %d", pages)
		}
		last, q.After = p.Next, p.Next
	}
	if found != 5 {
		t.Fatalf("found %d needles, want 5", found)
	}
}

// testRetention: events past the group's retention vanish from reads at once.
func testRetention(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := context.Background()
	Setup(t, s, scope, "g", "s")
	now := time.Now().UnixMilli()
	s.Append(ctx, scope, "g", "s", []store.Event{{Timestamp: now - 3*86_400_000, Message: "old"}}, now)
	s.Append(ctx, scope, "g", "s", []store.Event{{Timestamp: now, Message: "new"}}, now)
	s.UpdateGroup(ctx, scope, "g", func(g *store.Group) error { g.RetentionDays = 1; return nil })
	for _, q := range []store.ReadRequest{
		{Group: scope, Name: "g", Limit: 10},
		{Group: scope, Name: "g", Limit: 10, Backward: true},
		{Group: scope, Name: "g", Limit: 10, Streams: []string{"s"}},
	} {
		p, err := s.Read(ctx, q)
		if err != nil || len(p.Events) != 1 || p.Events[0].Message != "new" {
			t.Fatalf("after retention %+v: %+v %v", q, p.Events, err)
		}
	}
}
