package transform

import (
	"errors"
	"math"
	"strconv"

	"github.com/cairnlog/cairn/internal/jsonenc"
)

// The event a transformer builds is a JSON object whose key order is kept
// (AWS's examples print parsed keys in their input order, then the keys later
// processors add), so it is not a Go map: an Object is a small ordered list of
// members, looked up linearly (a transformer extracts at most 200 fields).
//
// Values are: *Object, []any, string, float64 (numbers parsed from JSON keep
// their text in Number so that 12345678901234567890 is not rounded), Number,
// bool, nil.

// Object is an ordered JSON object.
type Object struct {
	keys []string
	vals []any
}

// Number is a JSON number kept as its text.
type Number string

// Len is the number of members.
func (o *Object) Len() int { return len(o.keys) }

func (o *Object) index(k string) int {
	for i, key := range o.keys {
		if key == k {
			return i
		}
	}
	return -1
}

// Get returns the member k.
func (o *Object) Get(k string) (any, bool) {
	if i := o.index(k); i >= 0 {
		return o.vals[i], true
	}
	return nil, false
}

// Set replaces or appends member k.
func (o *Object) Set(k string, v any) {
	if i := o.index(k); i >= 0 {
		o.vals[i] = v
		return
	}
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
}

// Delete removes member k.
func (o *Object) Delete(k string) bool {
	i := o.index(k)
	if i < 0 {
		return false
	}
	o.keys = append(o.keys[:i], o.keys[i+1:]...)
	o.vals = append(o.vals[:i], o.vals[i+1:]...)
	return true
}

// Keys returns the member names in order (not a copy).
func (o *Object) Keys() []string { return o.keys }

// deepCopy copies a value so that copyValue's target does not alias its source.
func deepCopy(v any) any {
	switch x := v.(type) {
	case *Object:
		c := &Object{keys: append([]string(nil), x.keys...), vals: make([]any, len(x.vals))}
		for i, e := range x.vals {
			c.vals[i] = deepCopy(e)
		}
		return c
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = deepCopy(e)
		}
		return c
	}
	return v
}

// maxDepth bounds the nesting a parsed document may have, so a hostile
// message cannot exhaust the stack.
const maxDepth = 64

var errSyntax = errors.New("invalid JSON")

// parseJSON parses one JSON value (with nothing but white space after it).
func parseJSON(s string) (any, error) {
	p := jsonParser{s: s}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.s) {
		return nil, errSyntax
	}
	return v, nil
}

type jsonParser struct {
	s string
	i int
}

func (p *jsonParser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, errSyntax
	}
	p.ws()
	if p.i >= len(p.s) {
		return nil, errSyntax
	}
	switch c := p.s[p.i]; {
	case c == '{':
		p.i++
		o := &Object{}
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return o, nil
		}
		for {
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != '"' {
				return nil, errSyntax
			}
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != ':' {
				return nil, errSyntax
			}
			p.i++
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			o.Set(k, v) // a repeated key: the last one wins, as in most parsers
			p.ws()
			if p.i >= len(p.s) {
				return nil, errSyntax
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] == '}' {
				p.i++
				return o, nil
			}
			return nil, errSyntax
		}
	case c == '[':
		p.i++
		a := []any{}
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return a, nil
		}
		for {
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
			p.ws()
			if p.i >= len(p.s) {
				return nil, errSyntax
			}
			if p.s[p.i] == ',' {
				p.i++
				continue
			}
			if p.s[p.i] == ']' {
				p.i++
				return a, nil
			}
			return nil, errSyntax
		}
	case c == '"':
		return p.str()
	case c == 't':
		return p.lit("true", true)
	case c == 'f':
		return p.lit("false", false)
	case c == 'n':
		return p.lit("null", nil)
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.i
		if c == '-' {
			p.i++
		}
		digits := func() int {
			n := 0
			for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
				p.i++
				n++
			}
			return n
		}
		if p.i < len(p.s) && p.s[p.i] == '0' {
			p.i++
		} else if digits() == 0 {
			return nil, errSyntax
		}
		if p.i < len(p.s) && p.s[p.i] == '.' {
			p.i++
			if digits() == 0 {
				return nil, errSyntax
			}
		}
		if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
			p.i++
			if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
				p.i++
			}
			if digits() == 0 {
				return nil, errSyntax
			}
		}
		return Number(p.s[start:p.i]), nil
	}
	return nil, errSyntax
}

func (p *jsonParser) lit(word string, v any) (any, error) {
	if len(p.s)-p.i < len(word) || p.s[p.i:p.i+len(word)] != word {
		return nil, errSyntax
	}
	p.i += len(word)
	return v, nil
}

// str parses a string starting at the opening quote.
func (p *jsonParser) str() (string, error) {
	p.i++
	start := p.i
	for p.i < len(p.s) { // fast path: no escapes
		c := p.s[p.i]
		if c == '"' {
			s := p.s[start:p.i]
			p.i++
			return s, nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.i++
	}
	// An escape (or a control character, which AppendUnescaped refuses).
	buf, n, ok := jsonenc.AppendUnescaped([]byte(p.s[start:p.i]), p.s[p.i:])
	if !ok {
		return "", errSyntax
	}
	p.i += n
	return string(buf), nil
}

// appendJSON encodes v.
func appendJSON(dst []byte, v any) []byte {
	switch x := v.(type) {
	case *Object:
		dst = append(dst, '{')
		for i, k := range x.keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = appendJSON(dst, x.vals[i])
		}
		return append(dst, '}')
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSON(dst, e)
		}
		return append(dst, ']')
	case string:
		return appendString(dst, x)
	case Number:
		return append(dst, x...)
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return append(dst, "null"...)
		}
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.AppendFloat(dst, x, 'f', 1, 64) // 2.0 stays a double
		}
		return strconv.AppendFloat(dst, x, 'g', -1, 64)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case bool:
		return strconv.AppendBool(dst, x)
	case nil:
		return append(dst, "null"...)
	}
	return append(dst, "null"...)
}

// appendString appends s as a JSON string (package jsonenc).
func appendString(dst []byte, s string) []byte { return jsonenc.AppendString(dst, s) }
