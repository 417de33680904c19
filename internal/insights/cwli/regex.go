package cwli

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// maxRegex bounds a regex's source; RE2 keeps matching linear in the input.
const maxRegex = 4096

// compileRegex compiles an Insights regex with Go's RE2. Named groups are
// written (?<name>…) in CWLI; Go before 1.22 needed (?P<name>…), and both
// are accepted. When the whole regex is a literal (optionally (?i)), lit
// holds it so matching is a substring search.
func compileRegex(src string) (re *regexp.Regexp, lit string, fold bool, err error) {
	if len(src) > maxRegex {
		return nil, "", false, errString("regular expression is too long")
	}
	src = strings.ReplaceAll(src, `\/`, `/`)
	re, err = regexp.Compile(src)
	if err != nil {
		return nil, "", false, err
	}
	t, err := syntax.Parse(src, syntax.Perl)
	if err == nil {
		t = t.Simplify()
		if t.Op == syntax.OpLiteral && len(t.Rune) > 0 {
			s := string(t.Rune)
			if t.Flags&syntax.FoldCase != 0 {
				// only ASCII folding is done by containsFold
				ascii := true
				for _, r := range s {
					if r >= utf8.RuneSelf {
						ascii = false
					}
				}
				if ascii {
					return re, strings.ToLower(s), true, nil
				}
				return re, "", false, nil
			}
			return re, s, false, nil
		}
	}
	return re, "", false, nil
}

type errString string

func (e errString) Error() string { return string(e) }

// containsFold reports whether s contains lower (ASCII lower-case) ignoring
// ASCII case, without allocating.
func containsFold(s, lower string) bool {
	n := len(lower)
	if n == 0 {
		return true
	}
	c0 := lower[0]
	up := c0
	if c0 >= 'a' && c0 <= 'z' {
		up = c0 - 32
	}
	for i := 0; i+n <= len(s); i++ {
		j := strings.IndexAny(s[i:len(s)-n+1], string([]byte{c0, up}))
		if j < 0 {
			return false
		}
		i += j
		ok := true
		for k := 1; k < n; k++ {
			c := s[i+k]
			if c >= 'A' && c <= 'Z' {
				c += 32
			}
			if c != lower[k] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// requiredLiterals returns strings every match of the regex contains (for
// block skipping): the literal runs of a top-level concatenation. A
// case-folded regex requires nothing exact.
func requiredLiterals(src string) []string {
	t, err := syntax.Parse(strings.ReplaceAll(src, `\/`, `/`), syntax.Perl)
	if err != nil {
		return nil
	}
	t = t.Simplify()
	var out []string
	var walk func(t *syntax.Regexp)
	walk = func(t *syntax.Regexp) {
		switch t.Op {
		case syntax.OpLiteral:
			if t.Flags&syntax.FoldCase == 0 && len(t.Rune) > 0 {
				out = append(out, string(t.Rune))
			}
		case syntax.OpConcat, syntax.OpCapture:
			for _, s := range t.Sub {
				walk(s)
			}
		case syntax.OpPlus:
			walk(t.Sub[0])
		case syntax.OpRepeat:
			if t.Min >= 1 {
				walk(t.Sub[0])
			}
		}
	}
	walk(t)
	return out
}
