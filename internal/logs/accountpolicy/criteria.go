package accountpolicy

import (
	"encoding/json"
	"strings"
)

// Selection is a parsed selectionCriteria: which log groups an account
// policy applies to. The zero Selection (no criteria) selects every group.
type Selection struct {
	// Field is "LogGroupName", "LogGroupNamePrefix", or "" (no criteria, or
	// a data-source selection).
	Field  string
	Not    bool     // NOT IN
	Values []string // the list, in the criteria's order
	// DataSourceName and DataSourceType select by data source (field index
	// policies); such a policy selects no group by name.
	DataSourceName, DataSourceType string
}

// Unscoped reports whether the selection has no criteria.
func (s Selection) Unscoped() bool { return s.Field == "" && s.DataSourceName == "" }

// Selects reports whether the selection applies to the log group name.
func (s Selection) Selects(group string) bool {
	switch {
	case s.DataSourceName != "":
		return false
	case s.Field == "":
		return true
	}
	in := false
	for _, v := range s.Values {
		if s.Field == "LogGroupName" && group == v || s.Field == "LogGroupNamePrefix" && strings.HasPrefix(group, v) {
			in = true
			break
		}
	}
	return in != s.Not
}

// maxCriteriaBytes is selectionCriteria's limit (25 KB, UTF-8 bytes).
const maxCriteriaBytes = 25 * 1024

// parseSelection parses `Field IN [...]`, `Field NOT IN [...]` (Field
// LogGroupName or LogGroupNamePrefix, the values JSON strings) and
// `DataSourceName = "x" AND DataSourceType = "y"`. Keywords are upper case
// in every AWS example and Cairn requires them so; whitespace between
// tokens is free. It returns a reason for the error message when the text
// is not one of these forms.
func parseSelection(text string) (Selection, string) {
	if len(text) > maxCriteriaBytes {
		return Selection{}, "selectionCriteria must be at most 25 KB"
	}
	t := strings.TrimSpace(text)
	if t == "" {
		return Selection{}, ""
	}
	if strings.HasPrefix(t, "DataSourceName") {
		return parseDataSource(t)
	}
	var sel Selection
	var rest string
	var ok bool
	for _, f := range []string{"LogGroupNamePrefix", "LogGroupName"} {
		if rest, ok = strings.CutPrefix(t, f); ok {
			sel.Field = f
			break
		}
	}
	if !ok || rest == "" || !isSpace(rest[0]) {
		return Selection{}, "expected LogGroupName or LogGroupNamePrefix followed by IN or NOT IN and a list of strings"
	}
	rest = strings.TrimLeft(rest, " \t\r\n")
	if r, ok := strings.CutPrefix(rest, "NOT"); ok && r != "" && isSpace(r[0]) {
		sel.Not = true
		rest = strings.TrimLeft(r, " \t\r\n")
	}
	r, ok := strings.CutPrefix(rest, "IN")
	if !ok {
		return Selection{}, "expected IN or NOT IN after " + sel.Field
	}
	r = strings.TrimSpace(r)
	if !strings.HasPrefix(r, "[") || !strings.HasSuffix(r, "]") {
		return Selection{}, "expected a list of strings in square brackets"
	}
	if err := json.Unmarshal([]byte(r), &sel.Values); err != nil {
		return Selection{}, "expected a list of double-quoted strings"
	}
	// "LogGroupName NOT IN []" is the very form the model's documentation
	// gives for SUBSCRIPTION_FILTER_POLICY ("the only supported
	// selectionCriteria filter is LogGroupName NOT IN []"), so an empty NOT IN
	// list is taken: it excludes no group, and the policy applies to all of
	// them. An empty IN list would select none; no documentation writes
	// one, and a policy that applies nowhere is a mistake worth an error.
	if len(sel.Values) == 0 && !sel.Not {
		return Selection{}, "the list must not be empty"
	}
	for _, v := range sel.Values {
		if v == "" {
			return Selection{}, "the list must not contain an empty string"
		}
	}
	return sel, ""
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// parseDataSource parses DataSourceName = "x" AND DataSourceType = "y" (the
// reference marks the exact syntax unverified; this is its recommendation).
func parseDataSource(t string) (Selection, string) {
	const bad = `expected DataSourceName = "name" AND DataSourceType = "type"`
	name, rest, ok := quotedAfter(t, "DataSourceName")
	if !ok {
		return Selection{}, bad
	}
	rest = strings.TrimLeft(rest, " \t\r\n")
	rest, ok = strings.CutPrefix(rest, "AND")
	if !ok {
		return Selection{}, bad
	}
	typ, rest, ok := quotedAfter(strings.TrimLeft(rest, " \t\r\n"), "DataSourceType")
	if !ok || strings.TrimSpace(rest) != "" || name == "" || typ == "" {
		return Selection{}, bad
	}
	return Selection{DataSourceName: name, DataSourceType: typ}, ""
}

// quotedAfter reads `key = "value"` at the start of t.
func quotedAfter(t, key string) (value, rest string, ok bool) {
	r, ok := strings.CutPrefix(t, key)
	if !ok {
		return "", "", false
	}
	r = strings.TrimLeft(r, " \t\r\n")
	r, ok = strings.CutPrefix(r, "=")
	if !ok {
		return "", "", false
	}
	r = strings.TrimLeft(r, " \t\r\n")
	if !strings.HasPrefix(r, `"`) {
		return "", "", false
	}
	dec := json.NewDecoder(strings.NewReader(r))
	if err := dec.Decode(&value); err != nil {
		return "", "", false
	}
	return value, r[dec.InputOffset():], true
}

// overlaps reports whether two prefix lists share a prefix or have one
// prefix of the other ("/aws" and "/aws/lambda"; "my-log" and "my-logging").
func overlaps(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if strings.HasPrefix(x, y) || strings.HasPrefix(y, x) {
				return true
			}
		}
	}
	return false
}
