package embedded

import (
	"container/list"
	"sync"
)

// resumeCache keeps the decoded blocks a Read left part-way through: the
// blocks still in its merge heap, and those its prefetcher decoded ahead,
// when the page filled. The next page (its nextToken) starts inside exactly
// those blocks, so it takes them from here instead of fetching and
// decompressing them again; with many interleaved streams that was most of a
// page's decoding. Entries are read-only once cached (messages are copied
// out), shared by concurrent readers, and bounded in bytes, oldest out
// first.
//
// A hit is only taken for a block whose summary the reader's iterator still
// sees, and a block's key (group id, min timestamp, seq) names one payload
// for its whole life, so a cached block never differs from the stored one.
// Anything that rewrites a payload under the same key must forget it here.
type resumeCache struct {
	mu    sync.Mutex
	max   int // bytes of decoded payload
	bytes int
	order *list.List // of *resumeEntry, oldest first
	byKey map[resumeKey]*list.Element
}

type resumeKey struct {
	gid   uint64
	minTs int64
	seq   uint64
}

type resumeEntry struct {
	key resumeKey
	blk *DecodedBlock
}

// resumeCacheBytes holds the heaps of a few paging readers over many
// interleaved streams (a 1,000-event block of ~100-byte lines is ~100 KB).
const resumeCacheBytes = 16 << 20

func newResumeCache(max int) *resumeCache {
	return &resumeCache{max: max, order: list.New(), byKey: make(map[resumeKey]*list.Element)}
}

func blockSize(b *DecodedBlock) int { return cap(b.data) + 12*len(b.ts) }

// put caches blk; the caller gives up its buffer (it is never pooled again).
func (c *resumeCache) put(k resumeKey, blk *DecodedBlock) {
	size := blockSize(blk)
	if size > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[k]; ok {
		return
	}
	c.byKey[k] = c.order.PushBack(&resumeEntry{k, blk})
	c.bytes += size
	for c.bytes > c.max {
		e := c.order.Front()
		old := e.Value.(*resumeEntry)
		c.order.Remove(e)
		delete(c.byKey, old.key)
		c.bytes -= blockSize(old.blk)
	}
}

// get returns the cached block for k and drops it from the cache: the
// reader that resumes inside it holds it now, and puts it back if it stops
// inside it again.
func (c *resumeCache) get(k resumeKey) *DecodedBlock {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[k]
	if !ok {
		return nil
	}
	old := e.Value.(*resumeEntry)
	c.order.Remove(e)
	delete(c.byKey, k)
	c.bytes -= blockSize(old.blk)
	return old.blk
}
