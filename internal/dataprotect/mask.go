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
	names []string
	finds []finder
}

// Compile builds the Masker for the union of the policies' identifiers
// (a group's policy and the account's are cumulative, as on AWS).
func Compile(policies ...*Policy) *Masker {
	m := &Masker{}
	for _, p := range policies {
		if p == nil {
			continue
		}
		for _, id := range p.Identifiers {
			if re, ok := p.Custom[id]; ok {
				m.names = append(m.names, id)
				m.finds = append(m.finds, regexFinder(re))
				continue
			}
			if slices.Contains(m.names, id) {
				continue
			}
			m.names = append(m.names, id)
			m.finds = append(m.finds, detectors[id])
		}
	}
	return m
}

// Empty reports whether the Masker masks nothing.
func (m *Masker) Empty() bool { return m == nil || len(m.finds) == 0 }

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

// Mask returns msg with every detected occurrence replaced by as many
// asterisks as it has characters (so offsets and lengths stay what they
// were), and the detections. With nothing found it returns msg itself and
// nil, allocating nothing.
func (m *Masker) Mask(msg string) (string, []Detection) {
	if m.Empty() {
		return msg, nil
	}
	var dets []Detection
	var spans []span
	for i, f := range m.finds {
		// Finders append only what they find: nothing allocates for a
		// message without sensitive data.
		n := len(spans)
		spans = f(msg, spans)
		for _, sp := range spans[n:] {
			dets = append(dets, Detection{Identifier: m.names[i], Start: sp.start, End: sp.end})
		}
	}
	if len(spans) == 0 {
		return msg, nil
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	var b strings.Builder
	b.Grow(len(msg))
	pos := 0
	for _, sp := range spans {
		if sp.end <= pos {
			continue
		}
		start := max(sp.start, pos)
		b.WriteString(msg[pos:start])
		b.WriteString(strings.Repeat("*", utf8.RuneCountInString(msg[start:sp.end])))
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
