package anomaly

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cairnlog/cairn/internal/drain"
)

func minerOf(msgs ...string) *drain.Miner {
	m := drain.New(drain.Config{})
	for _, s := range msgs {
		m.Add(s)
	}
	return m
}

func sampleState() *saved {
	var msgs []string
	for i := 0; i < 50; i++ {
		msgs = append(msgs, fmt.Sprintf("user %d logged in from 10.0.0.%d", i, i), fmt.Sprintf("GET /api/orders/%d 200 %dms", i, i), "héllo wörld "+strings.Repeat("x", i))
	}
	m := minerOf(msgs...)
	base := map[int]stat{}
	for _, t := range m.Templates() {
		base[t.ID] = stat{mean: float64(t.Count) / 3, windows: 3}
	}
	return &saved{Evals: 7, EvalAt: 1764650000000, Pos: 1 << 40, Trained: true, Drain: m.State(), Baseline: base}
}

// TestStateRoundTrip: a record decodes to what was encoded, and a miner
// restored from it files new messages under the same cluster IDs as the
// original.
func TestStateRoundTrip(t *testing.T) {
	sv := sampleState()
	b, dropped := encodeState(sv)
	if dropped != 0 {
		t.Fatal(dropped)
	}
	got, err := decodeState(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range sv.Drain.Clusters {
		sv.Drain.Clusters[i].Sample = truncate(sv.Drain.Clusters[i].Sample, sampleKeep)
	}
	if !reflect.DeepEqual(got, sv) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, sv)
	}
	a, r := drain.Restore(drain.Config{}, sv.Drain), drain.Restore(drain.Config{}, got.Drain)
	for _, msg := range []string{"user 77 logged in from 10.0.0.9", "GET /api/orders/9 500 3ms", "something new", "héllo wörld xx"} {
		if x, y := a.Add(msg), r.Add(msg); x != y {
			t.Fatalf("%q: cluster %d, restored %d", msg, x, y)
		}
	}
}

// TestStateBudget: clusters past the budget are left out, the most
// recently matched kept.
func TestStateBudget(t *testing.T) {
	var msgs []string
	for i := 0; i < 40; i++ {
		msgs = append(msgs, fmt.Sprintf("k%c%c %s", 'a'+i%26, 'a'+i/26, strings.Repeat("y", 300<<10)))
	}
	m := minerOf(msgs...)
	b, dropped := encodeState(&saved{Drain: m.State()})
	if dropped == 0 || len(b) > stateBudget+64 {
		t.Fatalf("%d bytes, %d dropped", len(b), dropped)
	}
	got, err := decodeState(b)
	if err != nil {
		t.Fatal(err)
	}
	newest := m.State().Clusters[0].ID
	if len(got.Drain.Clusters) != 40-dropped || got.Drain.Clusters[0].ID != newest {
		t.Fatalf("%d clusters kept, first %d (want %d)", len(got.Drain.Clusters), got.Drain.Clusters[0].ID, newest)
	}
}

// TestStateDamage: every truncation and every single-byte change of a
// record is an error, not a panic (the checksum catches them).
func TestStateDamage(t *testing.T) {
	b, _ := encodeState(sampleState())
	for n := 0; n < len(b); n += 1 + n/64 {
		if _, err := decodeState(b[:n]); err == nil {
			t.Fatalf("truncated to %d: no error", n)
		}
	}
	for i := 0; i < len(b); i += 1 + i/64 {
		c := append([]byte(nil), b...)
		c[i] ^= 0x40
		if _, err := decodeState(c); err == nil {
			t.Fatalf("byte %d changed: no error", i)
		}
	}
}

// FuzzDecodeState: no input panics the decoder or drain.Restore, and what
// decodes encodes and decodes again to the same.
func FuzzDecodeState(f *testing.F) {
	b, _ := encodeState(sampleState())
	f.Add(b)
	e, _ := encodeState(&saved{})
	f.Add(e)
	f.Add([]byte("CADS\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// The checksum would hide the body from the fuzzer: fix it up.
		if len(b) >= 4 {
			b = withChecksum(b[:len(b)-4])
		}
		sv, err := decodeState(b)
		if err != nil {
			return
		}
		m := drain.Restore(drain.Config{}, sv.Drain)
		m.Add("user 1 logged in")
		again, _ := encodeState(sv)
		sv2, err := decodeState(again)
		if err != nil {
			t.Fatalf("re-encoded record: %v", err)
		}
		if len(sv2.Drain.Clusters) != len(sv.Drain.Clusters) || sv2.Pos != sv.Pos || sv2.Evals != sv.Evals {
			t.Fatalf("re-encoded record differs")
		}
	})
}

func withChecksum(body []byte) []byte {
	out := append([]byte(nil), body...)
	var sum [4]byte
	c := crc32Castagnoli(out)
	sum[0], sum[1], sum[2], sum[3] = byte(c>>24), byte(c>>16), byte(c>>8), byte(c)
	return append(out, sum[:]...)
}
