package metricfilter

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

// leaseBeforeSubscribe is the real embedded engine as one node of a shared
// engine (a store.Leaser that always grants: the only node), whose Subscribe
// returns only once the lease loop has come back to renew, that is, after
// the first holding's onAcquire returned. It forces the order that hung a
// three-node test on PostgreSQL in CI (27a3be6): the lease taken, and the
// Counter's acquired callback's signal in the one-slot wake channel,
// before StartCounter's own first wake.
type leaseBeforeSubscribe struct {
	store.Store
	tries   atomic.Int32
	renewed chan struct{} // closed at the second TryLease
	waited  atomic.Bool   // Subscribe saw renewed closed (not its timeout)
}

func (s *leaseBeforeSubscribe) TryLease(context.Context, string, time.Duration) (bool, error) {
	if s.tries.Add(1) == 2 {
		close(s.renewed)
	}
	return true, nil
}

func (s *leaseBeforeSubscribe) ReleaseLease(context.Context, string) error { return nil }

// LeaseTTL: renewals every 10 ms (a third of it).
func (s *leaseBeforeSubscribe) LeaseTTL() time.Duration { return 30 * time.Millisecond }

func (s *leaseBeforeSubscribe) Subscribe(fn func(store.Appended)) func() {
	select {
	case <-s.renewed:
		s.waited.Store(true)
	case <-time.After(10 * time.Second):
	}
	return s.Store.Subscribe(fn)
}

// TestStartCounterAfterLeaseAcquired: StartCounter returns, and its first
// pass runs, when the lease was acquired (and its callback signalled)
// before start-up's first wake. With start-up's blocking send of 27a3be6
// restored, StartCounter never returns and the test fails at its timeout.
func TestStartCounterAfterLeaseAcquired(t *testing.T) {
	eng, err := embedded.Open(embedded.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ctx := context.Background()
	// An index entry whose group does not exist: the first pass drops it
	// (forget), which shows the worker ran after start-up.
	scope := store.Scope{Account: "123456789012", Region: "us-east-1"}
	entry := store.ResourceKey{Kind: indexKind, Name: indexName(scope, "gone")}
	if err := eng.PutResource(ctx, entry, nil); err != nil {
		t.Fatal(err)
	}
	st := &leaseBeforeSubscribe{Store: eng, renewed: make(chan struct{})}
	type started struct {
		c   *Counter
		err error
	}
	done := make(chan started, 1)
	go func() {
		c, err := StartCounter(ctx, CounterConfig{Store: st, Compile: func(expr string) (logs.Pattern, error) { return pattern.Compile(expr) }})
		done <- started{c, err}
	}()
	var c *Counter
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatal(r.err)
		}
		c = r.c
	case <-time.After(10 * time.Second):
		t.Fatal("StartCounter did not return within 10 s of the lease being acquired before its first wake")
	}
	defer c.Close()
	if !st.waited.Load() {
		t.Fatal("the lease was not renewed before Subscribe: the order under test was not forced")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := eng.GetResource(ctx, entry)
		if errors.Is(err, store.ErrResourceNotFound) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the Counter's first pass did not run within 10 s (the stale index entry is still there)")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
