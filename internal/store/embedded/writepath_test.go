package embedded

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"math/rand"
	"strings"
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/store"
)

// The write path's shortcuts, each against the straightforward code it
// replaced (written out here, not called from the package).

// referenceMessages is the message column as the codec defines it: the lines
// layout unless a message holds a newline, then the lengths layout.
// It is appendMessages as it was, writing to out.
func referenceMessages(out []byte, events []store.Event) []byte {
	lines := true
	for _, e := range events {
		if strings.IndexByte(e.Message, '\n') >= 0 {
			lines = false
			break
		}
	}
	if lines {
		out = append(out, layoutLines)
		for _, e := range events {
			out = append(out, e.Message...)
			out = append(out, '\n')
		}
		return out
	}
	out = append(out, layoutLengths)
	for _, e := range events {
		out = binary.AppendUvarint(out, uint64(len(e.Message)))
	}
	for _, e := range events {
		out = append(out, e.Message...)
	}
	return out
}

// referenceFinish folds the scratch filter with the modulo, as the
// definition says: word i onto word i mod words (finish as it was).
func referenceFinish(scratch []uint64) []byte {
	set := 0
	for _, w := range scratch {
		set += bits.OnesCount64(w)
	}
	words := max(1, min(len(scratch), (set*gramBits+63)/64))
	folded := make([]uint64, words)
	for i, w := range scratch {
		folded[i%words] |= w
	}
	dst := binary.AppendUvarint(nil, uint64(words))
	for _, w := range folded {
		dst = binary.LittleEndian.AppendUint64(dst, w)
	}
	return dst
}

// checkWritePath holds appendMessages, columnHasBackslash and finish to the
// references for one batch.
func checkWritePath(t *testing.T, gb *gramBuilder, events []store.Event) {
	t.Helper()
	prefix := []byte("keep")
	col := appendMessages(append([]byte(nil), prefix...), events)
	if !bytes.HasPrefix(col, prefix) {
		t.Fatalf("appendMessages overwrote what dst held")
	}
	col = col[len(prefix):]
	if want := referenceMessages(nil, events); !bytes.Equal(col, want) {
		t.Fatalf("message column %q, want %q", col, want)
	}
	wantBS := false
	for _, e := range events {
		wantBS = wantBS || strings.Contains(e.Message, `\`)
	}
	if got := columnHasBackslash(col, events); got != wantBS {
		t.Fatalf("columnHasBackslash = %v, want %v for %+v", got, wantBS, events)
	}
	gb.reset()
	for _, e := range events {
		gb.add([]byte(e.Message))
	}
	if got, want := gb.finish(nil), referenceFinish(gb.scratch[:]); !bytes.Equal(got, want) {
		t.Fatalf("finish differs from the modulo fold (%d vs %d bytes)", len(got), len(want))
	}
}

// TestWritePathMatchesReference: random batches over an alphabet of
// newlines, backslashes and bytes whose uvarint lengths hold '\\' (a
// message of 92 bytes: the lengths layout then holds the byte outside any
// message), and the bench's lines at every filter size.
func TestWritePathMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewSource(11))
	gb := newGramBuilder()
	alphabet := []byte("ab09_ \n\\\"\xc3\xa9\xdc")
	for trial := 0; trial < 3000; trial++ {
		evs := make([]store.Event, 1+rng.Intn(12))
		for i := range evs {
			n := rng.Intn(120)
			if rng.Intn(5) == 0 {
				n = 92 // uvarint 92 is the byte '\\'
			}
			b := make([]byte, n)
			for j := range b {
				b[j] = alphabet[rng.Intn(len(alphabet))]
			}
			if rng.Intn(3) == 0 { // mostly plain text
				b = bytes.Map(func(r rune) rune {
					if r == '\n' || r == '\\' {
						return 'x'
					}
					return r
				}, b)
			}
			evs[i] = store.Event{Timestamp: int64(i), Message: string(b)}
		}
		checkWritePath(t, gb, evs)
	}
	// Filters of every size: 1 to 10,000 bench lines (distinct grams grow
	// with the lines, and the fold's word count with them).
	gen := bench.NewLineGen(4)
	var evs []store.Event
	for n := 1; n <= 10000; n = n*3 + 1 {
		for len(evs) < n {
			evs = append(evs, store.Event{Timestamp: int64(len(evs)), Message: gen.Line()})
		}
		checkWritePath(t, gb, evs)
	}
	// The case the lengths layout exists for: a 92-byte message and a
	// newline, no backslash anywhere in the messages.
	evs = []store.Event{{Message: strings.Repeat("a", 92)}, {Message: "b\nc"}}
	checkWritePath(t, gb, evs)
	if columnHasBackslash(appendMessages(nil, evs), evs) {
		t.Fatal("a length byte read as a backslash")
	}
}

// FuzzWritePath: arbitrary messages (split on 0xff) through the same checks.
func FuzzWritePath(f *testing.F) {
	f.Add([]byte("a\xffb\nc\xff\\"))
	f.Add([]byte(strings.Repeat("x", 92) + "\xff\n"))
	f.Add([]byte("GET /api/v1/users 200 12ms\xffERROR timeout"))
	gb := newGramBuilder()
	f.Fuzz(func(t *testing.T, data []byte) {
		var evs []store.Event
		for _, m := range bytes.Split(data, []byte{0xff}) {
			evs = append(evs, store.Event{Message: string(m)})
		}
		checkWritePath(t, gb, evs)
	})
}

func benchEvents() []store.Event {
	gen := bench.NewLineGen(9)
	evs := make([]store.Event, 1000)
	for i := range evs {
		evs[i] = store.Event{Timestamp: int64(i), Message: gen.Line()}
	}
	return evs
}

// BenchmarkWritePath: a 1,000-event block's message column, backslash flag
// and folded filter, the way Append did them before (reference) and now, in
// one binary, so -count alternates them on a loaded machine (-cpu=1; the
// grams' own adding is BenchmarkGramAdd, the same in both).
func BenchmarkWritePath(b *testing.B) {
	evs := benchEvents()
	gb := newGramBuilder()
	for _, e := range evs {
		gb.add([]byte(e.Message))
	}
	var col []byte
	run := func(b *testing.B, f func()) {
		cpu0 := processCPU()
		for i := 0; i < b.N; i++ {
			f()
		}
		b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N*len(evs)), "cpu-ns/event")
	}
	b.Run("reference", func(b *testing.B) {
		run(b, func() {
			col = referenceMessages(col[:0], evs)
			hasBackslash(evs)
			referenceFinish(gb.scratch[:])
		})
	})
	b.Run("now", func(b *testing.B) {
		run(b, func() {
			col = appendMessages(col[:0], evs)
			columnHasBackslash(col, evs)
			gb.finish(nil)
		})
	})
}
