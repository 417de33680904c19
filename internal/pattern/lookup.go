package pattern

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// LookupJSON returns the text of the scalar at path in the JSON document
// msg, on the raw bytes: no decoding of the document into maps, and no
// allocation unless the string value holds escapes or invalid UTF-8. path
// holds object keys and "[N]" array indexes (a metric filter's $.a.b[0]).
// Strings are decoded, numbers are their JSON text, booleans "true" and
// "false"; null, objects, arrays, a missing step and a message that is not
// valid JSON give ok false. A key that occurs twice in an object is taken
// at its last occurrence, as a decoder into a map keeps it.
//
// It is what decoding msg into map[string]any (numbers kept as text) and
// walking the path gives, which FuzzLookupJSON checks against
// encoding/json.
func LookupJSON(msg string, path []string) (string, bool) {
	i := skipWS(msg, 0)
	start, end, ok := lookupValue(msg, i, path, 0)
	if !ok || skipWS(msg, end) != len(msg) || start < 0 {
		return "", false
	}
	return scalarAt(msg, start, end)
}

// lookupValue validates the value at s[i] and returns where the value at
// path inside it starts and ends (start -1: not there), and the value's own
// end.
func lookupValue(s string, i int, path []string, depth int) (start, end int, ok bool) {
	if len(path) == 0 {
		e, ok := skipValue(s, i, depth)
		return i, e, ok
	}
	if i >= len(s) {
		return -1, i, false
	}
	step := path[0]
	switch {
	case s[i] == '{' && !isIndexStep(step):
		if depth+1 > MaxJSONDepth {
			return -1, i, false
		}
		start = -1
		var vend int
		names := stepNamesOf(step)
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == '}' {
			return -1, i + 1, true
		}
		for {
			if i >= len(s) || s[i] != '"' {
				return -1, i, false
			}
			kend, esc, ok := scanString(s, i)
			if !ok {
				return -1, kend, false
			}
			match := names.match(s[i+1:kend-1], esc, step)
			i = skipWS(s, kend)
			if i >= len(s) || s[i] != ':' {
				return -1, i, false
			}
			i = skipWS(s, i+1)
			if match {
				// The last occurrence wins: a later duplicate replaces
				// what an earlier one found, present or not.
				var st int
				if st, vend, ok = lookupValue(s, i, path[1:], depth+1); !ok {
					return -1, vend, false
				}
				start, end = st, vend
				i = vend
			} else if i, ok = skipValue(s, i, depth+1); !ok {
				return -1, i, false
			}
			i = skipWS(s, i)
			if i >= len(s) {
				return -1, i, false
			}
			switch s[i] {
			case ',':
				i = skipWS(s, i+1)
			case '}':
				if start < 0 {
					return -1, i + 1, true
				}
				return start, i + 1, true
			default:
				return -1, i, false
			}
		}
	case s[i] == '[' && isIndexStep(step):
		if depth+1 > MaxJSONDepth {
			return -1, i, false
		}
		want, err := strconv.Atoi(step[1 : len(step)-1])
		if err != nil {
			want = -1
		}
		start = -1
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == ']' {
			return -1, i + 1, true
		}
		for n := 0; ; n++ {
			var ok bool
			if n == want {
				var st int
				if st, i, ok = lookupValue(s, i, path[1:], depth+1); !ok {
					return -1, i, false
				}
				start = st
			} else if i, ok = skipValue(s, i, depth+1); !ok {
				return -1, i, false
			}
			i = skipWS(s, i)
			if i >= len(s) {
				return -1, i, false
			}
			switch s[i] {
			case ',':
				i = skipWS(s, i+1)
			case ']':
				return start, i + 1, true
			default:
				return -1, i, false
			}
		}
	}
	// The step does not apply to this value (a key into an array, an index
	// into an object, a step into a scalar): not there, but the value must
	// still be valid.
	e, ok := skipValue(s, i, depth)
	return -1, e, ok
}

// Member names decode as string values do: escapes decoded, and each byte
// that is not part of valid UTF-8 read as U+FFFD, as encoding/json (the
// oracle FuzzLookupJSON checks against) decodes them. RFC 8259 §8.1 makes
// JSON text UTF-8, AWS's JSON front end refuses a body that is not
// (protocol.checkText does the same), and AWS says nothing of a message
// that holds such bytes, so Cairn reads them as the decoder does and as
// scalarAt reads values: a name holding the byte 0xff is the name "\uFFFD",
// and a path step that is itself not UTF-8 names no member at all (no
// decoded name holds an invalid byte). Matching the raw bytes instead would
// give a path step an answer no decoder of the same message gives.
//
// stepNames is what a path step can match: nothing if the step is not
// UTF-8; names with invalid bytes only if the step holds U+FFFD (the only
// way such a name, decoded, can equal it). It is computed once per object,
// so that the common name (no escape, valid) is one comparison.
type stepNames uint8

const (
	stepNone    stepNames = iota // the step is not UTF-8: no name matches
	stepPlain                    // valid UTF-8 without U+FFFD
	stepReplace                  // holds U+FFFD: a name's invalid bytes may decode to it
)

func stepNamesOf(step string) stepNames {
	switch {
	case !utf8.ValidString(step):
		return stepNone
	case strings.Contains(step, "\uFFFD"):
		return stepReplace
	}
	return stepPlain
}

// match reports whether the raw member name key (between its quotes; esc:
// it holds escapes) decodes to step.
func (n stepNames) match(key string, esc bool, step string) bool {
	if n == stepNone {
		return false
	}
	if esc {
		key = unescape(key)
	}
	if n == stepReplace && !utf8.ValidString(key) {
		key = replaceInvalid(key)
	}
	return key == step
}

func isIndexStep(step string) bool {
	return len(step) >= 2 && step[0] == '[' && step[len(step)-1] == ']'
}

// scalarAt is the text of the scalar value at s[start:] (its end found
// again: lookupValue reports the end of the enclosing value).
func scalarAt(s string, start, _ int) (string, bool) {
	switch c := s[start]; {
	case c == '"':
		end, esc, _ := scanString(s, start)
		text := s[start+1 : end-1]
		if esc {
			text = unescape(text)
		}
		if !utf8.ValidString(text) {
			// A decoder replaces each invalid byte with U+FFFD.
			text = replaceInvalid(text)
		}
		return text, true
	case c == 't':
		return "true", true
	case c == 'f':
		return "false", true
	case c == '-' || c >= '0' && c <= '9':
		end, _ := scanNumber(s, start)
		return s[start:end], true
	}
	return "", false // null, an object or an array
}

// replaceInvalid replaces each byte of text that is not part of valid
// UTF-8 with U+FFFD, as encoding/json's decoder does.
func replaceInvalid(text string) string {
	var b strings.Builder
	b.Grow(len(text) + 8)
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(text[i : i+size])
		}
		i += size
	}
	return b.String()
}
