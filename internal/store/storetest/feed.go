package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/store"
)

// readFeedAll pages through a group's feed from after until the feed is
// exhausted, checking that sequences only grow.
func readFeedAll(t *testing.T, s store.Store, group string, after uint64, limit int) ([]store.StoredEvent, uint64) {
	t.Helper()
	var out []store.StoredEvent
	// A page buffer a follower keeps (FeedRequest.Buf), holding an
	// earlier page's stale events: the page read into it must be the page
	// read afresh, nothing of the old one left.
	buf := make([]store.StoredEvent, 0, 8)
	for pages := 0; ; pages++ {
		p, err := s.ReadFeed(context.Background(), store.FeedRequest{Scope: scope, Group: group, After: after, Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		buf = buf[:cap(buf)]
		for i := range buf {
			buf[i] = store.StoredEvent{Stream: "stale", Message: "stale", Pos: store.Position{Seq: 1 << 62}}
		}
		q, err := s.ReadFeed(context.Background(), store.FeedRequest{Scope: scope, Group: group, After: after, Limit: limit, Buf: buf})
		if err != nil {
			t.Fatal(err)
		}
		if q.Next != p.Next || len(q.Events) != len(p.Events) {
			t.Fatalf("page into a kept buffer: %d events, next %d; afresh %d, next %d", len(q.Events), q.Next, len(p.Events), p.Next)
		}
		for i := range p.Events {
			if q.Events[i] != p.Events[i] {
				t.Fatalf("page into a kept buffer, event %d: %+v; afresh %+v", i, q.Events[i], p.Events[i])
			}
		}
		buf = q.Events
		if p.Next < after {
			t.Fatalf("feed went back from %d to %d", after, p.Next)
		}
		for _, e := range p.Events {
			if e.Pos.Seq <= after {
				t.Fatalf("feed after %d returned seq %d", after, e.Pos.Seq)
			}
		}
		out = append(out, p.Events...)
		if len(p.Events) == 0 {
			return out, p.Next
		}
		if pages > 100_000 {
			t.Fatal("feed never ends")
		}
		after = p.Next
	}
}

// testFeed: the feed returns a group's appends in order, whole, once,
// paged by block, without other groups' or deleted streams' events.
func testFeed(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := context.Background()
	for _, g := range []string{"g", "other"} {
		Setup(t, s, scope, g, "a", "b")
	}
	if evs, _ := readFeedAll(t, s, "g", 0, 10); len(evs) != 0 {
		t.Fatalf("empty group's feed: %+v", evs)
	}
	now := time.Now().UnixMilli()
	type app struct {
		stream string
		seq    uint64
		evs    []store.Event
	}
	var apps []app
	for i := 0; i < 12; i++ {
		stream := []string{"a", "b"}[i%2]
		// Timestamps go back in time: feed order is arrival, not time.
		evs := []store.Event{{Timestamp: now - int64(i)*1000, Message: fmt.Sprint("e", i, "-0")}, {Timestamp: now - int64(i)*1000 + 1, Message: fmt.Sprint("e", i, "-1")}}
		res, err := s.Append(ctx, scope, "g", stream, evs, now+int64(i))
		if err != nil {
			t.Fatal(err)
		}
		apps = append(apps, app{stream, res.Seq, evs})
		s.Append(ctx, scope, "other", stream, []store.Event{{Timestamp: now, Message: "noise"}}, now)
	}
	for _, limit := range []int{1, 3, 1000} {
		evs, _ := readFeedAll(t, s, "g", 0, limit)
		if len(evs) != 2*len(apps) {
			t.Fatalf("limit %d: %d events, want %d", limit, len(evs), 2*len(apps))
		}
		for i, e := range evs {
			a := apps[i/2]
			w := a.evs[i%2]
			if e.Stream != a.stream || e.Message != w.Message || e.Timestamp != w.Timestamp || e.IngestionTime != now+int64(i/2) ||
				e.Pos != (store.Position{Time: w.Timestamp, Seq: a.seq, Index: uint32(i % 2)}) {
				t.Fatalf("limit %d: event %d is %+v, want %+v of append %d", limit, i, e, w, a.seq)
			}
		}
	}
	// A page holds whole blocks: limit 3 gives two blocks (4 events).
	p, err := s.ReadFeed(ctx, store.FeedRequest{Scope: scope, Group: "g", Limit: 3})
	if err != nil || len(p.Events) != 4 || p.Next != apps[1].seq {
		t.Fatalf("limit 3: %d events, next %d (want 4, %d), %v", len(p.Events), p.Next, apps[1].seq, err)
	}
	// Resuming from the middle.
	evs, next := readFeedAll(t, s, "g", apps[5].seq, 1000)
	if len(evs) != 12 || evs[0].Pos.Seq != apps[6].seq || next < apps[11].seq {
		t.Fatalf("after append 5: %d events from %d, next %d", len(evs), evs[0].Pos.Seq, next)
	}
	// A deleted stream's events leave the feed.
	if err := s.DeleteStream(ctx, scope, "g", "b"); err != nil {
		t.Fatal(err)
	}
	evs, _ = readFeedAll(t, s, "g", 0, 1000)
	for _, e := range evs {
		if e.Stream == "b" {
			t.Fatalf("deleted stream in the feed: %+v", e)
		}
	}
	if len(evs) != len(apps) {
		t.Fatalf("%d events after deleting b, want %d", len(evs), len(apps))
	}
	if _, err := s.ReadFeed(ctx, store.FeedRequest{Scope: scope, Group: "nope", Limit: 1}); !errors.Is(err, store.ErrGroupNotFound) {
		t.Fatalf("feed of a missing group: %v", err)
	}
}

// testFeedConcurrent: writers append concurrently while a follower reads
// the feed from its last position, woken by Subscribe. Whatever order the
// commits finish in, the follower sees every append exactly once, in
// ascending sequence order: it is never moved past an append still
// committing.
func testFeedConcurrent(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := context.Background()
	streams := []string{"a", "b", "c"}
	Setup(t, s, scope, "g", streams...)
	const writers, perWriter = 6, 40
	wake := make(chan struct{}, 1)
	unsubscribe := s.Subscribe(func(a store.Appended) {
		if a.Group == "g" {
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	})
	defer unsubscribe()

	var (
		mu       sync.Mutex
		appended = map[uint64]int{} // seq → events
	)
	now := time.Now().UnixMilli()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(w)))
			for i := 0; i < perWriter; i++ {
				n := 1 + rng.Intn(30)
				evs := make([]store.Event, n)
				for j := range evs {
					evs[j] = store.Event{Timestamp: now + int64(j), Message: fmt.Sprintf("w%d %d %d", w, i, j)}
				}
				res, err := s.Append(ctx, scope, "g", streams[rng.Intn(len(streams))], evs, now)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				appended[res.Seq] = n
				mu.Unlock()
			}
		}()
	}
	writersDone := make(chan struct{})
	go func() { wg.Wait(); close(writersDone) }()

	rng := rand.New(rand.NewSource(99))
	seen := map[uint64]int{}
	var after, last uint64
	follow := func() {
		for {
			p, err := s.ReadFeed(ctx, store.FeedRequest{Scope: scope, Group: "g", After: after, Limit: 1 + rng.Intn(60)})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Events {
				if e.Pos.Seq < last {
					t.Fatalf("feed went back from seq %d to %d", last, e.Pos.Seq)
				}
				last = e.Pos.Seq
				seen[e.Pos.Seq]++
			}
			if p.Next < after {
				t.Fatalf("next %d before %d", p.Next, after)
			}
			after = p.Next
			if len(p.Events) == 0 {
				return
			}
		}
	}
	for done := false; !done; {
		select {
		case <-wake:
		case <-writersDone:
			done = true
		}
		follow()
	}
	follow() // every append has returned: the feed holds them all
	if len(seen) != len(appended) {
		t.Fatalf("follower saw %d appends, %d were made", len(seen), len(appended))
	}
	for seq, n := range appended {
		if seen[seq] != n {
			t.Fatalf("append %d: follower saw %d of its %d events", seq, seen[seq], n)
		}
	}
}

// testSubscribe: listeners hear of each durable append, and not after they
// unsubscribed.
func testSubscribe(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := context.Background()
	Setup(t, s, scope, "g", "a")
	var mu sync.Mutex
	var got []store.Appended
	unsubscribe := s.Subscribe(func(a store.Appended) {
		// The append is in the feed before listeners hear of it.
		p, err := s.ReadFeed(ctx, store.FeedRequest{Scope: a.Scope, Group: a.Group, After: a.Events[0].Pos.Seq - 1, Limit: 1})
		if err != nil || len(p.Events) == 0 || p.Events[0].Pos.Seq != a.Events[0].Pos.Seq {
			t.Errorf("append %d not in the feed when announced: %+v %v", a.Events[0].Pos.Seq, p.Events, err)
		}
		mu.Lock()
		got = append(got, a)
		mu.Unlock()
	})
	now := time.Now().UnixMilli()
	res, err := s.Append(ctx, scope, "g", "a", []store.Event{{Timestamp: now, Message: "x"}, {Timestamp: now + 1, Message: "y"}}, now+2)
	if err != nil {
		t.Fatal(err)
	}
	unsubscribe()
	unsubscribe() // idempotent
	s.Append(ctx, scope, "g", "a", []store.Event{{Timestamp: now, Message: "z"}}, now)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("%d notices, want 1", len(got))
	}
	a := got[0]
	if a.Scope != scope || a.Group != "g" || a.Stream != "a" || len(a.Events) != 2 || a.Events[1].Message != "y" ||
		a.Events[1].Pos != (store.Position{Time: now + 1, Seq: res.Seq, Index: 1}) || a.Events[0].IngestionTime != now+2 {
		t.Fatalf("notice %+v", a)
	}
}
