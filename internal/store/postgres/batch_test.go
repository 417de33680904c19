package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/cairnlog/cairn/internal/pgtest"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

// TestGroupCommit: 24 writers append to one group at once (4 streams, and
// one missing stream), until some writes carried several appends. Every
// acknowledged append is read back whole under its own sequence number,
// sequences are unique and the feed's high-water mark covers them all; the
// appends to the missing stream fail with ErrStreamNotFound and leave
// nothing; the streams' statistics add up.
func TestGroupCommit(t *testing.T) {
	pg := pgtest.Start(t)
	e, err := Open(Config{URL: pg.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	scope := store.Scope{Account: "000000000000", Region: "us-east-1"}
	storetest.Setup(t, e, scope, "g", "s0", "s1", "s2", "s3")
	type acked struct {
		stream string
		seq    uint64
		msgs   []string
	}
	var (
		mu   sync.Mutex
		all  []acked
		errs []error
	)
	for round := 0; e.coalesce.multi.Load() == 0; round++ {
		if round == 20 {
			t.Fatal("20 rounds of 24 concurrent appends, and no write carried two")
		}
		var wg sync.WaitGroup
		for w := range 24 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				stream := fmt.Sprintf("s%d", w%4)
				if w == 23 {
					stream = "missing"
				}
				var evs []store.Event
				var msgs []string
				for i := range 5 {
					m := fmt.Sprintf("r%d w%d i%d", round, w, i)
					msgs = append(msgs, m)
					evs = append(evs, store.Event{Timestamp: int64(1000 + round*100 + i), Message: m})
				}
				r, err := e.Append(ctx, scope, "g", stream, evs, 5000)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				all = append(all, acked{stream, r.Seq, msgs})
			}()
		}
		wg.Wait()
	}
	for _, err := range errs {
		if !errors.Is(err, store.ErrStreamNotFound) {
			t.Fatalf("append failed: %v", err)
		}
	}
	rounds := len(errs)
	if len(all) != 23*rounds {
		t.Fatalf("%d appends acknowledged in %d rounds, want %d", len(all), rounds, 23*rounds)
	}
	seqs := map[uint64]acked{}
	for _, a := range all {
		if _, dup := seqs[a.seq]; dup {
			t.Fatalf("sequence %d given twice", a.seq)
		}
		seqs[a.seq] = a
	}
	feed, err := e.ReadFeed(ctx, store.FeedRequest{Scope: scope, Group: "g", Limit: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint64][]string{}
	for _, ev := range feed.Events {
		if _, ok := seqs[ev.Pos.Seq]; !ok {
			t.Fatalf("the feed holds %q at sequence %d, which no append was given", ev.Message, ev.Pos.Seq)
		}
		got[ev.Pos.Seq] = append(got[ev.Pos.Seq], ev.Message)
		if ev.Stream != seqs[ev.Pos.Seq].stream {
			t.Fatalf("%q in stream %s, appended to %s", ev.Message, ev.Stream, seqs[ev.Pos.Seq].stream)
		}
	}
	maxSeq := uint64(0)
	for s, a := range seqs {
		if !slices.Equal(got[s], a.msgs) {
			t.Fatalf("sequence %d holds %v, want %v", s, got[s], a.msgs)
		}
		maxSeq = max(maxSeq, s)
	}
	if feed.Next != maxSeq {
		t.Fatalf("high-water mark %d, want %d (the largest sequence)", feed.Next, maxSeq)
	}
	var stored int64
	if err := e.ListStreams(ctx, scope, "g", "", "", func(s store.Stream) bool {
		if s.FirstEventTimestamp != 1000 {
			t.Errorf("stream %s: first event %d", s.Name, s.FirstEventTimestamp)
		}
		stored += s.StoredBytes
		return true
	}); err != nil {
		t.Fatal(err)
	}
	g, err := e.GetGroup(ctx, scope, "g")
	if err != nil || g.StoredBytes != stored || stored == 0 {
		t.Fatalf("group stored %d bytes, its streams %d (%v)", g.StoredBytes, stored, err)
	}
	t.Logf("%d rounds, %d writes carried several appends", rounds, e.coalesce.multi.Load())

	// One write of three appends, one to a missing stream, and one of two
	// to a group that does not exist.
	mk := func(stream, msg string) *pendingAppend {
		evs := []store.Event{{Timestamp: 9000, Message: msg}}
		payload, raw := e.codec.encode(evs)
		return &pendingAppend{stream: stream, minTs: 9000, maxTs: 9000, ingest: 9000, stored: 1, raw: raw, count: 1,
			grams: buildGrams(evs), payload: payload, done: make(chan appendResult, 1)}
	}
	batch := []*pendingAppend{mk("s1", "x1"), mk("nope", "x2"), mk("s2", "x3")}
	e.writeBatch(scope, "g", batch)
	if batch[0].err != nil || batch[2].err != nil || !errors.Is(batch[1].err, store.ErrStreamNotFound) || batch[2].seq <= batch[0].seq {
		t.Fatalf("mixed write: %v/%d, %v, %v/%d", batch[0].err, batch[0].seq, batch[1].err, batch[2].err, batch[2].seq)
	}
	gone := []*pendingAppend{mk("s1", "y1"), mk("s2", "y2")}
	e.writeBatch(scope, "no-such-group", gone)
	for _, p := range gone {
		if !errors.Is(p.err, store.ErrGroupNotFound) {
			t.Fatalf("write to a missing group: %v", p.err)
		}
	}
	p, err := e.Read(ctx, store.ReadRequest{Group: scope, Name: "g", Start: 9000, Limit: 10})
	if err != nil || len(p.Events) != 2 || p.Events[0].Message != "x1" || p.Events[1].Message != "x3" {
		t.Fatalf("after the mixed write: %+v %v", p.Events, err)
	}
}
