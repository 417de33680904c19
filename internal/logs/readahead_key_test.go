package logs

import (
	"reflect"
	"strings"
	"testing"

	"github.com/cairnlog/cairn/internal/store"
)

// FuzzReadAheadKey: two store requests (and patterns) get the same
// read-ahead key only when they are the same request: a shared key would
// serve one request's page to another.
func FuzzReadAheadKey(f *testing.F) {
	f.Add("a", "g", "s1\x00s2", "", int64(0), int64(0), int64(5), uint64(7), uint32(1), true, 10, "ERROR",
		"a", "g", "s1", "s2", int64(0), int64(0), int64(5), uint64(7), uint32(1), true, 10, "ERROR")
	f.Add("a b", "c", "", "p", int64(-1), int64(2), int64(-1), uint64(0), uint32(0), false, 1, `"x y"`,
		"a", "b c", "", "p", int64(-1), int64(2), int64(-1), uint64(0), uint32(0), false, 1, `"x y"`)
	f.Fuzz(func(t *testing.T, acct1, name1, streams1, prefix1 string, start1, end1, at1 int64, seq1 uint64, idx1 uint32, back1 bool, limit1 int, pat1 string,
		acct2, name2, streams2, prefix2 string, start2, end2, at2 int64, seq2 uint64, idx2 uint32, back2 bool, limit2 int, pat2 string) {
		mk := func(acct, name, streams, prefix string, start, end, at int64, seq uint64, idx uint32, back bool, limit int) store.ReadRequest {
			q := store.ReadRequest{Group: store.Scope{Account: acct, Region: "r"}, Name: name, StreamPrefix: prefix,
				Start: start, End: end, Backward: back, Limit: limit, MaxBytes: 1 << 20, ScanBudget: 1 << 28}
			if streams != "" {
				q.Streams = strings.Split(streams, "\x00")
			}
			if at >= 0 {
				q.After = &store.Position{Time: at, Seq: seq, Index: idx}
			}
			return q
		}
		q1 := mk(acct1, name1, streams1, prefix1, start1, end1, at1, seq1, idx1, back1, limit1)
		q2 := mk(acct2, name2, streams2, prefix2, start2, end2, at2, seq2, idx2, back2, limit2)
		same := reflect.DeepEqual(q1, q2) && pat1 == pat2
		if (readAheadKey(q1, pat1) == readAheadKey(q2, pat2)) != same {
			t.Fatalf("same request %v, but keys %q and %q", same, readAheadKey(q1, pat1), readAheadKey(q2, pat2))
		}
	})
}
