package transformer

import (
	"testing"

	"github.com/cairnlog/cairn/internal/store"
)

// FuzzTransformedRecord: a transformed record read back from the store, in
// either format and however damaged (a disk fault, a record from a newer
// build), gives an error or versions, never a panic, and versions are
// asked about any event without one; a lazy record of a valid
// configuration transforms any message.
func FuzzTransformedRecord(f *testing.F) {
	procs := `[{"grok":{"match":"%{WORD:level} %{GREEDYDATA:rest}"}},{"addKeys":{"entries":[{"key":"env","value":"prod"}]}}]`
	f.Add(lazyRecord(2, procs), "WARN disk low", uint32(1))
	f.Add(lazyRecord(1, `[{"parseJSON":{}}]`), `{"a":1}`, uint32(0))
	f.Add([]byte("\x09{\"m\":\"a\"}\x02{}"), "a", uint32(1))
	f.Add([]byte{0}, "x", uint32(0))
	f.Add([]byte{0, 0xff}, "x", uint32(7))
	f.Add([]byte{}, "", uint32(0))
	s := New(Config{})
	scope := store.Scope{Account: "000000000000", Region: "us-east-1"}
	f.Fuzz(func(t *testing.T, rec []byte, msg string, idx uint32) {
		v, err := s.versions(rec, scope, "g", 1)
		if err != nil {
			return
		}
		for _, i := range []uint32{0, idx, idx + 1} {
			v(store.StoredEvent{Stream: "s", Message: msg, Pos: store.Position{Seq: 1, Index: i}})
		}
	})
}
