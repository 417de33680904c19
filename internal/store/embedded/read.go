package embedded

import (
	"container/heap"
	"context"
	"errors"
	"math"
	"slices"
	"strings"

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
	defer e.pin()() // the worker keeps replaced payloads while this runs (recompact.go)
	g, err := e.lookup(q.Group, q.Name)
	if err != nil {
		return store.Page{}, err
	}
	if q.Limit <= 0 {
		return store.Page{}, errors.New("BUG: read with no limit")
	}
	sel, err := e.selectIn(g, q.Streams, q.StreamPrefix, q.Start, q.End)
	if sel == nil || err != nil {
		return store.Page{}, err
	}
	if q.After != nil {
		if q.Backward {
			if q.After.Time < math.MaxInt64 { // a cursor at the end of time bounds nothing
				sel.end = min(sel.end, q.After.Time+1)
			}
		} else {
			sel.start = max(sel.start, q.After.Time)
		}
	}
	if sel.start >= sel.end {
		return store.Page{}, nil
	}
	r := &readState{e: e, q: q, backward: q.Backward, selection: sel, grams: newGramFilter(q.Filter), lit: prematch(q.Filter)}
	if r.blockIter, err = e.openBlocks(ctx, sel); err != nil {
		return store.Page{}, err
	}
	it, lower := r.it, r.lower
	defer it.Close()
	if r.backward {
		r.valid = it.Last()
		if r.valid && strings.Compare(string(it.Key()), string(lower)) < 0 {
			r.valid = false
		}
	} else {
		r.valid = it.SeekGE(lower)
	}
	page, err := r.run(ctx)
	r.stopPrefetch()
	for _, c := range r.h.cs {
		r.park(c)
	}
	return page, err
}

type readState struct {
	e          *Engine
	q          store.ReadRequest
	backward   bool
	*selection // start and end narrowed by q.After
	grams      gramFilter
	lit        *literal // prematch(q.Filter)
	blockIter           // the summaries, owned by the prefetcher once it runs
	valid      bool     // the iterator is on a summary not yet peeked

	h         cursorHeap
	page      store.Page
	budgetHit bool
	// overBudget lets one more block open past the spent budget: set when
	// stopping early would not have made progress yet (the next block
	// starts before where the page began), so the page goes on a block at a
	// time until a stop would. (It used to switch the budget off for the
	// rest of the page, so a search whose range began amid overlapping
	// blocks scanned its whole range in one page.)
	overBudget bool

	msgs  arena       // the page's messages
	head  *item       // peeked, not yet taken
	loads int         // blocks opened without the prefetcher
	pf    *prefetcher // nil until sequentialLoads blocks were opened
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
			r.budgetHit, r.overBudget = false, true
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
		if len(r.page.Events) == cap(r.page.Events) {
			r.growPage()
		}
		r.page.Events = append(r.page.Events, store.StoredEvent{
			Stream:        c.stream,
			Timestamp:     p.Time,
			IngestionTime: c.blk.ingestion(c.i(), c.sum.ingestion),
			Message:       r.msgs.str(msg),
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

// growPage makes room for more events in the page, in as few steps as the
// page's likely size allows: a read without a filter that passes 1,024
// events usually fills its page, so it then gets room for its whole limit
// at once (growing by doubling copied ~1.5 MB of events for a 10,000-event
// page), while a short one (a tail's poll) holds 1,024 at most; a search,
// whose matches are usually few, doubles from a small start up to the
// limit.
func (r *readState) growPage() {
	n := len(r.page.Events)
	want := max(2*n, 64)
	if r.q.Filter == nil {
		want = 1024
		if n >= 1024 {
			want = r.q.Limit
		}
	}
	want = min(want, r.q.Limit)
	r.page.Events = slices.Grow(r.page.Events, max(want-n, 1))
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
		p := (store.Position{Time: nextMin}).Prev()
		if r.h.Len() > 0 {
			if t := r.h.cs[0].cur.Prev(); t.Less(p) {
				p = t
			}
		}
		return &p
	}
	// Backward, resume strictly before p: the larger of "just after the
	// heap's top" and "just after the last possible event of an unopened block".
	p := store.Position{Time: nextMin + r.maxSpan + 1}
	if r.h.Len() > 0 {
		if t := r.h.cs[0].cur.Next(); p.Less(t) {
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
	origin := (store.Position{Time: r.start}).Prev()
	if a := r.q.After; a != nil && origin.Less(*a) {
		origin = *a
	}
	return origin.Less(f)
}

// arena copies a page's messages into a few large chunks, so a page of
// 10,000 events makes a handful of allocations instead of one per message.
// Chunks are only ever appended to, so the strings that alias them stay
// valid; a chunk lives as long as any of its strings.
// Chunks start small and double up to arenaChunk, so a search that keeps a
// few messages does not hold a large chunk for them.
type arena struct{ chunk []byte }

const arenaChunk = 64 << 10

func (a *arena) str(b []byte) string {
	if len(b) > cap(a.chunk)-len(a.chunk) {
		a.chunk = make([]byte, 0, max(min(2*cap(a.chunk), arenaChunk), 1024, len(b)))
	}
	start := len(a.chunk)
	a.chunk = append(a.chunk, b...)
	return unsafeString(a.chunk[start:len(a.chunk):len(a.chunk)])
}
