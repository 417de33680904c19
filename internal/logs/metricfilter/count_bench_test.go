package metricfilter

import (
	"fmt"
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/pattern"
)

// BenchmarkCountTenFilters: the counting CPU of BenchmarkIngestWithMetricFilters'
// ten filters, per event, on the standard lines (bench.LineGen, seed 42) plus
// that benchmark's JSON lines. "per-filter" decodes an event's JSON once per
// filter that needs it (the counter before the shared decode: apply builds a
// fresh eventDoc per call); "shared" decodes it at most once per event, as
// Counter.count does.
func BenchmarkCountTenFilters(b *testing.B) {
	compile := func(e string) (logs.Pattern, error) { return pattern.Compile(e) }
	type spec struct {
		p, v string
		d    map[string]string
	}
	specs := []spec{{"ERROR", "1", nil}, {"WARN", "1", nil}, {"timeout", "1", nil},
		{`{ $.level = "error" }`, "1", nil}, {`{ $.status >= 500 }`, "1", map[string]string{"Path": "$.path"}},
		{`{ $.latency > 100 }`, "$.latency", nil}, {`{ $.level = "info" }`, "$.latency", map[string]string{"Level": "$.level"}},
		{"[ip, user, status=5*, bytes]", "$bytes", nil}, {"?ERROR ?FATAL", "1", nil}, {`"user login"`, "1", nil}}
	var fs []*compiled
	for i, s := range specs {
		c, err := compileFilter(compile, MetricFilter{FilterName: fmt.Sprint("f", i), FilterPattern: s.p,
			MetricTransformations: []MetricTransformation{{MetricName: "M", MetricNamespace: "B", MetricValue: s.v, Dimensions: s.d}}})
		if err != nil {
			b.Fatal(err)
		}
		fs = append(fs, c)
	}
	g := bench.NewLineGen(42)
	lines := make([]string, 0, 1000)
	for i := 0; i < 800; i++ {
		lines = append(lines, g.Line())
	}
	for i := 0; i < 200; i++ {
		lines = append(lines, fmt.Sprintf(`{"level":"%s","status":%d,"path":"/api/v1/items/%d","latency":%d,"user":"u%d"}`,
			[]string{"info", "error"}[i%2], 200+303*(i%2), i, 40+i, i))
	}
	b.Run("per-filter", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, l := range lines {
				for _, f := range fs {
					f.apply(l, scopeForFuzz)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/event")
	})
	b.Run("shared", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, l := range lines {
				ev := eventDoc{msg: l}
				for _, f := range fs {
					f.applyDoc(&ev, scopeForFuzz)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/event")
	})
}
