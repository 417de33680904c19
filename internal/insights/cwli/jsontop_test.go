package cwli

import (
	"fmt"
	"strings"
	"testing"
)

// extractBoth runs extract over msg for the names, once with the top-level
// scanner (when the names allow it) and once with the full walk, the
// flattening the scanner must agree with.
func extractBoth(t *testing.T, msg string, names []string) (fast, full []Value) {
	t.Helper()
	q := &Query{jsonIDs: map[string]int{}}
	for _, n := range names {
		q.jsonID(n)
	}
	for _, walk := range []bool{false, true} {
		x := &env{q: q, opts: &Options{}, fullWalk: walk}
		r := &row{hasEv: true}
		r.ev.Message = msg
		x.extract(r)
		got := append([]Value(nil), r.js...)
		if walk {
			full = got
		} else {
			fast = got
		}
	}
	return fast, full
}

func sameValues(a, b []Value) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].k != b[i].k || a[i].s != b[i].s || a[i].n != b[i].n {
			return false
		}
	}
	return true
}

// extractCases are hand-written shapes with the fields the flattening
// gives (insights.md §5.3), checked against both scanners.
var extractCases = []struct {
	msg   string
	names []string
	want  []string // "" for no field
}{
	{`{"user":"alice","latency_ms":12}`, []string{"user", "latency_ms"}, []string{"alice", "12"}},
	{`  {"a" : 1 , "b":true,"c":null}`, []string{"a", "b", "c"}, []string{"1", "true", ""}},
	{`{"a.b":1,"a":{"b":2}}`, []string{"a", "a.b"}, []string{"", "1"}},                  // dotted: the walk
	{`{"a":{"b":2},"a.b":1}`, []string{"a.b"}, []string{"2"}},                           // first path wins
	{`{"a":[1,2],"b":3}`, []string{"a", "b"}, []string{"", "3"}},                        // arrays are no top-level leaf
	{`{"us\u0065r":"x\ny","k\"q":"v"}`, []string{"user", `k"q`}, []string{"x\ny", "v"}}, // escapes decoded
	{`{"u":null,"u":"second","u":"third"}`, []string{"u"}, []string{"second"}},          // a null is no value
	{`{"u":"first","u":"second"}`, []string{"u"}, []string{"first"}},
	{`{"":{"a":1},"b":2}`, []string{"a", "b"}, []string{"1", "2"}}, // an empty key adds no prefix
	{`{"":[7],"b":2}`, []string{"0", "b"}, []string{"7", "2"}},
	{`{"":5,"b":2}`, []string{"", "b"}, []string{"5", "2"}},
	{`{"a":1,"b":tru e,"c":3}`, []string{"a", "b", "c"}, []string{"1", "tru", ""}}, // invalid: fields so far
	{`{"a":"x","b":}`, []string{"a", "b"}, []string{"x", ""}},
	{`{"a":"unterminated`, []string{"a"}, []string{""}},
	{`{"a":{"deep":[1,{"x":"\q"}]},"b":1}`, []string{"b"}, []string{"1"}},
	{`{"a":1,}`, []string{"a"}, []string{"1"}},
	{`not json {"a":1}`, []string{"a"}, []string{""}},
	{`[{"a":1}]`, []string{"a"}, []string{""}},
	{`{"a":"\ud83d\ude00"}`, []string{"a"}, []string{"😀"}},
	{`{"a":"\u00zz"}`, []string{"a"}, []string{""}},
}

func TestExtractTop(t *testing.T) {
	for _, c := range extractCases {
		fast, full := extractBoth(t, c.msg, c.names)
		for i, w := range c.want {
			if full[i].s != w {
				t.Errorf("%s: walk %s = %q, want %q", c.msg, c.names[i], full[i].s, w)
			}
		}
		if !sameValues(fast, full) {
			t.Errorf("%s %q: top-level scan %v, walk %v", c.msg, c.names, fast, full)
		}
	}
}

// TestExtractTopFieldCap: past 200 leaves, nested ones counted in document
// order, a key is no field, as in the full flattening.
func TestExtractTopFieldCap(t *testing.T) {
	for _, nested := range []int{0, 150, 199, 200, 250} {
		var b strings.Builder
		b.WriteString(`{"n":{`)
		for i := range nested {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":%d`, i, i)
		}
		b.WriteString(`}`)
		for i := range 60 {
			fmt.Fprintf(&b, `,"t%d":"v%d"`, i, i)
		}
		b.WriteString(`}`)
		names := []string{"t0", "t49", "t59"}
		fast, full := extractBoth(t, b.String(), names)
		for i, n := range []int{0, 49, 59} {
			want := fmt.Sprintf("v%d", n)
			if nested+n+1 > maxJSONFields {
				want = ""
			}
			if full[i].s != want {
				t.Errorf("%d nested leaves: walk t%d = %q, want %q", nested, n, full[i].s, want)
			}
		}
		if !sameValues(fast, full) {
			t.Errorf("%d nested leaves: top-level scan %v, walk %v", nested, fast, full)
		}
	}
}

// FuzzExtractTop: the top-level scanner gives what the full flattening
// gives, for any text and any names.
func FuzzExtractTop(f *testing.F) {
	for _, c := range extractCases {
		f.Add(c.msg, strings.Join(c.names, ","))
	}
	f.Add(`{"time":"2026-11-22T05:09:14.000Z","level":"info","req":"0a1b2c3d","user":123,"latency_ms":45,"msg":"a b c"}`, "user,latency_ms")
	f.Add(`{"a":[[[[[[[[[[1]]]]]]]]]],"b":{"c":{"d":{}}},"e":[]}`, "a,b,e,c")
	f.Fuzz(func(t *testing.T, msg, names string) {
		if len(msg) > 1<<16 {
			return
		}
		var ns []string
		seen := map[string]bool{}
		for _, n := range strings.Split(names, ",") {
			if !seen[n] {
				seen[n] = true
				ns = append(ns, n)
			}
		}
		fast, full := extractBoth(t, msg, ns)
		if !sameValues(fast, full) {
			t.Fatalf("%q %q: top-level scan %v, walk %v", msg, ns, fast, full)
		}
	})
}
