package postgres

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"strings"

	"github.com/klauspost/compress/zstd"

	"github.com/cairnlog/cairn/internal/store"
)

// A block is one Append's events (one stream, one ingestion time,
// chronological), stored as one row: the zstd-compressed payload plus the
// summary columns reads use to skip it unopened (time range, stream, event
// count, raw bytes, a backslash flag and a gram filter).
//
// Payload, before compression:
//
//	count uvarint | count × (timestamp − previous timestamp) uvarint |
//	count × len uvarint | messages back to back
//
// (the first delta is from min_ts, so 0). The layout is this package's own:
// the embedded engine's encoding is internal to it and free to change under
// its own performance work.

var errCorrupt = errors.New("corrupt block")

const flagBackslash = 1 // some message contains '\'

// codec holds the zstd encoder and decoder (both safe for concurrent use
// through EncodeAll/DecodeAll).
type codec struct {
	enc *zstd.Encoder
	dec *zstd.Decoder
}

func newCodec() (*codec, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	// Bounded decode memory: a corrupt or hostile row cannot make the
	// decoder allocate without limit.
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		return nil, err
	}
	return &codec{enc: enc, dec: dec}, nil
}

func (c *codec) close() { c.dec.Close() }

// encode returns the compressed payload and the message bytes it holds.
func (c *codec) encode(events []store.Event) (payload []byte, raw int64) {
	n := 0
	for _, e := range events {
		n += len(e.Message) + 4
	}
	buf := make([]byte, 0, n+8)
	buf = binary.AppendUvarint(buf, uint64(len(events)))
	prev := events[0].Timestamp
	for _, e := range events {
		buf = binary.AppendUvarint(buf, uint64(e.Timestamp-prev))
		prev = e.Timestamp
	}
	for _, e := range events {
		buf = binary.AppendUvarint(buf, uint64(len(e.Message)))
		raw += int64(len(e.Message))
	}
	for _, e := range events {
		buf = append(buf, e.Message...)
	}
	return c.enc.EncodeAll(buf, nil), raw
}

// decoded is a block's events, messages as strings sharing one buffer.
type decoded struct {
	ts   []int64
	msgs []string
}

// decode inverts encode; count is the row's event count, checked against the
// payload so a corrupt row is an error, never a panic.
func (c *codec) decode(payload []byte, minTs int64, count int) (*decoded, error) {
	raw, err := c.dec.DecodeAll(payload, nil)
	if err != nil {
		return nil, errCorrupt
	}
	n, k := binary.Uvarint(raw)
	if k <= 0 || n != uint64(count) || n > uint64(len(raw)) {
		return nil, errCorrupt
	}
	raw = raw[k:]
	d := &decoded{ts: make([]int64, n), msgs: make([]string, n)}
	t := minTs
	for i := range d.ts {
		v, k := binary.Uvarint(raw)
		if k <= 0 || v > 1<<62 {
			return nil, errCorrupt
		}
		raw = raw[k:]
		t += int64(v)
		d.ts[i] = t
	}
	lens := make([]int, n)
	total := 0
	for i := range lens {
		v, k := binary.Uvarint(raw)
		if k <= 0 || v > uint64(len(raw)) {
			return nil, errCorrupt
		}
		raw = raw[k:]
		lens[i] = int(v)
		total += int(v)
	}
	if total != len(raw) {
		return nil, errCorrupt
	}
	all := string(raw)
	off := 0
	for i, l := range lens {
		d.msgs[i] = all[off : off+l]
		off += l
	}
	return d, nil
}

func hasBackslash(events []store.Event) bool {
	for _, e := range events {
		if strings.IndexByte(e.Message, '\\') >= 0 {
			return true
		}
	}
	return false
}

// The gram filter: a Bloom filter (one hash per gram) of the 4-byte grams
// inside runs of word bytes ([A-Za-z0-9_], bytes ≥ 0x80), except grams of
// four digits (random numbers fill those in any block and would skip
// nothing). CloudWatch terms match substrings, and every 4 contiguous bytes
// of a required literal occur in any message containing it, so "every gram
// of the literal is in the filter" is a sound precondition for a match.
// The filter has gramBits bits per distinct gram, rounded up to 64-bit
// words (at least one): built in a 2^16-bit scratch space and folded to the
// block's size (bit b lands on b mod m, m a multiple of 64).

const (
	gramBits    = 3
	scratchLog2 = 16
)

// byteClass classifies bytes for the gram scan: 0 not a word byte, 1 a
// word byte, 2 a digit (a word byte too). A table: the scan looks at every
// byte of every message, and a branchy test per byte was a third of the
// append's CPU time (BenchmarkBuildGrams).
var byteClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= '0' && c <= '9':
			t[c] = 2
		case c >= 0x80 || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			t[c] = 1
		}
	}
	return t
}()

func isWord(c byte) bool { return byteClass[c] != 0 }

// gramSlot is the scratch slot of gram g (its 4 bytes, big-endian).
func gramSlot(g uint32) uint32 { return (g * 0x9E3779B1) >> (32 - scratchLog2) }

// eachGram calls fn with the scratch slot of each indexed gram of msg.
func eachGram(msg string, fn func(slot uint32)) {
	var g uint32
	run, digits := 0, 0
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		cl := byteClass[c]
		if cl == 0 {
			run, digits = 0, 0
			continue
		}
		g = g<<8 | uint32(c)
		run++
		if cl == 2 {
			digits++
		} else {
			digits = 0
		}
		if run >= 4 && digits < 4 {
			fn(gramSlot(g))
		}
	}
}

// buildGrams returns the folded filter of events' messages: 64-bit
// little-endian words. It is eachGram's loop inlined (no call per gram).
func buildGrams(events []store.Event) []byte {
	scratch := make([]uint64, (1<<scratchLog2)/64)
	for _, e := range events {
		msg := e.Message
		var g uint32
		run, digits := 0, 0
		for i := 0; i < len(msg); i++ {
			c := msg[i]
			cl := byteClass[c]
			if cl == 0 {
				run, digits = 0, 0
				continue
			}
			g = g<<8 | uint32(c)
			run++
			digits = (digits + 1) * int(cl>>1) // a digit extends the run of digits, a letter ends it
			if run >= 4 && digits < 4 {
				h := gramSlot(g)
				scratch[h>>6] |= 1 << (h & 63)
			}
		}
	}
	set := 0
	for _, w := range scratch {
		set += bits.OnesCount64(w)
	}
	words := max(1, min(len(scratch), (set*gramBits+63)/64))
	folded := make([]uint64, words)
	for i, w := range scratch {
		folded[i%words] |= w
	}
	out := make([]byte, 0, 8*words)
	for _, w := range folded {
		out = binary.LittleEndian.AppendUint64(out, w)
	}
	return out
}

// gramQuery is the scratch slots a set of literals needs.
type gramQuery []uint32

func newGramQuery(literals []string) gramQuery {
	var q gramQuery
	seen := map[uint32]bool{}
	for _, lit := range literals {
		eachGram(lit, func(h uint32) {
			if !seen[h] {
				seen[h] = true
				q = append(q, h)
			}
		})
	}
	return q
}

// mayContain reports whether filter may hold every gram of q; a filter of
// an unexpected size never rules a block out.
func (q gramQuery) mayContain(filter []byte) bool {
	if len(q) == 0 || len(filter) == 0 || len(filter)%8 != 0 || len(filter) > (1<<scratchLog2)/8 {
		return true
	}
	m := uint32(len(filter) * 8)
	for _, h := range q {
		p := h % m
		if filter[p>>3]&(1<<(p&7)) == 0 {
			return false
		}
	}
	return true
}

// gramFilter is what a request's filter requires of a block's grams.
type gramFilter struct{ need, needUnlessEscaped gramQuery }

func newGramFilter(f store.Matcher) gramFilter {
	if f == nil {
		return gramFilter{}
	}
	return gramFilter{newGramQuery(f.Required()), newGramQuery(f.RequiredUnlessEscaped())}
}

// mayMatch: a block with backslashes may hold escaped literals, which only
// need has to find.
func (q gramFilter) mayMatch(grams []byte, flags int16) bool {
	return q.need.mayContain(grams) && (flags&flagBackslash != 0 || q.needUnlessEscaped.mayContain(grams))
}
