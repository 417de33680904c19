package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/pgtest"
	"github.com/cairnlog/cairn/internal/store"
)

// TestLeases: two engines on one database (two nodes). One holds a lease
// at a time; the holder renews it; a released lease moves at once; a lease
// whose holder stopped renewing without releasing (a killed node) moves
// when it expires.
func TestLeases(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	const ttl = 4 * time.Second
	open := func() *Engine {
		// A 4 s TTL: long enough that a renewal is not missed on a loaded
		// 2-core machine (1.5 s failed once at load 25), short enough for
		// the sampling below to span two TTLs in seconds.
		e, err := Open(Config{URL: url, LeaseTTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return e
	}
	a, b := open(), open()
	ctx := context.Background()
	try := func(e *Engine, name string) bool {
		t.Helper()
		ok, err := e.TryLease(ctx, name, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !try(a, "job") || !try(a, "job") {
		t.Fatal("the first node could not take or renew a free lease")
	}
	if try(b, "job") {
		t.Fatal("the second node took a lease the first holds")
	}
	if !try(b, "other") {
		t.Fatal("a lease of another name is free")
	}
	if err := b.ReleaseLease(ctx, "job"); err != nil { // not b's: a no-op
		t.Fatal(err)
	}
	if try(b, "job") {
		t.Fatal("releasing another node's lease freed it")
	}
	if err := a.ReleaseLease(ctx, "job"); err != nil {
		t.Fatal(err)
	}
	if !try(b, "job") {
		t.Fatal("a released lease was not free")
	}

	// Lease objects: a takes "gate" and keeps it renewed past its TTL;
	// b's waits.
	la := store.NewLease(a, "gate", nil)
	eventually(t, la.Held)
	lb := store.NewLease(b, "gate", nil)
	defer lb.Close()
	deadline := time.Now().Add(2 * ttl) // two TTLs: renewals must have happened
	for time.Now().Before(deadline) {
		if lb.Held() || !la.Held() {
			t.Fatalf("a holds: %v, b holds: %v; want only a", la.Held(), lb.Held())
		}
		time.Sleep(50 * time.Millisecond) // sampling over time, not synchronisation
	}
	la.Close() // releases: b takes it within its poll
	eventually(t, lb.Held)

	// A dead holder: a takes "dead" once and never renews nor releases.
	if ok, err := a.TryLease(ctx, "dead", 1500*time.Millisecond); err != nil || !ok {
		t.Fatal(ok, err)
	}
	ld := store.NewLease(b, "dead", nil)
	defer ld.Close()
	if ld.Held() {
		t.Fatal("b holds a lease a holds and has not let expire")
	}
	eventually(t, ld.Held)
	if try(a, "dead") {
		t.Fatal("the dead holder took its lease back from the node holding it")
	}
}

// eventually polls cond until it holds, failing after 10 s.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
