package protocol

import (
	"encoding/binary"
	"unicode/utf8"
	"unsafe"
)

// Appender is an operation's output that encodes itself. writeJSON appends
// it straight into a pooled buffer instead of calling json.Marshal: a
// 10,000-event GetLogEvents or FilterLogEvents page then costs no
// reflection and no allocation per event. Its bytes must equal what
// json.Marshal would write for the same value (tests compare them).
type Appender interface {
	AppendJSON(dst []byte) []byte
}

// maxPooledResponse is the largest response buffer kept for reuse: a full
// 1 MB page with its escaping and JSON members fits.
const maxPooledResponse = 4 << 20

const hexDigits = "0123456789abcdef"

// jsonSafe[b] is true for the bytes below utf8.RuneSelf that go out as
// they are: everything but control characters, '"', '\\', and the HTML
// characters '<', '>' and '&', which encoding/json (and goccy/go-json, the
// encoder the other outputs use) escape by default.
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = true
	}
	for _, b := range `"\<>&` {
		t[b] = false
	}
	return t
}()

// AppendJSONString appends s as a JSON string exactly as encoding/json
// writes it: \" \\ \b \f \n \r \t, \u00XX for the other control
// characters and for < > &, \u2028 and \u2029 (JavaScript line
// terminators), and U+FFFD for each byte of invalid UTF-8.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	// slow is where the byte-at-a-time loop hands back to plainPrefix: the
	// end of the word that held something to escape.
	slow := 0
	for i := 0; i < len(s); {
		if i >= slow {
			i += plainPrefix(unsafe.Slice(unsafe.StringData(s[i:]), len(s)-i))
			if i >= len(s) {
				break
			}
			slow = i + 8
		}
		b := s[i]
		if b < utf8.RuneSelf {
			if jsonSafe[b] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plainPrefix returns how many leading 8-byte words of b go out
// unescaped, in bytes, testing each word at once (most log text is plain
// ASCII): no byte ≥ 0x80 or < 0x20, none of " \\ < > &. (v−ones)&^v&highs is
// non-zero exactly when some byte of v is zero.
func plainPrefix(b []byte) int {
	n := 0
	for ; n+8 <= len(b); n += 8 {
		w := binary.LittleEndian.Uint64(b[n:])
		// < 0x20 or ≥ 0x80: the subtraction sets a byte's high bit for
		// bytes below 0x20 (a borrow only spreads above a byte that is
		// caught anyway). '"' (0x22) and '&' (0x26) differ in bit 2 only,
		// '<' (0x3c) and '>' (0x3e) in bit 1: one test each pair.
		qa := (w ^ '"'*ones) &^ (0x04 * ones)
		lg := (w ^ '<'*ones) &^ (0x02 * ones)
		bs := w ^ '\\'*ones
		bad := ((w-0x20*ones)|w)&highs | ((qa-ones)&^qa|(lg-ones)&^lg|(bs-ones)&^bs)&highs
		if bad != 0 {
			break
		}
	}
	return n
}
