package pattern

import (
	"regexp"
	"strings"
)

// Limits AWS enforces on filter patterns.
const (
	// MaxLength is the longest pattern accepted, in characters.
	MaxLength = 1024
	// MaxRegexes is the most %regex% terms one pattern may hold.
	MaxRegexes = 2
	// MaxRegexProgram is the largest RE2 program (instructions) one
	// %regex% may compile to: its matching cost per message byte grows
	// with it (compileRegex). ".{0,250}" is about 500 instructions, a
	// literal one per character.
	MaxRegexProgram = 512
	// MaxJSONWildcards is the most wildcard selectors ($.* or [*]) one JSON
	// pattern may hold; each selector may hold at most one.
	MaxJSONWildcards = 3
	// MaxJSONDepth is the deepest nesting of a JSON message that JSON
	// patterns look into; a deeper message does not match.
	MaxJSONDepth = 512
)

// compiler holds what the parsers of all three pattern kinds share: the
// source text, for error positions, and the regex budget.
type compiler struct {
	src     string
	regexes int
	insts   int // the RE2 instructions of the regexes
}

func (c *compiler) errf(off int, format string, args ...any) error {
	return errAt(c.src, off, format, args...)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func (c *compiler) skipSpace(i int) int {
	for i < len(c.src) && isSpace(c.src[i]) {
		i++
	}
	return i
}

// regex reads %...% starting at src[i] == '%' and returns the compiled regex
// and the offset after the closing '%'.
func (c *compiler) regex(i int) (*regexp.Regexp, int, error) {
	end := strings.IndexByte(c.src[i+1:], '%')
	if end < 0 {
		return nil, 0, c.errf(i, "unterminated regular expression, missing closing '%%'")
	}
	c.regexes++
	if c.regexes > MaxRegexes {
		return nil, 0, c.errf(i, "too many regular expressions, at most %d are allowed", MaxRegexes)
	}
	re, err := compileRegex(c.src, i+1, c.src[i+1:i+1+end])
	if err != nil {
		return nil, 0, err
	}
	c.insts += ProgramSize(re.String())
	return re, i + end + 2, nil
}

// quoted reads a double-quoted string starting at src[i] == '"' and returns
// its text and the offset after the closing quote. \" and \\ are escapes;
// any other backslash is kept as written, so "C:\temp" means what it says.
func (c *compiler) quoted(i int) (string, int, error) {
	s := c.src
	j := i + 1
	var b []byte // nil until an escape is seen
	for j < len(s) {
		switch s[j] {
		case '"':
			if b == nil {
				return s[i+1 : j], j + 1, nil
			}
			return string(b), j + 1, nil
		case '\\':
			if j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\') {
				if b == nil {
					b = append([]byte(nil), s[i+1:j]...)
				}
				b = append(b, s[j+1])
				j += 2
				continue
			}
		}
		if b != nil {
			b = append(b, s[j])
		}
		j++
	}
	return "", 0, c.errf(i, "unterminated quoted string, missing closing '\"'")
}
