package pattern

import (
	"encoding/json"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
)

// conformanceRow is one row of testdata/conformance.json, the §5.3 table of
// the API reference. Server-level tests load the same file and run it
// through FilterLogEvents and TestMetricFilter.
type conformanceRow struct {
	ID        string              `json:"id"`
	Pattern   string              `json:"pattern"`
	Events    []string            `json:"events"`
	Matches   []bool              `json:"matches"`
	Extracted []map[string]string `json:"extracted"`
}

func loadConformance(tb testing.TB) []conformanceRow {
	tb.Helper()
	data, err := os.ReadFile("testdata/conformance.json")
	if err != nil {
		tb.Fatal(err)
	}
	var rows []conformanceRow
	if err := json.Unmarshal(data, &rows); err != nil {
		tb.Fatal(err)
	}
	return rows
}

func TestConformance(t *testing.T) {
	rows := loadConformance(t)
	if len(rows) < 50 {
		t.Fatalf("only %d conformance rows", len(rows))
	}
	for _, r := range rows {
		if len(r.Events) != len(r.Matches) || len(r.Events) != len(r.Extracted) {
			t.Fatalf("%s: events, matches and extracted differ in length", r.ID)
		}
		p, err := Compile(r.Pattern)
		if err != nil {
			t.Errorf("%s: Compile(%q): %v", r.ID, r.Pattern, err)
			continue
		}
		for i, ev := range r.Events {
			if got := p.Match(ev); got != r.Matches[i] {
				t.Errorf("%s: %q Match(%q) = %v, want %v", r.ID, r.Pattern, ev, got, r.Matches[i])
			}
			ok, vals := p.Extract(ev)
			if ok != r.Matches[i] {
				t.Errorf("%s: %q Extract(%q) ok = %v, want %v", r.ID, r.Pattern, ev, ok, r.Matches[i])
			}
			if want := r.Extracted[i]; !maps.Equal(vals, want) || (want == nil) != (vals == nil) {
				t.Errorf("%s: %q Extract(%q) = %q, want %q", r.ID, r.Pattern, ev, vals, want)
			}
			if ok {
				checkRequired(t, p, ev)
			}
		}
	}
}

// checkRequired fails if msg, which matches p, lacks a required literal.
// containsAtFieldStart is the reference for RequiredAtFieldStart's
// promise: every occurrence of l in msg tried, by strings.Index.
func containsAtFieldStart(msg, l string) bool {
	for off := 0; off <= len(msg); off++ {
		i := strings.Index(msg[off:], l)
		if i < 0 {
			return false
		}
		if AtFieldStart(msg, off+i) {
			return true
		}
		off += i
	}
	return false
}

func checkRequired(tb testing.TB, p *Pattern, msg string) {
	tb.Helper()
	for _, l := range p.Required() {
		if !strings.Contains(msg, l) {
			tb.Errorf("%q matches %q but lacks required literal %q", p, msg, l)
		}
	}
	for _, l := range p.RequiredAtFieldStart() {
		if !containsAtFieldStart(msg, l) {
			tb.Errorf("%q matches %q but lacks literal %q at a field start", p, msg, l)
		}
		if !slices.Contains(p.Required(), l) {
			tb.Errorf("%q: %q is required at a field start but not in Required %q", p, l, p.Required())
		}
	}
	if strings.Contains(msg, `\`) {
		return
	}
	for _, l := range p.RequiredUnlessEscaped() {
		if !strings.Contains(msg, l) {
			tb.Errorf("%q matches %q but lacks required-unless-escaped literal %q", p, msg, l)
		}
	}
}
