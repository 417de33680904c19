package protocol

import (
	"encoding/binary"
	"math/bits"
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

// escapeByte[b] says how byte b goes out inside a JSON string: 0 as it
// is; 1 for the bytes ≥ utf8.RuneSelf, which start (or break) a UTF-8
// sequence; 'u' for \u00XX (control characters without a short form, and
// the HTML characters '<', '>' and '&', which encoding/json and
// goccy/go-json, the encoder the other outputs use, escape by default);
// any other letter for that letter after a backslash (\" \\ \b \f \n \r \t).
var escapeByte = func() (t [256]byte) {
	for b := 0; b < 0x20; b++ {
		t[b] = 'u'
	}
	for b := utf8.RuneSelf; b < 256; b++ {
		t[b] = 1
	}
	t['<'], t['>'], t['&'] = 'u', 'u', 'u'
	t['"'], t['\\'] = '"', '\\'
	t['\b'], t['\f'], t['\n'], t['\r'], t['\t'] = 'b', 'f', 'n', 'r', 't'
	return t
}()

// AppendJSONString appends s as a JSON string exactly as encoding/json
// writes it: \" \\ \b \f \n \r \t, \u00XX for the other control
// characters and for < > &, \u2028 and \u2029 (JavaScript line
// terminators), and U+FFFD for each byte of invalid UTF-8.
//
// Log lines are mostly plain ASCII with a quote every few words (access
// logs, JSON lines), so the loop jumps from one byte that needs a look to
// the next, eight bytes a step (specialMask), and copies each run of plain
// bytes before it with one append.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start, i := 0, 0
	for {
		// Find the next byte that needs a look, from i.
		rest := len(s) - i
		if rest >= 8 {
			if m := specialMask(load64(s, i)); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
			} else {
				i += 8
				continue
			}
		} else if rest == 0 {
			break
		} else if len(s) >= 8 {
			// The last 1–7 bytes: load the string's last word and shift
			// the bytes already passed out of it. The zeros shifted in
			// are flagged too, above the real bytes, where the mask
			// drops them; flags only spread upwards, so the lowest left
			// is exact.
			shift := uint(8-rest) * 8
			m := specialMask(load64(s, len(s)-8)>>shift) & (1<<(64-shift) - 1)
			if m == 0 {
				break
			}
			i += bits.TrailingZeros64(m) >> 3
		} else {
			for i < len(s) && escapeByte[s[i]] == 0 {
				i++
			}
			if i == len(s) {
				break
			}
		}

		b := s[i]
		switch e := escapeByte[b]; e {
		case 1:
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				i++
				start = i
			case r == '\u2028' || r == '\u2029':
				dst = append(dst, s[start:i]...)
				dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
				i += size
				start = i
			default:
				i += size // valid UTF-8 goes out as it is
			}
		case 'u':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			i++
			start = i
		default:
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', e)
			i++
			start = i
		}
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// load64 reads the eight bytes of s from i, little-endian (the first byte
// lowest), in one load.
func load64(s string, i int) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// specialMask returns the high bit of each byte of w (eight bytes of a
// string, the first lowest) that needs a look: ≥ 0x80 or < 0x20, or one of
// " \\ < > &. Its lowest set bit is always exact; bits above it may be
// false (a borrow spreads upwards), so callers use only the lowest.
// (v−ones)&^v&highs flags the bytes of v that are zero.
func specialMask(w uint64) uint64 {
	// < 0x20 or ≥ 0x80: the subtraction sets a byte's high bit for bytes
	// below 0x20. '"' (0x22) and '&' (0x26) differ in bit 2 only, '<'
	// (0x3c) and '>' (0x3e) in bit 1: one test each pair.
	qa := (w ^ '"'*ones) &^ (0x04 * ones)
	lg := (w ^ '<'*ones) &^ (0x02 * ones)
	bs := w ^ '\\'*ones
	return ((w - 0x20*ones) | w | (qa-ones)&^qa | (lg-ones)&^lg | (bs-ones)&^bs) & highs
}
