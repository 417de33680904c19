// Package readahead prepares the next page of a paged read while the client
// is still reading the current one.
//
// A client that pages through FilterLogEvents asks for page N+1 only after
// it has decoded page N; aws-sdk-go-v2 spends several times the server's
// work decoding a page, on one core. A Cache lets the server use the other
// core meanwhile: after answering page N, the service Offers the read of page
// N+1 under a key that names everything the answer depends on (the caller's
// account and region, every input member, the page token). A worker runs it.
// When the request for page N+1 arrives, already authorized, the service
// Takes the prepared answer instead of reading, but only if the answer is
// still the one a fresh read would give: the value carries the engine's read
// stamp taken before the read (store.ReadVersioner), and Take serves it only
// when the caller's check of that stamp passes now. Anything else (no entry,
// an error, a changed stamp, an entry not started yet) is a miss, and the
// service reads as it would without a Cache.
//
// Memory is bounded: at most Max entries (queued, running or ready), each
// taken at most once, a ready one dropped after TTL; an Offer beyond that is
// refused, not queued. The workers are the Cache's own and stop in Close.
package readahead

import (
	"context"
	"sync"
	"time"
)

// Config sizes a Cache.
type Config struct {
	// Max bounds the entries held at once (queued, running, ready). 0: 4.
	Max int
	// TTL is how long a ready entry waits to be taken. 0: 2 s.
	TTL time.Duration
	// Workers run the prepared reads. 0: 1 (the core the client leaves).
	Workers int
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Cache holds prepared answers of type V by key.
type Cache[V any] struct {
	cfg    Config
	jobs   chan *entry[V]
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	entries map[string]*entry[V]
	closed  bool
	stats   Stats
}

// Stats counts what a Cache did (for tests and metrics).
type Stats struct {
	Offered, Refused, Ran, Hits, Misses, Stale, Expired int64
}

type state int

const (
	queued state = iota
	running
	ready
	dropped // taken before it ran, expired or evicted: the worker skips it
)

type entry[V any] struct {
	key   string
	run   func(context.Context) (V, error)
	check func() bool // whether the answer is still the one a read would give
	state state
	done  chan struct{} // closed when state leaves running (ready or dropped)
	val   V
	err   error
	at    time.Time // when it became ready
}

// New starts a Cache's workers.
func New[V any](cfg Config) *Cache[V] {
	if cfg.Max <= 0 {
		cfg.Max = 4
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 2 * time.Second
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Cache[V]{cfg: cfg, jobs: make(chan *entry[V], cfg.Max), entries: map[string]*entry[V]{}}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	for range cfg.Workers {
		c.wg.Add(1)
		go c.work()
	}
	c.wg.Add(1)
	go c.sweeper()
	return c
}

// Offer asks a worker to run run and keep its answer under key. check is
// called by Take, with the answer ready, to decide whether it may be served:
// it must say no whenever a fresh run could answer differently (the caller
// compares a read stamp taken before Offer with the current one). Offer never
// blocks: when the Cache is full, closed, or already holds key, it does
// nothing and says so.
func (c *Cache[V]) Offer(key string, run func(context.Context) (V, error), check func() bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Offered++
	if c.closed || c.entries[key] != nil {
		c.stats.Refused++
		return false
	}
	if len(c.entries) >= c.cfg.Max && !c.evictLocked() {
		c.stats.Refused++
		return false
	}
	e := &entry[V]{key: key, run: run, check: check, done: make(chan struct{})}
	select {
	case c.jobs <- e:
	default: // cannot happen while entries ≤ Max, but never block
		c.stats.Refused++
		return false
	}
	c.entries[key] = e
	return true
}

// evictLocked drops the oldest ready entry to make room; false when every
// entry is queued or running.
func (c *Cache[V]) evictLocked() bool {
	var old *entry[V]
	for _, e := range c.entries {
		if e.state == ready && (old == nil || e.at.Before(old.at)) {
			old = e
		}
	}
	if old == nil {
		return false
	}
	delete(c.entries, old.key)
	old.val = *new(V)
	c.stats.Expired++
	return true
}

// Take returns the answer prepared under key when there is one that check
// still accepts, waiting for it if a worker is running it. It removes the
// entry either way: an answer is served at most once.
func (c *Cache[V]) Take(ctx context.Context, key string) (V, bool) {
	var zero V
	c.mu.Lock()
	e := c.entries[key]
	if e == nil {
		c.stats.Misses++
		c.mu.Unlock()
		return zero, false
	}
	delete(c.entries, key)
	if e.state == queued { // not started: the caller's own read is as quick
		e.state = dropped
		c.stats.Misses++
		c.mu.Unlock()
		return zero, false
	}
	c.mu.Unlock()
	select {
	case <-e.done:
	case <-ctx.Done():
		return zero, false
	}
	// The entry is out of the map and done: no one else touches it. The
	// check (the engine's stamp) runs without the Cache's lock.
	ok := e.state == ready && e.err == nil
	fresh := ok && e.check()
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case !ok:
		c.stats.Misses++
		return zero, false
	case !fresh:
		c.stats.Stale++
		return zero, false
	}
	c.stats.Hits++
	return e.val, true
}

// Stats returns the counters so far.
func (c *Cache[V]) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Len is the number of entries held (queued, running or ready).
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Idle says no entry is queued or running (tests wait for it).
func (c *Cache[V]) Idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		if e.state == queued || e.state == running {
			return false
		}
	}
	return true
}

func (c *Cache[V]) work() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case e := <-c.jobs:
			c.mu.Lock()
			if e.state != queued {
				c.mu.Unlock()
				continue
			}
			e.state = running
			c.stats.Ran++
			c.mu.Unlock()
			v, err := e.run(c.ctx)
			c.mu.Lock()
			e.val, e.err, e.at, e.state = v, err, c.cfg.Now(), ready
			close(e.done)
			c.mu.Unlock()
		}
	}
}

// sweeper drops ready entries nobody took within TTL.
func (c *Cache[V]) sweeper() {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.TTL / 2)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			c.expire()
		}
	}
}

func (c *Cache[V]) expire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.cfg.Now()
	for k, e := range c.entries {
		if e.state == ready && now.Sub(e.at) >= c.cfg.TTL {
			delete(c.entries, k)
			e.val = *new(V)
			c.stats.Expired++
		}
	}
}

// Close stops the workers (a running read sees its context cancelled) and
// drops every entry. Offer refuses afterwards; Take misses.
func (c *Cache[V]) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.entries {
		delete(c.entries, k)
		if e.state == queued || e.state == running {
			e.state = dropped
			close(e.done)
		}
		e.val = *new(V)
	}
	return nil
}
