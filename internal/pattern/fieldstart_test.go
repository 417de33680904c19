package pattern

import (
	"slices"
	"testing"
)

// TestRequiredAtFieldStart: the literals a space-delimited pattern needs at
// a field start, and that every match has one there (quoted, bracketed,
// after a bracketed or quoted field with no space, after a tab, the last
// element's raw rest of the line, the message's start), while an
// occurrence inside a field is no field start.
func TestRequiredAtFieldStart(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []string
	}{
		{`[ip, user, status=5*, bytes]`, []string{"5"}},
		{`[ip, id, user, ts, request, status=5*, bytes, ...]`, []string{"5"}},
		{`[level=ERROR, ...]`, []string{"ERROR"}},
		{`[a, b="x y*"]`, []string{"x y"}},
		{`[a=4* || a=5*, b]`, nil},
		{`[a=5* || a=50*, b]`, nil}, // as Required: literals intersect whole
		{`[a=5* && a!=50*, b=x*]`, []string{"5", "x"}},
		{`[a=*5, b]`, nil},
		{`[a!=5*, b]`, nil},
		{`[a=%^5%, b]`, nil},
		{`[a>=500, b]`, nil},
		{`[...]`, nil},
		{`ERROR`, nil},
		{`{ $.a = "5*" }`, nil},
	} {
		p, err := Compile(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.RequiredAtFieldStart(); !slices.Equal(got, c.want) {
			t.Errorf("%s: RequiredAtFieldStart = %q, want %q", c.expr, got, c.want)
		}
	}
	for _, c := range []struct {
		expr, msg string
		match     bool
	}{
		{`[a, b=5*, c]`, `x 503 y`, true},
		{`[a, b=5*, c]`, `x "503" y`, true},
		{`[a, b=5*, c]`, `x [503] y`, true},
		{`[a, b=5*, c]`, `[x]503 y`, true},
		{`[a, b=5*, c]`, `"x"503 y`, true},
		{`[a, b=5*, c]`, "x\t503\ty", true},
		{`[a, b=5*]`, `x 5 and more`, true},
		{`[b=5*, c]`, `503 y`, true},
		{`[a, b=5*, c]`, `x 15 y5`, false},
	} {
		p, err := Compile(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		if m := p.Match(c.msg); m != c.match {
			t.Errorf("%s on %q: Match = %v, want %v", c.expr, c.msg, m, c.match)
		}
		if c.match {
			checkRequired(t, p, c.msg)
		}
		if !c.match && containsAtFieldStart(c.msg, "5") {
			t.Errorf("%q: a 5 inside a field is taken for a field start", c.msg)
		}
	}
}
