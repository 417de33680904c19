package pattern

import (
	"slices"
	"testing"
)

// splitFromBytes is splitFrom as it was before the IndexByte fast paths:
// one test per byte. It is the reference FuzzSplit and TestSplitAgrees
// compare splitFrom with.
func splitFromBytes(s string, i int, dst []field, limit int) ([]field, int) {
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
		case '[':
			for j := i + 1; j < len(s); j++ {
				if s[j] == ']' {
					f.vs, f.ve, i = i+1, j, j+1
					break
				}
			}
		}
		if f.vs < 0 {
			j := i
			for j < len(s) && !isFieldSpace(s[j]) {
				j++
			}
			f.vs, f.ve, i = i, j, j
		}
		dst = append(dst, f)
	}
}

// checkSplit compares splitFields and a View's resumed split (two steps,
// as a group's filters ask for more fields) with the byte walk, at every
// limit up to one past the field count.
func checkSplit(t *testing.T, s string) {
	t.Helper()
	all, _ := splitFromBytes(s, 0, nil, -1)
	if got := splitFields(s, nil, -1); !slices.Equal(got, all) {
		t.Fatalf("%q: split %v, byte walk %v", s, got, all)
	}
	for limit := 0; limit <= len(all)+1; limit++ {
		want, _ := splitFromBytes(s, 0, nil, limit)
		if got := splitFields(s, nil, limit); !slices.Equal(got, want) {
			t.Fatalf("%q limit %d: split %v, byte walk %v", s, limit, got, want)
		}
		var v View
		v.Reset(s)
		v.split.get(s, limit/2)
		if got := v.split.get(s, limit); !slices.Equal(got, want) {
			t.Fatalf("%q limit %d resumed after %d: %v, byte walk %v", s, limit, limit/2, got, want)
		}
	}
}

// TestSplitAgrees: the fast split gives the byte walk's fields on
// hand-written lines: tabs, quotes with escapes before and after the
// closing quote, unterminated quotes and brackets, a quote closing in the
// middle of a word.
func TestSplitAgrees(t *testing.T) {
	for _, s := range []string{
		``, ` `, "\t", `a`, `a b`, "a\tb  c", ` a  b `, `"x y" z`, `"x\"y" z`, `"x\\" y"`, `"x`, `"x\`, `"x\" y`, `[a b] c`, `[a b c`,
		`a"b c"d`, `"ab"cd ef`, `[a]b c`, "\"a\tb\" c\td", `10.1.2.3 - - [22/Nov/2026:05:09:14 +0000] "GET /a HTTP/1.1" 503 12 0.5 "curl/8"`,
		`{"level":"info","msg":"a b c"}`, "x \"\\\\\" y", `"" [] x`, `" [ ]" ] [ "`,
		// fieldEnd's paths: a field ending inside the first, the second
		// word, past 16 bytes (strings.IndexByte), at a tab past 16 bytes
		// (the byte walk), a tab in the line after a long field, fields of
		// exactly 8 and 16 bytes, a short tail.
		`abcdefg h`, `abcdefghijklm n`, `abcdefghijklmnopqrstuvwxyz 1`, "abcdefghijklmnopqrstu\tv w", "abcdefghijklmnopqrstu v\tw",
		`abcdefgh ijklmnop qrstuvwxyz0123456 x`, "abcdefghijklmnopqrstuvwxyz", "a\tbcdefghijklmnopqrstuvwxyz01234 c",
		"abcdefghijklmnopq\t", "12345678\t", "1234567\t8 9",
	} {
		checkSplit(t, s)
	}
}

// FuzzSplit: the same on any line.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{`a "b\"c" [d e] f`, "a\t\"b c\"\t[d]", `"x\" y`, `[a b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkSplit(t, s) })
}
