package pattern

import (
	"slices"
	"strconv"
	"testing"
)

// checkView is the differential check of the shared view against the
// per-pattern walk: MatchView and ExtractValuesView give Match's answer
// and, when it matches, ExtractValues' values (same entries, same order), on a fresh view
// and on one reused after another message.
func checkView(t *testing.T, p *Pattern, msg string, m bool, want *Values) {
	t.Helper()
	var view View
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
		if len(v.kv) != 0 {
			t.Fatalf("%q on %q: no match, but ExtractValuesView holds %v (Extract reports none)", p, msg, v.kv)
		}
		return
	}
	checkHeadField(t, p, msg, want)
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
		`a b c`, `a  "b c" [d e] f`, "a\tb\t", `1 2 3 4 5 6 7 8`, `"unterminated x y`, `[unterminated x`, `10.0.0.1 7 bob [ts] "GET /" 503 1234 x`,
		`{"a":` + deep(MaxJSONDepth-1) + `}`, `{"a":` + deep(MaxJSONDepth) + `}`, `{"a":"\ud800"}`,
	}
	pats := []string{
		`{ $.a = 1 }`, `{ $.a = 2 }`, `{ $.a NOT EXISTS }`, `{ $.* = 5 }`, `{ $.b = "A" }`, `{ $.a.b[1].c = "x" }`,
		`{ $.a[*].b = %x{1,3}% && ($.c NOT EXISTS || $.d IS TRUE) }`, `{ $.e IS NULL }`, `{ $.n < 0 }`,
		`{ $.level = "error" && $.latency > 100 }`, `{ $.status >= 500 || $.path = "/x" }`, `{ $.*.b[0].c = 1 }`,
		`[a, b, ...]`, `[a, b=1*, c]`, `[..., x]`, `[a, ..., b, ..., c]`, `[]`, `[a, b]`, `[ip, id, user, ts, request, status=5*, bytes, ...]`,
		`[a, , ...]`, `[, b, , ...]`, `[a, b, a, ...]`, `[, , , , , , bytes, ...]`,
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

// TestViewShared: one view per message read by every pattern in turn, in
// both orders (a pattern resuming a split another began, one reading a
// longer split than it needs), gives each pattern's own answers.
func TestViewShared(t *testing.T) {
	var pats []*Pattern
	for _, ps := range []string{`[a, b, ...]`, `[a, b=1*, c]`, `[..., x]`, `[a, ..., b, ..., c]`, `[]`, `[a, b]`, `[a]`,
		`[ip, id, user, ts, request, status=5*, bytes, ...]`, `{ $.a = 1 }`, `{ $.* = 5 }`, `ERROR`, ``} {
		p, err := Compile(ps)
		if err != nil {
			t.Fatal(err)
		}
		pats = append(pats, p)
	}
	msgs := []string{``, `a`, `a b`, `a 1b c`, `a 1b c d e`, `a  "b c" [d e] f`, "a\tb\t", `1 2 3 4 5 6 7 8 9 10`,
		`10.0.0.1 7 bob [ts] "GET /" 503 1234 x`, `{"a":1}`, `"unterminated x y`, `ERROR x`}
	for _, msg := range msgs {
		for _, order := range [][]int{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}, {4, 6, 0, 3, 7, 1, 5, 2}} {
			var view View
			view.Reset(msg)
			for n, i := range order {
				p := pats[i]
				var want, got Values
				m := p.ExtractValues(msg, &want)
				if n%2 == 0 {
					if g := p.MatchView(&view); g != m {
						t.Fatalf("%q on %q (order %v): MatchView %v, Match %v", p, msg, order, g, m)
					}
				}
				if g := p.ExtractValuesView(&view, &got); g != m || m && !slices.Equal(got.kv, want.kv) {
					t.Fatalf("%q on %q (order %v): ExtractValuesView %v %v, ExtractValues %v %v", p, msg, order, g, got.kv, m, want.kv)
				}
			}
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

// checkHeadField: for a pattern that matched msg, each key HeadField
// resolves reads, through FieldValue on a view MatchView matched, the
// value ExtractValues recorded under it. The keys are every element's
// name and the positions 1 to k+2, and their digit forms with a leading
// zero.
func checkHeadField(t *testing.T, p *Pattern, msg string, want *Values) {
	t.Helper()
	var keys []string
	if sp := p.spaced; sp != nil {
		for _, e := range sp.elems {
			keys = append(keys, "$"+e.name)
		}
		for i := 0; i <= len(sp.elems)+2; i++ {
			keys = append(keys, "$"+strconv.Itoa(i), "$0"+strconv.Itoa(i))
		}
	}
	for _, k := range keys {
		i, ok := p.HeadField(k)
		if !ok {
			continue
		}
		var view View
		view.Reset(msg)
		if !p.MatchView(&view) {
			t.Fatalf("%q on %q: MatchView false for a matching message", p, msg)
		}
		w, found := want.Get(k)
		if got := view.FieldValue(i); !found || got != w {
			t.Fatalf("%q on %q: HeadField(%q) = %d, FieldValue %q; ExtractValues has %q, %v", p, msg, k, i, got, w, found)
		}
	}
}
