package pattern

import "strings"

// The member table: several JSON patterns matched against one message
// through one table of the message's top-level members, where each member
// a pattern names is found once (not once per pattern) and each value
// decoded once: a string unescaped once, a number parsed once for every
// condition that compares it.
//
// A MemberSet names the keys of a group of patterns (built once, with
// PlanMembers for each pattern and Slot for other one-key selectors); a
// Members is one message's values by slot (Load, once per message, on the
// message's View); a MemberPlan matches one pattern on it. Only patterns
// whose every selector is one object key ($.level, $.['a.b']) are planned:
// a member then satisfies a condition or not by its own value, whatever
// the order of the members, which is what lets the group's patterns share
// it. A message in which a named key occurs twice, or any key is written
// with escapes, is not loaded (LoadShared): its patterns match through
// MatchView, which sees every occurrence (TestMembersAgree and
// FuzzMembers compare the two on random objects).

// MemberSet is the top-level keys a group of patterns reads, by slot. It
// is built before any Members is loaded with it and not changed after.
type MemberSet struct {
	keys  []string
	index map[string]int // past smallSet keys
}

// smallSet: up to this many keys a member's key is compared with each;
// past it, looked up in a map.
const smallSet = 8

// Slot is key's slot, added when the set has none.
func (s *MemberSet) Slot(key string) int {
	if i := s.find(key); i >= 0 {
		return i
	}
	s.keys = append(s.keys, key)
	if len(s.keys) > smallSet {
		if s.index == nil {
			s.index = make(map[string]int, len(s.keys))
			for i, k := range s.keys {
				s.index[k] = i
			}
		}
		s.index[key] = len(s.keys) - 1
	}
	return len(s.keys) - 1
}

// Len is the number of slots.
func (s *MemberSet) Len() int { return len(s.keys) }

func (s *MemberSet) find(key string) int {
	if s.index != nil {
		if i, ok := s.index[key]; ok {
			return i
		}
		return -1
	}
	for i, k := range s.keys {
		if k == key {
			return i
		}
	}
	return -1
}

// MemberPlan is one JSON pattern matched on a Members table: the slot of
// each key of its selectors.
type MemberPlan struct {
	p     *jsonPattern
	slots []int // by p.root.fields index
	// one: the pattern is one condition on one member ({ $.status >= 500 }),
	// the usual metric filter: Match tests it without the evaluation's
	// bitset and expression walk. cond is the condition's index.
	one  bool
	cond int
}

// PlanMembers returns p's plan on set, adding p's keys to it; ok is false
// (and set unchanged) when p is not a JSON pattern whose selectors are
// each one object key: a nested path, an array index or a wildcard is
// matched through MatchView.
func (p *Pattern) PlanMembers(set *MemberSet) (*MemberPlan, bool) {
	j := p.json
	if j == nil || j.root.anyField != nil || j.root.anyElem != nil || len(j.root.elems) > 0 {
		return nil, false
	}
	for _, f := range j.root.fields {
		n := f.node
		if len(n.fields) > 0 || len(n.elems) > 0 || n.anyField != nil || n.anyElem != nil {
			return nil, false
		}
	}
	pl := &MemberPlan{p: j}
	for _, f := range j.root.fields {
		pl.slots = append(pl.slots, set.Slot(f.key))
	}
	if x := j.expr; len(j.root.fields) == 1 && x.op == 'c' && !j.conds[x.cond].notExists {
		if n := j.root.fields[0].node; len(n.exists) == 0 && len(n.conds) == 1 && n.conds[0] == x.cond {
			pl.one, pl.cond = true, x.cond
		}
	}
	return pl, true
}

// Recorded is the slot of the member whose value ExtractValues records
// under the key sel (a selector as the pattern writes it, such as
// "$.latency_ms"), when the pattern has a condition on it: Members.Text
// of that slot is then what the extracted values hold for sel when the
// pattern matches. ok false: the pattern extracts nothing under sel.
func (pl *MemberPlan) Recorded(sel string) (slot int, ok bool) {
	for fi, f := range pl.p.root.fields {
		for _, id := range f.node.conds {
			if pl.p.conds[id].sel == sel {
				return pl.slots[fi], true
			}
		}
	}
	return 0, false
}

// Members is one message's top-level members by the slots of a MemberSet,
// their values decoded on first use. It is reused from one message to the
// next (Load) and allocates nothing once its slice has grown to the set;
// it is not safe for concurrent use.
type Members struct {
	view *View
	m    []member
}

type member struct {
	at      int // 1 + the member's index in view.fields; 0: absent
	decoded bool
	kind    byte // a scalar's kind; 0: an object or an array
	text    string
	// The number's decimal, parsed on first use (decOK: it parsed).
	dec            decimal
	decDone, decOK bool
}

// LoadState is what Load made of a message.
type LoadState int8

const (
	// NotObject: the message is not a JSON object; no JSON pattern
	// matches it.
	NotObject LoadState = iota
	// Unshared: a named key occurs twice, or a key has escapes; match
	// through MatchView.
	Unshared
	// Loaded: the members are in the table.
	Loaded
)

// Load fills m with the members of the message held in view
// (view.Reset(message)) that set names.
func (m *Members) Load(set *MemberSet, view *View) LoadState {
	if !view.parse() {
		return NotObject
	}
	m.view = view
	if n := len(set.keys); cap(m.m) < n {
		m.m = make([]member, n)
	} else {
		m.m = m.m[:n]
		clear(m.m)
	}
	for fi := range view.fields {
		f := &view.fields[fi]
		if f.esc {
			return Unshared // its decoded key may be a named one
		}
		slot := set.find(f.key)
		if slot < 0 {
			continue
		}
		if m.m[slot].at != 0 {
			return Unshared
		}
		m.m[slot].at = fi + 1
	}
	return Loaded
}

// scalar is the member's kind and text as jsonEval.value passes them to
// conditions (a string decoded, the others as written); ok false when the
// member is absent or an object or an array.
func (m *Members) scalar(slot int) (*member, bool) {
	mb := &m.m[slot]
	if mb.at == 0 {
		return mb, false
	}
	if !mb.decoded {
		mb.decoded = true
		f := &m.view.fields[mb.at-1]
		s := m.view.msg
		switch c := s[f.start]; c {
		case '{', '[':
		case '"':
			mb.kind, mb.text = kindString, s[f.start+1:f.end-1]
			if strings.IndexByte(mb.text, '\\') >= 0 {
				mb.text = unescape(mb.text)
			}
		case 't':
			mb.kind, mb.text = kindTrue, "true"
		case 'f':
			mb.kind, mb.text = kindFalse, "false"
		case 'n':
			mb.kind, mb.text = kindNull, "null"
		default:
			mb.kind, mb.text = kindNumber, s[f.start:f.end]
		}
	}
	return mb, mb.kind != 0
}

// Text is the member's value as a matching pattern's extracted values
// hold it (ExtractValues): a string decoded, a number, true, false and
// null as written; ok false when the member is absent or an object or an
// array.
func (m *Members) Text(slot int) (string, bool) {
	mb, ok := m.scalar(slot)
	return mb.text, ok
}

// Lookup is LookupView of the one-key path of slot's key: a string decoded
// (invalid UTF-8 replaced), a number, true and false; ok false when the
// member is absent, null, an object or an array.
func (m *Members) Lookup(slot int) (string, bool) {
	mb, ok := m.scalar(slot)
	if !ok || mb.kind == kindNull {
		return "", false
	}
	if mb.kind == kindString {
		f := &m.view.fields[mb.at-1]
		return scalarAt(m.view.msg, f.start, f.end)
	}
	return mb.text, true
}

// Match is p.MatchView on the message loaded in m (Load gave Loaded): the
// same answer, each condition evaluated on its member's value.
func (pl *MemberPlan) Match(m *Members) bool {
	p := pl.p
	if pl.one {
		mb, scalar := m.scalar(pl.slots[0])
		if !scalar {
			return false
		}
		return m.test(mb, &p.conds[pl.cond].v)
	}
	e := jsonEval{pat: p}
	for fi := range p.root.fields {
		n := p.root.fields[fi].node
		mb, scalar := m.scalar(pl.slots[fi])
		if mb.at == 0 {
			continue
		}
		for _, id := range n.exists {
			e.sat.set(id)
		}
		if !scalar {
			continue // a leaf's conditions test scalars only
		}
		for _, id := range n.conds {
			if e.sat.has(id) {
				continue
			}
			if m.test(mb, &p.conds[id].v) {
				e.sat.set(id)
			}
		}
	}
	return e.eval(p.expr)
}

// test is condition c on the scalar member mb (its number parsed once
// for every condition that compares it).
func (m *Members) test(mb *member, c *valueCond) bool {
	if c.kind == rhsNumber && mb.kind == kindNumber {
		if !mb.decDone {
			mb.decDone = true
			mb.dec, mb.decOK = parseDecimal(mb.text)
		}
		return c.matchDecimal(mb.dec, mb.decOK)
	}
	return c.matchScalar(mb.kind, mb.text)
}
