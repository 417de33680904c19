package agent

import (
	"bytes"
	"regexp"
	"strings"
	"unicode/utf8"
)

// framer cuts a byte stream into lines. A line ends at '\n' (a '\r' before
// it is dropped); one that grows past the event limit is cut there and
// marked, so the partial buffer stays bounded however long the line.
type framer struct {
	limit   int    // bytes of a piece, marker excluded
	marker  string // appended to a cut piece
	discard bool   // truncate mode: drop the rest of a line that was cut
	mode    Oversize

	buf []byte
	pos int64 // stream offset just after buf
}

func newFramer(f fitter) *framer {
	return &framer{limit: f.max - len(f.marker), marker: f.marker, mode: f.mode}
}

// feed consumes data; emit gets each line and the stream offset just after
// it (where a reader restarting after this line would start).
func (fr *framer) feed(data []byte, emit func(line string, end int64)) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var chunk []byte
		if i < 0 {
			chunk = data
		} else {
			chunk = data[:i]
		}
		if !fr.discard {
			fr.buf = append(fr.buf, chunk...)
		}
		fr.pos += int64(len(chunk))
		if i < 0 {
			data = nil
			if !fr.discard && len(fr.buf) > fr.limit {
				rest, _ := fr.emitLong(fr.buf, emit)
				fr.buf = append(fr.buf[:0], rest...)
			}
			continue
		}
		data = data[i+1:]
		if fr.discard {
			fr.pos++
			fr.discard = false
			fr.buf = fr.buf[:0]
			continue
		}
		line := fr.buf
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		rest, pieces := fr.emitLong(line, emit)
		fr.pos++
		fr.discard = false
		if pieces == 0 || (len(rest) > 0 && fr.mode != OversizeTruncate) {
			emit(string(rest), fr.pos)
		}
		fr.buf = fr.buf[:0]
	}
}

// emitLong emits marked pieces from the front of a line longer than the
// limit and returns what is left and how many pieces it emitted. In truncate
// mode it emits one piece and sets discard, so the rest of the line is
// dropped.
func (fr *framer) emitLong(line []byte, emit func(string, int64)) ([]byte, int) {
	start := fr.pos - int64(len(fr.buf))
	pieces := 0
	for len(line) > fr.limit {
		cut := runeCutBytes(line, fr.limit)
		start += int64(cut)
		emit(string(line[:cut])+fr.marker, start)
		pieces++
		if fr.mode == OversizeTruncate {
			fr.discard = true
			return line[:0], pieces
		}
		line = line[cut:]
	}
	return line, pieces
}

func runeCutBytes(b []byte, limit int) int {
	n := limit
	for n > 0 && n < len(b) && !utf8.RuneStart(b[n]) {
		n--
	}
	if n == 0 {
		_, n = utf8.DecodeRune(b)
	}
	return n
}

// partial is the unterminated tail, for an input that ends without '\n'.
func (fr *framer) partial() (string, bool) {
	if fr.discard || len(fr.buf) == 0 {
		fr.discard = false
		return "", false
	}
	s := string(bytes.TrimSuffix(fr.buf, []byte{'\r'}))
	fr.buf = fr.buf[:0]
	return s, true
}

// reset forgets any buffered partial line and restarts offsets at pos.
func (fr *framer) reset(pos int64) {
	fr.buf, fr.discard, fr.pos = fr.buf[:0], false, pos
}

// grouper joins lines into multiline events: a line matching start begins
// a new event, other lines continue the current one. With no start pattern
// each line is an event.
type grouper struct {
	start *regexp.Regexp
	max   int // bytes of a joined event before it is emitted regardless

	cur    strings.Builder
	n      int   // lines in cur
	curEnd int64 // offset after cur's last line
	// committed is the offset after the last emitted event: resuming there
	// repeats nothing and loses nothing.
	committed int64
}

func (g *grouper) add(line string, end int64, emit func(msg string)) {
	if g.start == nil {
		g.committed = end
		emit(line)
		return
	}
	if g.n > 0 && (g.start.MatchString(line) || g.cur.Len()+1+len(line) > g.max) {
		g.flush(emit)
	}
	if g.n > 0 {
		g.cur.WriteByte('\n')
	}
	g.cur.WriteString(line)
	g.n++
	g.curEnd = end
}

// flush emits the event being gathered, if any.
func (g *grouper) flush(emit func(msg string)) {
	if g.n == 0 {
		return
	}
	msg := g.cur.String()
	g.cur.Reset()
	g.n = 0
	g.committed = g.curEnd
	emit(msg)
}

func (g *grouper) pending() bool { return g.n > 0 }
