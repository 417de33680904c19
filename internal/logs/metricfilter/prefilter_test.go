package metricfilter

import (
	"testing"

	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/pattern"
)

// TestPrefilterKeepsMatches: the prefilter (mayMatch) never turns away a
// message its pattern matches: escaped JSON keys and values (the literals a
// backslash may hide), white space before the object, space-delimited
// fields; and it does turn away what cannot match, so it is not a no-op.
func TestPrefilterKeepsMatches(t *testing.T) {
	compile := func(e string) (logs.Pattern, error) { return pattern.Compile(e) }
	cases := []struct {
		pattern, msg string
		match        bool
		rejected     bool // by the prefilter alone
	}{
		{`{ $.level = "error" }`, `{"level":"error"}`, true, false},
		{`{ $.level = "error" }`, " \t\n{\"level\":\"error\"}", true, false},
		{`{ $.level = "error" }`, `{"lev\u0065l":"\u0065rror"}`, true, false},
		{`{ $.level = "error" }`, `{"level":"err\/or"}`, false, false},
		{`{ $.level = "error" }`, `{"level":"info"}`, false, true},
		{`{ $.level = "error" }`, `level error`, false, true},
		{`{ $.latency_ms > 100 }`, `{"latency_ms":101}`, true, false},
		{`{ $.latency_ms > 100 }`, `{"latency":101}`, false, true},
		{`[ip, user, status=5*, bytes]`, `10.0.0.1 bob 503 12`, true, false},
		{`[ip, user, status=5*, bytes]`, `10.0.0.1 bob 404 12`, false, true},
		{`[ip, user, status=5*, bytes]`, `10.0.0.1 bob 404 15`, false, true}, // "5", but at no field's start
		{`[ip, user, status=5*, bytes]`, `10.0.0.1 bob 404 x 5`, false, false},
		{`[ip, user, status=5*, bytes]`, `10.0.0.1 bob "503" 12`, true, false},
		{`[ip, user, status=5*, bytes]`, `10.0.0.1 [bob]503 12`, true, false},
	}
	for _, c := range cases {
		f, err := compileFilter(compile, MetricFilter{FilterName: "f", FilterPattern: c.pattern,
			MetricTransformations: []MetricTransformation{{MetricName: "M", MetricNamespace: "N", MetricValue: "1"}}})
		if err != nil {
			t.Fatal(err)
		}
		ev := eventDoc{msg: c.msg}
		rejected := !f.mayMatch(&ev)
		matched, _, _ := f.applyDoc(&eventDoc{msg: c.msg}, scopeForFuzz, &scratch{})
		if matched != c.match || rejected != c.rejected {
			t.Errorf("%s on %q: matched %v, rejected by the prefilter %v; want %v, %v", c.pattern, c.msg, matched, rejected, c.match, c.rejected)
		}
	}
}

// FuzzPrefilter: whatever the pattern and the message, the prefilter never
// turns away a message the pattern itself matches.
func FuzzPrefilter(f *testing.F) {
	for _, s := range [][2]string{
		{`{ $.level = "error" }`, `{"lev\u0065l":"error"}`}, {`{ $.a.b[0] = "x*" && $.n >= 1e3 }`, `{"a":{"b":["xy"]},"n":2000}`},
		{`[ip, user, status=5*, bytes]`, `1.2.3.4 bob 503 12`}, {`[..., msg="*timeout*"]`, `a b "read timeout"`},
		{`{ $.k NOT EXISTS }`, ` {"j":1}`}, {`{ $.s = %ab+c% }`, `{"s":"abbc"}`},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, expr, msg string) {
		p, err := pattern.Compile(expr)
		if err != nil {
			return
		}
		c, err := compileFilter(func(e string) (logs.Pattern, error) { return pattern.Compile(e) }, MetricFilter{FilterName: "f",
			FilterPattern: expr, MetricTransformations: []MetricTransformation{{MetricName: "M", MetricNamespace: "N", MetricValue: "1"}}})
		if err != nil {
			return
		}
		if p.Match(msg) && !c.mayMatch(&eventDoc{msg: msg}) {
			t.Fatalf("%q matches %q but the prefilter turns it away (required %q, unless escaped %q)", expr, msg, c.req, c.reqEsc)
		}
	})
}
