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
	op   byte // 'l' like, '&', '|', '!', 't' true (unknown)
	m    *textMatcher
	kids []mnode
}

func (m *msgMatcher) Match(msg string) bool           { return m.root.match(msg) }
func (m *msgMatcher) Required() []string              { return m.req }
func (m *msgMatcher) RequiredUnlessEscaped() []string { return m.esc }

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
		// a JSON field equal to the literal: the message holds it, unless
		// the JSON escaped some of its characters
		return strings.Contains(s, n.m.sub) || strings.IndexByte(s, '\\') >= 0
	}
	return true
}

// pushFilter builds the matcher from the filters that run before anything
// that could drop or fan out rows differently; nil when none reads @message.
func pushFilter(q *Query) *msgMatcher {
	var root mnode
	var req, esc []string
	have := false
	for _, s := range q.stages {
		if s.kind != sFilter {
			if s.kind == sFields || s.kind == sParse && !s.parse.multi || s.kind == sLookup {
				continue // these never drop an event
			}
			break
		}
		n, _ := toMnode(q, s.cond)
		if n.op == 't' {
			continue
		}
		a, e := requiredOf(q, s.cond)
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
func toMnode(q *Query, e expr) (mnode, bool) {
	switch e := e.(type) {
	case likeE:
		if s, ok := e.l.(sysE); ok && s.f == fMessage {
			return mnode{op: 'l', m: e.m}, true
		}
	case cmpE:
		if lit, ok := jsonEquality(e); ok {
			return mnode{op: 'j', m: &textMatcher{sub: lit, isSub: true}}, false
		}
	case callE:
		if lit, ok := jsonPresence(q, e); ok {
			return mnode{op: 'j', m: &textMatcher{sub: lit, isSub: true}}, false
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
func requiredOf(q *Query, e expr) (always, esc []string) {
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
		if lit, ok := jsonPresence(q, e); ok {
			return nil, []string{lit}
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
