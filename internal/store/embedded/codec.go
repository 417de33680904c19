package embedded

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"slices"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/cairnlog/cairn/internal/store"
)

// The block codec: what a 'B' value holds. Two formats are read; Append
// writes the second.
//
// Format 1 (written until the columnar format) is one zstd frame of the
// payload block.go describes (count, layout, timestamp deltas, messages). A
// zstd frame starts with its magic number, 28 b5 2f fd.
//
// Format 2 (columnar) keeps the timestamps outside the compressed messages,
// so a reader learns which events fall in its time range, and a count by
// time needs, without decompressing anything:
//
//	0x02 | count uvarint | ts width byte | ts column | codec byte | messages
//
// The ts column holds count deltas (timestamp − previous timestamp, the
// first against the block key's minTs, so it is 0). Width 0: each an
// uvarint. Width 1, 2, 4 or 8: each that many bits, packed from the low bit
// of the first byte up, ⌈count·width/8⌉ bytes; Append picks the narrowest
// width that holds the largest delta, or uvarints when a delta needs more
// than 8 bits. Events about a millisecond apart take 2 bits each, a quarter
// of a byte: about what zstd made of the same deltas in format 1.
//
// codec 1 is a zstd frame of the message column; codec 2 an S2 block
// (klauspost/compress/s2, Snappy's faster successor: several times
// zstd-fastest's speed for a larger block, which re-compaction later makes
// small; what Append writes by default); codec 0 stores it as is.
// The message column is layout byte | body, the body as in format 1
// (layoutLines: messages each followed by '\n'; layoutLengths: count × len
// uvarint, then the messages).
//
// A new format gets the next leading byte (never 0x28), so every value says
// how to read it.
//
// The API is small on purpose, so another engine can store blocks the same
// way: EncodeBlock turns a chronological batch into a value, DecodeBlockTimes
// reads its timestamps alone, and DecodeBlock reads it whole into a
// DecodedBlock (Len, Time, Message).

const (
	blockFormat2 = 0x02
	zstdMagic0   = 0x28

	codecRaw  = 0
	codecZstd = 1
	codecS2   = 2

	maxBlockEvents = 1 << 24 // far above PutLogEvents' 10,000; bounds a corrupt count
)

// EncodeBlock appends events (chronological, at least one) to dst as a
// format-2 value, compressing the messages with enc. scratch is reused for
// the uncompressed message column and returned for the next call.
func EncodeBlock(dst, scratch []byte, events []store.Event, enc *zstd.Encoder) (value, scratchOut []byte) {
	dst = append(dst, blockFormat2)
	dst = binary.AppendUvarint(dst, uint64(len(events)))
	dst = appendTimes(dst, events)
	dst = append(dst, codecZstd)
	scratch = appendMessages(scratch[:0], events)
	return enc.EncodeAll(scratch, dst), scratch
}

// EncodeBlockS2 is EncodeBlock with the message column in S2 (codec 2).
func EncodeBlockS2(dst, scratch []byte, events []store.Event) (value, scratchOut []byte) {
	dst = append(dst, blockFormat2)
	dst = binary.AppendUvarint(dst, uint64(len(events)))
	dst = appendTimes(dst, events)
	dst = append(dst, codecS2)
	scratch = appendMessages(scratch[:0], events)
	dst = slices.Grow(dst, s2.MaxEncodedLen(len(scratch)))
	enc := s2.Encode(dst[len(dst):cap(dst)], scratch)
	return dst[:len(dst)+len(enc)], scratch
}

func appendTimes(dst []byte, events []store.Event) []byte {
	var maxDelta uint64
	prev := events[0].Timestamp
	for _, e := range events {
		maxDelta = max(maxDelta, uint64(e.Timestamp-prev))
		prev = e.Timestamp
	}
	width := 0
	switch n := bits.Len64(maxDelta); {
	case n <= 1:
		width = 1
	case n <= 2:
		width = 2
	case n <= 4:
		width = 4
	case n <= 8:
		width = 8
	}
	dst = append(dst, byte(width))
	prev = events[0].Timestamp
	if width == 0 {
		for _, e := range events {
			dst = binary.AppendUvarint(dst, uint64(e.Timestamp-prev))
			prev = e.Timestamp
		}
		return dst
	}
	var acc uint64
	var nbits int
	for _, e := range events {
		acc |= uint64(e.Timestamp-prev) << nbits
		prev = e.Timestamp
		if nbits += width; nbits == 64 {
			dst = binary.LittleEndian.AppendUint64(dst, acc)
			acc, nbits = 0, 0
		}
	}
	for ; nbits > 0; nbits -= 8 {
		dst = append(dst, byte(acc))
		acc >>= 8
	}
	return dst
}

// appendMessages appends the message column (layout byte, body). It writes
// the lines layout first and counts its newlines: one a message means no
// message holds one (each separator is one), else the column is written again
// with lengths. One vectorised count over the column replaced a search of each
// message before writing it, a call per event (BenchmarkAppendMessages).
func appendMessages(dst []byte, events []store.Event) []byte {
	start := len(dst)
	dst = append(dst, layoutLines)
	for _, e := range events {
		dst = append(dst, e.Message...)
		dst = append(dst, '\n')
	}
	if bytes.Count(dst[start+1:], newline) == len(events) {
		return dst
	}
	dst = append(dst[:start], layoutLengths)
	for _, e := range events {
		dst = binary.AppendUvarint(dst, uint64(len(e.Message)))
	}
	for _, e := range events {
		dst = append(dst, e.Message...)
	}
	return dst
}

var newline = []byte{'\n'}

// columnHasBackslash reports whether a message of events, whose message
// column appendMessages wrote as col, holds a backslash: in the lines layout
// the body is the messages and their separators, so one search of the column
// answers; the lengths layout's uvarints may hold the byte, so its messages
// are searched one by one.
func columnHasBackslash(col []byte, events []store.Event) bool {
	if len(col) > 0 && col[0] == layoutLines {
		return bytes.IndexByte(col[1:], '\\') >= 0
	}
	return hasBackslash(events)
}

// DecodeBlockTimes returns the timestamps of a format-2 value appended to
// ts, and the rest of the value (from the codec byte on), without
// decompressing anything. A format-1 value gives ErrFormat1: its timestamps
// are inside the zstd frame, for DecodeBlock.
func DecodeBlockTimes(value []byte, minTs int64, ts []int64) (times []int64, rest []byte, err error) {
	if len(value) == 0 || value[0] != blockFormat2 {
		return nil, nil, ErrFormat1
	}
	r := reader{b: value[1:]}
	n := r.uvarint()
	if r.err || n == 0 || n > maxBlockEvents || len(r.b) < 1 {
		return nil, nil, errCorrupt
	}
	width := int(r.b[0])
	b := r.b[1:]
	ts = slices.Grow(ts, int(n))[:len(ts)+int(n)]
	out := ts[len(ts)-int(n):]
	prev := minTs
	switch width {
	case 0:
		for i := range out {
			v, k := binary.Uvarint(b)
			if k <= 0 || v > math.MaxInt64/4 {
				return nil, nil, errCorrupt
			}
			b = b[k:]
			if prev += int64(v); prev < 0 {
				return nil, nil, errCorrupt
			}
			out[i] = prev
		}
	case 1, 2, 4, 8:
		size := (int(n)*width + 7) / 8
		if len(b) < size {
			return nil, nil, errCorrupt
		}
		mask := uint64(1)<<width - 1
		perByte := 8 / width
		for i := range out {
			v := uint64(b[i/perByte]>>(uint(i%perByte)*uint(width))) & mask
			prev += int64(v)
			out[i] = prev
		}
		b = b[size:]
	default:
		return nil, nil, errCorrupt
	}
	if len(b) < 1 {
		return nil, nil, errCorrupt
	}
	return ts, b, nil
}

// ErrFormat1 says a value is not format 2: DecodeBlock reads it whole.
var ErrFormat1 = errors.New("format 1 block")

// DecodeBlock reads a value of any format (format 3: codec3.go): format 1 is decompressed
// whole, format 2's messages after its timestamps. Messages alias buf (the
// decompression buffer, returned grown) or, uncompressed, value.
func DecodeBlock(value []byte, minTs int64, buf []byte, dec *zstd.Decoder) (*DecodedBlock, []byte, error) {
	if isMerged(value) {
		return decodeBlock3(value, minTs, buf, dec, false)
	}
	ts, rest, err := DecodeBlockTimes(value, minTs, nil)
	if errors.Is(err, ErrFormat1) {
		if len(value) == 0 || value[0] != zstdMagic0 {
			return nil, buf, errCorrupt
		}
		raw, err := dec.DecodeAll(value, buf[:0])
		if err != nil {
			return nil, buf, err
		}
		blk, err := decodePayload(raw, minTs)
		return blk, raw, err
	}
	if err != nil {
		return nil, buf, err
	}
	return decodeMessages(ts, rest, buf, dec, false)
}

// decodeMessages reads format 2's codec byte and message column for the
// events whose timestamps are ts. unsplit leaves a lines-layout column
// unsplit (DecodedBlock.unsplit: for eachMatchLines alone, which also checks
// it); a lengths-layout column is split all the same.
func decodeMessages(ts []int64, rest, buf []byte, dec *zstd.Decoder, unsplit bool) (*DecodedBlock, []byte, error) {
	var col []byte
	switch rest[0] {
	case codecRaw:
		col = rest[1:]
	case codecZstd:
		var err error
		if col, err = dec.DecodeAll(rest[1:], buf[:0]); err != nil {
			return nil, buf, err
		}
		buf = col
	case codecS2:
		n, err := s2.DecodedLen(rest[1:])
		if err != nil || n > 64<<20 {
			return nil, buf, errCorrupt
		}
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		if col, err = s2.Decode(buf[:n], rest[1:]); err != nil {
			return nil, buf, errCorrupt
		}
		buf = col
	default:
		return nil, buf, errCorrupt
	}
	if unsplit && len(col) >= 1 && col[0] == layoutLines && len(col) <= math.MaxUint32 {
		return &DecodedBlock{ts: ts, sep: 1, data: col[1:], unsplit: true}, buf, nil
	}
	d := &DecodedBlock{ts: ts, off: make([]uint32, len(ts)+1)}
	if err := d.splitMessages(col); err != nil {
		return nil, buf, err
	}
	return d, buf, nil
}

// splitMessages finds the messages of a message column (layout byte, body).
func (d *DecodedBlock) splitMessages(col []byte) error {
	if len(col) < 1 || len(col) > math.MaxUint32 {
		return errCorrupt
	}
	layout, raw := col[0], col[1:]
	n := len(d.ts)
	switch layout {
	case layoutLines:
		d.sep = 1
		pos := 0
		for i := 0; i < n; i++ {
			j := bytes.IndexByte(raw[pos:], '\n')
			if j < 0 {
				return errCorrupt
			}
			d.off[i] = uint32(pos)
			pos += j + 1
		}
		if pos != len(raw) {
			return errCorrupt
		}
		d.off[n] = uint32(pos)
	case layoutLengths:
		var total uint64
		for i := 0; i < n; i++ {
			v, k := binary.Uvarint(raw)
			if k <= 0 || v > uint64(len(col)) {
				return errCorrupt
			}
			raw = raw[k:]
			d.off[i] = uint32(total)
			total += v
		}
		if total != uint64(len(raw)) {
			return errCorrupt
		}
		d.off[n] = uint32(total)
	default:
		return errCorrupt
	}
	d.data = raw
	return nil
}
