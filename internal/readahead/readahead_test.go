package readahead

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/leakcheck"
)

func TestMain(m *testing.M) {
	os.Exit(leakcheck.Main(m, "github.com/cairnlog/cairn/"))
}

func waitIdle[V any](t *testing.T, c *Cache[V]) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !c.Idle() {
		if time.Now().After(deadline) {
			t.Fatal("cache never idle")
		}
		time.Sleep(time.Millisecond)
	}
}

func always() bool { return true }

func TestOfferTake(t *testing.T) {
	c := New[string](Config{})
	defer c.Close()
	ctx := context.Background()
	var runs atomic.Int32
	if !c.Offer("k", func(context.Context) (string, error) { runs.Add(1); return "v", nil }, always) {
		t.Fatal("offer refused")
	}
	if c.Offer("k", func(context.Context) (string, error) { return "other", nil }, always) {
		t.Fatal("second offer of the same key accepted")
	}
	waitIdle(t, c)
	if v, ok := c.Take(ctx, "k"); !ok || v != "v" {
		t.Fatalf("take = %q, %v", v, ok)
	}
	if _, ok := c.Take(ctx, "k"); ok {
		t.Fatal("an answer served twice")
	}
	if _, ok := c.Take(ctx, "nothing"); ok {
		t.Fatal("hit on a key never offered")
	}
	if runs.Load() != 1 {
		t.Fatalf("ran %d times", runs.Load())
	}
	if st := c.Stats(); st.Hits != 1 || st.Misses != 2 || st.Refused != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestCheckDecides: an answer whose check says no is never served, however
// ready it is; nor is one whose run failed.
func TestCheckDecides(t *testing.T) {
	c := New[int](Config{})
	defer c.Close()
	ctx := context.Background()
	var fresh atomic.Bool
	fresh.Store(true)
	c.Offer("a", func(context.Context) (int, error) { return 1, nil }, fresh.Load)
	c.Offer("b", func(context.Context) (int, error) { return 2, errors.New("read failed") }, always)
	waitIdle(t, c)
	fresh.Store(false) // the group changed after the read
	if v, ok := c.Take(ctx, "a"); ok {
		t.Fatalf("stale answer %d served", v)
	}
	if v, ok := c.Take(ctx, "b"); ok {
		t.Fatalf("failed run's answer %d served", v)
	}
	if st := c.Stats(); st.Stale != 1 || st.Hits != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestTakeWaitsForRunning: a Take that finds its answer being prepared waits
// for it; one that finds it still queued misses at once and the run is
// skipped.
func TestTakeWaitsForRunning(t *testing.T) {
	c := New[string](Config{Workers: 1})
	defer c.Close()
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	c.Offer("slow", func(context.Context) (string, error) { close(started); <-release; return "slow", nil }, always)
	<-started
	var queuedRan atomic.Bool
	c.Offer("queued", func(context.Context) (string, error) { queuedRan.Store(true); return "q", nil }, always)
	if _, ok := c.Take(ctx, "queued"); ok {
		t.Fatal("a queued entry served")
	}
	got := make(chan string)
	go func() {
		v, _ := c.Take(ctx, "slow")
		got <- v
	}()
	time.Sleep(10 * time.Millisecond)
	close(release)
	if v := <-got; v != "slow" {
		t.Fatalf("take of a running entry = %q", v)
	}
	waitIdle(t, c)
	if queuedRan.Load() {
		t.Fatal("the taken queued entry still ran")
	}
}

func TestExpiry(t *testing.T) {
	var now atomic.Int64
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	c := New[string](Config{TTL: time.Hour, Now: clock}) // the sweeper's own ticks never come
	defer c.Close()
	c.Offer("k", func(context.Context) (string, error) { return "v", nil }, always)
	waitIdle(t, c)
	now.Add(int64(30 * time.Minute))
	c.expire()
	if c.Len() != 1 {
		t.Fatal("expired before its TTL")
	}
	now.Add(int64(30 * time.Minute))
	c.expire()
	if c.Len() != 0 {
		t.Fatal("kept past its TTL")
	}
	if _, ok := c.Take(context.Background(), "k"); ok {
		t.Fatal("an expired answer served")
	}
}

// TestBounded: many readers offering and taking at once never make the
// Cache hold more than Max entries, each answer goes to at most one taker
// and is its own key's, and Close stops every worker (leakcheck).
func TestBounded(t *testing.T) {
	const max = 3
	c := New[string](Config{Max: max, Workers: 2})
	ctx := context.Background()
	var over atomic.Int32
	stop := make(chan struct{})
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		for {
			select {
			case <-stop:
				return
			default:
				if c.Len() > max {
					over.Add(1)
				}
			}
		}
	}()
	var wg sync.WaitGroup
	var hits atomic.Int64
	for r := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				key := fmt.Sprintf("reader %d page %d", r, i)
				c.Offer(key, func(context.Context) (string, error) { return key, nil }, always)
				if v, ok := c.Take(ctx, key); ok {
					if v != key {
						t.Errorf("take %q = %q", key, v)
					}
					hits.Add(1)
				}
				if c.Len() > max {
					over.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	watch.Wait()
	if over.Load() != 0 {
		t.Fatalf("held more than %d entries %d times", max, over.Load())
	}
	st := c.Stats()
	if st.Hits != hits.Load() || st.Offered != 64*200 {
		t.Fatalf("stats %+v, hits %d", st, hits.Load())
	}
	t.Logf("%+v", st)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if c.Offer("late", func(context.Context) (string, error) { return "", nil }, always) {
		t.Fatal("offer accepted after Close")
	}
}

// TestCloseCancelsRun: Close cancels a running read's context and waits for it.
func TestCloseCancelsRun(t *testing.T) {
	c := New[string](Config{})
	started := make(chan struct{})
	var cancelled atomic.Bool
	c.Offer("k", func(ctx context.Context) (string, error) {
		close(started)
		<-ctx.Done()
		cancelled.Store(true)
		return "", ctx.Err()
	}, always)
	<-started
	c.Close()
	if !cancelled.Load() {
		t.Fatal("Close returned before the running read ended")
	}
}
