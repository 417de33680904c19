// Package jsonenc holds the JSON string primitives several packages share,
// without allocating and without encoding/json's reflection: appending a Go
// string as a JSON string literal (AppendString), and decoding a literal's
// escapes (AppendUnescaped). Packages that build JSON by hand (transformed
// events, generated benchmark lines, `cairn run --json`) escape with it so
// that they escape alike; the hand-written readers (the transformer's
// parser, the benchmark's lean readers) unescape with it so that they
// decode alike.
package jsonenc

import (
	"bytes"
	"encoding/binary"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// plain marks the bytes written as they are: printable ASCII but the quote
// and the backslash. It is computed once and never written.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// AppendString appends s to dst as a JSON string: quotes, backslashes and
// control characters escaped (\n, \r, \t by name, the rest as \u00XX), other
// characters as they are (no HTML escaping), and each byte of invalid UTF-8
// replaced by \ufffd, as encoding/json does.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if plain[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Text is what the readers hold a document in.
type Text interface{ string | []byte }

// AppendUnescaped decodes the rest of a JSON string literal's body, s:
// what follows its opening quote, or what follows the part of the body the
// caller has already taken (a run with no escape), up to and including the
// closing quote. It appends the decoded text to dst and returns it with the
// number of bytes of s read, the closing quote included; ok is false for a
// malformed literal (no closing quote, a control character, an unknown
// escape, a \u without four hex digits). Escapes decode as encoding/json
// decodes them: a high surrogate and a low one are one rune, any other
// surrogate is U+FFFD and the escape after it stands alone ("\ud800\u0041"
// is "\ufffdA"). Other bytes are copied as they are: invalid UTF-8 stays
// (encoding/json would replace each such byte with U+FFFD). Runs between
// escapes are found and checked a word at a time (IndexByte, HasControl).
func AppendUnescaped[T Text](dst []byte, s T) (out []byte, n int, ok bool) {
	i := 0
	for {
		q := indexByte(s[i:], '"')
		if q < 0 {
			return dst, i, false
		}
		run := s[i : i+q]
		if bs := indexByte(run, '\\'); bs >= 0 {
			run = run[:bs]
		}
		if HasControl(run) {
			return dst, i, false
		}
		dst = append(dst, run...)
		i += len(run)
		if s[i] == '"' {
			return dst, i + 1, true
		}
		if i+1 >= len(s) {
			return dst, i, false
		}
		e := s[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			dst = append(dst, e)
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(s, i)
			if !ok {
				return dst, i, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				pair := rune(utf8.RuneError)
				if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
					lo, ok := hex4(s, i+2)
					if !ok {
						return dst, i, false
					}
					if pair = utf16.DecodeRune(r, lo); pair != utf8.RuneError {
						i += 6
					}
				}
				r = pair
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, i, false
		}
	}
}

// HasControl reports whether s holds a byte below 0x20 (which a JSON
// string must escape): a word has one when subtracting 0x20 from each of
// its bytes borrows into a byte whose top bit was clear.
func HasControl[T Text](s T) bool {
	b, isBytes := any(s).([]byte)
	i := 0
	for ; i+8 <= len(s); i += 8 {
		var x uint64
		if isBytes {
			x = binary.LittleEndian.Uint64(b[i:])
		} else {
			_ = s[i+7]
			x = uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		}
		if (x-0x2020202020202020)&^x&0x8080808080808080 != 0 {
			return true
		}
	}
	for ; i < len(s); i++ {
		if s[i] < 0x20 {
			return true
		}
	}
	return false
}

func indexByte[T Text](s T, c byte) int {
	if b, isBytes := any(s).([]byte); isBytes {
		return bytes.IndexByte(b, c)
	}
	return strings.IndexByte(string(s), c)
}

// hex4 reads the four hex digits at s[i:].
func hex4[T Text](s T, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for j := i; j < i+4; j++ {
		c := s[j]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
