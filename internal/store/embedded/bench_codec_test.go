package embedded

import (
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/store"
)

// BenchmarkEncodeBlock: the block codec's CPU per event and bytes per event
// on a 1,000-event batch of the bench's lines, as Append pays it, for the
// encoder options the write path could use (run with -cpu=1).
func BenchmarkEncodeBlock(b *testing.B) {
	gen := bench.NewLineGen(9)
	events := make([]store.Event, 1000)
	for i := range events {
		events[i] = store.Event{Timestamp: int64(1_700_000_000_000 + i), Message: gen.Line()}
	}
	variants := []struct {
		name string
		opts []zstd.EOption
	}{
		{"fastest", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(false)}},
		{"fastest-w1m", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(false), zstd.WithWindowSize(1 << 20)}},
		{"fastest-w1m-lowmem", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(false), zstd.WithWindowSize(1 << 20), zstd.WithLowerEncoderMem(true)}},
		{"fastest-window128k", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(false), zstd.WithWindowSize(128 << 10)}},
		{"fastest-noentropy", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(false), zstd.WithNoEntropyCompression(true)}},
		{"fastest-singlesegment", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(false), zstd.WithSingleSegment(true)}},
		{"default", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderCRC(false)}},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			enc, err := zstd.NewWriter(nil, append(v.opts, zstd.WithEncoderConcurrency(1))...)
			if err != nil {
				b.Fatal(err)
			}
			defer enc.Close()
			var dst, scratch []byte
			b.ResetTimer()
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				dst, scratch = EncodeBlock(dst[:0], scratch, events, enc)
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N*len(events)), "cpu-ns/event")
			b.ReportMetric(float64(len(dst))/float64(len(events)), "B/event")
		})
	}
	b.Run("s2", func(b *testing.B) {
		var dst, scratch []byte
		cpu0 := processCPU()
		for i := 0; i < b.N; i++ {
			dst, scratch = EncodeBlockS2(dst[:0], scratch, events)
		}
		b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N*len(events)), "cpu-ns/event")
		b.ReportMetric(float64(len(dst))/float64(len(events)), "B/event")
	})
}
