package pattern

import (
	"errors"
	"testing"
	"unicode/utf8"
)

func addSeeds(f *testing.F, both bool) {
	rows := loadConformance(f)
	for _, r := range rows {
		for _, ev := range r.Events {
			if both {
				f.Add(r.Pattern, ev)
			} else {
				f.Add(r.Pattern)
				break
			}
		}
	}
	extra := []string{
		`{ $.a[*].b = %x{1,3}% && ($.c NOT EXISTS || $.d IS TRUE) }`,
		`{ $.['a.b'] >= -1.5e-3 }`, `[a, ..., b=*x* || b!=4*, ..., c>1]`, `-"x\"y" ?%^a$%`,
		`{ $.a = 1`, `[a,`, `%[a-%`, `"\`, `{ $.*.* = 1 }`, `[]`, `""`,
	}
	for _, p := range extra {
		if both {
			f.Add(p, `{"a":[{"b":"xx"}],"d":true} x "y z" [w]`)
		} else {
			f.Add(p)
		}
	}
}

func FuzzCompile(f *testing.F) {
	addSeeds(f, false)
	f.Fuzz(func(t *testing.T, expr string) {
		p, err := Compile(expr)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile(%q) returned %T, want *SyntaxError", expr, err)
			}
			if se.Pos < 0 || se.Pos > utf8.RuneCountInString(expr) || se.Msg == "" {
				t.Fatalf("Compile(%q) = %+v: bad position or empty message", expr, se)
			}
			return
		}
		if p.String() != expr {
			t.Fatalf("String() = %q, want %q", p.String(), expr)
		}
		for _, msg := range []string{"", expr, "ERROR x 1", `{"a":1,"b":[true,null,"x"]}`} {
			fuzzCheck(t, p, msg)
		}
	})
}

func FuzzMatch(f *testing.F) {
	addSeeds(f, true)
	f.Fuzz(func(t *testing.T, expr, msg string) {
		p, err := Compile(expr)
		if err != nil {
			return
		}
		fuzzCheck(t, p, msg)
	})
}

// fuzzCheck checks the invariants between Match, Extract and Required.
func fuzzCheck(t *testing.T, p *Pattern, msg string) {
	t.Helper()
	m := p.Match(msg)
	ok, vals := p.Extract(msg)
	if m != ok {
		t.Fatalf("%q on %q: Match = %v but Extract = %v", p, msg, m, ok)
	}
	if ok != (vals != nil) {
		t.Fatalf("%q on %q: Extract = %v with values %v", p, msg, ok, vals)
	}
	// ExtractValues' lookups agree with the map Extract builds (Get finds a
	// key by its own comparison, not by building the key).
	var v Values
	if p.ExtractValues(msg, &v) != ok {
		t.Fatalf("%q on %q: ExtractValues disagrees with Extract", p, msg)
	}
	for k, want := range vals {
		if got, found := v.Get(k); !found || got != want {
			t.Fatalf("%q on %q: Get(%q) = %q, %v; Extract has %q", p, msg, k, got, found, want)
		}
	}
	for _, k := range []string{"$0", "$01", "$1", "$2", "$a", "$.a", "$.b", "a", ""} {
		if _, in := vals[k]; !in {
			if got, found := v.Get(k); found {
				t.Fatalf("%q on %q: Get(%q) = %q, not in Extract's %v", p, msg, k, got, vals)
			}
		}
	}
	checkView(t, p, msg, m, &v)
	checkSpacedRef(t, p, msg)
	if p.MatchesAll() && !m {
		t.Fatalf("%q: MatchesAll but not matching %q", p, msg)
	}
	if m {
		checkRequired(t, p, msg)
	}
}
