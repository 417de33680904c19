package cwli

import "strings"

// msgMatcher is the part of the query's first filters that reads only
// @message, as a store.Matcher. It is a necessary condition: events it
// rejects cannot pass the query's filters. Safe for concurrent use (the
// store calls Match from its decode workers).
type msgMatcher struct {
	root mnode
	req  []string
	esc  []string
}

type mnode struct {
	op   byte // 'l' like, '&', '|', '!', 't' true (unknown), 'j' a JSON field's literal
	m    *textMatcher
	kids []mnode
	lit  finder // 'j': the literal
}

func (m *msgMatcher) Match(msg string) bool           { return m.root.match(msg) }
func (m *msgMatcher) Required() []string              { return m.req }
func (m *msgMatcher) RequiredUnlessEscaped() []string { return m.esc }

// Literal implements store.LiteralMatcher: the matcher is one
// case-sensitive substring test (like "ERROR", or a regex that is a plain
// literal, like /ERROR/).
func (m *msgMatcher) Literal() (string, bool) {
	if m.root.op != 'l' || m.root.m == nil {
		return "", false
	}
	t := m.root.m
	switch {
	case t.isSub:
		return t.sub, true
	case t.lit != "" && !t.fold:
		return t.lit, true
	}
	return "", false
}

func (n *mnode) match(s string) bool {
	switch n.op {
	case 'l':
		return n.m.match(s)
	case '&':
		return n.kids[0].match(s) && n.kids[1].match(s)
	case '|':
		return n.kids[0].match(s) || n.kids[1].match(s)
	case '!':
		return !n.kids[0].match(s)
	case 'j':
		// a JSON field equal to the literal, or present: only a message
		// that is a JSON object has JSON fields (env.extract), and its text
		// holds the literal, unless the JSON escaped some of its
		// characters. Most lines of a mixed group are not JSON: they are
		// ruled out at their first byte.
		if i := skipWS(s, 0); i >= len(s) || s[i] != '{' {
			return false
		}
		return n.lit.in(s) || strings.IndexByte(s, '\\') >= 0
	}
	return true
}

// pushFilter builds the matcher from the filters that run before anything
// that could drop or fan out rows differently; nil when none reads @message.
func pushFilter(q *Query) *msgMatcher {
	var root mnode
	var req, esc []string
	have := false
	pc := &pushCtx{q: q, parsed: map[int][]string{}}
	for _, s := range q.stages {
		if s.kind != sFilter {
			if s.kind == sFields || s.kind == sParse && !s.parse.multi || s.kind == sLookup {
				pc.sets(s)
				continue // these never drop an event
			}
			break
		}
		n, _ := toMnode(pc, s.cond)
		if n.op == 't' {
			continue
		}
		a, e := requiredOf(pc, s.cond)
		req, esc = append(req, a...), append(esc, e...)
		if !have {
			root, have = n, true
		} else {
			root = mnode{op: '&', kids: []mnode{root, n}}
		}
	}
	if !have {
		return nil
	}
	return &msgMatcher{root: root, req: req, esc: esc}
}

// toMnode converts a condition into a message predicate; parts that read
// other fields become "true" (unknown), and exact says none did.
func toMnode(q *pushCtx, e expr) (mnode, bool) {
	switch e := e.(type) {
	case likeE:
		if s, ok := e.l.(sysE); ok && s.f == fMessage {
			return mnode{op: 'l', m: e.m}, true
		}
	case cmpE:
		if lit, ok := jsonEquality(e); ok {
			return mnode{op: 'j', lit: newFinder(lit)}, false
		}
	case callE:
		if lit, ok := jsonPresence(q.q, e); ok {
			return mnode{op: 'j', lit: newFinder(lit)}, false
		}
		if lits := q.parsedPresence(e); lits != nil {
			n := mnode{op: 'l', m: &textMatcher{sub: lits[0], isSub: true}}
			for _, l := range lits[1:] {
				n = mnode{op: '&', kids: []mnode{n, {op: 'l', m: &textMatcher{sub: l, isSub: true}}}}
			}
			return n, false
		}
	case andE:
		l, le := toMnode(q, e.l)
		r, re := toMnode(q, e.r)
		switch {
		case l.op == 't':
			return r, false
		case r.op == 't':
			return l, false
		}
		return mnode{op: '&', kids: []mnode{l, r}}, le && re
	case orE:
		l, le := toMnode(q, e.l)
		r, re := toMnode(q, e.r)
		if l.op == 't' || r.op == 't' {
			return mnode{op: 't'}, false
		}
		return mnode{op: '|', kids: []mnode{l, r}}, le && re
	case notE:
		k, exact := toMnode(q, e.e)
		if !exact || k.op == 't' {
			return mnode{op: 't'}, false
		}
		return mnode{op: '!', kids: []mnode{k}}, true
	}
	return mnode{op: 't'}, false
}

// jsonEquality recognises "jsonField = 'text'" with a literal that is not
// a number (numbers compare numerically, so 2e2 = "200" holds without the
// text "200" in the message).
func jsonEquality(e cmpE) (string, bool) {
	if e.op != "=" {
		return "", false
	}
	l, r := e.l, e.r
	if _, ok := r.(jsonE); ok {
		l, r = r, l
	}
	_, isJSON := l.(jsonE)
	lit, isLit := r.(litE)
	if !isJSON || !isLit || lit.v.k != kStr || lit.v.s == "" {
		return "", false
	}
	if _, num := parseNumber(lit.v.s); num {
		return "", false
	}
	return lit.v.s, true
}

// requiredOf lists literals every event passing the condition contains
// (always), and those it contains unless it holds a backslash (esc).
func requiredOf(q *pushCtx, e expr) (always, esc []string) {
	switch e := e.(type) {
	case likeE:
		if s, ok := e.l.(sysE); ok && s.f == fMessage {
			switch {
			case e.m.isSub:
				if e.m.sub != "" {
					return []string{e.m.sub}, nil
				}
			case e.m.lit != "" && !e.m.fold:
				return []string{e.m.lit}, nil
			case e.m.re != nil:
				return requiredLiterals(e.m.re.String()), nil
			}
		}
	case cmpE:
		if lit, ok := jsonEquality(e); ok {
			return nil, []string{lit}
		}
	case callE:
		if lit, ok := jsonPresence(q.q, e); ok {
			return nil, []string{lit}
		}
		if lits := q.parsedPresence(e); lits != nil {
			return lits, nil
		}
	case andE:
		a1, e1 := requiredOf(q, e.l)
		a2, e2 := requiredOf(q, e.r)
		return append(a1, a2...), append(e1, e2...)
	case orE:
		a1, _ := requiredOf(q, e.l)
		a2, _ := requiredOf(q, e.r)
		var out []string
		for _, a := range a1 {
			for _, b := range a2 {
				if a == b {
					out = append(out, a)
				}
			}
		}
		return out, nil
	}
	return nil, nil
}

// jsonPresence recognises ispresent(jsonField): the event's message is a
// JSON object holding the field's path, so its text holds the key (a
// top-level name in its quotes), unless the JSON escaped some of its
// characters. Of a dotted path it takes the longest segment that is not an
// array index: {"a":{"b":1}} and {"a.b":1} both flatten to a.b, and both
// hold the text a and b, while an index (a.0) need not appear at all.
// Returns the literal to require, false when there is none worth it.
func jsonPresence(q *Query, e callE) (string, bool) {
	if e.f != functions["ispresent"] || len(e.args) != 1 {
		return "", false
	}
	j, ok := e.args[0].(jsonE)
	if !ok || j.id >= len(q.jsonNames) {
		return "", false
	}
	name := q.jsonNames[j.id]
	if !strings.Contains(name, ".") {
		return `"` + name + `"`, name != ""
	}
	best := ""
	for _, seg := range strings.Split(name, ".") {
		if strings.Trim(seg, "0123456789") != "" && len(seg) > len(best) {
			best = seg
		}
	}
	return best, len(best) >= 3
}

// pushCtx is what pushFilter knows of the stages before a filter: which
// slots a parse of @message set, with the literals any text it matched
// holds.
type pushCtx struct {
	q      *Query
	parsed map[int][]string // slot: the parse's required literals; nil: set otherwise
}

// sets records the slots stage s writes: a parse of @message with a glob
// or a regex makes them "present only if the message holds the parse's
// literals"; anything else that writes a slot forgets that.
func (pc *pushCtx) sets(s *stage) {
	switch s.kind {
	case sFields:
		for _, f := range s.sets {
			pc.parsed[f.slot] = nil
		}
	case sLookup:
		// its OUTPUT may name a parsed field again: forget them all
		clear(pc.parsed)
	case sParse:
		pp := s.parse
		var lits []string
		if src, ok := pp.src.(sysE); ok && src.f == fMessage && pp.format == "" {
			switch {
			case pp.re != nil:
				lits = requiredLiterals(pp.re.String())
			default:
				for _, l := range pp.lits {
					if l != "" {
						lits = append(lits, l)
					}
				}
			}
		}
		for _, sl := range pp.slots {
			if sl >= 0 {
				pc.parsed[sl] = lits // nil when nothing is known
			}
		}
	}
}

// parsedPresence recognises ispresent(f) of a field only a parse of
// @message set: the parse matched, so the message holds its literals.
func (pc *pushCtx) parsedPresence(e callE) []string {
	if e.f != functions["ispresent"] || len(e.args) != 1 {
		return nil
	}
	if sl, ok := e.args[0].(slotE); ok {
		if lits := pc.parsed[sl.i]; len(lits) > 0 {
			return lits
		}
	}
	return nil
}
