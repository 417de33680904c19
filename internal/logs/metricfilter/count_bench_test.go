package metricfilter

import (
	"context"
	"fmt"
	"syscall"
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/store"
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
					f.applyDoc(&ev, scopeForFuzz, &scratch{})
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/event")
	})
}

// BenchmarkPipelineCount: Counter.count's CPU per event with the filters
// cairn bench --pipeline puts on every group (internal/bench's
// pipelineMetricFilters and the filter counting every event), on pages of
// 4,096 standard lines in blocks of 1,000. Run with -cpu 1; the figure is
// what the pipeline benchmark's "10 metric filters" mode adds per event.
func BenchmarkPipelineCount(b *testing.B) {
	compile := func(e string) (logs.Pattern, error) { return pattern.Compile(e) }
	specs := []struct {
		p, v string
		d    map[string]string
	}{
		{"ERROR", "1", nil}, {"WARN", "1", nil}, {"timeout", "1", nil},
		{`{ $.level = "error" }`, "1", nil}, {`{ $.latency_ms >= 1000 }`, "1", map[string]string{"Level": "$.level"}},
		{`{ $.latency_ms > 100 }`, "$.latency_ms", nil}, {`{ $.level = "info" }`, "$.latency_ms", map[string]string{"Level": "$.level"}},
		{"[ip, id, user, ts, request, status=5*, bytes, ...]", "$bytes", nil}, {"?ERROR ?FATAL", "1", nil}, {`"cache miss"`, "1", nil},
		{"", "1", nil},
	}
	r := &groupRun{loaded: true, state: groupState{Filters: map[string]*filterCounts{}}}
	for i, s := range specs {
		c, err := compileFilter(compile, MetricFilter{FilterName: fmt.Sprint("f", i), FilterPattern: s.p,
			MetricTransformations: []MetricTransformation{{MetricName: "M", MetricNamespace: "B", MetricValue: s.v, Dimensions: s.d}}})
		if err != nil {
			b.Fatal(err)
		}
		r.filters = append(r.filters, c)
		r.state.Filters[c.name] = &filterCounts{}
	}
	r.eager = assignLiterals(r.filters)
	g := bench.NewLineGen(42)
	events := make([]store.StoredEvent, 4096)
	for i := range events {
		events[i] = store.StoredEvent{Stream: "s", Timestamp: int64(i), Message: g.Line(), Pos: store.Position{Seq: uint64(1 + i/1000), Index: uint32(i % 1000)}}
	}
	c := &Counter{}
	k := gkey{scope: scopeForFuzz, group: "g"}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		if err := c.count(context.Background(), k, r, events); err != nil {
			b.Fatal(err)
		}
	}
	// CPU time (utime+stime of the process) as well as the wall clock:
	// on a loaded machine the wall clock counts the time others ran.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N*len(events)), "cpu-ns/event")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
	var n float64
	for _, s := range r.state.Filters["f10"].Series {
		n += s.Count
	}
	if n != float64(b.N*len(events)) {
		b.Fatalf("the counting filter counted %v of %d", n, b.N*len(events))
	}
}

// processCPU is the process's user+system CPU time in ns.
func processCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
