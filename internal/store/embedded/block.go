package embedded

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairnlog/cairn/internal/store"
)

// A block holds the events of one Append: one stream, one ingestion time,
// chronological. Its payload (zstd) is stored under a 'B' key; its summary
// under an 'S' key beside it, read without touching the payload; a smaller
// index entry under an 'I' key lets a single stream be read without scanning
// its group.
//
// The payload is a 'B' value of codec.go's format 2; what follows is format
// 1's payload, before compression (format 2 keeps its message column):
//
//	count uvarint | layout byte | count × (timestamp − previous timestamp) uvarint | messages
//
// (the first event's previous timestamp is minTs, so its delta is 0; deltas
// of a millisecond or two compress to almost nothing). Messages are stored
// in one of two layouts:
//
//	layoutLines:   each message followed by '\n' (when no message has one)
//	layoutLengths: count × len uvarint, then the messages back to back
//
// Newline-separated messages compress better (1.7 bytes/event less at zstd's
// fastest level on the bench's lines: a separator is cheaper to code than a
// column of lengths), and most log lines hold no newline.
//
// Summary ('S' value):
//
//	version=1 | sid uvarint | maxTs−minTs uvarint | count uvarint |
//	ingestion varint | raw bytes uvarint | flags | filter (see grams.go)
//
// Index entry ('I' value): version=1 | maxTs−minTs | count | ingestion | raw bytes
// [| flagMerged, for a merged block].

const (
	summaryVersion = 1
	flagBackslash  = 1 << 0 // some message contains '\'
	flagMerged     = 1 << 1 // a re-compacted block (format 3): its events keep their appends' seqs (recompact.go)

	layoutLengths = 0
	layoutLines   = 1
)

var errCorrupt = errors.New("corrupt block")

type summary struct {
	minTs, maxTs int64
	seq          uint64
	sid          uint64
	count        int
	ingestion    int64
	rawBytes     int64
	flags        byte
	filter       []byte // aliases the iterator's value; valid until it moves
	blockSeq     uint64 // feed entries only: the merged block now holding the append (0: its own)
}

func encodePayload(dst []byte, events []store.Event) []byte {
	layout := byte(layoutLines)
	for _, e := range events {
		if strings.IndexByte(e.Message, '\n') >= 0 {
			layout = layoutLengths
			break
		}
	}
	prev := events[0].Timestamp
	dst = binary.AppendUvarint(dst, uint64(len(events)))
	dst = append(dst, layout)
	for _, e := range events {
		dst = binary.AppendUvarint(dst, uint64(e.Timestamp-prev))
		prev = e.Timestamp
	}
	if layout == layoutLengths {
		for _, e := range events {
			dst = binary.AppendUvarint(dst, uint64(len(e.Message)))
		}
	}
	for _, e := range events {
		dst = append(dst, e.Message...)
		if layout == layoutLines {
			dst = append(dst, '\n')
		}
	}
	return dst
}

// DecodedBlock is a payload split into columns (DecodeBlock makes one).
// Messages alias data.
type DecodedBlock struct {
	ts   []int64
	off  []uint32 // message i is data[off[i]:off[i+1]-sep]
	sep  uint32   // 1 when messages are newline-terminated
	data []byte

	// A merged block (format 3, codec3.go) holds the events of many
	// appends: event i keeps the seq and index its append gave it, and its
	// ingestion time. nil for formats 1 and 2, whose events all share the
	// block key's seq and the summary's ingestion time.
	seqs   []uint64
	idx    []uint32
	ingest []int64

	// A merged block decoded in part (decodeWant) rendered only the
	// messages of events [from, to) whose template holds tpl (every one
	// when tpl is ""); the others read back empty. sized holds every
	// message's offset as if all were rendered (rawBytes).
	partial  bool
	from, to int
	tpl      string
	tplEsc   bool // and every event whose template holds a backslash (literal.orBackslash)
	sized    []uint32
	walked   int // events whose sized entries are exact; past them, see rawBytes

	// unsplit: a format-2 lines-layout block decoded for a filtered scan
	// of all its events (decodeWant.unsplit): data is the column's body
	// (each message followed by '\n'), off is nil and not yet checked;
	// only eachMatchLines reads it.
	unsplit bool

	// hitsOnly: a merged block read for a filter its templates decide
	// (decodeWant.hitsOnly): only ts, seqs, idx and ingest are set, hits
	// are the matching events (ascending) and raw is the messages' total
	// size. No message can be read.
	hitsOnly bool
	hits     []int32
	raw      int64
}

// covers reports whether d holds every message a reader of events [lo, hi)
// with template literal tpl (nil: none) may need.
func (d *DecodedBlock) covers(lo, hi int, tpl *literal) bool {
	if !d.partial {
		return true
	}
	return d.from <= lo && hi <= d.to && (d.tpl == "" || tpl != nil && d.tpl == string(tpl.b) && d.tplEsc == tpl.orBackslash)
}

// coversTimes is covers for the events in [start, end).
func (d *DecodedBlock) coversTimes(start, end int64, tpl *literal) bool {
	if !d.partial {
		return true
	}
	lo, _ := slices.BinarySearch(d.ts, start)
	hi, _ := slices.BinarySearch(d.ts, end)
	if end == math.MaxInt64 {
		hi = len(d.ts)
	}
	return lo >= hi || d.covers(lo, hi, tpl)
}

// rawBytes is the message bytes of events [lo, hi), rendered or not.
func (d *DecodedBlock) rawBytes(lo, hi int) int64 {
	if d.sized != nil {
		n, w := len(d.ts), d.walked
		if hi <= w {
			return int64(d.sized[hi] - d.sized[lo])
		}
		// A search's block walked only up to its last candidate
		// (decodeBlock3Of): the events after it share the rest of the
		// raw bytes, pro rata (exact for a reader to the block's end from
		// before that point, an estimate for a page resumed past it).
		exact, from := int64(0), lo
		if lo < w {
			exact, from = int64(d.sized[w]-d.sized[lo]), w
		}
		rest := int64(d.sized[n] - d.sized[w])
		return exact + rest*int64(hi-from)/int64(n-w)
	}
	return int64(d.off[hi]-d.off[lo]) - int64(d.sep)*int64(hi-lo)
}

// pos is event i's position; seq is the block key's.
func (d *DecodedBlock) pos(i int, seq uint64) store.Position {
	if d.seqs != nil {
		return store.Position{Time: d.ts[i], Seq: d.seqs[i], Index: d.idx[i]}
	}
	return store.Position{Time: d.ts[i], Seq: seq, Index: uint32(i)}
}

// ingestion is event i's ingestion time; def is the summary's.
func (d *DecodedBlock) ingestion(i int, def int64) int64 {
	if d.ingest != nil {
		return d.ingest[i]
	}
	return def
}

func (d *DecodedBlock) message(i int) []byte { return d.data[d.off[i] : d.off[i+1]-d.sep] }

// Len is the number of events.
func (d *DecodedBlock) Len() int { return len(d.ts) }

// Time is event i's timestamp.
func (d *DecodedBlock) Time(i int) int64 { return d.ts[i] }

// Message is event i's message; it aliases the decompression buffer, valid
// while that is.
func (d *DecodedBlock) Message(i int) []byte { return d.message(i) }

func decodePayload(raw []byte, minTs int64) (*DecodedBlock, error) {
	n, k := binary.Uvarint(raw)
	if k <= 0 || n == 0 || n > uint64(len(raw)) || len(raw) <= k {
		return nil, errCorrupt
	}
	layout := raw[k]
	raw = raw[k+1:]
	d := &DecodedBlock{ts: make([]int64, n), off: make([]uint32, n+1)}
	prev := minTs
	for i := range d.ts {
		v, k := binary.Uvarint(raw)
		if k <= 0 || v > 1<<62 {
			return nil, errCorrupt
		}
		prev += int64(v)
		d.ts[i] = prev
		raw = raw[k:]
	}
	if len(raw) > 1<<32-1 {
		return nil, errCorrupt
	}
	switch layout {
	case layoutLines:
		d.sep = 1
		pos := 0
		for i := 0; i < int(n); i++ {
			j := bytes.IndexByte(raw[pos:], '\n')
			if j < 0 {
				return nil, errCorrupt
			}
			d.off[i] = uint32(pos)
			pos += j + 1
		}
		if pos != len(raw) {
			return nil, errCorrupt
		}
		d.off[n] = uint32(pos)
	case layoutLengths:
		var total uint64
		for i := 0; i < int(n); i++ {
			v, k := binary.Uvarint(raw)
			if k <= 0 {
				return nil, errCorrupt
			}
			raw = raw[k:]
			d.off[i] = uint32(total)
			total += v
		}
		if total != uint64(len(raw)) {
			return nil, errCorrupt
		}
		d.off[n] = uint32(total)
	default:
		return nil, errCorrupt
	}
	d.data = raw
	return d, nil
}

func encodeSummary(dst []byte, s *summary, filter []byte) []byte {
	dst = append(dst, summaryVersion)
	dst = binary.AppendUvarint(dst, s.sid)
	dst = binary.AppendUvarint(dst, uint64(s.maxTs-s.minTs))
	dst = binary.AppendUvarint(dst, uint64(s.count))
	dst = binary.AppendVarint(dst, s.ingestion)
	dst = binary.AppendUvarint(dst, uint64(s.rawBytes))
	dst = append(dst, s.flags)
	return append(dst, filter...)
}

func encodeIndex(dst []byte, s *summary) []byte {
	dst = append(dst, summaryVersion)
	dst = binary.AppendUvarint(dst, uint64(s.maxTs-s.minTs))
	dst = binary.AppendUvarint(dst, uint64(s.count))
	dst = binary.AppendVarint(dst, s.ingestion)
	dst = binary.AppendUvarint(dst, uint64(s.rawBytes))
	if s.flags&flagMerged != 0 {
		// A merged block's entry says so: its events keep their own seqs,
		// so a read must not judge it by its key's (beforeResume).
		dst = append(dst, flagMerged)
	}
	return dst
}

type reader struct {
	b   []byte
	err bool
}

func (r *reader) uvarint() uint64 {
	v, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.err = true
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *reader) varint() int64 {
	v, k := binary.Varint(r.b)
	if k <= 0 {
		r.err = true
		return 0
	}
	r.b = r.b[k:]
	return v
}

// parseBlockKey reads minTs and seq from an 'S', 'B' (offset 9) or 'I'
// (offset 17) key.
func parseBlockKey(key []byte, off int) (minTs int64, seq uint64, ok bool) {
	if len(key) != off+16 {
		return 0, 0, false
	}
	return int64(binary.BigEndian.Uint64(key[off:])), binary.BigEndian.Uint64(key[off+8:]), true
}

func decodeSummary(key, val []byte) (summary, error) {
	var s summary
	var ok bool
	if s.minTs, s.seq, ok = parseBlockKey(key, 9); !ok || len(val) < 1 || val[0] != summaryVersion {
		return s, fmt.Errorf("summary %x: %w", key, errCorrupt)
	}
	r := reader{b: val[1:]}
	s.sid = r.uvarint()
	s.maxTs = s.minTs + int64(r.uvarint())
	s.count = int(r.uvarint())
	s.ingestion = r.varint()
	s.rawBytes = int64(r.uvarint())
	if r.err || len(r.b) < 1 {
		return s, fmt.Errorf("summary %x: %w", key, errCorrupt)
	}
	s.flags = r.b[0]
	s.filter = r.b[1:]
	return s, nil
}

func decodeIndex(key, val []byte, sid uint64) (summary, error) {
	var s summary
	var ok bool
	if s.minTs, s.seq, ok = parseBlockKey(key, 17); !ok || len(val) < 1 || val[0] != summaryVersion {
		return s, fmt.Errorf("index %x: %w", key, errCorrupt)
	}
	r := reader{b: val[1:]}
	s.sid = sid
	s.maxTs = s.minTs + int64(r.uvarint())
	s.count = int(r.uvarint())
	s.ingestion = r.varint()
	s.rawBytes = int64(r.uvarint())
	if r.err {
		return s, fmt.Errorf("index %x: %w", key, errCorrupt)
	}
	if len(r.b) > 0 {
		s.flags = r.b[0] & flagMerged // the only flag an index entry carries
	}
	return s, nil
}

func hasBackslash(events []store.Event) bool {
	for _, e := range events {
		if strings.IndexByte(e.Message, '\\') >= 0 {
			return true
		}
	}
	return false
}

// unsafeBytes views a string's bytes without copying; the result must not be
// modified or kept.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// unsafeString views bytes as a string without copying; the bytes must not
// change while the string is in use.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func (e *Engine) getBuf() []byte {
	if b, ok := e.bufs.Get().(*[]byte); ok {
		return *b
	}
	return make([]byte, 0, 256<<10)
}

func (e *Engine) putBuf(b []byte) {
	if cap(b) > 8<<20 || cap(b) == 0 { // a merged block's buffer is ~4 MB
		return // do not pin huge buffers
	}
	b = b[:0]
	e.bufs.Put(&b)
}

// openBlock fetches and decodes the payload of block (gid, minTs, seq). ok
// is false when the block is gone (reclaimed after its summary was read).
// The caller returns buf to the pool (putBuf) once done with blk.
//
// A format-2 block none of whose events lies in [start, end) comes back
// with its timestamps only (no messages, buf nil): nothing was decompressed.
func (e *Engine) openBlock(gid uint64, minTs int64, seq uint64, start, end int64) (blk *DecodedBlock, buf []byte, ok bool, err error) {
	return e.openBlockOf(gid, minTs, seq, decodeWant{start: start, end: end})
}

// openBlockOf is openBlock for what want asks: timesOnly returns a
// format-2 or 3 block's timestamps without decompressing its messages (its
// Message calls are then invalid; format-1 blocks are whole zstd frames and
// decode in full); a merged block renders only the messages want's time
// range and template literal need (decodeWant).
func (e *Engine) openBlockOf(gid uint64, minTs int64, seq uint64, want decodeWant) (blk *DecodedBlock, buf []byte, ok bool, err error) {
	start, end, timesOnly := want.start, want.end, want.timesOnly
	key := blockKey(tagBlock, gid, minTs, seq)
	value, closer, err := e.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("read block: %w", err)
	}
	defer closer.Close()
	if isMerged(value) {
		// A merged block's timestamps sit in a small frame of their own:
		// decodeBlock3Of reads them first, and the rest only when one is
		// in range.
		buf = e.getBuf()
		blk, buf, err = decodeBlock3Of(value, minTs, buf, e.dec, want)
		if err != nil {
			e.putBuf(buf)
			return nil, nil, false, fmt.Errorf("block %x: %w", key, err)
		}
		if blk.off == nil { // timestamps only
			e.putBuf(buf)
			return blk, nil, true, nil
		}
		e.decodes.Add(1)
		return blk, buf, true, nil
	}
	ts, rest, err := DecodeBlockTimes(value, minTs, nil)
	switch {
	case errors.Is(err, ErrFormat1):
		buf = e.getBuf()
		e.decodes.Add(1)
		raw, err := e.dec.DecodeAll(value, buf[:0])
		if err != nil {
			e.putBuf(buf)
			return nil, nil, false, fmt.Errorf("decompress block %x: %w", key, err)
		}
		blk, err = decodePayload(raw, minTs)
		if err != nil {
			e.putBuf(raw)
			return nil, nil, false, fmt.Errorf("block %x: %w", key, err)
		}
		return blk, raw, true, nil
	case err != nil:
		return nil, nil, false, fmt.Errorf("block %x: %w", key, err)
	}
	if timesOnly || !anyInRange(ts, start, end) {
		return &DecodedBlock{ts: ts}, nil, true, nil
	}
	buf = e.getBuf()
	if rest[0] == codecRaw { // messages would alias Pebble's buffer: copy them
		buf = append(buf[:0], rest...)
		rest = buf
	}
	e.decodes.Add(1)
	// A filtered scan of a block wholly in range needs only the messages
	// around its literal's hits (eachMatchLines): the column stays unsplit.
	unsplit := want.unsplit && ts[0] >= start && ts[len(ts)-1] < end
	blk, buf, err = decodeMessages(ts, rest, buf, e.dec, unsplit)
	if err != nil {
		e.putBuf(buf)
		return nil, nil, false, fmt.Errorf("block %x: %w", key, err)
	}
	return blk, buf, true, nil
}

// anyInRange reports whether a chronological ts holds a time in [start, end).
func anyInRange(ts []int64, start, end int64) bool {
	i, _ := slices.BinarySearch(ts, start)
	return i < len(ts) && ts[i] < end
}
