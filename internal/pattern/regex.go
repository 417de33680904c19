package pattern

import (
	"errors"
	"regexp"
	"regexp/syntax"
	"strings"
)

// compileRegex validates the body of a %regex% in AWS's restricted syntax
// and translates it to an RE2 expression, which matches in time linear in the
// input. off is the byte offset of body within src, for error positions.
//
// Allowed: ASCII letters and digits; the symbols _ # = @ / ; , - : and space;
// the operators ^ $ ? [ ] { } | \ * + . ; escapes \d \D \s \S \w \W \xhh,
// \t \n \r and an escaped punctuation character. Not allowed: ( ) grouping,
// other symbols, multi-byte characters. {m,n} may omit either bound.
// AWS does not list the space; it is accepted because "%ERROR 4%" is an
// obvious thing to write and means the same in every regex dialect.
//
// A regex whose RE2 program exceeds MaxRegexProgram instructions is
// rejected: RE2's matching time is linear in the input but its factor is
// the number of threads the program keeps alive, up to its size, so
// "%.{0,1000}.{0,1000}...%" (~2,000 instructions a repeat) cost 49 s on one
// 10 KB message and hours on a 256 KB one, per event of a metric filter.
func compileRegex(src string, off int, body string) (*regexp.Regexp, error) {
	if body == "" {
		return nil, errAt(src, off-1, "empty regular expression")
	}
	var b strings.Builder
	b.Grow(len(body) + 8)
	i := 0
	for i < len(body) {
		c := body[i]
		switch {
		case c >= 0x80:
			return nil, errAt(src, off+i, "multi-byte characters are not supported in a regular expression")
		case isAlnum(c) || strings.IndexByte("_#=@/;,-: ", c) >= 0:
			b.WriteByte(c)
			i++
		case strings.IndexByte("^$?|*+.", c) >= 0:
			b.WriteByte(c)
			i++
		case c == '(' || c == ')':
			return nil, errAt(src, off+i, "parentheses are not supported in a regular expression")
		case c == '\\':
			n, err := regexEscape(src, off, body, i, &b)
			if err != nil {
				return nil, err
			}
			i = n
		case c == '{':
			n, ok := regexRepeat(body, i, &b)
			if !ok {
				return nil, errAt(src, off+i, "invalid repetition, want {m}, {m,}, {,n} or {m,n}")
			}
			i = n
		case c == '}':
			return nil, errAt(src, off+i, "unexpected '}' in regular expression")
		case c == '[':
			n, err := regexClass(src, off, body, i, &b)
			if err != nil {
				return nil, err
			}
			i = n
		case c == ']':
			b.WriteString(`\]`)
			i++
		default:
			return nil, errAt(src, off+i, "character %s is not allowed in a regular expression", describe(src, off+i))
		}
	}
	if err := checkRegexSize(src, off, b.String()); err != nil {
		return nil, err
	}
	re, err := regexp.Compile(b.String())
	if err != nil {
		msg := err.Error()
		var se *syntax.Error
		if errors.As(err, &se) {
			msg = se.Code.String()
			if se.Expr != "" {
				msg += " '" + se.Expr + "'"
			}
		}
		return nil, errAt(src, off-1, "invalid regular expression (%s)", msg)
	}
	return re, nil
}

// ProgramSize is the number of instructions of expr's RE2 program (0 for
// an expression that does not compile), the measure MaxRegexProgram bounds;
// data protection's custom identifiers are bounded by it too.
func ProgramSize(expr string) int {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return 0
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 0
	}
	return len(prog.Inst)
}

// checkRegexSize rejects an RE2 expression whose compiled program is larger
// than MaxRegexProgram. Errors of the expression itself are left to
// regexp.Compile, which reports them.
func checkRegexSize(src string, off int, expr string) error {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil || len(prog.Inst) <= MaxRegexProgram {
		return nil
	}
	return errAt(src, off-1, "regular expression is too complex (%d instructions, at most %d are allowed; use smaller repetition counts)", len(prog.Inst), MaxRegexProgram)
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isHex(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// regexEscape translates the escape at body[i] ('\\') and returns the index
// after it. The same escapes are allowed inside character classes.
func regexEscape(src string, off int, body string, i int, b *strings.Builder) (int, error) {
	if i+1 >= len(body) {
		return 0, errAt(src, off+i, "trailing backslash in regular expression")
	}
	c := body[i+1]
	switch {
	case strings.IndexByte("dDsSwW", c) >= 0:
		b.WriteByte('\\')
		b.WriteByte(c)
		return i + 2, nil
	case c == 't' || c == 'n' || c == 'r':
		b.WriteByte('\\')
		b.WriteByte(c)
		return i + 2, nil
	case c == 'x':
		if i+3 < len(body) && isHex(body[i+2]) && isHex(body[i+3]) {
			b.WriteString(body[i : i+4])
			return i + 4, nil
		}
		return 0, errAt(src, off+i, `invalid escape, \x needs two hex digits`)
	case c < 0x80 && c > ' ' && !isAlnum(c):
		b.WriteByte('\\')
		b.WriteByte(c)
		return i + 2, nil
	}
	return 0, errAt(src, off+i, `unsupported escape \%s in regular expression`, string(rune(c)))
}

// regexRepeat translates {m}, {m,}, {,n} or {m,n} at body[i].
func regexRepeat(body string, i int, b *strings.Builder) (int, bool) {
	j := i + 1
	ms := j
	for j < len(body) && isDigit(body[j]) {
		j++
	}
	m := body[ms:j]
	if j < len(body) && body[j] == '}' {
		if m == "" {
			return 0, false
		}
		b.WriteString("{" + m + "}")
		return j + 1, true
	}
	if j >= len(body) || body[j] != ',' {
		return 0, false
	}
	j++
	ns := j
	for j < len(body) && isDigit(body[j]) {
		j++
	}
	n := body[ns:j]
	if j >= len(body) || body[j] != '}' || m == "" && n == "" {
		return 0, false
	}
	if m == "" {
		m = "0"
	}
	b.WriteString("{" + m + "," + n + "}")
	return j + 1, true
}

// regexClass translates the character class starting at body[i] ('[').
func regexClass(src string, off int, body string, i int, b *strings.Builder) (int, error) {
	start := i
	b.WriteByte('[')
	i++
	if i < len(body) && body[i] == '^' {
		b.WriteByte('^')
		i++
	}
	items := 0
	for {
		if i >= len(body) {
			return 0, errAt(src, off+start, "unterminated character class in regular expression")
		}
		c := body[i]
		switch {
		case c == ']':
			if items == 0 {
				return 0, errAt(src, off+i, "empty character class in regular expression")
			}
			b.WriteByte(']')
			return i + 1, nil
		case c >= 0x80:
			return 0, errAt(src, off+i, "multi-byte characters are not supported in a regular expression")
		case c == '\\':
			n, err := regexEscape(src, off, body, i, b)
			if err != nil {
				return 0, err
			}
			i = n
		case c == '-' && items > 0 && i+1 < len(body) && body[i+1] != ']':
			b.WriteByte('-') // a range; RE2 checks its bounds are in order
			i++
			continue
		case c == '(' || c == ')':
			return 0, errAt(src, off+i, "parentheses are not supported in a regular expression")
		case isAlnum(c):
			b.WriteByte(c)
			i++
		case c > ' ' && c < 0x7f && c != '"' && c != '\'' && c != '%' && c != '!' && c != '<' && c != '>' && c != '&' && c != '~' && c != '`':
			b.WriteByte('\\')
			b.WriteByte(c)
			i++
		case c == ' ':
			b.WriteByte(' ')
			i++
		default:
			return 0, errAt(src, off+i, "character %s is not allowed in a regular expression", describe(src, off+i))
		}
		items++
	}
}
