package pattern

// Required literals, computed at compile time. The rules keep them sound:
// a literal is listed only if every message that matches contains it.
// Under && the literals of all operands are required; under || only those
// required by every operand.

// litSet is a set of required literals: always holds the ones every
// matching message contains, esc the ones it contains unless it holds a
// backslash.
type litSet struct{ always, esc []string }

func (a litSet) and(b litSet) litSet {
	return litSet{always: union(a.always, b.always), esc: union(a.esc, b.esc)}
}

func (a litSet) or(b litSet) litSet {
	always := intersect(a.always, b.always)
	esc := intersect(union(a.always, a.esc), union(b.always, b.esc))
	return litSet{always: always, esc: minus(esc, always)}
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, s := range b {
		if !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func intersect(a, b []string) []string {
	var out []string
	for _, s := range a {
		if contains(b, s) && !contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}

// jsonSafe reports whether s can appear in a JSON text without escapes;
// only such literals are listed, others would always be escaped.
func jsonSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return s != ""
}

func (p *jsonPattern) required() (always, esc []string) {
	ls := p.requiredOf(p.expr)
	return nilIfEmpty(ls.always), nilIfEmpty(ls.esc)
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func (p *jsonPattern) requiredOf(x *jexpr) litSet {
	switch x.op {
	case '&':
		var ls litSet
		for _, k := range x.kids {
			ls = ls.and(p.requiredOf(k))
		}
		return ls
	case '|':
		ls := p.requiredOf(x.kids[0])
		for _, k := range x.kids[1:] {
			ls = ls.or(p.requiredOf(k))
		}
		return ls
	}
	c := &p.conds[x.cond]
	var ls litSet
	if c.notExists {
		return ls
	}
	// Every condition but NOT EXISTS needs its selector to reach a value,
	// so each named key occurs in the message as "key", unless escaped.
	for _, k := range c.keys {
		if jsonSafe(k) {
			ls.esc = union(ls.esc, []string{`"` + k + `"`})
		}
	}
	switch c.v.kind {
	case rhsNull:
		ls.always = []string{"null"} // JSON null has no other spelling
	case rhsTrue:
		ls.always = []string{"true"}
	case rhsFalse:
		ls.always = []string{"false"}
	case rhsString, rhsRegex:
		// The value's text (decoded string, or raw number or literal)
		// contains the literal; in the raw message it may be escaped.
		if l := c.v.literal(); jsonSafe(l) {
			ls.esc = union(ls.esc, []string{l})
		}
	}
	return ls
}

// required for space-delimited patterns: a field's value is a substring of
// the message (stripping quotes or brackets only drops delimiters), so
// whatever a condition requires of the value, the message contains.
func (sp *spacedPattern) required() []string {
	var out []string
	for _, e := range sp.elems {
		if e.expr != nil {
			out = union(out, e.expr.required())
		}
	}
	return out
}

func (x *spExpr) required() []string {
	switch x.op {
	case '&':
		var out []string
		for _, k := range x.kids {
			out = union(out, k.required())
		}
		return out
	case '|':
		out := x.kids[0].required()
		for _, k := range x.kids[1:] {
			out = intersect(out, k.required())
		}
		return out
	}
	if l := x.c.literal(); l != "" {
		return []string{l}
	}
	return nil
}

// requiredAtStart: literals a field's value (or, for the last element of
// a pattern without "...", the raw rest of the line from the field's
// start) starts with, for every match: an element's = condition on a
// string whose only wildcard is a trailing one (status=5*, level=ERROR).
// A regex, a leading '*', != and numbers require no start.
func (sp *spacedPattern) requiredAtStart() []string {
	var out []string
	for _, e := range sp.elems {
		if e.expr != nil {
			out = union(out, e.expr.requiredAtStart())
		}
	}
	return out
}

func (x *spExpr) requiredAtStart() []string {
	switch x.op {
	case '&':
		var out []string
		for _, k := range x.kids {
			out = union(out, k.requiredAtStart())
		}
		return out
	case '|':
		out := x.kids[0].requiredAtStart()
		for _, k := range x.kids[1:] {
			out = intersect(out, k.requiredAtStart())
		}
		return out
	}
	c := &x.c
	if c.op == opEq && c.kind == rhsString && !c.glob.lead && c.glob.lit != "" {
		return []string{c.glob.lit}
	}
	return nil
}
