package embedded

import (
	"math/rand"
	"slices"
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
)

// referenceGrams sets the filter bits of msg as grams.go defines them, from
// the definition and nothing else: split msg into maximal runs of word bytes
// (letters, digits, '_', bytes >= 0x80), take every 4 contiguous bytes of a
// run, drop those made only of digits.
func referenceGrams(scratch []uint64, msg []byte) {
	isWord := func(c byte) bool {
		return c >= 0x80 || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
	}
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	for i := 0; i < len(msg); {
		if !isWord(msg[i]) {
			i++
			continue
		}
		j := i
		for j < len(msg) && isWord(msg[j]) {
			j++
		}
		for k := i; k+4 <= j; k++ {
			w := msg[k : k+4]
			if isDigit(w[0]) && isDigit(w[1]) && isDigit(w[2]) && isDigit(w[3]) {
				continue
			}
			g := uint32(w[0])<<24 | uint32(w[1])<<16 | uint32(w[2])<<8 | uint32(w[3])
			h := (g * 0x9E3779B1) >> (32 - scratchLog2)
			scratch[h>>6] |= 1 << (h & 63)
		}
		i = j
	}
}

// TestGramBuilderMatchesDefinition: the builder's bits are the definition's,
// bit for bit, on random bytes (every class boundary) and on the bench's
// lines: filters written before and after any rewrite of the loop must
// answer queries alike.
func TestGramBuilderMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	alphabet := []byte("aZ_09 -.:\\\"{}\xc3\xa9\x80\xff\x00\n")
	gb := newGramBuilder()
	want := make([]uint64, len(gb.scratch))
	check := func(msgs [][]byte) {
		t.Helper()
		gb.reset()
		clear(want)
		for _, m := range msgs {
			gb.add(m)
			referenceGrams(want, m)
		}
		if !slices.Equal(gb.scratch[:], want) {
			t.Fatalf("bits differ from the definition for %q", msgs)
		}
	}
	for trial := 0; trial < 2000; trial++ {
		var msgs [][]byte
		for i := 0; i < 1+rng.Intn(8); i++ {
			b := make([]byte, rng.Intn(70))
			for j := range b {
				if rng.Intn(4) == 0 {
					b[j] = byte(rng.Intn(256))
				} else {
					b[j] = alphabet[rng.Intn(len(alphabet))]
				}
			}
			msgs = append(msgs, b)
		}
		check(msgs)
	}
	gen := bench.NewLineGen(5)
	var lines [][]byte
	for i := 0; i < 2000; i++ {
		lines = append(lines, []byte(gen.Line()))
	}
	check(lines)
}

// BenchmarkGramAdd: the filter's cost per event of the bench's lines, as
// Append pays it (run with -cpu=1).
func BenchmarkGramAdd(b *testing.B) {
	gen := bench.NewLineGen(9)
	lines := make([][]byte, 1000)
	var raw int
	for i := range lines {
		lines[i] = []byte(gen.Line())
		raw += len(lines[i])
	}
	gb := newGramBuilder()
	b.SetBytes(int64(raw))
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		gb.reset()
		for _, l := range lines {
			gb.add(l)
		}
		gb.finish(nil)
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N*len(lines)), "cpu-ns/event")
}

// BenchmarkGramAddByteLoop is BenchmarkGramAdd through the byte loop only
// (what add was before it went eight bytes at a time).
func BenchmarkGramAddByteLoop(b *testing.B) {
	gen := bench.NewLineGen(9)
	lines := make([][]byte, 1000)
	for i := range lines {
		lines[i] = []byte(gen.Line())
	}
	gb := newGramBuilder()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		gb.reset()
		for _, l := range lines {
			gb.addTail(l, 0)
		}
		gb.finish(nil)
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N*len(lines)), "cpu-ns/event")
}
