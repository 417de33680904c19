package delivery

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
)

// benchRecord is one record as the pipeline benchmark's followers build it:
// 1,000 of the standard lines (bench.LineGen) of one stream, with 56-digit
// ids that share their leading digits as consecutive events' do.
func benchRecord() *Record {
	g := bench.NewLineGen(42)
	r := &Record{Owner: "000000000000", Group: "/bench/g0", Stream: "s-00", Filters: []string{"to-nats"}}
	for i := 0; i < 1000; i++ {
		id := fmt.Sprintf("3948762211%023d%023d", 1764600000000+int64(i/7), 4200000+i)
		r.Events = append(r.Events, Event{ID: id, Timestamp: 1764600000000 + int64(i/7), Message: g.Line()})
	}
	return r
}

// BenchmarkRecordGzip: the CPU per event of the payload (JSON, then gzip)
// at each deflate level klauspost/compress offers, and the size it costs
// (B/event, and the ratio to the JSON). Run with -cpu 1.
func BenchmarkRecordGzip(b *testing.B) {
	base := benchRecord()
	b.Run("json", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			r := *base
			r.json = nil
			r.JSON()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(base.Events)), "ns/event")
		b.ReportMetric(float64(len(base.JSON()))/float64(len(base.Events)), "B/event")
	})
	for _, lvl := range []int{-3, -2, 0, 1, 2, 5} {
		name := map[int]string{-3: "stateless", -2: "huffman-only", 0: "stored"}[lvl]
		if name == "" {
			name = fmt.Sprint("level-", lvl)
		}
		b.Run(name, func(b *testing.B) {
			pool := &gzipPool{level: lvl}
			base.JSON()
			var n int
			for i := 0; i < b.N; i++ {
				r := *base
				r.gz = nil
				n = len(r.gzip(pool))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(base.Events)), "ns/event")
			b.ReportMetric(float64(n)/float64(len(base.Events)), "B/event")
			b.ReportMetric(float64(n)/float64(len(base.JSON())), "ratio")
		})
	}
	_ = strings.Repeat
}
