package transform

import "strings"

// The grok fast path. The shapes most grok expressions take are NOTSPACE
// fields separated by literals that start with white space, ending in a
// GREEDYDATA ("%{NOTSPACE:a} %{NOTSPACE:b} %{GREEDYDATA:rest}"), and Go's
// RE2 spends most of a match on them (a GREEDYDATA capture is slow in RE2).
// For such a shape every choice the regular expression makes is forced:
// a NOTSPACE (\S+) followed by a literal starting with white space, or by
// nothing, ends where the run of non-space bytes ends (a shorter one would
// leave a non-space byte where white space must come; RE2's \s is ASCII
// [\t\n\f\r ], so bytes decide); a final GREEDYDATA (.*) takes everything up
// to the next newline. So, started where RE2's leftmost match must start
// (at the first literal's first occurrence, the first non-space byte, or 0),
// one left-to-right pass finds the very match RE2 finds. When the pass
// fails there, RE2 might still match from a later start: the regular
// expression decides (rare: lines not of the shape). FuzzGrok checks the
// two agree.

type fastToken struct {
	lit   string // a literal, when ref is ""
	ref   string // "NOTSPACE" or "GREEDYDATA"
	group int    // capture group of a named ref, 0 for none
}

type grokFast struct {
	toks   []fastToken
	groups int
}

// grokFastPlan returns the fast plan of a match expression, or nil when it
// is not of the shape.
func grokFastPlan(match string) *grokFast {
	refs := grokRef.FindAllStringSubmatchIndex(match, -1)
	f := &grokFast{}
	last := 0
	for _, loc := range refs {
		if lit := match[last:loc[0]]; lit != "" {
			f.toks = append(f.toks, fastToken{lit: lit})
		}
		last = loc[1]
		name := match[loc[2]:loc[3]]
		if name != "NOTSPACE" && name != "GREEDYDATA" {
			return nil
		}
		t := fastToken{ref: name}
		if loc[4] >= 0 {
			f.groups++
			t.group = f.groups
		}
		f.toks = append(f.toks, t)
	}
	if lit := match[last:]; lit != "" {
		f.toks = append(f.toks, fastToken{lit: lit})
	}
	for i, t := range f.toks {
		switch t.ref {
		case "GREEDYDATA":
			if i != len(f.toks)-1 {
				return nil
			}
		case "NOTSPACE":
			if i+1 < len(f.toks) && (f.toks[i+1].ref != "" || !isRE2Space(f.toks[i+1].lit[0])) {
				return nil
			}
		}
	}
	if len(f.toks) == 0 || f.groups == 0 && len(refs) == 0 {
		return nil
	}
	return f
}

// isRE2Space is RE2's \s.
func isRE2Space(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

// match returns FindStringSubmatchIndex's answer for the plan's groups, and
// whether the pass decided (false: ask the regular expression).
func (f *grokFast) match(s string, idx []int) ([]int, bool) {
	start := 0
	switch t := f.toks[0]; {
	case t.ref == "":
		start = strings.Index(s, t.lit)
		if start < 0 {
			return nil, true // every match begins with the literal
		}
	case t.ref == "NOTSPACE":
		for start < len(s) && isRE2Space(s[start]) {
			start++
		}
		if start == len(s) {
			return nil, true // no non-space byte: \S+ matches nowhere
		}
	}
	idx = idx[:0]
	for range 2 * (f.groups + 1) {
		idx = append(idx, -1)
	}
	pos := start
	for _, t := range f.toks {
		switch t.ref {
		case "":
			if !strings.HasPrefix(s[pos:], t.lit) {
				return nil, false
			}
			pos += len(t.lit)
			continue
		case "NOTSPACE":
			end := pos
			for end < len(s) && !isRE2Space(s[end]) {
				end++
			}
			if end == pos {
				return nil, false
			}
			if t.group > 0 {
				idx[2*t.group], idx[2*t.group+1] = pos, end
			}
			pos = end
		case "GREEDYDATA":
			end := len(s)
			if i := strings.IndexByte(s[pos:], '\n'); i >= 0 {
				end = pos + i
			}
			if t.group > 0 {
				idx[2*t.group], idx[2*t.group+1] = pos, end
			}
			pos = end
		}
	}
	idx[0], idx[1] = start, pos
	return idx, true
}
