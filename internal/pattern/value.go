package pattern

import (
	"regexp"
	"strings"
)

// cmpOp is a comparison operator of JSON and space-delimited conditions.
type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

var opNames = [...]string{"=", "!=", "<", "<=", ">", ">="}

func (o cmpOp) String() string { return opNames[o] }

func (o cmpOp) relational() bool { return o >= opLt }

// test applies o to the result of a three-way comparison.
func (o cmpOp) test(c int) bool {
	switch o {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	default:
		return c >= 0
	}
}

// glob is a string value with optional '*' wildcards. Following the AWS
// documentation ("Ev*ent will only match the actual string Ev*ent"), only a
// leading and a trailing '*' are wildcards; a '*' inside the text is literal.
type glob struct {
	lit         string
	lead, trail bool // '*' before / after lit
}

func newGlob(s string) glob {
	var g glob
	for strings.HasPrefix(s, "*") {
		g.lead = true
		s = s[1:]
	}
	for strings.HasSuffix(s, "*") {
		g.trail = true
		s = s[:len(s)-1]
	}
	g.lit = s
	return g
}

// any reports whether the glob matches every string ("*").
func (g glob) any() bool { return g.lit == "" && (g.lead || g.trail) }

func (g glob) match(s string) bool {
	switch {
	case g.lead && g.trail:
		return strings.Contains(s, g.lit)
	case g.lead:
		return strings.HasSuffix(s, g.lit)
	case g.trail:
		return strings.HasPrefix(s, g.lit)
	default:
		return s == g.lit
	}
}

// rhsKind says what the right-hand side of a condition is.
type rhsKind uint8

const (
	rhsNumber rhsKind = iota // unquoted text that parses as a number
	rhsString                // quoted or unquoted string, possibly with '*'
	rhsRegex                 // %regex%
	rhsNull                  // IS NULL
	rhsTrue                  // IS TRUE
	rhsFalse                 // IS FALSE
)

// valueCond is one comparison against a value: a JSON scalar or a
// space-delimited field.
type valueCond struct {
	op   cmpOp
	kind rhsKind
	text string // source text of a number or the decoded string
	num  decimal
	glob glob
	re   *regexp.Regexp
}

// Scalar kinds of JSON values as seen by conditions; fields of
// space-delimited events are always kindString.
const (
	kindString byte = 's'
	kindNumber byte = 'n'
	kindTrue   byte = 't'
	kindFalse  byte = 'f'
	kindNull   byte = 'z'
)

// matchScalar tests a JSON scalar of the given kind whose text is text
// (decoded for strings, raw JSON for the others).
//
// A number on the right compares numerically with JSON numbers. Against a
// JSON string, = and != compare the string with the number's source text
// (so "400" = 400, which is what users writing { $.code = 400 } against
// stringly-typed logs expect); ordering a string against a number never
// matches. Strings, globs and regexes compare with the value's text, so
// { $.flag = true } also matches a JSON boolean true.
func (c *valueCond) matchScalar(kind byte, text string) bool {
	switch c.kind {
	case rhsNull:
		return kind == kindNull
	case rhsTrue:
		return kind == kindTrue
	case rhsFalse:
		return kind == kindFalse
	case rhsNumber:
		switch kind {
		case kindNumber:
			d, ok := parseDecimal(text)
			return c.matchDecimal(d, ok)
		case kindString:
			if c.op.relational() {
				return false
			}
			return (text == c.text) == (c.op == opEq)
		default:
			return c.op == opNe
		}
	case rhsString:
		return c.glob.match(text) == (c.op == opEq)
	case rhsRegex:
		return c.re.MatchString(text) == (c.op == opEq)
	}
	return false
}

// matchDecimal is matchScalar of a JSON number (c.kind rhsNumber) already
// parsed: d, ok are parseDecimal's answer for its text (the member table
// parses a number once for all of a group's conditions on it).
func (c *valueCond) matchDecimal(d decimal, ok bool) bool {
	if !ok {
		return false
	}
	return c.op.test(cmpDecimal(d, c.num))
}

// matchField tests a field of a space-delimited event. A number on the
// right compares numerically when the field is a number; otherwise only !=
// matches.
func (c *valueCond) matchField(text string) bool {
	fv := fieldValue{text: text}
	return c.matchFieldValue(&fv)
}

// fieldValue is a field's text and, once a condition asked, whether and
// which number it is: the conditions of a group parse a field once
// (spGroup.find).
type fieldValue struct {
	text   string
	parsed bool
	isNum  bool
	num    decimal
}

func (fv *fieldValue) decimal() (decimal, bool) {
	if !fv.parsed {
		fv.num, fv.isNum = parseDecimal(fv.text)
		fv.parsed = true
	}
	return fv.num, fv.isNum
}

// matchFieldValue is matchField of fv.text.
func (c *valueCond) matchFieldValue(fv *fieldValue) bool {
	switch c.kind {
	case rhsNumber:
		d, ok := fv.decimal()
		if !ok {
			return c.op == opNe
		}
		return c.op.test(cmpDecimal(d, c.num))
	case rhsString:
		return c.glob.match(fv.text) == (c.op == opEq)
	case rhsRegex:
		return c.re.MatchString(fv.text) == (c.op == opEq)
	}
	return false
}

// literal returns a substring that every text satisfying c contains, or "".
func (c *valueCond) literal() string {
	if c.op != opEq {
		return ""
	}
	switch c.kind {
	case rhsString:
		return c.glob.lit
	case rhsRegex:
		p, _ := c.re.LiteralPrefix()
		return p
	}
	return ""
}
