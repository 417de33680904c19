package pattern

import (
	"strings"
	"testing"
)

// decideTerms is Match decided from LiteralTerms by strings.Contains, as
// the metric-filter counter decides it from its literal table.
func decideTerms(must, not, any []string, msg string) bool {
	for _, l := range must {
		if !strings.Contains(msg, l) {
			return false
		}
	}
	for _, l := range not {
		if strings.Contains(msg, l) {
			return false
		}
	}
	if len(any) == 0 {
		return true
	}
	for _, l := range any {
		if strings.Contains(msg, l) {
			return true
		}
	}
	return false
}

// TestLiteralTerms: a literal-only term pattern is decided by its
// literals exactly as Match decides it; a regex, JSON or space-delimited
// pattern is not offered.
func TestLiteralTerms(t *testing.T) {
	msgs := []string{``, `ERROR x`, `FATAL`, `WARN DEBUG`, `a.b user@example.com`, `user login ok`, `ERROR DEBUG FATAL`}
	for _, expr := range []string{`ERROR`, `?ERROR ?FATAL`, `ERROR -DEBUG`, `?ERROR ?WARN -DEBUG`, `"user login"`, `-" "`, `?"" ?x`,
		`a.b`, `ERROR ?FATAL`, `" "`, `-DEBUG`} {
		p, err := Compile(expr)
		if err != nil {
			t.Fatal(expr, err)
		}
		must, not, any, ok := p.LiteralTerms()
		if !ok {
			t.Fatalf("%q: not offered", expr)
		}
		for _, m := range msgs {
			if got, want := decideTerms(must, not, any, m), p.Match(m); got != want {
				t.Errorf("%q on %q: decided %v, Match %v", expr, m, got, want)
			}
		}
	}
	for _, expr := range []string{`%ERR.R%`, `ERROR -%DEB.G%`, `{ $.a = 1 }`, `[a, b]`} {
		p, err := Compile(expr)
		if err != nil {
			t.Fatal(expr, err)
		}
		if _, _, _, ok := p.LiteralTerms(); ok {
			t.Errorf("%q: offered as literal terms", expr)
		}
	}
}

// FuzzLiteralTerms: the same for any pattern and message.
func FuzzLiteralTerms(f *testing.F) {
	addSeeds(f, true)
	f.Fuzz(func(t *testing.T, expr, msg string) {
		p, err := Compile(expr)
		if err != nil {
			return
		}
		if must, not, any, ok := p.LiteralTerms(); ok && decideTerms(must, not, any, msg) != p.Match(msg) {
			t.Fatalf("%q on %q: decided %v, Match %v", expr, msg, !p.Match(msg), p.Match(msg))
		}
	})
}
