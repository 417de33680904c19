package embedded

import (
	"context"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

// TestDeleteGroupDropsRecords: a group's feed entries, cursors and resource
// records go with it (the conformance suite can only see that a re-created
// group, which gets a new id, does not inherit them).
func TestDeleteGroupDropsRecords(t *testing.T) {
	ctx := context.Background()
	e := openMem(t, vfs.NewMem())
	defer e.Close()
	storetest.Setup(t, e, scope, "g", "s")
	now := time.Now().UnixMilli()
	e.Append(ctx, scope, "g", "s", []store.Event{{Timestamp: now, Message: "m"}}, now)
	e.SetCursor(ctx, scope, "g", "c", 1)
	e.PutResource(ctx, store.ResourceKey{Scope: scope, Group: "g", Kind: "metricFilter", Name: "f"}, []byte("x"))
	e.PutResource(ctx, store.ResourceKey{Scope: scope, Kind: "destination", Name: "d"}, []byte("y"))
	g, _ := e.lookup(scope, "g")
	for _, tag := range []byte{tagFeed, tagCursor, tagGroupRes} {
		if n := countKeys(t, e, u64key(tag, g.id)); n != 1 {
			t.Fatalf("%c: %d keys before the delete, want 1", tag, n)
		}
	}
	if err := e.DeleteGroup(ctx, scope, "g"); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []byte(groupDataTags) {
		if n := countKeys(t, e, u64key(tag, g.id)); n != 0 {
			t.Fatalf("%c: %d keys after the delete", tag, n)
		}
	}
	if n := countKeys(t, e, []byte{tagResource}); n != 1 {
		t.Fatalf("%d account resources after deleting a group, want 1", n)
	}
}

// TestFeedEntriesReclaimed: the janitor drops feed entries with the blocks
// of deleted streams and with blocks past retention.
func TestFeedEntriesReclaimed(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UnixMilli()
	clock := atomic64{v: now}
	e := openClock(t, &clock)
	defer e.Close()
	storetest.Setup(t, e, scope, "g", "a", "b")
	e.Append(ctx, scope, "g", "a", []store.Event{{Timestamp: now, Message: "a"}}, now)
	e.Append(ctx, scope, "g", "b", []store.Event{{Timestamp: now, Message: "b"}}, now)
	g, _ := e.lookup(scope, "g")
	e.DeleteStream(ctx, scope, "g", "b")
	if err := e.Sweep(); err != nil {
		t.Fatal(err)
	}
	if n := countKeys(t, e, u64key(tagFeed, g.id)); n != 1 {
		t.Fatalf("%d feed entries after reclaiming b, want 1", n)
	}
	e.UpdateGroup(ctx, scope, "g", func(g *store.Group) error { g.RetentionDays = 1; return nil })
	clock.v = now + 86_400_000 + maxBlockSpan + 1
	if err := e.Sweep(); err != nil {
		t.Fatal(err)
	}
	if n := countKeys(t, e, u64key(tagFeed, g.id)); n != 0 {
		t.Fatalf("%d feed entries past retention", n)
	}
}
