package pattern

import (
	"fmt"
	"strings"
	"testing"
)

// widePatterns are JSON patterns of many top-level keys each, as a group
// of metric filters may hold (some 80 fit in 1,024 characters), and
// wideMessage an object of n members whose keys are written with escapes
// (\u0061 for 'a'), which keeps it off the member table: every filter
// then matches through MatchView.
func widePatterns(t testing.TB, filters, keys int) []*Pattern {
	var ps []*Pattern
	for f := range filters {
		var conds []string
		for k := range keys {
			conds = append(conds, fmt.Sprintf("$.a%d=%d", f*keys+k, k%20))
		}
		ps = append(ps, mustCompile(t, "{"+strings.Join(conds, "||")+"}"))
	}
	return ps
}

func wideMessage(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"\u0061%d":%d`, i, i%20)
	}
	b.WriteString("}")
	return b.String()
}

// TestWideJSONView: many-key patterns through one shared view of a message
// with escaped keys answer as Match does; the view decodes each escaped key
// once for all the patterns (before, once per pattern: with 100 filters of
// 72 keys a 250 KB event of 20,000 such members cost 0.46 s of CPU) and a
// node of more than smallSet keys finds a member by its index.
func TestWideJSONView(t *testing.T) {
	ps := widePatterns(t, 10, 20)
	for _, p := range ps {
		if p.json.root.index == nil {
			t.Fatalf("%s: the root of 20 keys has no index", p)
		}
	}
	if p := mustCompile(t, `{ $.a = 1 || $.b = 2 }`); p.json.root.index != nil {
		t.Fatal("a root of two keys has an index")
	}
	for _, n := range []int{0, 1, 30, 250} {
		msg := wideMessage(n)
		var view View
		view.Reset(msg)
		for _, p := range ps {
			want := p.Match(msg)
			if got := p.MatchView(&view); got != want {
				t.Fatalf("%d members, %s: MatchView %v, Match %v", n, p, got, want)
			}
		}
		// a20=0 is the second pattern's first condition; the member
		// "a20" is 20 % 20 = 0.
		if got, want := ps[1].Match(msg), n > 20; got != want {
			t.Fatalf("%d members: pattern 1 matches %v, want %v", n, got, want)
		}
	}
	msg := wideMessage(50)
	var view View
	allocs := testing.AllocsPerRun(20, func() {
		view.Reset(msg)
		for _, p := range ps {
			p.MatchView(&view)
		}
	})
	// One decoded key per member (50), not one per member per pattern (500).
	if allocs > 60 {
		t.Fatalf("10 patterns on one view of 50 escaped keys: %.0f allocations, want at most 60", allocs)
	}
}

// BenchmarkWideJSONView is the attack's shape: 100 filters of 70 keys on
// one 250 KB event of escaped keys.
func BenchmarkWideJSONView(b *testing.B) {
	ps := widePatterns(b, 100, 70)
	msg := wideMessage(20000)
	var view View
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		view.Reset(msg)
		for _, p := range ps {
			p.MatchView(&view)
		}
	}
}
