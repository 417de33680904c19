package logs

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// A hand-written decoder for the one shape every client sends PutLogEvents
// in: {"logEvents":[{"timestamp":N,"message":"..."},...],"logGroupName":"...",
// "logStreamName":"...","sequenceToken":"..."}, members in any order, any JSON
// whitespace. The generic decoder was 15-19% of the server's CPU under ingest
// (reflection per member, strings unescaped a byte at a time); this one
// scans eight bytes at a time for the end of a string and copies a message
// without escapes straight from the body into its string.
//
// Each message is still its own allocation, on purpose: strings carved out of
// one buffer per request would be cheaper, but anything that keeps one event
// (a Live Tail session's sample, the feed tail) would then pin the whole
// request's buffer, a thousand times the bytes it holds.
//
// It is a fast path, not a second definition of the wire format: it accepts
// only what it decodes exactly as protocol's generic decoder (checkText,
// then goccy/go-json/v2 with exact names) would, and declines everything
// else: an unknown, duplicate or escaped member name, null, entity, a
// timestamp that is negative, has a fraction, an exponent or more than 18
// digits, a control byte inside a string, a lone surrogate escape, trailing
// bytes, anything malformed. The generic decoder then decodes the body from
// scratch and gives its own value or error, so no error text or limit moves.
// FuzzPutLogEventsDecode checks, on arbitrary bodies, that whatever this
// accepts the generic decoder accepts with the same value.

// DecodeFast implements protocol.FastDecoder.
func (in *PutLogEventsInput) DecodeFast(body []byte) bool {
	// checkText's first test; its second (lone surrogate escapes) is made
	// where this decoder decodes \u escapes, and outside strings a
	// backslash is malformed JSON anyway.
	if !utf8.Valid(body) {
		return false
	}
	d := putDecoder{b: body}
	return d.input(in)
}

// ResetFast implements protocol.FastDecoder.
func (in *PutLogEventsInput) ResetFast() { *in = PutLogEventsInput{} }

type putDecoder struct {
	b   []byte
	i   int
	tmp []byte // a string with escapes, unescaped; reused within the request
}

// Members seen, to decline duplicates.
const (
	seenGroup = 1 << iota
	seenStream
	seenEvents
	seenToken
)

func (d *putDecoder) input(in *PutLogEventsInput) bool {
	if !d.ws() || d.b[d.i] != '{' {
		return false // an empty body is the generic decoder's "{}"
	}
	d.i++
	seen := 0
	if !d.ws() {
		return false
	}
	if d.b[d.i] == '}' {
		d.i++
		return d.end()
	}
	for {
		name, ok := d.name()
		if !ok {
			return false
		}
		if !d.ws() {
			return false
		}
		var bit int
		switch string(name) { // compiled to comparisons, no allocation
		case "logEvents":
			bit = seenEvents
			if seen&bit != 0 || !d.events(in) {
				return false
			}
		case "logGroupName":
			bit = seenGroup
			s, ok := d.str()
			if seen&bit != 0 || !ok {
				return false
			}
			in.LogGroupName = &s
		case "logStreamName":
			bit = seenStream
			s, ok := d.str()
			if seen&bit != 0 || !ok {
				return false
			}
			in.LogStreamName = &s
		case "sequenceToken":
			bit = seenToken
			s, ok := d.str()
			if seen&bit != 0 || !ok {
				return false
			}
			in.SequenceToken = s
		default:
			return false // entity, or a member the generic decoder skips
		}
		seen |= bit
		if !d.ws() {
			return false
		}
		switch d.b[d.i] {
		case ',':
			d.i++
			if !d.ws() {
				return false
			}
		case '}':
			d.i++
			return d.end()
		default:
			return false
		}
	}
}

// end accepts only whitespace after the top-level object.
func (d *putDecoder) end() bool {
	for ; d.i < len(d.b); d.i++ {
		if !isSpace(d.b[d.i]) {
			return false
		}
	}
	return true
}

// ws skips whitespace and reports whether a byte follows.
func (d *putDecoder) ws() bool {
	for d.i < len(d.b) {
		if !isSpace(d.b[d.i]) {
			return true
		}
		d.i++
	}
	return false
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

// name reads a member name and its colon; names with escapes are declined
// (the generic decoder would unescape them before matching).
func (d *putDecoder) name() ([]byte, bool) {
	if d.b[d.i] != '"' {
		return nil, false
	}
	start := d.i + 1
	j := start
	for j < len(d.b) && d.b[j] != '"' {
		if d.b[j] == '\\' || d.b[j] < 0x20 {
			return nil, false
		}
		j++
	}
	if j == len(d.b) {
		return nil, false
	}
	name := d.b[start:j]
	d.i = j + 1
	if !d.ws() || d.b[d.i] != ':' {
		return nil, false
	}
	d.i++
	return name, true
}

// events reads the logEvents array.
func (d *putDecoder) events(in *PutLogEventsInput) bool {
	if d.b[d.i] != '[' {
		return false
	}
	d.i++
	// A guess from the body's size (a bench event is ~120 bytes of JSON),
	// so that a 1,000-event batch rarely grows the slice.
	evs := make([]InputLogEvent, 0, min(len(d.b)/64+1, maxEventsLimit+1))
	if !d.ws() {
		return false
	}
	if d.b[d.i] == ']' {
		d.i++
		in.LogEvents = evs // [] is not null: "must have length ≥ 1"
		return true
	}
	for {
		var e InputLogEvent
		if !d.event(&e) {
			return false
		}
		evs = append(evs, e)
		if !d.ws() {
			return false
		}
		switch d.b[d.i] {
		case ',':
			d.i++
			if !d.ws() {
				return false
			}
		case ']':
			d.i++
			in.LogEvents = evs
			return true
		default:
			return false
		}
	}
}

func (d *putDecoder) event(e *InputLogEvent) bool {
	if d.b[d.i] != '{' {
		return false
	}
	d.i++
	if !d.ws() {
		return false
	}
	if d.b[d.i] == '}' {
		d.i++
		return true // members left out decode as zero, as in the generic decoder
	}
	seenTS, seenMsg := false, false
	for {
		name, ok := d.name()
		if !ok || !d.ws() {
			return false
		}
		switch string(name) {
		case "timestamp":
			if seenTS {
				return false
			}
			seenTS = true
			if e.Timestamp, ok = d.uint(); !ok {
				return false
			}
		case "message":
			if seenMsg {
				return false
			}
			seenMsg = true
			if e.Message, ok = d.str(); !ok {
				return false
			}
		default:
			return false
		}
		if !d.ws() {
			return false
		}
		switch d.b[d.i] {
		case ',':
			d.i++
			if !d.ws() {
				return false
			}
		case '}':
			d.i++
			return true
		default:
			return false
		}
	}
}

// uint reads a JSON integer of 1 to 18 digits (no sign, fraction or
// exponent, no leading zero): every such number fits an int64.
func (d *putDecoder) uint() (int64, bool) {
	j := d.i
	var v int64
	for j < len(d.b) && d.b[j] >= '0' && d.b[j] <= '9' {
		v = v*10 + int64(d.b[j]-'0')
		j++
	}
	n := j - d.i
	if n == 0 || n > 18 || (n > 1 && d.b[d.i] == '0') {
		return 0, false
	}
	if j < len(d.b) {
		switch d.b[j] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	d.i = j
	return v, true
}

// SWAR constants: a byte-wise test on eight bytes at once.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// stop returns a word with the high bit set in each byte of w that is '"',
// '\\' or a control byte (< 0x20); the lowest set bit marks the first such
// byte exactly (a false positive can only appear above a true one, from a
// borrow).
func stop(w uint64) uint64 {
	q := w ^ (ones * '"')
	s := w ^ (ones * '\\')
	return ((q-ones)&^q | (s-ones)&^s | (w-ones*0x20)&^w) & highs
}

// str reads a JSON string.
func (d *putDecoder) str() (string, bool) {
	if d.b[d.i] != '"' {
		return "", false // null, a number...: the generic decoder's to judge
	}
	b := d.b
	i := d.i + 1
	d.tmp = d.tmp[:0]
	escaped := false
	for {
		j := next(b, i)
		if j == len(b) {
			return "", false // unterminated
		}
		switch c := b[j]; {
		case c == '"':
			d.i = j + 1
			if !escaped {
				return string(b[i:j]), true
			}
			d.tmp = append(d.tmp, b[i:j]...)
			return string(d.tmp), true
		case c < 0x20:
			return "", false // a raw control byte: malformed JSON
		}
		// An escape.
		escaped = true
		d.tmp = append(d.tmp, b[i:j]...)
		if j+1 >= len(b) {
			return "", false
		}
		var r byte
		switch b[j+1] {
		case '"':
			r = '"'
		case '\\':
			r = '\\'
		case '/':
			r = '/'
		case 'b':
			r = '\b'
		case 'f':
			r = '\f'
		case 'n':
			r = '\n'
		case 'r':
			r = '\r'
		case 't':
			r = '\t'
		case 'u':
			u, ok := hex4(b[j+2:])
			if !ok {
				return "", false
			}
			n := 6
			rn := rune(u)
			switch {
			case u >= 0xd800 && u < 0xdc00: // a high surrogate: its low one must follow
				lo, ok := uint16(0), false
				if j+12 <= len(b) && b[j+6] == '\\' && b[j+7] == 'u' {
					lo, ok = hex4(b[j+8:])
				}
				if !ok || lo < 0xdc00 || lo >= 0xe000 {
					return "", false // a lone surrogate: checkText refuses it
				}
				rn = utf16.DecodeRune(rune(u), rune(lo))
				n = 12
			case u >= 0xdc00 && u < 0xe000:
				return "", false
			}
			d.tmp = utf8.AppendRune(d.tmp, rn)
			i = j + n
			continue
		default:
			return "", false
		}
		d.tmp = append(d.tmp, r)
		i = j + 2
	}
}

// next returns the index of the first '"', '\\' or control byte in b from i
// on, or len(b): eight bytes at a time.
func next(b []byte, i int) int {
	for i+8 <= len(b) {
		if m := stop(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 {
		i++
	}
	return i
}

// hex4 decodes the four hex digits at the start of b.
func hex4(b []byte) (uint16, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var v uint16
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | uint16(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | uint16(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | uint16(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}
