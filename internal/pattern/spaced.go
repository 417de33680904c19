package pattern

import (
	"math/bits"
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
	switch x.op {
	case '&':
		for _, k := range x.kids {
			if !k.match(text) {
				return false
			}
		}
		return true
	case '|':
		for _, k := range x.kids {
			if k.match(text) {
				return true
			}
		}
		return false
	}
	return x.c.matchField(text)
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
		found := false
		for ; pos+w <= limit; pos++ {
			if segAt(e, end, pos) {
				found = true
				break
			}
		}
		if !found {
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
