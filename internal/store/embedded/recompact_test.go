package embedded

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/store"
)

// wantEvent is an event as the test wrote it, with the position its append
// gave it (AppendResult.Seq and its index), worked out from the inputs.
type wantEvent struct {
	stream    string
	msg       string
	ingestion int64
	pos       store.Position
}

func (w wantEvent) String() string {
	return fmt.Sprintf("%s %q %d %s", w.stream, w.msg, w.ingestion, w.pos.ID())
}

func asWant(evs []store.StoredEvent) []wantEvent {
	out := make([]wantEvent, len(evs))
	for i, e := range evs {
		if e.Timestamp != e.Pos.Time {
			panic("timestamp and position differ")
		}
		out[i] = wantEvent{e.Stream, e.Message, e.IngestionTime, e.Pos}
	}
	return out
}

// fillForMerge writes, to group g: stream "a" 30 appends of 100 bench lines
// one after another in time; stream "b" 12 appends of 50 whose time ranges
// overlap (so a merge interleaves appends); stream "c" one append. Every
// append has its own ingestion time. It returns the events in read order.
func fillForMerge(t *testing.T, e *Engine) []wantEvent {
	t.Helper()
	ctx := context.Background()
	if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"a", "b", "c"} {
		if err := e.CreateStream(ctx, scope, "g", store.Stream{Name: s}); err != nil {
			t.Fatal(err)
		}
	}
	gen := bench.NewLineGen(11)
	rng := rand.New(rand.NewPCG(3, 4))
	base := int64(1_760_000_000_000)
	var want []wantEvent
	ingest := int64(1_770_000_000_000)
	appendOne := func(stream string, evs []store.Event) {
		ingest += 7
		res, err := e.Append(ctx, scope, "g", stream, evs, ingest)
		if err != nil {
			t.Fatal(err)
		}
		for i, ev := range evs {
			want = append(want, wantEvent{stream, ev.Message, ingest, store.Position{Time: ev.Timestamp, Seq: res.Seq, Index: uint32(i)}})
		}
	}
	ts := base
	for k := 0; k < 30; k++ {
		evs := make([]store.Event, 100)
		for i := range evs {
			ts += int64(rng.IntN(3))
			evs[i] = store.Event{Timestamp: ts, Message: gen.Line()}
		}
		appendOne("a", evs)
		if k < 12 {
			bevs := make([]store.Event, 50)
			bt := base + int64(rng.IntN(200))
			for i := range bevs {
				bt += int64(rng.IntN(4))
				m := gen.Line()
				if i == 7 {
					m = "multi\nline 0042 " + m
				}
				bevs[i] = store.Event{Timestamp: bt, Message: m}
			}
			appendOne("b", bevs)
		}
	}
	appendOne("c", []store.Event{{Timestamp: base + 5, Message: "only one"}})
	slices.SortFunc(want, func(x, y wantEvent) int {
		switch {
		case x.pos.Less(y.pos):
			return -1
		case y.pos.Less(x.pos):
			return 1
		}
		return 0
	})
	return want
}

func readAll(t *testing.T, e *Engine, q store.ReadRequest) (evs []store.StoredEvent, tokens []*store.Position) {
	t.Helper()
	for {
		p, err := e.Read(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, p.Events...)
		if p.Next == nil {
			return evs, tokens
		}
		tokens = append(tokens, p.Next)
		q.After = p.Next
	}
}

func feedAll(t *testing.T, e *Engine, after uint64) []store.StoredEvent {
	t.Helper()
	var evs []store.StoredEvent
	for {
		p, err := e.ReadFeed(context.Background(), store.FeedRequest{Scope: scope, Group: "g", After: after, Limit: 60})
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, p.Events...)
		if p.Next == after {
			return evs
		}
		after = p.Next
	}
}

func scanAll(t *testing.T, e *Engine, during func()) []wantEvent {
	t.Helper()
	var got []wantEvent
	_, err := e.Scan(context.Background(), store.ScanRequest{Scope: scope, Groups: []string{"g"}}, func(b store.ScanBlock) bool {
		if during != nil {
			during()
			during = nil
		}
		got = append(got, asWant(b.Events)...)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(x, y wantEvent) int {
		if x.pos.Less(y.pos) {
			return -1
		}
		return 1
	})
	return got
}

func sameEvents(t *testing.T, what string, got, want []wantEvent) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d events, want %d", what, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: event %d is %v, want %v", what, i, got[i], want[i])
		}
	}
}

// TestRecompaction: merging a group's small blocks changes nothing a client
// sees. Every event reads back with its message, stream, ingestion time and
// position (its eventId), forward, backward, filtered, through Scan and
// through the feed; tokens and feed positions taken before the merge resume
// at the same place after it; stored bytes go down; and a stream deleted
// after the merge takes its merged block and feed entries with it.
func TestRecompaction(t *testing.T) {
	ctx := context.Background()
	e, err := Open(Config{Dir: "/db", FS: vfs.NewMem(), RecompactInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { e.Close() }()
	want := fillForMerge(t, e)
	q := store.ReadRequest{Group: scope, Name: "g", Limit: 97, MaxBytes: 1 << 20}
	before, tokens := readAll(t, e, q)
	sameEvents(t, "before", asWant(before), want)
	mid := tokens[len(tokens)/2]
	restBefore, _ := readAll(t, e, store.ReadRequest{Group: scope, Name: "g", Limit: 97, MaxBytes: 1 << 20, After: mid})
	feedBefore := feedAll(t, e, 0)
	feedMid := feedBefore[len(feedBefore)/2].Pos.Seq
	feedRestBefore := feedAll(t, e, feedMid)
	stBefore, err := e.GetStream(ctx, scope, "g", "a")
	if err != nil {
		t.Fatal(err)
	}
	blocksBefore := countKeys(t, e, []byte{tagBlock})

	// A scan in flight across the merge still sees every event once: the
	// sources' payloads stay until it ends.
	var st RecompactStats
	during := scanAll(t, e, func() {
		var err error
		if st, err = e.RecompactNow(); err != nil {
			t.Fatal(err)
		}
	})
	sameEvents(t, "scan across the merge", during, want)
	if st.Merges != 2 || st.SourceBlocks != 42 || st.GarbagePending != 2 {
		t.Fatalf("stats %+v: want 2 merges (a, b) of 42 blocks, their payloads kept for the scan", st)
	}
	if st, err = e.RecompactNow(); err != nil || st.GarbagePending != 0 || st.Merges != 2 {
		t.Fatalf("second pass: %+v %v", st, err)
	}
	if n := countKeys(t, e, []byte{tagBlock}); n != 3 || blocksBefore != 43 {
		t.Fatalf("%d blocks after, %d before; want 3 (a, b, c) and 43", n, blocksBefore)
	}
	if n := countKeys(t, e, []byte{tagGarbage}); n != 0 {
		t.Fatalf("%d garbage records left", n)
	}

	check := func(what string) {
		t.Helper()
		after, _ := readAll(t, e, q)
		sameEvents(t, what+": read", asWant(after), want)
		rest, _ := readAll(t, e, store.ReadRequest{Group: scope, Name: "g", Limit: 97, MaxBytes: 1 << 20, After: mid})
		sameEvents(t, what+": resumed from a token minted before", asWant(rest), asWant(restBefore))
		back, _ := readAll(t, e, store.ReadRequest{Group: scope, Name: "g", Limit: 89, MaxBytes: 1 << 20, Backward: true})
		slices.Reverse(back)
		sameEvents(t, what+": backward", asWant(back), want)
		var sel []wantEvent
		for _, w := range want {
			if strings.Contains(w.msg, "POST") && w.stream != "a" {
				sel = append(sel, w)
			}
		}
		f, _ := readAll(t, e, store.ReadRequest{Group: scope, Name: "g", Streams: []string{"b", "c"}, Limit: 10, MaxBytes: 1 << 20, Filter: substr("POST")})
		sameEvents(t, what+": filtered", asWant(f), sel)
		sameEvents(t, what+": scan", scanAll(t, e, nil), want)
		sameEvents(t, what+": feed", asWant(feedAll(t, e, 0)), asWant(feedBefore))
		sameEvents(t, what+": feed resumed", asWant(feedAll(t, e, feedMid)), asWant(feedRestBefore))
		stAfter, err := e.GetStream(ctx, scope, "g", "a")
		if err != nil || stAfter.StoredBytes <= 0 || stAfter.StoredBytes >= stBefore.StoredBytes*3/4 {
			t.Fatalf("%s: stored bytes %d, were %d (%v)", what, stAfter.StoredBytes, stBefore.StoredBytes, err)
		}
	}
	check("after the merge")
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	fs := e.cfg.FS
	if e, err = Open(Config{Dir: "/db", FS: fs, RecompactInterval: -1}); err != nil {
		t.Fatal(err)
	}
	check("after a restart")
	// Nothing left to merge: a pass changes nothing.
	if st, err := e.RecompactNow(); err != nil || st.Merges != 0 || !st.Settled {
		t.Fatalf("a pass on merged blocks: %+v %v", st, err)
	}

	// Deleting b reclaims its merged block and its appends' feed entries.
	if err := e.DeleteStream(ctx, scope, "g", "b"); err != nil {
		t.Fatal(err)
	}
	if err := e.Sweep(); err != nil {
		t.Fatal(err)
	}
	if n := countKeys(t, e, []byte{tagBlock}); n != 2 {
		t.Fatalf("%d blocks after deleting b, want 2", n)
	}
	if n := countKeys(t, e, []byte{tagFeed}); n != 31 {
		t.Fatalf("%d feed entries after deleting b, want 31 (a's 30 and c's)", n)
	}
}

// TestRecompactionRandomPaging: random appends in the shape of the
// conformance suite's RandomPaging (4 streams, overlapping appends, many
// events a millisecond, spreads from 10 ms to a day), merged, then paged
// forward and backward, whole group and single streams, with and without a
// scan budget and a time range: every read returns exactly the events the
// appends gave, in order. (It found a single-stream backward read skipping a
// merged block whose index entry did not say it was merged.)
func TestRecompactionRandomPaging(t *testing.T) {
	ctx := context.Background()
	for seed := int64(1); seed <= 4; seed++ {
		e, err := Open(Config{Dir: "/db", FS: vfs.NewMem(), RecompactInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(uint64(seed), 9))
		if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"}); err != nil {
			t.Fatal(err)
		}
		streams := []string{"a", "b", "c", "d"}
		for _, s := range streams {
			if err := e.CreateStream(ctx, scope, "g", store.Stream{Name: s}); err != nil {
				t.Fatal(err)
			}
		}
		base := int64(1_760_000_000_000)
		spread := []int64{10, 1000, 3_600_000, 86_400_000}[seed%4]
		var all []wantEvent
		for i := 0; i < 150; i++ {
			stream := streams[rng.IntN(4)]
			ts := base + rng.Int64N(spread*4+1)
			n := 1 + rng.IntN(30)
			evs := make([]store.Event, n)
			for j := range evs {
				if rng.IntN(3) == 0 {
					ts += rng.Int64N(spread/int64(n) + 1)
				}
				evs[j] = store.Event{Timestamp: ts, Message: fmt.Sprintf("m%d-%d %s%d", i, j, []string{"word", "word", "tiger", "deadbeef"}[rng.IntN(4)], rng.IntN(5))}
			}
			res, err := e.Append(ctx, scope, "g", stream, evs, base+int64(i))
			if err != nil {
				t.Fatal(err)
			}
			for j, ev := range evs {
				all = append(all, wantEvent{stream, ev.Message, base + int64(i), store.Position{Time: ev.Timestamp, Seq: res.Seq, Index: uint32(j)}})
			}
		}
		slices.SortFunc(all, func(x, y wantEvent) int {
			if x.pos.Less(y.pos) {
				return -1
			}
			return 1
		})
		if st, err := e.RecompactNow(); err != nil || st.Merges == 0 {
			t.Fatalf("seed %d: %+v %v", seed, st, err)
		}
		lo, hi := all[0].pos.Time, all[len(all)-1].pos.Time
		for _, stream := range []string{"", "a", "d"} {
			for _, back := range []bool{false, true} {
				for _, budget := range []int64{0, 127} {
					for _, limit := range []int{1, 7} {
						for _, ranged := range []bool{false, true} {
							// Filtered and unfiltered reads share the resume
							// cache, so each finds blocks the other decoded in
							// part (decodeWant) and must not take one that
							// lacks what it needs.
							for _, filter := range []string{"", "tiger", "er3"} {
								q := store.ReadRequest{Group: scope, Name: "g", Limit: limit, Backward: back, ScanBudget: budget}
								if stream != "" {
									q.Streams = []string{stream}
								}
								if ranged {
									q.Start, q.End = lo+(hi-lo)/3, lo+2*(hi-lo)/3+1
								}
								if filter != "" {
									q.Filter = substr(filter)
								}
								var exp []wantEvent
								for _, x := range all {
									if (stream == "" || x.stream == stream) && (!ranged || x.pos.Time >= q.Start && x.pos.Time < q.End) && strings.Contains(x.msg, filter) {
										exp = append(exp, x)
									}
								}
								// One page of another search leaves its blocks,
								// rendered for it, in the resume cache, where
								// this read's first page finds them.
								other := q
								other.Limit, other.Filter = 1, substr("tiger")
								if filter == "tiger" {
									other.Filter = nil
								}
								if _, err := e.Read(ctx, other); err != nil {
									t.Fatal(err)
								}
								got, _ := readAll(t, e, q)
								g := asWant(got)
								if back {
									slices.Reverse(g)
								}
								sameEvents(t, fmt.Sprintf("seed %d %+v", seed, q), g, exp)
							}
						}
					}
				}
			}
		}
		// Scan renders only what its filter may match, too.
		for _, filter := range []string{"tiger", "er3", "deadbeef"} {
			var got, exp []wantEvent
			_, err := e.Scan(ctx, store.ScanRequest{Scope: scope, Groups: []string{"g"}, Filter: substr(filter)}, func(b store.ScanBlock) bool {
				got = append(got, asWant(b.Events)...)
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(got, func(x, y wantEvent) int {
				if x.pos.Less(y.pos) {
					return -1
				}
				return 1
			})
			for _, x := range all {
				if strings.Contains(x.msg, filter) {
					exp = append(exp, x)
				}
			}
			sameEvents(t, fmt.Sprintf("seed %d scan %q", seed, filter), got, exp)
		}
		if err := e.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRecompactionBoundedRewrite: a stream that goes quiet between small
// bursts (each burst followed by a pass, as RecompactSettle gives a real
// server) must not have its merged block rewritten at every burst. Every
// event appended is taken in fresh by one merge, and a merge may rewrite at
// most 3 events per fresh event it takes in (the merged blocks it reopens
// hold at most twice its fresh events), so the events rewritten stay under
// 3 × the events appended. Before, each pass rewrote the whole merged block
// again: 12,000 + 60 × ~12,000 events for 12,600 appended.
func TestRecompactionBoundedRewrite(t *testing.T) {
	ctx := context.Background()
	e, err := Open(Config{Dir: "/db", FS: vfs.NewMem(), RecompactInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { e.Close() }()
	if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"}); err != nil {
		t.Fatal(err)
	}
	if err := e.CreateStream(ctx, scope, "g", store.Stream{Name: "s"}); err != nil {
		t.Fatal(err)
	}
	gen := bench.NewLineGen(7)
	ts, appended := int64(1_760_000_000_000), 0
	var want []wantEvent
	burst := func(n int) {
		evs := make([]store.Event, n)
		for i := range evs {
			ts++
			evs[i] = store.Event{Timestamp: ts, Message: gen.Line()}
		}
		res, err := e.Append(ctx, scope, "g", "s", evs, 1_770_000_000_000)
		if err != nil {
			t.Fatal(err)
		}
		for i, ev := range evs {
			want = append(want, wantEvent{"s", ev.Message, 1_770_000_000_000, store.Position{Time: ev.Timestamp, Seq: res.Seq, Index: uint32(i)}})
		}
		appended += n
	}
	pass := func() RecompactStats {
		st, err := e.RecompactNow()
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	big := recompactTarget * 3 / 8 // two of them make one merged block
	burst(big)
	burst(big)
	if st := pass(); st.Merges != 1 || st.Events != int64(2*big) {
		t.Fatalf("first pass %+v: want the two appends merged", st)
	}
	const rounds = 60
	for r := 0; r < rounds; r++ {
		burst(1 + r%10)
		pass()
	}
	st := pass()
	if st.Events > 3*int64(appended) {
		t.Fatalf("%d events rewritten for %d appended (%d merges): more than 3 per event", st.Events, appended, st.Merges)
	}
	// Merging did not simply stop: left alone, every burst would be a
	// block of its own (61 and the first).
	blocks := countKeys(t, e, []byte{tagBlock})
	if blocks > rounds/2 {
		t.Fatalf("%d blocks after %d bursts: the bursts were not merged", blocks, rounds)
	}
	got, _ := readAll(t, e, store.ReadRequest{Group: scope, Name: "g", Limit: 5000, MaxBytes: 8 << 20})
	sameEvents(t, "after the bursts", asWant(got), want)
	t.Logf("%d appended, %d rewritten in %d merges, %d blocks", appended, st.Events, st.Merges, blocks)
}

// TestRecompactionRunExpired: retention drops a run's blocks after the
// worker cut its runs and before it merges them (runsOf runs outside the
// janitor's lock). The run is skipped and the pass goes on: the other
// stream still merges, and the pass reports no error.
func TestRecompactionRunExpired(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UnixMilli()
	e, err := Open(Config{Dir: "/db", FS: vfs.NewMem(), RecompactInterval: -1, JanitorInterval: time.Hour,
		Now: func() time.Time { return time.UnixMilli(now) }})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { e.Close() }()
	if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g", RetentionDays: 1}); err != nil {
		t.Fatal(err)
	}
	old := now - 3*86_400_000
	for _, s := range []string{"old", "new"} {
		if err := e.CreateStream(ctx, scope, "g", store.Stream{Name: s}); err != nil {
			t.Fatal(err)
		}
		at := now
		if s == "old" {
			at = old
		}
		for i := int64(0); i < 2; i++ {
			if _, err := e.Append(ctx, scope, "g", s, []store.Event{{Timestamp: at + i, Message: fmt.Sprint(s, i)}}, at); err != nil {
				t.Fatal(err)
			}
		}
	}
	swept := 0
	e.crashPoint = func(stage string) {
		if stage == "runs" && swept == 0 {
			swept++
			if err := e.Sweep(); err != nil {
				t.Error(err)
			}
		}
	}
	st, err := e.RecompactNow()
	if err != nil {
		t.Fatalf("pass: %v", err)
	}
	if swept != 1 || st.Merges != 1 || st.Events != 2 {
		t.Fatalf("stats %+v (swept %d): want the new stream's 2 events merged", st, swept)
	}
	got, _ := readAll(t, e, store.ReadRequest{Group: scope, Name: "g", Limit: 10, MaxBytes: 1 << 20})
	if len(got) != 2 || got[0].Message != "new0" || got[1].Message != "new1" {
		t.Fatalf("read %v, want new0 and new1", got)
	}
}

// TestRecompactionGarbageAtOpen: the sources' payloads a stopped run left
// (a read held them past its last sweep) are deleted by the next Open, not
// left for the pins: reads started after Open (one is held here, as a busy
// server always has) must not keep them forever.
func TestRecompactionGarbageAtOpen(t *testing.T) {
	fs := vfs.NewMem()
	e, err := Open(Config{Dir: "/db", FS: fs, RecompactInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	want := fillForMerge(t, e)
	unpin := e.pin() // a read running across the merge and the stop
	st, err := e.RecompactNow()
	if err != nil || st.Merges != 2 || st.GarbagePending != 2 {
		t.Fatalf("pass: %+v %v; want 2 merges, their payloads kept for the read", st, err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	unpin()
	if e, err = Open(Config{Dir: "/db", FS: fs, RecompactInterval: -1}); err != nil {
		t.Fatal(err)
	}
	defer func() { e.Close() }()
	defer e.pin()() // reads after the start
	// Left alone: a, b and c's merged blocks, the 42 sources' payloads.
	if n := countKeys(t, e, []byte{tagBlock}); n != 3 {
		t.Fatalf("%d payloads after the restart, want 3 (a, b, c)", n)
	}
	if n := countKeys(t, e, []byte{tagGarbage}); n != 0 {
		t.Fatalf("%d garbage records after the restart", n)
	}
	if st, err := e.RecompactNow(); err != nil || st.GarbagePending != 0 {
		t.Fatalf("pass after the restart: %+v %v", st, err)
	}
	got, _ := readAll(t, e, store.ReadRequest{Group: scope, Name: "g", Limit: 97, MaxBytes: 1 << 20})
	sameEvents(t, "after the restart", asWant(got), want)
}

// TestRecompactionKeepsWindows: a busy stream's blocks on either side of
// a 5-minute boundary (epoch-aligned, as Insights' bins are) are not
// merged into one, so a count by bin can still take each merged block from
// its summary; blocks inside one window are; a sparse stream's small
// blocks merge across the boundary.
func TestRecompactionKeepsWindows(t *testing.T) {
	for _, c := range []struct {
		per             int // events an append
		merges, sources int64
	}{{recompactTarget / 4 * 3 / 5, 2, 4}, {100, 1, 4}} {
		recompactWindows(t, c.per, c.merges, c.sources)
	}
}

func recompactWindows(t *testing.T, per int, merges, sources int64) {
	ctx := context.Background()
	e, err := Open(Config{Dir: "/db", FS: vfs.NewMem(), RecompactInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"}); err != nil {
		t.Fatal(err)
	}
	if err := e.CreateStream(ctx, scope, "g", store.Stream{Name: "s"}); err != nil {
		t.Fatal(err)
	}
	const boundary = int64(1_760_000_100_000) // a multiple of 300,000 ms
	// Two appends before the boundary, two after.
	for _, start := range []int64{boundary - 20_000, boundary - 10_000, boundary, boundary + 10_000} {
		evs := make([]store.Event, per)
		for i := range evs {
			evs[i] = store.Event{Timestamp: start + int64(i), Message: fmt.Sprintf("line %d", i)}
		}
		if _, err := e.Append(ctx, scope, "g", "s", evs, start); err != nil {
			t.Fatal(err)
		}
	}
	st, err := e.RecompactNow()
	if err != nil {
		t.Fatal(err)
	}
	if st.Merges != merges || st.SourceBlocks != sources {
		t.Fatalf("%d-event appends: %+v: want %d merges of %d blocks", per, st, merges, sources)
	}
}

// TestRecompactionAge: the worker's own passes (not RecompactNow) merge only
// blocks that arrived RecompactAge ago or more. A stream's old blocks merge
// while its young ones stay as appended (and the worker does not call
// itself settled); once the clock passes their age, they merge too. Every
// event reads the same throughout.
func TestRecompactionAge(t *testing.T) {
	ctx := context.Background()
	t0 := int64(1_770_000_000_000)
	var now atomic.Int64
	now.Store(t0)
	e, err := Open(Config{Dir: "/db", FS: vfs.NewMem(), RecompactInterval: -1, JanitorInterval: time.Hour,
		Now: func() time.Time { return time.UnixMilli(now.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { e.Close() }()
	if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"}); err != nil {
		t.Fatal(err)
	}
	if err := e.CreateStream(ctx, scope, "g", store.Stream{Name: "s"}); err != nil {
		t.Fatal(err)
	}
	gen := bench.NewLineGen(3)
	ts := t0 - 10*60_000
	var want []wantEvent
	appendAt := func(n int, ingestion int64) {
		evs := make([]store.Event, n)
		for i := range evs {
			ts++
			evs[i] = store.Event{Timestamp: ts, Message: gen.Line()}
		}
		res, err := e.Append(ctx, scope, "g", "s", evs, ingestion)
		if err != nil {
			t.Fatal(err)
		}
		for i, ev := range evs {
			want = append(want, wantEvent{"s", ev.Message, ingestion, store.Position{Time: ev.Timestamp, Seq: res.Seq, Index: uint32(i)}})
		}
	}
	pass := func(what string, merges int64, settled bool) {
		t.Helper()
		if err := e.rc.run(false); err != nil {
			t.Fatal(err)
		}
		st := e.RecompactStats()
		if st.Merges != merges || st.Settled != settled {
			t.Fatalf("%s: %+v, want %d merges in all, settled %v", what, st, merges, settled)
		}
		got, _ := readAll(t, e, store.ReadRequest{Group: scope, Name: "g", Limit: 3000, MaxBytes: 8 << 20})
		sameEvents(t, what, asWant(got), want)
	}
	for range 4 {
		appendAt(300, t0) // old once the clock moves an hour on
	}
	now.Store(t0 + 30*60_000)
	pass("half an hour on", 0, false)
	for range 3 {
		appendAt(300, t0+50*60_000) // young
	}
	now.Store(t0 + DefaultRecompactAge.Milliseconds() + 60_000)
	pass("the first four an hour old", 1, false)
	if n := countKeys(t, e, []byte{tagBlock}); n != 1+3 {
		t.Fatalf("%d blocks, want the merged one and the 3 young ones", n)
	}
	now.Store(t0 + 50*60_000 + DefaultRecompactAge.Milliseconds() + 60_000)
	pass("all an hour old", 2, false) // the garbage of the last merge is swept at the next pass
	pass("settled", 2, true)
	if n := countKeys(t, e, []byte{tagBlock}); n != 1 {
		t.Fatalf("%d blocks, want one merged block", n)
	}
}

// TestRecompactionClosedRun: a stream still being written (never quiet for
// RecompactSettle) has its short runs merged once a later block closed them
// (here: the next 5-minute window), while its last run, which new appends
// may still join, waits.
func TestRecompactionClosedRun(t *testing.T) {
	ctx := context.Background()
	t0 := int64(1_770_000_000_000) // a multiple of 5 minutes
	var now atomic.Int64
	now.Store(t0)
	e, err := Open(Config{Dir: "/db", FS: vfs.NewMem(), RecompactInterval: -1, RecompactAge: -1, JanitorInterval: time.Hour,
		Now: func() time.Time { return time.UnixMilli(now.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { e.Close() }()
	if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"}); err != nil {
		t.Fatal(err)
	}
	if err := e.CreateStream(ctx, scope, "g", store.Stream{Name: "s"}); err != nil {
		t.Fatal(err)
	}
	gen := bench.NewLineGen(4)
	appendAt := func(ts int64) {
		evs := make([]store.Event, 400)
		for i := range evs {
			evs[i] = store.Event{Timestamp: ts + int64(i), Message: gen.Line()}
		}
		if _, err := e.Append(ctx, scope, "g", "s", evs, now.Load()); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 { // 1,200 events in the first window: more than a quarter of the target
		appendAt(t0 + int64(i)*1000)
	}
	appendAt(t0 + recompactWindow) // the next window: closes the run before it
	appendAt(t0 + recompactWindow + 1000)
	if err := e.rc.run(false); err != nil {
		t.Fatal(err)
	}
	st := e.RecompactStats()
	if st.Merges != 1 || st.Events != 1200 || st.Settled {
		t.Fatalf("%+v: want the closed run's 1,200 events merged and the last run waiting", st)
	}
	now.Add(e.cfg.RecompactSettle.Milliseconds()) // the stream went quiet
	if err := e.rc.run(false); err != nil {
		t.Fatal(err)
	}
	if st := e.RecompactStats(); st.Merges != 2 || st.Events != 2000 {
		t.Fatalf("%+v: want the last run merged once the stream is quiet", st)
	}
}
