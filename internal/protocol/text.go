package protocol

import (
	"bytes"
	"unicode/utf8"

	"github.com/cairnlog/cairn/internal/awserr"
)

// Request text must be Unicode, exactly.
//
// The JSON decoder replaces each invalid UTF-8 sequence and each unpaired
// surrogate escape ("\udc00") with U+FFFD, silently: "s\xff" and "s\xfe"
// would both become the stream "s\uFFFD", one stream under two names, and a
// message would be stored other than it was sent. The replacement happens
// inside the decoder, before any decoded string can be told from one that
// really held U+FFFD, so the check runs on the raw body, before decoding.
//
// AWS's JSON protocol requires UTF-8 (RFC 8259 §8.1; "Event messages must be
// UTF-8 encoded", CloudWatch Logs concepts), and its front end answers a body
// its parser cannot read with SerializationException (as AWS JSON services
// do for invalid UTF-8, e.g. "Invalid UTF-8 start byte"). Cairn does the
// same for both cases. For a lone surrogate escape AWS's Java parser would
// likely accept the escape and store '?' instead, which aliases names too;
// Cairn refuses it with the same error rather than alias.

// checkText refuses a body that is not UTF-8 or holds an escape of an
// unpaired UTF-16 surrogate. It relies on backslashes appearing only inside
// JSON strings; in a body that is not JSON at all it may miss an escape, and
// the decoder then refuses the body anyway.
func checkText(body []byte) error {
	if !utf8.Valid(body) {
		off := invalidAt(body)
		return awserr.InvalidUTF8(body[off], off)
	}
	for i := 0; ; {
		j := bytes.IndexByte(body[i:], '\\')
		if j < 0 {
			return nil
		}
		i += j
		r, ok := hexEscape(body[i:])
		switch {
		case !ok:
			// A two-character escape, or a malformed one (the decoder's to
			// refuse). A backslash that ends the body leaves no second
			// character: stop there rather than slice past the end.
			i = min(i+2, len(body))
		case r >= 0xd800 && r < 0xdc00: // high surrogate: a low one must follow
			if lo, ok := hexEscape(body[i+6:]); ok && lo >= 0xdc00 && lo < 0xe000 {
				i += 12
				continue
			}
			return loneSurrogate(body, i)
		case r >= 0xdc00 && r < 0xe000:
			return loneSurrogate(body, i)
		default:
			i += 6
		}
	}
}

// hexEscape decodes a "\uXXXX" escape at the start of b.
func hexEscape(b []byte) (rune, bool) {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return 0, false
	}
	var r rune
	for _, c := range b[2:6] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

func loneSurrogate(body []byte, off int) error {
	return awserr.LoneSurrogate(body[off:off+6], off)
}

// invalidAt is the offset of the first byte of b that does not begin a valid
// UTF-8 sequence.
func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return 0
}
