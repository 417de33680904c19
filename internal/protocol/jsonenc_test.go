package protocol_test

import (
	stdjson "encoding/json"
	"math/rand"
	"testing"

	json "github.com/goccy/go-json"

	"github.com/cairnlog/cairn/internal/protocol"
)

// jsonTricky are strings whose encoding differs between careless encoders.
var jsonTricky = []string{
	"", "plain", `quote " and backslash \ and slash /`, "\x00\x01\x07\x08\x09\x0a\x0b\x0c\x0d\x1b\x1f\x7f",
	"<script>&amp;</script>", "line\u2028sep\u2029para", "é ü 日本 🎉", "\xff", "a\xc3", "\xed\xa0\x80 surrogate",
	"\xf4\x90\x80\x80 beyond U+10FFFF", "ok\xe2\x80", "\u2027\u202a", "\ufffd literal", `{"json":"inside","n":1}`,
}

// TestAppendJSONStringMatchesMarshal holds the hand-written encoder to the
// bytes of encoding/json and of goccy/go-json (what writeJSON used before),
// for tricky strings and random bytes.
func TestAppendJSONStringMatchesMarshal(t *testing.T) {
	check := func(s string) {
		t.Helper()
		got := string(protocol.AppendJSONString(nil, s))
		std, _ := stdjson.Marshal(s)
		goccy, _ := json.Marshal(s)
		if got != string(std) || got != string(goccy) {
			t.Fatalf("%q: got %s, encoding/json %s, goccy %s", s, got, std, goccy)
		}
	}
	for _, s := range jsonTricky {
		check(s)
	}
	rng := rand.New(rand.NewSource(1))
	alphabet := []string{"a", "\"", "\\", "\n", "\x01", "<", "\u2028", "é", "\xff", "\xe2\x80", "🎉", " "}
	for i := 0; i < 5000; i++ {
		var b []byte
		for n := rng.Intn(12); n > 0; n-- {
			if rng.Intn(4) == 0 {
				b = append(b, byte(rng.Intn(256)))
			} else {
				b = append(b, alphabet[rng.Intn(len(alphabet))]...)
			}
		}
		check(string(b))
	}
}

func BenchmarkAppendJSONString(b *testing.B) {
	lines := []string{
		`10.4.21.7 - - [22/Nov/2026:05:09:14 +0000] "GET /api/v1/users/4411 HTTP/1.1" 200 5123 0.311 "curl/8.5.0"`,
		`2026-11-22T05:09:14.002Z INFO  [req=0a1b2c3d] cache miss upstream in 113ms order cart`,
		`{"time":"2026-11-22T05:09:14.004Z","level":"info","req":"0a1b2c3d","user":4411,"latency_ms":17,"msg":"queue job started"}`,
	}
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	b.SetBytes(int64(n))
	var buf []byte
	for i := 0; i < b.N; i++ {
		buf = buf[:0]
		for _, l := range lines {
			buf = protocol.AppendJSONString(buf, l)
		}
	}
}

func BenchmarkGoccyString(b *testing.B) {
	lines := []string{
		`10.4.21.7 - - [22/Nov/2026:05:09:14 +0000] "GET /api/v1/users/4411 HTTP/1.1" 200 5123 0.311 "curl/8.5.0"`,
		`2026-11-22T05:09:14.002Z INFO  [req=0a1b2c3d] cache miss upstream in 113ms order cart`,
		`{"time":"2026-11-22T05:09:14.004Z","level":"info","req":"0a1b2c3d","user":4411,"latency_ms":17,"msg":"queue job started"}`,
	}
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	b.SetBytes(int64(n))
	for i := 0; i < b.N; i++ {
		_, _ = json.Marshal(lines)
	}
}
