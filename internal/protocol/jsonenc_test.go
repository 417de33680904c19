package protocol_test

import (
	stdjson "encoding/json"
	"math/rand"
	"strings"
	"testing"

	json "github.com/goccy/go-json"

	"github.com/cairnlog/cairn/internal/bench"
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

// FuzzAppendJSONString compares the encoder with encoding/json (and goccy)
// on arbitrary strings, valid UTF-8 or not.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonTricky {
		f.Add(s)
	}
	for _, s := range benchLines()[1][:20] {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := string(protocol.AppendJSONString([]byte("x"), s))
		std, _ := stdjson.Marshal(s)
		goccy, _ := json.Marshal(s)
		if got != "x"+string(std) || got != "x"+string(goccy) {
			t.Fatalf("%q: got %s, encoding/json %s, goccy %s", s, got, std, goccy)
		}
	})
}

// benchLines returns the benchmark sets: 1,000 bench.LineGen lines (the
// mix every engine figure uses), and a quote-heavy set: its JSON and access
// lines, and the same lines wrapped as Docker's json-file driver writes them
// ({"log":"{\"time\":...}\n"}), every quote then escaped twice over.
func benchLines() [2][]string {
	g := bench.NewLineGen(1)
	var mix, quotes []string
	for len(mix) < 1000 {
		l := g.Line()
		mix = append(mix, l)
		if strings.Contains(l, `"`) {
			quotes = append(quotes, l)
			wrapped, _ := stdjson.Marshal(l + "\n")
			quotes = append(quotes, `{"log":`+string(wrapped)+`,"stream":"stdout","time":"2026-11-22T05:09:14.004Z"}`)
		}
	}
	return [2][]string{mix, quotes}
}

// BenchmarkEscape compares AppendJSONString, writing a []string the way the
// read outputs do, with goccy's json.Marshal of the same slice (what
// writeJSON used before), on each set. MB/s counts the lines' bytes.
// goccy v0.12 escapes 32 bytes a step with AVX2 assembly on amd64; this
// package's loop is pure Go, 8 bytes a step, so on the quote-dense set
// goccy stays ahead (measured in the perf-escape commit message).
func BenchmarkEscape(b *testing.B) {
	sets := benchLines()
	for i, name := range []string{"linegen", "quotes"} {
		lines := sets[i]
		n := 0
		for _, l := range lines {
			n += len(l)
		}
		b.Run(name+"/cairn", func(b *testing.B) {
			b.SetBytes(int64(n))
			var buf []byte
			for i := 0; i < b.N; i++ {
				buf = append(buf[:0], '[')
				for j, l := range lines {
					if j > 0 {
						buf = append(buf, ',')
					}
					buf = protocol.AppendJSONString(buf, l)
				}
				buf = append(buf, ']')
			}
		})
		b.Run(name+"/goccy", func(b *testing.B) {
			b.SetBytes(int64(n))
			for i := 0; i < b.N; i++ {
				_, _ = json.Marshal(lines)
			}
		})
	}
}
