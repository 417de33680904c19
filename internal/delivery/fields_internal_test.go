package delivery

import (
	"encoding/json"
	"maps"
	"runtime"
	"strings"
	"testing"
	"unsafe"
	"weak"

	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/store"
)

// namedOf is the pattern's named values for msg as a map (a name set
// twice keeps its last value), keys without their "$": what extractedFields
// must hold, from pattern.Values alone.
func namedOf(t testing.TB, p *pattern.Pattern, msg string) map[string]string {
	var v pattern.Values
	if !p.ExtractValues(msg, &v) {
		t.Fatalf("%s does not match %q", p, msg)
	}
	m := map[string]string{}
	for i := 0; i < v.Len(); i++ {
		if v.Named(i) {
			m[strings.TrimPrefix(string(v.AppendKey(nil, i)), "$")] = v.Text(i)
		}
	}
	return m
}

// TestFieldsObject holds appendObject to the pattern's own values: its
// named fields, keys less their "$", the same values (a name set twice
// with its last value, both below and past smallKeys values), no field
// known by its position, as a JSON object that encoding/json reads back,
// and no object for a message the pattern extracts nothing from.
func TestFieldsObject(t *testing.T) {
	scope := store.Scope{Account: "123456789012", Region: "eu-west-1"}
	many := strings.TrimSuffix(strings.Repeat("a b ", 12), " ") // 24 fields
	long := strings.Repeat("k", 90)                             // a key past any small buffer
	for _, c := range []struct{ pat, msg string }{
		{"[ip, user, verb]", `1.2.3.4 "a b" GET`},
		{"[a, b, a]", "x y z"},
		{"[]", many},
		{"[a, b, a, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, a]", many},
		{"[x, ..., y]", "one two three four"},
		{"[" + long + ", b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, " + long + ", ...]", many},
		{`[k="quo\"te", v]`, `quo"te value with spaces`},
	} {
		p, err := pattern.Compile(c.pat)
		if err != nil {
			t.Fatalf("%s: %v", c.pat, err)
		}
		ok, want := p.Extract(c.msg)
		if !ok {
			t.Fatalf("%s does not match %q", c.pat, c.msg)
		}
		f := NewFields(p, []string{"@aws.account"}, scope, "g")
		var sc fieldScratch
		b := f.appendObject([]byte("prefix"), c.msg, &sc)
		if !strings.HasPrefix(string(b), "prefix") {
			t.Fatalf("%s: prefix lost: %s", c.pat, b)
		}
		var got map[string]string
		if err := json.Unmarshal(b[len("prefix"):], &got); err != nil {
			t.Fatalf("%s: %s: %v", c.pat, b, err)
		}
		exp := namedOf(t, p, c.msg)
		exp["@aws.account"] = "123456789012"
		if !maps.Equal(got, exp) {
			t.Errorf("%s on %q: got %v, want %v (Extract: %v)", c.pat, c.msg, got, exp, want)
		}
		// No key twice on the wire.
		if n := strings.Count(string(b), `"a":`); n > 1 {
			t.Errorf("%s: key a written %d times: %s", c.pat, n, b)
		}
	}
	// Nothing to add: no Fields; a non-matching message adds no object.
	for _, text := range []string{"ERROR", "[]", "[..., ...]", `{ $.a = 1 }`} {
		tp, _ := pattern.Compile(text)
		if NewFields(tp, nil, scope, "g") != nil {
			t.Fatalf("%s without system fields has Fields", text)
		}
	}
	// Positions are left out, a name that is a number is not one.
	for _, c := range []struct{ pat, msg, want string }{
		{"[x, ..., y]", "one two three four", `{"x":"one","y":"four"}`},
		{"[1, b]", "one two", `{"1":"one","b":"two"}`},
		{"[1, ..., 1]", "one two three", `{"1":"three"}`},
	} {
		p, _ := pattern.Compile(c.pat)
		var sc fieldScratch
		if b := NewFields(p, nil, scope, "g").appendObject(nil, c.msg, &sc); string(b) != c.want {
			t.Errorf("%s on %q: %s, want %s", c.pat, c.msg, b, c.want)
		}
	}
	sp, _ := pattern.Compile("[a, b]")
	var sc fieldScratch
	if b := NewFields(sp, nil, scope, "g").appendObject(nil, "one", &sc); len(b) != 0 {
		t.Fatalf("no match, object %s", b)
	}
}

// FuzzFieldsObject: for any space-delimited pattern and message it
// matches, the extractedFields object is JSON that encoding/json reads as
// the pattern's named values, keys less their "$".
func FuzzFieldsObject(f *testing.F) {
	f.Add("[ip, user, verb]", `1.2.3.4 "a b" GET`)
	f.Add("[a, b, a]", "x y z")
	f.Add("[x, ..., y]", "one \"two\\\" three\" four")
	f.Add(`[k="\u00e9*", v]`, "\u00e9t\u00e9 \xff\xfe")
	f.Fuzz(func(t *testing.T, pat, msg string) {
		p, err := pattern.Compile(pat)
		if err != nil || !p.IsSpaceDelimited() {
			return
		}
		if !p.Match(msg) {
			return
		}
		want := namedOf(t, p, msg)
		fl := NewFields(p, nil, store.Scope{Account: "1", Region: "r"}, "g")
		if fl == nil {
			if len(want) != 0 || p.HasNamedFields() {
				t.Fatalf("no Fields, named values %v", want)
			}
			return
		}
		var sc fieldScratch
		b := fl.appendObject(nil, msg, &sc)
		if len(want) == 0 {
			if len(b) != 0 {
				t.Fatalf("no values, object %s", b)
			}
			return
		}
		var got map[string]string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		// Invalid UTF-8 as encoding/json writes it (a U+FFFD a byte).
		exp := map[string]string{}
		for k, x := range want {
			jk, _ := json.Marshal(k)
			jx, _ := json.Marshal(x)
			var uk, ux string
			json.Unmarshal(jk, &uk)
			json.Unmarshal(jx, &ux)
			exp[uk] = ux
		}
		if !maps.Equal(got, exp) {
			t.Fatalf("got %v, want %v", got, exp)
		}
	})
}

// TestFieldsScratchLetsGo: once build returns and its records are
// released, the follower keeps nothing of the page's messages: the values
// appendObject extracted are substrings of them, and a follower that goes
// idle after a page must not hold its last event alive.
func TestFieldsScratchLetsGo(t *testing.T) {
	p, err := pattern.Compile("[a, b]")
	if err != nil {
		t.Fatal(err)
	}
	f := Filter{Name: "f", Group: "g", Pattern: p, Fields: NewFields(p, nil, store.Scope{}, "g")}
	fl := &follower{m: &Manager{byGroup: map[groupKey][]*follower{}}, f: f}
	msg := make([]byte, 1<<16)
	for i := range msg {
		msg[i] = "a "[i%2]
	}
	gone := weak.Make(&msg[0])
	page := []store.StoredEvent{{Stream: "s", Timestamp: 1, Message: unsafe.String(&msg[0], len(msg))}}
	recs := fl.build(page)
	if len(recs) != 1 || recs[0].Events[0].fields == nil {
		t.Fatalf("records %+v", recs)
	}
	fl.release(recs)
	clear(page)
	runtime.GC()
	if gone.Value() != nil {
		t.Fatal("the follower still holds the page's message")
	}
	runtime.KeepAlive(fl)
}

// TestFieldsObjectAllocs: a wide event's object costs no allocation per
// key (a map of the keys cost one a field); what remains is the pattern's
// own split of the line. The widest a 1,024-character pattern names: 340
// fields, all called x (each shadowing the one before), the last taking
// the rest of a 2,000-field line.
func TestFieldsObjectAllocs(t *testing.T) {
	p, err := pattern.Compile("[" + strings.Repeat("x, ", 339) + "x]")
	if err != nil {
		t.Fatal(err)
	}
	f := NewFields(p, nil, store.Scope{}, "g")
	msg := strings.TrimSuffix(strings.Repeat("a ", 2000), " ")
	var sc fieldScratch
	dst := f.appendObject(nil, msg, &sc)
	if want := `{"x":"` + msg[2*339:] + `"}`; string(dst) != want {
		t.Fatalf("object %.80s…, want %.80s…", dst, want)
	}
	if n := testing.AllocsPerRun(10, func() { dst = f.appendObject(dst[:0], msg, &sc) }); n > 20 {
		t.Fatalf("%v allocations for an object of 340 fields", n)
	}
}
