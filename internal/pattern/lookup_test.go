package pattern

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// oracleLookup is the independent computation LookupJSON must agree with:
// encoding/json decodes the whole message into maps (numbers as text), and
// the path is walked through them.
func oracleLookup(msg string, path []string) (string, bool) {
	d := json.NewDecoder(strings.NewReader(msg))
	d.UseNumber()
	var doc any
	if d.Decode(&doc) != nil || d.More() {
		return "", false
	}
	if _, err := d.Token(); err == nil {
		return "", false // trailing data
	}
	cur := doc
	for _, st := range path {
		if isIndexStep(st) {
			arr, ok := cur.([]any)
			n, err := strconv.Atoi(st[1 : len(st)-1])
			if !ok || err != nil || n < 0 || n >= len(arr) {
				return "", false
			}
			cur = arr[n]
			continue
		}
		obj, ok := cur.(map[string]any)
		if !ok {
			return "", false
		}
		if cur, ok = obj[st]; !ok {
			return "", false
		}
	}
	switch v := cur.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

func TestLookupJSON(t *testing.T) {
	cases := []struct {
		msg, path, want string
		ok              bool
	}{
		{`{"a":1}`, "a", "1", true},
		{`{"a":"x\u0041\n"}`, "a", "xA\n", true},
		{`{"a":{"b":[1,{"c":"deep"}]}}`, "a.b.[1].c", "deep", true},
		{`{"a":1,"a":2}`, "a", "2", true},
		{`{"a":1,"a":{"x":1}}`, "a", "", false},
		{`{"a":true}`, "a", "true", true},
		{`{"a":null}`, "a", "", false},
		{`{"a":[1]}`, "a", "", false},
		{`{"a":1} x`, "a", "", false},
		{`{"a":1,}`, "a", "", false},
		{`{"\u0061":-1.5e3}`, "a", "-1.5e3", true},
		{` {"a" : "b" } `, "a", "b", true},
		{`[1,2]`, "[1]", "2", true},
		{"{\"a\":\"\xff\"}", "a", "\uFFFD", true},
		// A member name decodes as a value does: its invalid byte is U+FFFD,
		// so a step of the raw byte names nothing and "\uFFFD" names it.
		{"{\"\xff\":0}", "\xff", "", false},
		{"{\"\xff\":0}", "\uFFFD", "0", true},
		{"{\"\\u0061\xff\":0}", "a\uFFFD", "0", true},
		{"{\"\\u0061\xff\":0}", "a\xff", "", false},
		{"{\"x\":{\"\xfe\":\"v\"}}", "x.\uFFFD", "v", true},
		{"{\"\uFFFD\":1,\"\xff\":2}", "\uFFFD", "2", true},
	}
	for _, c := range cases {
		path := strings.Split(c.path, ".")
		got, ok := LookupJSON(c.msg, path)
		if got != c.want || ok != c.ok {
			t.Errorf("LookupJSON(%q, %q) = %q, %v; want %q, %v", c.msg, c.path, got, ok, c.want, c.ok)
		}
		if vg, vok := lookupViaView(c.msg, path); vg != c.want || vok != c.ok {
			t.Errorf("LookupView(%q, %q) = %q, %v; want %q, %v", c.msg, c.path, vg, vok, c.want, c.ok)
		}
		if og, ook := oracleLookup(c.msg, path); og != c.want || ook != c.ok {
			t.Errorf("oracle(%q, %q) = %q, %v; the hand-written case says %q, %v", c.msg, c.path, og, ook, c.want, c.ok)
		}
	}
}

// FuzzLookupJSON: LookupJSON agrees with encoding/json's decoding on every
// message and path.
func FuzzLookupJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":{"b":[1,{"c":"d"}]}}`, `{"a":1,"a":2}`, `{"a":"\u00e9\ud83d\ude00"}`,
		`{"level":"info","latency_ms":120,"msg":"x"}`, `[[1],[2,[3]]]`, "{\"a\":\"\xff\xfe\"}"} {
		f.Add(s, "a")
		f.Add(s, "a.b.[1].c")
		f.Add(s, "[1].[1].[0]")
	}
	f.Fuzz(func(t *testing.T, msg, p string) {
		if len(msg) > 4096 || len(p) > 64 {
			return
		}
		if bytes.Count([]byte(msg), []byte("[")) > 200 || bytes.Count([]byte(msg), []byte("{")) > 200 {
			return // deeper than either side's nesting limit: not what is compared
		}
		path := strings.Split(p, ".")
		got, ok := LookupJSON(msg, path)
		want, wok := oracleLookup(msg, path)
		if got != want || ok != wok {
			t.Fatalf("LookupJSON(%q, %q) = %q, %v; encoding/json says %q, %v", msg, path, got, ok, want, wok)
		}
		if vg, vok := lookupViaView(msg, path); vg != want || vok != wok {
			t.Fatalf("LookupView(%q, %q) = %q, %v; encoding/json says %q, %v", msg, path, vg, vok, want, wok)
		}
	})
}

// lookupViaView is LookupView on a view reused after another message (so
// a stale member would show).
func lookupViaView(msg string, path []string) (string, bool) {
	var v View
	v.Reset(`{"a":{"b":[0,{"c":"stale"}]},"level":"stale"}`)
	v.parse()
	v.Reset(msg)
	return LookupView(&v, path)
}
