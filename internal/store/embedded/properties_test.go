package embedded

import (
	"context"
	"fmt"
	"math/rand"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

// TestUpdateDeleteGroupRace: an UpdateGroup that has passed its
// deleted check writes the group record after DeleteGroup has committed the
// record's deletion, so the deleted group comes back on restart.
func TestUpdateDeleteGroupRace(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	e := openMem(t, fs)
	if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"}); err != nil {
		t.Fatal(err)
	}
	inFn := make(chan struct{})
	updated := make(chan error, 1)
	go func() {
		updated <- e.UpdateGroup(ctx, scope, "g", func(g *store.Group) error {
			close(inFn)
			// Wait until DeleteGroup has committed (it then blocks on g.mu).
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				if _, closer, err := e.db.Get(groupKey(scope.Account, scope.Region, "g")); err != nil {
					break
				} else {
					closer.Close()
				}
			}
			g.RetentionDays = 7
			return nil
		})
	}()
	<-inFn
	if err := e.DeleteGroup(ctx, scope, "g"); err != nil {
		t.Fatal(err)
	}
	if err := <-updated; err != nil {
		t.Logf("update: %v", err)
	}
	if _, err := e.GetGroup(ctx, scope, "g"); err == nil {
		t.Fatalf("group visible right after DeleteGroup")
	}
	e.Close()
	e = openMem(t, fs)
	defer e.Close()
	if g, err := e.GetGroup(ctx, scope, "g"); err == nil {
		t.Fatalf("deleted group is back after restart: %+v", g)
	}
}

// TestGramSoundness: a block's filter admits every substring of every
// message in it.
func TestGramSoundness(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	alphabet := []byte("ab0123_ -.:\\\"{}\xc3\xa9Zz9")
	gb := newGramBuilder()
	for trial := 0; trial < 3000; trial++ {
		gb.reset()
		var msgs []string
		for i := 0; i < 1+rng.Intn(50*(1+trial%20)); i++ {
			b := make([]byte, 1+rng.Intn(40))
			for j := range b {
				b[j] = alphabet[rng.Intn(len(alphabet))]
			}
			msgs = append(msgs, string(b))
			gb.add(b)
		}
		filter := gb.finish(nil)
		for k := 0; k < 20; k++ {
			m := msgs[rng.Intn(len(msgs))]
			i := rng.Intn(len(m))
			j := i + rng.Intn(len(m)-i) + 1
			if q := newGramQuery([]string{m[i:j]}); !q.mayContain(filter) {
				t.Fatalf("filter of %d messages rejects %q (from %q)", len(msgs), m[i:j], m)
			}
		}
	}
}

// TestListGroupsRace: ListGroups once read g.info.Name and g.info.Scope
// without g.mu while UpdateGroup rewrites the whole g.info under g.mu.
func TestListGroupsRace(t *testing.T) {
	ctx := context.Background()
	e := openMem(t, vfs.NewMem())
	defer e.Close()
	e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 20; i++ {
			e.UpdateGroup(ctx, scope, "g", func(g *store.Group) error { g.RetentionDays = int32(1 + i%2); return nil })
		}
	}()
	for i := 0; i < 200; i++ {
		e.ListGroups(ctx, scope, "", "", func(store.Group) bool { return true })
	}
	<-done
}

func countKeys(t *testing.T, e *Engine, prefix []byte) int {
	t.Helper()
	n := 0
	if err := e.scan(prefix, func(k, v []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReclaimAndExpire: stream deletion and retention reclaim blocks,
// and never a block holding an event inside retention.
func TestReclaimAndExpire(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UnixMilli()
	clock := atomic64{v: now}
	e := openClock(t, &clock)
	defer e.Close()
	storetest.Setup(t, e, scope, "g", "a", "b")
	// A 24 h block, and a point block.
	e.Append(ctx, scope, "g", "a", []store.Event{{Timestamp: now - maxBlockSpan, Message: "first"}, {Timestamp: now, Message: "last"}}, now)
	e.Append(ctx, scope, "g", "b", []store.Event{{Timestamp: now, Message: "b"}}, now)
	g, _ := e.lookup(scope, "g")
	if err := e.DeleteStream(ctx, scope, "g", "b"); err != nil {
		t.Fatal(err)
	}
	if err := e.Sweep(); err != nil {
		t.Fatal(err)
	}
	if n := countKeys(t, e, u64key(tagSummary, g.id)); n != 1 {
		t.Fatalf("%d summaries after reclaim, want 1", n)
	}
	e.UpdateGroup(ctx, scope, "g", func(g *store.Group) error { g.RetentionDays = 1; return nil })
	// The block's last event is exactly at the retention cutoff: keep it.
	clock.v = now + 86_400_000
	e.Sweep()
	p, _ := e.Read(ctx, store.ReadRequest{Group: scope, Name: "g", Limit: 10})
	if len(p.Events) != 1 || p.Events[0].Message != "last" {
		t.Fatalf("at the cutoff: %+v", p.Events)
	}
	clock.v = now + 86_400_000 + 1
	e.Sweep()
	if n := countKeys(t, e, u64key(tagSummary, g.id)); n != 0 {
		t.Fatalf("%d summaries past retention", n)
	}
}

// atomic64 is a test clock in ms. Only the test goroutine reads and sets it
// (the janitor, which would also read it, runs once an hour).
type atomic64 struct{ v int64 }

// openClock opens an in-memory engine whose clock is *clock.
func openClock(t *testing.T, clock *atomic64) *Engine {
	t.Helper()
	e, err := Open(Config{Dir: "/db", FS: vfs.NewMem(), Now: func() time.Time { return time.UnixMilli(clock.v) }, JanitorInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestStoredBytesAfterExpire: blocks dropped by retention still count
// in the group's storedBytes (DescribeLogGroups).
func TestStoredBytesAfterExpire(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UnixMilli()
	clock := atomic64{v: now}
	e := openClock(t, &clock)
	defer e.Close()
	e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g", RetentionDays: 1})
	e.CreateStream(ctx, scope, "g", store.Stream{Name: "a"})
	e.Append(ctx, scope, "g", "a", []store.Event{{Timestamp: now, Message: strings.Repeat("x", 1000)}}, now)
	clock.v = now + 3*86_400_000
	e.Sweep()
	g, _ := e.lookup(scope, "g")
	if n := countKeys(t, e, u64key(tagSummary, g.id)); n != 0 {
		t.Fatalf("block not expired")
	}
	if info, _ := e.GetGroup(ctx, scope, "g"); info.StoredBytes != 0 {
		t.Fatalf("storedBytes %d after every block expired", info.StoredBytes)
	}
}

type cancelAfter struct {
	n      *atomic.Int64
	cancel func()
}

func (c cancelAfter) Match(m string) bool {
	if c.n.Add(1) == 500 {
		c.cancel()
	}
	return strings.Contains(m, "zz")
}
func (cancelAfter) Required() []string              { return nil }
func (cancelAfter) RequiredUnlessEscaped() []string { return nil }

// TestPrefetchCancel: cancelling a read while the prefetcher runs
// returns promptly and leaves no goroutine behind.
func TestPrefetchCancel(t *testing.T) {
	e := openMem(t, vfs.NewMem())
	defer e.Close()
	bg := context.Background()
	storetest.Setup(t, e, scope, "g", "a")
	base := time.Now().UnixMilli()
	for i := 0; i < 300; i++ {
		var evs []store.Event
		for j := 0; j < 50; j++ {
			evs = append(evs, store.Event{Timestamp: base + int64(i), Message: fmt.Sprintf("msg %d %d", i, j)})
		}
		e.Append(bg, scope, "g", "a", evs, base)
	}
	before := runtime.NumGoroutine()
	for k := 0; k < 20; k++ {
		ctx, cancel := context.WithCancel(bg)
		var n atomic.Int64
		_, err := e.Read(ctx, store.ReadRequest{Group: scope, Name: "g", Limit: 10, Filter: cancelAfter{&n, cancel}, Backward: k%2 == 1})
		cancel()
		if err == nil {
			t.Fatalf("no error after cancel")
		}
	}
	for deadline := time.Now().Add(2 * time.Second); runtime.NumGoroutine() > before && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Fatalf("%d goroutines, %d before", g, before)
	}
}

// TestConcurrentStress runs appends, reads, stream churn and sweeps
// together under the race detector.
func TestConcurrentStress(t *testing.T) {
	e := openMem(t, vfs.NewMem())
	defer e.Close()
	ctx := context.Background()
	e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"})
	for _, n := range []string{"a", "b", "c"} {
		e.CreateStream(ctx, scope, "g", store.Stream{Name: n})
	}
	base := time.Now().UnixMilli()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var evs []store.Event
				for j := 0; j < 20; j++ {
					evs = append(evs, store.Event{Timestamp: base + int64(i), Message: fmt.Sprintf("w%d %d %d", w, i, j)})
				}
				e.Append(ctx, scope, "g", []string{"a", "b", "c"}[w], evs, base)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			e.DeleteStream(ctx, scope, "g", "c")
			e.Sweep()
			e.CreateStream(ctx, scope, "g", store.Stream{Name: "c"})
			e.UpdateGroup(ctx, scope, "g", func(g *store.Group) error { g.RetentionDays = 30; return nil })
		}
	}()
	for k, until := 0, time.Now().Add(3*time.Second); time.Now().Before(until); k++ {
		q := store.ReadRequest{Group: scope, Name: "g", Limit: 5000, Backward: k%2 == 0, Filter: substr("w1")}
		if k%3 == 0 {
			q.Streams = []string{"b"}
		}
		if _, err := e.Read(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}
