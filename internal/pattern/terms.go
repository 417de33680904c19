package pattern

import (
	"regexp"
	"strings"
)

// term is one literal or regex of an unstructured pattern.
type term struct {
	lit string
	re  *regexp.Regexp // nil for a literal
}

func (t *term) in(msg string) bool {
	if t.re != nil {
		return t.re.MatchString(msg)
	}
	return strings.Contains(msg, t.lit)
}

// termPattern matches unstructured text: every plain term must occur, no
// excluded term may occur, and, when there are no plain terms, at least one
// ?-alternative must occur.
type termPattern struct {
	must []term
	not  []term
	any  []term
}

// parseTerms parses the whole source as a list of terms.
//
// Words should be [A-Za-z0-9_]+ and anything else quoted. AWS documents the
// rule but not what happens when it is broken; we are lenient and take an
// unquoted run such as a.b or user@example.com up to the next space as a
// literal term, because rejecting patterns AWS may accept would break
// clients while the lenient reading is what the writer meant.
//
// A quoted phrase that is empty or only white space (AWS documents `" "`)
// is the empty literal, which every message contains: as a plain term it
// drops out, as -" " it excludes everything.
//
// ?-alternatives are ignored when a plain term is present (AWS documents
// this for `?ERROR ?ARGUMENTS REQUEST`). Exclusions do not count as plain
// terms here: `?ERROR ?WARN -DEBUG` keeps its alternatives, since ignoring
// them would turn the pattern into "everything but DEBUG", which no writer
// of it wants.
func (c *compiler) parseTerms() (*termPattern, error) {
	tp := &termPattern{}
	plain := false
	s := c.src
	i := c.skipSpace(0)
	for i < len(s) {
		prefix := byte(0)
		if (s[i] == '-' || s[i] == '?') && i+1 < len(s) && !isSpace(s[i+1]) {
			prefix = s[i]
			i++
		}
		var t term
		switch s[i] {
		case '"':
			lit, n, err := c.quoted(i)
			if err != nil {
				return nil, err
			}
			if strings.TrimSpace(lit) == "" {
				lit = ""
			}
			t.lit, i = lit, n
		case '%':
			re, n, err := c.regex(i)
			if err != nil {
				return nil, err
			}
			t.re, i = re, n
		default:
			j := i
			for j < len(s) && !isSpace(s[j]) {
				j++
			}
			t.lit, i = s[i:j], j
		}
		if i < len(s) && !isSpace(s[i]) {
			return nil, c.errf(i, "unexpected %s after a term, terms are separated by spaces", describe(s, i))
		}
		switch prefix {
		case '-':
			tp.not = append(tp.not, t)
		case '?':
			tp.any = append(tp.any, t)
		default:
			plain = true
			if t.re != nil || t.lit != "" {
				tp.must = append(tp.must, t)
			}
		}
		i = c.skipSpace(i)
	}
	if plain {
		tp.any = nil
	}
	return tp, nil
}

func (tp *termPattern) match(msg string) bool {
	for i := range tp.must {
		if !tp.must[i].in(msg) {
			return false
		}
	}
	for i := range tp.not {
		if tp.not[i].in(msg) {
			return false
		}
	}
	if len(tp.any) == 0 {
		return true
	}
	for i := range tp.any {
		if tp.any[i].in(msg) {
			return true
		}
	}
	return false
}

// matchesAll reports whether match is true for every message.
func (tp *termPattern) matchesAll() bool {
	if len(tp.must) > 0 || len(tp.not) > 0 {
		return false
	}
	if len(tp.any) == 0 {
		return true
	}
	for _, t := range tp.any {
		if t.re == nil && t.lit == "" {
			return true
		}
	}
	return false
}

func (tp *termPattern) required() []string {
	var out []string
	for _, t := range tp.must {
		if t.re != nil {
			if p, _ := t.re.LiteralPrefix(); p != "" {
				out = append(out, p)
			}
			continue
		}
		out = append(out, t.lit)
	}
	return out
}

// LiteralTerms returns the terms of a term pattern made of literals only
// (no %regex%): Match is then true exactly when every must literal occurs
// in the message, no not literal does, and any is empty or one of its
// literals occurs (the empty literal occurs in every message). ok is false
// for JSON and space-delimited patterns and for term patterns with a
// regex. A caller testing many patterns against one message (a log
// group's metric filters) looks for each distinct literal once and
// decides these patterns from the answers.
func (p *Pattern) LiteralTerms() (must, not, any []string, ok bool) {
	if p.terms == nil {
		return nil, nil, nil, false
	}
	lits := func(ts []term) ([]string, bool) {
		var out []string
		for _, t := range ts {
			if t.re != nil {
				return nil, false
			}
			out = append(out, t.lit)
		}
		return out, true
	}
	var okm, okn, oka bool
	must, okm = lits(p.terms.must)
	not, okn = lits(p.terms.not)
	any, oka = lits(p.terms.any)
	if !okm || !okn || !oka {
		return nil, nil, nil, false
	}
	return must, not, any, true
}
