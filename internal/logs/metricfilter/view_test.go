package metricfilter

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/pattern"
)

// viewFilters are filters whose JSON patterns, values and dimensions read
// top-level, nested, escaped and duplicated members, beside term and
// space-delimited ones sharing the same events.
func viewFilters(tb testing.TB) []*compiled {
	tb.Helper()
	compile := func(e string) (logs.Pattern, error) { return pattern.Compile(e) }
	specs := []struct {
		p, v string
		d    map[string]string
	}{
		{"ERROR", "1", nil}, {`{ $.level = "error" }`, "1", nil}, {`{ $.latency_ms >= 1000 }`, "1", map[string]string{"Level": "$.level"}},
		{`{ $.latency_ms > 100 }`, "$.latency_ms", nil}, {`{ $.level = "info" }`, "$.latency_ms", map[string]string{"Level": "$.level"}},
		{`{ $.a.b[1].c = "x" }`, "$.n", map[string]string{"B": "$.a.b[0]"}}, {`{ $.* = 5 }`, "$.k", nil},
		{`{ $.k NOT EXISTS }`, "1", map[string]string{"L": "$.level"}}, {`{ $.level = "info" || $.n < 0 }`, "$.n", nil},
		{"[ip, id, user, ts, request, status=5*, bytes, ...]", "$bytes", nil}, {"", "1", nil},
		{"[ip, id, user=bob, ...]", "1", map[string]string{"U": "$user"}}, {"[..., last]", "$last", nil}, {"[a, b]", "1", map[string]string{"B": "$b"}},
	}
	var fs []*compiled
	for i, s := range specs {
		c, err := compileFilter(compile, MetricFilter{FilterName: fmt.Sprint("f", i), FilterPattern: s.p,
			MetricTransformations: []MetricTransformation{{MetricName: "M", MetricNamespace: "N", MetricValue: s.v, Dimensions: s.d}}})
		if err != nil {
			tb.Fatal(err)
		}
		fs = append(fs, c)
	}
	assignLiterals(fs)
	return fs
}

// checkShared applies every filter to msg through one eventDoc holding a
// shared view (as Counter.count does) and alone through apply (each
// filter walking the message itself, the path before the view), and
// fails on any difference.
func checkShared(t *testing.T, fs []*compiled, sc *scratch, msg string) {
	t.Helper()
	sc.view[0].Reset(msg)
	ev := eventDoc{msg: msg, view: &sc.view[0]}
	for _, f := range fs {
		m, dp, ok := f.applyDoc(&ev, scopeForFuzz, sc)
		dims := slices.Clone(dp.dims)
		wm, wdp, wok := f.apply(msg, scopeForFuzz)
		if m != wm || ok != wok || ok && (dp.value != wdp.value || !slices.Equal(dims, wdp.dims)) {
			t.Fatalf("%s on %q: shared view gives %v %v %v %v; alone %v %v %v %v", f.name, msg, m, ok, dp.value, dims, wm, wok, wdp.value, wdp.dims)
		}
	}
}

// TestSharedViewAgrees: the shared view changes no filter's answer, value
// or dimensions, on the pipeline benchmark's lines and on hand-written
// JSON messages (duplicates, escapes, invalid ones, non-objects).
func TestSharedViewAgrees(t *testing.T) {
	fs := viewFilters(t)
	msgs := []string{
		``, `{}`, `{"level":"error"}`, `{"level":"info","latency_ms":150}`, `{"level":"info","latency_ms":150,"level":"error"}`,
		`{"lev\u0065l":"info","latency_ms":"2000"}`, `{"level":"info","latency_ms":1e3,}`, `{"level":"info"} x`,
		`{"a":{"b":["p",{"c":"x"}]},"n":-3,"k":5}`, `{"a":{"b":[{"q":1},{"c":"x"}]},"n":"7","a":{"b":[1]}}`, `[{"level":"info"}]`,
		`{"k":5,"k":6,"n":1}`, `{"n":12,"level":null}`, ` {"level":"info","latency_ms":101} `, `{"level":"info","latency_ms":101`,
		"{\"level\":\"\xff\",\"n\":-1}", `10.0.0.1 7 bob [ts] "GET /" 503 1234 x`,
	}
	g := bench.NewLineGen(42)
	for i := 0; i < 2000; i++ {
		msgs = append(msgs, g.Line())
	}
	var sc scratch
	for _, msg := range msgs {
		checkShared(t, fs, &sc, msg)
	}
}

// FuzzSharedView: the same on any message.
func FuzzSharedView(f *testing.F) {
	for _, s := range []string{`{"level":"info","latency_ms":150,"level":"error"}`, `{"a":{"b":["p",{"c":"x"}]},"n":-3,"k":5}`,
		`{"lev\u0065l":"info","latency_ms":"2000"}`, `10.0.0.1 7 bob [ts] "GET /" 503 1234 x`} {
		f.Add(s)
	}
	fs := viewFilters(f)
	f.Fuzz(func(t *testing.T, msg string) {
		var sc scratch
		checkShared(t, fs, &sc, msg)
	})
}
