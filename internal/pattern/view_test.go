package pattern

import "testing"

// checkView is the differential check of the shared view against the
// per-pattern walk: MatchView and ExtractValuesView give Match's answer
// and, when it matches, ExtractValues' values (same entries, same order), on a fresh view
// and on one reused after another message.
func checkView(t *testing.T, p *Pattern, msg string, m bool, want *Values) {
	t.Helper()
	var view JSONView
	view.Reset(`{"other":[1,{"x":"y"}],"a":0}`)
	view.parse()
	view.Reset(msg)
	if got := p.MatchView(&view); got != m {
		t.Fatalf("%q on %q: MatchView = %v, Match = %v", p, msg, got, m)
	}
	var v Values
	if got := p.ExtractValuesView(&view, &v); got != m {
		t.Fatalf("%q on %q: ExtractValuesView = %v, Match = %v", p, msg, got, m)
	}
	if !m {
		return // values after a failed match are unspecified (Extract reports none)
	}
	if len(v.kv) != len(want.kv) {
		t.Fatalf("%q on %q: ExtractValuesView has %v, ExtractValues %v", p, msg, v.kv, want.kv)
	}
	for i := range v.kv {
		if v.kv[i] != want.kv[i] {
			t.Fatalf("%q on %q: ExtractValuesView has %v, ExtractValues %v", p, msg, v.kv, want.kv)
		}
	}
}

// TestViewAgrees runs checkView on the conformance rows and on
// hand-written messages that stress the view's parse: duplicates, escaped
// keys, nesting at the depth limit, trailing garbage, non-objects.
func TestViewAgrees(t *testing.T) {
	msgs := []string{
		``, ` `, `{}`, ` {} `, `{} x`, `[1]`, `"x"`, `{"a":1,"a":2}`, `{"\u0061":5,"b":"\u0041"}`,
		`{"a":{"b":[{"c":1},{"c":"x"}]},"d":true,"e":null}`, `{"a":1,}`, `{"a" 1}`, `{"a":1 "b":2}`,
		`{"a":[1,2,3],"n":-1.5e3}`, `{"a":tru}`, `{"level":"error","latency":150,"status":503,"path":"/x"}`,
		`{"a":` + deep(MaxJSONDepth-1) + `}`, `{"a":` + deep(MaxJSONDepth) + `}`, `{"a":"\ud800"}`,
	}
	pats := []string{
		`{ $.a = 1 }`, `{ $.a = 2 }`, `{ $.a NOT EXISTS }`, `{ $.* = 5 }`, `{ $.b = "A" }`, `{ $.a.b[1].c = "x" }`,
		`{ $.a[*].b = %x{1,3}% && ($.c NOT EXISTS || $.d IS TRUE) }`, `{ $.e IS NULL }`, `{ $.n < 0 }`,
		`{ $.level = "error" && $.latency > 100 }`, `{ $.status >= 500 || $.path = "/x" }`, `{ $.*.b[0].c = 1 }`,
	}
	for _, r := range loadConformance(t) {
		if _, err := Compile(r.Pattern); err != nil {
			continue
		}
		for _, ev := range r.Events {
			pats = append(pats, r.Pattern)
			msgs = append(msgs, ev)
		}
	}
	for _, ps := range pats {
		p, err := Compile(ps)
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range msgs {
			var v Values
			m := p.ExtractValues(msg, &v)
			if m != p.Match(msg) {
				t.Fatalf("%q on %q: ExtractValues and Match disagree", ps, msg)
			}
			checkView(t, p, msg, m, &v)
		}
	}
}

func deep(n int) string {
	s := "1"
	for i := 0; i < n; i++ {
		s = "[" + s + "]"
	}
	return s
}
