package embedded

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

// readWholeFeed pages through g's feed from the start, limit events a page.
func readWholeFeed(t *testing.T, e *Engine, limit int) []store.StoredEvent {
	t.Helper()
	var all []store.StoredEvent
	pos := uint64(0)
	for {
		p, err := e.ReadFeed(context.Background(), store.FeedRequest{Scope: scope, Group: "g", After: pos, Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Events...)
		if len(p.Events) == 0 {
			return all
		}
		pos = p.Next
	}
}

// TestFeedTail: a caught-up follower reads recent appends from memory (no
// block is decompressed) and gets exactly the events written, in commit
// order, less the deleted stream's (kept by the test as it writes them,
// with the sequence each Append answered); a tail too small for all of them
// falls back to the store for the evicted blocks. The same engine reopened
// without a tail must read the same events from the store.
func TestFeedTail(t *testing.T) {
	for _, c := range []struct {
		name       string
		tailBytes  int
		maxDecodes int64
		minDecodes int64
	}{
		{"whole tail", 0, 0, 0},
		{"small tail", 4 << 10, 1 << 30, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := vfs.NewMem()
			e, err := Open(Config{Dir: "/db", FS: fs, FeedTailBytes: c.tailBytes})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			storetest.Setup(t, e, scope, "g", "a", "b", "gone")
			// A follower is reading (the tail fills only then).
			if _, err := e.ReadFeed(ctx, store.FeedRequest{Scope: scope, Group: "g", Limit: 1}); err != nil {
				t.Fatal(err)
			}
			base := int64(1_760_000_000_000)
			// want is the feed as written: every append's events in the
			// order they were appended, at the sequence Append answered;
			// the deleted stream's are left out.
			var want []store.StoredEvent
			for i := 0; i < 40; i++ {
				stream := []string{"a", "b", "gone"}[i%3]
				evs := make([]store.Event, 1+i%7)
				for j := range evs {
					evs[j] = store.Event{Timestamp: base + int64(i*10+j), Message: fmt.Sprintf("event %d.%d of %s", i, j, stream)}
				}
				res, err := e.Append(ctx, scope, "g", stream, evs, base+int64(i))
				if err != nil {
					t.Fatal(err)
				}
				if stream == "gone" {
					continue
				}
				for j, ev := range evs {
					want = append(want, store.StoredEvent{Stream: stream, Timestamp: ev.Timestamp, IngestionTime: base + int64(i), Message: ev.Message,
						Pos: store.Position{Time: ev.Timestamp, Seq: res.Seq, Index: uint32(j)}})
				}
			}
			if err := e.DeleteStream(ctx, scope, "g", "gone"); err != nil {
				t.Fatal(err)
			}
			before := e.decodes.Load()
			got := readWholeFeed(t, e, 5)
			decodes := e.decodes.Load() - before
			if decodes > c.maxDecodes || decodes < c.minDecodes {
				t.Errorf("%d blocks decompressed reading the feed; want %d to %d", decodes, c.minDecodes, c.maxDecodes)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("the feed through the tail differs from the events written:\n got %d events %+v\nwant %d events %+v", len(got), got, len(want), want)
			}
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			e, err = Open(Config{Dir: "/db", FS: fs, FeedTailBytes: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if fromStore := readWholeFeed(t, e, 5); !reflect.DeepEqual(fromStore, want) {
				t.Fatalf("the feed read from the store (no tail) differs from the events written:\n got %d events %+v\nwant %d events %+v",
					len(fromStore), fromStore, len(want), want)
			}
		})
	}
}

// TestFeedTailOnlyWhileFollowed: with nobody reading the feed, appends put
// nothing in the tail (it costs memory only while it saves work); the
// first ReadFeed turns it on for the appends after it.
func TestFeedTailOnlyWhileFollowed(t *testing.T) {
	e, err := Open(Config{Dir: "/db", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	storetest.Setup(t, e, scope, "g", "a")
	held := func() int {
		e.tail.mu.Lock()
		defer e.tail.mu.Unlock()
		return len(e.tail.byKey)
	}
	for i := 0; i < 5; i++ {
		if _, err := e.Append(ctx, scope, "g", "a", []store.Event{{Timestamp: int64(1_760_000_000_000 + i), Message: "x"}}, 1); err != nil {
			t.Fatal(err)
		}
	}
	if n := held(); n != 0 {
		t.Fatalf("%d appends held in the tail with no follower, want 0", n)
	}
	if _, err := e.ReadFeed(ctx, store.FeedRequest{Scope: scope, Group: "g", Limit: 100}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := e.Append(ctx, scope, "g", "a", []store.Event{{Timestamp: int64(1_760_000_001_000 + i), Message: "y"}}, 1); err != nil {
			t.Fatal(err)
		}
	}
	if n := held(); n != 3 {
		t.Fatalf("%d appends held in the tail while followed, want 3", n)
	}
}
