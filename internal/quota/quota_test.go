package quota_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/quota"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// allowed counts how many of n calls in a row are admitted.
func allowed(t testing.TB, l *quota.Limiter, account, region, op string, n int) int {
	t.Helper()
	got := 0
	for range n {
		switch err := l.Allow(account, region, op); {
		case err == nil:
			got++
		case awserr.Is(err, awserr.Throttling):
			if ae, _ := awserr.As(err); ae.Message != "Rate exceeded" {
				t.Fatalf("message %q", ae.Message)
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	}
	return got
}

// TestBucketMaths: a fresh bucket holds one second's worth of calls; it
// refills at the rate, never beyond the burst, and a clock stepping back
// mints nothing.
func TestBucketMaths(t *testing.T) {
	clk := newClock()
	l := quota.New(quota.Config{Now: clk.Now, Override: map[string]quota.Rate{"Op": {PerSecond: 4, Burst: 4}}})
	f := func(advance time.Duration, calls, want int) {
		t.Helper()
		clk.Advance(advance)
		if got := allowed(t, l, "111111111111", "us-east-1", "Op", calls); got != want {
			t.Fatalf("after +%v: %d of %d calls allowed, want %d", advance, got, calls, want)
		}
	}
	f(0, 10, 4)                   // the burst, then throttled
	f(250*time.Millisecond, 3, 1) // 4/s: one token per 250 ms
	f(100*time.Millisecond, 1, 0) // 0.4 of a token is not a token
	f(150*time.Millisecond, 1, 1) // 0.4 + 0.6
	f(time.Hour, 10, 4)           // idle for long: capped at the burst
	f(-10*time.Second, 1, 0)      // the clock steps back: nothing refilled
	f(10*time.Second, 1, 0)       // ... and stepping forward again only returns to where it was
	f(10*time.Second+time.Second, 10, 4)
}

// TestAWSRates: the table's figures, scaled, with one second's burst.
func TestAWSRates(t *testing.T) {
	l := quota.New(quota.Config{})
	f := func(op string, tps float64) {
		t.Helper()
		if r := l.RateOf(op); r.PerSecond != tps || r.Burst != int(tps) {
			t.Fatalf("%s: %+v, want %v TPS", op, r, tps)
		}
	}
	f("PutLogEvents", 5000)
	f("CreateLogGroup", 10)
	f("CreateLogStream", 50)
	f("DescribeLogStreams", 25)
	f("GetLogEvents", 25)
	f("FilterLogEvents", 10)
	f("StartLiveTail", 5)
	f("TagResource", 5) // not in the table: AWS's 5 TPS for other APIs

	half := quota.New(quota.Config{Scale: 0.1})
	if r := half.RateOf("CreateLogGroup"); r.PerSecond != 1 || r.Burst != 1 {
		t.Fatalf("scaled: %+v", r)
	}
	if r := half.RateOf("StartLiveTail"); r.PerSecond != 0.5 || r.Burst != 1 {
		t.Fatalf("scaled below one: %+v (burst must stay at least 1)", r)
	}
}

// TestKeysAreSeparate: accounts, regions and operations have their own
// buckets.
func TestKeysAreSeparate(t *testing.T) {
	clk := newClock()
	l := quota.New(quota.Config{Now: clk.Now, Override: map[string]quota.Rate{"A": {PerSecond: 1, Burst: 2}, "B": {PerSecond: 1, Burst: 3}}})
	f := func(account, region, op string, want int) {
		t.Helper()
		if got := allowed(t, l, account, region, op, 10); got != want {
			t.Fatalf("%s/%s/%s: %d allowed, want %d", account, region, op, got, want)
		}
	}
	f("111111111111", "us-east-1", "A", 2)
	f("111111111111", "us-east-1", "B", 3)
	f("222222222222", "us-east-1", "A", 2)
	f("111111111111", "eu-west-1", "A", 2)
	f("111111111111", "us-east-1", "A", 0)
}

// TestBoundedBuckets: however many regions a caller signs for, the limiter
// keeps at most MaxBuckets, dropping the least recently used; a busy key
// keeps its bucket (and its debt) while idle ones are dropped.
func TestBoundedBuckets(t *testing.T) {
	clk := newClock()
	const maxBuckets = 64
	l := quota.New(quota.Config{Now: clk.Now, MaxBuckets: maxBuckets, Override: map[string]quota.Rate{"Op": {PerSecond: 1, Burst: 1}}})
	if allowed(t, l, "victim", "us-east-1", "Op", 1) != 1 {
		t.Fatal("first call refused")
	}
	for i := range 20_000 {
		l.Allow("attacker", fmt.Sprintf("r-%d", i), "Op")
		// The victim keeps calling between the attacker's calls; its bucket
		// stays among the most recent in its shard, so it is not dropped and,
		// with the clock standing still, stays empty.
		if allowed(t, l, "victim", "us-east-1", "Op", 1) != 0 {
			t.Fatalf("victim's bucket was dropped and refilled after %d attacker keys", i)
		}
	}
	if n := l.Len(); n > maxBuckets {
		t.Fatalf("%d buckets, cap %d", n, maxBuckets)
	}
	// Parts longer than any real account or region share one bucket.
	long := string(make([]byte, 1000))
	l2 := quota.New(quota.Config{Now: clk.Now})
	for i := range 100 {
		l2.Allow(fmt.Sprint(i)+long, "us-east-1", "CreateLogGroup")
	}
	if n := l2.Len(); n != 1 {
		t.Fatalf("over-long keys made %d buckets, want 1", n)
	}
}

// TestConcurrentAllow: under concurrent callers exactly the burst is
// admitted while the clock stands still (run with -race).
func TestConcurrentAllow(t *testing.T) {
	clk := newClock()
	l := quota.New(quota.Config{Now: clk.Now, Override: map[string]quota.Rate{"Op": {PerSecond: 1, Burst: 50}}})
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 8 {
		wg.Go(func() {
			n := 0
			for range 100 {
				if l.Allow("111111111111", "us-east-1", "Op") == nil {
					n++
				}
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != 50 {
		t.Fatalf("%d admitted, want the burst of 50", total)
	}
}

// BenchmarkAllow is the per-request cost of the quota check on the admitted
// path (one busy key, and many keys across shards).
func BenchmarkAllow(b *testing.B) {
	b.Run("one-key", func(b *testing.B) {
		l := quota.New(quota.Config{Override: map[string]quota.Rate{"PutLogEvents": {PerSecond: 1e12, Burst: 1 << 30}}})
		b.ReportAllocs()
		for b.Loop() {
			if err := l.Allow("123456789012", "us-east-1", "PutLogEvents"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel-keys", func(b *testing.B) {
		l := quota.New(quota.Config{Override: map[string]quota.Rate{"PutLogEvents": {PerSecond: 1e12, Burst: 1 << 30}}})
		accounts := make([]string, 64)
		for i := range accounts {
			accounts[i] = fmt.Sprintf("%012d", i)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if err := l.Allow(accounts[i%len(accounts)], "us-east-1", "PutLogEvents"); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	})
}
