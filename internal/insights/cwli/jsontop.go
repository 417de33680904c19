package cwli

import "strings"

// extractTop is extract for a query whose JSON names hold no dot: such a
// name can only be a top-level key (every nested path has a dot), so the
// scanner reads the top-level keys straight from the message, compares
// each with the names by length first, and passes over nested values
// counting their leaves, without building paths. It gives what the full
// walk (jsonWalker) gives, field for field, and the fuzz test
// FuzzExtractTop holds it to that: keys with escapes are decoded before
// they are compared, the first non-null value of a duplicate key wins, a
// null is no leaf, leaves past maxJSONFields (nested ones included, in
// document order) are not fields, and text that stops being JSON ends the
// scan with the fields found so far. The one shape it leaves to the walk:
// an empty top-level key whose value is an object or an array, whose
// leaves flatten without a prefix ({"":{"a":1}} has the field a); then it
// returns false with out reset for the walk to fill. i is the
// offset of the message's opening brace.
func extractTop(msg string, i int, q *Query, out []Value) bool {
	names, lens := q.jsonNames, &q.jsonLens
	leaves, found := 0, 0
	n := len(msg)
	i = skipWS(msg, i+1)
	if i < n && msg[i] == '}' {
		return true
	}
	for {
		i = skipWS(msg, i)
		if i >= n || msg[i] != '"' {
			return true
		}
		k, j, ok := topString(msg, i)
		if !ok {
			return true
		}
		j = skipWS(msg, j)
		if j >= n || msg[j] != ':' {
			return true
		}
		i = skipWS(msg, j+1)
		if i >= n {
			return true
		}
		var v Value
		have := false
		switch c := msg[i]; c {
		case '{', '[':
			if k == "" {
				for id := range out {
					out[id] = null
				}
				return false // the walk flattens this one
			}
			end, ok := skipCount(msg, i, 1, &leaves)
			if !ok {
				return true
			}
			i = end
		case '"':
			s, e, ok := jsonString(msg, i)
			if !ok {
				return true
			}
			v, have, i = str(s), true, e
		default:
			e := i
			for e < n && !scalarEnd(msg[e]) {
				e++
			}
			lit := msg[i:e]
			if lit == "" {
				return true
			}
			if lit != "null" {
				v, have = str(lit), true // numbers and booleans keep their text
			}
			i = e
		}
		if have && leaves < maxJSONFields {
			leaves++
			if lens[min(len(k), 64)] {
				id := -1
				if len(names) <= 8 {
					// a few names: comparing beats hashing
					for i, name := range names {
						if name == k {
							id = i
							break
						}
					}
				} else if x, ok := q.jsonIDs[k]; ok {
					id = x
				}
				if id >= 0 && out[id].k == kNull {
					out[id] = v
					if found++; found == len(out) {
						return true // all found
					}
				}
			}
		}
		i = skipWS(msg, i)
		if i < n && msg[i] == ',' {
			i++
			continue
		}
		return true // '}' ends the object, anything else ends the scan
	}
}

// topString is jsonString for keys: the common key, with no escape, is a
// substring found with one vectorised search.
func topString(s string, i int) (string, int, bool) {
	j := strings.IndexByte(s[i+1:], '"')
	if j < 0 {
		return "", 0, false
	}
	k := s[i+1 : i+1+j]
	if strings.IndexByte(k, '\\') < 0 {
		return k, i + 2 + j, true
	}
	return jsonString(s, i)
}

// skipCount passes over the JSON value at s[i] (after white space) as
// jsonWalker.value does at depth, adding its leaves to *leaves; false when
// the text stops being JSON (the walk would end there).
func skipCount(s string, i, depth int, leaves *int) (int, bool) {
	i = skipWS(s, i)
	if i >= len(s) || depth > maxJSONDepth {
		return 0, false
	}
	switch c := s[i]; c {
	case '{':
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == '}' {
			return i + 1, true
		}
		for {
			i = skipWS(s, i)
			if i >= len(s) || s[i] != '"' {
				return 0, false
			}
			_, j, ok := topString(s, i)
			if !ok {
				return 0, false
			}
			j = skipWS(s, j)
			if j >= len(s) || s[j] != ':' {
				return 0, false
			}
			if i, ok = skipCount(s, j+1, depth+1, leaves); !ok {
				return 0, false
			}
			i = skipWS(s, i)
			if i < len(s) && s[i] == ',' {
				i++
				continue
			}
			if i < len(s) && s[i] == '}' {
				return i + 1, true
			}
			return 0, false
		}
	case '[':
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == ']' {
			return i + 1, true
		}
		for {
			var ok bool
			if i, ok = skipCount(s, i, depth+1, leaves); !ok {
				return 0, false
			}
			i = skipWS(s, i)
			if i < len(s) && s[i] == ',' {
				i++
				continue
			}
			if i < len(s) && s[i] == ']' {
				return i + 1, true
			}
			return 0, false
		}
	case '"':
		_, j, ok := topString(s, i)
		if !ok {
			return 0, false
		}
		*leaves++
		return j, true
	}
	j := i
	for j < len(s) && !scalarEnd(s[j]) {
		j++
	}
	switch s[i:j] {
	case "null":
		return j, true
	case "":
		return 0, false
	}
	*leaves++
	return j, true
}
