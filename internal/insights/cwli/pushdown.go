package cwli

import "strings"

// msgMatcher is the part of the query's first filters that reads only
// @message, as a store.Matcher. It is a necessary condition: events it
// rejects cannot pass the query's filters. Safe for concurrent use (the
// store calls Match from its decode workers).
type msgMatcher struct {
	root mnode
	req  []string
}

type mnode struct {
	op   byte // 'l' like, '&', '|', '!', 't' true (unknown)
	m    *textMatcher
	kids []mnode
}

func (m *msgMatcher) Match(msg string) bool           { return m.root.match(msg) }
func (m *msgMatcher) Required() []string              { return m.req }
func (m *msgMatcher) RequiredUnlessEscaped() []string { return nil }

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
	}
	return true
}

// pushFilter builds the matcher from the filters that run before anything
// that could drop or fan out rows differently; nil when none reads @message.
func pushFilter(q *Query) *msgMatcher {
	var root mnode
	var req []string
	have := false
	for _, s := range q.stages {
		if s.kind != sFilter {
			if s.kind == sFields || s.kind == sParse && !s.parse.multi || s.kind == sLookup {
				continue // these never drop an event
			}
			break
		}
		n, exact := toMnode(s.cond)
		_ = exact
		if n.op == 't' {
			continue
		}
		req = append(req, requiredOf(s.cond)...)
		if !have {
			root, have = n, true
		} else {
			root = mnode{op: '&', kids: []mnode{root, n}}
		}
	}
	if !have {
		return nil
	}
	return &msgMatcher{root: root, req: req}
}

// toMnode converts a condition into a message predicate; parts that read
// other fields become "true" (unknown), and exact says none did.
func toMnode(e expr) (mnode, bool) {
	switch e := e.(type) {
	case likeE:
		if s, ok := e.l.(sysE); ok && s.f == fMessage {
			return mnode{op: 'l', m: e.m}, true
		}
	case andE:
		l, le := toMnode(e.l)
		r, re := toMnode(e.r)
		switch {
		case l.op == 't':
			return r, false
		case r.op == 't':
			return l, false
		}
		return mnode{op: '&', kids: []mnode{l, r}}, le && re
	case orE:
		l, le := toMnode(e.l)
		r, re := toMnode(e.r)
		if l.op == 't' || r.op == 't' {
			return mnode{op: 't'}, false
		}
		return mnode{op: '|', kids: []mnode{l, r}}, le && re
	case notE:
		k, exact := toMnode(e.e)
		if !exact || k.op == 't' {
			return mnode{op: 't'}, false
		}
		return mnode{op: '!', kids: []mnode{k}}, true
	}
	return mnode{op: 't'}, false
}

// requiredOf lists literals every event passing the condition contains.
func requiredOf(e expr) []string {
	switch e := e.(type) {
	case likeE:
		if s, ok := e.l.(sysE); ok && s.f == fMessage {
			switch {
			case e.m.isSub:
				if e.m.sub != "" {
					return []string{e.m.sub}
				}
			case e.m.lit != "" && !e.m.fold:
				return []string{e.m.lit}
			case e.m.re != nil:
				return requiredLiterals(e.m.re.String())
			}
		}
	case andE:
		return append(requiredOf(e.l), requiredOf(e.r)...)
	case orE:
		l, r := requiredOf(e.l), requiredOf(e.r)
		var out []string
		for _, a := range l {
			for _, b := range r {
				if a == b {
					out = append(out, a)
				}
			}
		}
		return out
	}
	return nil
}

var _ = strings.Contains
