package metricfilter

import "github.com/cairnlog/cairn/internal/store"

var scopeForFuzz = store.Scope{Account: "1", Region: "r"}

// anyPattern matches every message and extracts nothing: the fuzz test
// exercises the selectors, not the pattern language (fuzzed in package
// pattern).
type anyPattern struct{}

func (anyPattern) Match(string) bool                        { return true }
func (anyPattern) Required() []string                       { return nil }
func (anyPattern) RequiredUnlessEscaped() []string          { return nil }
func (anyPattern) MatchesAll() bool                         { return true }
func (anyPattern) Extract(string) (bool, map[string]string) { return true, map[string]string{} }
