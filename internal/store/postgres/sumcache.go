package postgres

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The summary cache: each node keeps the block summaries (time range,
// stream, counts, flags, gram filter) of the groups it searches, so that a
// filtered read tests the gram filter here instead of asking PostgreSQL to
// plan, scan, sort and send one row per block in range. A rare term then
// costs the group's row and one query for the few candidate blocks'
// payloads.
//
// Why it stays correct across nodes without any signal:
//   - A block's summary never changes once its row is written (moving the
//     payload to the object store changes where the payload is, which load
//     reads from the row, never the summary).
//   - Sequences follow commit order within a group (append.go): a reader
//     that sees the group's last_seq = L sees every block of the group with
//     seq ≤ L. Every read already reads the group's row (selectIn); when L
//     is past what the cache holds (hw), the blocks with seq > hw are
//     fetched before the read goes on. So a block committed before a read
//     began, on any node, is in the summaries it walks.
//   - A block deleted (a stream or group deleted, retention, a partition
//     dropped or detached) stays in the cache until the next refill, but a
//     read only ever opens a block by fetching its row again (load), and a
//     row that is gone reads as an empty block, as on the SQL path when a
//     block goes between its summary and its payload. Deleted entries are
//     never removed on such a miss: a partition that retention detaches and
//     re-attaches (partitions.go) is missing only for a while.
//   - Deleted entries cost memory and a wasted fetch until the group is
//     filled again from scratch (sumRefresh), or at once on the node that
//     deleted them.
//
// The cache is bounded (Config.SummaryCacheBytes): whole groups are evicted
// least recently used first, and a group larger than half the bound is not
// cached (its reads take the SQL path).

// DefaultSummaryCacheBytes bounds the summary cache unless
// Config.SummaryCacheBytes says otherwise: ~40,000 blocks of the bench's
// shape (1.5 KB of gram filter each), 40 M events.
const DefaultSummaryCacheBytes = 64 << 20

// sumRefresh is how long a group's summaries are kept before the next read
// fills them again from scratch, dropping deleted blocks' entries.
const sumRefresh = 10 * time.Minute

// maxEmptyGroups is how many groups the cache may know before it forgets
// those it holds no summaries of.
const maxEmptyGroups = 4096

// sumOverhead is what an entry costs besides its gram filter.
const sumOverhead = 120

// cachedSum is one block's summary, immutable.
type cachedSum struct {
	seq          int64
	stream       string
	minTs, maxTs int64
	count        int
	ingestion    int64
	raw          int64
	flags        int16
	grams        []byte
}

// sumSnap is a group's summaries at one point: every block of the group
// with seq ≤ hw that existed when it was read, in both read orders.
// Immutable once published: readers walk it without a lock.
type sumSnap struct {
	hw     int64
	byMin  []*cachedSum // (minTs, seq) ascending: forward reads
	byMax  []*cachedSum // (maxTs, seq) ascending: backward reads walk it down
	bytes  int64
	filled time.Time // when it was last filled from scratch
}

type groupSums struct {
	mu      sync.Mutex // held while the group's summaries are fetched
	snap    atomic.Pointer[sumSnap]
	used    atomic.Uint64 // the cache's clock at its last read (LRU)
	tooBig  time.Time     // not cached until then
	streams map[string]string
}

// sumCache is the node's summary cache, by group id (unique for ever: a
// group created again gets a new one).
type sumCache struct {
	limit  int64
	now    func() time.Time
	clock  atomic.Uint64
	mu     sync.Mutex
	groups map[int64]*groupSums
	bytes  int64
}

func newSumCache(limit int64, now func() time.Time) *sumCache {
	return &sumCache{limit: limit, now: now, groups: map[int64]*groupSums{}}
}

// drop forgets a group (this node deleted some of its blocks).
func (c *sumCache) drop(gid int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if g := c.groups[gid]; g != nil {
		if s := g.snap.Load(); s != nil {
			c.bytes -= s.bytes
		}
		delete(c.groups, gid)
	}
}

// get returns sel's group's summaries with every block up to sel.lastSeq,
// fetching what is missing; nil when the group is not cached (too large).
func (c *sumCache) get(ctx context.Context, e *Engine, sel *selection) (*sumSnap, error) {
	c.mu.Lock()
	g := c.groups[sel.gid]
	if g == nil {
		g = &groupSums{streams: map[string]string{}}
		c.groups[sel.gid] = g
	}
	c.mu.Unlock()
	g.used.Store(c.clock.Add(1))
	now := c.now()
	fresh := func(s *sumSnap) bool { return s != nil && s.hw >= sel.lastSeq && now.Sub(s.filled) < sumRefresh }
	if s := g.snap.Load(); fresh(s) {
		return s, nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.snap.Load()
	if fresh(old) {
		return old, nil
	}
	if now.Before(g.tooBig) {
		return nil, nil
	}
	if old != nil && now.Sub(old.filled) >= sumRefresh {
		old = nil // fill again from scratch
	}
	var (
		hw    int64
		base  int64
		added []*cachedSum
		size  int64
	)
	if old != nil {
		hw, base = old.hw, old.bytes
	} else {
		g.streams = map[string]string{}
	}
	rows, err := e.pool.Query(ctx, `SELECT b.seq, s.name, b.min_ts, b.max_ts, b.count, b.ingestion, b.raw_bytes, b.flags, b.grams
		FROM cairn_blocks b JOIN cairn_streams s ON s.sid = b.sid WHERE b.gid = $1 AND b.seq > $2`, sel.gid, hw)
	if err != nil {
		return nil, wrap(err)
	}
	newHW := max(hw, sel.lastSeq)
	for rows.Next() {
		s := &cachedSum{}
		var name []byte
		if err := rows.Scan(&s.seq, &name, &s.minTs, &s.maxTs, &s.count, &s.ingestion, &s.raw, &s.flags, &s.grams); err != nil {
			rows.Close()
			return nil, wrap(err)
		}
		n, ok := g.streams[string(name)]
		if !ok {
			n = string(name)
			g.streams[n] = n
			size += int64(len(n))
		}
		s.stream = n
		newHW = max(newHW, s.seq)
		size += sumOverhead + int64(len(s.grams))
		added = append(added, s)
		if base+size > c.limit/2 {
			rows.Close()
			g.tooBig = now.Add(sumRefresh)
			c.put(sel.gid, g, nil)
			return nil, nil
		}
	}
	if err := rows.Err(); err != nil {
		return nil, wrap(err)
	}
	snap := &sumSnap{hw: newHW, bytes: base + size, filled: now}
	if old != nil {
		snap.filled = old.filled
	}
	byMin := func(a, b *cachedSum) int { return cmp.Or(cmp.Compare(a.minTs, b.minTs), cmp.Compare(a.seq, b.seq)) }
	byMax := func(a, b *cachedSum) int { return cmp.Or(cmp.Compare(a.maxTs, b.maxTs), cmp.Compare(a.seq, b.seq)) }
	snap.byMin, snap.byMax = mergeSums(old, added, byMin, true), mergeSums(old, added, byMax, false)
	c.put(sel.gid, g, snap)
	return snap, nil
}

// mergeSums is old's entries (in one order) and added's in that order, as a
// new slice: old's stays as it is for the readers walking it.
func mergeSums(old *sumSnap, added []*cachedSum, order func(a, b *cachedSum) int, min bool) []*cachedSum {
	var prev []*cachedSum
	if old != nil {
		prev = old.byMax
		if min {
			prev = old.byMin
		}
	}
	add := slices.Clone(added)
	slices.SortFunc(add, order)
	out := make([]*cachedSum, 0, len(prev)+len(add))
	i, j := 0, 0
	for i < len(prev) && j < len(add) {
		if order(prev[i], add[j]) <= 0 {
			out = append(out, prev[i])
			i++
		} else {
			out = append(out, add[j])
			j++
		}
	}
	out = append(out, prev[i:]...)
	return append(out, add[j:]...)
}

// put publishes g's new summaries (nil: none) and evicts least recently
// used groups while the cache is over its bound.
func (c *sumCache) put(gid int64, g *groupSums, snap *sumSnap) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.groups[gid] != g {
		return // dropped meanwhile: its entries may name deleted blocks
	}
	if old := g.snap.Load(); old != nil {
		c.bytes -= old.bytes
	}
	g.snap.Store(snap)
	if snap != nil {
		c.bytes += snap.bytes
	}
	if len(c.groups) > maxEmptyGroups {
		// Entries without summaries (groups refused as too large, or
		// being filled) are small but one per group ever read: forget
		// them now and then (a refused group is then tried again).
		for id, o := range c.groups {
			if o != g && o.snap.Load() == nil && o.mu.TryLock() {
				delete(c.groups, id)
				o.mu.Unlock()
			}
		}
	}
	for c.bytes > c.limit {
		var victim int64
		var oldest *groupSums
		for id, o := range c.groups {
			if o != g && o.snap.Load() != nil && (oldest == nil || o.used.Load() < oldest.used.Load()) {
				victim, oldest = id, o
			}
		}
		if oldest == nil {
			return
		}
		c.bytes -= oldest.snap.Load().bytes
		delete(c.groups, victim)
	}
}

// streamOK is the read's stream condition (streamCond in Go).
func (sel *selection) streamOK(name string) bool {
	if len(sel.names) > 0 {
		found := false
		for _, n := range sel.names {
			if string(n) == name {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return strings.HasPrefix(name, sel.prefix)
}

// fetchCached is fetch from the cached summaries: the next filteredPage
// entries in read order, those in the selection and admitted by the gram
// filter buffered as the SQL path would.
func (s *summaries) fetchCached() {
	sel, snap := s.sel, s.snap
	if s.backward {
		if s.at < 0 {
			// The last entry with maxTs < end + maxSpan (the SQL path's
			// bound: no block in range ends later).
			lim := addSat(sel.end, sel.maxSpan)
			s.at, _ = slices.BinarySearchFunc(snap.byMax, lim, func(c *cachedSum, t int64) int { return cmp.Compare(c.maxTs, t) })
			s.at--
		}
		for n := 0; n < filteredPage; n++ {
			if s.at < 0 || snap.byMax[s.at].maxTs < sel.start {
				s.done = true
				return
			}
			c := snap.byMax[s.at]
			s.at--
			if c.minTs < sel.end && sel.streamOK(c.stream) {
				s.admit(c)
			}
		}
		return
	}
	if s.at < 0 {
		// No block in range starts before start − maxSpan.
		from := addSat(sel.start, -sel.maxSpan)
		s.at, _ = slices.BinarySearchFunc(snap.byMin, from, func(c *cachedSum, t int64) int { return cmp.Compare(c.minTs, t) })
	}
	for n := 0; n < filteredPage; n++ {
		if s.at >= len(snap.byMin) || snap.byMin[s.at].minTs >= sel.end {
			s.done = true
			return
		}
		c := snap.byMin[s.at]
		s.at++
		if c.maxTs >= sel.start && sel.streamOK(c.stream) {
			s.admit(c)
		}
	}
}

// admit buffers c's block unless the gram filter rules it out.
func (s *summaries) admit(c *cachedSum) {
	if !s.grams.mayMatch(c.grams, c.flags) {
		s.skipped++
		return
	}
	s.buf = append(s.buf, &blockRow{seq: uint64(c.seq), stream: c.stream, minTs: c.minTs, maxTs: c.maxTs, count: c.count,
		ingestion: c.ingestion, raw: c.raw, flags: c.flags})
}
