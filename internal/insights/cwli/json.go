package cwli

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxJSONFields is how many leaves of a JSON event become fields
// (insights.md §5.3: 200 in the current documentation).
const maxJSONFields = 200

// extract fills r.js with the JSON fields the query reads. Only events whose
// message is a JSON object have them; the walk compares each flattened path
// with the query's names without building a map, and values that hold no
// escapes are substrings of the message (no allocation).
func (x *env) extract(r *row) {
	r.jsOK = true
	n := len(x.q.jsonNames)
	if cap(r.js) < n {
		r.js = make([]Value, n)
	}
	r.js = r.js[:n]
	for i := range r.js {
		r.js[i] = null
	}
	msg := r.ev.Message
	i := skipWS(msg, 0)
	if i >= len(msg) || msg[i] != '{' {
		return
	}
	if !x.q.jsonDotted && !x.fullWalk && extractTop(msg, i, x.q, r.js) {
		return
	}
	w := &x.walker
	w.src, w.path, w.ids, w.names, w.out, w.lens = msg, x.pbuf[:0], x.q.jsonIDs, x.q.jsonNames, r.js, &x.q.jsonLens
	w.leaf, w.leaves, w.bad, w.found = nil, 0, false, 0
	w.value(i, 0)
	x.pbuf = w.path
	w.out, w.src = nil, ""
}

// jsonWalker walks JSON text calling leaf for every scalar leaf with its
// flattened path (dots between keys, array indexes as segments). Invalid
// JSON ends the walk; leaves found so far stay.
type jsonWalker struct {
	src    string
	path   []byte
	leaf   func(path []byte, v Value) bool
	leaves int
	bad    bool
	// without leaf: the leaves whose path is in ids go to out[id]; the walk
	// stops once all are found
	ids   map[string]int
	names []string  // the same names by id
	lens  *[65]bool // lens[n]: some wanted name has length n (64: longer)
	out   []Value
	found int
}

const maxJSONDepth = 64

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// value walks the value at i and returns the offset after it.
func (w *jsonWalker) value(i, depth int) int {
	i = skipWS(w.src, i)
	if i >= len(w.src) || depth > maxJSONDepth {
		w.bad = true
		return len(w.src)
	}
	switch c := w.src[i]; {
	case c == '{':
		i = skipWS(w.src, i+1)
		if i < len(w.src) && w.src[i] == '}' {
			return i + 1
		}
		for !w.bad {
			i = skipWS(w.src, i)
			if i >= len(w.src) || w.src[i] != '"' {
				w.bad = true
				return len(w.src)
			}
			k, j, ok := jsonString(w.src, i)
			if !ok {
				w.bad = true
				return len(w.src)
			}
			j = skipWS(w.src, j)
			if j >= len(w.src) || w.src[j] != ':' {
				w.bad = true
				return len(w.src)
			}
			mark := len(w.path)
			if mark > 0 {
				w.path = append(w.path, '.')
			}
			w.path = append(w.path, k...)
			i = w.value(j+1, depth+1)
			w.path = w.path[:mark]
			i = skipWS(w.src, i)
			if i < len(w.src) && w.src[i] == ',' {
				i++
				continue
			}
			if i < len(w.src) && w.src[i] == '}' {
				return i + 1
			}
			w.bad = true
		}
		return len(w.src)
	case c == '[':
		i = skipWS(w.src, i+1)
		if i < len(w.src) && w.src[i] == ']' {
			return i + 1
		}
		for n := 0; !w.bad; n++ {
			mark := len(w.path)
			if mark > 0 {
				w.path = append(w.path, '.')
			}
			w.path = strconv.AppendInt(w.path, int64(n), 10)
			i = w.value(i, depth+1)
			w.path = w.path[:mark]
			i = skipWS(w.src, i)
			if i < len(w.src) && w.src[i] == ',' {
				i++
				continue
			}
			if i < len(w.src) && w.src[i] == ']' {
				return i + 1
			}
			w.bad = true
		}
		return len(w.src)
	case c == '"':
		s, j, ok := jsonString(w.src, i)
		if !ok {
			w.bad = true
			return len(w.src)
		}
		w.emit(str(s))
		return j
	default:
		j := i
		for j < len(w.src) && !scalarEnd(w.src[j]) {
			j++
		}
		lit := w.src[i:j]
		if lit == "null" {
			return j
		}
		if lit == "" {
			w.bad = true
			return len(w.src)
		}
		w.emit(str(lit)) // numbers and booleans keep their text
		return j
	}
}

func scalarEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ',', ']', '}':
		return true
	}
	return false
}

func (w *jsonWalker) emit(v Value) {
	if w.leaves >= maxJSONFields {
		return
	}
	w.leaves++
	if w.leaf == nil {
		if !w.lens[min(len(w.path), 64)] {
			return
		}
		id, ok := -1, false
		if len(w.names) <= 8 {
			// a few names: comparing beats hashing
			for i, n := range w.names {
				if len(n) == len(w.path) && n == string(w.path) {
					id, ok = i, true
					break
				}
			}
		} else {
			id, ok = w.ids[string(w.path)]
		}
		if ok && w.out[id].k == kNull {
			w.out[id] = v
			if w.found++; w.found == len(w.out) {
				w.bad = true // all found: stop
			}
		}
		return
	}
	if !w.leaf(w.path, v) {
		w.bad = true
	}
}

// jsonString decodes the JSON string starting at s[i] == '"'; it returns a
// substring of s when there are no escapes.
func jsonString(s string, i int) (string, int, bool) {
	j := i + 1
	for j < len(s) {
		c := s[j]
		if c == '"' {
			return s[i+1 : j], j + 1, true
		}
		if c == '\\' {
			break
		}
		j++
	}
	if j >= len(s) {
		return "", 0, false
	}
	var b strings.Builder
	b.WriteString(s[i+1 : j])
	for j < len(s) {
		c := s[j]
		switch {
		case c == '"':
			return b.String(), j + 1, true
		case c == '\\' && j+1 < len(s):
			j++
			switch s[j] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'u':
				if j+4 < len(s) {
					if n, err := strconv.ParseUint(s[j+1:j+5], 16, 32); err == nil {
						r := rune(n)
						j += 4
						if r >= 0xD800 && r < 0xDC00 && j+6 < len(s) && s[j+1] == '\\' && s[j+2] == 'u' {
							if m, err := strconv.ParseUint(s[j+3:j+7], 16, 32); err == nil && m >= 0xDC00 && m < 0xE000 {
								r = (r-0xD800)<<10 | (rune(m) - 0xDC00) + 0x10000
								j += 6
							}
						}
						if !utf8.ValidRune(r) {
							r = utf8.RuneError
						}
						b.WriteRune(r)
						break
					}
				}
				return "", 0, false
			default:
				b.WriteByte(s[j])
			}
			j++
		default:
			b.WriteByte(c)
			j++
		}
	}
	return "", 0, false
}

// parseJSONValue decodes JSON text into a Value (maps keep key order), for
// jsonParse. Bounded by depth; invalid text gives null.
func parseJSONValue(s string) Value {
	p := jsonParser{src: s}
	v, i := p.value(skipWS(s, 0), 0)
	if p.bad || skipWS(s, i) != len(s) {
		return null
	}
	return v
}

type jsonParser struct {
	src string
	bad bool
}

func (p *jsonParser) value(i, depth int) (Value, int) {
	s := p.src
	i = skipWS(s, i)
	if i >= len(s) || depth > maxJSONDepth {
		p.bad = true
		return null, len(s)
	}
	switch s[i] {
	case '{':
		c := &composite{}
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == '}' {
			return Value{k: kMap, c: c}, i + 1
		}
		for {
			i = skipWS(s, i)
			if i >= len(s) || s[i] != '"' {
				p.bad = true
				return null, len(s)
			}
			k, j, ok := jsonString(s, i)
			j = skipWS(s, j)
			if !ok || j >= len(s) || s[j] != ':' {
				p.bad = true
				return null, len(s)
			}
			var v Value
			v, i = p.value(j+1, depth+1)
			if p.bad {
				return null, len(s)
			}
			c.keys, c.vals = append(c.keys, k), append(c.vals, v)
			i = skipWS(s, i)
			if i < len(s) && s[i] == ',' {
				i++
				continue
			}
			if i < len(s) && s[i] == '}' {
				return Value{k: kMap, c: c}, i + 1
			}
			p.bad = true
			return null, len(s)
		}
	case '[':
		c := &composite{list: []Value{}}
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == ']' {
			return Value{k: kList, c: c}, i + 1
		}
		for {
			var v Value
			v, i = p.value(i, depth+1)
			if p.bad {
				return null, len(s)
			}
			c.list = append(c.list, v)
			i = skipWS(s, i)
			if i < len(s) && s[i] == ',' {
				i++
				continue
			}
			if i < len(s) && s[i] == ']' {
				return Value{k: kList, c: c}, i + 1
			}
			p.bad = true
			return null, len(s)
		}
	case '"':
		str0, j, ok := jsonString(s, i)
		if !ok {
			p.bad = true
			return null, len(s)
		}
		return str(str0), j
	}
	j := i
	for j < len(s) && !scalarEnd(s[j]) {
		j++
	}
	lit := s[i:j]
	switch lit {
	case "null":
		return null, j
	case "true", "false":
		return boolean(lit == "true"), j
	}
	if f, ok := parseNumber(lit); ok {
		return num(f), j
	}
	p.bad = true
	return null, len(s)
}
