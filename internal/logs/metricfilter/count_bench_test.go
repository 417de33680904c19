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

// pipelineSpecs are the filters cairn bench --pipeline puts on every group
// (internal/bench's pipelineMetricFilters and, last, the filter counting
// every event).
var pipelineSpecs = []struct {
	p, v string
	d    map[string]string
}{
	{"ERROR", "1", nil}, {"WARN", "1", nil}, {"timeout", "1", nil},
	{`{ $.level = "error" }`, "1", nil}, {`{ $.latency_ms >= 1000 }`, "1", map[string]string{"Level": "$.level"}},
	{`{ $.latency_ms > 100 }`, "$.latency_ms", nil}, {`{ $.level = "info" }`, "$.latency_ms", map[string]string{"Level": "$.level"}},
	{"[ip, id, user, ts, request, status=5*, bytes, ...]", "$bytes", nil}, {"?ERROR ?FATAL", "1", nil}, {`"cache miss"`, "1", nil},
	{"", "1", nil},
}

// pipelineRun is a loaded group of the pipelineSpecs at the indexes given
// (all of them when none are).
func pipelineRun(tb testing.TB, which ...int) *groupRun {
	tb.Helper()
	compile := func(e string) (logs.Pattern, error) { return pattern.Compile(e) }
	if len(which) == 0 {
		for i := range pipelineSpecs {
			which = append(which, i)
		}
	}
	r := &groupRun{loaded: true, state: groupState{Filters: map[string]*filterCounts{}}}
	var fs []*compiled
	for _, i := range which {
		s := pipelineSpecs[i]
		c, err := compileFilter(compile, MetricFilter{FilterName: fmt.Sprint("f", i), FilterPattern: s.p,
			MetricTransformations: []MetricTransformation{{MetricName: "M", MetricNamespace: "B", MetricValue: s.v, Dimensions: s.d}}})
		if err != nil {
			tb.Fatal(err)
		}
		fs = append(fs, c)
		r.state.Filters[c.name] = &filterCounts{}
	}
	r.setFilters(fs)
	return r
}

// pipelineEvents is a page of 4,096 standard lines (bench.LineGen, seed
// 42) in blocks of 1,000.
func pipelineEvents() []store.StoredEvent {
	g := bench.NewLineGen(42)
	events := make([]store.StoredEvent, 4096)
	for i := range events {
		events[i] = store.StoredEvent{Stream: "s", Timestamp: int64(i), Message: g.Line(), Pos: store.Position{Seq: uint64(1 + i/1000), Index: uint32(i % 1000)}}
	}
	return events
}

// BenchmarkPipelineCountKinds: BenchmarkPipelineCount's CPU split by the
// kind of filter, each kind alone beside the counting filter: the five
// term filters, the four JSON ones, the space-delimited one, the counting
// filter alone; and the floor of any one-pass multi-literal matcher (a
// table lookup per byte of every message, what an Aho-Corasick automaton
// does at the least), against which blockScan's searches were chosen.
func BenchmarkPipelineCountKinds(b *testing.B) {
	events := pipelineEvents()
	for _, kind := range []struct {
		name  string
		which []int
	}{{"terms", []int{0, 1, 2, 8, 9, 10}}, {"json", []int{3, 4, 5, 6, 10}}, {"spaced", []int{7, 10}}, {"counting-only", []int{10}}} {
		r := pipelineRun(b, kind.which...)
		b.Run(kind.name, func(b *testing.B) {
			c := &Counter{}
			k := gkey{scope: scopeForFuzz, group: "g"}
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				if err := c.count(context.Background(), k, r, events); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N*len(events)), "cpu-ns/event")
		})
	}
	b.Run("one-pass-floor", func(b *testing.B) {
		var table [256]uint8
		for _, c := range []byte("EWtFcOAum") {
			table[c] = 1
		}
		n := 0
		cpu0 := processCPU()
		for i := 0; i < b.N; i++ {
			for e := range events {
				m := events[e].Message
				for j := 0; j < len(m); j++ {
					n += int(table[m[j]])
				}
			}
		}
		b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N*len(events)), "cpu-ns/event")
		if n == 0 {
			b.Fatal("no byte of the table seen")
		}
	})
}

// BenchmarkPipelineCount: Counter.count's CPU per event with the
// pipelineSpecs, on pipelineEvents. Run with -cpu 1; the figure is what
// the pipeline benchmark's "10 metric filters" mode adds per event in the
// counter itself.
func BenchmarkPipelineCount(b *testing.B) {
	r := pipelineRun(b)
	events := pipelineEvents()
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
