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
	"github.com/klauspost/compress/zstd"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

// hit is one event a match path gave: its index and message.
type hit struct {
	i   int
	msg string
}

// splitHits is the split path: DecodeBlock, then eachMatch over every
// event, and the statistics' bytes (rawBytes).
func splitHits(t testing.TB, value []byte, dec *zstd.Decoder, f store.Matcher, lit *literal) ([]hit, int64, error) {
	blk, _, err := DecodeBlock(value, 0, nil, dec)
	if err != nil {
		return nil, 0, err
	}
	var out []hit
	eachMatch(blk, 0, blk.Len(), f, lit, func(i int) { out = append(out, hit{i, string(blk.message(i))}) })
	return out, blk.rawBytes(0, blk.Len()), nil
}

// unsplitHits is the scan's path for a block wholly in range.
func unsplitHits(t testing.TB, value []byte, dec *zstd.Decoder, f store.Matcher, lit *literal) ([]hit, int64, error) {
	ts, rest, err := DecodeBlockTimes(value, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	blk, _, err := decodeMessages(ts, rest, nil, dec, true)
	if err != nil {
		return nil, 0, err
	}
	var out []hit
	if !blk.unsplit {
		eachMatch(blk, 0, blk.Len(), f, lit, func(i int) { out = append(out, hit{i, string(blk.message(i))}) })
		return out, blk.rawBytes(0, blk.Len()), nil
	}
	if err := eachMatchLines(blk, f, lit, func(i int, m []byte) { out = append(out, hit{i, string(m)}) }); err != nil {
		return nil, 0, err
	}
	return out, int64(len(blk.data)) - int64(blk.Len()), nil
}

// suffixed matches messages that hold lit and end in "x": a filter that
// refuses some of the prematch's candidates.
type suffixed string

func (s suffixed) Match(m string) bool {
	return strings.Contains(m, string(s)) && strings.HasSuffix(m, "x")
}
func (s suffixed) Required() []string              { return []string{string(s)} }
func (s suffixed) RequiredUnlessEscaped() []string { return nil }

// litMessages makes n messages over a small alphabet holding lit's bytes
// (so partial and overlapping occurrences, occurrences spanning two
// messages, empty messages), with lit planted in some, among them the first
// and the last when first, last say so.
func litMessages(rng *rand.Rand, n int, lit string, first, last bool) []string {
	alphabet := lit + "ab x"
	msgs := make([]string, n)
	for i := range msgs {
		b := make([]byte, rng.IntN(12))
		for k := range b {
			b[k] = alphabet[rng.IntN(len(alphabet))]
		}
		m := string(b)
		if rng.IntN(4) == 0 || i == 0 && first || i == n-1 && last {
			at := rng.IntN(len(m) + 1)
			m = m[:at] + lit + m[at:]
		}
		msgs[i] = m
	}
	return msgs
}

func eventsOf(msgs []string) []store.Event {
	evs := make([]store.Event, len(msgs))
	for i, m := range msgs {
		evs[i] = store.Event{Timestamp: int64(i / 3), Message: m}
	}
	return evs
}

// TestEachMatchLinesReference holds the unsplit path (decodeMessages
// unsplit, eachMatchLines) to the split path (DecodeBlock, eachMatch) on
// random blocks and the bench's lines, zstd, S2 and raw: the same events, in
// the same order, with the same messages, and the same scanned bytes.
func TestEachMatchLinesReference(t *testing.T) {
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	dec, _ := zstd.NewReader(nil)
	defer dec.Close()
	rng := rand.New(rand.NewPCG(7, 8))
	encode := func(codec int, evs []store.Event) []byte {
		switch codec {
		case 0:
			v, _ := EncodeBlock(nil, nil, evs, enc)
			return v
		case 1:
			v, _ := EncodeBlockS2(nil, nil, evs)
			return v
		}
		v, _ := EncodeBlock(nil, nil, evs, enc) // the same column, stored as is (codec 0)
		_, rest, _ := DecodeBlockTimes(v, 0, nil)
		col, err := dec.DecodeAll(rest[1:], nil)
		if err != nil {
			t.Fatal(err)
		}
		return append(append(slices.Clip(v[:len(v)-len(rest)]), codecRaw), col...)
	}
	check := func(name string, evs []store.Event, f store.Matcher) {
		t.Helper()
		lit := prematch(f)
		if lit == nil {
			t.Fatalf("%s: no literal", name)
		}
		for codec := 0; codec < 3; codec++ {
			v := encode(codec, evs)
			want, wantBytes, err := splitHits(t, v, dec, f, lit)
			if err != nil {
				t.Fatal(err)
			}
			got, gotBytes, err := unsplitHits(t, v, dec, f, lit)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) || gotBytes != wantBytes {
				t.Fatalf("%s codec %d: unsplit %v (%d bytes), split %v (%d bytes)", name, codec, got, gotBytes, want, wantBytes)
			}
			var raw int64
			for _, e := range evs {
				raw += int64(len(e.Message))
			}
			if gotBytes != raw {
				t.Fatalf("%s codec %d: %d bytes scanned, the messages hold %d", name, codec, gotBytes, raw)
			}
		}
	}
	lits := []string{"ERR", "abab", "a x", "xxx"}
	for round := 0; round < 3000; round++ {
		lit := lits[rng.IntN(len(lits))]
		msgs := litMessages(rng, 1+rng.IntN(40), lit, rng.IntN(2) == 0, rng.IntN(2) == 0)
		evs := eventsOf(msgs)
		check(fmt.Sprintf("round %d %q", round, lit), evs, substr(lit))
		check(fmt.Sprintf("round %d %q suffixed", round, lit), evs, suffixed(lit))
	}
	// Every message empty, or one: no hit, and the bytes are 0.
	check("empty", eventsOf([]string{"", "", ""}), substr("ERR"))
	check("one", eventsOf([]string{"ERR"}), substr("ERR"))
	// The bench's lines, 1,000 a block, as the Insights ERROR count reads them.
	gen := bench.NewLineGen(3)
	for b := 0; b < 20; b++ {
		msgs := make([]string, 1000)
		for i := range msgs {
			msgs[i] = gen.Line()
		}
		for _, lit := range []string{"ERROR", "checkout", "user_1", "nowhere-at-all"} {
			check(fmt.Sprintf("bench block %d %q", b, lit), eventsOf(msgs), substr(lit))
		}
	}
}

// TestEachMatchLinesCorrupt: a column whose newlines do not give one
// message an event fails on both paths.
func TestEachMatchLinesCorrupt(t *testing.T) {
	lit := newLiteral([]byte("ERR"))
	for _, c := range []struct {
		data string
		n    int
	}{
		{"a ERR\nb\n", 3}, {"a ERR\nb\nc\n", 2}, {"a ERR\nb", 2}, {"ERR", 1}, {"x\nERR", 2}, {"", 1}, {"\n\nERR\n", 2},
	} {
		blk := &DecodedBlock{ts: make([]int64, c.n), sep: 1, data: []byte(c.data), unsplit: true}
		if err := eachMatchLines(blk, substr("ERR"), lit, func(int, []byte) {}); err == nil {
			t.Errorf("%q, %d events: no error", c.data, c.n)
		}
		split := &DecodedBlock{ts: make([]int64, c.n), off: make([]uint32, c.n+1)}
		if err := split.splitMessages(append([]byte{layoutLines}, c.data...)); err == nil {
			t.Errorf("%q, %d events: splitMessages took it", c.data, c.n)
		}
	}
}

// FuzzEachMatchLines: on any column and event count, the unsplit path
// fails exactly when splitMessages does, and otherwise gives eachMatch's
// events and messages.
func FuzzEachMatchLines(f *testing.F) {
	f.Add([]byte("a ERR\nb\nERR\n"), uint8(3), "ERR")
	f.Add([]byte("\n\nERRERR\n"), uint8(3), "RRE")
	f.Add([]byte("x\nE\nRR\n"), uint8(3), "E\nR")
	f.Fuzz(func(t *testing.T, data []byte, n uint8, lit string) {
		if n == 0 || len(lit) < 3 || len(lit) > 16 {
			return
		}
		l := newLiteral([]byte(lit))
		split := &DecodedBlock{ts: make([]int64, n), off: make([]uint32, int(n)+1)}
		splitErr := split.splitMessages(append([]byte{layoutLines}, data...))
		blk := &DecodedBlock{ts: make([]int64, n), sep: 1, data: data, unsplit: true}
		var got []hit
		err := eachMatchLines(blk, substr(lit), l, func(i int, m []byte) { got = append(got, hit{i, string(m)}) })
		if (err == nil) != (splitErr == nil) {
			t.Fatalf("unsplit %v, split %v", err, splitErr)
		}
		if err != nil {
			return
		}
		var want []hit
		eachMatch(split, 0, int(n), substr(lit), l, func(i int) { want = append(want, hit{i, string(split.message(i))}) })
		if !slices.Equal(got, want) {
			t.Fatalf("unsplit %v, split %v", got, want)
		}
	})
}

// TestScanUnsplitReference: a filtered Scan (blocks wholly in range read
// unsplit, blocks the time range cuts split) gives every event in range
// whose message the filter matches, and statistics that count every event
// in range and its message bytes (AWS's recordsScanned and bytesScanned:
// what the query examined, matched or not).
func TestScanUnsplitReference(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(9, 10))
	for _, compression := range []string{"", "s2"} {
		e, err := Open(Config{Dir: "/db", FS: vfs.NewMem(), Compression: compression})
		if err != nil {
			t.Fatal(err)
		}
		storetest.Setup(t, e, scope, "g", "s1", "s2")
		now := time.Now().UnixMilli()
		type ev struct {
			stream string
			ts     int64
			msg    string
		}
		var all []ev
		gen := bench.NewLineGen(4)
		ts := now - 100000
		for b := 0; b < 60; b++ {
			stream := []string{"s1", "s2"}[b%2]
			var msgs []string
			if b%3 == 0 {
				for range 1 + rng.IntN(300) {
					msgs = append(msgs, gen.Line())
				}
			} else {
				msgs = litMessages(rng, 1+rng.IntN(50), "ERROR", b%4 == 1, b%5 == 2)
			}
			evs := make([]store.Event, len(msgs))
			for i, m := range msgs {
				ts += int64(rng.IntN(3))
				evs[i] = store.Event{Timestamp: ts, Message: m}
				all = append(all, ev{stream, ts, m})
			}
			if _, err := e.Append(ctx, scope, "g", stream, evs, now); err != nil {
				t.Fatal(err)
			}
			ts++
		}
		first, last := all[0].ts, all[len(all)-1].ts
		for round := 0; round < 200; round++ {
			start, end := int64(0), int64(0)
			if round > 0 {
				start = first + rng.Int64N(last-first+1) - 5
				end = start + rng.Int64N(last-first+10)
			}
			var f store.Matcher = substr("ERROR")
			if round%2 == 1 {
				f = suffixed("ERROR")
			}
			var want []string
			var wantEvents, wantBytes int64
			for _, x := range all {
				if x.ts < start || end != 0 && x.ts >= end {
					continue
				}
				wantEvents++
				wantBytes += int64(len(x.msg))
				if f.Match(x.msg) {
					want = append(want, fmt.Sprint(x.stream, x.ts, x.msg))
				}
			}
			scan := func(splitAll bool) ([]string, store.ScanStats) {
				e.splitAll = splitAll
				var got []string
				st, err := e.Scan(ctx, store.ScanRequest{Scope: scope, Groups: []string{"g"}, Start: start, End: end, Filter: f}, func(b store.ScanBlock) bool {
					for _, x := range b.Events {
						got = append(got, fmt.Sprint(x.Stream, x.Timestamp, x.Message))
					}
					return true
				})
				if err != nil {
					t.Fatal(err)
				}
				slices.Sort(got)
				return got, st
			}
			got, st := scan(false)
			ref, refSt := scan(true)
			slices.Sort(want)
			if !slices.Equal(got, want) || !slices.Equal(ref, want) {
				t.Fatalf("%s [%d, %d): %d events, split %d, want %d", compression, start, end, len(got), len(ref), len(want))
			}
			if st != refSt {
				t.Fatalf("%s [%d, %d): statistics %+v, split %+v", compression, start, end, st, refSt)
			}
			// Over the whole range, what was scanned and what was
			// skipped by summary are every event and message byte.
			if round == 0 && (st.ScannedEvents+st.SkippedEvents != wantEvents || st.ScannedBytes+st.SkippedBytes != wantBytes) {
				t.Fatalf("%s: scanned %d+%d events %d+%d bytes, want %d and %d", compression, st.ScannedEvents, st.SkippedEvents,
					st.ScannedBytes, st.SkippedBytes, wantEvents, wantBytes)
			}
			if round == 0 && st.ScannedEvents == 0 {
				t.Fatal("nothing scanned")
			}
		}
		e.Close()
	}
}

// BenchmarkMatchLines: one decompressed block of 1,000 bench lines, the
// Insights ERROR count's filter, matched split (splitMessages, eachMatch)
// and unsplit (eachMatchLines): the per-block work the unsplit path
// removes, without the decompression both share.
func BenchmarkMatchLines(b *testing.B) {
	gen := bench.NewLineGen(1)
	evs := make([]store.Event, 1000)
	for i := range evs {
		evs[i] = store.Event{Timestamp: int64(i), Message: gen.Line()}
	}
	col := appendMessages(nil, evs)
	ts := make([]int64, len(evs))
	f := substr("ERROR")
	lit := prematch(f)
	b.Run("split", func(b *testing.B) {
		b.SetBytes(int64(len(col)))
		for b.Loop() {
			blk := &DecodedBlock{ts: ts, off: make([]uint32, len(ts)+1)}
			if err := blk.splitMessages(col); err != nil {
				b.Fatal(err)
			}
			n := 0
			eachMatch(blk, 0, blk.Len(), f, lit, func(int) { n++ })
		}
	})
	b.Run("unsplit", func(b *testing.B) {
		b.SetBytes(int64(len(col)))
		for b.Loop() {
			blk := &DecodedBlock{ts: ts, sep: 1, data: col[1:], unsplit: true}
			n := 0
			if err := eachMatchLines(blk, f, lit, func(int, []byte) { n++ }); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkScanLiteral is the Insights ERROR count's scan (a filter whose
// literal is in every block, 5.9% of the bench's lines) over 300,000
// appended events, unsplit (as Scan reads) and split (splitAll, the path
// before): cpu-ns/op is the process's CPU, both decode workers included.
func BenchmarkScanLiteral(b *testing.B) {
	e := openFilled(b)
	defer e.Close()
	for _, split := range []bool{false, true} {
		b.Run(map[bool]string{false: "unsplit", true: "split"}[split], func(b *testing.B) {
			e.splitAll = split
			defer reportCPU(b, cpuTime())
			for b.Loop() {
				n := 0
				_, err := e.Scan(context.Background(), store.ScanRequest{Scope: scope, Groups: []string{"g"}, Filter: substr("ERROR")},
					func(blk store.ScanBlock) bool { n += len(blk.Events); return true })
				if err != nil || n == 0 {
					b.Fatal(n, err)
				}
			}
		})
	}
	// The same scan over the steady state: the events merged (format 4),
	// where only the events whose template holds the literal render; and
	// the count's scan (no message wanted, the filter exactly a search for
	// its literal), which the templates alone answer.
	m := openMerged(b)
	defer m.Close()
	// "timeout" (in 3.6% of the lines) is decided by the templates too: every
	// word of it holds a letter past f (verbatim).
	for _, c := range []struct {
		name string
		lit  string
		hits bool
	}{{"merged", "ERROR", false}, {"merged-hits", "ERROR", true}, {"merged-timeout", "timeout", false}, {"merged-hits-timeout", "timeout", true}} {
		b.Run(c.name, func(b *testing.B) {
			req := store.ScanRequest{Scope: scope, Groups: []string{"g"}, Filter: substr(c.lit)}
			if c.hits {
				req.Filter, req.NoMessages = exactSubstr{substr(c.lit)}, true
			}
			defer reportCPU(b, cpuTime())
			for b.Loop() {
				n := 0
				_, err := m.Scan(context.Background(), req, func(blk store.ScanBlock) bool { n += len(blk.Events); return true })
				if err != nil || n == 0 {
					b.Fatal(n, err)
				}
			}
		})
	}
}

// TestScanHitsOnlyReference: a scan that wants no message, with a filter
// that is exactly a search for a literal (store.LiteralMatcher), over
// merged blocks (answered from their templates) and appended ones, returns
// the events a brute force over what was appended finds, with the same
// positions and ingestion times and the same ScanStats as the scan that
// renders and matches every message.
func TestScanHitsOnlyReference(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(11, 12))
	e, err := Open(Config{Dir: "/db", FS: vfs.NewMem(), RecompactInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	storetest.Setup(t, e, scope, "g", "s1", "s2", "s3")
	now := time.Now().UnixMilli()
	type ev struct {
		stream string
		ts     int64
		msg    string
	}
	var all []ev
	gen := bench.NewLineGen(5)
	ts := now - 3_600_000
	appendSome := func(blocks int) {
		for b := 0; b < blocks; b++ {
			stream := []string{"s1", "s2", "s3"}[rng.IntN(3)]
			var msgs []string
			if b%2 == 0 {
				for range 1 + rng.IntN(400) {
					msgs = append(msgs, gen.Line())
				}
			} else {
				msgs = litMessages(rng, 1+rng.IntN(80), []string{"ERROR", "timeout", "-cafe-"}[b%3], b%4 == 1, b%5 == 2)
				if b%3 == 2 { // hex ids that hold "cafe": variables, not template text
					msgs = append(msgs, "id cafebabe -cafe-", fmt.Sprintf("req=%08x%s", rng.Uint32(), "cafe"))
				}
			}
			evs := make([]store.Event, len(msgs))
			for i, m := range msgs {
				ts += int64(rng.IntN(3))
				evs[i] = store.Event{Timestamp: ts, Message: m}
				all = append(all, ev{stream, ts, m})
			}
			if _, err := e.Append(ctx, scope, "g", stream, evs, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendSome(90)
	if _, err := e.RecompactSettled(); err != nil {
		t.Fatal(err)
	}
	appendSome(20) // fresh blocks beside the merged ones
	first, last := all[0].ts, all[len(all)-1].ts
	for round := 0; round < 120; round++ {
		start, end := int64(0), int64(0)
		if round%3 != 0 {
			start = first + rng.Int64N(last-first+1) - 5
			end = start + rng.Int64N(last-first+10)
		}
		// Literals the templates decide (verbatim), the lowercase ones
		// among messages full of a-f runs that make hex ids.
		lits := []string{"ERROR", "RROR E", "WARN", "level=ERROR", "timeout", "out ti", "-cafe-"}
		lit := lits[round%len(lits)]
		if !tplExact(prematch(substr(lit))) {
			t.Fatalf("%q: not decided by the templates", lit)
		}
		want := map[string]bool{}
		for _, x := range all {
			if x.ts >= start && (end == 0 || x.ts < end) && strings.Contains(x.msg, lit) {
				want[fmt.Sprintf("%s %d %q", x.stream, x.ts, x.msg)] = true
			}
		}
		type hit struct {
			stream     string
			ts, ingest int64
			pos        store.Position
		}
		scan := func(req store.ScanRequest) ([]hit, []string, store.ScanStats) {
			var got []hit
			var msgs []string
			st, err := e.Scan(ctx, req, func(b store.ScanBlock) bool {
				for _, x := range b.Events {
					got = append(got, hit{x.Stream, x.Timestamp, x.IngestionTime, x.Pos})
					msgs = append(msgs, fmt.Sprintf("%s %d %q", x.Stream, x.Timestamp, x.Message))
				}
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
			return got, msgs, st
		}
		base := store.ScanRequest{Scope: scope, Groups: []string{"g"}, Start: start, End: end}
		full := base
		full.Filter = substr(lit)
		hits := base
		hits.Filter, hits.NoMessages = exactSubstr{substr(lit)}, true
		ref, refMsgs, refSt := scan(full)
		got, gotMsgs, st := scan(hits)
		for _, m := range refMsgs {
			if !want[m] {
				t.Fatalf("round %d: the rendering scan returned %q, which does not match", round, m)
			}
		}
		if len(refMsgs) != len(want) {
			t.Fatalf("round %d (%q in [%d, %d)): the rendering scan found %d, want %d", round, lit, start, end, len(refMsgs), len(want))
		}
		if !slices.Equal(got, ref) || st != refSt {
			t.Fatalf("round %d (%q in [%d, %d)): %d hits, %+v; the rendering scan %d, %+v", round, lit, start, end, len(got), st, len(ref), refSt)
		}
		for _, m := range gotMsgs {
			if !strings.HasSuffix(m, ` ""`) {
				t.Fatalf("round %d: %q came with its message", round, m)
			}
		}
	}
}

// TestScanMergedGap: a filtered scan whose range falls in a gap between a
// merged block's events (its summary's span overlaps the range, no event
// lies in it) finds nothing. It used to index the messages the decode had
// rightly not rendered, and the worker's panic ended the process.
func TestScanMergedGap(t *testing.T) {
	ctx := context.Background()
	e, err := Open(Config{Dir: "/db", FS: vfs.NewMem(), RecompactInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	storetest.Setup(t, e, scope, "g", "s")
	t0 := time.Now().UnixMilli() - 3_600_000
	for b := range 4 { // appends 10 s apart, merged into one block
		evs := make([]store.Event, 50)
		for i := range evs {
			evs[i] = store.Event{Timestamp: t0 + int64(b)*10_000 + int64(i), Message: fmt.Sprintf("ERROR %d", i)}
		}
		if _, err := e.Append(ctx, scope, "g", "s", evs, t0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.RecompactSettled(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []store.Matcher{substr("ERROR"), substr("ERR 9")} {
		n := 0
		_, err := e.Scan(ctx, store.ScanRequest{Scope: scope, Groups: []string{"g"}, Start: t0 + 1000, End: t0 + 2000, Filter: f},
			func(b store.ScanBlock) bool { n += len(b.Events); return true })
		if err != nil || n != 0 {
			t.Fatalf("%v: %d events in the gap, %v", f, n, err)
		}
	}
}

// TestWorkerPanicFailsTheCall: a panic in a scan's or a read's block
// decoder (their own goroutines, where no caller's recover reaches) fails
// that one call with a BUG error instead of ending the process, and the
// engine goes on serving.
func TestWorkerPanicFailsTheCall(t *testing.T) {
	ctx := context.Background()
	e, err := Open(Config{Dir: "/db", FS: vfs.NewMem(), RecompactInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	storetest.Setup(t, e, scope, "g", "s")
	t0 := time.Now().UnixMilli() - 60_000
	for b := range 40 { // past sequentialLoads: the read prefetches
		evs := []store.Event{{Timestamp: t0 + int64(b), Message: fmt.Sprintf("ERROR %d", b)}}
		if _, err := e.Append(ctx, scope, "g", "s", evs, t0); err != nil {
			t.Fatal(err)
		}
	}
	var calls atomic.Int32
	e.beforeDecode = func() {
		if calls.Add(1) == 30 {
			panic("injected")
		}
	}
	_, scanErr := e.Scan(ctx, store.ScanRequest{Scope: scope, Groups: []string{"g"}, Filter: substr("ERROR")}, func(store.ScanBlock) bool { return true })
	calls.Store(0)
	_, readErr := e.Read(ctx, store.ReadRequest{Group: scope, Name: "g", Limit: 10000, Filter: substr("ERROR")})
	for what, err := range map[string]error{"scan": scanErr, "read": readErr} {
		if err == nil || !strings.Contains(err.Error(), "BUG") || !strings.Contains(err.Error(), "injected") {
			t.Errorf("%s: %v, want the worker's panic as an error", what, err)
		}
	}
	e.beforeDecode = nil
	p, err := e.Read(ctx, store.ReadRequest{Group: scope, Name: "g", Limit: 10000, Filter: substr("ERROR")})
	if err != nil || len(p.Events) != 40 {
		t.Fatalf("after the panics: %d events, %v", len(p.Events), err)
	}
}
