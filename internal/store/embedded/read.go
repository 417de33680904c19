package embedded

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

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
func (e *Engine) Read(ctx context.Context, q store.Query) (store.Page, error) {
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
			r.end = min(r.end, q.After.Time+1)
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
	q        store.Query
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

	h    cursorHeap
	page store.Page
}

type cursor struct {
	sum    summary
	stream string
	blk    *decodedBlock
	buf    []byte // pooled decompression buffer behind blk.data
	i      int
}

func (c *cursor) pos() store.Position {
	return store.Position{Time: c.blk.ts[c.i], Seq: c.sum.seq, Index: uint32(c.i)}
}

type cursorHeap struct {
	cs       []*cursor
	backward bool
}

func (h *cursorHeap) Len() int { return len(h.cs) }
func (h *cursorHeap) Less(i, j int) bool {
	if h.backward {
		return h.cs[j].pos().Less(h.cs[i].pos())
	}
	return h.cs[i].pos().Less(h.cs[j].pos())
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
		bytes      int
		last       store.Position
		haveLast   bool
		iterations int
	)
	for {
		if err := r.openEligible(); err != nil {
			return store.Page{}, err
		}
		if r.h.Len() == 0 {
			return r.page, nil // the range is exhausted
		}
		c := r.h.cs[0]
		p := c.pos()
		if (!r.backward && p.Time >= r.end) || (r.backward && p.Time < r.start) {
			return r.page, nil
		}
		msg := c.blk.message(c.i)
		r.page.ScannedEvents++
		r.page.ScannedBytes += int64(len(msg))
		if q.Filter == nil || q.Filter.Match(unsafeString(msg)) {
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
		}
		last, haveLast = p, true
		if r.advance(c) {
			heap.Fix(&r.h, 0)
		} else {
			heap.Pop(&r.h)
			r.release(c)
		}
		if q.ScanBudget > 0 && r.page.ScannedBytes >= q.ScanBudget {
			r.page.Next = &last
			return r.page, nil
		}
		if iterations++; iterations&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return store.Page{}, err
			}
		}
	}
}

// cursorBefore is the resume point when the page is full before the event
// just examined: the last event considered, or (when none was) where the
// query itself started.
func (r *readState) cursorBefore(last store.Position, haveLast bool, q store.Query) *store.Position {
	if haveLast {
		return &last
	}
	if q.After != nil {
		a := *q.After
		return &a
	}
	// Nothing examined yet and the very first match did not fit: impossible,
	// because one event always fits an empty page.
	panic("BUG: page full before any event")
}

// advance moves c to its next event in read order; false when exhausted.
func (r *readState) advance(c *cursor) bool {
	if r.backward {
		c.i--
		return c.i >= 0
	}
	c.i++
	return c.i < len(c.blk.ts)
}

// openEligible opens every block that may hold the next event in order.
func (r *readState) openEligible() error {
	for r.valid {
		if r.h.Len() > 0 {
			top := r.h.cs[0].blk.ts[r.h.cs[0].i]
			minTs, _, _ := parseBlockKey(r.it.Key(), len(r.it.Key())-16)
			if !r.backward && minTs > top {
				return nil
			}
			if r.backward && minTs+r.maxSpan < top {
				return nil
			}
		}
		v, err := r.it.ValueAndErr()
		if err != nil {
			return err
		}
		s, err := r.decode(r.it.Key(), v)
		if err != nil {
			return err
		}
		if err := r.consider(s); err != nil {
			return err
		}
		if r.backward {
			r.valid = r.it.Prev() && string(r.it.Key()) >= string(r.lower)
		} else {
			r.valid = r.it.Next()
		}
	}
	return r.it.Error()
}

// consider opens the block of summary s unless its summary rules it out.
func (r *readState) consider(s summary) error {
	if s.maxTs < r.start || s.minTs >= r.end {
		return nil
	}
	name, ok := r.streamName(s.sid)
	if !ok {
		return nil
	}
	if s.filter != nil && (!r.need.mayContain(s.filter) || (s.flags&flagBackslash == 0 && !r.needUnlessEscaped.mayContain(s.filter))) {
		r.page.SkippedBlocks++
		return nil
	}
	c, err := r.load(s, name)
	if err != nil || c == nil {
		return err
	}
	heap.Push(&r.h, c)
	return nil
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
func (r *readState) load(s summary, stream string) (*cursor, error) {
	key := blockKey(tagBlock, r.g.id, s.minTs, s.seq)
	compressed, closer, err := r.e.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil // reclaimed between summary and payload
	}
	if err != nil {
		return nil, fmt.Errorf("read block: %w", err)
	}
	buf := r.e.getBuf()
	raw, err := r.e.dec.DecodeAll(compressed, buf[:0])
	closer.Close()
	if err != nil {
		r.e.putBuf(buf)
		return nil, fmt.Errorf("decompress block %x: %w", key, err)
	}
	blk, err := decodePayload(raw, s.minTs)
	if err != nil {
		r.e.putBuf(raw)
		return nil, fmt.Errorf("block %x: %w", key, err)
	}
	s.filter = nil
	c := &cursor{sum: s, stream: stream, blk: blk, buf: raw}
	n := len(blk.ts)
	if !r.backward {
		c.i = sort.Search(n, func(i int) bool { return blk.ts[i] >= r.start })
		if a := r.q.After; a != nil {
			for c.i < n && !a.Less(c.pos()) {
				c.i++
			}
		}
		if c.i >= n || blk.ts[c.i] >= r.end {
			r.release(c)
			return nil, nil
		}
	} else {
		c.i = sort.Search(n, func(i int) bool { return blk.ts[i] >= r.end }) - 1
		if a := r.q.After; a != nil {
			for c.i >= 0 && !c.pos().Less(*a) {
				c.i--
			}
		}
		if c.i < 0 || blk.ts[c.i] < r.start {
			r.release(c)
			return nil, nil
		}
	}
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
