package embedded

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
)

// TestLiteralIndex holds the rare-byte search to bytes.Index on random
// texts over a small alphabet (many partial matches, matches at both ends,
// overlapping ones) and on literals of every rarest-byte position.
func TestLiteralIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	alphabet := []byte("ack_ e\nt")
	for round := 0; round < 20000; round++ {
		s := make([]byte, rng.IntN(80))
		for i := range s {
			s[i] = alphabet[rng.IntN(len(alphabet))]
		}
		lit := make([]byte, 3+rng.IntN(4))
		for i := range lit {
			lit[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if len(s) > len(lit) && rng.IntN(2) == 0 { // plant it
			copy(s[rng.IntN(len(s)-len(lit)+1):], lit)
		}
		l := newLiteral(lit)
		if got, want := l.index(s), bytes.Index(s, lit); got != want {
			t.Fatalf("index(%q, %q) = %d, want %d (rare byte %d)", s, lit, got, want, l.rare)
		}
	}
	if l := newLiteral([]byte("checkout_timeout")); l.b[l.rare] != 'k' {
		t.Errorf("rarest byte of checkout_timeout: %q", l.b[l.rare])
	}
}

// BenchmarkLiteralIndex: the rare-byte search against bytes.Index over the
// bench's lines, for a literal whose first byte is common.
func BenchmarkLiteralIndex(b *testing.B) {
	var col []byte
	gen := bench.NewLineGen(1)
	for len(col) < 1<<20 {
		col = append(append(col, gen.Line()...), '\n')
	}
	lit := []byte("checkout_timeoutX") // absent: every byte is scanned
	b.SetBytes(int64(len(col)))
	b.Run("literal", func(b *testing.B) {
		l := newLiteral(lit)
		for b.Loop() {
			if l.index(col) >= 0 {
				b.Fatal("found")
			}
		}
	})
	b.Run("bytes.Index", func(b *testing.B) {
		for b.Loop() {
			if bytes.Index(col, lit) >= 0 {
				b.Fatal("found")
			}
		}
	})
}
