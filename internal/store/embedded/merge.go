package embedded

import (
	"container/heap"
	"context"
	"sort"

	"github.com/cairnlog/cairn/internal/store"
)

// cursor walks the selected events of one open block. sel holds the indexes
// of the events in range (and, with a filter, matching), ascending; k is the
// current entry, cur its position.
type cursor struct {
	sum    summary
	stream string
	blk    *DecodedBlock
	buf    []byte // pooled decompression buffer behind blk.data
	sel    []uint32
	k      int
	cur    store.Position
}

func (c *cursor) i() int { return int(c.sel[c.k]) }

func (c *cursor) setPos() {
	c.cur = c.blk.pos(int(c.sel[c.k]), c.sum.seq)
}

type cursorHeap struct {
	cs       []*cursor
	backward bool
}

func (h *cursorHeap) Len() int { return len(h.cs) }
func (h *cursorHeap) Less(i, j int) bool {
	if h.backward {
		return h.cs[j].cur.Less(h.cs[i].cur)
	}
	return h.cs[i].cur.Less(h.cs[j].cur)
}
func (h *cursorHeap) Swap(i, j int) { h.cs[i], h.cs[j] = h.cs[j], h.cs[i] }
func (h *cursorHeap) Push(x any)    { h.cs = append(h.cs, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	c := h.cs[len(h.cs)-1]
	h.cs = h.cs[:len(h.cs)-1]
	return c
}

// advance moves c to its next event in read order; false when exhausted.
func (r *readState) advance(c *cursor) bool {
	if r.backward {
		c.k--
	} else {
		c.k++
	}
	if c.k < 0 || c.k >= len(c.sel) {
		return false
	}
	c.setPos()
	return true
}

// openEligible opens every block that may hold the next event in order.
func (r *readState) openEligible(ctx context.Context) error {
	for {
		next, err := r.peek(ctx)
		if err != nil || next == nil {
			return err
		}
		if r.q.ScanBudget > 0 && r.page.ScannedBytes >= r.q.ScanBudget {
			if !r.overBudget {
				r.budgetHit = true
				return nil
			}
			r.overBudget = false // this block, then ask again
		}
		if r.h.Len() > 0 {
			top := r.h.cs[0].cur.Time
			if !r.backward && next.minTs > top {
				return nil
			}
			if r.backward && next.minTs+r.maxSpan < top {
				return nil
			}
		}
		it, err := r.take(ctx)
		if err != nil {
			return err
		}
		r.page.ScannedBytes += it.scannedBytes
		r.page.ScannedEvents += it.scannedEvents
		r.page.SkippedBlocks += it.skipped
		r.page.SkippedEvents += it.skippedEvents
		r.page.SkippedBytes += it.skippedBytes
		if it.c != nil {
			heap.Push(&r.h, it.c)
		}
	}
}

// load decompresses a block and positions a cursor on its first event in
// range; nil when it has none.
func (r *readState) load(s summary, stream string, it *item) {
	if h := r.e.beforeDecode; h != nil {
		h()
	}
	it.c, it.err = r.loadCursor(s, stream, it)
}

func (r *readState) loadCursor(s summary, stream string, it *item) (*cursor, error) {
	if r.beforeResume(s) {
		return nil, nil
	}
	var c *cursor
	var tpl *literal
	if r.lit != nil {
		tpl = r.lit.tpl
	}
	if blk, buf := r.e.resume.get(resumeKey{r.g.id, s.minTs, s.seq}); blk != nil && blk.coversTimes(r.start, r.end, tpl) {
		c = &cursor{blk: blk, buf: buf} // the cache's buffer is the cursor's now
	} else {
		if buf != nil {
			r.e.putBuf(buf) // taken from the cache, of no use here: no one else holds it
		}
		blk, raw, ok, err := r.e.openBlockOf(r.g.id, s.minTs, s.seq, decodeWant{start: r.start, end: r.end, tpl: tpl})
		if !ok || err != nil {
			return nil, err // !ok: reclaimed between summary and payload
		}
		c = &cursor{blk: blk, buf: raw}
	}
	blk := c.blk
	s.filter = nil
	c.sum, c.stream = s, stream
	// The events in range form one run [lo, hi).
	n := len(blk.ts)
	lo := sort.Search(n, func(i int) bool { return blk.ts[i] >= r.start })
	hi := sort.Search(n, func(i int) bool { return blk.ts[i] >= r.end })
	if a := r.q.After; a != nil {
		if r.backward {
			for hi > lo && !blk.pos(hi-1, s.seq).Less(*a) {
				hi--
			}
		} else {
			for lo < hi && !a.Less(blk.pos(lo, s.seq)) {
				lo++
			}
		}
	}
	if lo >= hi {
		r.release(c)
		return nil, nil
	}
	f := r.q.Filter
	if f == nil {
		c.sel = make([]uint32, 0, hi-lo)
		for i := lo; i < hi; i++ {
			c.sel = append(c.sel, uint32(i))
		}
	} else {
		eachMatch(blk, lo, hi, f, r.lit, func(i int) { c.sel = append(c.sel, uint32(i)) })
	}
	it.scannedEvents += int64(hi - lo)
	it.scannedBytes += blk.rawBytes(lo, hi)
	if len(c.sel) == 0 {
		r.release(c)
		return nil, nil
	}
	r.compact(c)
	if r.backward {
		c.k = len(c.sel) - 1
	}
	c.setPos()
	return c, nil
}

// beforeResume reports whether every event of s's block lies at or before
// the resume point (in read order), so opening it would find nothing: a
// block the last page finished whose edge shares the resume millisecond.
func (r *readState) beforeResume(s summary) bool {
	a := r.q.After
	if a == nil || s.flags&flagMerged != 0 {
		return false // a merged block's events keep their own seqs: open it
	}
	if r.backward { // the block's first event is (minTs, seq, 0)
		return s.minTs > a.Time || s.minTs == a.Time && (s.seq > a.Seq || s.seq == a.Seq && a.Index == 0)
	}
	last := store.Position{Time: s.maxTs, Seq: s.seq, Index: uint32(max(s.count-1, 0))}
	return !a.Less(last)
}

// park hands a block the page stopped inside to the resume cache, where the
// next page (which starts inside it) finds it; at the end of the range it
// only releases it.
func (r *readState) park(c *cursor) {
	if r.page.Next == nil {
		r.release(c)
		return
	}
	r.compact(c)
	r.e.resume.put(resumeKey{r.g.id, c.sum.minTs, c.sum.seq}, c.blk, c.buf)
	c.buf = nil // the cache owns blk.data and its buffer now
}

// compact gives c's buffer back when its messages use little of it: a
// merged block's buffer holds its decompressed columns after the messages,
// and a block rendered in part (decodeWant) uses less still, while a
// cursor lives as long as the page (a search's heap holds one per stream,
// a prefetcher a few more per core). The messages are copied out.
func (r *readState) compact(c *cursor) {
	if c.buf != nil && cap(c.buf) > 2*len(c.blk.data)+64<<10 {
		c.blk.data = append([]byte(nil), c.blk.data...)
		r.e.putBuf(c.buf)
		c.buf = nil
	}
}

func (r *readState) release(c *cursor) {
	if c.buf != nil {
		r.e.putBuf(c.buf)
		c.buf = nil
	}
}
