package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/pgtest"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

// TestFencing: node A holds a job's lease and is "paused" (it stops
// renewing, its job does not notice); the lease expires and node B takes
// it. When A resumes, its job's writes with A's fence (a cursor advance,
// the job's state record, a delete) are refused with ErrFenced and change
// nothing, while B's go through; A taking the lease back gets a new epoch,
// with which its writes go through again. A write of an old holding that
// races the takeover is ordered wholly before it (the lease row's lock),
// which the sequential steps here cannot show; the epochs' growth is
// checked too.
func TestFencing(t *testing.T) {
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
	const job = "subscription/g"
	ttl := 300 * time.Millisecond

	epochA, ok, err := a.TryLeaseEpoch(ctx, job, ttl)
	if err != nil || !ok {
		t.Fatalf("A takes the lease: %v %v", ok, err)
	}
	fa := store.WithFence(ctx, store.Fence{Lease: job, Epoch: epochA})
	if err := a.SetCursor(fa, scope, "g", "c", 10); err != nil {
		t.Fatalf("A's fenced write while it holds the lease: %v", err)
	}
	state := store.ResourceKey{Scope: scope, Group: "g", Kind: "jobState", Name: "j"}
	if err := a.PutResource(fa, state, []byte("A at 10")); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := b.TryLeaseEpoch(ctx, job, ttl); err != nil || ok {
		t.Fatalf("B took a lease A holds: %v %v", ok, err)
	}

	// A pauses: no renewal. B takes the lease once it expired.
	var epochB int64
	waitFor(t, "B to take the expired lease", func() bool {
		e, ok, err := b.TryLeaseEpoch(ctx, job, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		epochB = e
		return ok
	})
	if epochB <= epochA {
		t.Fatalf("B's epoch %d is not above A's %d", epochB, epochA)
	}
	fb := store.WithFence(ctx, store.Fence{Lease: job, Epoch: epochB})
	if err := b.SetCursor(fb, scope, "g", "c", 20); err != nil {
		t.Fatalf("B's fenced write: %v", err)
	}
	if err := b.PutResource(fb, state, []byte("B at 20")); err != nil {
		t.Fatal(err)
	}

	// A resumes, its job still running with A's fence.
	if err := a.SetCursor(fa, scope, "g", "c", 15); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("A's cursor advance after B took over: %v, want ErrFenced", err)
	}
	if err := a.PutResource(fa, state, []byte("A at 15")); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("A's state write after B took over: %v, want ErrFenced", err)
	}
	if err := a.DeleteResource(fa, state); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("A's delete after B took over: %v, want ErrFenced", err)
	}
	// With B's fence, on A's engine: the fence names B's holding, not A's.
	if err := a.SetCursor(fb, scope, "g", "c", 15); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("a write on A with B's fence: %v, want ErrFenced", err)
	}
	if pos, err := a.GetCursor(ctx, scope, "g", "c"); err != nil || pos != 20 {
		t.Fatalf("cursor %d (%v), want B's 20", pos, err)
	}
	if v, err := a.GetResource(ctx, state); err != nil || string(v) != "B at 20" {
		t.Fatalf("state %q (%v), want B's", v, err)
	}
	// Unfenced writes (not a job's) are not affected.
	if err := a.SetCursor(ctx, scope, "g", "other", 1); err != nil {
		t.Fatal(err)
	}

	// B releases; A takes the lease again, in a new epoch.
	if err := b.ReleaseLease(ctx, job); err != nil {
		t.Fatal(err)
	}
	epochA2, ok, err := a.TryLeaseEpoch(ctx, job, time.Minute)
	if err != nil || !ok || epochA2 <= epochB {
		t.Fatalf("A retakes the released lease: ok %v epoch %d (%v), want above B's %d", ok, epochA2, err, epochB)
	}
	if err := a.SetCursor(fa, scope, "g", "c", 30); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("A's first holding's write after A took the lease again: %v, want ErrFenced", err)
	}
	if err := a.SetCursor(store.WithFence(ctx, store.Fence{Lease: job, Epoch: epochA2}), scope, "g", "c", 30); err != nil {
		t.Fatal(err)
	}
	// A renewal in time keeps the epoch.
	if e, ok, err := a.TryLeaseEpoch(ctx, job, time.Minute); err != nil || !ok || e != epochA2 {
		t.Fatalf("renewal: epoch %d ok %v (%v), want %d", e, ok, err, epochA2)
	}
}

// TestLeaseWaitFence: the context store.Lease.Wait hands a job carries the
// holding's fence, so the job's writes are fenced without its knowing.
func TestLeaseWaitFence(t *testing.T) {
	pg := pgtest.Start(t)
	e, err := Open(Config{URL: pg.NewDatabase(t), LeaseTTL: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	lease := store.NewLease(e, "job", nil)
	defer lease.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	hctx, hcancel, ok := lease.Wait(ctx)
	if !ok {
		t.Fatal("lease not taken")
	}
	defer hcancel()
	f, ok := store.FenceFrom(hctx)
	if !ok || f.Lease != "job" || f.Epoch < 1 || f != lease.Fence() {
		t.Fatalf("the holding's context carries %+v (%v), the lease's fence is %+v", f, ok, lease.Fence())
	}
	var epoch int64
	if err := e.pool.QueryRow(ctx, `SELECT epoch FROM cairn_leases WHERE name = 'job'`).Scan(&epoch); err != nil || epoch != f.Epoch {
		t.Fatalf("the database's epoch %d (%v), the fence's %d", epoch, err, f.Epoch)
	}
}
