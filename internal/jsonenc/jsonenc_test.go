package jsonenc

import (
	"encoding/json"
	"strings"
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

// checkUnescaped: AppendUnescaped reads s (what follows an opening quote)
// as encoding/json's Decoder reads the literal `"`+s: the same verdict, the
// same end, the same text when the literal is valid UTF-8 (encoding/json
// replaces invalid bytes, AppendUnescaped keeps them); and its string and
// []byte forms agree.
func checkUnescaped(t *testing.T, s string) {
	t.Helper()
	out, n, ok := AppendUnescaped([]byte("pre"), s)
	outB, nB, okB := AppendUnescaped([]byte("pre"), []byte(s))
	if ok != okB || ok && (n != nB || string(out) != string(outB)) {
		t.Fatalf("%q: string form %q %d %v, []byte form %q %d %v", s, out, n, ok, outB, nB, okB)
	}
	if !strings.HasPrefix(string(out), "pre") {
		t.Fatalf("%q: dst's text lost: %q", s, out)
	}
	// s as a whole body is what s with a closing quote is as a literal.
	lit, ln, lok := AppendUnescaped(nil, s+`"`)
	lok = lok && ln == len(s)+1
	body, bok := AppendUnescapedBody(nil, s)
	bodyB, bokB := AppendUnescapedBody(nil, []byte(s))
	if bok != lok || bokB != lok || lok && (string(body) != string(lit) || string(bodyB) != string(lit)) {
		t.Fatalf("%q as a body: %q %v ([]byte form %q %v); as a literal %q %v", s, body, bok, bodyB, bokB, lit, lok)
	}
	dec := json.NewDecoder(strings.NewReader(`"` + s))
	var want string
	err := dec.Decode(&want)
	if ok != (err == nil) {
		t.Fatalf("%q: AppendUnescaped ok %v, encoding/json %v", s, ok, err)
	}
	if !ok {
		return
	}
	if int64(n+1) != dec.InputOffset() {
		t.Fatalf("%q: AppendUnescaped read %d bytes, encoding/json %d", s, n, dec.InputOffset()-1)
	}
	if got := string(out[len("pre"):]); utf8.ValidString(s[:n]) && got != want {
		t.Fatalf("%q: AppendUnescaped %q, encoding/json %q", s, got, want)
	}
}

func TestAppendUnescaped(t *testing.T) {
	for _, s := range []string{`"`, `plain" tail`, `a\"b\\c\/d\b\f\n\r\t"`, `\u00e9\u65E5 \ud83d\ude00"`, `\ud800\u0041"`, `\udc00\ud800"`,
		`\ud83d"`, `\ud83d\n"`, `long run with no escape at all, then one \u0041 and more"`, "bad \xff utf8\"",
		``, `no end`, `\`, `\q"`, `\u12"`, `\u12g4"`, `\ud800\u12"`, "ctl \x01\"", "a word with one \x1f control\"", "ctl after escape \\n\x1f\"", `ends in \u0041`,
		strings.Repeat("x", 70) + "\x01\"", strings.Repeat("x", 70) + `\n` + strings.Repeat("y", 50) + `"`, strings.Repeat("z", 80)} {
		checkUnescaped(t, s)
	}
	dst := make([]byte, 0, 64)
	if a := testing.AllocsPerRun(100, func() {
		AppendUnescaped(dst, `x\u00e9\"y"`)
		AppendUnescaped(dst, []byte(`x\u00e9\"y"`))
	}); a != 0 {
		t.Fatalf("%v allocations per call with room in dst", a)
	}
}

func FuzzAppendUnescaped(f *testing.F) {
	f.Add(`a\"b\\\/\b\f\n\r\t\u00e9" tail`)
	f.Add(`\ud83d\ude00 \udc00\ud800\u0041"`)
	f.Add("\\ud800\\u12\"\x01")
	f.Fuzz(checkUnescaped)
}
