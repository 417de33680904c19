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

// scanWant is one appended event as the model knows it.
type scanWant struct {
	group, stream, msg string
	pos                store.Position
}

// scanData appends randomized, overlapping batches to groups g1 and g2
// (streams a, b, c) and returns every event and each append's first
// timestamp by sequence.
func scanData(t *testing.T, s store.Store, rng *rand.Rand, base int64) ([]scanWant, map[uint64]int64) {
	t.Helper()
	ctx := context.Background()
	for _, g := range []string{"g1", "g2"} {
		Setup(t, s, scope, g, "a", "b", "c")
	}
	var all []scanWant
	minTs := map[uint64]int64{}
	for i := 0; i < 150; i++ {
		group := []string{"g1", "g2"}[rng.Intn(2)]
		stream := []string{"a", "b", "c"}[rng.Intn(3)]
		ts := base + rng.Int63n(100_000)
		var evs []store.Event
		for j := 0; j < 1+rng.Intn(20); j++ {
			ts += rng.Int63n(50)
			msg := fmt.Sprintf("m%d-%d word%d", i, j, rng.Intn(5))
			if i == 77 && j == 0 {
				msg += " rareneedle"
			}
			evs = append(evs, store.Event{Timestamp: ts, Message: msg})
		}
		res, err := s.Append(ctx, scope, group, stream, evs, base+int64(i))
		if err != nil {
			t.Fatal(err)
		}
		minTs[res.Seq] = evs[0].Timestamp
		for j, e := range evs {
			all = append(all, scanWant{group, stream, e.Message, store.Position{Time: e.Timestamp, Seq: res.Seq, Index: uint32(j)}})
		}
	}
	return all, minTs
}

// testScan checks what Scan delivers, and in which order, for every kind of
// selection, against a brute-force model.
func testScan(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := context.Background()
	rng := rand.New(rand.NewSource(3))
	base := time.Now().UnixMilli() - 3_600_000
	all, minTs := scanData(t, s, rng, base)
	ingestion := map[uint64]int64{}
	for _, x := range all {
		if _, ok := ingestion[x.pos.Seq]; !ok {
			ingestion[x.pos.Seq] = base + int64(len(ingestion))
		}
	}

	check := func(name string, r store.ScanRequest, keep func(scanWant) bool) store.ScanStats {
		t.Helper()
		var got []scanWant
		type blockKey struct {
			group string
			minTs int64
			seq   uint64
		}
		var order []blockKey
		st, err := s.Scan(ctx, r, func(b store.ScanBlock) bool {
			if len(b.Events) == 0 {
				t.Fatalf("%s: an empty block", name)
			}
			seq, stream := b.Events[0].Pos.Seq, b.Events[0].Stream
			for i, e := range b.Events {
				if e.Pos.Seq != seq || e.Stream != stream || e.Timestamp != e.Pos.Time {
					t.Fatalf("%s: block mixes appends: %+v", name, b.Events)
				}
				if i > 0 && !b.Events[i-1].Pos.Less(e.Pos) {
					t.Fatalf("%s: events out of order in a block: %+v", name, b.Events)
				}
				if e.IngestionTime != ingestion[seq] {
					t.Fatalf("%s: ingestion time %d, want %d", name, e.IngestionTime, ingestion[seq])
				}
				got = append(got, scanWant{b.Group, e.Stream, e.Message, e.Pos})
			}
			order = append(order, blockKey{b.Group, minTs[seq], seq})
			return true
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// Groups in request order; within one, blocks by (first timestamp, seq).
		gi := func(g string) int { return slices.Index(r.Groups, g) }
		for i := 1; i < len(order); i++ {
			a, b := order[i-1], order[i]
			if gi(a.group) > gi(b.group) || a.group == b.group && (a.minTs > b.minTs || a.minTs == b.minTs && a.seq >= b.seq) {
				t.Fatalf("%s: block %+v delivered before %+v", name, a, b)
			}
		}
		var exp []scanWant
		for _, x := range all {
			if slices.Contains(r.Groups, x.group) && x.pos.Time >= r.Start && (r.End == 0 || x.pos.Time < r.End) && keep(x) &&
				(r.Filter == nil || r.Filter.Match(x.msg)) {
				exp = append(exp, x)
			}
		}
		sortWants := func(ws []scanWant) {
			slices.SortFunc(ws, func(a, b scanWant) int {
				if c := strings.Compare(a.group, b.group); c != 0 {
					return c
				}
				return comparePos(a.pos, b.pos)
			})
		}
		sortWants(got)
		sortWants(exp)
		if !slices.Equal(got, exp) {
			t.Fatalf("%s: %d events, want %d\ngot  %v\nwant %v", name, len(got), len(exp), got, exp)
		}
		return st
	}
	any := func(scanWant) bool { return true }
	both := []string{"g1", "g2"}
	full := check("all", store.ScanRequest{Scope: scope, Groups: both}, any)
	check("reverse groups", store.ScanRequest{Scope: scope, Groups: []string{"g2", "g1"}}, any)
	check("one group", store.ScanRequest{Scope: scope, Groups: []string{"g2"}}, any)
	window := check("window", store.ScanRequest{Scope: scope, Groups: both, Start: base + 30_000, End: base + 40_000}, any)
	if window.Blocks >= full.Blocks {
		t.Errorf("a 10%% window decoded %d blocks of %d", window.Blocks, full.Blocks)
	}
	check("one stream", store.ScanRequest{Scope: scope, Groups: both, Streams: []string{"b"}}, func(x scanWant) bool { return x.stream == "b" })
	check("two streams", store.ScanRequest{Scope: scope, Groups: both, Streams: []string{"a", "c", "missing"}},
		func(x scanWant) bool { return x.stream != "b" })
	check("prefix", store.ScanRequest{Scope: scope, Groups: both, StreamPrefix: "c"}, func(x scanWant) bool { return x.stream == "c" })
	check("filter", store.ScanRequest{Scope: scope, Groups: both, Filter: substr("word3")}, any)
	check("everything", store.ScanRequest{Scope: scope, Groups: both, Streams: []string{"a", "b"}, Start: base + 20_000, End: base + 90_000,
		Filter: substr("word1")}, func(x scanWant) bool { return x.stream != "c" })
	// A literal in one block: every other block is ruled out by its summary.
	rare := check("rare literal", store.ScanRequest{Scope: scope, Groups: both, Filter: substr("rareneedle")}, any)
	if rare.SkippedBlocks == 0 || rare.Blocks >= full.Blocks/2 {
		t.Errorf("rare literal: %d blocks decoded, %d skipped, of %d", rare.Blocks, rare.SkippedBlocks, full.Blocks)
	}
	if _, err := s.Scan(ctx, store.ScanRequest{Scope: scope, Groups: []string{"g1", "nope"}}, func(store.ScanBlock) bool { return true }); !errors.Is(err, store.ErrGroupNotFound) {
		t.Fatalf("scan of a missing group: %v", err)
	}
}

// testScanStop: Scan stops at once when the callback says so or the context
// ends, with many blocks still ahead.
func testScanStop(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := context.Background()
	Setup(t, s, scope, "g", "s")
	base := time.Now().UnixMilli()
	for i := 0; i < 200; i++ {
		evs := make([]store.Event, 20)
		for j := range evs {
			evs[j] = store.Event{Timestamp: base + int64(i), Message: fmt.Sprintf("event %d %d", i, j)}
		}
		if _, err := s.Append(ctx, scope, "g", "s", evs, base); err != nil {
			t.Fatal(err)
		}
	}
	r := store.ScanRequest{Scope: scope, Groups: []string{"g"}}
	for _, stopAt := range []int{1, 3, 50} {
		calls := 0
		_, err := s.Scan(ctx, r, func(store.ScanBlock) bool { calls++; return calls < stopAt })
		if err != nil || calls != stopAt {
			t.Fatalf("stop at %d: %d calls, %v", stopAt, calls, err)
		}
	}
	for _, cancelAt := range []int{1, 7} {
		cctx, cancel := context.WithCancel(ctx)
		calls := 0
		_, err := s.Scan(cctx, r, func(store.ScanBlock) bool {
			calls++
			if calls == cancelAt {
				cancel()
			}
			return true
		})
		cancel()
		if !errors.Is(err, context.Canceled) || calls != cancelAt {
			t.Fatalf("cancel at %d: %d calls, %v", cancelAt, calls, err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Scan(cctx, r, func(store.ScanBlock) bool { t.Fatal("called after cancel"); return true }); !errors.Is(err, context.Canceled) {
		t.Fatalf("scan with a cancelled context: %v", err)
	}
}
