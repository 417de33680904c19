package embedded

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnlog/cairn/internal/store"
)

// feedTail keeps the events of the most recent appends as they were
// appended, so that feed followers caught up with the head (subscription
// delivery, metric filters: each reads every block soon after it is
// written) take them from memory instead of fetching and decompressing the
// block the append just wrote. A follower that fell behind finds its blocks
// evicted and reads them from the store as before: the tail only ever
// saves work, it never decides what ReadFeed returns. ReadFeed still walks
// the feed's keys up to the high-water mark; a tail hit replaces only the
// block's decoding, and a block's (group id, seq) names one payload for its
// whole life, so a hit is always what the store holds.
//
// Entries are read-only and shared (with Subscribe's listeners too), bounded
// in bytes, oldest out first. Retention forgets what it deletes.
type feedTail struct {
	// lastRead is when ReadFeed last ran (Unix ns): the tail fills only
	// while someone follows the feed, so a server without subscriptions or
	// metric filters holds none of it (it cost ~120 MiB of RSS under
	// ingest, the tail's bytes and their garbage).
	lastRead atomic.Int64
	held     atomic.Bool // something may be in the tail
	mu       sync.Mutex
	max      int
	bytes    int
	byKey    map[tailKey]tailEntry
	order    []tailKey // oldest first from head
	head     int
}

type tailKey struct{ gid, seq uint64 }

type tailEntry struct {
	events []store.StoredEvent
	size   int
}

// DefaultFeedTailBytes holds about a second of appends at 300,000 events/s
// of ~110-byte lines: followers within a second of the head never decode.
const DefaultFeedTailBytes = 64 << 20

// tailIdle is how long after the last ReadFeed the tail keeps filling:
// followers poll at least every few seconds while they have work or wait
// on Subscribe's wakeups, which lead them to ReadFeed at once.
const tailIdle = 30 * time.Second

// touch records that a follower read the feed.
func (t *feedTail) touch() {
	if t != nil {
		t.lastRead.Store(time.Now().UnixNano())
	}
}

// active reports whether appends should fill the tail; once no follower
// has read for tailIdle it empties the tail, giving its memory back.
func (t *feedTail) active() bool {
	if t == nil {
		return false
	}
	if time.Now().UnixNano()-t.lastRead.Load() < int64(tailIdle) {
		return true
	}
	if t.held.Load() {
		t.mu.Lock()
		t.byKey, t.order, t.head, t.bytes = make(map[tailKey]tailEntry), nil, 0, 0
		t.held.Store(false)
		t.mu.Unlock()
	}
	return false
}

func newFeedTail(max int) *feedTail {
	return &feedTail{max: max, byKey: make(map[tailKey]tailEntry)}
}

// tailSize counts an event's message and what the entry holds beside it.
func tailSize(events []store.StoredEvent) int {
	n := 0
	for i := range events {
		n += len(events[i].Message) + 96
	}
	return n
}

// put keeps events (one append's, in block order) as block seq of group gid.
func (t *feedTail) put(gid, seq uint64, events []store.StoredEvent) {
	if t == nil {
		return
	}
	size := tailSize(events)
	if size > t.max/4 {
		return
	}
	k := tailKey{gid, seq}
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.bytes+size > t.max && t.head < len(t.order) {
		old := t.order[t.head]
		t.head++
		if e, ok := t.byKey[old]; ok {
			t.bytes -= e.size
			delete(t.byKey, old)
		}
	}
	if t.head > len(t.order)/2 {
		t.order = append(t.order[:0], t.order[t.head:]...)
		t.head = 0
	}
	t.held.Store(true)
	t.byKey[k] = tailEntry{events: events, size: size}
	t.order = append(t.order, k)
	t.bytes += size
}

// get returns block seq's events, or nil when they are not kept.
func (t *feedTail) get(gid, seq uint64) []store.StoredEvent {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	e := t.byKey[tailKey{gid, seq}]
	t.mu.Unlock()
	return e.events
}

// forget drops block seq (retention deleted it).
func (t *feedTail) forget(gid, seq uint64) {
	if t == nil {
		return
	}
	t.mu.Lock()
	if e, ok := t.byKey[tailKey{gid, seq}]; ok {
		t.bytes -= e.size
		delete(t.byKey, tailKey{gid, seq})
	}
	t.mu.Unlock()
}
