package embedded

import (
	"bytes"

	"github.com/cairnlog/cairn/internal/rarebyte"
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
func prematch(f store.Matcher) *literal {
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
	l := newLiteral([]byte(best))
	l.tpl = templateLiteral(l.b)
	return l
}

// literal finds one byte string in a message column. bytes.Index looks for
// the literal's first byte and compares from there; when that byte is
// common in log text ('c' of "checkout", 's' of "status"), it stops every
// few bytes, and in the profile of a full scan that stopping was a quarter
// of the CPU. literal instead jumps (bytes.IndexByte, vectorised) to the
// literal's rarest byte by a fixed ranking of how often bytes occur in log
// lines, and compares the whole literal around it.
type literal struct {
	b    []byte
	rare int // index in b of its rarest byte
	// tpl is what a merged block's template must hold for its messages to
	// hold b (templateLiteral, codec3.go); nil: any template may.
	tpl *literal
	// orBackslash, on a template literal: a template that holds a
	// backslash may hold a match too (templateEscaped).
	orBackslash bool
}

// inTemplate reports whether a merged block's template text t may render
// a message the literal's search wants: t holds l, or, with orBackslash,
// a backslash. A template keeps every byte of its message but digits and
// hex ids as it is, except the few it escapes (tokenize: the operator
// bytes ≤ 0x10 and '\n'), so a message's backslash is one of its
// template's; an operator's width byte (8–16) is never one.
func (l *literal) inTemplate(t []byte) bool {
	return l.index(t) >= 0 || l.orBackslash && bytes.IndexByte(t, '\\') >= 0
}

// templateEscaped returns, for a filter whose matches must hold a literal
// only when they have no backslash (store.Matcher.RequiredUnlessEscaped:
// a JSON field's name or value, which the JSON may spell with escapes),
// what a merged block's template must hold for its events to be worth
// rendering: the literal's template literal, or a backslash. nil when
// there is no such literal of 3 bytes or more. Only merged blocks use it:
// a fresh block's messages are not searched for it (eachMatch would miss
// the escaped ones), every one in range is tested.
func templateEscaped(f store.Matcher) *literal {
	if f == nil {
		return nil
	}
	var best string
	for _, l := range f.RequiredUnlessEscaped() {
		if len(l) > len(best) {
			best = l
		}
	}
	if len(best) < 3 {
		return nil
	}
	t := templateLiteral([]byte(best))
	if t == nil {
		return nil
	}
	t.orBackslash = true
	return t
}

// newLiteral finds b by its rarest byte in log text (rarebyte's ranking,
// shared with the metric-filter counter).
func newLiteral(b []byte) *literal { return &literal{b: b, rare: rarebyte.Rarest(b)} }

// index is bytes.Index(s, l.b).
func (l *literal) index(s []byte) int {
	n, r := len(l.b), l.rare
	c := l.b[r]
	// The rare byte of a match starting at k sits at k+r, k+n ≤ len(s).
	for i := r; i+n-r <= len(s); {
		j := bytes.IndexByte(s[i:len(s)-(n-r-1)], c)
		if j < 0 {
			return -1
		}
		k := i + j - r
		if string(s[k:k+n]) == string(l.b) {
			return k
		}
		i += j + 1
	}
	return -1
}

// eachMatch calls fn with every event i in [lo, hi) of blk whose message f
// matches, in order; lit is prematch(f).
func eachMatch(blk *DecodedBlock, lo, hi int, f store.Matcher, lit *literal, fn func(i int)) {
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
		j := lit.index(blk.data[pos:end])
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

// eachMatchLines is eachMatch over every event of an unsplit block
// (DecodedBlock.unsplit), which has no message offsets: it searches the
// column for lit, and finds a hit's event by counting the newlines since the
// last hit (bytes.Count, vectorised) and its message by the newlines around
// the hit, so a block's messages are split out only where lit occurs rather
// than one bytes.IndexByte call a message. fn gets the event and its
// message. It also checks what splitMessages would have (exactly one '\n'
// an event, the last byte one): errCorrupt otherwise, possibly after some
// calls of fn. The candidates, the order and the events fn sees are
// eachMatch's over [0, Len()) (TestEachMatchLinesReference).
func eachMatchLines(blk *DecodedBlock, f store.Matcher, lit *literal, fn func(i int, msg []byte)) error {
	data, n := blk.data, len(blk.ts)
	i, pos := 0, 0 // message i starts at pos
	for pos < len(data) {
		j := lit.index(data[pos:])
		if j < 0 {
			break
		}
		at := pos + j
		gap := data[pos:at]
		i += bytes.Count(gap, newline) // the event holding offset at
		start := pos + bytes.LastIndexByte(gap, '\n') + 1
		e := bytes.IndexByte(data[at:], '\n')
		if i >= n || e < 0 {
			return errCorrupt
		}
		end := at + e
		if msg := data[start:end]; f.Match(unsafeString(msg)) {
			fn(i, msg)
		}
		i, pos = i+1, end+1
	}
	i += bytes.Count(data[pos:], newline)
	if i != n || len(data) > 0 && data[len(data)-1] != '\n' {
		return errCorrupt
	}
	return nil
}
