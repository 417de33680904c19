package delivery

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"

	"github.com/klauspost/compress/flate"
)

// A record's gzip payload joined from parts compressed apart.
//
// A gzip member is one deflate stream between a header and a trailer
// holding the CRC-32 and the length of the whole plaintext (RFC 1952).
// A deflate stream is a sequence of blocks (RFC 1951), and nothing ties a
// block to the compressor that wrote the one before it except
// back-references, which reach at most 32 KiB behind. So parts deflated by
// separate compressors, each started afresh (no reference before its own
// first byte) and each but the last ending on a byte boundary with its
// final-block bit clear (a sync flush: Z_SYNC_FLUSH), concatenate into one
// valid stream of the concatenated plaintext. The trailer's CRC-32 is
// joined from the parts' own CRCs (crc32Combine), so the plaintext is not
// read again.
//
// Delivery uses this for a group's match-all filters: the events of a
// block are the same bytes in every filter's record, only the head
// (`{"messageType":…,"subscriptionFilters":["name"],"logEvents":[`)
// differs, so each block's span is deflated once per level
// (encodedBlock.seg) and each record is its own head in a stored block,
// the shared segments with stored "," between them, and a final stored
// block "]}". The JSON keeps AWS's key order; a consumer sees one ordinary
// gzip member (proven against Go's, Python's and Node's decoders in
// gzipjoin_test.go, the seam fuzzed by FuzzJoinedGzip).

// deflateSegment is a run of plaintext deflated on its own: data is
// non-final deflate blocks ending on a byte boundary.
type deflateSegment struct {
	data []byte
	crc  uint32 // CRC-32 (IEEE) of the plaintext
	n    int    // plaintext length
}

// gzipHeader is a gzip member's fixed header: deflate, no flags, no
// modification time, no extra flags, OS unknown (255), as Go's writer
// and klauspost's write it.
const gzipHeader = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"

// appendStored appends p as stored deflate blocks (at most 65,535 bytes
// each), the last marked final when final. The stream must be at a byte
// boundary, as every part of a joined payload ends on one.
func appendStored(dst, p []byte, final bool) []byte {
	for {
		n := min(len(p), 0xffff)
		last := n == len(p)
		h := byte(0) // BFINAL 0, BTYPE 00 (stored), then padding to the byte
		if last && final {
			h = 1
		}
		dst = append(dst, h, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		dst = append(dst, p[:n]...)
		p = p[n:]
		if last {
			return dst
		}
	}
}

// deflateSpan deflates p alone at level into a segment (klauspost's
// compressor, reset, so it refers to nothing before p; flushed, so it ends
// on a byte boundary and is not final). Level 0 is stored blocks; levels
// are 0–9 (a sink's gzip_level).
func deflateSpan(pool *gzipPool, p []byte, dst []byte) *deflateSegment {
	seg := &deflateSegment{crc: crc32.ChecksumIEEE(p), n: len(p)}
	if pool.level == 0 {
		seg.data = appendStored(dst[:0], p, false)
		return seg
	}
	buf := bytes.NewBuffer(dst[:0])
	buf.Grow(len(p)/4 + 64)
	w, _ := pool.fp.Get().(*flate.Writer)
	if w == nil {
		w, _ = flate.NewWriter(buf, pool.level)
	} else {
		w.Reset(buf)
	}
	w.Write(p)
	w.Flush()
	pool.fp.Put(w)
	seg.data = buf.Bytes()
	return seg
}

// segment is the deflated span of events from..to-1 of b at pool's level:
// for the whole block, made once and kept for every record that holds it
// (level 0 is a copy either way, so it is not kept); for part of it, made
// for this record alone.
func (b *encodedBlock) segment(pool *gzipPool, from, to int) *deflateSegment {
	if from != 0 || to != len(b.ends) || pool.level == 0 {
		return deflateSpan(pool, b.span(from, to), nil)
	}
	slot := pool.level - 1 // levels 1 … 9
	b.segMu.Lock()
	if b.seg == nil {
		b.seg = make([]*deflateSegment, 9)
	}
	seg, made := b.seg[slot], false
	if seg == nil {
		seg = deflateSpan(pool, b.span(from, to), nil)
		b.seg[slot], made = seg, true
	}
	b.segMu.Unlock()
	if made && b.cache != nil {
		// Counted in the sharing bound (outside segMu: the cache's lock
		// is never taken inside a block's).
		b.cache.grew(b, cap(seg.data))
	}
	return seg
}

// gzipJoined is the record's payload made of its head, its pieces'
// segments and its tail (see the top of this file).
func (r *Record) gzipJoined(pool *gzipPool) []byte {
	head := r.appendHead(make([]byte, 0, 256))
	n := 0
	for _, p := range r.pieces {
		n += p.blk.ends[p.to-1] - p.blk.start(p.from)
	}
	j := gzipJoiner{dst: r.spareGz[:0]}
	r.spareGz = nil
	if want := len(head) + 64 + n/3; cap(j.dst) < want {
		j.dst = make([]byte, 0, want)
	}
	j.dst = append(j.dst, gzipHeader...)
	j.stored(head)
	for i, p := range r.pieces {
		if i > 0 {
			j.stored([]byte{','})
		}
		j.segment(p.blk.segment(pool, p.from, p.to))
	}
	return j.finish([]byte("]}"))
}

// gzipJoiner writes one gzip member from parts: stored plaintext and
// deflated segments, in order, after the header.
type gzipJoiner struct {
	dst []byte
	crc uint32
	n   int
}

// stored appends p as stored, non-final blocks.
func (j *gzipJoiner) stored(p []byte) {
	j.dst = appendStored(j.dst, p, false)
	j.crc = crc32.Update(j.crc, crc32.IEEETable, p)
	j.n += len(p)
}

// segment appends a segment deflated apart.
func (j *gzipJoiner) segment(s *deflateSegment) {
	j.dst = append(j.dst, s.data...)
	j.crc = crc32Combine(j.crc, s.crc, s.n)
	j.n += s.n
}

// finish appends tail as the final stored block and the trailer (CRC-32,
// then the length modulo 2^32, little-endian).
func (j *gzipJoiner) finish(tail []byte) []byte {
	j.dst = appendStored(j.dst, tail, true)
	j.crc = crc32.Update(j.crc, crc32.IEEETable, tail)
	j.n += len(tail)
	j.dst = binary.LittleEndian.AppendUint32(j.dst, j.crc)
	return binary.LittleEndian.AppendUint32(j.dst, uint32(j.n))
}

// crc32Combine is the CRC-32 (IEEE, reflected) of A followed by B, from
// crcA, crcB and len(B): shifting A's remainder past len(B) zero bytes is
// a multiplication by x^(8·lenB) modulo the polynomial, and B's CRC adds
// (the pre- and post-conditioning of the two cancel out but for the
// shift). Powers x^(2^k) are made by squaring, so the cost is O(log lenB)
// carry-less products of 32 steps each: about a microsecond for a block.
func crc32Combine(crcA, crcB uint32, lenB int) uint32 {
	if lenB <= 0 {
		return crcA
	}
	// In the reflected representation bit 31 is x^0, bit 30 x^1, ...
	p := uint32(1) << 31  // x^0
	sq := uint32(1) << 30 // x^1, squared 3 times below: x^8, one byte
	for i := 0; i < 3; i++ {
		sq = gfMulModP(sq, sq)
	}
	for n := uint64(lenB); n > 0; n >>= 1 {
		if n&1 != 0 {
			p = gfMulModP(sq, p)
		}
		sq = gfMulModP(sq, sq)
	}
	return gfMulModP(p, crcA) ^ crcB
}

// gfMulModP is a·b modulo the CRC-32 polynomial, both reflected.
func gfMulModP(a, b uint32) uint32 {
	const poly = 0xedb88320 // crc32.IEEE, reflected
	var prod uint32
	for m := uint32(1) << 31; m != 0; m >>= 1 {
		if a&m != 0 {
			prod ^= b
		}
		// b·x: in the reflected form a right shift, reduced when x^31
		// (bit 0) falls off.
		if b&1 != 0 {
			b = b>>1 ^ poly
		} else {
			b >>= 1
		}
	}
	return prod
}
