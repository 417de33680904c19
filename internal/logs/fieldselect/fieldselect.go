// Package fieldselect is the language of a filter's fieldSelectionCriteria:
// which log events a metric filter (PutMetricFilter) or a subscription
// filter (PutSubscriptionFilter) processes, decided by the events' system
// fields (@aws.account, @aws.region, ...) rather than by their message.
//
// Text enters through Parse when a filter is put, which refuses what the
// language does not hold; the parsed Criteria leaves through Selects, asked
// with the system fields of the events to process.
//
// The model's documentation is the only source for the language: "Uses
// selection criteria syntax with operators like =, !=, AND, OR, IN, NOT IN.
// Example: @aws.region = "us-east-1" or @aws.account IN ["123456789012",
// "987654321098"]. Maximum length: 2000 characters." (the maximum is the
// model's, checked by the model validator). Cairn decides the rest, as the
// account-policy selectionCriteria parser (package logs/accountpolicy) does
// for its own documented forms, and says why here:
//
//   - Values are double-quoted JSON strings, as in the examples; a list is
//     one or more of them in square brackets. An empty list is refused: an
//     IN [] selects nothing and a NOT IN [] is no criteria at all, and the
//     documentation writes neither.
//   - Keywords (AND, OR, NOT, IN) are upper case, as in every example and
//     as the account-policy criteria require.
//   - AND binds tighter than OR, as in SQL and in the Logs Insights
//     language; parentheses group, so an expression can be written either
//     way without relying on precedence.
//   - A field is @aws.account or @aws.region (Fields), the "source account
//     and source region" both operations' documentation says the criteria
//     are based on and name in every example. Any other is refused, since a
//     comparison with it could never be decided: @source.log, which
//     PutSubscriptionFilter may emit, has no documented value to compare.
package fieldselect

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Fields are the system fields criteria may name.
var Fields = []string{"@aws.account", "@aws.region"}

// Group answers the system fields of a Cairn log group's events: every
// event of a group was ingested into it by the group's own account and
// region (Cairn has no cross-account centralization), so they are the
// group's, and a filter's criteria select all of a group's events or none.
func Group(account, region string) func(string) string {
	return func(name string) string {
		switch name {
		case "@aws.account":
			return account
		case "@aws.region":
			return region
		}
		return ""
	}
}

// Criteria is a parsed fieldSelectionCriteria. A nil *Criteria (no
// criteria) selects every event.
type Criteria struct {
	root node
}

type node interface {
	eval(field func(string) string) bool
}

type or struct{ l, r node }
type and struct{ l, r node }

// cond is a comparison of one field with a value or a list of values:
// =/IN when !not, !=/NOT IN when not.
type cond struct {
	field  string
	values []string
	not    bool
}

func (n or) eval(f func(string) string) bool  { return n.l.eval(f) || n.r.eval(f) }
func (n and) eval(f func(string) string) bool { return n.l.eval(f) && n.r.eval(f) }
func (n cond) eval(f func(string) string) bool {
	return slices.Contains(n.values, f(n.field)) != n.not
}

// Selects reports whether an event whose system fields field answers is
// selected.
func (c *Criteria) Selects(field func(name string) string) bool {
	return c == nil || c.root.eval(field)
}

// maxDepth bounds parentheses, so that a hostile text cannot recurse deep
// (2000 characters allow 1000 levels; no real criteria needs more than a few).
const maxDepth = 32

// Parse parses text; "" (or only white space) is no criteria, a nil
// *Criteria. The error's text says what is wrong, for the operation's
// InvalidParameterException.
func Parse(text string) (*Criteria, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	p := &parser{fields: Fields}
	if err := p.lex(text); err != nil {
		return nil, err
	}
	n, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %s", p.toks[p.pos])
	}
	return &Criteria{root: n}, nil
}

type token struct {
	kind byte // 'w' word, 's' string, or the punctuation itself: ( ) [ ] , = !
	text string
}

func (t token) String() string {
	if t.kind == 's' {
		return fmt.Sprintf("string %q", t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

type parser struct {
	fields []string
	toks   []token
	pos    int
}

func (p *parser) lex(s string) error {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case strings.IndexByte("()[],=", c) >= 0:
			p.toks = append(p.toks, token{c, string(c)})
			i++
		case c == '!':
			if i+1 >= len(s) || s[i+1] != '=' {
				return fmt.Errorf("unexpected %q", "!")
			}
			p.toks = append(p.toks, token{'!', "!="})
			i += 2
		case c == '"':
			v, n, err := quoted(s[i:])
			if err != nil {
				return err
			}
			p.toks = append(p.toks, token{'s', v})
			i += n
		case isWord(c):
			j := i
			for j < len(s) && isWord(s[j]) {
				j++
			}
			p.toks = append(p.toks, token{'w', s[i:j]})
			i = j
		default:
			return fmt.Errorf("unexpected %q", string(rune(c)))
		}
	}
	if len(p.toks) == 0 {
		return fmt.Errorf("expected a condition")
	}
	return nil
}

func isWord(c byte) bool {
	return c == '@' || c == '.' || c == '_' || c == '-' || c == ':' || c == '/' ||
		'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// quoted reads the JSON string at the start of s and its length.
func quoted(s string) (string, int, error) {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			var v string
			if err := json.Unmarshal([]byte(s[:i+1]), &v); err != nil {
				return "", 0, fmt.Errorf("invalid string %s", s[:i+1])
			}
			return v, i + 1, nil
		}
	}
	return "", 0, fmt.Errorf("unterminated string")
}

func (p *parser) peek() (token, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return token{}, false
}

func (p *parser) keyword(k string) bool {
	if t, ok := p.peek(); ok && t.kind == 'w' && t.text == k {
		p.pos++
		return true
	}
	return false
}

func (p *parser) or(depth int) (node, error) {
	l, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("OR") {
		r, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		l = or{l, r}
	}
	return l, nil
}

func (p *parser) and(depth int) (node, error) {
	l, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("AND") {
		r, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		l = and{l, r}
	}
	return l, nil
}

func (p *parser) unary(depth int) (node, error) {
	t, ok := p.peek()
	if !ok {
		return nil, fmt.Errorf("expected a condition at the end")
	}
	if t.kind == '(' {
		if depth == maxDepth {
			return nil, fmt.Errorf("parentheses nest deeper than %d", maxDepth)
		}
		p.pos++
		n, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if t, ok := p.peek(); !ok || t.kind != ')' {
			return nil, fmt.Errorf("expected \")\"")
		}
		p.pos++
		return n, nil
	}
	return p.cond()
}

func (p *parser) cond() (node, error) {
	t, _ := p.peek()
	if t.kind != 'w' || !strings.HasPrefix(t.text, "@") {
		return nil, fmt.Errorf("expected a system field, found %s", t)
	}
	if !slices.Contains(p.fields, t.text) {
		return nil, fmt.Errorf("unsupported system field %s; supported fields are %s", t.text, strings.Join(p.fields, ", "))
	}
	p.pos++
	c := cond{field: t.text}
	op, ok := p.peek()
	if !ok {
		return nil, fmt.Errorf("expected =, !=, IN or NOT IN after %s", c.field)
	}
	switch {
	case op.kind == '=' || op.kind == '!':
		p.pos++
		v, ok := p.peek()
		if !ok || v.kind != 's' {
			return nil, fmt.Errorf("expected a double-quoted string after %s %s", c.field, op.text)
		}
		p.pos++
		c.values, c.not = []string{v.text}, op.kind == '!'
		return c, nil
	case p.keyword("NOT"):
		if !p.keyword("IN") {
			return nil, fmt.Errorf("expected IN after NOT")
		}
		c.not = true
	case p.keyword("IN"):
	default:
		return nil, fmt.Errorf("expected =, !=, IN or NOT IN after %s, found %s", c.field, op)
	}
	vs, err := p.list()
	if err != nil {
		return nil, err
	}
	c.values = vs
	return c, nil
}

func (p *parser) list() ([]string, error) {
	if t, ok := p.peek(); !ok || t.kind != '[' {
		return nil, fmt.Errorf("expected a list of double-quoted strings in square brackets")
	}
	p.pos++
	var vs []string
	for {
		t, ok := p.peek()
		if !ok || t.kind != 's' {
			if len(vs) == 0 && ok && t.kind == ']' {
				return nil, fmt.Errorf("the list must not be empty")
			}
			return nil, fmt.Errorf("expected a double-quoted string in the list")
		}
		vs = append(vs, t.text)
		p.pos++
		t, ok = p.peek()
		switch {
		case ok && t.kind == ',':
			p.pos++
		case ok && t.kind == ']':
			p.pos++
			return vs, nil
		default:
			return nil, fmt.Errorf("expected \",\" or \"]\" in the list")
		}
	}
}
