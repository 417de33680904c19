package dataprotect

import (
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
)

// BenchmarkMask: every managed detector over the standard benchmark lines
// (bench.LineGen, seed 42), one line per op; per detector as sub-benchmarks.
func BenchmarkMask(b *testing.B) {
	gen := bench.NewLineGen(42)
	lines := make([]string, 1000)
	size := 0
	for i := range lines {
		lines[i] = gen.Line()
		size += len(lines[i])
	}
	run := func(b *testing.B, ids ...string) {
		m := Compile(&Policy{Identifiers: ids})
		b.SetBytes(int64(size / len(lines)))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			m.Mask(lines[i%len(lines)])
			i++
		}
	}
	var all []string
	for id := range detectors {
		all = append(all, id)
		b.Run(id, func(b *testing.B) { run(b, id) })
	}
	b.Run("all", func(b *testing.B) { run(b, all...) })
}
