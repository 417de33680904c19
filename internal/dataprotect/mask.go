package dataprotect

import (
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Detection is one occurrence of sensitive data in a message, as an audit
// findings report gives it: the identifier's Id (or custom Name) and the
// occurrence's character (rune) offsets, Start from 0 and End exclusive.
// AWS's findings page says "by character count" without fixing the base or
// whether end is inclusive; Cairn counts as Go slices do and says so in
// docs/data-protection.md.
type Detection struct {
	Identifier string
	Start, End int
}

// Masker finds and masks the identifiers of one or more policies. It is
// immutable and safe for concurrent use.
type Masker struct {
	// names are the identifiers in the order the policies list them
	// (managed ones once, custom ones per policy); detections are reported
	// in this order.
	names []string
	// order is each enabled managed identifier's place in names (-1: off).
	order [numManaged]int
	// custom are the custom identifiers' finders and their places in names.
	custom      []finder
	customOrder []int
}

// Compile builds the Masker for the union of the policies' identifiers
// (a group's policy and the account's are cumulative, as on AWS).
func Compile(policies ...*Policy) *Masker {
	m := &Masker{}
	for i := range m.order {
		m.order[i] = -1
	}
	for _, p := range policies {
		if p == nil {
			continue
		}
		for _, id := range p.Identifiers {
			if re, ok := p.Custom[id]; ok {
				m.customOrder = append(m.customOrder, len(m.names))
				m.custom = append(m.custom, regexFinder(re))
				m.names = append(m.names, id)
				continue
			}
			k := managedIndex(id)
			if k < 0 || m.order[k] >= 0 {
				continue
			}
			m.order[k] = len(m.names)
			m.names = append(m.names, id)
		}
	}
	return m
}

// on reports whether the managed identifier id is enabled.
func (m *Masker) on(id ident) bool { return m.order[id] >= 0 }

// Empty reports whether the Masker masks nothing.
func (m *Masker) Empty() bool { return m == nil || len(m.names) == 0 }

// regexFinder prefilters with the regex's literal prefix when it has one.
func regexFinder(re *regexp.Regexp) finder {
	prefix, _ := re.LiteralPrefix()
	return func(s string, dst []span) []span {
		if prefix != "" && !strings.Contains(s, prefix) {
			return dst
		}
		for _, loc := range re.FindAllStringIndex(s, -1) {
			if loc[1] > loc[0] {
				dst = append(dst, span{loc[0], loc[1]})
			}
		}
		return dst
	}
}

// stars are what a masked occurrence is written with, a piece at a time.
const stars = "****************************************************************"

// Mask returns msg with every detected occurrence replaced by as many
// asterisks as it has characters (so offsets and lengths stay what they
// were), and the detections. With nothing found it returns msg itself and
// nil, allocating nothing.
func (m *Masker) Mask(msg string) (string, []Detection) {
	if m.Empty() {
		return msg, nil
	}
	// One pass for the managed identifiers, one regexp scan per custom
	// one; then the matches in the order of names (within a name, as its
	// finder reports them), which is the order detections are reported in.
	fs := m.scan(msg, nil) // nil: a message without findings allocates nothing
	for i, f := range m.custom {
		for _, x := range f(msg, nil) {
			fs = append(fs, found{key: m.customOrder[i] * 2, span: x})
		}
	}
	if len(fs) == 0 {
		return msg, nil
	}
	// Sorting is skipped when the order is already right (one finding, the
	// common case, always is).
	if !slices.IsSortedFunc(fs, func(a, b found) int { return a.key - b.key }) {
		slices.SortStableFunc(fs, func(a, b found) int { return a.key - b.key })
	}
	dets := make([]Detection, len(fs))
	for i, f := range fs {
		dets[i] = Detection{Identifier: m.names[f.key/2], Start: f.start, End: f.end}
	}
	if !slices.IsSortedFunc(fs, func(a, b found) int { return a.start - b.start }) {
		slices.SortFunc(fs, func(a, b found) int { return a.start - b.start })
	}
	var b strings.Builder
	b.Grow(len(msg))
	pos := 0
	for _, sp := range fs {
		if sp.end <= pos {
			continue
		}
		start := max(sp.start, pos)
		b.WriteString(msg[pos:start])
		for n := utf8.RuneCountInString(msg[start:sp.end]); n > 0; n -= len(stars) {
			b.WriteString(stars[:min(n, len(stars))])
		}
		pos = sp.end
	}
	b.WriteString(msg[pos:])
	// Byte offsets become character offsets for the report.
	for i := range dets {
		bs, be := dets[i].Start, dets[i].End
		dets[i].Start = utf8.RuneCountInString(msg[:bs])
		dets[i].End = dets[i].Start + utf8.RuneCountInString(msg[bs:be])
	}
	return b.String(), dets
}

// Scratch is working memory AppendMasked reuses from one message to the
// next (one goroutine's: an ingest batch's).
type Scratch struct {
	fs   []found
	segs [][2]int
}

// Masked returns the byte ranges of the message AppendMasked last masked
// that were replaced by asterisks, in order and disjoint (overlapping
// findings merged): what the ingest stage keeps to give the original back
// (each range became as many asterisks as it has runes). The slice is
// reused by the next call.
func (sc *Scratch) Masked() [][2]int { return sc.segs }

// AppendMasked is Mask for a batch of messages: when something is found in
// msg it appends the masked message to dst and reports true (and the
// detections when detections is set); otherwise dst is returned as it was.
// The masked messages of a batch thus share one buffer, and a message with
// findings costs no allocation of its own.
func (m *Masker) AppendMasked(dst []byte, sc *Scratch, msg string, detections bool) ([]byte, bool, []Detection) {
	if m.Empty() {
		return dst, false, nil
	}
	fs := m.scan(msg, sc.fs[:0])
	for i, f := range m.custom {
		for _, x := range f(msg, nil) {
			fs = append(fs, found{key: m.customOrder[i] * 2, span: x})
		}
	}
	sc.fs = fs
	sc.segs = sc.segs[:0]
	if len(fs) == 0 {
		return dst, false, nil
	}
	var dets []Detection
	if detections {
		if !slices.IsSortedFunc(fs, func(a, b found) int { return a.key - b.key }) {
			slices.SortStableFunc(fs, func(a, b found) int { return a.key - b.key })
		}
		dets = make([]Detection, len(fs))
		for i, f := range fs {
			bs, be := f.start, f.end
			start := utf8.RuneCountInString(msg[:bs])
			dets[i] = Detection{Identifier: m.names[f.key/2], Start: start, End: start + utf8.RuneCountInString(msg[bs:be])}
		}
	}
	if !slices.IsSortedFunc(fs, func(a, b found) int { return a.start - b.start }) {
		slices.SortFunc(fs, func(a, b found) int { return a.start - b.start })
	}
	pos := 0
	for _, sp := range fs {
		if sp.end <= pos {
			continue
		}
		start := max(sp.start, pos)
		sc.segs = append(sc.segs, [2]int{start, sp.end})
		dst = append(dst, msg[pos:start]...)
		for n := utf8.RuneCountInString(msg[start:sp.end]); n > 0; n -= len(stars) {
			dst = append(dst, stars[:min(n, len(stars))]...)
		}
		pos = sp.end
	}
	return append(dst, msg[pos:]...), true, dets
}
