package embedded

import (
	"encoding/binary"
	"math/bits"
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
// a single gram has a false-positive rate of about 1-e^(-1/gramBits) (28% at
// 3 bits), but a literal of n grams needs all n, so an 8-character id (5
// grams) passes a block that lacks it with probability ~2e-3, a 10-character
// one ~1e-4: a search for an id over 10,000 blocks opens a dozen or so that
// do not hold it. The filter costs about 1.3 bytes per event on the bench's
// lines (measured: 4 bits cost 1.76).
//
// Grams go into a 2^18-bit scratch filter, which is then folded to the size
// the block needs: bit b lands on bit b mod m, for m any multiple of 64
// (folding whole words is exactly that), so the filter costs gramBits per
// distinct gram with no rounding to a power of two.

const (
	gramBits    = 3  // filter bits per distinct gram
	scratchLog2 = 18 // scratch filter: 2^18 bits (32 KiB, cache-resident); folded down to size
)

// Byte codes for gram extraction: two bits a byte.
const (
	codeOther = 0
	codeWord  = 1 // letters, '_', bytes ≥ 0x80
	codeDigit = 2
)

// byteCodes maps a byte to its code; computed, never written after.
func byteCodes() *[256]uint8 {
	var t [256]uint8
	for c := 0; c < 256; c++ {
		switch {
		case c >= '0' && c <= '9':
			t[c] = codeDigit
		case c >= 0x80 || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			t[c] = codeWord
		}
	}
	return &t
}

// gramEnds maps the codes of the last four bytes (2 bits each, the newest
// lowest) to whether those bytes are a gram to index: all four word bytes,
// not all four digits. Computed, never written after.
func gramEnds() *[256]bool {
	var t [256]bool
	for s := 0; s < 256; s++ {
		words, digits := 0, 0
		for k := 0; k < 4; k++ {
			switch (s >> (2 * k)) & 3 {
			case codeWord:
				words++
			case codeDigit:
				digits++
			}
		}
		t[s] = words+digits == 4 && digits < 4
	}
	return &t
}

// slot hashes a gram to a scratch bit: Fibonacci hashing, one multiply,
// keeping the top scratchLog2 bits.
func slot(g uint32) uint32 { return (g * 0x9E3779B1) >> (32 - scratchLog2) }

// gramBuilder accumulates grams for one block in a large scratch filter, then
// folds it to a size matched to the number of distinct grams. Folding works
// because bit positions are taken modulo a power of two.
type gramBuilder struct {
	codes   *[256]uint8
	ends    *[256]bool
	scratch *[scratchWords]uint64 // 2^scratchLog2 bits; an array, so indexing it by a hash needs no bounds check
}

const scratchWords = 1 << scratchLog2 / 64

func newGramBuilder() *gramBuilder {
	return &gramBuilder{codes: byteCodes(), ends: gramEnds(), scratch: new([scratchWords]uint64)}
}

func (b *gramBuilder) reset() { clear(b.scratch[:]) }

// add indexes one message: every 4 bytes inside a run of word bytes, unless
// all four are digits. It is the one definition of which grams exist: a
// query's grams are found by the same loop (newGramQuery), so the two cannot
// drift apart; TestGramBuilderMatchesDefinition holds it to the definition
// above, bit for bit.
//
// Eight bytes at a time, the word and digit bytes are found with SWAR
// arithmetic (one bit a byte), the ends of grams are where the last four
// bytes are all word bytes and not all digits, and only those positions are
// hashed; the last few bytes go through the byte loop (addTail). It was a
// loop over every byte with run and digit counters, 10-12% of the server's
// ingest CPU: 230 CPU-ns per bench event then, 214 with the byte loop of
// addTail, 200 now (BenchmarkGramAdd, -cpu 1, load ~22; hashing and setting
// ~70 bits an event is what remains).
func (b *gramBuilder) add(msg []byte) {
	scratch := b.scratch
	var prevW, prevD uint64 // word and digit bits of the previous eight bytes
	i := 0
	for ; i+8 <= len(msg); i += 8 {
		// The high bit of each byte of w is set where the byte is a word
		// byte (letter, digit, '_', >= 0x80), of d where it is a digit. On
		// 7-bit values y, y + (0x80-k) sets a byte's high bit exactly when
		// y >= k and never carries into the next byte; y|0x20 folds 'A'-'Z'
		// onto 'a'-'z' and nothing else onto them; u + 0x7f leaves the high
		// bit clear only where u is 0. (Written out here: as a function the
		// compiler did not inline it, and the call cost more than it saved.)
		x := binary.LittleEndian.Uint64(msg[i:])
		hi := x & highs
		y := x &^ highs
		d := ((y + (0x80-'0')*ones) &^ (y + (0x80-'9'-1)*ones)) & highs &^ hi
		f := y | 0x20*ones
		u := y ^ '_'*ones
		w := hi | d | ((f+(0x80-'a')*ones)&^(f+(0x80-'z'-1)*ones)|^(u+0x7f*ones))&highs
		// Bit 8k+7 of w4 is set when bytes i+k-3..i+k are all word bytes.
		w4 := w & (w<<8 | prevW>>56) & (w<<16 | prevW>>48) & (w<<24 | prevW>>40)
		d4 := d & (d<<8 | prevD>>56) & (d<<16 | prevD>>48) & (d<<24 | prevD>>40)
		prevW, prevD = w, d
		for ends := w4 &^ d4; ends != 0; ends &= ends - 1 {
			p := i + bits.TrailingZeros64(ends)>>3 - 3 // the gram's first byte
			h := slot(bits.ReverseBytes32(binary.LittleEndian.Uint32(msg[p:])))
			scratch[h>>6] |= 1 << (h & 63)
		}
	}
	if i < len(msg) {
		b.addTail(msg, i)
	}
}

// SWAR constants: a byte-wise operation on eight bytes at once.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// addTail indexes the grams that end in msg[from:], a byte at a time: the
// codes of the last four bytes, kept in one byte of state, index gramEnds.
func (b *gramBuilder) addTail(msg []byte, from int) {
	codes, ends, scratch := b.codes, b.ends, b.scratch
	var g, state uint32
	for _, c := range msg[max(0, from-3):from] { // the grams' first bytes
		state = state<<2 | uint32(codes[c])
		g = g<<8 | uint32(c)
	}
	for _, c := range msg[from:] {
		state = (state<<2 | uint32(codes[c])) & 0xff
		g = g<<8 | uint32(c)
		if ends[state] {
			h := slot(g)
			scratch[h>>6] |= 1 << (h & 63)
		}
	}
}

// finish returns the folded filter: its size in 64-bit words (uvarint),
// then the words.
func (b *gramBuilder) finish(dst []byte) []byte {
	set := 0
	for _, w := range b.scratch {
		set += bits.OnesCount64(w)
	}
	words := max(1, min(len(b.scratch), (set*gramBits+63)/64))
	// Word i lands on word i mod words; the index wraps by hand because a
	// division per word (4,096 of them a block) was ~30 CPU-ns per event,
	// a tenth of the filter's cost (BenchmarkGramFinish).
	folded := make([]uint64, words)
	j := 0
	for _, w := range b.scratch {
		folded[j] |= w
		if j++; j == words {
			j = 0
		}
	}
	dst = binary.AppendUvarint(dst, uint64(words))
	for _, w := range folded {
		dst = binary.LittleEndian.AppendUint64(dst, w)
	}
	return dst
}

// gramQuery is the set of gram hashes a query requires.
type gramQuery []uint32

func newGramQuery(literals []string) gramQuery {
	if len(literals) == 0 {
		return nil
	}
	b := newGramBuilder()
	for _, lit := range literals {
		b.add([]byte(lit))
	}
	var q gramQuery
	for i, w := range b.scratch {
		for ; w != 0; w &= w - 1 {
			q = append(q, uint32(i*64+bits.TrailingZeros64(w)))
		}
	}
	return q
}

// mayContain reports whether a filter (as written by finish) may hold every
// gram of the query.
func (q gramQuery) mayContain(filter []byte) bool {
	if len(q) == 0 {
		return true
	}
	words, k := binary.Uvarint(filter)
	bitsData := filter[max(k, 0):]
	if k <= 0 || words == 0 || words > 1<<scratchLog2/64 || uint64(len(bitsData)) != 8*words {
		return true // unknown layout: never skip on it
	}
	m := uint32(words * 64)
	for _, h := range q {
		p := h % m
		if bitsData[p>>3]&(1<<(p&7)) == 0 {
			return false
		}
	}
	return true
}
