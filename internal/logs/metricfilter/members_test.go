package metricfilter

import (
	"fmt"
	"math/rand"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/pattern"
)

// memberFilters are JSON filters sharing top-level members in every way
// the member table must keep apart: the same key compared as a number and
// as a string, by several operators, IS NULL/TRUE/FALSE, NOT EXISTS, globs
// and regexes, && and ||, a key written in brackets (with a dot, with an
// escaped backslash), values and dimensions the pattern extracts
// (recorded) or does not (looked up), a system field dimension; beside
// filters the table does not plan (a nested path, a wildcard, an array
// index, a dimension on a nested member), which share the events.
func memberFilters(tb testing.TB) []*compiled {
	tb.Helper()
	compile := func(e string) (logs.Pattern, error) { return pattern.Compile(e) }
	specs := []struct {
		p, v string
		d    map[string]string
		sys  []string
	}{
		{`{ $.level = "error" }`, "1", nil, nil},
		{`{ $.latency_ms >= 1000 }`, "1", map[string]string{"Level": "$.level"}, nil},
		{`{ $.latency_ms > 100 }`, "$.latency_ms", nil, nil},
		{`{ $.level = "info" }`, "$.latency_ms", map[string]string{"Level": "$.level"}, nil},
		{`{ $.n = 5 }`, "$.n", map[string]string{"K": "$.k"}, nil},
		{`{ $.n != 5 && $.n < 1e3 }`, "$.n", nil, []string{"@aws.account"}},
		{`{ $.n <= -1.5 || $.k = "x*" }`, "2", map[string]string{"N": "$.n"}, nil},
		{`{ $.k = %^[0-9]+$% }`, "$.k", map[string]string{"K": "$.k"}, nil},
		{`{ $.k NOT EXISTS }`, "1", map[string]string{"L": "$.level"}, nil},
		{`{ $.k IS NULL || $.n IS TRUE || $.b IS FALSE }`, "$.k", nil, nil},
		{`{ $.b = true && $.level != "info" }`, "1", map[string]string{"B": "$.b"}, nil},
		{`{ $.['a.b'] = 7 }`, "$.['a.b']", map[string]string{"L": "$.level"}, nil},
		{`{ $.['x\\y'] = "z" }`, "1", map[string]string{"X": `$.['x\\y']`}, nil},
		{`{ $.level = "*o*" && $.latency_ms = 150 }`, "$.latency", map[string]string{"N": "$.n"}, nil},
		{`{ $.n = "12" || $.k = 12 }`, "$.n", map[string]string{"K": "$.k"}, []string{"@aws.region"}},
		{`{ $.level = * }`, "$.level", map[string]string{"A": "$.a", "L": "$.level"}, nil},
		// Not planned: they go through applyDoc on the same events.
		{`{ $.a.b[1].c = "x" }`, "$.n", map[string]string{"B": "$.a.b[0]"}, nil},
		{`{ $.* = 5 }`, "$.k", nil, nil},
		{`{ $.level = "info" }`, "$.a.c", nil, nil},
	}
	var fs []*compiled
	for i, s := range specs {
		c, err := compileFilter(compile, MetricFilter{FilterName: fmt.Sprint("m", i), FilterPattern: s.p, EmitSystemFieldDimensions: s.sys,
			MetricTransformations: []MetricTransformation{{MetricName: "M", MetricNamespace: "N", MetricValue: s.v, Dimensions: s.d}}})
		if err != nil {
			tb.Fatal(s.p, err)
		}
		fs = append(fs, c)
	}
	assignLiterals(fs)
	planMembers(fs)
	return fs
}

// checkMembers applies every filter to msg as Counter.count does (the
// planned ones on the member table, loaded once for the message, the
// others through applyDoc on the shared view) and each alone through
// apply (its pattern's own Match or Extract, no prefilter, the message
// walked by LookupJSON), and fails on any difference. It returns how many
// planned filters the table decided.
func checkMembers(t *testing.T, fs []*compiled, sc *scratch, msg string) int {
	t.Helper()
	sc.view[0].Reset(msg)
	ev := eventDoc{msg: msg, memo: true, view: &sc.view[0]}
	decided := 0
	for _, f := range fs {
		var m, ok, done bool
		var dp datapoint
		if f.members != nil && ev.object() {
			m, dp, ok, done = f.applyMembers(&ev, scopeForFuzz, sc)
		}
		if done {
			decided++
		} else {
			m, dp, ok = f.applyDoc(&ev, scopeForFuzz, sc)
		}
		dims := slices.Clone(dp.dims)
		alone := *f
		alone.pre, alone.preEsc = nil, nil
		wm, wdp, wok := alone.apply(msg, scopeForFuzz)
		if m != wm || ok != wok || ok && (dp.value != wdp.value || !slices.Equal(dims, wdp.dims)) {
			t.Fatalf("%s %s on %q: shared (table %v) gives %v %v %v %q; alone %v %v %v %q", f.name, f.pattern, msg, done, m, ok, dp.value, dims, wm, wok, wdp.value, wdp.dims)
		}
	}
	return decided
}

// randomObject is a JSON object (now and then not valid JSON, not an
// object, or with a key twice or escaped) over the keys memberFilters
// read, with values of every kind: numbers written many ways, numbers as
// strings, strings with escapes and invalid UTF-8, true, false, null,
// nested objects and arrays.
func randomObject(rng *rand.Rand) string {
	keys := []string{"level", "latency_ms", "n", "k", "b", "a", "a.b", `x\\y`, "latency", "other", `lev\u0065l`, `n\"`}
	values := []string{`"info"`, `"error"`, `"warn"`, `""`, `"x1"`, `"xyz"`, `" 12 "`, `"12"`, `"5"`, `"-3"`, `"a\nb"`, `"\u00e9"`, "\"\xff\"",
		`"info\"x"`, `"z"`, `"1e3"`, "5", "12", "-1.5", "-2", "150", "1000", "999.999", "1e3", "1E+2", "-0", "0.0", "123456789012345678901",
		"1e400", "true", "false", "null", `{}`, `{"c":"x"}`, `[1,2]`, `[{"c":"x"},"p"]`, `{"b":[5,{"c":"x"}]}`, strings.Repeat(`"v`, 1) + strings.Repeat("w", 260) + `"`}
	n := rng.Intn(7)
	var b strings.Builder
	if rng.Intn(20) == 0 {
		b.WriteString(" ")
	}
	b.WriteString("{")
	used := map[string]bool{}
	for i := 0; i < n; i++ {
		k := keys[rng.Intn(len(keys))]
		if used[k] && rng.Intn(4) != 0 {
			continue // duplicates, but not too many
		}
		used[k] = true
		if i > 0 {
			b.WriteString([]string{",", ", ", " ,\n"}[rng.Intn(3)])
		}
		b.WriteString(`"` + k + `":` + []string{"", " "}[rng.Intn(2)] + values[rng.Intn(len(values))])
	}
	b.WriteString("}")
	s := b.String()
	switch rng.Intn(40) {
	case 0:
		s = s[:len(s)-1] // truncated
	case 1:
		s += " x" // trailing text
	case 2:
		s = "[" + s + "]"
	}
	return s
}

// TestMembersAgree: the member table gives each filter's answer, value
// and dimensions exactly as the filter alone does, on the pipeline
// benchmark's lines, on hand-written messages and on 20,000 random
// objects; and the table decides most planned filters' events (it is not
// bypassed), and through Counter.count the counts equal the reference's.
func TestMembersAgree(t *testing.T) {
	fs := memberFilters(t)
	planned := 0
	for _, f := range fs {
		if f.members != nil {
			planned++
		}
	}
	if planned != 16 {
		t.Fatalf("%d filters planned, want the first 16", planned)
	}
	msgs := []string{`{}`, `{"level":"error"}`, `{"level":"info","latency_ms":150}`, `{"level":"info","latency_ms":150,"level":"error"}`,
		`{"lev\u0065l":"info","latency_ms":"2000"}`, `{"n":5,"k":"x1"}`, `{"n":-2,"k":null}`, `{"n":"12","k":12,"b":false}`,
		`{"a.b":7,"level":"warn"}`, `{"x\\y":"z"}`, `{"b":true,"level":"\u00e9"}`, "{\"b\":true,\"level\":\"\xff\"}",
		`{"latency_ms":1e400}`, `{"n":123456789012345678901,"k":"123"}`, `{"level":null,"latency_ms":"150"}`, ` {"n":5} `, `{"n":5`, `[{"n":5}]`}
	g := bench.NewLineGen(42)
	for i := 0; i < 4000; i++ {
		msgs = append(msgs, g.Line())
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		msgs = append(msgs, randomObject(rng))
	}
	var sc scratch
	decided, objects := 0, 0
	for _, msg := range msgs {
		decided += checkMembers(t, fs, &sc, msg)
		if strings.HasPrefix(strings.TrimSpace(msg), "{") {
			objects++
		}
	}
	t.Logf("the table decided %d of %d planned filters' objects", decided, objects*planned)
	if decided < objects*planned/2 {
		t.Fatalf("the table decided %d of %d planned filters' objects", decided, objects*planned)
	}
	checkGroupCount(t, fs, groupEvents(msgs, []int{1, 7, 1000, 3}), 4096)
	// The pipeline benchmark's four JSON filters, planned, beside the others.
	r := pipelineRun(t)
	n := 0
	for _, f := range r.filters {
		if f.members != nil {
			n++
		}
	}
	if n != 4 {
		t.Fatalf("%d of the pipeline's filters planned, want its 4 JSON ones", n)
	}
	checkGroupCount(t, r.filters, groupEvents(msgs, []int{1000}), 4096)
}

// FuzzMembers: the same for any messages (one a line), and for any
// object built from the fuzzer's seed by randomObject.
func FuzzMembers(f *testing.F) {
	f.Add(`{"level":"info","latency_ms":150,"level":"error"}`+"\n"+`{"n":"12","k":12,"b":false}`, int64(1))
	f.Add(`{"x\\y":"z","a.b":7}`+"\n"+`{"lev\u0065l":"info"}`, int64(2))
	f.Add(`{"n":-1.5e0,"k":null}`, int64(3))
	fs := memberFilters(f)
	f.Fuzz(func(t *testing.T, text string, seed int64) {
		var sc scratch
		msgs := strings.Split(text, "\n")
		rng := rand.New(rand.NewSource(seed))
		msgs = append(msgs, randomObject(rng), strconv.Quote(text))
		for _, msg := range msgs {
			checkMembers(t, fs, &sc, msg)
		}
	})
}
