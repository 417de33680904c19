package pattern

import "strconv"

// Values are the values one match extracted (see Pattern.Extract for
// which), kept in a reusable slice instead of a map. Their keys are
// "$name" and "$N" for space-delimited patterns and the selector as
// written for JSON ones; a key set twice keeps its last value, as a map
// would.
type Values struct {
	kv []extracted
}

type extracted struct {
	name string // a JSON selector, or a space-delimited element's name
	pos  int    // > 0: a space-delimited field's 1-based position (key "$pos"); 0: a named element ("$name"); -1: a JSON selector
	text string
	good bool // JSON: the value satisfied one of the selector's conditions
}

func (v *Values) set(name string, pos int, text string) {
	v.kv = append(v.kv, extracted{name: name, pos: pos, text: text})
}

// record keeps, for a JSON selector, the first value that satisfied one of
// its conditions, else the first scalar it reached.
func (v *Values) record(sel, text string, ok bool) {
	for i := range v.kv {
		if e := &v.kv[i]; e.pos < 0 && e.name == sel {
			if e.good || !ok {
				return
			}
			e.text, e.good = text, true
			return
		}
	}
	v.kv = append(v.kv, extracted{name: sel, pos: -1, text: text, good: ok})
}

func (e *extracted) key() string {
	if e.pos > 0 {
		return "$" + strconv.Itoa(e.pos)
	}
	if e.pos == 0 {
		return "$" + e.name // a space-delimited element's name
	}
	return e.name
}

// Get is the value of key, as Extract's map has it.
func (v *Values) Get(key string) (string, bool) {
	pos := -1
	if len(key) > 1 && key[0] == '$' {
		pos = canonicalInt(key[1:])
	}
	for i := len(v.kv) - 1; i >= 0; i-- {
		e := &v.kv[i]
		switch {
		case e.pos > 0:
			if e.pos == pos {
				return e.text, true
			}
		case e.pos < 0:
			if e.name == key {
				return e.text, true
			}
		default:
			if len(key) == len(e.name)+1 && key[0] == '$' && key[1:] == e.name {
				return e.text, true
			}
		}
	}
	return "", false
}

// Len is the number of values (a key set twice counted twice).
func (v *Values) Len() int { return len(v.kv) }

// AppendKey appends the key of value i (0 <= i < Len, in the order the
// match set them) to dst, as Map has it: an encoder that writes every value
// reads them this way without building a map or a string per key.
func (v *Values) AppendKey(dst []byte, i int) []byte {
	e := &v.kv[i]
	switch {
	case e.pos > 0:
		return strconv.AppendInt(append(dst, '$'), int64(e.pos), 10)
	case e.pos == 0:
		return append(append(dst, '$'), e.name...)
	}
	return append(dst, e.name...)
}

// Named reports whether value i (0 <= i < Len) is a space-delimited
// pattern's named element (key "$name"), not a field known by its
// position ("$N") nor a JSON selector.
func (v *Values) Named(i int) bool { return v.kv[i].pos == 0 }

// Text is the text of value i (0 <= i < Len); where a key is set twice,
// Map keeps the later one.
func (v *Values) Text(i int) string { return v.kv[i].text }

// Map is the values as Extract returns them.
func (v *Values) Map() map[string]string {
	m := make(map[string]string, len(v.kv))
	for i := range v.kv {
		m[v.kv[i].key()] = v.kv[i].text
	}
	return m
}

// canonicalInt is s as a positive decimal integer written without leading
// zeros ("$01" is not the key of field 1), or -1.
func canonicalInt(s string) int {
	if s == "" || s[0] == '0' || len(s) > 9 {
		return -1
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return -1
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}
