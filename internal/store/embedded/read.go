package embedded

import (
	"container/heap"
	"context"
	"errors"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairnlog/cairn/internal/store"
)

const eventOverhead = 26 // bytes AWS counts per event on top of its message

// Read implements store.Store.
//
// Forward, it walks summaries in ascending (minTs, seq) order starting at
// Start − maxSpan, and opens a block once its minTs is ≤ the timestamp of the
// smallest pending event: no unopened block can then hold an earlier event.
// Backward, it walks summaries descending and opens a block while its
// minTs + maxSpan ≥ the largest pending timestamp.
func (e *Engine) Read(ctx context.Context, q store.ReadRequest) (store.Page, error) {
	if err := e.enter(); err != nil {
		return store.Page{}, err
	}
	defer e.exit()
	g, err := e.lookup(q.Group, q.Name)
	if err != nil {
		return store.Page{}, err
	}
	if q.Limit <= 0 {
		return store.Page{}, errors.New("BUG: read with no limit")
	}
	r := &readState{e: e, g: g, q: q, backward: q.Backward}

	g.mu.RLock()
	if g.deleted {
		g.mu.RUnlock()
		return store.Page{}, store.ErrGroupNotFound
	}
	retention := g.info.RetentionDays
	var single *stream
	if len(q.Streams) > 0 {
		r.allowed = make(map[uint64]string, len(q.Streams))
		for _, n := range q.Streams {
			if s := g.streams[n]; s != nil {
				r.allowed[s.id] = n
				single = s
			}
		}
		if len(r.allowed) != 1 {
			single = nil
		}
	}
	g.mu.RUnlock()

	r.start, r.end = q.Start, q.End
	if r.end <= 0 {
		r.end = math.MaxInt64
	}
	if retention > 0 {
		r.start = max(r.start, e.cfg.Now().UnixMilli()-int64(retention)*86_400_000)
	}
	if q.After != nil {
		if q.Backward {
			if q.After.Time < math.MaxInt64 { // a cursor at the end of time bounds nothing
				r.end = min(r.end, q.After.Time+1)
			}
		} else {
			r.start = max(r.start, q.After.Time)
		}
	}
	if len(q.Streams) > 0 && len(r.allowed) == 0 || r.start >= r.end {
		return store.Page{}, nil
	}
	if q.Filter != nil {
		r.need = newGramQuery(q.Filter.Required())
		r.needUnlessEscaped = newGramQuery(q.Filter.RequiredUnlessEscaped())
	}

	var prefix []byte
	if single != nil {
		prefix = u64key(tagIndex, g.id, single.id)
		r.decode = func(k, v []byte) (summary, error) { return decodeIndex(k, v, single.id) }
	} else {
		prefix = u64key(tagSummary, g.id)
		r.decode = decodeSummary
	}
	it, err := e.db.NewIterWithContext(ctx, &pebble.IterOptions{
		LowerBound: u64keyAppend(prefix, uint64(clampTime(r.start-maxBlockSpan))),
		UpperBound: r.upperBound(prefix),
	})
	if err != nil {
		return store.Page{}, err
	}
	defer it.Close()
	// Read the span after the iterator exists: Append raises it before it
	// commits, so every block this iterator can see is covered.
	r.maxSpan = min(g.maxSpan.Load(), maxBlockSpan)
	lower := u64keyAppend(prefix, uint64(clampTime(r.start-r.maxSpan)))
	if r.backward {
		r.valid = it.Last()
		if r.valid && strings.Compare(string(it.Key()), string(lower)) < 0 {
			r.valid = false
		}
	} else {
		r.valid = it.SeekGE(lower)
	}
	r.it = it
	r.lower = lower
	page, err := r.run(ctx)
	r.stopPrefetch()
	for _, c := range r.h.cs {
		r.release(c)
	}
	return page, err
}

func u64keyAppend(prefix []byte, v uint64) []byte {
	return beAppend(append([]byte(nil), prefix...), v)
}

func (r *readState) upperBound(prefix []byte) []byte {
	if r.end == math.MaxInt64 {
		return prefixEnd(prefix)
	}
	return u64keyAppend(prefix, uint64(clampTime(r.end)))
}

type readState struct {
	e        *Engine
	g        *group
	q        store.ReadRequest
	backward bool
	allowed  map[uint64]string // nil: every stream (subject to prefix)
	start    int64             // inclusive
	end      int64             // exclusive
	maxSpan  int64

	need, needUnlessEscaped gramQuery

	it     *pebble.Iterator
	lower  []byte
	valid  bool
	decode func(k, v []byte) (summary, error)

	h         cursorHeap
	page      store.Page
	budgetHit bool
	noBudget  bool // set when stopping early would not make progress

	head  *item       // peeked, not yet taken
	loads int         // blocks opened without the prefetcher
	pf    *prefetcher // nil until sequentialLoads blocks were opened
}

// cursor walks the selected events of one open block. sel holds the indexes
// of the events in range (and, with a filter, matching), ascending; k is the
// current entry, cur its position.
type cursor struct {
	sum    summary
	stream string
	blk    *decodedBlock
	buf    []byte // pooled decompression buffer behind blk.data
	sel    []uint32
	k      int
	cur    store.Position
}

func (c *cursor) i() int { return int(c.sel[c.k]) }

func (c *cursor) setPos() {
	i := c.sel[c.k]
	c.cur = store.Position{Time: c.blk.ts[i], Seq: c.sum.seq, Index: i}
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

func (r *readState) run(ctx context.Context) (store.Page, error) {
	r.h.backward = r.backward
	q := r.q
	maxBytes := q.MaxBytes
	if maxBytes <= 0 {
		maxBytes = math.MaxInt
	}
	var (
		bytes    int
		last     store.Position
		haveLast bool
	)
	for {
		if err := r.openEligible(ctx); err != nil {
			return store.Page{}, err
		}
		if r.budgetHit {
			// Stop early only when the resume point is past where this page
			// began; otherwise a client could be handed the same cursor
			// forever (many blocks at one timestamp, a tiny budget).
			if f := r.frontier(); r.progressed(*f) {
				r.page.Next = f
				return r.page, nil
			}
			r.budgetHit, r.noBudget = false, true
			continue
		}
		if r.h.Len() == 0 {
			return r.page, nil // the range is exhausted
		}
		c := r.h.cs[0]
		p := c.cur
		if (!r.backward && p.Time >= r.end) || (r.backward && p.Time < r.start) {
			return r.page, nil
		}
		msg := c.blk.message(c.i())
		size := len(msg) + eventOverhead
		if len(r.page.Events) >= q.Limit || (len(r.page.Events) > 0 && bytes+size > maxBytes) {
			r.page.Next = r.cursorBefore(last, haveLast, q)
			return r.page, nil
		}
		bytes += size
		r.page.Events = append(r.page.Events, store.StoredEvent{
			Stream:        c.stream,
			Timestamp:     p.Time,
			IngestionTime: c.sum.ingestion,
			Message:       string(msg),
			Pos:           p,
		})
		last, haveLast = p, true
		if r.advance(c) {
			heap.Fix(&r.h, 0)
		} else {
			heap.Pop(&r.h)
			r.release(c)
		}
	}
}

// cursorBefore is the resume point when the page is full before the event
// just examined: the last event returned, or where the query itself started.
func (r *readState) cursorBefore(last store.Position, haveLast bool, q store.ReadRequest) *store.Position {
	if haveLast {
		return &last
	}
	if q.After != nil {
		a := *q.After
		return &a
	}
	// The very first event did not fit an empty page: impossible, because
	// one event always fits.
	panic("BUG: page full before any event")
}

// frontier is the resume point when the scan budget stops a read early:
// every event before it (in read order) has been considered. Pending events
// in the heap, and events in blocks not yet opened, lie after it.
func (r *readState) frontier() *store.Position {
	nextMin := r.head.minTs // openEligible peeked it before checking the budget
	if !r.backward {
		// Resume strictly after p: the smaller of "just before the heap's
		// top" and "just before the next unopened block's first possible event".
		p := predecessor(store.Position{Time: nextMin})
		if r.h.Len() > 0 {
			if t := predecessor(r.h.cs[0].cur); t.Less(p) {
				p = t
			}
		}
		return &p
	}
	// Backward, resume strictly before p: the larger of "just after the
	// heap's top" and "just after the last possible event of an unopened block".
	p := store.Position{Time: nextMin + r.maxSpan + 1}
	if r.h.Len() > 0 {
		if t := successor(r.h.cs[0].cur); p.Less(t) {
			p = t
		}
	}
	return &p
}

// progressed reports whether resuming at f skips something this read has
// considered, compared with where the read started.
func (r *readState) progressed(f store.Position) bool {
	if r.backward {
		origin := store.Position{Time: r.end}
		if a := r.q.After; a != nil && a.Less(origin) {
			origin = *a
		}
		return f.Less(origin)
	}
	origin := predecessor(store.Position{Time: r.start})
	if a := r.q.After; a != nil && origin.Less(*a) {
		origin = *a
	}
	return origin.Less(f)
}

func predecessor(p store.Position) store.Position {
	switch {
	case p.Index > 0:
		p.Index--
	case p.Seq > 0:
		p.Seq, p.Index = p.Seq-1, math.MaxUint32
	default:
		p.Time, p.Seq, p.Index = p.Time-1, math.MaxUint64, math.MaxUint32
	}
	return p
}

func successor(p store.Position) store.Position {
	switch {
	case p.Index < math.MaxUint32:
		p.Index++
	case p.Seq < math.MaxUint64:
		p.Seq, p.Index = p.Seq+1, 0
	default:
		p.Time, p.Seq, p.Index = p.Time+1, 0, 0
	}
	return p
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
		if r.q.ScanBudget > 0 && !r.noBudget && r.page.ScannedBytes >= r.q.ScanBudget {
			r.budgetHit = true
			return nil
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
		if it.c != nil {
			heap.Push(&r.h, it.c)
		}
	}
}

// item is one block summary in iteration order and, once done, what opening
// its block gave.
type item struct {
	minTs int64
	done  chan struct{} // closed when the fields below are set (prefetched items)

	c             *cursor // nil: skipped, or nothing selected
	err           error
	scannedBytes  int64
	scannedEvents int64
	skipped       int64
}

// sequentialLoads is how many blocks a read opens itself before it hands
// the rest to the prefetcher: short reads (a GetLogEvents page) then never
// decompress blocks they will not use.
const sequentialLoads = 4

// peek returns the next summary's item without opening its block; nil when
// the range is exhausted.
func (r *readState) peek(ctx context.Context) (*item, error) {
	if r.head != nil {
		return r.head, nil
	}
	if r.pf != nil {
		select {
		case it, ok := <-r.pf.queue:
			if !ok {
				return nil, nil
			}
			r.head = it
			return it, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if !r.valid {
		return nil, r.it.Error()
	}
	minTs, _, _ := parseBlockKey(r.it.Key(), len(r.it.Key())-16)
	r.head = &item{minTs: minTs}
	return r.head, nil
}

// take consumes the peeked item, opening its block.
func (r *readState) take(ctx context.Context) (*item, error) {
	it := r.head
	r.head = nil
	if r.pf != nil {
		select {
		case <-it.done:
		case <-ctx.Done():
			r.pf.orphan(it)
			return nil, ctx.Err()
		}
		return it, it.err
	}
	v, err := r.it.ValueAndErr()
	if err != nil {
		return nil, err
	}
	s, err := r.decode(r.it.Key(), v)
	if err != nil {
		return nil, err
	}
	if name, ok := r.eligible(s, it); ok {
		r.load(s, name, it)
		r.loads++
	}
	r.advanceIter()
	if r.loads >= sequentialLoads && r.valid && r.pf == nil {
		r.pf = r.startPrefetch()
	}
	return it, it.err
}

func (r *readState) advanceIter() {
	if r.backward {
		r.valid = r.it.Prev() && string(r.it.Key()) >= string(r.lower)
	} else {
		r.valid = r.it.Next()
	}
}

// eligible checks what a summary alone can rule out.
func (r *readState) eligible(s summary, it *item) (string, bool) {
	if s.maxTs < r.start || s.minTs >= r.end {
		return "", false
	}
	name, ok := r.streamName(s.sid)
	if !ok {
		return "", false
	}
	if s.filter != nil && (!r.need.mayContain(s.filter) || (s.flags&flagBackslash == 0 && !r.needUnlessEscaped.mayContain(s.filter))) {
		it.skipped++
		return "", false
	}
	return name, true
}

// prefetcher decodes and filters upcoming blocks on every core while the
// merge consumes them in order. It owns the read's iterator from its start
// until stop returns.
type prefetcher struct {
	queue chan *item // in summary order
	jobs  chan job
	quit  chan struct{}
	wg    sync.WaitGroup
}

type job struct {
	s    summary
	name string
	it   *item
}

func (r *readState) startPrefetch() *prefetcher {
	workers := runtime.GOMAXPROCS(0)
	pf := &prefetcher{queue: make(chan *item, 4*workers), jobs: make(chan job, 4*workers), quit: make(chan struct{})}
	for w := 0; w < workers; w++ {
		pf.wg.Add(1)
		go func() {
			defer pf.wg.Done()
			for j := range pf.jobs {
				r.load(j.s, j.name, j.it)
				close(j.it.done)
			}
		}()
	}
	pf.wg.Add(1)
	go func() {
		defer pf.wg.Done()
		defer close(pf.queue)
		defer close(pf.jobs)
		for r.valid {
			it := &item{done: make(chan struct{})}
			v, err := r.it.ValueAndErr()
			var s summary
			if err == nil {
				s, err = r.decode(r.it.Key(), v)
			}
			it.minTs = s.minTs
			failed := err != nil
			if failed {
				it.err = err
				close(it.done)
			} else if name, ok := r.eligible(s, it); ok {
				s.filter = nil // the iterator's buffer is not ours after Next
				select {
				case pf.jobs <- job{s, name, it}:
				case <-pf.quit:
					return
				}
			} else {
				close(it.done)
			}
			select {
			case pf.queue <- it:
			case <-pf.quit:
				return
			}
			if failed {
				return
			}
			r.advanceIter()
		}
		if err := r.it.Error(); err != nil {
			it := &item{err: err, done: make(chan struct{})}
			close(it.done)
			select {
			case pf.queue <- it:
			case <-pf.quit:
			}
		}
	}()
	return pf
}

// orphan releases an item the reader abandoned, once its worker is done.
func (pf *prefetcher) orphan(it *item) {
	<-it.done
	if it.c != nil && it.c.buf != nil {
		it.c.buf = nil // the pool loses one buffer; fine on an error path
	}
}

// stop ends the prefetcher and releases what it prepared but nobody used.
func (r *readState) stopPrefetch() {
	pf := r.pf
	if pf == nil {
		return
	}
	close(pf.quit)
	for it := range pf.queue {
		<-it.done
		if it.c != nil {
			r.release(it.c)
		}
	}
	pf.wg.Wait()
	if r.head != nil {
		<-r.head.done
		if r.head.c != nil {
			r.release(r.head.c)
		}
		r.head = nil
	}
}

func (r *readState) streamName(sid uint64) (string, bool) {
	if r.allowed != nil {
		n, ok := r.allowed[sid]
		return n, ok
	}
	r.g.mu.RLock()
	s := r.g.byID[sid]
	r.g.mu.RUnlock()
	if s == nil || !strings.HasPrefix(s.name, r.q.StreamPrefix) {
		return "", false
	}
	return s.name, true
}

// load decompresses a block and positions a cursor on its first event in
// range; nil when it has none.
func (r *readState) load(s summary, stream string, it *item) {
	it.c, it.err = r.loadCursor(s, stream, it)
}

func (r *readState) loadCursor(s summary, stream string, it *item) (*cursor, error) {
	blk, raw, ok, err := r.e.openBlock(r.g.id, s.minTs, s.seq)
	if !ok || err != nil {
		return nil, err // !ok: reclaimed between summary and payload
	}
	s.filter = nil
	c := &cursor{sum: s, stream: stream, blk: blk, buf: raw}
	// The events in range form one run [lo, hi).
	n := len(blk.ts)
	lo := sort.Search(n, func(i int) bool { return blk.ts[i] >= r.start })
	hi := sort.Search(n, func(i int) bool { return blk.ts[i] >= r.end })
	if a := r.q.After; a != nil {
		if r.backward {
			for hi > lo && !(store.Position{Time: blk.ts[hi-1], Seq: s.seq, Index: uint32(hi - 1)}).Less(*a) {
				hi--
			}
		} else {
			for lo < hi && !a.Less(store.Position{Time: blk.ts[lo], Seq: s.seq, Index: uint32(lo)}) {
				lo++
			}
		}
	}
	if lo >= hi {
		r.release(c)
		return nil, nil
	}
	c.sel = make([]uint32, 0, hi-lo)
	f := r.q.Filter
	for i := lo; i < hi; i++ {
		if f != nil {
			msg := blk.message(i)
			it.scannedBytes += int64(len(msg))
			if !f.Match(unsafeString(msg)) {
				continue
			}
		}
		c.sel = append(c.sel, uint32(i))
	}
	it.scannedEvents += int64(hi - lo)
	if f == nil {
		it.scannedBytes += int64(blk.off[hi]-blk.off[lo]) - int64(blk.sep)*int64(hi-lo)
	}
	if len(c.sel) == 0 {
		r.release(c)
		return nil, nil
	}
	if r.backward {
		c.k = len(c.sel) - 1
	}
	c.setPos()
	return c, nil
}

func (r *readState) release(c *cursor) {
	if c.buf != nil {
		r.e.putBuf(c.buf)
		c.buf = nil
	}
}

func (e *Engine) getBuf() []byte {
	if b, ok := e.bufs.Get().(*[]byte); ok {
		return *b
	}
	return make([]byte, 0, 256<<10)
}

func (e *Engine) putBuf(b []byte) {
	if cap(b) > 4<<20 {
		return // do not pin huge buffers
	}
	b = b[:0]
	e.bufs.Put(&b)
}
