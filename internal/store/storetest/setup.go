package storetest

import (
	"context"
	"testing"

	"github.com/cairnlog/cairn/internal/store"
)

// Setup creates the log group name in scope with the given streams, failing
// t on any error. Engine packages' own tests use it as the suite does.
func Setup(t testing.TB, s store.Store, scope store.Scope, name string, streams ...string) {
	t.Helper()
	ctx := context.Background()
	if err := s.CreateGroup(ctx, store.Group{Scope: scope, Name: name}); err != nil {
		t.Fatalf("create group %q: %v", name, err)
	}
	for _, n := range streams {
		if err := s.CreateStream(ctx, scope, name, store.Stream{Name: n}); err != nil {
			t.Fatalf("create stream %q in %q: %v", n, name, err)
		}
	}
}

// mustAppend appends evs to group/stream and returns what a read must give
// back for them.
func mustAppend(t testing.TB, s store.Store, group, stream string, evs []store.Event, ingestion int64) []want {
	t.Helper()
	res, err := s.Append(context.Background(), scope, group, stream, evs, ingestion)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]want, len(evs))
	for j, ev := range evs {
		out[j] = want{stream, ev.Message, store.Position{Time: ev.Timestamp, Seq: res.Seq, Index: uint32(j)}}
	}
	return out
}
