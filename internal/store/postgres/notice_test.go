package postgres

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cairnlog/cairn/internal/pgtest"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

// told is what a listener heard: an append's group and sequence, and
// whether a ReadFeed the listener started at once returned it.
type told struct {
	group   string
	seq     uint64
	visible bool
}

// recordNotices subscribes to e; every notice is checked with a ReadFeed
// started in the listener, as a subscription follower woken by it does.
func recordNotices(t *testing.T, e *Engine) (get func() []told, stop func()) {
	var mu sync.Mutex
	var notices []told
	ctx := context.Background()
	stop = e.Subscribe(func(a store.Appended) {
		if len(a.Events) == 0 {
			return
		}
		seq := a.Events[0].Pos.Seq
		p, err := e.ReadFeed(ctx, store.FeedRequest{Scope: a.Scope, Group: a.Group, After: seq - 1, Limit: 1})
		visible := err == nil && len(p.Events) > 0 && p.Events[0].Pos.Seq == seq
		mu.Lock()
		notices = append(notices, told{a.Group, seq, visible})
		mu.Unlock()
	})
	return func() []told {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(notices)
	}, stop
}

// waitFor polls cond until it holds or a minute passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("a minute passed waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, not synchronising
	}
}

// TestNoticeAboveHeldAppend is the embedded engine's lost wakeup
// (TestNoticeWaitsForMark there) asked of PostgreSQL: an append to group
// "held" draws its sequence and stops before COMMIT (its transaction is
// held open, as a slow node's would be); an append to group g then commits
// with a higher sequence. Every listener told of g's append, on the
// appending node and on another node (the NOTIFY relay), must find it in
// g's feed when told: were the high-water mark one for the whole database
// (as the embedded engine's is), g's append would lie above it while the
// lower one is open, the follower woken for it would read nothing and
// sleep. Once "held" commits, both nodes hear of it too, readable.
func TestNoticeAboveHeldAppend(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	a, err := Open(Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	scope := store.Scope{Account: "000000000000", Region: "us-east-1"}
	storetest.Setup(t, a, scope, "held", "s")
	storetest.Setup(t, a, scope, "g", "s")
	gotA, stopA := recordNotices(t, a)
	defer stopA()
	gotB, stopB := recordNotices(t, b)
	defer stopB()

	// The held append: the engine's own statement in a transaction left
	// open, so its sequence is drawn and its block written, uncommitted.
	now := time.Now().UnixMilli()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	evs := []store.Event{{Timestamp: now, Message: "lower"}}
	payload, raw := a.codec.encode(evs)
	grams := buildGrams(evs)
	var heldSeq int64
	var ignored string
	if err := tx.QueryRow(ctx, appendSQL, scope.Account, scope.Region, []byte("held"), []byte("s"), now, now, now,
		int64(len(payload)+len(grams)+rowOverhead), 1, raw, int16(0), grams, payload, "slow-node").Scan(&heldSeq, &ignored); err != nil {
		t.Fatal(err)
	}

	res, err := a.Append(ctx, scope, "g", "s", []store.Event{{Timestamp: now, Message: "higher"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if res.Seq <= uint64(heldSeq) {
		t.Fatalf("append to g got seq %d, not above the held %d", res.Seq, heldSeq)
	}
	wantG := told{"g", res.Seq, true}
	// The appending node tells its listeners before Append returns.
	if got := gotA(); !slices.Equal(got, []told{wantG}) {
		t.Fatalf("node A's listeners heard %+v while append %d was open, want %+v", got, heldSeq, []told{wantG})
	}
	waitFor(t, "node B to hear of g's append", func() bool { return len(gotB()) > 0 })
	if got := gotB(); !slices.Equal(got, []told{wantG}) {
		t.Fatalf("node B's listeners heard %+v while append %d was open, want %+v", got, heldSeq, []told{wantG})
	}

	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	wantHeld := told{"held", uint64(heldSeq), true}
	for name, get := range map[string]func() []told{"A": gotA, "B": gotB} {
		waitFor(t, fmt.Sprintf("node %s to hear of the held append", name), func() bool { return len(get()) > 1 })
		if got := get(); !slices.Equal(got, []told{wantG, wantHeld}) {
			t.Fatalf("node %s's listeners heard %+v, want %+v", name, got, []told{wantG, wantHeld})
		}
	}
}

// TestNoticeAcrossReconnect: node A's listener loses its connection
// (terminated by the server), and while it is away node B appends to g
// and A appends to h. A follower on A caught up and asleep must still be
// told of B's append once A listens again (its NOTIFY went to no one: a
// lost wakeup, the follower asleep with a block at its cursor), readable
// when told; A's own append is told once, when it committed, not again.
func TestNoticeAcrossReconnect(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	a, err := Open(Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	scope := store.Scope{Account: "000000000000", Region: "us-east-1"}
	storetest.Setup(t, a, scope, "g", "s")
	storetest.Setup(t, a, scope, "h", "s")
	gotA, stopA := recordNotices(t, a)
	defer stopA()
	now := time.Now().UnixMilli()
	// One append heard normally first.
	first, err := b.Append(ctx, scope, "g", "s", []store.Event{{Timestamp: now, Message: "before"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A to hear of B's first append", func() bool { return len(gotA()) == 1 })

	away := make(chan struct{})
	back := make(chan struct{})
	hook := func() {
		close(away)
		<-back
	}
	a.beforeRelisten.Store(&hook)
	var n int
	if err := a.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`,
		"cairn listener "+a.node).Scan(&n); err != nil || n != 1 {
		t.Fatalf("terminating A's listener: %d sessions (%v)", n, err)
	}
	<-away // A's listener is reconnected but not listening
	during, err := b.Append(ctx, scope, "g", "s", []store.Event{{Timestamp: now, Message: "during"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	own, err := a.Append(ctx, scope, "h", "s", []store.Event{{Timestamp: now, Message: "own"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	close(back)
	want := []told{{"g", first.Seq, true}, {"h", own.Seq, true}, {"g", during.Seq, true}}
	waitFor(t, "A to hear of B's append made while it was away", func() bool { return len(gotA()) >= len(want) })
	// And after it, a fresh one, so a duplicate of anything would be here.
	after, err := b.Append(ctx, scope, "g", "s", []store.Event{{Timestamp: now, Message: "after"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, told{"g", after.Seq, true})
	waitFor(t, "A to hear of B's last append", func() bool { return slices.Contains(gotA(), want[len(want)-1]) })
	if got := gotA(); !slices.Equal(got, want) {
		t.Fatalf("A's listeners heard %+v, want %+v", got, want)
	}
}
