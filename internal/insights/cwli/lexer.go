package cwli

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// CompileError is a query that does not compile. Start and End are 0-based
// character (rune) offsets into the query text, End exclusive, as AWS's
// queryCompileError.location startCharOffset/endCharOffset.
type CompileError struct {
	Start, End int
	Message    string
}

func (e *CompileError) Error() string { return e.Message }

type tokKind uint8

const (
	tEOF tokKind = iota
	tIdent
	tString
	tRegex
	tNumber
	tDuration
	tOp // punctuation and operators, text in s
)

type token struct {
	k     tokKind
	s     string   // ident (joined), string value, regex body, number text, op
	segs  []string // ident segments (backticks removed)
	raw   string   // source text
	pos   int      // byte offset of the token in the query
	end   int      // byte offset after it
	quote bool     // ident had a backticked segment
}

// lexer splits query text into tokens. Regex literals and division share
// "/": a slash starts a regex unless the previous token ends a value.
type lexer struct {
	src  string
	toks []token
}

// maxTokens bounds the work a single query can ask of the parser.
const maxTokens = 20000

func lex(src string) ([]token, *CompileError) {
	l := &lexer{src: src}
	i := 0
	for {
		// whitespace and comments
		for i < len(src) {
			c := src[i]
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				i++
				continue
			}
			if c == '#' {
				for i < len(src) && src[i] != '\n' {
					i++
				}
				continue
			}
			break
		}
		if i >= len(src) {
			l.toks = append(l.toks, token{k: tEOF, pos: len(src), end: len(src), raw: "<EOF>"})
			return l.toks, nil
		}
		if len(l.toks) >= maxTokens {
			return nil, errAt(src, i, i+1, "query is too long")
		}
		start := i
		c := src[i]
		switch {
		case c == '"' || c == '\'':
			s, n, ok := lexString(src[i:])
			if !ok {
				return nil, errAt(src, i, len(src), "unterminated string")
			}
			i += n
			l.toks = append(l.toks, token{k: tString, s: s, raw: src[start:i], pos: start, end: i})
		case c == '/' && (!l.valueEnded() || l.inParse()):
			j := i + 1
			for j < len(src) && src[j] != '/' {
				if src[j] == '\\' && j+1 < len(src) {
					j++
				}
				j++
			}
			if j >= len(src) {
				return nil, errAt(src, i, len(src), "unterminated regex")
			}
			i = j + 1
			l.toks = append(l.toks, token{k: tRegex, s: src[start+1 : j], raw: src[start:i], pos: start, end: i})
		case c >= '0' && c <= '9':
			j := i
			for j < len(src) && (src[j] >= '0' && src[j] <= '9') {
				j++
			}
			if j+1 < len(src) && src[j] == '.' && src[j+1] >= '0' && src[j+1] <= '9' {
				j++
				for j < len(src) && src[j] >= '0' && src[j] <= '9' {
					j++
				}
			}
			k := tNumber
			if j < len(src) && isLetter(src[j]) {
				// a duration (5m, 1hr) or a name that starts with digits
				u := j
				for u < len(src) && isIdentByte(src[u]) {
					u++
				}
				if _, ok := unitOf(src[j:u]); ok && !strings.Contains(src[i:j], ".") {
					k, j = tDuration, u
				} else {
					// names may start with a digit (flattened array paths: items.0.id)
					for j < len(src) && isIdentByte(src[j]) {
						j++
					}
					k = tIdent
				}
			}
			i = j
			t := token{k: k, s: src[start:i], raw: src[start:i], pos: start, end: i}
			if k == tIdent {
				t.segs = []string{t.s}
			}
			l.toks = append(l.toks, t)
		case (isIdentByte(c) && c != '.') || c == '`':
			t, n, err := lexIdent(src, i)
			if err != nil {
				return nil, err
			}
			i = n
			l.toks = append(l.toks, t)
		default:
			op := ""
			for _, o := range []string{"!=", "<=", ">=", "=~", "==", "|", ",", "(", ")", "[", "]", "=", "<", ">", "+", "-", "*", "/", "%", "^", "!", ".", ":"} {
				if strings.HasPrefix(src[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				_, w := utf8.DecodeRuneInString(src[i:])
				return nil, unexpected(src, token{k: tOp, raw: src[i : i+w], pos: i, end: i + w})
			}
			i += len(op)
			l.toks = append(l.toks, token{k: tOp, s: op, raw: op, pos: start, end: i})
		}
	}
}

// valueEnded reports whether the previous token ends an operand, so that a
// following "/" divides.
func (l *lexer) valueEnded() bool {
	if len(l.toks) == 0 {
		return false
	}
	t := l.toks[len(l.toks)-1]
	switch t.k {
	case tNumber, tString, tDuration:
		return true
	case tIdent:
		switch strings.ToLower(t.s) {
		case "like", "and", "or", "not", "in", "filter", "where", "parse", "by", "as":
			return t.quote
		}
		return true
	case tOp:
		return t.s == ")" || t.s == "]"
	}
	return false
}

// inParse reports whether the current command is parse, where a slash after
// the source field starts the regex (there is no division in parse).
func (l *lexer) inParse() bool {
	for j := len(l.toks) - 1; j >= 0; j-- {
		t := l.toks[j]
		if t.k == tOp && t.s == "|" {
			return false
		}
		if j == 0 || l.toks[j-1].k == tOp && l.toks[j-1].s == "|" {
			return t.k == tIdent && strings.EqualFold(t.s, "parse") && len(l.toks)-j <= 2
		}
	}
	return false
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }

func isIdentByte(c byte) bool {
	return isLetter(c) || c >= '0' && c <= '9' || c == '@' || c == '.' || c >= 0x80
}

// lexIdent reads a field name: runs of letters, digits, _, @ and . with
// backticked segments anywhere (@`a:b`, json.`user.id`). Dots outside
// backticks separate segments; the joined name keeps them.
func lexIdent(src string, i int) (token, int, *CompileError) {
	start := i
	var segs []string
	var cur strings.Builder
	quoted := false
	for i < len(src) {
		c := src[i]
		if c == '`' {
			j := strings.IndexByte(src[i+1:], '`')
			if j < 0 {
				return token{}, 0, errAt(src, i, len(src), "unterminated backtick")
			}
			cur.WriteString(src[i+1 : i+1+j])
			i += j + 2
			quoted = true
			continue
		}
		if c == '.' {
			if i+1 < len(src) && (isIdentByte(src[i+1]) || src[i+1] == '`') && src[i+1] != '.' {
				segs = append(segs, cur.String())
				cur.Reset()
				i++
				continue
			}
			break
		}
		if !isIdentByte(c) {
			break
		}
		cur.WriteByte(c)
		i++
	}
	segs = append(segs, cur.String())
	t := token{k: tIdent, segs: segs, s: strings.Join(segs, "."), raw: src[start:i], pos: start, end: i, quote: quoted}
	return t, i, nil
}

// lexString reads a quoted string with backslash escapes.
func lexString(s string) (string, int, bool) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		if c == q {
			return b.String(), i + 1, true
		}
		if c == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(c)
	}
	return "", 0, false
}

// runeOffset converts a byte offset into a character offset.
func runeOffset(src string, b int) int {
	if b > len(src) {
		b = len(src)
	}
	return utf8.RuneCountInString(src[:b])
}

func lineCol(src string, b int) (int, int) {
	if b > len(src) {
		b = len(src)
	}
	line := 1 + strings.Count(src[:b], "\n")
	ls := strings.LastIndexByte(src[:b], '\n') + 1
	return line, utf8.RuneCountInString(src[ls:b])
}

func errAt(src string, from, to int, msg string) *CompileError {
	if to < from {
		to = from
	}
	return &CompileError{Start: runeOffset(src, from), End: runeOffset(src, to), Message: msg}
}

// unexpected is AWS's syntax error: "unexpected symbol found <token> at line
// <L> and position <P>" (insights.md §7), position 0-based within the line.
func unexpected(src string, t token) *CompileError {
	line, col := lineCol(src, t.pos)
	raw := t.raw
	if t.k == tEOF {
		raw = "<EOF>"
	}
	return errAt(src, t.pos, t.end, fmt.Sprintf("unexpected symbol found %s at line %d and position %d", raw, line, col))
}
