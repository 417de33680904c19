package store

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// TestAppendIDMatchesFormat holds the fmt-free event ID to the format it
// replaced, extremes included, and checks ParseID reads it back.
func TestAppendIDMatchesFormat(t *testing.T) {
	ps := []Position{{}, {Time: math.MaxInt64, Seq: math.MaxUint64, Index: math.MaxUint32}, {Time: -5, Seq: 1, Index: 2}, {Time: 9, Seq: 10, Index: 100}}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 1000; i++ {
		ps = append(ps, Position{Time: rng.Int63n(1 << uint(rng.Intn(63))), Seq: rng.Uint64() >> uint(rng.Intn(64)), Index: rng.Uint32() >> uint(rng.Intn(32))})
	}
	for _, p := range ps {
		want := fmt.Sprintf("%019d%020d%017d", p.Time, p.Seq, p.Index)
		if got := p.ID(); got != want {
			t.Fatalf("%+v: ID %s, want %s", p, got, want)
		}
		if got := string(p.AppendID([]byte("x"))); got != "x"+want {
			t.Fatalf("%+v: AppendID %s", p, got)
		}
		if q, ok := ParseID(want); p.Time >= 0 && (!ok || q != p) {
			t.Fatalf("%+v: ParseID %+v %v", p, q, ok)
		}
	}
}
