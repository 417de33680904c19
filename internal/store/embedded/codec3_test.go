package embedded

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/store"
)

func strongEncoder(t testing.TB) *zstd.Encoder {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderCRC(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() })
	return enc
}

// positionsOf gives events the positions of appends of per events each
// (seq 100, 101, ... index 0..per-1) and ingestion times by append.
func positionsOf(evs []store.Event, per int) ([]store.Position, []int64) {
	pos := make([]store.Position, len(evs))
	ing := make([]int64, len(evs))
	for i := range evs {
		pos[i] = store.Position{Time: evs[i].Timestamp, Seq: uint64(100 + i/per), Index: uint32(i % per)}
		ing[i] = int64(5000 + i/per)
	}
	return pos, ing
}

func checkBlock3(t *testing.T, evs []store.Event, pos []store.Position, ing []int64, blk *DecodedBlock) {
	t.Helper()
	if blk.Len() != len(evs) {
		t.Fatalf("%d events back, want %d", blk.Len(), len(evs))
	}
	for i := range evs {
		if blk.Time(i) != evs[i].Timestamp || string(blk.Message(i)) != evs[i].Message {
			t.Fatalf("event %d: (%d, %q), want (%d, %q)", i, blk.Time(i), blk.Message(i), evs[i].Timestamp, evs[i].Message)
		}
		if got := blk.pos(i, 0); got != pos[i] {
			t.Fatalf("event %d at %+v, want %+v", i, got, pos[i])
		}
		if got := blk.ingestion(i, -1); got != ing[i] {
			t.Fatalf("event %d ingested %d, want %d", i, got, ing[i])
		}
	}
}

// TestBlockCodec3 round-trips hand-written messages that stress the
// tokenizer (leading zeros, all-zero runs, long digit runs, hex ids of every
// width at and past the limits, uppercase hex, the placeholder bytes
// themselves, newlines, empty messages) byte for byte, with their
// positions and ingestion times.
func TestBlockCodec3(t *testing.T) {
	enc := strongEncoder(t)
	_, dec := testCoders(t)
	msgs := []string{
		"", "0", "00", "007", "000", "10.0.0.255 - - [22/Nov/2026:05:09:14 -0700]",
		"x=0.052 y=0.500 z=1.000", "12345678901234567890123456789", "099999999999999999999",
		"req=0a3f91bc done", "req=0A3F91BC upper", "id 1234567 (7 digits) 12345678 (8) deadbeefcafe0123 (16) deadbeefcafe01234 (17)",
		"abcdef12 badcafe0x1 zzdeadbeef00 deadbeef_x -deadbeef-", "\x01\x02\x03 raw placeholder bytes \x01 1 \x02 2",
		"multi\nline\n12\n", "trailing digits 42", "18446744073709551615 max uint64", "ünïcödé 123 ✓",
		`{"time":"2026-11-22T05:09:14.000Z","level":"info","req":"0000ffff","user":0,"latency_ms":1}`,
	}
	var evs []store.Event
	for i, m := range msgs {
		evs = append(evs, store.Event{Timestamp: 1_760_000_000_000 + int64(i/3)*7, Message: m})
	}
	pos, ing := positionsOf(evs, 4)
	v := EncodeBlock3(nil, evs, pos, ing, enc)
	if v[0] != blockFormat4 {
		t.Fatalf("leading byte %x", v[0])
	}
	v3 := encodeFormat3(evs, pos, ing, enc)
	if v3[0] != blockFormat3 {
		t.Fatalf("format 3: leading byte %x", v3[0])
	}
	blk3, _, err := DecodeBlock(v3, evs[0].Timestamp, nil, dec)
	if err != nil {
		t.Fatal(err)
	}
	checkBlock3(t, evs, pos, ing, blk3)
	blk, _, err := DecodeBlock(v, evs[0].Timestamp, nil, dec)
	if err != nil {
		t.Fatal(err)
	}
	checkBlock3(t, evs, pos, ing, blk)
	times, _, err := decodeBlock3(v, evs[0].Timestamp, nil, dec, true)
	if err != nil || !slices.Equal(times.ts, blk.ts) || times.data != nil {
		t.Fatalf("times only: %v %v", times, err)
	}
	// Every strict prefix is refused, never a panic.
	for n := 1; n < len(v); n++ {
		if _, _, err := DecodeBlock(v[:n], evs[0].Timestamp, nil, dec); err == nil {
			t.Fatalf("a %d-byte prefix of %d decoded", n, len(v))
		}
	}
}

// encodeFormat3 is EncodeBlock3 as it was before the seek index: format 3,
// which merged blocks written before format 4 hold.
func encodeFormat3(events []store.Event, pos []store.Position, ingest []int64, enc *zstd.Encoder) []byte {
	x := encoder3{format3: true}
	return x.encode(nil, events, pos, ingest, enc)
}

// TestBlockCodec3BenchLines: the bench's lines (internal/bench LineGen) in
// 16,384-event merged blocks of 1,000-event appends round-trip, and come out
// smaller than format 2 of the same events at zstd's best level (the figure
// goes to the log; the assertion is only "smaller").
func TestBlockCodec3BenchLines(t *testing.T) {
	enc := strongEncoder(t)
	_, dec := testCoders(t)
	gen := bench.NewLineGen(7)
	evs := make([]store.Event, 16384)
	ts := int64(1_760_000_000_000)
	raw := 0
	for i := range evs {
		ts += int64(i % 3)
		evs[i] = store.Event{Timestamp: ts, Message: gen.Line()}
		raw += len(evs[i].Message)
	}
	pos, ing := positionsOf(evs, 1000)
	v := EncodeBlock3(nil, evs, pos, ing, enc)
	blk, _, err := DecodeBlock(v, evs[0].Timestamp, nil, dec)
	if err != nil {
		t.Fatal(err)
	}
	checkBlock3(t, evs, pos, ing, blk)
	v2, _ := EncodeBlock(nil, nil, evs, enc)
	t.Logf("%d events, %.1f raw bytes/event: format 3 %.2f bytes/event, format 2 at the same level %.2f",
		len(evs), float64(raw)/float64(len(evs)), float64(len(v))/float64(len(evs)), float64(len(v2))/float64(len(evs)))
	if len(v) >= len(v2) {
		t.Errorf("format 3 %d bytes, format 2 %d", len(v), len(v2))
	}
}

// FuzzBlockCodec3: any messages round-trip through format 3, and any bytes
// after the format byte decode to an error or to events, never a panic.
func FuzzBlockCodec3(f *testing.F) {
	enc := strongEncoder(f)
	_, dec := testCoders(f)
	f.Add("a 12 b 0012 deadbeef\n\x01", []byte{3, 1, 1, 0, 0, 1, 0})
	f.Add("", []byte{})
	f.Fuzz(func(t *testing.T, text string, junk []byte) {
		msgs := strings.Split(text, "|")
		evs := make([]store.Event, len(msgs))
		for i, m := range msgs {
			evs[i] = store.Event{Timestamp: int64(1000 + i), Message: m}
		}
		pos, ing := positionsOf(evs, 3)
		v := EncodeBlock3(nil, evs, pos, ing, enc)
		blk, _, err := DecodeBlock(v, 1000, nil, dec)
		if err != nil {
			t.Fatal(err)
		}
		checkBlock3(t, evs, pos, ing, blk)
		// Decoded in part (decodeWant): every event in range holding the
		// literal comes back whole; junk is an error or events, never a
		// panic.
		lit := "|"
		if len(msgs) > 1 && len(msgs[1]) >= 3 {
			lit = msgs[1][:3]
		}
		want := decodeWant{start: 1000 + int64(len(evs)/3), end: 1000 + int64(len(evs)), tpl: templateLiteral([]byte(lit))}
		part, _, err := decodeBlock3Of(v, 1000, nil, dec, want)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range evs {
			if e.Timestamp >= want.start && strings.Contains(e.Message, lit) && string(part.message(i)) != e.Message {
				t.Fatalf("part: event %d is %q, want %q", i, part.message(i), e.Message)
			}
		}
		// As a scan reads it (approxSizes: the lazy walk of the whole
		// block), the literal or, escaped, a backslash: those events come
		// back whole, and the block's size is the messages' total.
		if tl := templateLiteral([]byte(lit)); tl != nil {
			for _, esc := range []bool{false, true} {
				tl.orBackslash = esc
				lz, _, err := decodeBlock3Of(v, 1000, nil, dec, decodeWant{start: math.MinInt64, end: math.MaxInt64, tpl: tl, approxSizes: true})
				if err != nil {
					t.Fatal(err)
				}
				var size int64
				for i, e := range evs {
					size += int64(len(e.Message))
					if (strings.Contains(e.Message, lit) || esc && strings.Contains(e.Message, "\\")) && string(lz.message(i)) != e.Message {
						t.Fatalf("lazy (esc %v): event %d is %q, want %q", esc, i, lz.message(i), e.Message)
					}
				}
				if got := lz.rawBytes(0, len(evs)); got != size {
					t.Fatalf("lazy (esc %v): rawBytes %d, want %d", esc, got, size)
				}
			}
		}
		// Hits only (a literal the templates decide): exactly the events
		// that hold it.
		if l := prematch(substr(lit)); tplExact(l) {
			hb, _, err := decodeBlock3Of(v, 1000, nil, dec, decodeWant{start: math.MinInt64, end: math.MaxInt64, tpl: l.tpl, hitsOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			var want []int32
			for i, e := range evs {
				if strings.Contains(e.Message, lit) {
					want = append(want, int32(i))
				}
			}
			if !hb.hitsOnly || !slices.Equal(hb.hits, want) {
				t.Fatalf("hits only, %q: %v, want %v", lit, hb.hits, want)
			}
		}
		for _, format := range []byte{blockFormat3, blockFormat4} {
			bad := append([]byte{format}, junk...)
			if blk, _, err := decodeBlock3Of(bad, 0, nil, dec, decodeWant{start: math.MinInt64, end: math.MaxInt64, tpl: templateLiteral([]byte("xyz")), hitsOnly: true}); err == nil {
				for _, h := range blk.hits {
					if h < 0 || int(h) >= len(blk.ts) {
						t.Fatalf("hit %d of a block of %d", h, len(blk.ts))
					}
				}
			}
			if blk, _, err := DecodeBlock(bad, 0, nil, dec); err == nil {
				for i := range blk.ts {
					_ = blk.message(i)
				}
			}
			for _, lit := range []string{"xyz", ""} {
				if blk, _, err := decodeBlock3Of(bad, 0, nil, dec, decodeWant{start: 1, end: 1 << 40, tpl: templateLiteral([]byte(lit))}); err == nil && blk.off != nil {
					lo, _ := slices.BinarySearch(blk.ts, 1)
					for i := lo; i < len(blk.ts); i++ {
						_ = blk.message(i)
					}
					_ = blk.rawBytes(lo, len(blk.ts))
				}
			}
		}
	})
}

// BenchmarkDecodeFormat compares decoding one block of recompactTarget bench lines
// in format 2 (as Append writes it, zstd fastest), format 3 (as the worker
// wrote it before the seek index) and format 4 (as it writes it now). SetBytes is the raw message bytes: MB/s is the decode
// speed in message text. Two cases split a merged block's full decode in
// parts: format4-frames only decompresses its zstd frames (the floor of
// any render of this format), format3-walk walks every event without
// writing it (a time range holding only the block's last events: format
// 3 walks from the start) — so the full decode is frames + walk + the
// writes (docs/benchmarks.md, fmt10).
func BenchmarkDecodeFormat(b *testing.B) {
	fast, dec := testCoders(b)
	strong := strongEncoder(b)
	gen := bench.NewLineGen(7)
	evs := make([]store.Event, recompactTarget)
	ts := int64(1_760_000_000_000)
	raw := 0
	for i := range evs {
		ts += int64(i % 3)
		evs[i] = store.Event{Timestamp: ts, Message: gen.Line()}
		raw += len(evs[i].Message)
	}
	pos, ing := positionsOf(evs, 1000)
	v2, _ := EncodeBlock(nil, nil, evs, fast)
	v4 := EncodeBlock3(nil, evs, pos, ing, strong)
	v3 := encodeFormat3(evs, pos, ing, strong)
	// format3-search renders only the messages whose template may hold
	// the full scan's term (decodeWant.tpl); format3-range only the tenth
	// of the events a time range in the block's middle selects.
	mid := evs[len(evs)/2].Timestamp
	for _, c := range []struct {
		name string
		v    []byte
		want *decodeWant
	}{{"format2", v2, nil}, {"format3", v3, nil},
		{"format3-search", v3, &decodeWant{start: math.MinInt64, end: math.MaxInt64, tpl: prematch(substr(bench.CommonTerm)).tpl}},
		{"format3-range", v3, &decodeWant{start: mid, end: mid + (evs[len(evs)-1].Timestamp-evs[0].Timestamp)/10}},
		{"format4", v4, nil},
		{"format4-search", v4, &decodeWant{start: math.MinInt64, end: math.MaxInt64, tpl: prematch(substr(bench.CommonTerm)).tpl}},
		{"format4-range", v4, &decodeWant{start: mid, end: mid + (evs[len(evs)-1].Timestamp-evs[0].Timestamp)/10}},
		{"format3-walk", v3, &decodeWant{start: evs[len(evs)-1].Timestamp, end: math.MaxInt64}},
		{"format4-frames", v4, nil}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(raw))
			b.ReportMetric(float64(len(c.v))/float64(len(evs)), "stored-B/event")
			var buf []byte
			cpu0 := processCPU()
			for b.Loop() {
				var blk *DecodedBlock
				var nbuf []byte
				var err error
				if c.name == "format4-frames" {
					if buf, err = decodeFrames3(c.v, buf, dec); err != nil {
						b.Fatal(err)
					}
					continue
				}
				if c.want != nil {
					blk, nbuf, err = decodeBlock3Of(c.v, evs[0].Timestamp, buf, dec, *c.want)
				} else {
					blk, nbuf, err = DecodeBlock(c.v, evs[0].Timestamp, buf, dec)
				}
				if err != nil || blk.Len() != len(evs) {
					b.Fatal(err)
				}
				buf = nbuf
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(evs)), "ns/event")
			// CPU time, not wall: the machine is shared (loaded figures).
			b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N)/float64(len(evs)), "cpu-ns/event")
		})
	}
}

// decodeFrames3 decompresses every zstd frame of merged block v (ts, ids,
// templates, the columns, the seek index) into buf, back to back, and
// nothing else: what any render of the format pays first.
func decodeFrames3(v, buf []byte, dec *zstd.Decoder) ([]byte, error) {
	r := reader{b: v[1:]}
	r.uvarint() // count
	r.uvarint() // message bytes
	nruns := r.uvarint()
	for range nruns {
		r.varint()
		r.uvarint()
		r.uvarint()
		r.varint()
	}
	if r.err {
		return buf, errFormat3
	}
	buf = buf[:0]
	rest := r.b
	var err error
	for k := 0; k < 3; k++ {
		if buf, rest, err = appendFrame3(rest, buf, dec); err != nil {
			return buf, err
		}
	}
	r = reader{b: rest}
	ncols := r.uvarint()
	rest = r.b
	for k := 0; k <= int(ncols); k++ { // the columns and the seek index
		if buf, rest, err = appendFrame3(rest, buf, dec); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

func appendFrame3(b, buf []byte, dec *zstd.Decoder) ([]byte, []byte, error) {
	frame, rest, err := splitFrame(b)
	if err != nil {
		return buf, nil, err
	}
	buf, err = dec.DecodeAll(frame, buf)
	return buf, rest, err
}

// processCPU is this process's user+system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestTemplateLiteral: what a template must hold for a message to hold a
// literal is the literal itself when no byte of it can come from a variable
// (verbatim), else its longest run of bytes outside [0-9a-f] (variables
// render only those), when that is 3 bytes or more.
func TestTemplateLiteral(t *testing.T) {
	for _, c := range []struct{ lit, want string }{
		{"checkout_timeout", "checkout_timeout"}, // every word holds a letter past f
		{"zqxneedle7", "zqxn"},                   // a digit is a variable
		{"ERROR", "ERROR"},
		{"error", "error"},
		{"OR", "OR"},
		{"deadbeef", ""},       // may be a hex id entirely
		{"status=500", "tus="}, // "st" is shorter
		{"a1b2c3", ""},
		{"xy", "xy"},
		{"id=abc", ""},                 // "abc" may begin an id ("id=abcdef12"), and no 3 bytes lie outside hex
		{"x abc y", "x abc y"},         // "abc" is a whole word, too short for an id
		{"x deadbeef y", ""},           // a whole word that is an id
		{"x deadbeefdeadbeef12 y", ""}, // digits are variables
		{"x aaaaaaaaaaaaaaaaa y", "x aaaaaaaaaaaaaaaaa y"}, // 17 letters a–f: too long for an id
		{"tab\there", ""}, // a byte a template escapes or uses as a width
	} {
		got := ""
		if l := templateLiteral([]byte(c.lit)); l != nil {
			got = string(l.b)
		}
		if got != c.want {
			t.Errorf("templateLiteral(%q) = %q, want %q", c.lit, got, c.want)
		}
	}
}

// TestDecodeBlock3Partial: a merged block decoded for a time range and a
// search's literal renders, byte for byte, every event in the range whose
// message holds the literal (the rest may read back empty), and counts
// every message's size as if all were rendered.
func TestDecodeBlock3Partial(t *testing.T) {
	enc := strongEncoder(t)
	gen := bench.NewLineGen(11)
	rng := rand.New(rand.NewPCG(5, 6))
	evs := make([]store.Event, 3000)
	ts := int64(1_760_000_000_000)
	odd := []string{"", "0042 x", "\x01\x02\x03\n0", "id deadbeef00 ok", "tiger", "checkout_timeout 7", `{"lev\u0065l":"x","n":12}`, `a\b 77 \\`}
	for i := range evs {
		ts += int64(rng.IntN(3))
		m := gen.Line()
		if rng.IntN(10) == 0 {
			m = odd[rng.IntN(len(odd))]
		}
		evs[i] = store.Event{Timestamp: ts, Message: m}
	}
	pos, ing := positionsOf(evs, 100)
	// Format 4 walks from the seek index's checkpoints, format 3 from the
	// block's start: both give the same.
	for _, v := range [][]byte{EncodeBlock3(nil, evs, pos, ing, enc), encodeFormat3(evs, pos, ing, enc)} {
		testDecodePartial(t, v, evs, rng)
	}
}

func testDecodePartial(t *testing.T, v []byte, evs []store.Event, rng *rand.Rand) {
	_, dec := testCoders(t)
	first, last := evs[0].Timestamp, evs[len(evs)-1].Timestamp
	for round := 0; round < 40; round++ {
		start := first + rng.Int64N(last-first+2) - 1
		end := start + rng.Int64N(last-first+2)
		if round%5 == 0 {
			start, end = math.MinInt64, math.MaxInt64
		}
		lit := []string{"", bench.CommonTerm, "zqx", "GET /api", "level", "tiger", "0042", "deadbeef"}[round%8]
		want := decodeWant{start: start, end: end}
		if lit != "" {
			want.tpl = prematch(substr(lit)).tpl
		}
		// Each round also as a scan reads it (approxSizes) and, with a
		// literal, as a JSON field's search (templateEscaped: a message
		// with a backslash may match too).
		for _, esc := range []bool{false, true} {
			if esc && lit == "" {
				continue
			}
			w := want
			if esc {
				w.tpl = templateLiteral([]byte(lit))
				if w.tpl == nil {
					continue
				}
				w.tpl.orBackslash = true
			}
			testDecodeApprox(t, v, evs, dec, w, lit, esc, round)
		}
		blk, _, err := decodeBlock3Of(v, first, nil, dec, want)
		if err != nil {
			t.Fatal(err)
		}
		if blk.Len() != len(evs) {
			t.Fatalf("%d events, want %d", blk.Len(), len(evs))
		}
		lo, hi := -1, -1
		for i, e := range evs {
			if e.Timestamp >= start && e.Timestamp < end {
				if lo < 0 {
					lo = i
				}
				hi = i + 1
			}
		}
		if lo < 0 {
			if blk.off != nil {
				t.Fatalf("round %d: no event in range, messages decoded", round)
			}
			continue
		}
		var size int64
		for i := lo; i < hi; i++ {
			size += int64(len(evs[i].Message))
			if (lit == "" || strings.Contains(evs[i].Message, lit)) && string(blk.message(i)) != evs[i].Message {
				t.Fatalf("round %d (%q in [%d, %d)): event %d is %q, want %q", round, lit, start, end, i, blk.message(i), evs[i].Message)
			}
		}
		if got := blk.rawBytes(lo, hi); got != size {
			t.Fatalf("round %d: rawBytes %d, want %d", round, got, size)
		}
		if !blk.covers(lo, hi, want.tpl) {
			t.Fatalf("round %d: the block does not cover what it was decoded for", round)
		}
		// A page resumed inside the block starts right after the last
		// event the previous page returned, a match (merge.go's
		// loadCursor: rawBytes(after, hi)). What it reports as scanned
		// must be exact there too, not the seek walk's spread estimate
		// (the reviewer's suspicion, review6).
		// A page the scan budget stopped resumes at a match (the heap's
		// top, read.go's frontier), and a backward page ends at one.
		rest, before := size, int64(0)
		for i := lo; i < hi; i++ {
			m := int64(len(evs[i].Message))
			rest -= m
			before += m
			if lit != "" && !strings.Contains(evs[i].Message, lit) {
				continue
			}
			if got := blk.rawBytes(i+1, hi); got != rest {
				t.Fatalf("round %d (%q): resumed after match %d, rawBytes %d, want %d", round, lit, i, got, rest)
			}
			if got := blk.rawBytes(i, hi); got != rest+m {
				t.Fatalf("round %d (%q): resumed at match %d, rawBytes %d, want %d", round, lit, i, got, rest+m)
			}
			if got := blk.rawBytes(lo, i+1); got != before {
				t.Fatalf("round %d (%q): backward page ending at match %d, rawBytes %d, want %d", round, lit, i, got, before)
			}
		}
	}
}

// TestTemplateHits holds the hits-only decode (decodeWant.hitsOnly: which
// events match, from the template ids and texts alone) to strings.Contains
// on every message, for literals the templates decide (tplExact) over the
// bench's lines and messages built to trip it: occurrences next to numbers
// and hex ids, around escaped bytes and newlines, split by a variable, and
// uppercase hex (text, not a variable). Formats 3 and 4 alike; a time
// range that cuts the block falls back to the rendering decode.
func TestTemplateHits(t *testing.T) {
	enc := strongEncoder(t)
	_, dec := testCoders(t)
	gen := bench.NewLineGen(12)
	rng := rand.New(rand.NewPCG(7, 8))
	parts := []string{"ERROR", "ERR", "OR", " ", "42", "0007", "deadbeef01", "DEADBEEF01", "\x01", "\x03", "\n", "WARN", "=", "x", "E",
		"error", "cafe", "babe", "f", "-", "cafebabe"}
	evs := make([]store.Event, 4000)
	ts := int64(1_760_000_000_000)
	for i := range evs {
		ts += int64(rng.IntN(3))
		m := gen.Line()
		if rng.IntN(3) == 0 {
			var b strings.Builder
			for range rng.IntN(8) {
				b.WriteString(parts[rng.IntN(len(parts))])
			}
			m = b.String()
		}
		evs[i] = store.Event{Timestamp: ts, Message: m}
	}
	pos, ing := positionsOf(evs, 250)
	lits := []string{"ERROR", "ERR", "RROR", "WARN", "E E", "OR ERR", "DEADBEEF", "ERROR 4", "ERROR=", "GET /",
		"error", "rror", "timeout", "connection", "x cafe x", "-cafe-", "cafe"}
	for fi, v := range [][]byte{EncodeBlock3(nil, evs, pos, ing, enc), encodeFormat3(evs, pos, ing, enc)} {
		for _, l := range lits {
			lit := prematch(substr(l))
			exact := tplExact(lit)
			if want := !strings.ContainsAny(l, "0123456789") && l != "cafe"; exact != want {
				t.Fatalf("tplExact(%q) = %v, want %v", l, exact, want)
			}
			if !exact {
				continue
			}
			blk, _, err := decodeBlock3Of(v, evs[0].Timestamp, nil, dec, decodeWant{start: math.MinInt64, end: math.MaxInt64, tpl: lit.tpl, hitsOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			var want []int32
			var raw int64
			for i, e := range evs {
				raw += int64(len(e.Message))
				if strings.Contains(e.Message, l) {
					want = append(want, int32(i))
				}
			}
			if !blk.hitsOnly || !slices.Equal(blk.hits, want) || blk.raw != raw {
				t.Fatalf("format %d, %q: hits-only %v, %d hits, raw %d; want %d hits, raw %d", 4-fi, l, blk.hitsOnly, len(blk.hits), blk.raw, len(want), raw)
			}
			if len(want) == 0 && l == "ERROR" {
				t.Fatal("no event holds ERROR: the test does not test")
			}
			for _, i := range want[:min(len(want), 50)] {
				if blk.pos(int(i), 0) != pos[i] || blk.ingestion(int(i), -1) != ing[i] || blk.ts[i] != evs[i].Timestamp {
					t.Fatalf("format %d, %q: event %d's position, ingestion or time differ", 4-fi, l, i)
				}
			}
			// A range that cuts the block renders (the sizes of a cut
			// range are not known without walking).
			cut, _, err := decodeBlock3Of(v, evs[0].Timestamp, nil, dec, decodeWant{start: evs[10].Timestamp + 1, end: math.MaxInt64, tpl: lit.tpl, hitsOnly: true})
			if err != nil || cut.hitsOnly {
				t.Fatalf("a cut range: hits-only %v, %v", cut.hitsOnly, err)
			}
		}
	}
}

// TestVerbatimRandom holds tplExact's literals to strings.Contains over
// random messages and literals of an alphabet built to make hex ids and
// numbers appear, touch and overlap them: every literal the templates are
// said to decide must get exactly the events whose message holds it, in
// formats 3 and 4.
func TestVerbatimRandom(t *testing.T) {
	enc := strongEncoder(t)
	_, dec := testCoders(t)
	rng := rand.New(rand.NewPCG(9, 10))
	const alpha = "abcdefxyzAB0 -=_\x03"
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	exact := 0
	for round := range 40 {
		evs := make([]store.Event, 600)
		for i := range evs {
			var b strings.Builder
			for range 1 + rng.IntN(6) {
				if rng.IntN(3) == 0 {
					b.WriteString(strings.Repeat("abcdef"[rng.IntN(6):][:1], 4+rng.IntN(14)))
				} else {
					b.WriteString(word(1 + rng.IntN(10)))
				}
			}
			evs[i] = store.Event{Timestamp: 1000 + int64(i), Message: b.String()}
		}
		pos, ing := positionsOf(evs, 100)
		blocks := [][]byte{EncodeBlock3(nil, evs, pos, ing, enc), encodeFormat3(evs, pos, ing, enc)}
		for range 30 {
			var l string
			if w := boundedHexWord(evs[rng.IntN(len(evs))].Message); w != "" && rng.IntN(3) == 0 {
				l = w // a word of a–f with its bounds: an id when 8 to 16 long
			} else if rng.IntN(2) == 0 { // a piece of a message: it occurs
				m := evs[rng.IntN(len(evs))].Message
				i := rng.IntN(len(m))
				l = m[i : i+1+rng.IntN(min(len(m)-i, 12))]
			} else {
				l = word(1 + rng.IntN(6))
			}
			lit := prematch(substr(l))
			if !tplExact(lit) {
				continue
			}
			exact++
			var want []int32
			for i, e := range evs {
				if strings.Contains(e.Message, l) {
					want = append(want, int32(i))
				}
			}
			for fi, v := range blocks {
				blk, _, err := decodeBlock3Of(v, evs[0].Timestamp, nil, dec, decodeWant{start: math.MinInt64, end: math.MaxInt64, tpl: lit.tpl, hitsOnly: true})
				if err != nil {
					t.Fatal(err)
				}
				if !blk.hitsOnly || !slices.Equal(blk.hits, want) {
					t.Fatalf("round %d, format %d, %q: %d hits, want %d", round, 4-fi, l, len(blk.hits), len(want))
				}
			}
		}
	}
	if exact < 200 {
		t.Fatalf("only %d literals were verbatim: the test does not test", exact)
	}
}

// boundedHexWord is m's first maximal run of a–f with a byte that is not
// alphanumeric on either side, those bytes included; "" when none.
func boundedHexWord(m string) string {
	for i := 1; i < len(m); i++ {
		if isAlnum(m[i-1]) || m[i] < 'a' || m[i] > 'f' {
			continue
		}
		j := i
		for j < len(m) && m[j] >= 'a' && m[j] <= 'f' {
			j++
		}
		if j < len(m) && !isAlnum(m[j]) {
			return m[i-1 : j+1]
		}
		i = j
	}
	return ""
}

// testDecodeApprox decodes v as a scan does (decodeWant.approxSizes, the
// lazy seek walk when the block is wholly in range): every event in range
// whose message holds lit (with esc, or a backslash) renders byte for
// byte, and what the whole range examined is the messages' total size.
func testDecodeApprox(t *testing.T, v []byte, evs []store.Event, dec *zstd.Decoder, want decodeWant, lit string, esc bool, round int) {
	t.Helper()
	want.approxSizes = true
	blk, _, err := decodeBlock3Of(v, evs[0].Timestamp, nil, dec, want)
	if err != nil {
		t.Fatalf("round %d (%q, esc %v): %v", round, lit, esc, err)
	}
	lo, hi := -1, -1
	for i, e := range evs {
		if e.Timestamp >= want.start && e.Timestamp < want.end {
			if lo < 0 {
				lo = i
			}
			hi = i + 1
		}
	}
	if lo < 0 {
		return
	}
	var size int64
	for i := lo; i < hi; i++ {
		m := evs[i].Message
		size += int64(len(m))
		if lit == "" || strings.Contains(m, lit) || esc && strings.Contains(m, "\\") {
			if string(blk.message(i)) != m {
				t.Fatalf("round %d (%q, esc %v, approx): event %d is %q, want %q", round, lit, esc, i, blk.message(i), m)
			}
		}
	}
	if got := blk.rawBytes(lo, hi); got != size {
		t.Fatalf("round %d (%q, esc %v, approx): rawBytes %d, want %d", round, lit, esc, got, size)
	}
	if !blk.covers(lo, hi, want.tpl) {
		t.Fatalf("round %d: the block does not cover what it was decoded for", round)
	}
}

// TestDecodeScratchReuse: decodes with one decodeScratch, block after
// block (larger, smaller, each kind of want), give what decodes without one
// give: the arrays and templates one block leaves behind never show in the
// next.
func TestDecodeScratchReuse(t *testing.T) {
	enc := strongEncoder(t)
	_, dec := testCoders(t)
	gen := bench.NewLineGen(31)
	rng := rand.New(rand.NewPCG(31, 32))
	var blocks [][]byte
	var events [][]store.Event
	for _, n := range []int{3000, 200, 5000, 1, 800} {
		evs := make([]store.Event, n)
		ts := int64(1_760_000_000_000)
		for i := range evs {
			ts += int64(rng.IntN(3))
			evs[i] = store.Event{Timestamp: ts, Message: gen.Line()}
		}
		pos, ing := positionsOf(evs, 100)
		blocks, events = append(blocks, EncodeBlock3(nil, evs, pos, ing, enc)), append(events, evs)
	}
	scr := new(decodeScratch)
	for round := 0; round < 30; round++ {
		k := rng.IntN(len(blocks))
		evs := events[k]
		first, last := evs[0].Timestamp, evs[len(evs)-1].Timestamp
		want := decodeWant{start: math.MinInt64, end: math.MaxInt64}
		if round%3 == 1 {
			want.start = first + rng.Int64N(last-first+1)
		}
		if lit := []string{"", "level", "GET /api", "timeout"}[round%4]; lit != "" {
			want.tpl = templateLiteral([]byte(lit))
			want.approxSizes = round%2 == 0
		}
		ref, _, err := decodeBlock3Of(blocks[k], first, nil, dec, want)
		if err != nil {
			t.Fatal(err)
		}
		want.scratch = scr
		got, _, err := decodeBlock3Of(blocks[k], first, nil, dec, want)
		if err != nil {
			t.Fatal(err)
		}
		if got.Len() != ref.Len() || !slices.Equal(got.ts, ref.ts) || !slices.Equal(got.seqs, ref.seqs) || !slices.Equal(got.idx, ref.idx) ||
			!slices.Equal(got.ingest, ref.ingest) || !slices.Equal(got.sized, ref.sized) || got.walked != ref.walked {
			t.Fatalf("round %d (block %d): the scratch's decode differs from a fresh one", round, k)
		}
		for i := range got.Len() {
			if got.off != nil && string(got.message(i)) != string(ref.message(i)) {
				t.Fatalf("round %d (block %d): event %d is %q, fresh %q", round, k, i, got.message(i), ref.message(i))
			}
		}
	}
}
