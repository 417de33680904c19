package dataprotect

import (
	"math/bits"
	"unsafe"
)

// The chunked pass (scanChunks): where the CPU has AVX2, the message is
// classified 64 bytes at a time into bit masks (chunkMasks, one bit a byte),
// and the masks, rather than the bytes, decide which trigger bytes reach
// scanner.trigger and whether a card number can be in the message. Each
// trigger is filtered by the neighbours trigger itself demands (a dot
// between two digits, a colon before a hex digit or a colon, a dash after a
// digit with a dash three bytes on, or before a dash, a 'c' before an 'r'),
// so a dropped trigger is one trigger would have refused without looking
// further or moving a cursor, and the triggers that pass are handed to
// trigger in the same order as scanWords hands them: the two passes find
// the same (chunks_test.go compares them, and the AVX2 masks with masks64).
// At a chunk's edges, where a neighbour lies in the next or previous chunk,
// the filter lets the trigger through.

// chunkMasks are the byte classes of 64 bytes, bit i for byte i. The field
// order is masks64AVX2's layout.
type chunkMasks struct {
	dot, colon, dash uint64
	other            uint64 // '@', 'A', 'J', 'P'
	c, r             uint64 // ASCII either case
	digit, hex       uint64
	space            uint64
}

// masks64 is the byte-by-byte definition of the 64 bytes at p's masks (the
// reference masks64AVX2 is tested against).
func masks64(p *byte, m *chunkMasks) {
	*m = chunkMasks{}
	for i, c := range unsafe.Slice(p, 64) {
		bit := uint64(1) << i
		switch c {
		case '.':
			m.dot |= bit
		case ':':
			m.colon |= bit
		case '-':
			m.dash |= bit
		case '@', 'A', 'J', 'P':
			m.other |= bit
		case ' ':
			m.space |= bit
		}
		if c|0x20 == 'c' {
			m.c |= bit
		}
		if c|0x20 == 'r' {
			m.r |= bit
		}
		if isDigit(c) {
			m.digit |= bit
		}
		if isHex(c) {
			m.hex |= bit
		}
	}
}

// The bits of a chunk whose neighbour lies outside it: the first byte's
// left one, the last byte's right one, the last three bytes' third one on.
const (
	edgeLeft   = uint64(1)
	edgeRight  = uint64(1) << 63
	edgeRight3 = uint64(7) << 61
)

// triggers are the bytes of the chunk scanner.trigger is to see: see the
// comment at the top of the file and trigger's cases.
func (cm *chunkMasks) triggers() uint64 {
	dot := cm.dot & (cm.digit<<1 | edgeLeft) & (cm.digit>>1 | edgeRight)
	// (colonNear(s, p+1), which trigger asks, wants the byte after the
	// colon to be a hex digit or a colon.)
	colon := cm.colon & ((cm.hex|cm.colon)>>1 | edgeRight)
	dash := cm.dash & ((cm.digit<<1|edgeLeft)&(cm.dash>>3|edgeRight3) | cm.dash>>1 | edgeRight)
	c := cm.c & (cm.r>>1 | edgeRight)
	return dot | colon | dash | cm.other | c
}

// hasRun13 reports whether 13 set bits in a row lie within x.
func hasRun13(x uint64) bool {
	x &= x >> 1 // runs of 2 start at the set bits
	x &= x >> 2 // of 4
	x &= x >> 4 // of 8
	x &= x >> 5 // of 13
	return x != 0
}

// scanChunks is scan with the masks of each 64 bytes from masks64AVX2 when
// avx2 (the server, where the CPU has it), from masks64 otherwise (tests).
// (Not a function value: the masks and the tail would escape to the heap.)
func (m *Masker) scanChunks(s string, out []found, avx2 bool) []found {
	sc := scanner{s: s, m: m, out: out}
	card := m.on(idCreditCardNumber)
	cardRun, run := false, 0
	var cm chunkMasks
	var tail [64]byte
	for p := 0; p < len(s); p += 64 {
		if p+64 <= len(s) {
			masks(avx2, unsafe.StringData(s[p:]), &cm)
		} else {
			// The last bytes, after zeros (a zero is in no class): the
			// masks have no bit at or past the end.
			copy(tail[:], s[p:])
			masks(avx2, &tail[0], &cm)
		}
		if card && !cardRun {
			// The run of card bytes (digits, spaces, dashes) that ended
			// the previous chunk goes on with this one's first bytes.
			chain := cm.digit | cm.space | cm.dash
			lead := bits.TrailingZeros64(^chain)
			switch {
			case run+lead >= minCardBytes || hasRun13(chain):
				// (A chunk of card bytes only is a run of 64.)
				cardRun = true
			default:
				run = bits.LeadingZeros64(^chain)
			}
		}
		for tm := cm.triggers(); tm != 0; tm &= tm - 1 {
			if q := p + bits.TrailingZeros64(tm); q < len(s) {
				sc.trigger(q)
			}
		}
	}
	return sc.finish(card && cardRun)
}

func masks(avx2 bool, p *byte, cm *chunkMasks) {
	if avx2 {
		masks64AVX2(p, cm)
	} else {
		masks64(p, cm)
	}
}
