package pattern

import (
	"slices"
	"strings"
	"testing"
)

// matchSplitRef is matchSplit as it was before session 14: each group
// of elements between two ellipses is looked for by trying every position
// from the left, which costs fields × elements (0.35 s for 250 elements on
// a 240 KB event of 120,000 fields). It is the reference FuzzSpacedRef and
// TestSpacedAgreesWithRef compare matchSplit with.
func (sp *spacedPattern) matchSplitRef(msg string, ext *Values, fs *fieldSplit) bool {
	k := len(sp.elems)
	if !sp.ellipsis {
		fields := fs.get(msg, k+1)
		if len(fields) < k {
			return false
		}
		for j := 0; j < k-1; j++ {
			if !sp.elems[j].match(msg[fields[j].vs:fields[j].ve]) {
				return false
			}
		}
		last := msg[fields[k-1].vs:fields[k-1].ve]
		if len(fields) > k {
			last = strings.TrimRight(msg[fields[k-1].start:], " \t")
		}
		if !sp.elems[k-1].match(last) {
			return false
		}
		if ext != nil {
			for j := 0; j < k-1; j++ {
				sp.extract(ext, j, j, msg[fields[j].vs:fields[j].ve])
			}
			sp.extract(ext, k-1, k-1, last)
		}
		return true
	}

	if k >= 2 && sp.elems[k-1].ellipsis && ext == nil {
		// A trailing "..." takes any number of fields: when it is the
		// only ellipsis, matching needs only the head's fields, not a
		// split of the whole line (extraction reports every field, so it
		// takes the full path below).
		head := k - 1
		for j := 0; j < head; j++ {
			if sp.elems[j].ellipsis {
				head = -1
				break
			}
		}
		if head > 0 {
			fields := fs.get(msg, head)
			if len(fields) < head {
				return false
			}
			for j := 0; j < head; j++ {
				if !sp.elems[j].match(msg[fields[j].vs:fields[j].ve]) {
					return false
				}
			}
			return true
		}
	}
	fields := fs.get(msg, -1)
	n := len(fields)
	val := func(f int) string { return msg[fields[f].vs:fields[f].ve] }
	// segs are the runs of elements between ellipses.
	segAt := func(e0, e1, f0 int) bool {
		for j := e0; j < e1; j++ {
			if !sp.elems[j].match(val(f0 + j - e0)) {
				return false
			}
		}
		return true
	}
	first := 0
	for first < k && !sp.elems[first].ellipsis {
		first++
	}
	last := k - 1
	for last >= 0 && !sp.elems[last].ellipsis {
		last--
	}
	headLen, tailLen := first, k-1-last
	if headLen+tailLen > n {
		return false
	}
	if !segAt(0, first, 0) || !segAt(last+1, k, n-tailLen) {
		return false
	}
	// place[j] is the field index of element j, for the middle groups.
	var place []int
	var placeBuf [32]int
	if ext != nil {
		place = placeBuf[:0]
		if k > len(placeBuf) {
			place = make([]int, k)
		}
		place = place[:k]
	}
	pos, limit := headLen, n-tailLen
	for e := first + 1; e < last; {
		if sp.elems[e].ellipsis {
			e++
			continue
		}
		end := e
		for end < last && !sp.elems[end].ellipsis {
			end++
		}
		w := end - e
		found := false
		for ; pos+w <= limit; pos++ {
			if segAt(e, end, pos) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
		if ext != nil {
			for j := e; j < end; j++ {
				place[j] = pos + j - e
			}
		}
		pos += w
		e = end
	}
	if ext != nil {
		var boundBuf [64]bool
		bound := boundBuf[:0]
		if n > len(boundBuf) {
			bound = make([]bool, n)
		}
		bound = bound[:n]
		for j := 0; j < k; j++ {
			if sp.elems[j].ellipsis {
				continue
			}
			f := place[j]
			if j < first {
				f = j
			} else if j > last {
				f = n - (k - j)
			}
			bound[f] = true
			sp.extract(ext, j, f, val(f))
		}
		for f := 0; f < n; f++ {
			if !bound[f] {
				ext.set("", f+1, val(f))
			}
		}
	}
	return true
}

// checkSpacedRef compares matchSplit with matchSplitRef on msg: the same
// answer and, extracting, the same values in the same order.
func checkSpacedRef(t *testing.T, p *Pattern, msg string) {
	t.Helper()
	sp := p.spaced
	if sp == nil {
		return
	}
	var a, b fieldSplit
	if got, want := sp.matchSplit(msg, nil, &a), sp.matchSplitRef(msg, nil, &b); got != want {
		t.Fatalf("%q on %q: matchSplit %v, the reference %v", p, msg, got, want)
	}
	// Both searches of every group, narrow or not, from every position.
	fields := splitFields(msg, nil, -1)
	for gi := range sp.groups {
		g := &sp.groups[gi]
		for pos := 0; pos <= len(fields) && pos < 40; pos++ {
			if x, y := g.findShiftAnd(msg, fields, pos, len(fields), nil), g.findEach(msg, fields, pos, len(fields), nil); x != y {
				t.Fatalf("%q on %q: group %d from field %d: Shift-And finds %d, trying each position %d", p, msg, gi, pos, x, y)
			}
		}
	}
	var va, vb Values
	a, b = fieldSplit{}, fieldSplit{}
	got, want := sp.matchSplit(msg, &va, &a), sp.matchSplitRef(msg, &vb, &b)
	if got != want || !slices.Equal(va.kv, vb.kv) {
		t.Fatalf("%q on %q: extracting, matchSplit %v %v, the reference %v %v", p, msg, got, va.kv, want, vb.kv)
	}
}

// TestSpacedAgreesWithRef: groups between ellipses, found by Shift-And,
// are found where trying every position finds them: narrow and wide (over
// 64 and 128 elements) groups, repeated and distinct conditions, elements
// without one, near misses that fail on a group's last element, several
// groups in a row.
func TestSpacedAgreesWithRef(t *testing.T) {
	rep := func(s string, n int) string { return strings.Repeat(s, n) }
	pats := []string{
		`[..., a=x, ...]`, `[..., a=x, b=y, ...]`, `[..., , b=y, ...]`, `[a, ..., b=1*, c>2, ..., d]`,
		`[..., a=x, , a=x, ..., b=y, b=y, ...]`, `[..., a=x || a=y, b!=x && b=*y*, ...]`, `[..., a=%x+%, b=x, ...]`,
		`[...,` + rep("a=x,", 70) + `b=y, ...]`, `[...,` + rep("a=x,,", 40) + `b=y, ...]`, `[...,` + rep(",", 130) + `b=y,...]`,
		`[...,` + rep("a=x,", 63) + `b=y, ..., c, ` + rep("a=x,", 3) + `...]`, `[..., a>1, a>2, a<9, a=5, ...]`,
		`[x, ..., a=x, ..., a=x, a=x, ..., y]`,
	}
	msgs := []string{``, `x`, `y`, `x y`, `x x y`, `y x x`, rep("x ", 200) + "y", rep("x ", 64) + "y " + rep("x ", 10),
		rep("x ", 63) + "y", rep("x ", 70) + "y x x x", rep("x y ", 40), `1 2 3 5 5 7 9 x`, `xx x y "x" [y] x`,
		rep("x ", 131) + "y", rep("z x ", 50) + "y", rep("x ", 150) + "y " + rep("x ", 5) + "z"}
	for _, ps := range pats {
		p := mustCompile(t, ps)
		for _, m := range msgs {
			checkSpacedRef(t, p, m)
		}
	}
}

// FuzzSpacedRef is checkSpacedRef on any pattern and message, with the
// message also repeated, so groups meet many fields.
func FuzzSpacedRef(f *testing.F) {
	f.Add(`[..., a=x, b=y, ...]`, `x x y`, uint8(3))
	f.Add(`[a, ..., b=1*, , c>2, ..., d]`, `a 1 q 3 d`, uint8(0))
	f.Add(`[..., a=x || a=y, , b!=x && b=*y*, ..., c]`, `x "y z" [y] x`, uint8(9))
	f.Add(`[...,`+strings.Repeat("a=x,", 66)+`b=y,...]`, `x `, uint8(80))
	f.Fuzz(func(t *testing.T, expr, msg string, times uint8) {
		p, err := Compile(expr)
		if err != nil || p.spaced == nil {
			return
		}
		checkSpacedRef(t, p, msg)
		if times > 0 {
			checkSpacedRef(t, p, strings.Repeat(msg+" ", int(times)))
		}
	})
}

// TestSpacedGroupCost: a group between ellipses is searched with at most
// one evaluation of each of its distinct conditions per field, whatever its
// width: 250 "a=x" and a "b=y" on 20,000 "x" fields cost 40,000 evaluations
// (two conditions, each field once), where trying every position cost
// 5,000,000 (0.35 s on a 240 KB event); 1,000 elements without a
// condition cost none but b=y's.
func TestSpacedGroupCost(t *testing.T) {
	const n = 20_000
	msg := strings.Repeat("x ", n)
	fields := splitFields(msg, nil, -1)
	f := func(expr string, want int) {
		t.Helper()
		sp := mustCompile(t, expr).spaced
		if len(sp.groups) != 1 {
			t.Fatalf("%s: %d groups", expr, len(sp.groups))
		}
		evals := 0
		if got := sp.groups[0].find(msg, fields, 0, len(fields), &evals); got != -1 {
			t.Fatalf("%.40s: found at %d", expr, got)
		}
		if evals > want {
			t.Fatalf("%.40s...: %d evaluations on %d fields, want at most %d", expr, evals, n, want)
		}
	}
	f("[...,"+strings.Repeat("a=x,", 250)+"b=y,...]", 2*n)
	f("[...,"+strings.Repeat("a=x,b=x,", 120)+"b=y,...]", 2*n)
	f("[...,"+strings.Repeat(",", 1000)+"b=y,...]", n)
	f("[..., a=x, a=x, , a=x, a=x || a=z, b=y, ...]", 3*n)
}
