package metricfilter

import (
	"math/bits"
	"slices"

	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/rarebyte"
)

// The block search by byte masks (maskScan): where the CPU has AVX2, a
// block's text is compared 64 bytes at a time with every byte the block's
// literals are tested by (at most maskRows distinct bytes), one bit a byte
// (eqMasksAVX2); a literal's candidate starts are the positions where two
// of its bytes (its two least frequent, rare and rare2) both sit at their
// offsets, the AND of two shifted masks, and only those candidates are
// compared with the literal. One pass over the text serves every literal,
// and a common byte ('u' of "timeout") costs a candidate only where the
// literal's second byte is in place too, instead of one IndexByte call per
// occurrence. blockScan without masks (literal by literal) is the fallback
// and, with strings.Contains, the reference (TestMaskScanAgrees,
// FuzzBlockScan).

// maskRows is the most distinct bytes one maskScan tests.
const maskRows = 16

// maskLit is a literal as maskScan tests it: the rows of two of its bytes
// and their offsets in the literal.
type maskLit struct {
	ra, rb int
	oa, ob int
}

// eqMasks is the byte-by-byte definition of eqMasksAVX2 (its reference):
// out[r*chunks+ch] has bit i set when text[ch*64+i] is rows[r]'s byte.
func eqMasks(text []byte, chunks int, rows *[maskRows][32]byte, n int, out []uint64) {
	for ch := 0; ch < chunks; ch++ {
		for r := 0; r < n; r++ {
			var m uint64
			for i := 0; i < 64; i++ {
				if text[ch*64+i] == rows[r][0] {
					m |= 1 << i
				}
			}
			out[r*chunks+ch] = m
		}
	}
}

// maskPlan lays out the rows and the maskLits of lits (ml: the caller's,
// returned for reuse); ok is false when they need more than maskRows bytes
// or a literal is empty or longer than 64 bytes (blockScan then searches
// literal by literal).
func maskPlan(lits []rareLiteral, rows *[maskRows][32]byte, ml []maskLit) ([]maskLit, int, bool) {
	ml = ml[:0]
	n := 0
	row := func(c byte) int {
		for r := 0; r < n; r++ {
			if rows[r][0] == c {
				return r
			}
		}
		if n == maskRows {
			return -1
		}
		for i := range rows[n] {
			rows[n][i] = c
		}
		n++
		return n - 1
	}
	for i := range lits {
		l := &lits[i]
		if len(l.s) == 0 || len(l.s) > 64 {
			return ml, 0, false
		}
		m := maskLit{oa: l.rare, ob: l.rare2}
		if m.ra = row(l.s[m.oa]); m.ra < 0 {
			return ml, 0, false
		}
		if m.rb = row(l.s[m.ob]); m.rb < 0 {
			return ml, 0, false
		}
		ml = append(ml, m)
	}
	return ml, n, true
}

// fieldStartBytes are the bytes after which a field, or its value, starts
// (pattern.AtFieldStart's, beside the message's start).
const fieldStartBytes = " \t\"[]"

// delimRows adds the rows of fieldStartBytes to a plan of n rows, when
// they fit: it returns the new row count and the first delimiter row, or
// n and -1 (literals at a field start are then tested at each occurrence).
func delimRows(rows *[maskRows][32]byte, n int) (int, int) {
	if n+len(fieldStartBytes) > maskRows {
		return n, -1
	}
	for i := 0; i < len(fieldStartBytes); i++ {
		for j := range rows[n+i] {
			rows[n+i][j] = fieldStartBytes[i]
		}
	}
	return n + len(fieldStartBytes), n
}

// maskBatch is how many chunks maskScan computes the masks of at once:
// the masks of a batch (16 rows of 8 bytes a chunk: 4 KB) stay in the
// first-level cache while every literal reads them.
const maskBatch = 32

// maskScan is blockScan's search by masks: buf holds the block's text,
// tlen bytes, padded with zeros to (chunks+1)*64 bytes; starts and present
// as blockScan's; rows and ml a maskPlan of lits, n rows. ms is the
// caller's scratch.
//
// A literal at a field start (rareLiteral.start) is tested only where the
// byte before is one of fieldStartBytes or a message starts, from the
// masks of those bytes when they fit in the rows (the "5" of status=5* is
// in nearly every line, after a space in few).
func maskScan(buf []byte, tlen int, starts []int, lits []rareLiteral, ml []maskLit, rows *[maskRows][32]byte, n int, present []uint64, ms *maskScratch, avx2 bool) {
	chunks := (tlen + 63) / 64
	delim := -1
	if slices.ContainsFunc(lits, func(l rareLiteral) bool { return l.start }) {
		n, delim = delimRows(rows, n)
	}
	if delim >= 0 {
		// ms.fs[ch]: the chunk's message starts (the delimiters' bits are
		// added batch by batch).
		ms.fs = append(ms.fs[:0], make([]uint64, chunks)...)
		for _, st := range starts[:len(starts)-1] {
			ms.fs[st>>6] |= 1 << (st & 63)
		}
	}
	ms.ev = append(ms.ev[:0], make([]int, len(lits))...)
	ms.skip = append(ms.skip[:0], make([]int, len(lits))...)
	if cap(ms.masks) < (maskBatch+1)*n {
		ms.masks = make([]uint64, (maskBatch+1)*n)
	}
	text := unsafeString(buf[:tlen])
	var carry uint64 // the last delimiter bit of the chunk before
	var fsb [maskBatch]uint64
	for c0 := 0; c0 < chunks; c0 += maskBatch {
		nb := min(maskBatch, chunks-c0)
		masks := ms.masks[:(nb+1)*n]
		if avx2 {
			eqMasksAVX2(&buf[c0*64], nb+1, rows, n, &masks[0])
		} else {
			eqMasks(buf[c0*64:], nb+1, rows, n, masks)
		}
		stride := nb + 1 // a row's masks: masks[r*stride+b] is chunk c0+b's
		if delim >= 0 {
			// fsb[b]: where a field may start in the batch's chunk b.
			d0 := masks[delim*stride : (delim+1)*stride]
			d1 := masks[(delim+1)*stride : (delim+2)*stride]
			d2 := masks[(delim+2)*stride : (delim+3)*stride]
			d3 := masks[(delim+3)*stride : (delim+4)*stride]
			d4 := masks[(delim+4)*stride : (delim+5)*stride]
			for b := 0; b < nb; b++ {
				d := d0[b] | d1[b] | d2[b] | d3[b] | d4[b]
				fsb[b] = ms.fs[c0+b] | d<<1 | carry
				carry = d >> 63
			}
		}
		// Literal by literal over the batch's chunks: a literal's rows,
		// offsets and search state stay in registers, its two rows are
		// read in order, and each chunk's masks are loaded once, as the
		// next chunk of the one before.
		for li := range lits {
			m := &ml[li]
			l := &lits[li]
			ra, rb := m.ra, m.rb
			// Candidate starts j: the literal's byte oa at j+oa and ob at
			// j+ob, past the chunk's end in the next chunk's masks. The
			// next chunk's part is x<<(64-o), written x<<1<<(63-o) so that
			// every shift count is known to be below 64 (one instruction,
			// no test for 64) and offset 0 takes the chunk's alone.
			oa, ob := uint(m.oa)&63, uint(m.ob)&63
			sa, sb := (63-oa)&63, (63-ob)&63
			atStart := l.start && delim >= 0
			rowA := masks[ra*stride : (ra+1)*stride]
			rowB := masks[rb*stride : (rb+1)*stride]
			a0, b0 := rowA[0], rowB[0]
			ev, skip := ms.ev[li], ms.skip[li]
			for b := 0; b < nb; b++ {
				a1, b1 := rowA[b+1], rowB[b+1]
				cand := (a0>>oa | a1<<1<<sa) & (b0>>ob | b1<<1<<sb)
				a0, b0 = a1, b1
				if cand == 0 {
					continue
				}
				if atStart {
					cand &= fsb[b]
				}
				base := (c0 + b) * 64
				for cand != 0 {
					k := base + bits.TrailingZeros64(cand)
					cand &= cand - 1
					if k >= tlen {
						break
					}
					if k < skip {
						continue
					}
					for starts[ev+1] <= k {
						ev++
					}
					end := starts[ev+1]
					if k+len(l.s) <= end && text[k:k+len(l.s)] == l.s && (!l.start || k == starts[ev] || pattern.AtFieldStart(text, k)) {
						present[ev] |= uint64(1) << l.id
						skip = end // the next message
					}
				}
			}
			ms.ev[li], ms.skip[li] = ev, skip
		}
	}
}

// maskScratch is maskScan's buffers: a batch's masks, the field-start
// positions, each literal's event and where its search goes on.
type maskScratch struct {
	masks, fs []uint64
	ev, skip  []int
}

// secondRare is the index in s, other than r, of the byte maskScan tests
// beside s[r]: the least frequent by freq (nil: by the rarebyte ranking),
// a byte other than s[r] when s has one; r when s has one byte.
func secondRare(s string, r int, freq *[256]int) int {
	best := -1
	less := func(i, j int) bool {
		if freq != nil {
			return freq[s[i]] < freq[s[j]]
		}
		return rarebyte.Rank(s[i]) > rarebyte.Rank(s[j])
	}
	for i := 0; i < len(s); i++ {
		if i == r {
			continue
		}
		switch {
		case best < 0:
			best = i
		case (s[i] != s[r]) != (s[best] != s[r]):
			if s[i] != s[r] {
				best = i
			}
		case less(i, best):
			best = i
		}
	}
	if best < 0 {
		return r
	}
	return best
}
