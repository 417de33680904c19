// Package pattern holds the CloudWatch Logs filter pattern language: the
// patterns of FilterLogEvents, metric filters, subscription filters and Live
// Tail. A pattern is compiled once with Compile and then matched against
// event messages, many times and from many goroutines; a compiled Pattern
// is immutable.
//
// Data enters as the pattern text (Compile) and as event messages (Match,
// Extract). It leaves as a yes/no answer, the values TestMetricFilter
// reports (Extract, or ExtractValues into a reusable Values for a caller
// that extracts from every event, as the metric-filter counter does),
// literals the store can use to skip blocks that cannot match (Required,
// RequiredUnlessEscaped), and, for a bad pattern, a *SyntaxError whose
// text is the InvalidParameterException message. LookupJSON reads one
// scalar of a JSON message at a path, on the raw bytes (a metric filter's
// metricValue or dimension the pattern itself does not test). A View holds
// one message's top-level JSON members and space-delimited fields, parsed
// once and read by every pattern matched against it (MatchView,
// ExtractValuesView, LookupView: a log group's metric filters share one
// per event).
//
// The language has three kinds of pattern, chosen by the first character:
//
//	terms     ERROR -DEBUG ?WARN "exact phrase" %regex%
//	JSON      { $.a.b[0] = "x*" && ($.n >= 1e3 || $.k NOT EXISTS) }
//	spaced    [ip, user, ..., status=4* || status=5*, bytes > 1000]
//
// Terms are case-sensitive substrings; all plain terms must occur, no
// -term may occur, and ?terms are alternatives used only when there is no
// plain term. A JSON pattern matches messages that are JSON objects, testing
// the scalar values its selectors reach. A space-delimited pattern splits a
// message into fields and tests them by position. Regexes, %...%, use AWS's
// restricted syntax and run on Go's RE2 engine; all matching is linear in
// the message size. See the parse functions for the exact grammar and the
// choices made where AWS's documentation is silent.
package pattern

import "unicode/utf8"

// Pattern is a compiled filter pattern. It is safe for concurrent use.
type Pattern struct {
	src    string
	all    bool
	terms  *termPattern
	json   *jsonPattern
	spaced *spacedPattern

	required, requiredEsc []string
	regexes               int // %regex% terms
	regexInsts            int // their RE2 instructions
}

// Compile parses a filter pattern. An invalid pattern returns a *SyntaxError.
func Compile(expr string) (*Pattern, error) {
	if n := utf8.RuneCountInString(expr); n > MaxLength {
		return nil, &SyntaxError{Pos: MaxLength, Msg: "pattern is longer than 1024 characters"}
	}
	p := &Pattern{src: expr}
	c := &compiler{src: expr}
	start := c.skipSpace(0)
	var err error
	switch {
	case start == len(expr):
		p.all = true
		return p, nil
	case expr[start] == '{':
		p.json, err = c.parseJSON(start)
	case expr[start] == '[':
		p.spaced, err = c.parseSpaced(start)
	default:
		p.terms, err = c.parseTerms()
	}
	if err != nil {
		return nil, err
	}
	p.regexes, p.regexInsts = c.regexes, c.insts
	switch {
	case p.terms != nil:
		p.all = p.terms.matchesAll()
		p.required = dedupe(p.terms.required())
	case p.spaced != nil:
		p.all = p.spaced.matchesAll()
		p.required = dedupe(p.spaced.required())
	case p.json != nil:
		p.required, p.requiredEsc = p.json.required()
	}
	return p, nil
}

// HasRegex reports whether the pattern holds a %regex% (AWS's quota of
// such filters per log group counts them).
func (p *Pattern) HasRegex() bool { return p.regexes > 0 }

// RegexCost is the number of RE2 instructions of the pattern's %regex%es
// together, 0 when it has none: what a byte of message can cost them.
//
// Go's regexp has no DFA: on a long text it simulates the program's NFA,
// which costs, per byte, one step of every thread alive, and a program
// keeps up to one thread per instruction alive. So "%.{0,250}z%" (503
// instructions, under MaxRegexProgram) costs ~5 ms per KB (1.3 s on one
// 256 KB message, 2.6 ns per instruction per byte), inherent to the engine
// and linear in the text. RE2's DFA, which would make it a few ns per
// byte, is not in Go's library. A request that matches many bytes
// (FilterLogEvents' scan, TestMetricFilter's samples) bounds its bytes by
// this cost (package logs, RegexWork); see docs/quotas.md.
func (p *Pattern) RegexCost() int { return p.regexInsts }

// String returns the source text of the pattern.
func (p *Pattern) String() string { return p.src }

// MatchesAll reports whether the pattern matches every event: the empty
// pattern, white space, `" "`, and equivalents such as "[...]".
func (p *Pattern) MatchesAll() bool { return p.all }

// IsJSON reports whether p is a JSON pattern ({ ... }).
func (p *Pattern) IsJSON() bool { return p.json != nil }

// IsSpaceDelimited reports whether p is a space-delimited pattern ([ ... ]).
func (p *Pattern) IsSpaceDelimited() bool { return p.spaced != nil }

// HasNamedFields reports whether p is space-delimited with at least one
// named element ([ip, user, ...] has two; [] and [..., ...] none).
func (p *Pattern) HasNamedFields() bool {
	if p.spaced == nil {
		return false
	}
	for _, e := range p.spaced.elems {
		if e.name != "" {
			return true
		}
	}
	return false
}

// Match reports whether message matches the pattern. Term patterns do not
// allocate; JSON patterns allocate only to decode escaped strings they test.
func (p *Pattern) Match(message string) bool {
	switch {
	case p.all:
		return true
	case p.terms != nil:
		return p.terms.match(message)
	case p.json != nil:
		return p.json.match(message, nil)
	default:
		return p.spaced.match(message, nil)
	}
}

// Extract is Match plus the values TestMetricFilter reports in
// MetricFilterMatchRecord.extractedValues. values is nil when ok is false
// and never nil when ok is true.
//
//   - Term patterns extract nothing (an empty map), as in AWS's examples.
//   - Space-delimited patterns report every field: "$name" for named
//     elements, "$N" (1-based position) for the others; see spacedPattern.
//   - JSON patterns report each selector of the pattern, keyed by the
//     selector as written ("$.latency", "$.['cluster.name']"), that reached
//     a scalar: the first value satisfying one of its conditions, else the
//     first scalar reached. Strings are decoded; numbers are their JSON text
//     ("50", "1e-3"); booleans and null are "true", "false", "null". AWS's
//     2014 documentation says extractedValues is empty for anything but
//     space-delimited patterns; we report selectors because a metric
//     filter's metricValue "$.latency" needs exactly these values and the
//     current console shows them. Selectors of NOT EXISTS conditions and
//     selectors that reached only objects or arrays are not reported.
func (p *Pattern) Extract(message string) (ok bool, values map[string]string) {
	var v Values
	if !p.ExtractValues(message, &v) {
		return false, nil
	}
	return true, v.Map()
}

// ExtractValues is Extract into v, which it resets first: the same values,
// without a map, so a caller extracting from many messages (a metric
// filter's counter) reuses v and allocates nothing per message beyond
// decoded escapes. When it returns false v holds nothing, as Extract's map
// is then nil (a JSON pattern records the values it met on the way and may
// fail after; FuzzCompile found Get answering from such a failed match).
func (p *Pattern) ExtractValues(message string, v *Values) bool {
	v.kv = v.kv[:0]
	var ok bool
	switch {
	case p.terms != nil || p.spaced == nil && p.json == nil:
		return p.Match(message)
	case p.json != nil:
		ok = p.json.match(message, v)
	default:
		ok = p.spaced.match(message, v)
	}
	if !ok {
		v.kv = v.kv[:0]
	}
	return ok
}

// Required returns literals that every matching message contains,
// byte for byte. The store uses them to skip blocks whose summary proves a
// literal absent. It returns nil when nothing is required.
func (p *Pattern) Required() []string { return p.required }

// RequiredUnlessEscaped returns literals that every matching message
// contains unless the message contains a backslash. They come from JSON
// patterns, whose keys and strings a message may write with JSON escapes
// (\u0041, \/). Literals in Required are not repeated here.
func (p *Pattern) RequiredUnlessEscaped() []string { return p.requiredEsc }

// RequiredAtFieldStart returns literals that every matching message
// contains at the start of a space-delimited field: an occurrence that is
// at the message's start or follows one of the bytes AtFieldStart lists.
// They come from space-delimited patterns whose element requires its field
// to start with a literal (status=5*, level=ERROR); a caller searching for
// such a literal may skip occurrences elsewhere (the "5" of "12.5ms"). Each
// is also in Required. nil for other patterns.
func (p *Pattern) RequiredAtFieldStart() []string {
	if p.spaced == nil || p.all {
		return nil
	}
	return dedupe(p.spaced.requiredAtStart())
}

// AtFieldStart reports whether an occurrence at msg[k:] is where a
// space-delimited field, or its value, may start: the message's start, or
// after white space (a field's start), '"' or '[' (a quoted or bracketed
// field's value), ']' or '"' (a field following a bracketed or quoted one
// without white space). Every field the split makes, and every value it
// strips, starts at such a place (TestRequiredAtFieldStart, FuzzMatch).
func AtFieldStart(msg string, k int) bool {
	if k == 0 {
		return true
	}
	switch msg[k-1] {
	case ' ', '\t', '"', '[', ']':
		return true
	}
	return false
}

func dedupe(lits []string) []string {
	var out []string
	for _, l := range lits {
		if l == "" {
			continue
		}
		dup := false
		for _, o := range out {
			if o == l {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, l)
		}
	}
	return out
}
