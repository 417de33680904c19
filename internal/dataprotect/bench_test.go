package dataprotect

import (
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
)

// BenchmarkMask: the managed detectors over the standard benchmark lines
// (bench.LineGen, seed 42), one line per op: each identifier alone and all
// of them, through the single pass, and all of them through the
// per-identifier oracle (oracle/all: what Mask cost before the single pass).
func BenchmarkMask(b *testing.B) {
	gen := bench.NewLineGen(42)
	lines := make([]string, 1000)
	size := 0
	for i := range lines {
		lines[i] = gen.Line()
		size += len(lines[i])
	}
	run := func(b *testing.B, mask func(string) (string, []Detection)) {
		b.SetBytes(int64(size / len(lines)))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			mask(lines[i%len(lines)])
			i++
		}
	}
	all := managedNames[:]
	for _, id := range all {
		b.Run(id, func(b *testing.B) { run(b, Compile(&Policy{Identifiers: []string{id}}).Mask) })
	}
	b.Run("all", func(b *testing.B) { run(b, Compile(&Policy{Identifiers: all}).Mask) })
	// What the ingest stage runs: one buffer and Scratch for a batch of
	// 1,000 lines, no detections (no findings destination).
	b.Run("batch", func(b *testing.B) {
		m := Compile(&Policy{Identifiers: all})
		var sc Scratch
		buf := make([]byte, 0, size)
		run(b, func(msg string) (string, []Detection) {
			if len(buf) > size/2 {
				buf = buf[:0]
			}
			buf, _, _ = m.AppendMasked(buf, &sc, msg, false)
			return "", nil
		})
	})
	b.Run("oracle/all", func(b *testing.B) { run(b, compileOracle(&Policy{Identifiers: all}).Mask) })
}
