package embedded

import (
	"bytes"

	"github.com/cairnlog/cairn/internal/store"
)

// A search usually matches few of a block's messages. Calling the filter
// on each message costs a search set-up per message (~100 bytes each);
// instead the longest literal every match must contain (Matcher.Required)
// is searched once across the block's message column, and the filter runs
// only on the messages that hold an occurrence. An occurrence that spans two
// messages (the column has them back to back, or newline-separated) only
// makes an extra candidate the filter then refuses, so nothing is missed.

// prematch returns the literal to search for in f's blocks; nil: none, run
// the filter on every message.
func prematch(f store.Matcher) []byte {
	if f == nil {
		return nil
	}
	var best string
	for _, l := range f.Required() {
		if len(l) > len(best) {
			best = l
		}
	}
	if len(best) < 3 { // a byte or two is everywhere: no saving
		return nil
	}
	return []byte(best)
}

// eachMatch calls fn with every event i in [lo, hi) of blk whose message f
// matches, in order; lit is prematch(f).
func eachMatch(blk *DecodedBlock, lo, hi int, f store.Matcher, lit []byte, fn func(i int)) {
	if lit == nil {
		for i := lo; i < hi; i++ {
			if f.Match(unsafeString(blk.message(i))) {
				fn(i)
			}
		}
		return
	}
	end := int(blk.off[hi])
	pos := int(blk.off[lo])
	i := lo
	for pos < end {
		j := bytes.Index(blk.data[pos:end], lit)
		if j < 0 {
			return
		}
		at := pos + j
		for int(blk.off[i+1]) <= at { // the event holding offset at
			i++
		}
		if f.Match(unsafeString(blk.message(i))) {
			fn(i)
		}
		i++
		if i >= hi {
			return
		}
		pos = int(blk.off[i])
	}
}
