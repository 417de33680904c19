package embedded

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

// TestNoticeWaitsForMark: an append that commits while a lower sequence
// (another group's append) is still committing is not yet in the feed, so
// its listeners must not hear of it yet; they hear of it once the lower
// append moves the mark past it. Telling them at once woke the group's
// subscription follower, which read nothing and slept, its group's block
// unread until the group's next append: delivery stalled at the end of a
// run. The lower append is held just before its commit (a hook, so the
// order is forced, not raced).
func TestNoticeWaitsForMark(t *testing.T) {
	ctx := context.Background()
	e := openMem(t, vfs.NewMem())
	defer e.Close()
	storetest.Setup(t, e, scope, "held", "s")
	storetest.Setup(t, e, scope, "g", "s")
	inCommit := make(chan uint64)
	release := make(chan struct{})
	e.beforeCommit = func(group string, seq uint64) {
		if group == "held" {
			inCommit <- seq
			<-release
		}
	}
	type told struct {
		group   string
		seq     uint64
		visible bool // a ReadFeed started by the listener returned the append
	}
	var mu sync.Mutex
	var notices []told
	unsubscribe := e.Subscribe(func(a store.Appended) {
		seq := a.Events[0].Pos.Seq
		p, err := e.ReadFeed(ctx, store.FeedRequest{Scope: a.Scope, Group: a.Group, After: seq - 1, Limit: 1})
		visible := err == nil && len(p.Events) == 1 && p.Events[0].Pos.Seq == seq
		mu.Lock()
		notices = append(notices, told{a.Group, seq, visible})
		mu.Unlock()
	})
	defer unsubscribe()

	now := time.Now().UnixMilli()
	errc := make(chan error, 1)
	go func() {
		_, err := e.Append(ctx, scope, "held", "s", []store.Event{{Timestamp: now, Message: "lower"}}, now)
		errc <- err
	}()
	heldSeq := <-inCommit
	res, err := e.Append(ctx, scope, "g", "s", []store.Event{{Timestamp: now, Message: "higher"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if res.Seq <= heldSeq {
		t.Fatalf("append to g got seq %d, not above the held %d", res.Seq, heldSeq)
	}
	mu.Lock()
	early := append([]told(nil), notices...)
	mu.Unlock()
	if len(early) != 0 {
		t.Errorf("listeners told %+v while append %d was still committing (mark %d)", early, heldSeq, e.committed.Load())
	}
	close(release)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	// The held append's goroutine tells both, in sequence order, each
	// readable when told.
	want := []told{{"held", heldSeq, true}, {"g", res.Seq, true}}
	mu.Lock()
	defer mu.Unlock()
	if !reflect.DeepEqual(notices, want) {
		t.Fatalf("notices %+v, want %+v", notices, want)
	}
}
