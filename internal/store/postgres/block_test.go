package postgres

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand"
	"slices"
	"testing"

	"github.com/cairnlog/cairn/internal/store"
)

// benchEvents is a 1000-event batch of bench-like lines.
func benchEvents() []store.Event {
	rng := rand.New(rand.NewSource(1))
	evs := make([]store.Event, 1000)
	for i := range evs {
		evs[i] = store.Event{Timestamp: int64(i), Message: fmt.Sprintf(`2026-12-01T10:00:%02d.%03dZ INFO [api-%d] GET /v1/items/%d?user=u%d status=200 bytes=%d latency_ms=%d request_id=%x`,
			i%60, i, rng.Intn(8), rng.Intn(100000), rng.Intn(5000), rng.Intn(90000), rng.Intn(900), rng.Int63())}
	}
	return evs
}

// BenchmarkBuildGrams: the gram filter of one 1000-event block (ns/op per
// block; go test -bench BuildGrams -cpu 1).
func BenchmarkBuildGrams(b *testing.B) {
	evs := benchEvents()
	b.ReportAllocs()
	for b.Loop() {
		buildGrams(evs)
	}
}

// TestGramsOfLiteral: every literal taken from a block's messages may
// match the block's filter (no false negative), and the slots eachGram
// gives for a word are those an independent loop over its 4-byte windows
// computes.
func TestGramsOfLiteral(t *testing.T) {
	evs := benchEvents()
	f := buildGrams(evs)
	for _, lit := range []string{"status=200", "latency_ms", "items", "request_id", evs[17].Message[30:50]} {
		if !newGramQuery([]string{lit}).mayContain(f) {
			t.Fatalf("literal %q of the block ruled out", lit)
		}
	}
	var got []uint32
	eachGram("ab_cd9x 12345 é", func(h uint32) { got = append(got, h) })
	var want []uint32
	for _, w := range []string{"ab_c", "b_cd", "_cd9", "cd9x", "\xc3\xa9"} {
		if len(w) < 4 {
			continue // "é" is two bytes: no 4-byte window
		}
		g := uint32(w[0])<<24 | uint32(w[1])<<16 | uint32(w[2])<<8 | uint32(w[3])
		want = append(want, (g*0x9E3779B1)>>(32-scratchLog2))
	}
	// "1234" and "2345" are four digits: not indexed.
	if !slices.Equal(got, want) {
		t.Fatalf("grams %v, want %v", got, want)
	}
}

// gramsByEachGram is the filter built the straightforward way, through
// eachGram (what queries use): the reference buildGrams must equal.
func gramsByEachGram(events []store.Event) []byte {
	scratch := make([]uint64, (1<<scratchLog2)/64)
	for _, e := range events {
		eachGram(e.Message, func(h uint32) { scratch[h>>6] |= 1 << (h & 63) })
	}
	set := 0
	for _, w := range scratch {
		set += bits.OnesCount64(w)
	}
	words := max(1, min(len(scratch), (set*gramBits+63)/64))
	folded := make([]uint64, words)
	for i, w := range scratch {
		folded[i%words] |= w
	}
	out := make([]byte, 0, 8*words)
	for _, w := range folded {
		out = binary.LittleEndian.AppendUint64(out, w)
	}
	return out
}

// TestBuildGramsMatchesEachGram: the inlined builder gives the same filter
// as eachGram's, on bench lines and random bytes (digits, word bytes,
// separators, UTF-8).
func TestBuildGramsMatchesEachGram(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	cases := [][]store.Event{benchEvents()}
	alphabet := "ab9_0123 .:/=é\x80\xffZ"
	for range 200 {
		var evs []store.Event
		for range 1 + rng.Intn(20) {
			b := make([]byte, rng.Intn(60))
			for i := range b {
				b[i] = alphabet[rng.Intn(len(alphabet))]
			}
			evs = append(evs, store.Event{Message: string(b)})
		}
		cases = append(cases, evs)
	}
	for i, evs := range cases {
		if got, want := buildGrams(evs), gramsByEachGram(evs); !slices.Equal(got, want) {
			t.Fatalf("case %d: filters differ", i)
		}
	}
}

// BenchmarkBuildGramsByEachGram is the builder before it was inlined, for
// the ratio in the same run.
func BenchmarkBuildGramsByEachGram(b *testing.B) {
	evs := benchEvents()
	for b.Loop() {
		gramsByEachGram(evs)
	}
}
