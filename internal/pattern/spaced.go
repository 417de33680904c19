package pattern

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// spacedPattern matches space-delimited events such as access logs.
//
// Binding fields to elements (the arity rule): a message is split into
// fields at spaces and tabs (tabs so that Lambda's tab-separated lines work
// with the documented [timestamp=*Z, request_id="*-*", event] idiom); a
// field starting with '"' runs to the next unescaped '"', one starting with
// '[' to the next ']', and the value of such a field has the quotes or
// brackets stripped.
//
//   - Without "...", the pattern needs at least as many fields as it has
//     elements. The last element takes the rest of the line, as raw text,
//     when there are more fields: AWS documents [w1=ERROR, w2] matching
//     "ERROR 09/25/2014 12:00:02 Failed to process request".
//   - Each "..." matches any number of fields, including none, and the
//     elements around it take exactly one field each. Elements before the
//     first "..." bind to the first fields, elements after the last to the
//     last fields, and any group in between to its leftmost possible place.
//   - "[]" is the same as "[...]": AWS's TestMetricFilter example for "[]"
//     extracts every field.
//
// Extracted values follow AWS's TestMetricFilter examples: a named element
// is reported as "$name"; a field matched by "..." or by an unnamed (empty)
// element, as in "[..., status_code=4*,]", is reported as "$N" with N its
// 1-based position in the message.
type spacedPattern struct {
	elems    []spElem
	ellipsis bool
	// groups are the runs of elements between two ellipses, in order,
	// each compiled for its search (spGroup).
	groups []spGroup
}

type spElem struct {
	ellipsis bool
	name     string  // "" for an unnamed element
	expr     *spExpr // nil when the element has no condition
}

// spExpr is a condition expression of one element; && binds tighter than ||.
// Every name in an element's expression refers to that element's field:
// [w1=ERROR || w1=WARN, w2] repeats the name, as all AWS examples do.
type spExpr struct {
	op   byte // 'c' condition, '&' all kids, '|' any kid
	c    valueCond
	kids []*spExpr
}

func (x *spExpr) match(text string) bool {
	fv := fieldValue{text: text}
	return x.matchValue(&fv)
}

func (x *spExpr) matchValue(fv *fieldValue) bool {
	switch x.op {
	case '&':
		for _, k := range x.kids {
			if !k.matchValue(fv) {
				return false
			}
		}
		return true
	case '|':
		for _, k := range x.kids {
			if k.matchValue(fv) {
				return true
			}
		}
		return false
	}
	return x.c.matchFieldValue(fv)
}

func (e *spElem) match(text string) bool { return e.expr == nil || e.expr.match(text) }

func isFieldNameByte(c byte) bool { return isAlnum(c) || c == '_' }

// parseSpaced parses "[ elem, elem, ... ]" where the trimmed source starts
// at start.
func (c *compiler) parseSpaced(start int) (*spacedPattern, error) {
	sp := &spacedPattern{}
	s := c.src
	i := c.skipSpace(start + 1)
	if i < len(s) && s[i] == ']' {
		sp.elems = []spElem{{ellipsis: true}}
		sp.ellipsis = true
		i++
	} else {
		for {
			i = c.skipSpace(i)
			if i >= len(s) {
				return nil, c.errf(start, "unbalanced '[', missing closing ']'")
			}
			var el spElem
			switch {
			case strings.HasPrefix(s[i:], "..."):
				el.ellipsis = true
				sp.ellipsis = true
				i += 3
			case s[i] == ',' || s[i] == ']':
				// an unnamed field
			default:
				j := i
				for j < len(s) && isFieldNameByte(s[j]) {
					j++
				}
				if j == i {
					return nil, c.errf(i, "unexpected %s, expected a field name, '...' or ','", describe(s, i))
				}
				el.name = s[i:j]
				i = c.skipSpace(j)
				if _, _, ok := c.operatorAt(i); ok {
					x, n, err := c.spacedOr(i)
					if err != nil {
						return nil, err
					}
					el.expr, i = x, n
				}
			}
			sp.elems = append(sp.elems, el)
			i = c.skipSpace(i)
			if i >= len(s) {
				return nil, c.errf(start, "unbalanced '[', missing closing ']'")
			}
			if s[i] == ']' {
				i++
				break
			}
			if s[i] != ',' {
				return nil, c.errf(i, "unexpected %s, expected ',' or ']'", describe(s, i))
			}
			i++
		}
	}
	if i = c.skipSpace(i); i < len(s) {
		return nil, c.errf(i, "unexpected %s after the closing ']'", describe(s, i))
	}
	sp.groups = middleGroups(sp.elems)
	return sp, nil
}

// spacedOr parses cond (("&&"|"||") name cond)* for an element whose name
// has been read; i is at the first operator.
func (c *compiler) spacedOr(i int) (*spExpr, int, error) {
	var ors []*spExpr
	var ands []*spExpr
	s := c.src
	for {
		op, n, _ := c.operatorAt(i)
		v, n, err := c.value(n, op, ",]")
		if err != nil {
			return nil, 0, err
		}
		ands = append(ands, &spExpr{op: 'c', c: v})
		i = c.skipSpace(n)
		var conj byte
		switch {
		case strings.HasPrefix(s[i:], "&&"):
			conj = '&'
		case strings.HasPrefix(s[i:], "||"):
			conj = '|'
		default:
			ors = append(ors, group('&', ands))
			return group('|', ors), i, nil
		}
		conjText := s[i : i+2]
		i = c.skipSpace(i + 2)
		j := i
		for j < len(s) && isFieldNameByte(s[j]) {
			j++
		}
		if j == i {
			return nil, 0, c.errf(i, "expected a field name after '%s'", conjText)
		}
		name := s[i:j]
		i = c.skipSpace(j)
		if _, _, ok := c.operatorAt(i); !ok {
			return nil, 0, c.errf(i, "expected an operator after field %s", name)
		}
		if conj == '|' {
			ors = append(ors, group('&', ands))
			ands = nil
		}
	}
}

func group(op byte, kids []*spExpr) *spExpr {
	if len(kids) == 1 {
		return kids[0]
	}
	return &spExpr{op: op, kids: kids}
}

// field is one field of a space-delimited message: s[start:] is where its
// raw text begins and s[vs:ve] its value.
type field struct{ start, vs, ve int }

func isFieldSpace(c byte) bool { return c == ' ' || c == '\t' }

// splitFields appends the fields of s to dst, at most limit of them when
// limit >= 0.
func splitFields(s string, dst []field, limit int) []field {
	var tabs int8
	dst, _ = splitFrom(s, 0, dst, limit, &tabs)
	return dst
}

// splitFrom is splitFields from s[i], which is a field's start or the
// space before one; it also returns where the split stopped (len(s): the
// line is split to its end), so a split can be resumed for more fields
// with the same result as splitting anew. A plain field's end (the next
// space or tab) is found eight bytes at a time (fieldEnd): most fields are
// short, and a call of strings.IndexByte per field costs more than
// reading them; past 16 bytes, strings.IndexByte for the next space
// (vectorised) unless the line has a tab (*tabs: 0 not looked yet, 1 no
// tab, 2 a tab; looked for once per line, only when a field is that long).
// A quoted field without a backslash before its closing quote is found by
// strings.IndexByte (quoted fields are long). The byte-by-byte walk
// (splitFromBytes in the tests, the reference TestSplitAgrees and FuzzSplit
// compare with) decides the rest, with the same answers.
func splitFrom(s string, i int, dst []field, limit int, tabs *int8) ([]field, int) {
	for {
		for i < len(s) && isFieldSpace(s[i]) {
			i++
		}
		if i >= len(s) || limit >= 0 && len(dst) >= limit {
			return dst, i
		}
		f := field{start: i, vs: -1}
		switch s[i] {
		case '"':
			if q := strings.IndexByte(s[i+1:], '"'); q >= 0 {
				if strings.IndexByte(s[i+1:i+1+q], '\\') < 0 {
					f.vs, f.ve, i = i+1, i+1+q, i+q+2
					break
				}
				for j := i + 1; j < len(s); j++ {
					if s[j] == '\\' {
						j++
						continue
					}
					if s[j] == '"' {
						f.vs, f.ve, i = f.start+1, j, j+1
						break
					}
				}
			}
		case '[':
			if j := strings.IndexByte(s[i+1:], ']'); j >= 0 {
				f.vs, f.ve, i = i+1, i+1+j, i+j+2
			}
		}
		if f.vs < 0 {
			j := fieldEnd(s, i, tabs)
			f.vs, f.ve, i = i, j, j
		}
		dst = append(dst, f)
	}
}

// fieldEnd is the index of the first space or tab in s from i, or len(s).
// The first 16 bytes are read eight at a time (the lowest byte flagged by
// the zero-byte test is exact; a borrow can only flag bytes above it); the
// rest by strings.IndexByte for a space when s has no tab, byte by byte
// when it has.
func fieldEnd(s string, i int, tabs *int8) int {
	for end := i + 16; i+8 <= len(s) && i < end; i += 8 {
		w := load64(s, i)
		sp, tb := w^' '*ones, w^'\t'*ones
		if m := ((sp-ones)&^sp | (tb-ones)&^tb) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	if *tabs == 0 {
		*tabs = 1
		if hasTab(s) {
			*tabs = 2
		}
	}
	if *tabs == 1 {
		if k := strings.IndexByte(s[i:], ' '); k >= 0 {
			return i + k
		}
		return len(s)
	}
	for i < len(s) && !isFieldSpace(s[i]) {
		i++
	}
	return i
}

func hasTab(s string) bool { return strings.IndexByte(s, '\t') >= 0 }

// fieldSplit is a message's fields split as far as a pattern needed them
// so far: the next pattern asking for more resumes the split instead of
// redoing it (View shares one among a group's space-delimited filters).
type fieldSplit struct {
	fields []field
	next   int  // where the split stopped
	tabs   int8 // splitFrom's: whether msg has a tab
}

// get returns the first limit fields of msg (all of them when limit < 0),
// as splitFields(msg, nil, limit) does.
func (fs *fieldSplit) get(msg string, limit int) []field {
	if fs.next < len(msg) && (limit < 0 || len(fs.fields) < limit) {
		fs.fields, fs.next = splitFrom(msg, fs.next, fs.fields, limit, &fs.tabs)
	}
	if limit >= 0 && len(fs.fields) > limit {
		return fs.fields[:limit]
	}
	return fs.fields
}

// match reports whether msg matches; when ext is not nil it also receives
// the extracted values.
func (sp *spacedPattern) match(msg string, ext *Values) bool {
	var buf [32]field
	fs := fieldSplit{fields: buf[:0]}
	return sp.matchSplit(msg, ext, &fs)
}

// matchSplit is match on the fields of msg in fs (split further as
// needed).
func (sp *spacedPattern) matchSplit(msg string, ext *Values, fs *fieldSplit) bool {
	k := len(sp.elems)
	if !sp.ellipsis {
		fields := fs.get(msg, k+1)
		if len(fields) < k {
			return false
		}
		for j := 0; j < k-1; j++ {
			if !sp.elems[j].match(msg[fields[j].vs:fields[j].ve]) {
				return false
			}
		}
		last := msg[fields[k-1].vs:fields[k-1].ve]
		if len(fields) > k {
			last = strings.TrimRight(msg[fields[k-1].start:], " \t")
		}
		if !sp.elems[k-1].match(last) {
			return false
		}
		if ext != nil {
			for j := 0; j < k-1; j++ {
				sp.extract(ext, j, j, msg[fields[j].vs:fields[j].ve])
			}
			sp.extract(ext, k-1, k-1, last)
		}
		return true
	}

	if k >= 2 && sp.elems[k-1].ellipsis && ext == nil {
		// A trailing "..." takes any number of fields: when it is the
		// only ellipsis, matching needs only the head's fields, not a
		// split of the whole line (extraction reports every field, so it
		// takes the full path below).
		head := k - 1
		for j := 0; j < head; j++ {
			if sp.elems[j].ellipsis {
				head = -1
				break
			}
		}
		if head > 0 {
			fields := fs.get(msg, head)
			if len(fields) < head {
				return false
			}
			for j := 0; j < head; j++ {
				if !sp.elems[j].match(msg[fields[j].vs:fields[j].ve]) {
					return false
				}
			}
			return true
		}
	}
	fields := fs.get(msg, -1)
	n := len(fields)
	val := func(f int) string { return msg[fields[f].vs:fields[f].ve] }
	// segs are the runs of elements between ellipses.
	segAt := func(e0, e1, f0 int) bool {
		for j := e0; j < e1; j++ {
			if !sp.elems[j].match(val(f0 + j - e0)) {
				return false
			}
		}
		return true
	}
	first := 0
	for first < k && !sp.elems[first].ellipsis {
		first++
	}
	last := k - 1
	for last >= 0 && !sp.elems[last].ellipsis {
		last--
	}
	headLen, tailLen := first, k-1-last
	if headLen+tailLen > n {
		return false
	}
	if !segAt(0, first, 0) || !segAt(last+1, k, n-tailLen) {
		return false
	}
	// place[j] is the field index of element j, for the middle groups.
	var place []int
	var placeBuf [32]int
	if ext != nil {
		place = placeBuf[:0]
		if k > len(placeBuf) {
			place = make([]int, k)
		}
		place = place[:k]
	}
	pos, limit := headLen, n-tailLen
	gi := 0
	for e := first + 1; e < last; {
		if sp.elems[e].ellipsis {
			e++
			continue
		}
		end := e
		for end < last && !sp.elems[end].ellipsis {
			end++
		}
		w := end - e
		g := &sp.groups[gi]
		gi++
		if pos = g.find(msg, fields, pos, limit, nil); pos < 0 {
			return false
		}
		if ext != nil {
			for j := e; j < end; j++ {
				place[j] = pos + j - e
			}
		}
		pos += w
		e = end
	}
	if ext != nil {
		var boundBuf [64]bool
		bound := boundBuf[:0]
		if n > len(boundBuf) {
			bound = make([]bool, n)
		}
		bound = bound[:n]
		for j := 0; j < k; j++ {
			if sp.elems[j].ellipsis {
				continue
			}
			f := place[j]
			if j < first {
				f = j
			} else if j > last {
				f = n - (k - j)
			}
			bound[f] = true
			sp.extract(ext, j, f, val(f))
		}
		for f := 0; f < n; f++ {
			if !bound[f] {
				ext.set("", f+1, val(f))
			}
		}
	}
	return true
}

// spGroup is a run of elements between two ellipses, [..., a, b, c, ...],
// compiled for its search: the leftmost w consecutive fields (from a given
// one on) that its w elements match.
//
// Trying every position and every element there costs fields × elements:
// a group of 250 "a=x" before one "b=y" took 0.35 s on a 240 KB event of
// 120,000 "x" fields. find instead reads each field once, keeping as bits
// (Shift-And) which prefixes of the group the fields read so far end: after
// field f, bit j says elements 0..j match the j+1 fields ending at f. Field
// f+1 extends prefix j to j+1 when element j+1 matches it. Elements with the
// same condition (the same text apart from their names) are one class,
// evaluated at most once per field and only when one of its elements could
// extend a prefix; elements without a condition match every field. A field
// thus costs one shift of w bits, one word test per element of a condition,
// and at most one evaluation of each distinct condition: linear in the
// fields, by a factor that only a group of many different conditions makes
// large (each is at least "a=1,": at most ~250 in 1,024 characters), and
// never more evaluations than trying every position made.
type spGroup struct {
	start, end int       // the group is elems[start:end]
	exprs      []*spExpr // their conditions (nil: none)
	free       []uint64  // elements without a condition
	classes    []spClass
}

// spClass is one distinct condition of a group and the elements that have it.
type spClass struct {
	expr  *spExpr
	words []spWord // the class's elements, as bits of the nonzero words
}

type spWord struct {
	i int    // word index: bits 64i..64i+63 are elements start+64i..
	m uint64 // the class's elements among them
}

// middleGroups compiles the groups of elems between their first and last
// ellipsis.
func middleGroups(elems []spElem) []spGroup {
	var gs []spGroup
	first := slices.IndexFunc(elems, func(e spElem) bool { return e.ellipsis })
	last := len(elems) - 1
	for last >= 0 && !elems[last].ellipsis {
		last--
	}
	for e := first + 1; e < last; {
		if elems[e].ellipsis {
			e++
			continue
		}
		end := e
		for end < last && !elems[end].ellipsis {
			end++
		}
		gs = append(gs, newGroup(elems, e, end))
		e = end
	}
	return gs
}

func newGroup(elems []spElem, start, end int) spGroup {
	w := end - start
	nw := (w + 63) / 64
	g := spGroup{start: start, end: end, free: make([]uint64, nw)}
	byKey := map[string]int{}
	for j := range w {
		x := elems[start+j].expr
		g.exprs = append(g.exprs, x)
		if x == nil {
			g.free[j/64] |= 1 << (j % 64)
			continue
		}
		var b strings.Builder
		x.key(&b)
		k, ok := byKey[b.String()]
		if !ok {
			k = len(g.classes)
			byKey[b.String()] = k
			g.classes = append(g.classes, spClass{expr: x})
		}
		c := &g.classes[k]
		if n := len(c.words); n > 0 && c.words[n-1].i == j/64 {
			c.words[n-1].m |= 1 << (j % 64)
		} else {
			c.words = append(c.words, spWord{i: j / 64, m: 1 << (j % 64)})
		}
	}
	return g
}

// key writes x's condition in a form equal for equal conditions: the same
// operators, values and structure, whatever the names.
func (x *spExpr) key(b *strings.Builder) {
	if x.op != 'c' {
		b.WriteByte(x.op)
		b.WriteByte('(')
		for _, k := range x.kids {
			k.key(b)
			b.WriteByte(',')
		}
		b.WriteByte(')')
		return
	}
	c := &x.c
	re := ""
	if c.re != nil {
		re = c.re.String()
	}
	fmt.Fprintf(b, "c%d/%d/%q/%q/%t/%t/%q", c.op, c.kind, c.text, c.glob.lit, c.glob.lead, c.glob.trail, re)
}

// narrowGroup is the widest group find searches by trying every position:
// a field then costs at most this many evaluations, and the usual
// [..., status=5*, bytes, ...] is not slowed by the bit sets (the "access"
// case of BenchmarkSpacedGroup took 40% longer by Shift-And).
const narrowGroup = 4

// find returns the smallest p >= pos with p+w <= limit at which the group's
// w elements match fields p..p+w-1, or -1. evals, when not nil, counts the
// conditions evaluated (TestSpacedGroupCost).
func (g *spGroup) find(msg string, fields []field, pos, limit int, evals *int) int {
	if g.end-g.start <= narrowGroup {
		return g.findEach(msg, fields, pos, limit, evals)
	}
	return g.findShiftAnd(msg, fields, pos, limit, evals)
}

// findEach is find by trying every position, each element in turn.
func (g *spGroup) findEach(msg string, fields []field, pos, limit int, evals *int) int {
	w := g.end - g.start
	for ; pos+w <= limit; pos++ {
		j := 0
		for ; j < w; j++ {
			x := g.exprs[j]
			if x == nil {
				continue
			}
			if evals != nil {
				*evals++
			}
			if !x.match(msg[fields[pos+j].vs:fields[pos+j].ve]) {
				break
			}
		}
		if j == w {
			return pos
		}
	}
	return -1
}

// findShiftAnd is find by Shift-And (spGroup).
func (g *spGroup) findShiftAnd(msg string, fields []field, pos, limit int, evals *int) int {
	w := g.end - g.start
	nw := len(g.free)
	var buf [16]uint64
	var d, nd []uint64
	if 2*nw <= len(buf) {
		d, nd = buf[:nw], buf[nw:2*nw]
	} else {
		d, nd = make([]uint64, nw), make([]uint64, nw)
	}
	// Bits above the group's last element, shifted in, go at the next
	// step: every mask of the step (free, the classes') has none.
	topWord, top := nw-1, uint64(1)<<((w-1)%64)
	for f := pos; f < limit; f++ {
		// d becomes the prefixes field f may extend: those that ended at
		// f-1, one longer, and the empty one.
		carry := uint64(1)
		for i := range d {
			next := d[i] >> 63
			d[i] = d[i]<<1 | carry
			carry = next
		}
		for i := range nd {
			nd[i] = d[i] & g.free[i]
		}
		var fv fieldValue
		read := false
		for ci := range g.classes {
			c := &g.classes[ci]
			need := false
			for _, wd := range c.words {
				if d[wd.i]&wd.m != 0 {
					need = true
					break
				}
			}
			if !need {
				continue
			}
			if !read {
				fv.text, read = msg[fields[f].vs:fields[f].ve], true
			}
			if evals != nil {
				*evals++
			}
			if c.expr.matchValue(&fv) {
				for _, wd := range c.words {
					nd[wd.i] |= d[wd.i] & wd.m
				}
			}
		}
		d, nd = nd, d
		if d[topWord]&top != 0 {
			return f - w + 1
		}
	}
	return -1
}

func (sp *spacedPattern) extract(ext *Values, elem, f int, v string) {
	if name := sp.elems[elem].name; name != "" {
		ext.set(name, 0, v)
		return
	}
	ext.set("", f+1, v)
}

// matchesAll reports whether match is true for every message.
func (sp *spacedPattern) matchesAll() bool {
	for _, e := range sp.elems {
		if !e.ellipsis {
			return false
		}
	}
	return true
}
