package embedded

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

var scope = store.Scope{Account: "000000000000", Region: "us-east-1"}

func openMem(t testing.TB, fs vfs.FS) *Engine {
	t.Helper()
	e, err := Open(Config{Dir: "/db", FS: fs})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type substr string

func (s substr) Match(m string) bool             { return strings.Contains(m, string(s)) }
func (s substr) Required() []string              { return []string{string(s)} }
func (s substr) RequiredUnlessEscaped() []string { return nil }

// exactSubstr is substr that says it is exactly a search for its literal
// (store.LiteralMatcher).
type exactSubstr struct{ substr }

func (s exactSubstr) Literal() (string, bool) { return string(s.substr), true }

// TestRestart: after reopening the same files, every event is there with the
// same position, and stream statistics survive (the conformance suite in
// storetest checks ordering and paging on a fresh store).
func TestRestart(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	e := openMem(t, fs)
	storetest.Setup(t, e, scope, "g", "a")
	base := time.Now().UnixMilli()
	for i := 0; i < 20; i++ {
		evs := []store.Event{{Timestamp: base + int64(i), Message: fmt.Sprintf("m%d", i)}, {Timestamp: base + int64(i), Message: fmt.Sprintf("n%d", i)}}
		if _, err := e.Append(ctx, scope, "g", "a", evs, base); err != nil {
			t.Fatal(err)
		}
	}
	q := store.ReadRequest{Group: scope, Name: "g", Limit: 1000}
	before, err := e.Read(ctx, q)
	if err != nil || len(before.Events) != 40 {
		t.Fatalf("%d events, %v", len(before.Events), err)
	}
	e.Close()
	e = openMem(t, fs)
	defer e.Close()
	after, err := e.Read(ctx, q)
	if err != nil || len(after.Events) != 40 {
		t.Fatalf("after restart: %d events, %v", len(after.Events), err)
	}
	for i := range before.Events {
		if before.Events[i] != after.Events[i] {
			t.Fatalf("event %d changed: %+v → %+v", i, before.Events[i], after.Events[i])
		}
	}
	st, err := e.GetStream(ctx, scope, "g", "a")
	if err != nil || st.FirstEventTimestamp != base || st.LastEventTimestamp != base+19 || st.StoredBytes == 0 {
		t.Fatalf("stream stats after restart: %+v %v", st, err)
	}
	// New appends after a restart sort after old ones at the same timestamp.
	res, err := e.Append(ctx, scope, "g", "a", []store.Event{{Timestamp: base + 19, Message: "late"}}, base)
	if err != nil || res.Seq <= after.Events[39].Pos.Seq {
		t.Fatalf("sequence after restart %d ≤ %d (%v)", res.Seq, after.Events[39].Pos.Seq, err)
	}
}

func TestBlockSkipping(t *testing.T) {
	ctx := context.Background()
	e := openMem(t, vfs.NewMem())
	defer e.Close()
	storetest.Setup(t, e, scope, "g", "s")
	base := time.Now().UnixMilli()
	for i := 0; i < 100; i++ {
		var evs []store.Event
		for j := 0; j < 100; j++ {
			msg := fmt.Sprintf("INFO request %d-%d handled id=%08x", i, j, rand.Uint32())
			if i == 42 && j == 7 {
				msg += " needle9zq"
			}
			evs = append(evs, store.Event{Timestamp: base + int64(i), Message: msg})
		}
		if _, err := e.Append(ctx, scope, "g", "s", evs, base); err != nil {
			t.Fatal(err)
		}
	}
	p, err := e.Read(ctx, store.ReadRequest{Group: scope, Name: "g", Limit: 10, Filter: substr("needle9zq"), StreamPrefix: ""})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Events) != 1 || !strings.HasSuffix(p.Events[0].Message, "needle9zq") {
		t.Fatalf("got %+v", p.Events)
	}
	if p.SkippedBlocks < 90 {
		t.Fatalf("skipped only %d of 100 blocks", p.SkippedBlocks)
	}
	// A substring of a longer word must still be found (ERROR in ERRORCODE).
	p, _ = e.Read(ctx, store.ReadRequest{Group: scope, Name: "g", Limit: 10, Filter: substr("eedle9z")})
	if len(p.Events) != 1 {
		t.Fatalf("substring search found %d events", len(p.Events))
	}
}
