package pattern

import (
	"encoding/binary"
	"math/bits"
	"strings"
	"unsafe"

	"github.com/cairnlog/cairn/internal/jsonenc"
)

// nodeSet holds the trie nodes a position in the message is selected by.
// With at most one wildcard per selector and MaxJSONWildcards per pattern, a
// position is reached by at most 2^3 trie paths.
type nodeSet struct {
	n int
	a [1 << MaxJSONWildcards]*jnode
}

func (s *nodeSet) add(n *jnode) {
	if s.n == len(s.a) {
		panic("BUG: pattern: more selector paths than the wildcard limit allows")
	}
	s.a[s.n] = n
	s.n++
}

type bitset [maxJSONConds / 64]uint64

func (b *bitset) set(i int)      { b[i>>6] |= 1 << (i & 63) }
func (b *bitset) has(i int) bool { return b[i>>6]&(1<<(i&63)) != 0 }

// jsonEval is the state of one match of a JSON pattern against a message.
type jsonEval struct {
	pat *jsonPattern
	s   string
	sat bitset // conditions satisfied; for NOT EXISTS, the selector was found
	ext *Values
}

// match reports whether msg is a JSON object satisfying the pattern. It
// validates the whole message as JSON in one pass, decoding only the keys
// and strings that selectors reach.
//
// A duplicate key is seen once per occurrence, so a condition holds if any
// occurrence satisfies it (AWS's parser keeps the last; messages with
// duplicate keys are rare and the difference is not worth a second pass).
func (p *jsonPattern) match(msg string, ext *Values) bool {
	e := jsonEval{pat: p, s: msg, ext: ext}
	i := skipWS(msg, 0)
	if i >= len(msg) || msg[i] != '{' {
		return false
	}
	root := nodeSet{n: 1}
	root.a[0] = p.root
	i, ok := e.object(i, &root, 1)
	if !ok || skipWS(msg, i) != len(msg) {
		return false
	}
	return e.eval(p.expr)
}

func (e *jsonEval) eval(x *jexpr) bool {
	switch x.op {
	case '&':
		for _, k := range x.kids {
			if !e.eval(k) {
				return false
			}
		}
		return true
	case '|':
		for _, k := range x.kids {
			if e.eval(k) {
				return true
			}
		}
		return false
	}
	if e.pat.conds[x.cond].notExists {
		return !e.sat.has(x.cond)
	}
	return e.sat.has(x.cond)
}

func skipWS(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value evaluates the value at s[i], selected by the nodes in set.
func (e *jsonEval) value(i int, set *nodeSet, depth int) (int, bool) {
	s := e.s
	if i >= len(s) {
		return i, false
	}
	for k := 0; k < set.n; k++ {
		for _, id := range set.a[k].exists {
			e.sat.set(id)
		}
	}
	switch c := s[i]; c {
	case '{':
		return e.object(i, set, depth+1)
	case '[':
		return e.array(i, set, depth+1)
	case '"':
		end, esc, ok := scanString(s, i)
		if !ok {
			return end, false
		}
		if setHasConds(set) {
			text := s[i+1 : end-1]
			if esc {
				text = unescape(text)
			}
			e.scalar(set, kindString, text)
		}
		return end, true
	case 't', 'f', 'n':
		kind, lit := kindTrue, "true"
		if c == 'f' {
			kind, lit = kindFalse, "false"
		} else if c == 'n' {
			kind, lit = kindNull, "null"
		}
		if !strings.HasPrefix(s[i:], lit) {
			return i, false
		}
		e.scalar(set, kind, lit)
		return i + len(lit), true
	default:
		end, ok := scanNumber(s, i)
		if !ok {
			return end, false
		}
		e.scalar(set, kindNumber, s[i:end])
		return end, true
	}
}

func setHasConds(set *nodeSet) bool {
	for k := 0; k < set.n; k++ {
		if len(set.a[k].conds) > 0 {
			return true
		}
	}
	return false
}

func (e *jsonEval) scalar(set *nodeSet, kind byte, text string) {
	for k := 0; k < set.n; k++ {
		for _, id := range set.a[k].conds {
			if e.ext == nil && e.sat.has(id) {
				continue
			}
			c := &e.pat.conds[id]
			ok := c.v.matchScalar(kind, text)
			if ok {
				e.sat.set(id)
			}
			if e.ext != nil {
				e.ext.record(c.sel, text, ok)
			}
		}
	}
}

func (e *jsonEval) object(i int, set *nodeSet, depth int) (int, bool) {
	if depth > MaxJSONDepth {
		return i, false
	}
	s := e.s
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		return i + 1, true
	}
	var child nodeSet
	for {
		if i >= len(s) || s[i] != '"' {
			return i, false
		}
		kend, kesc, ok := scanString(s, i)
		if !ok {
			return kend, false
		}
		key := s[i+1 : kend-1]
		i = skipWS(s, kend)
		if i >= len(s) || s[i] != ':' {
			return i, false
		}
		i = skipWS(s, i+1)
		child.n = 0
		if kesc {
			key = unescape(key)
		}
		for k := 0; k < set.n; k++ {
			n := set.a[k]
			if c := n.field(key); c != nil {
				child.add(c)
			}
			if n.anyField != nil {
				child.add(n.anyField)
			}
		}
		if child.n == 0 {
			i, ok = skipValue(s, i, depth)
		} else {
			i, ok = e.value(i, &child, depth)
		}
		if !ok {
			return i, false
		}
		i = skipWS(s, i)
		if i >= len(s) {
			return i, false
		}
		switch s[i] {
		case ',':
			i = skipWS(s, i+1)
		case '}':
			return i + 1, true
		default:
			return i, false
		}
	}
}

func (e *jsonEval) array(i int, set *nodeSet, depth int) (int, bool) {
	if depth > MaxJSONDepth {
		return i, false
	}
	s := e.s
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == ']' {
		return i + 1, true
	}
	var child nodeSet
	var ok bool
	for idx := 0; ; idx++ {
		child.n = 0
		for k := 0; k < set.n; k++ {
			n := set.a[k]
			for j := range n.elems {
				if n.elems[j].idx == idx {
					child.add(n.elems[j].node)
					break
				}
			}
			if n.anyElem != nil {
				child.add(n.anyElem)
			}
		}
		if child.n == 0 {
			i, ok = skipValue(s, i, depth)
		} else {
			i, ok = e.value(i, &child, depth)
		}
		if !ok {
			return i, false
		}
		i = skipWS(s, i)
		if i >= len(s) {
			return i, false
		}
		switch s[i] {
		case ',':
			i = skipWS(s, i+1)
		case ']':
			return i + 1, true
		default:
			return i, false
		}
	}
}

// skipValue validates and skips the JSON value at s[i] without looking at
// its contents. depth is the nesting depth of the value's container.
func skipValue(s string, i int, depth int) (int, bool) {
	if i >= len(s) {
		return i, false
	}
	switch s[i] {
	case '"':
		end, _, ok := scanString(s, i)
		return end, ok
	case '{':
		if depth+1 > MaxJSONDepth {
			return i, false
		}
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == '}' {
			return i + 1, true
		}
		for {
			if i >= len(s) || s[i] != '"' {
				return i, false
			}
			end, _, ok := scanString(s, i)
			if !ok {
				return end, false
			}
			i = skipWS(s, end)
			if i >= len(s) || s[i] != ':' {
				return i, false
			}
			if i, ok = skipValue(s, skipWS(s, i+1), depth+1); !ok {
				return i, false
			}
			i = skipWS(s, i)
			if i >= len(s) {
				return i, false
			}
			switch s[i] {
			case ',':
				i = skipWS(s, i+1)
			case '}':
				return i + 1, true
			default:
				return i, false
			}
		}
	case '[':
		if depth+1 > MaxJSONDepth {
			return i, false
		}
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == ']' {
			return i + 1, true
		}
		for {
			var ok bool
			if i, ok = skipValue(s, i, depth+1); !ok {
				return i, false
			}
			i = skipWS(s, i)
			if i >= len(s) {
				return i, false
			}
			switch s[i] {
			case ',':
				i = skipWS(s, i+1)
			case ']':
				return i + 1, true
			default:
				return i, false
			}
		}
	case 't':
		return i + 4, strings.HasPrefix(s[i:], "true")
	case 'f':
		return i + 5, strings.HasPrefix(s[i:], "false")
	case 'n':
		return i + 4, strings.HasPrefix(s[i:], "null")
	}
	return scanNumber(s, i)
}

// scanString validates the JSON string starting at s[i] == '"' and returns
// the offset after its closing quote and whether it holds escapes.
func scanString(s string, i int) (end int, esc bool, ok bool) {
	j := i + 1
	for j < len(s) {
		// Eight bytes at a time up to the next byte that may end the
		// string, start an escape or be a control character.
		for j+8 <= len(s) {
			if m := stringStops(load64(s, j)); m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				break
			}
			j += 8
		}
		if j >= len(s) {
			break
		}
		c := s[j]
		switch {
		case c == '"':
			return j + 1, esc, true
		case c == '\\':
			esc = true
			if j+1 >= len(s) {
				return j, false, false
			}
			switch s[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+5 >= len(s) || !isHex(s[j+2]) || !isHex(s[j+3]) || !isHex(s[j+4]) || !isHex(s[j+5]) {
					return j, false, false
				}
				j += 6
			default:
				return j, false, false
			}
		case c < 0x20:
			return j, false, false
		default:
			j++
		}
	}
	return j, false, false
}

// scanNumber validates the JSON number at s[i] and returns its end.
func scanNumber(s string, i int) (int, bool) {
	j := i
	if j < len(s) && s[j] == '-' {
		j++
	}
	switch {
	case j < len(s) && s[j] == '0':
		j++
	case j < len(s) && s[j] >= '1' && s[j] <= '9':
		for j < len(s) && isDigit(s[j]) {
			j++
		}
	default:
		return j, false
	}
	if j < len(s) && s[j] == '.' {
		j++
		d := j
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == d {
			return j, false
		}
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		j++
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		d := j
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if j == d {
			return j, false
		}
	}
	return j, true
}

// unescape decodes the body of a JSON string already checked by scanString
// (jsonenc's decoder, which the transformer's parser and the bench's
// readers share).
func unescape(raw string) string {
	b, _ := jsonenc.AppendUnescapedBody(make([]byte, 0, len(raw)), raw)
	return string(b)
}

// load64 is the eight bytes of s from i, the first lowest.
func load64(s string, i int) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// stringStops has the high bit set of the lowest byte of w that is '"',
// '\\' or below 0x20, if any (bits above the lowest may be false: a
// borrow spreads upwards, so callers use only the lowest).
func stringStops(w uint64) uint64 {
	q := w ^ '"'*ones
	b := w ^ '\\'*ones
	return ((w-0x20*ones)&^w | (q-ones)&^q | (b-ones)&^b) & highs
}
