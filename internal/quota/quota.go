// Package quota holds AWS's per-account CloudWatch Logs quotas, so that one
// account cannot take every request slot a shared server has.
//
// Two kinds of quota:
//
//   - Limiter: a token bucket per (account, region, operation), filled at the
//     operation's TPS quota (aws.go holds AWS's figures and their sources).
//     The protocol layer calls Allow for every authenticated API call, before
//     the body is decompressed or the operation runs; a refusal is
//     ThrottlingException "Rate exceeded", which every AWS SDK retries with
//     backoff. The set of buckets is capped (least recently used ones are
//     dropped), because the region of a key comes from the caller's signature.
//   - Slots: a count of things an account holds at once (concurrent Insights
//     queries, Live Tail sessions); Acquire past the limit is
//     LimitExceededException "Resource limit exceeded.".
//
// Quotas are off unless the server is started with them (cairn server
// --quotas aws); docs/quotas.md describes the options.
package quota

import (
	"hash/maphash"
	"math"
	"sync"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
)

// Rate is one operation's quota: PerSecond tokens are added each second, up
// to Burst.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Config configures a Limiter.
type Config struct {
	// Scale multiplies AWS's rates (0 means 1): 2 doubles every quota, 0.1
	// gives a tenth. Overrides are not scaled.
	Scale float64
	// Override replaces AWS's rate for the named operations (operators who
	// want other figures; tests that want small ones).
	Override map[string]Rate
	// MaxBuckets caps how many buckets are kept (0 means DefaultMaxBuckets).
	MaxBuckets int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultMaxBuckets bounds the limiter's memory: a bucket costs about 200
// bytes, so the cap is a few MB however many regions callers sign for. It is
// far above what real use needs (accounts × regions × ~25 operations).
const DefaultMaxBuckets = 1 << 15

// maxKeyPart bounds the account and region of a key. SigV4 already bounds a
// region to 64 bytes; longer parts (possible with authentication off, where
// nothing is verified) share one bucket per operation instead of growing the
// map with attacker-chosen strings.
const maxKeyPart = 64

const shardCount = 16

// Limiter enforces TPS quotas. It is safe for concurrent use.
type Limiter struct {
	now      func() time.Time
	scale    float64
	override map[string]Rate // read-only after New
	perShard int
	seed     maphash.Seed
	shards   [shardCount]shard
}

type key struct{ account, region, op string }

// bucket is one key's token bucket, and a link in its shard's LRU list.
type bucket struct {
	key        key
	rate       float64 // tokens per second
	burst      float64
	tokens     float64
	last       time.Time // when tokens was computed
	prev, next *bucket
}

// shard holds a slice of the buckets under one lock, so that concurrent
// requests of different accounts rarely wait for each other.
type shard struct {
	mu sync.Mutex
	// buckets, head (most recently used) and tail (least) are guarded by mu.
	buckets    map[key]*bucket
	head, tail *bucket
	_          [64]byte // keep shards on separate cache lines
}

// New returns a Limiter.
func New(cfg Config) *Limiter {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Scale <= 0 {
		cfg.Scale = 1
	}
	if cfg.MaxBuckets <= 0 {
		cfg.MaxBuckets = DefaultMaxBuckets
	}
	l := &Limiter{now: cfg.Now, scale: cfg.Scale, override: map[string]Rate{}, seed: maphash.MakeSeed(),
		perShard: max(1, cfg.MaxBuckets/shardCount)}
	for op, r := range cfg.Override {
		l.override[op] = r
	}
	for i := range l.shards {
		l.shards[i].buckets = make(map[key]*bucket)
	}
	return l
}

// RateOf is the quota the limiter applies to op.
func (l *Limiter) RateOf(op string) Rate {
	if r, ok := l.override[op]; ok {
		if r.Burst < 1 {
			r.Burst = 1
		}
		return r
	}
	return scaled(awsTPS(op), l.scale)
}

// scaled derives a bucket from a TPS quota. AWS does not document the burst
// of CloudWatch Logs' buckets; Cairn allows one second's worth of calls at
// once (at least one), which lets a client that respects the quota on
// average send its calls in bursts.
func scaled(tps, scale float64) Rate {
	r := tps * scale
	return Rate{PerSecond: r, Burst: max(1, int(math.Ceil(r)))}
}

// Allow takes one token from the bucket of (account, region, op), or answers
// ThrottlingException "Rate exceeded" when it is empty. op must be an
// operation the server serves (the caller checks), so that the set of
// operations in keys stays bounded.
func (l *Limiter) Allow(account, region, op string) error {
	if len(account) > maxKeyPart || len(region) > maxKeyPart {
		account, region = "", "\x00overflow"
	}
	k := key{account, region, op}
	s := &l.shards[maphash.Comparable(l.seed, k)%shardCount]
	now := l.now()
	s.mu.Lock()
	b := s.buckets[k]
	if b == nil {
		b = s.add(k, l.RateOf(op), now, l.perShard)
	} else {
		s.touch(b)
	}
	ok := b.take(now)
	s.mu.Unlock()
	if !ok {
		return awserr.RateExceeded()
	}
	return nil
}

// take refills the bucket for the time since its last use and takes one
// token if there is one.
func (b *bucket) take(now time.Time) bool {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(b.burst, b.tokens+d.Seconds()*b.rate)
		b.last = now
	}
	// A clock that steps back refills nothing and does not move last back,
	// so it cannot mint tokens when it steps forward again.
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// add creates a full bucket for k, first dropping the least recently used
// bucket when the shard is at its cap. Dropping a bucket forgets at most one
// burst of debt: the least recently used key is the one whose caller has
// waited longest, and usually already refilled.
func (s *shard) add(k key, r Rate, now time.Time, limit int) *bucket {
	if len(s.buckets) >= limit && s.tail != nil {
		old := s.tail
		s.unlink(old)
		delete(s.buckets, old.key)
	}
	b := &bucket{key: k, rate: r.PerSecond, burst: float64(r.Burst), tokens: float64(r.Burst), last: now}
	s.buckets[k] = b
	s.pushFront(b)
	return b
}

func (s *shard) touch(b *bucket) {
	if s.head == b {
		return
	}
	s.unlink(b)
	s.pushFront(b)
}

func (s *shard) pushFront(b *bucket) {
	b.prev, b.next = nil, s.head
	if s.head != nil {
		s.head.prev = b
	}
	s.head = b
	if s.tail == nil {
		s.tail = b
	}
}

func (s *shard) unlink(b *bucket) {
	if b.prev != nil {
		b.prev.next = b.next
	} else {
		s.head = b.next
	}
	if b.next != nil {
		b.next.prev = b.prev
	} else {
		s.tail = b.prev
	}
	b.prev, b.next = nil, nil
}

// Len is how many buckets the limiter holds (tests check the cap).
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.buckets)
		s.mu.Unlock()
	}
	return n
}
