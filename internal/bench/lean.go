package bench

import (
	"bytes"
	"errors"
	"strconv"
	"time"

	"github.com/cairnlog/cairn/internal/jsonenc"
)

// The lean readers decode every event of a read answer — Cairn's
// FilterLogEvents pages and VictoriaLogs' JSON lines — with one small JSON
// scanner instead of encoding/json, so the figure measures the servers, not
// a reflection-driven decoder (the bench's encoding/json client spent ~300 ms
// of CPU per 100,000 events, more than the server did). Both sides get the
// same scanner and the same per-event work: every string member unescaped,
// every number parsed, the event's timestamp, stream and message handed to
// a check (readCheck), so neither side is excused work the other does.

// leanEvent is one decoded event. Message and Stream alias the scanner's
// buffers: valid only during the callback.
type leanEvent struct {
	Time    int64 // Unix ms
	Stream  []byte
	Message []byte
}

var errJSON = errors.New("malformed JSON")

// jsonScanner reads one JSON document from b. Strings with escapes are
// unescaped into scratch (reused, so a page costs no allocation per event).
type jsonScanner struct {
	b       []byte
	i       int
	scratch [2][]byte // two strings can be alive at once (message, key or other)
	keep    []byte    // the event's stream name, copied out of scratch slot 1
	depth   int
}

const maxJSONDepth = 64 // skipValue's nesting bound: no stack growth with attacker input

func (s *jsonScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte (0 at the end).
func (s *jsonScanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

func (s *jsonScanner) expect(c byte) error {
	if s.peek() != c {
		return errJSON
	}
	s.i++
	return nil
}

// str reads a string into scratch slot k (or aliases b when it has no
// escape). The closing quote and a backslash are found with
// bytes.IndexByte (vectorised), control characters eight bytes a step.
func (s *jsonScanner) str(k int) ([]byte, error) {
	if err := s.expect('"'); err != nil {
		return nil, err
	}
	start := s.i
	rest := s.b[s.i:]
	q := bytes.IndexByte(rest, '"')
	if q < 0 {
		return nil, errJSON
	}
	seg := rest[:q]
	if bs := bytes.IndexByte(seg, '\\'); bs >= 0 {
		s.i += bs
		return s.unescape(k, start)
	}
	if jsonenc.HasControl(seg) {
		return nil, errJSON
	}
	s.i += q + 1
	return seg, nil
}

// unescape decodes the string whose body started at start and whose first
// escape is at s.i into scratch slot k (jsonenc.AppendUnescaped, the
// decoder the transformer's parser shares).
func (s *jsonScanner) unescape(k, start int) ([]byte, error) {
	out, n, ok := jsonenc.AppendUnescaped(append(s.scratch[k][:0], s.b[start:s.i]...), s.b[s.i:])
	if !ok {
		return nil, errJSON
	}
	s.i += n
	s.scratch[k] = out
	return out, nil
}

// int reads an integer (the members the readers need are integers).
func (s *jsonScanner) int() (int64, error) {
	s.ws()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	var v int64
	digits := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		if v > (1<<63-1)/10-1 {
			return 0, errJSON
		}
		v = v*10 + int64(s.b[s.i]-'0')
		s.i++
		digits++
	}
	if digits == 0 {
		return 0, errJSON
	}
	if s.b[start] == '-' {
		v = -v
	}
	return v, nil
}

// skipValue skips one value of any kind, checking its syntax.
func (s *jsonScanner) skipValue() error {
	switch s.peek() {
	case '"':
		_, err := s.str(0)
		return err
	case '{':
		return s.object(func([]byte) error { return s.skipValue() })
	case '[':
		return s.array(s.skipValue)
	case 't':
		return s.word("true")
	case 'f':
		return s.word("false")
	case 'n':
		return s.word("null")
	default:
		return s.number()
	}
}

func (s *jsonScanner) word(w string) error {
	if len(s.b)-s.i < len(w) || string(s.b[s.i:s.i+len(w)]) != w {
		return errJSON
	}
	s.i += len(w)
	return nil
}

// number skips a JSON number (any form).
func (s *jsonScanner) number() error {
	start := s.i
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			s.i++
			continue
		}
		break
	}
	if _, err := strconv.ParseFloat(string(s.b[start:s.i]), 64); err != nil {
		return errJSON
	}
	return nil
}

// object reads an object, calling member with each key (the scanner then
// sits on its value, which member must consume).
func (s *jsonScanner) object(member func(key []byte) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	if s.depth++; s.depth > maxJSONDepth {
		return errJSON
	}
	defer func() { s.depth-- }()
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		// Members switch on string(key), which does not allocate.
		k, err := s.str(1)
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := member(k); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return errJSON
		}
	}
}

// array reads an array, calling elem on each element.
func (s *jsonScanner) array(elem func() error) error {
	if err := s.expect('['); err != nil {
		return err
	}
	if s.depth++; s.depth > maxJSONDepth {
		return errJSON
	}
	defer func() { s.depth-- }()
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return errJSON
		}
	}
}

// end checks nothing but space follows the document.
func (s *jsonScanner) end() error {
	if s.peek() != 0 || s.i != len(s.b) {
		return errJSON
	}
	return nil
}

// decodeFilterPage decodes a FilterLogEvents answer, calling each for every
// event (logStreamName, timestamp, message; ingestionTime and eventId are
// read and checked for type too), and returns nextToken ("" when absent).
func decodeFilterPage(sc *jsonScanner, body []byte, each func(*leanEvent) error) (next string, err error) {
	*sc = jsonScanner{b: body, scratch: sc.scratch, keep: sc.keep}
	var ev leanEvent
	var seen [2]bool // a real answer never repeats a member; refuse it rather than guess which counts
	err = sc.object(func(key []byte) error {
		k := -1
		switch string(key) {
		case "events":
			k = 0
		case "nextToken":
			k = 1
		}
		if k >= 0 {
			if seen[k] {
				return errors.New("repeated member " + string(key))
			}
			seen[k] = true
		}
		switch string(key) {
		case "events":
			if sc.peek() == 'n' {
				return sc.word("null")
			}
			return sc.array(func() error {
				ev = leanEvent{}
				sc.keep = sc.keep[:0]
				err := sc.object(func(key []byte) error {
					var err error
					switch string(key) {
					case "logStreamName":
						// Copied out of scratch slot 1, which the next key reuses.
						var b []byte
						if b, err = sc.str(1); err == nil {
							sc.keep = append(sc.keep[:0], b...)
						}
					case "timestamp":
						ev.Time, err = sc.int()
					case "ingestionTime":
						_, err = sc.int()
					case "message":
						ev.Message, err = sc.str(0)
					case "eventId":
						var id []byte
						if id, err = sc.str(1); err == nil && len(id) == 0 {
							err = errors.New("event without an eventId")
						}
					default:
						err = sc.skipValue()
					}
					return err
				})
				if err != nil {
					return err
				}
				ev.Stream = sc.keep
				return each(&ev)
			})
		case "nextToken":
			if sc.peek() == 'n' {
				return sc.word("null")
			}
			t, err := sc.str(1)
			next = string(t)
			return err
		default:
			return sc.skipValue()
		}
	})
	if err == nil {
		err = sc.end()
	}
	return next, err
}

// decodeVLLine decodes one LogsQL result line ({"_time":…,"stream":…,
// "_msg":…}) into ev.
func decodeVLLine(sc *jsonScanner, line []byte, ev *leanEvent) error {
	*sc = jsonScanner{b: line, scratch: sc.scratch, keep: sc.keep[:0]}
	*ev = leanEvent{}
	haveTime := false
	err := sc.object(func(key []byte) error {
		switch string(key) {
		case "_time":
			b, err := sc.str(1)
			if err != nil {
				return err
			}
			t, err := time.Parse(time.RFC3339Nano, string(b))
			if err != nil {
				return err
			}
			ev.Time, haveTime = t.UnixMilli(), true
			return nil
		case "stream":
			b, err := sc.str(1)
			sc.keep = append(sc.keep[:0], b...)
			return err
		case "_msg":
			var err error
			ev.Message, err = sc.str(0)
			return err
		default:
			return sc.skipValue()
		}
	})
	if err == nil {
		err = sc.end()
	}
	if err == nil && !haveTime {
		err = errors.New("line without _time")
	}
	ev.Stream = sc.keep
	return err
}
