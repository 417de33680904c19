package embedded

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairnlog/cairn/internal/store"
)

var scope = store.Scope{Account: "000000000000", Region: "us-east-1"}

func openMem(t testing.TB, fs vfs.FS) *Engine {
	t.Helper()
	e, err := Open(Config{Dir: "/db", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type substr string

func (s substr) Match(m string) bool             { return strings.Contains(m, string(s)) }
func (s substr) Required() []string              { return []string{string(s)} }
func (s substr) RequiredUnlessEscaped() []string { return nil }

// TestMergeOrder writes interleaved, overlapping blocks across streams and
// checks that reads return exactly the global order, in pages, both ways.
func TestMergeOrder(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	e := openMem(t, fs)
	defer e.Close()
	if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"a", "b", "c"} {
		if err := e.CreateStream(ctx, scope, "g", store.Stream{Name: s}); err != nil {
			t.Fatal(err)
		}
	}
	rng := rand.New(rand.NewSource(1))
	type ev struct {
		stream string
		ts     int64
		msg    string
		pos    store.Position
	}
	var all []ev
	base := int64(1_700_000_000_000)
	for i := 0; i < 200; i++ {
		stream := []string{"a", "b", "c"}[rng.Intn(3)]
		start := base + rng.Int63n(100_000)
		n := 1 + rng.Intn(20)
		var evs []store.Event
		ts := start
		for j := 0; j < n; j++ {
			ts += rng.Int63n(50)
			evs = append(evs, store.Event{Timestamp: ts, Message: fmt.Sprintf("m%d-%d word%d", i, j, rng.Intn(5))})
		}
		res, err := e.Append(ctx, scope, "g", stream, evs, base)
		if err != nil {
			t.Fatal(err)
		}
		for j, x := range evs {
			all = append(all, ev{stream, x.Timestamp, x.Message, store.Position{Time: x.Timestamp, Seq: res.Seq, Index: uint32(j)}})
		}
	}
	slices.SortFunc(all, func(a, b ev) int {
		if a.pos.Less(b.pos) {
			return -1
		}
		if b.pos.Less(a.pos) {
			return 1
		}
		return 0
	})
	readAll := func(q store.Query) []store.StoredEvent {
		var out []store.StoredEvent
		for {
			p, err := e.Read(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, p.Events...)
			if p.Next == nil {
				return out
			}
			q.After = p.Next
		}
	}
	check := func(name string, q store.Query, keep func(ev) bool) {
		t.Helper()
		got := readAll(q)
		var want []ev
		for _, x := range all {
			if keep(x) && x.ts >= q.Start && (q.End == 0 || x.ts < q.End) {
				want = append(want, x)
			}
		}
		if q.Backward {
			slices.Reverse(want)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: got %d events, want %d", name, len(got), len(want))
		}
		for i := range got {
			if got[i].Pos != want[i].pos || got[i].Message != want[i].msg || got[i].Stream != want[i].stream {
				t.Fatalf("%s: event %d: got %+v, want %+v", name, i, got[i], want[i])
			}
		}
	}
	any := func(ev) bool { return true }
	check("all forward", store.Query{Group: scope, Name: "g", Limit: 7}, any)
	check("all backward", store.Query{Group: scope, Name: "g", Limit: 13, Backward: true}, any)
	check("window", store.Query{Group: scope, Name: "g", Limit: 5, Start: base + 30_000, End: base + 60_000}, any)
	check("window backward", store.Query{Group: scope, Name: "g", Limit: 5, Start: base + 30_000, End: base + 60_000, Backward: true}, any)
	check("stream b", store.Query{Group: scope, Name: "g", Limit: 9, Streams: []string{"b"}}, func(x ev) bool { return x.stream == "b" })
	check("stream b backward", store.Query{Group: scope, Name: "g", Limit: 9, Streams: []string{"b"}, Backward: true}, func(x ev) bool { return x.stream == "b" })
	check("streams a,c", store.Query{Group: scope, Name: "g", Limit: 50, Streams: []string{"a", "c"}}, func(x ev) bool { return x.stream != "b" })
	check("filter", store.Query{Group: scope, Name: "g", Limit: 3, Filter: substr("word3")}, func(x ev) bool { return strings.Contains(x.msg, "word3") })
	check("budget", store.Query{Group: scope, Name: "g", Limit: 3, Filter: substr("word3"), ScanBudget: 100}, func(x ev) bool { return strings.Contains(x.msg, "word3") })
	check("prefix", store.Query{Group: scope, Name: "g", Limit: 100, StreamPrefix: "c"}, func(x ev) bool { return x.stream == "c" })

	// Restart: everything is still there, in the same order with the same IDs.
	e.Close()
	e = openMem(t, fs)
	check("after restart", store.Query{Group: scope, Name: "g", Limit: 1000}, any)
	st, err := e.GetStream(ctx, scope, "g", "a")
	if err != nil || st.FirstEventTimestamp == 0 || st.LastEventTimestamp < st.FirstEventTimestamp || st.StoredBytes == 0 {
		t.Fatalf("stream stats after restart: %+v %v", st, err)
	}
}

func TestBlockSkipping(t *testing.T) {
	ctx := context.Background()
	e := openMem(t, vfs.NewMem())
	defer e.Close()
	e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"})
	e.CreateStream(ctx, scope, "g", store.Stream{Name: "s"})
	base := time.Now().UnixMilli()
	for i := 0; i < 100; i++ {
		var evs []store.Event
		for j := 0; j < 100; j++ {
			msg := fmt.Sprintf("INFO request %d-%d handled id=%08x", i, j, rand.Uint32())
			if i == 42 && j == 7 {
				msg += " needle9zq"
			}
			evs = append(evs, store.Event{Timestamp: base + int64(i), Message: msg})
		}
		if _, err := e.Append(ctx, scope, "g", "s", evs, base); err != nil {
			t.Fatal(err)
		}
	}
	p, err := e.Read(ctx, store.Query{Group: scope, Name: "g", Limit: 10, Filter: substr("needle9zq"), StreamPrefix: ""})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Events) != 1 || !strings.HasSuffix(p.Events[0].Message, "needle9zq") {
		t.Fatalf("got %+v", p.Events)
	}
	if p.SkippedBlocks < 90 {
		t.Fatalf("skipped only %d of 100 blocks", p.SkippedBlocks)
	}
	// A substring of a longer word must still be found (ERROR in ERRORCODE).
	p, _ = e.Read(ctx, store.Query{Group: scope, Name: "g", Limit: 10, Filter: substr("eedle9z")})
	if len(p.Events) != 1 {
		t.Fatalf("substring search found %d events", len(p.Events))
	}
}
