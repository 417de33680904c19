package metricfilter

import (
	"strings"
	"testing"
)

// FuzzSelector: any metricValue or dimension text parses or is refused,
// never panics, and a parsed JSON selector's path walks any JSON document
// without panicking.
func FuzzSelector(f *testing.F) {
	for _, s := range []string{"1", "2.5", "$.latency", "$.a.b[0]", "$.['odd.key']", `$.a["b"][12].c`, "$size", "$7", "$.", "$[", "$.a[", "$.a[01]", "NaN", "1e400"} {
		f.Add(s, `{"latency":5,"a":{"b":[1,{"c":"x"}]},"odd.key":true}`)
	}
	f.Fuzz(func(t *testing.T, sel, doc string) {
		s, err := parseSelector(sel, true)
		if err != nil {
			return
		}
		if s.kind == selJSON {
			if len(s.path) == 0 || len(s.path) > maxPathSteps {
				t.Fatalf("%q: path %v", sel, s.path)
			}
			c := &compiled{value: s, extract: true, pattern: anyPattern{}}
			c.apply(doc, scopeForFuzz)
		}
		if !strings.HasPrefix(sel, "$") && s.kind != selConstant {
			t.Fatalf("%q: kind %v", sel, s.kind)
		}
	})
}
