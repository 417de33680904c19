package pattern

import "testing"

// TestRegexCost: the RE2 instructions of a pattern's regexes together, in
// every kind of pattern; 0 without a regex.
func TestRegexCost(t *testing.T) {
	f := func(expr string, want int) {
		t.Helper()
		if got := mustCompile(t, expr).RegexCost(); got != want {
			t.Fatalf("%s: RegexCost %d, want %d", expr, got, want)
		}
	}
	f(`ERROR`, 0)
	f(`{ $.a = "x*" }`, 0)
	f(`%.{0,250}z%`, 503)
	f(`%.{0,250}z% -%.{0,250}z%`, 1006)
	f(`{ $.a = %.{0,250}z% }`, 503)
	f(`[a = %.{0,250}z%, b]`, 503)
	f(`%ab%`, ProgramSize("ab"))
}
