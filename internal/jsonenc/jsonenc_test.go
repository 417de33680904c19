package jsonenc

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// encoding/json is the independent reference: what it decodes from
// AppendString's output is the input, with invalid UTF-8 replaced.
func check(t *testing.T, s string) {
	t.Helper()
	out := AppendString(nil, s)
	var back string
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("%q → %s: not JSON: %v", s, out, err)
	}
	want := s
	if !utf8.ValidString(s) {
		want = string([]rune(s)) // each invalid byte becomes U+FFFD
	}
	if back != want {
		t.Fatalf("%q → %s → %q", s, out, back)
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\`, "\n\r\t\x00\x1f", "<html>&", "é 日本 🙂", "bad \xff\xfe utf8", "\u2028"} {
		check(t, s)
	}
	if got := string(AppendString(nil, "<a>")); got != `"<a>"` {
		t.Fatalf("HTML escaped: %s", got)
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("x\"y\\\n\xff")
	f.Fuzz(check)
}
