package pattern

import (
	"strconv"
	"strings"
)

// jsonPattern matches JSON objects. Its selectors are merged into one trie
// so the matcher walks a message once, evaluating each condition at the
// values its selector reaches and skipping every other subtree.
type jsonPattern struct {
	root  *jnode
	conds []jcond
	expr  *jexpr
}

// jnode is one step of the selector trie.
type jnode struct {
	fields   []jfield          // children by object key
	index    map[string]*jnode // fields by key, when there are more than smallSet
	elems    []jelem           // children by array index
	anyField *jnode            // .* child
	anyElem  *jnode            // [*] child
	conds    []int             // conditions tested against scalars at this node
	exists   []int             // NOT EXISTS conditions of this node
}

type jfield struct {
	key  string
	node *jnode
}

type jelem struct {
	idx  int
	node *jnode
}

// jcond is one leaf condition: a selector and a test.
type jcond struct {
	sel       string   // the selector as written; the key Extract reports
	keys      []string // the object keys the selector names, for Required
	notExists bool
	v         valueCond
}

// jexpr is the boolean structure over conditions.
type jexpr struct {
	op   byte // 'c' condition, '&' all of kids, '|' any of kids
	cond int
	kids []*jexpr
}

// maxJSONConds bounds the conditions of one pattern so the matcher can keep
// their state in a fixed bitset. A 1,024-character pattern holds at most
// about 150 conditions ("$.a=1&&" is 7 characters).
const maxJSONConds = 256

type stepKind uint8

const (
	stepKey stepKind = iota
	stepIndex
	stepAnyField
	stepAnyElem
)

type step struct {
	kind stepKind
	key  string
	idx  int
}

type jparser struct {
	*compiler
	i         int
	pat       *jsonPattern
	wildcards int
}

// parseJSON parses "{ expr }" where the source, trimmed, starts at start.
//
// Grammar (&& binds tighter than ||, parentheses group):
//
//	expr  := and ( "||" and )*
//	and   := atom ( "&&" atom )*
//	atom  := "(" expr ")" | sel op value | sel IS (NULL|TRUE|FALSE) | sel NOT EXISTS
//	sel   := "$" ( "." name | ".*" | "[" int "]" | "[*]" | ".['key']" | "['key']" )+
//	op    := = | != | < | <= | > | >=
//	value := number | "quoted" | unquoted | %regex%
//
// Keywords are case-insensitive. Ordering operators need a number.
func (c *compiler) parseJSON(start int) (*jsonPattern, error) {
	p := &jparser{compiler: c, i: start + 1, pat: &jsonPattern{root: &jnode{}}}
	p.i = p.skipSpace(p.i)
	if p.i >= len(p.src) {
		return nil, p.errf(start, "unbalanced '{', missing closing '}'")
	}
	if p.src[p.i] == '}' {
		return nil, p.errf(p.i, "empty JSON pattern, expected a condition such as $.field = value")
	}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	p.i = p.skipSpace(p.i)
	if p.i >= len(p.src) {
		return nil, p.errf(start, "unbalanced '{', missing closing '}'")
	}
	if p.src[p.i] != '}' {
		return nil, p.unexpected()
	}
	if end := p.skipSpace(p.i + 1); end < len(p.src) {
		return nil, p.errf(end, "unexpected %s after the closing '}'", describe(p.src, end))
	}
	p.pat.expr = e
	p.pat.root.indexFields()
	return p.pat, nil
}

// indexFields gives every node of the trie with more than smallSet keyed
// children a map of them: a message's member is looked up once instead of
// compared with each key, which made a group of 100 filters of 72 keys
// cost 0.46 s of CPU on one 250 KB event of 20,000 members (escaped, so
// past the member table).
func (n *jnode) indexFields() {
	if len(n.fields) > smallSet {
		n.index = make(map[string]*jnode, len(n.fields))
		for _, f := range n.fields {
			n.index[f.key] = f.node
		}
	}
	for _, f := range n.fields {
		f.node.indexFields()
	}
	for _, e := range n.elems {
		e.node.indexFields()
	}
	if n.anyField != nil {
		n.anyField.indexFields()
	}
	if n.anyElem != nil {
		n.anyElem.indexFields()
	}
}

// field is the child of n for the object key key, or nil.
func (n *jnode) field(key string) *jnode {
	if n.index != nil {
		return n.index[key]
	}
	for j := range n.fields {
		if n.fields[j].key == key {
			return n.fields[j].node
		}
	}
	return nil
}

func (p *jparser) unexpected() error {
	return p.errf(p.i, "unexpected %s", describe(p.src, p.i))
}

func (p *jparser) peek(tok string) bool {
	p.i = p.skipSpace(p.i)
	return strings.HasPrefix(p.src[p.i:], tok)
}

func (p *jparser) or() (*jexpr, error) {
	e, err := p.and()
	if err != nil {
		return nil, err
	}
	if !p.peek("||") {
		return e, nil
	}
	or := &jexpr{op: '|', kids: []*jexpr{e}}
	for p.peek("||") {
		p.i += 2
		e, err := p.and()
		if err != nil {
			return nil, err
		}
		or.kids = append(or.kids, e)
	}
	return or, nil
}

func (p *jparser) and() (*jexpr, error) {
	e, err := p.atom()
	if err != nil {
		return nil, err
	}
	if !p.peek("&&") {
		return e, nil
	}
	and := &jexpr{op: '&', kids: []*jexpr{e}}
	for p.peek("&&") {
		p.i += 2
		e, err := p.atom()
		if err != nil {
			return nil, err
		}
		and.kids = append(and.kids, e)
	}
	return and, nil
}

func (p *jparser) atom() (*jexpr, error) {
	p.i = p.skipSpace(p.i)
	if p.i >= len(p.src) {
		return nil, p.errf(p.i, "unexpected end of pattern, expected a condition")
	}
	switch p.src[p.i] {
	case '(':
		open := p.i
		p.i++
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.peek(")") {
			if p.i >= len(p.src) || p.src[p.i] == '}' {
				return nil, p.errf(open, "unbalanced '(', missing closing ')'")
			}
			return nil, p.unexpected()
		}
		p.i++
		return e, nil
	case '$':
		return p.condition()
	}
	return nil, p.errf(p.i, "unexpected %s, expected a selector starting with '$' or '('", describe(p.src, p.i))
}

// isNameByte reports whether c may appear in an unquoted selector name.
// AWS documents letters, digits, '-' and '_'; we also take other
// non-delimiter bytes (such as '@' or UTF-8) since a key is just a string.
func isNameByte(c byte) bool {
	return !isSpace(c) && strings.IndexByte(".[]()=!<>&|{}\"'%,*", c) < 0
}

func (p *jparser) selector() (string, []step, error) {
	start := p.i
	s := p.src
	p.i++ // '$'
	var steps []step
	wild := -1
	for p.i < len(s) {
		at := p.i
		var st step
		switch s[p.i] {
		case '.':
			p.i++
			switch {
			case p.i < len(s) && s[p.i] == '*':
				st.kind = stepAnyField
				p.i++
			case p.i < len(s) && s[p.i] == '[':
				key, err := p.bracketKey()
				if err != nil {
					return "", nil, err
				}
				st.key = key
			default:
				j := p.i
				for j < len(s) && isNameByte(s[j]) {
					j++
				}
				if j == p.i {
					return "", nil, p.errf(p.i, "expected a field name after '.'")
				}
				st.key, p.i = s[p.i:j], j
			}
		case '[':
			switch {
			case strings.HasPrefix(s[p.i:], "[*]"):
				st.kind = stepAnyElem
				p.i += 3
			case p.i+1 < len(s) && (s[p.i+1] == '\'' || s[p.i+1] == '"'):
				key, err := p.bracketKey()
				if err != nil {
					return "", nil, err
				}
				st.key = key
			default:
				j := p.i + 1
				for j < len(s) && isDigit(s[j]) {
					j++
				}
				if j == p.i+1 || j >= len(s) || s[j] != ']' {
					return "", nil, p.errf(p.i, "invalid array index, want [number], [*] or ['key']")
				}
				n, err := strconv.Atoi(s[p.i+1 : j])
				if err != nil {
					return "", nil, p.errf(p.i+1, "array index too large")
				}
				st.kind, st.idx, p.i = stepIndex, n, j+1
			}
		default:
			goto done
		}
		if st.kind == stepAnyField || st.kind == stepAnyElem {
			if wild >= 0 {
				return "", nil, p.errf(at, "a selector may contain at most one wildcard")
			}
			wild = at
			p.wildcards++
			if p.wildcards > MaxJSONWildcards {
				return "", nil, p.errf(at, "too many wildcards, a JSON pattern may contain at most %d", MaxJSONWildcards)
			}
		}
		steps = append(steps, st)
	}
done:
	if len(steps) == 0 {
		return "", nil, p.errf(start, "selector '$' must name a field, such as $.field")
	}
	if p.i < len(s) && s[p.i] == '*' {
		return "", nil, p.errf(p.i, "unexpected '*' in selector, use $.* or [*] for wildcards")
	}
	return s[start:p.i], steps, nil
}

// bracketKey reads ['key'] or ["key"] at p.i == '['.
func (p *jparser) bracketKey() (string, error) {
	s := p.src
	open := p.i
	if p.i+1 >= len(s) || (s[p.i+1] != '\'' && s[p.i+1] != '"') {
		return "", p.errf(p.i, "expected a quoted key in brackets, such as ['key.name']")
	}
	q := s[p.i+1]
	j := p.i + 2
	var b strings.Builder
	for {
		if j >= len(s) {
			return "", p.errf(open, "unterminated key in brackets")
		}
		if s[j] == '\\' && j+1 < len(s) && (s[j+1] == q || s[j+1] == '\\') {
			b.WriteByte(s[j+1])
			j += 2
			continue
		}
		if s[j] == q {
			break
		}
		b.WriteByte(s[j])
		j++
	}
	if j+1 >= len(s) || s[j+1] != ']' {
		return "", p.errf(j+1, "expected ']' after the quoted key")
	}
	p.i = j + 2
	return b.String(), nil
}

func (p *jparser) keyword(words ...string) (string, bool) {
	p.i = p.skipSpace(p.i)
	for _, w := range words {
		end := p.i + len(w)
		if end <= len(p.src) && strings.EqualFold(p.src[p.i:end], w) && (end == len(p.src) || !isNameByte(p.src[end])) {
			p.i = end
			return w, true
		}
	}
	return "", false
}

func (p *jparser) condition() (*jexpr, error) {
	sel, steps, err := p.selector()
	if err != nil {
		return nil, err
	}
	cond := jcond{sel: sel}
	for _, st := range steps {
		if st.kind == stepKey {
			cond.keys = append(cond.keys, st.key)
		}
	}
	p.i = p.skipSpace(p.i)
	at := p.i
	if _, ok := p.keyword("IS"); ok {
		w, ok := p.keyword("NULL", "TRUE", "FALSE")
		if !ok {
			return nil, p.errf(p.i, "expected NULL, TRUE or FALSE after IS")
		}
		cond.v.kind = map[string]rhsKind{"NULL": rhsNull, "TRUE": rhsTrue, "FALSE": rhsFalse}[w]
	} else if _, ok := p.keyword("NOT"); ok {
		if _, ok := p.keyword("EXISTS"); !ok {
			return nil, p.errf(p.i, "expected EXISTS after NOT")
		}
		cond.notExists = true
	} else {
		op, ok := p.operator()
		if !ok {
			return nil, p.errf(at, "expected an operator (=, !=, <, <=, >, >=, IS or NOT EXISTS) after selector %s, found %s", sel, describe(p.src, at))
		}
		v, err := p.value(op, ")}")
		if err != nil {
			return nil, err
		}
		cond.v = v
	}
	if len(p.pat.conds) >= maxJSONConds {
		return nil, p.errf(at, "too many conditions")
	}
	id := len(p.pat.conds)
	p.pat.conds = append(p.pat.conds, cond)
	n := p.pat.root
	for _, st := range steps {
		n = n.child(st)
	}
	if cond.notExists {
		n.exists = append(n.exists, id)
	} else {
		n.conds = append(n.conds, id)
	}
	return &jexpr{op: 'c', cond: id}, nil
}

func (n *jnode) child(st step) *jnode {
	switch st.kind {
	case stepKey:
		for _, f := range n.fields {
			if f.key == st.key {
				return f.node
			}
		}
		c := &jnode{}
		n.fields = append(n.fields, jfield{st.key, c})
		return c
	case stepIndex:
		for _, e := range n.elems {
			if e.idx == st.idx {
				return e.node
			}
		}
		c := &jnode{}
		n.elems = append(n.elems, jelem{st.idx, c})
		return c
	case stepAnyField:
		if n.anyField == nil {
			n.anyField = &jnode{}
		}
		return n.anyField
	default:
		if n.anyElem == nil {
			n.anyElem = &jnode{}
		}
		return n.anyElem
	}
}

// operatorAt reads a comparison operator at src[i].
func (c *compiler) operatorAt(i int) (cmpOp, int, bool) {
	s := c.src[i:]
	switch {
	case strings.HasPrefix(s, "=="):
		return 0, i, false
	case strings.HasPrefix(s, "!="):
		return opNe, i + 2, true
	case strings.HasPrefix(s, "<="):
		return opLe, i + 2, true
	case strings.HasPrefix(s, ">="):
		return opGe, i + 2, true
	case strings.HasPrefix(s, "="):
		return opEq, i + 1, true
	case strings.HasPrefix(s, "<"):
		return opLt, i + 1, true
	case strings.HasPrefix(s, ">"):
		return opGt, i + 1, true
	}
	return 0, i, false
}

func (p *jparser) operator() (cmpOp, bool) {
	op, n, ok := p.operatorAt(p.i)
	if ok {
		p.i = n
	}
	return op, ok
}

func (p *jparser) value(op cmpOp, stops string) (valueCond, error) {
	v, n, err := p.compiler.value(p.i, op, stops)
	if err == nil {
		p.i = n
	}
	return v, err
}

// value reads the right-hand side of a condition at src[i] (spaces allowed
// before it). An unquoted value ends at a space, "&&", "||", one of " ( = < >
// or any byte in stops.
func (c *compiler) value(i int, op cmpOp, stops string) (valueCond, int, error) {
	v := valueCond{op: op}
	s := c.src
	i = c.skipSpace(i)
	at := i
	if i >= len(s) {
		return v, i, c.errf(i, "expected a value after '%s'", op)
	}
	switch s[i] {
	case '"':
		text, n, err := c.quoted(i)
		if err != nil {
			return v, i, err
		}
		v.kind, v.text, v.glob, i = rhsString, text, newGlob(text), n
	case '%':
		re, n, err := c.regex(i)
		if err != nil {
			return v, i, err
		}
		v.kind, v.re, i = rhsRegex, re, n
	default:
		j := i
		for j < len(s) && !isSpace(s[j]) && strings.IndexByte(stops, s[j]) < 0 &&
			!strings.HasPrefix(s[j:], "&&") && !strings.HasPrefix(s[j:], "||") &&
			strings.IndexByte("\"(=<>", s[j]) < 0 {
			j++
		}
		if j == i {
			return v, i, c.errf(i, "expected a value after '%s', found %s", op, describe(s, i))
		}
		text := s[i:j]
		if d, ok := parseDecimal(text); ok {
			v.kind, v.num = rhsNumber, d
		} else {
			v.kind, v.glob = rhsString, newGlob(text)
		}
		v.text, i = text, j
	}
	if op.relational() && v.kind != rhsNumber {
		return v, i, c.errf(at, "operator '%s' needs a number", op)
	}
	return v, i, nil
}
