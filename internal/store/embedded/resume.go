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
	free  func([]byte) // where an entry's buffer goes when the entry is dropped (Engine.putBuf)
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
	// buf is the pooled decode buffer blk's data lies in (nil: none): the
	// entry owns it, and hands it to the reader that takes the block, which
	// gives it back to the pool once done, or to free when the entry is
	// dropped. A page left every parked block's buffer to the collector
	// before: ~100 buffers of 256 KB each 100,000-event time range of 8
	// streams (getBuf's allocations, docs/benchmarks.md session 15).
	buf []byte
}

// resumeCacheBytes holds the heaps of a few paging readers over many
// interleaved streams (a 1,000-event block of ~100-byte lines is ~100 KB).
const resumeCacheBytes = 16 << 20

func newResumeCache(max int, free func([]byte)) *resumeCache {
	return &resumeCache{free: free, max: max, order: list.New(), byKey: make(map[resumeKey]*list.Element)}
}

func blockSize(b *DecodedBlock) int { return cap(b.data) + 12*len(b.ts) }

// put caches blk, whose data lies in buf (nil: a buffer of its own): the
// cache owns both now, and frees buf when it does not keep the block.
func (c *resumeCache) put(k resumeKey, blk *DecodedBlock, buf []byte) {
	size := blockSize(blk)
	if size > c.max/4 {
		c.release(buf)
		return
	}
	var dropped [][]byte
	c.mu.Lock()
	if _, ok := c.byKey[k]; ok {
		c.mu.Unlock()
		c.release(buf)
		return
	}
	c.byKey[k] = c.order.PushBack(&resumeEntry{k, blk, buf})
	c.bytes += size
	for c.bytes > c.max {
		e := c.order.Front()
		old := e.Value.(*resumeEntry)
		c.order.Remove(e)
		delete(c.byKey, old.key)
		c.bytes -= blockSize(old.blk)
		if old.buf != nil {
			dropped = append(dropped, old.buf)
		}
	}
	c.mu.Unlock()
	for _, b := range dropped {
		c.release(b)
	}
}

func (c *resumeCache) release(buf []byte) {
	if buf != nil && c.free != nil {
		c.free(buf)
	}
}

// get returns the cached block for k, and the buffer its data lies in
// (nil: none), and drops it from the cache: the reader that resumes inside
// it holds both now, and puts the block back if it stops inside it again,
// or gives the buffer back to the pool once done.
func (c *resumeCache) get(k resumeKey) (*DecodedBlock, []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[k]
	if !ok {
		return nil, nil
	}
	old := e.Value.(*resumeEntry)
	c.order.Remove(e)
	delete(c.byKey, k)
	c.bytes -= blockSize(old.blk)
	return old.blk, old.buf
}
