package embedded

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/klauspost/compress/zstd"

	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

func testCoders(t testing.TB) (*zstd.Encoder, *zstd.Decoder) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		t.Fatal(err)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close(); dec.Close() })
	return enc, dec
}

// TestBlockCodec: format 2 round-trips timestamps (every delta width, the
// width chosen from the largest delta) and messages (both layouts), and
// DecodeBlockTimes alone gives the same timestamps. Expected widths are
// worked out by hand from the format's description.
func TestBlockCodec(t *testing.T) {
	enc, dec := testCoders(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name     string
		maxDelta int64
		n        int
		width    byte
		newline  bool
	}{
		{"one event", 0, 1, 1, false},
		{"same millisecond", 0, 100, 1, false},
		{"deltas ≤1", 1, 1000, 1, false},
		{"deltas ≤3", 3, 999, 2, true},
		{"deltas ≤15", 15, 77, 4, false},
		{"deltas ≤255", 255, 65, 8, true},
		{"deltas 256+", 256, 64, 0, false},
		{"hours apart", 3_600_000, 10, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			evs := make([]store.Event, c.n)
			ts := int64(1_760_000_000_000)
			for i := range evs {
				switch {
				case i == c.n/2 && i > 0:
					ts += c.maxDelta // the largest delta occurs once at least
				case i > 0:
					ts += rng.Int64N(c.maxDelta + 1)
				}
				m := string(rune('a'+i%26)) + " message"
				if c.newline && i%5 == 2 {
					m += "\nsecond line"
				}
				if i%9 == 4 {
					m = ""
				}
				evs[i] = store.Event{Timestamp: ts, Message: m}
			}
			v, _ := EncodeBlock(nil, nil, evs, enc)
			if v[0] != blockFormat2 {
				t.Fatalf("leading byte %#x", v[0])
			}
			minTs := evs[0].Timestamp
			times, _, err := DecodeBlockTimes(v, minTs, nil)
			if err != nil {
				t.Fatal(err)
			}
			blk, _, err := DecodeBlock(v, minTs, nil, dec)
			if err != nil {
				t.Fatal(err)
			}
			if blk.Len() != len(evs) || len(times) != len(evs) {
				t.Fatalf("%d and %d events, want %d", blk.Len(), len(times), len(evs))
			}
			for i, e := range evs {
				if times[i] != e.Timestamp || blk.Time(i) != e.Timestamp || string(blk.Message(i)) != e.Message {
					t.Fatalf("event %d: %d %d %q, want %d %q", i, times[i], blk.Time(i), blk.Message(i), e.Timestamp, e.Message)
				}
			}
			if w := widthOf(t, v); w != c.width {
				t.Fatalf("width %d, want %d", w, c.width)
			}
		})
	}
}

func widthOf(t *testing.T, v []byte) byte {
	r := reader{b: v[1:]}
	r.uvarint()
	if r.err {
		t.Fatal("no count")
	}
	return r.b[0]
}

// TestBlockCodecFormat1: a format-1 value (a zstd frame of the old payload)
// decodes through DecodeBlock, and DecodeBlockTimes says it cannot read it.
func TestBlockCodecFormat1(t *testing.T) {
	enc, dec := testCoders(t)
	evs := []store.Event{{Timestamp: 5, Message: "a"}, {Timestamp: 7, Message: "b\nc"}}
	v := enc.EncodeAll(encodePayload(nil, evs), nil)
	if _, _, err := DecodeBlockTimes(v, 5, nil); err != ErrFormat1 {
		t.Fatalf("times of format 1: %v", err)
	}
	blk, _, err := DecodeBlock(v, 5, nil, dec)
	if err != nil || !slices.Equal(blk.ts, []int64{5, 7}) || string(blk.message(1)) != "b\nc" {
		t.Fatalf("format 1: %v %v", blk, err)
	}
}

// FuzzDecodeBlock: no value makes the decoder panic or return messages
// outside its buffers, and what EncodeBlock writes reads back.
func FuzzDecodeBlock(f *testing.F) {
	enc, dec := testCoders(f)
	seed, _ := EncodeBlock(nil, nil, []store.Event{{Timestamp: 10, Message: "x"}, {Timestamp: 12, Message: "y\nz"}}, enc)
	f.Add(seed, int64(10))
	s2seed, _ := EncodeBlockS2(nil, nil, []store.Event{{Timestamp: 10, Message: "x 12"}, {Timestamp: 12, Message: "y\nz"}})
	f.Add(s2seed, int64(10))
	raw := append([]byte{blockFormat2, 2, 1, 0, codecRaw, layoutLines}, "a\nb\n"...)
	f.Add(raw, int64(0))
	f.Add(enc.EncodeAll(encodePayload(nil, []store.Event{{Timestamp: 1, Message: "m"}}), nil), int64(1))
	f.Fuzz(func(t *testing.T, v []byte, minTs int64) {
		minTs &= math.MaxInt64 >> 1 // block keys hold non-negative times
		blk, _, err := DecodeBlock(v, minTs, nil, dec)
		if err != nil {
			return
		}
		for i := range blk.ts {
			_ = blk.message(i)
			if i > 0 && blk.ts[i] < blk.ts[i-1] {
				t.Fatalf("timestamps go back: %v", blk.ts)
			}
		}
		// Re-encoding what was read gives the same events.
		evs := make([]store.Event, len(blk.ts))
		for i := range evs {
			evs[i] = store.Event{Timestamp: blk.ts[i], Message: string(blk.message(i))}
		}
		v2, _ := EncodeBlock(nil, nil, evs, enc)
		back, _, err := DecodeBlock(v2, evs[0].Timestamp, nil, dec)
		if err != nil {
			t.Fatal(err)
		}
		for i := range evs {
			if back.ts[i] != evs[i].Timestamp || string(back.message(i)) != evs[i].Message {
				t.Fatalf("event %d changed", i)
			}
		}
	})
}

// TestRangeSkipsDecompression: a block whose time span covers a read's range
// but none of whose events lies in it is answered from its timestamps alone,
// for Read and for Scan; one with an event in range is decompressed.
func TestRangeSkipsDecompression(t *testing.T) {
	e, err := Open(Config{Dir: "/db", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	storetest.Setup(t, e, scope, "g", "s")
	base := int64(1_760_000_000_000)
	evs := []store.Event{{Timestamp: base, Message: "first"}, {Timestamp: base + 100, Message: "second"}}
	if _, err := e.Append(ctx, scope, "g", "s", evs, base); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		start, end int64
		events     int
		decodes    int64
	}{
		{base + 10, base + 90, 0, 0}, // inside the span, between the events
		{base + 1, base + 100, 0, 0}, // end is exclusive
		{base + 50, base + 101, 1, 1},
		{base, base + 1, 1, 1},
	} {
		before := e.decodes.Load()
		p, err := e.Read(ctx, store.ReadRequest{Group: scope, Name: "g", Limit: 10, Start: c.start, End: c.end})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		if _, err := e.Scan(ctx, store.ScanRequest{Scope: scope, Groups: []string{"g"}, Start: c.start, End: c.end}, func(b store.ScanBlock) bool {
			n += len(b.Events)
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if len(p.Events) != c.events || n != c.events || e.decodes.Load()-before != 2*c.decodes {
			t.Fatalf("[%d, %d): read %d, scan %d events, %d decodes; want %d events, %d decodes each",
				c.start-base, c.end-base, len(p.Events), n, e.decodes.Load()-before, c.events, c.decodes)
		}
	}
}

// TestEachMatch: searching the block's column for the required literal
// finds exactly the events a message-by-message filter finds, in both
// layouts, with occurrences that span two messages, empty messages, and
// sub-ranges of the block.
func TestEachMatch(t *testing.T) {
	enc, dec := testCoders(t)
	rng := rand.New(rand.NewPCG(3, 4))
	words := []string{"ab", "abc", "c", "bca", "\n", "", "x", "abcab"}
	for round := 0; round < 300; round++ {
		n := 1 + rng.IntN(40)
		evs := make([]store.Event, n)
		for i := range evs {
			m := ""
			for k := rng.IntN(4); k > 0; k-- {
				w := words[rng.IntN(len(words))]
				if w == "\n" && round%2 == 0 {
					continue // even rounds: the newline layout
				}
				m += w
			}
			evs[i] = store.Event{Timestamp: int64(i), Message: m}
		}
		v, _ := EncodeBlock(nil, nil, evs, enc)
		blk, _, err := DecodeBlock(v, 0, nil, dec)
		if err != nil {
			t.Fatal(err)
		}
		f := substr("abc")
		lit := prematch(f)
		lo := rng.IntN(n)
		hi := lo + rng.IntN(n-lo+1)
		var got, want []int
		eachMatch(blk, lo, hi, f, lit, func(i int) { got = append(got, i) })
		for i := lo; i < hi; i++ {
			if strings.Contains(evs[i].Message, "abc") {
				want = append(want, i)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("round %d [%d, %d): got %v, want %v (events %v)", round, lo, hi, got, want, evs)
		}
	}
}

// TestScanNoMessages: a timestamps-only scan delivers the same events
// (streams, times, positions, ingestion times) as a full one, with empty
// messages, and decompresses nothing; the byte statistics stay those of the
// messages in range.
func TestScanNoMessages(t *testing.T) {
	e, err := Open(Config{Dir: "/db", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	storetest.Setup(t, e, scope, "g", "s")
	base := int64(1_760_000_000_000)
	var evs []store.Event
	for i := 0; i < 100; i++ {
		evs = append(evs, store.Event{Timestamp: base + int64(i), Message: fmt.Sprintf("message number %03d", i)})
	}
	for i := 0; i < 3; i++ {
		if _, err := e.Append(ctx, scope, "g", "s", evs, base+1000); err != nil {
			t.Fatal(err)
		}
	}
	scan := func(noMsgs bool) ([]store.StoredEvent, store.ScanStats) {
		var out []store.StoredEvent
		st, err := e.Scan(ctx, store.ScanRequest{Scope: scope, Groups: []string{"g"}, Start: base + 10, End: base + 90, NoMessages: noMsgs}, func(b store.ScanBlock) bool {
			out = append(out, b.Events...)
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		return out, st
	}
	full, fullStats := scan(false)
	before := e.decodes.Load()
	times, timeStats := scan(true)
	if d := e.decodes.Load() - before; d != 0 {
		t.Fatalf("timestamps-only scan decompressed %d blocks", d)
	}
	if len(full) != 240 || len(times) != len(full) {
		t.Fatalf("%d events, %d timestamps-only; want 240 each", len(full), len(times))
	}
	for i := range full {
		want := full[i]
		want.Message = ""
		if times[i] != want {
			t.Fatalf("event %d: %+v, want %+v", i, times[i], want)
		}
	}
	if timeStats.ScannedEvents != fullStats.ScannedEvents || timeStats.ScannedBytes != fullStats.ScannedBytes {
		t.Fatalf("stats %+v, full scan %+v", timeStats, fullStats)
	}
}
