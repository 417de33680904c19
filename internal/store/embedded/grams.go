package embedded

import (
	"encoding/binary"
)

// Block summaries carry a Bloom filter of 4-grams so that a search can skip a
// block without decompressing it.
//
// Why grams and not words: CloudWatch filter terms match substrings
// (`ERROR` matches `ERRORCODE`), so a filter of whole words would skip blocks
// that do match. Every 4 contiguous bytes of a required literal occur in any
// message that contains the literal, so "all of the literal's grams are in the
// filter" is a sound precondition for a match.
//
// What is indexed: the 4-grams of every maximal run of word bytes
// ([A-Za-z0-9_] and bytes ≥ 0x80) of length ≥ 4, except grams made only of
// digits: there are only 10,000 of those, random numbers (IPs, latencies, sizes)
// fill them all in any block, and indexing them would cost space and skip
// nothing. A query asks only for grams that lie inside word runs of its
// literals and are not all digits, which keeps the test sound.
//
// The filter uses one hash per gram (k=1) at gramBits bits per distinct gram:
// a single gram has a false-positive rate of about 1-e^(-1/gramBits), but a
// literal of n grams needs all n, so a 10-character identifier (7 grams) at
// 6 bits per gram passes a block that lacks it with probability ~2e-6.

const (
	gramBits      = 6  // filter bits per distinct gram
	scratchLog2   = 20 // scratch filter: 2^20 bits; folded down to size
	minFilterLog2 = 6  // 64 bits
)

func isWordByte(c byte) bool {
	return c >= 0x80 || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func allDigits(g uint32) bool {
	for i := 0; i < 4; i++ {
		c := byte(g >> (8 * i))
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func mix(g uint32) uint32 {
	g ^= g >> 16
	g *= 0x7feb352d
	g ^= g >> 15
	g *= 0x846ca68b
	g ^= g >> 16
	return g
}

// forEachGram calls fn for every indexable gram of s.
func forEachGram(s []byte, fn func(uint32)) {
	run := 0
	for i := 0; i < len(s); i++ {
		if !isWordByte(s[i]) {
			run = 0
			continue
		}
		run++
		if run >= 4 {
			g := binary.LittleEndian.Uint32(s[i-3:])
			if !allDigits(g) {
				fn(g)
			}
		}
	}
}

// gramBuilder accumulates grams for one block in a large scratch filter, then
// folds it to a size matched to the number of distinct grams. Folding works
// because bit positions are taken modulo a power of two.
type gramBuilder struct {
	scratch []uint64 // 2^scratchLog2 bits
	set     int      // bits set in scratch ≈ distinct grams
}

func newGramBuilder() *gramBuilder {
	return &gramBuilder{scratch: make([]uint64, (1<<scratchLog2)/64)}
}

func (b *gramBuilder) reset() {
	clear(b.scratch)
	b.set = 0
}

func (b *gramBuilder) add(msg []byte) {
	forEachGram(msg, func(g uint32) {
		h := mix(g) & (1<<scratchLog2 - 1)
		w, m := h>>6, uint64(1)<<(h&63)
		if b.scratch[w]&m == 0 {
			b.scratch[w] |= m
			b.set++
		}
	})
}

// finish returns the folded filter: one byte of log2(bits), then the bits.
func (b *gramBuilder) finish(dst []byte) []byte {
	want := b.set * gramBits
	log2 := minFilterLog2
	for log2 < scratchLog2 && 1<<log2 < want {
		log2++
	}
	words := (1 << log2) / 64
	if words == 0 {
		words = 1
	}
	folded := make([]uint64, words)
	for i, w := range b.scratch {
		folded[i%words] |= w
	}
	dst = append(dst, byte(log2))
	for _, w := range folded {
		dst = binary.LittleEndian.AppendUint64(dst, w)
	}
	return dst
}

// gramQuery is the set of gram hashes a query requires.
type gramQuery []uint32

func newGramQuery(literals []string) gramQuery {
	var q gramQuery
	seen := map[uint32]bool{}
	for _, lit := range literals {
		forEachGram([]byte(lit), func(g uint32) {
			h := mix(g) & (1<<scratchLog2 - 1)
			if !seen[h] {
				seen[h] = true
				q = append(q, h)
			}
		})
	}
	return q
}

// mayContain reports whether a filter (as written by finish) may hold every
// gram of the query.
func (q gramQuery) mayContain(filter []byte) bool {
	if len(q) == 0 || len(filter) < 1 {
		return true
	}
	log2 := int(filter[0])
	bitsData := filter[1:]
	if log2 < minFilterLog2 || log2 > scratchLog2 || len(bitsData)*8 != 1<<log2 {
		return true // unknown layout: do not skip
	}
	mask := uint32(1)<<log2 - 1
	for _, h := range q {
		p := h & mask
		if bitsData[p>>3]&(1<<(p&7)) == 0 {
			return false
		}
	}
	return true
}
