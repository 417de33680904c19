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
	"math/bits"
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
// escapes are found eight bytes a step, in one pass (stop).
func AppendUnescaped[T Text](dst []byte, s T) (out []byte, n int, ok bool) {
	return unescape(dst, s, false)
}

// AppendUnescapedBody decodes a whole string body (what stands between a
// literal's quotes, as a scanner that checked the literal cut it out),
// appending it to dst as AppendUnescaped does; ok is false when the body is
// malformed (a bare quote, a control character, a bad escape).
func AppendUnescapedBody[T Text](dst []byte, body T) (out []byte, ok bool) {
	out, n, ok := unescape(dst, body, true)
	return out, ok && n == len(body)
}

// unescape is AppendUnescaped, or with body the end of s stands for the
// closing quote (and a quote in s is malformed).
func unescape[T Text](dst []byte, s T, body bool) (out []byte, n int, ok bool) {
	i := 0
	for {
		j := stop(s, i)
		dst = append(dst, s[i:j]...)
		i = j
		if i == len(s) {
			return dst, i, body
		}
		switch c := s[i]; {
		case c == '"':
			if body {
				return dst, i, false
			}
			return dst, i + 1, true
		case c < 0x20:
			return dst, i, false
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

// SWAR constants: a test of eight bytes at once.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// controls has the top bit set in the bytes of w below 0x20 (subtracting
// 0x20 from such a byte borrows into a top bit that was clear); the lowest
// set bit marks the first such byte exactly (a borrow can only mark a byte
// above a true one).
func controls(w uint64) uint64 { return (w - ones*0x20) &^ w & highs }

// stops is controls for the bytes that end a run of a string's body: '"',
// '\\' and control characters.
func stops(w uint64) uint64 {
	q, b := w^(ones*'"'), w^(ones*'\\')
	return ((q-ones)&^q | (b-ones)&^b | (w-ones*0x20)&^w) & highs
}

// stop is the index of the first '"', '\\' or control byte of s from i on,
// or len(s). The first 32 bytes are tested eight a step, in one pass and
// without a call (the runs between escapes are short in JSON within JSON);
// a longer run is found with IndexByte (vectorised) and checked for
// control characters a word at a time.
func stop[T Text](s T, i int) int {
	for k := 0; k < 4 && i+8 <= len(s); k, i = k+1, i+8 {
		if m := stops(load64(s, i)); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	if len(s)-i > 32 {
		end := len(s)
		if q := indexByte(s[i:], '"'); q >= 0 {
			end = i + q
		}
		if bs := indexByte(s[i:end], '\\'); bs >= 0 {
			end = i + bs
		}
		if !HasControl(s[i:end]) {
			return end
		}
		// A control character (malformed): found below, eight a step.
	}
	for ; i+8 <= len(s); i += 8 {
		if m := stops(load64(s, i)); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return i
}

// HasControl reports whether s holds a byte below 0x20 (which a JSON
// string must escape), eight bytes a step.
func HasControl[T Text](s T) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if controls(load64(s, i)) != 0 {
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

// load64 is the eight bytes of s from i, the first lowest (one load: the
// compiler combines the byte loads, as in binary.LittleEndian.Uint64).
func load64[T Text](s T, i int) uint64 {
	w := s[i : i+8] // one bounds check
	return uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
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
