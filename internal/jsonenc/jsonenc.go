// Package jsonenc holds the JSON-writing primitive several packages share:
// appending a Go string as a JSON string literal, without allocating and
// without encoding/json's reflection. Packages that build JSON by hand
// (transformed events, generated benchmark lines, `cairn run --json`) use it
// so that they escape alike.
package jsonenc

import "unicode/utf8"

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
