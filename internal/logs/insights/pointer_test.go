package insights

import (
	"testing"

	"github.com/cairnlog/cairn/internal/insights/run"
	"github.com/cairnlog/cairn/internal/store"
)

// FuzzPointer: decodePointer never panics, accepts only what
// encodePointer made for that scope and key, and gives back what was
// encoded.
func FuzzPointer(f *testing.F) {
	key := make([]byte, pointerKeyLen)
	scope := store.Scope{Account: "123456789012", Region: "us-east-1"}
	ev := store.StoredEvent{Stream: "s", Pos: store.Position{Time: 1700000000000, Seq: 42, Index: 7}}
	f.Add(encodePointer(key, scope, "g", ev))
	f.Add("")
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := decodePointer(key, scope, s)
		if !ok {
			return
		}
		again := encodePointer(key, scope, p.group, store.StoredEvent{Stream: p.stream, Pos: p.pos})
		q, ok := decodePointer(key, scope, again)
		if !ok || q != p {
			t.Fatalf("round trip of %q: %+v vs %+v", s, p, q)
		}
		if _, ok := decodePointer(key, store.Scope{Account: "210987654321", Region: "us-east-1"}, s); ok {
			t.Fatalf("pointer %q accepted in another account", s)
		}
	})
}

// FuzzTokens: the nextToken parsers never panic and accept only what
// their encoders make.
func FuzzTokens(f *testing.F) {
	f.Add(offsetToken("q", 100))
	f.Add(listToken(run.Info{ID: "q", CreateTime: 5}))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := parseOffset("q", s); err == nil {
			if n < 0 || n > 100000 || offsetToken("q", n) == "" {
				t.Fatalf("offset %d from %q", n, s)
			}
		}
		if p, err := parseListToken(s); err == nil {
			if back, err := parseListToken(listToken(run.Info{ID: p.id, CreateTime: p.createTime})); err != nil || back != p {
				t.Fatalf("list token %q: %+v vs %+v (%v)", s, p, back, err)
			}
		}
	})
}
