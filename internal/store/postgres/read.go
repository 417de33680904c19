package postgres

import (
	"container/heap"
	"context"
	"errors"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/cairnlog/cairn/internal/store"
)

const eventOverhead = 26 // bytes AWS counts per event on top of its message

// blockRow is a block's summary, and its payload once fetched.
type blockRow struct {
	seq          uint64
	stream       string
	minTs, maxTs int64
	count        int
	ingestion    int64
	raw          int64
	flags        int16
	grams        []byte
	payload      []byte
	object       string // the key in the object store of a moved block
}

// selection is what a read selects in one group: the time range narrowed
// by retention, and the streams.
type selection struct {
	gid        int64
	maxSpan    int64 // the group's widest block (maxTs − minTs)
	start, end int64 // [start, end)
	names      [][]byte
	prefix     string
	lastSeq    int64 // the group's high-water mark when looked up (sumcache.go)
}

// selectIn looks the group up; nil when the selection is empty.
func (e *Engine) selectIn(ctx context.Context, scope store.Scope, group string, streams []string, prefix string, start, end int64) (*selection, error) {
	sel := &selection{prefix: prefix, start: start, end: end}
	var days int32
	err := e.pool.QueryRow(ctx, `SELECT gid, max_span, retention_days, last_seq FROM cairn_groups WHERE account = $1 AND region = $2 AND name = $3`,
		scope.Account, scope.Region, []byte(group)).Scan(&sel.gid, &sel.maxSpan, &days, &sel.lastSeq)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrGroupNotFound
	}
	if err != nil {
		return nil, wrap(err)
	}
	if sel.end <= 0 {
		sel.end = math.MaxInt64
	}
	if days > 0 {
		sel.start = max(sel.start, e.cfg.Now().UnixMilli()-int64(days)*86_400_000)
	}
	if len(streams) > 0 {
		for _, n := range streams {
			sel.names = append(sel.names, []byte(n))
		}
	}
	if sel.start >= sel.end {
		return nil, nil
	}
	return sel, nil
}

func addSat(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	if b < 0 && a < math.MinInt64-b {
		return math.MinInt64
	}
	return a + b
}

const summaryColumns = `b.seq, s.name, b.min_ts, b.max_ts, b.count, b.ingestion, b.raw_bytes, b.flags`

// streamCond selects streams by exact names ($2) and prefix range ($3, $4).
const streamCond = ` AND ($2::bytea[] IS NULL OR s.name = ANY($2)) AND s.name >= $3 AND ($4::bytea IS NULL OR s.name < $4)`

// summaries walks a selection's block summaries in one direction, a page of
// rows per query, skipping blocks the gram filter rules out.
type summaries struct {
	e        *Engine
	sel      *selection
	backward bool
	grams    gramFilter
	buf      []*blockRow
	done     bool
	// keyset: the last row fetched, (min_ts, seq) forward, (max_ts, seq) backward
	kTs  int64
	kSeq int64
	// inline: the read has no gram filter, so every block is admitted and
	// the query skips the filter's test. Either way payloads come with
	// the summaries of admitted blocks (fetch).
	inline bool
	page   int // rows per query: small first (a page of a few events), growing

	skipped int64
	gets    int // moved blocks fetched from the object store

	// A filtered read walks the node's cached summaries when the group is
	// cached (sumcache.go): snap, from index at (−1: not started).
	cacheTried bool
	snap       *sumSnap
	at         int
}

const summaryPage = 256

// filteredPage is a filtered read's page of summaries: most rows are
// ruled out in SQL and cost a few columns each; the admitted ones bring
// no payload (load fetches those payloadBatch at a time).
const filteredPage = 1024

// slotArray is a gram query as the SQL function's int[] argument.
func slotArray(q gramQuery) []int32 {
	out := make([]int32, len(q))
	for i, h := range q {
		out[i] = int32(h)
	}
	return out
}

func newSummaries(e *Engine, sel *selection, backward bool, f store.Matcher) *summaries {
	s := &summaries{e: e, sel: sel, backward: backward, grams: newGramFilter(f), page: 16, at: -1}
	s.inline = len(s.grams.need) == 0 && len(s.grams.needUnlessEscaped) == 0
	if !s.inline {
		// A block the filter rules out costs its summary's few columns:
		// large pages from the start (a rare term walks every block of
		// the range; 16, 64, 256, ... was one round trip, one planning and
		// one scan of the rest of the range per step).
		s.page = filteredPage
	}
	if backward {
		s.kTs, s.kSeq = addSat(sel.end, sel.maxSpan), 0
		if s.kTs == math.MaxInt64 {
			s.kSeq = math.MaxInt64
		}
	} else {
		s.kTs, s.kSeq = addSat(sel.start, -sel.maxSpan), -1
	}
	return s
}

// peek returns the next admitted summary, or nil at the end.
func (s *summaries) peek(ctx context.Context) (*blockRow, error) {
	for len(s.buf) == 0 && !s.done {
		if err := s.fetch(ctx); err != nil {
			return nil, err
		}
	}
	if len(s.buf) == 0 {
		return nil, nil
	}
	return s.buf[0], nil
}

func (s *summaries) pop() { s.buf = s.buf[1:] }

// gramsOK is the gram filter tested inside PostgreSQL (gramFilter.mayMatch
// in SQL), so that a block ruled out sends its summary's few columns and
// neither its filter nor its payload: $11 are need's slots, $12
// needUnlessEscaped's. get_bit(g, p) is bit p mod 8 of byte p / 8, the
// numbering mayContain uses; a filter of an unexpected size never rules a
// block out. (A plpgsql function doing the same was 3.5× slower than
// shipping the filters: its per-call cost; this expression is planned
// inline.)
const gramsOK = `(length(b.grams) = 0 OR length(b.grams) % 8 <> 0 OR length(b.grams) > 8192 OR
	(NOT EXISTS (SELECT 1 FROM unnest($11::int[]) h WHERE get_bit(b.grams, h % (length(b.grams) * 8)) = 0)
	AND (b.flags & 1 <> 0 OR NOT EXISTS (SELECT 1 FROM unnest($12::int[]) h WHERE get_bit(b.grams, h % (length(b.grams) * 8)) = 0))))`

// query is fetch's next query and its arguments.
func (s *summaries) query() (string, []any) {
	sel := s.sel
	// Without a filter every block is opened unless the read stops first:
	// payloads come with the summaries (the first query asks for 16 rows,
	// so a read that stops on the first block fetched at most 16). With
	// one, pages are 256 summaries from the start (rows ruled out cost a
	// few columns) and load fetches the admitted blocks' payloads
	// payloadBatch at a time: a common term's short read fetches 16
	// payloads, not 256.
	cols := summaryColumns + `, true, b.payload, b.object`
	if !s.inline {
		cols = summaryColumns + `, ` + gramsOK + `, NULL::bytea, b.object`
	}
	from := ` FROM cairn_blocks b JOIN cairn_streams s ON s.sid = b.sid`
	var q string
	if s.backward {
		q = `SELECT ` + cols + from + `
			WHERE b.gid = $1 AND b.max_ts >= $5 AND b.min_ts < $6 AND (b.max_ts, b.seq) < ($7, $8) AND b.max_ts <= $7 AND b.max_ts < $10` + streamCond + `
			ORDER BY b.max_ts DESC, b.seq DESC LIMIT $9`
	} else {
		q = `SELECT ` + cols + from + `
			WHERE b.gid = $1 AND b.max_ts >= $5 AND b.min_ts < $6 AND (b.min_ts, b.seq) > ($7, $8) AND b.max_ts >= $7 AND b.max_ts < $10` + streamCond + `
			ORDER BY b.min_ts, b.seq LIMIT $9`
	}
	// The max_ts bounds are implied by the others (max_ts ≤ min_ts +
	// max_span; the keyset) and stated for the planner: they name the
	// partitions the read can touch (partitions.go).
	args := []any{sel.gid, sel.names, []byte(sel.prefix), prefixEnd(sel.prefix), sel.start, sel.end, s.kTs, s.kSeq, s.page,
		addSat(sel.end, sel.maxSpan)}
	if !s.inline {
		args = append(args, slotArray(s.grams.need), slotArray(s.grams.needUnlessEscaped))
	}
	return q, args
}

func (s *summaries) fetch(ctx context.Context) error {
	if !s.inline && !s.cacheTried && s.e.sums != nil {
		s.cacheTried = true
		snap, err := s.e.sums.get(ctx, s.e, s.sel)
		if err != nil {
			return err
		}
		s.snap = snap
	}
	if s.snap != nil {
		s.fetchCached()
		return nil
	}
	q, args := s.query()
	rows, err := s.e.pool.Query(ctx, q, args...)
	if err != nil {
		return wrap(err)
	}
	n := 0
	for rows.Next() {
		b := &blockRow{}
		var seq int64
		var name []byte
		var object *string
		var ok bool
		if err := rows.Scan(&seq, &name, &b.minTs, &b.maxTs, &b.count, &b.ingestion, &b.raw, &b.flags, &ok, &b.payload, &object); err != nil {
			rows.Close()
			return wrap(err)
		}
		b.seq, b.stream = uint64(seq), string(name)
		if object != nil {
			b.object, b.payload = *object, nil
		}
		n++
		if s.backward {
			s.kTs, s.kSeq = b.maxTs, seq
		} else {
			s.kTs, s.kSeq = b.minTs, seq
		}
		if !ok {
			s.skipped++
			continue
		}
		s.buf = append(s.buf, b)
	}
	if err := rows.Err(); err != nil {
		return wrap(err)
	}
	if n < s.page {
		s.done = true
	}
	s.page = max(s.page, min(4*s.page, summaryPage))
	return nil
}

// load fetches the payloads of the first up to payloadBatch buffered
// blocks that lack one (the block about to be opened first): the resident
// ones in one query, the moved ones from the object store. Moved blocks are
// fetched in a window that starts at one and doubles while the read goes
// on opening them, so a read that stops after a block or two GETs no more
// than that, and a long one fetches many at a time.
const payloadBatch = 16

func (s *summaries) load(ctx context.Context) error {
	var (
		seqs, maxTs []int64
		moved       []*blockRow
	)
	idx := map[int64]*blockRow{}
	for _, b := range s.buf {
		if len(seqs)+len(moved) == payloadBatch || len(moved) == s.window() {
			break
		}
		switch {
		case b.payload != nil:
		case b.object != "":
			moved = append(moved, b)
		default:
			seqs, maxTs = append(seqs, int64(b.seq)), append(maxTs, b.maxTs)
			idx[int64(b.seq)] = b
		}
	}
	if len(seqs) > 0 {
		rows, err := s.e.pool.Query(ctx, `SELECT seq, payload, object FROM cairn_blocks WHERE gid = $1 AND seq = ANY($2) AND max_ts = ANY($3)`, s.sel.gid, seqs, maxTs)
		if err != nil {
			return wrap(err)
		}
		for rows.Next() {
			var seq int64
			var p []byte
			var object *string
			if err := rows.Scan(&seq, &p, &object); err != nil {
				rows.Close()
				return wrap(err)
			}
			if b := idx[seq]; b != nil {
				if object != nil {
					// Moved since its summary was read.
					b.object = *object
					moved = append(moved, b)
				} else {
					b.payload = p
				}
			}
		}
		if err := rows.Err(); err != nil {
			return wrap(err)
		}
	}
	if len(moved) > 0 {
		s.gets += len(moved)
		if err := s.e.fetchObjects(ctx, s.sel.gid, moved); err != nil {
			return wrap(err)
		}
	}
	for _, seq := range seqs {
		if b := idx[seq]; b.payload == nil && b.object == "" {
			b.payload = []byte{} // deleted since the summary was read: an empty block
		}
	}
	return nil
}

// window is how many moved blocks the next load may fetch: one at first,
// then as many as were fetched so far (doubling), at most payloadBatch.
func (s *summaries) window() int {
	return min(max(1, s.gets), payloadBatch)
}

// open takes the head summary and decodes its block (nil, nil when the
// block went away since the summary was read).
func (s *summaries) open(ctx context.Context) (*blockRow, *decoded, error) {
	b := s.buf[0]
	if b.payload == nil {
		if err := s.load(ctx); err != nil {
			return nil, nil, err
		}
	}
	s.pop()
	if len(b.payload) == 0 {
		return b, nil, nil
	}
	d, err := s.e.codec.decode(b.payload, b.minTs, b.count)
	b.payload = nil
	if err != nil {
		return nil, nil, wrap(err)
	}
	return b, d, nil
}

// cursor walks one open block's qualifying events.
type cursor struct {
	b   *blockRow
	d   *decoded
	i   int
	pos store.Position
}

type cursorHeap struct {
	cs       []*cursor
	backward bool
}

func (h *cursorHeap) Len() int { return len(h.cs) }
func (h *cursorHeap) Less(i, j int) bool {
	if h.backward {
		return h.cs[j].pos.Less(h.cs[i].pos)
	}
	return h.cs[i].pos.Less(h.cs[j].pos)
}
func (h *cursorHeap) Swap(i, j int) { h.cs[i], h.cs[j] = h.cs[j], h.cs[i] }
func (h *cursorHeap) Push(x any)    { h.cs = append(h.cs, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	c := h.cs[len(h.cs)-1]
	h.cs = h.cs[:len(h.cs)-1]
	return c
}

// Read implements store.Store.
//
// Forward, it walks summaries in ascending (min_ts, seq) order from
// start − max_span and opens a block once its min_ts is ≤ the timestamp of
// the smallest pending event: no unopened block can then hold an earlier
// one. Backward, it walks them in descending (max_ts, seq) order and opens
// a block while its max_ts ≥ the largest pending timestamp.
func (e *Engine) Read(ctx context.Context, q store.ReadRequest) (store.Page, error) {
	if err := e.enter(); err != nil {
		return store.Page{}, err
	}
	defer e.exit()
	if q.Limit <= 0 {
		return store.Page{}, errors.New("BUG: read with no limit")
	}
	sel, err := e.selectIn(ctx, q.Group, q.Name, q.Streams, q.StreamPrefix, q.Start, q.End)
	if sel == nil || err != nil {
		return store.Page{}, err
	}
	if q.After != nil {
		if q.Backward {
			if q.After.Time < math.MaxInt64 {
				sel.end = min(sel.end, q.After.Time+1)
			}
		} else {
			sel.start = max(sel.start, q.After.Time)
		}
	}
	if sel.start >= sel.end {
		return store.Page{}, nil
	}
	r := &reader{q: q, sel: sel, sums: newSummaries(e, sel, q.Backward, q.Filter)}
	r.h.backward = q.Backward
	page, err := r.run(ctx)
	page.SkippedBlocks = r.sums.skipped
	return page, err
}

type reader struct {
	q    store.ReadRequest
	sel  *selection
	sums *summaries
	h    cursorHeap
	page store.Page
}

// qualifies reports whether event i of c's block belongs in the page.
func (r *reader) qualifies(c *cursor, i int) bool {
	t := c.d.ts[i]
	if t < r.sel.start || t >= r.sel.end {
		return false
	}
	p := store.Position{Time: t, Seq: c.b.seq, Index: uint32(i)}
	if a := r.q.After; a != nil {
		if r.q.Backward && !p.Less(*a) || !r.q.Backward && !a.Less(p) {
			return false
		}
	}
	return r.q.Filter == nil || r.q.Filter.Match(c.d.msgs[i])
}

// seek moves c to its next qualifying event from index i on (in read
// order); false when the block has none left.
func (r *reader) seek(c *cursor, i int) bool {
	for ; i >= 0 && i < len(c.d.ts); i = r.step(i) {
		if r.q.Backward && c.d.ts[i] < r.sel.start || !r.q.Backward && c.d.ts[i] >= r.sel.end {
			return false // chronological: nothing further in range
		}
		if r.qualifies(c, i) {
			c.i, c.pos = i, store.Position{Time: c.d.ts[i], Seq: c.b.seq, Index: uint32(i)}
			return true
		}
	}
	return false
}

func (r *reader) step(i int) int {
	if r.q.Backward {
		return i - 1
	}
	return i + 1
}

func (r *reader) run(ctx context.Context) (store.Page, error) {
	q := r.q
	maxBytes := q.MaxBytes
	if maxBytes <= 0 {
		maxBytes = math.MaxInt
	}
	var (
		bytes    int
		scanned  int64
		noBudget bool
		last     store.Position
		haveLast bool
	)
	for {
		for {
			nx, err := r.sums.peek(ctx)
			if err != nil {
				return store.Page{}, err
			}
			if nx == nil {
				break
			}
			if r.h.Len() > 0 {
				top := r.h.cs[0].pos.Time
				if !q.Backward && nx.minTs > top || q.Backward && nx.maxTs < top {
					break
				}
			}
			if q.ScanBudget > 0 && scanned >= q.ScanBudget && !noBudget {
				// Stop early only when the resume point is past where this
				// page began, or a client could get the same cursor forever.
				if f := r.frontier(nx); r.progressed(f) {
					r.page.Next = &f
					return r.page, nil
				}
				noBudget = true
			}
			b, d, err := r.sums.open(ctx)
			if err != nil {
				return store.Page{}, err
			}
			if d == nil {
				continue
			}
			r.page.ScannedEvents += int64(b.count)
			r.page.ScannedBytes += b.raw
			scanned += b.raw
			c := &cursor{b: b, d: d}
			first := 0
			if q.Backward {
				first = len(d.ts) - 1
			}
			if r.seek(c, first) {
				heap.Push(&r.h, c)
			}
		}
		if r.h.Len() == 0 {
			return r.page, nil
		}
		c := r.h.cs[0]
		msg := c.d.msgs[c.i]
		size := len(msg) + eventOverhead
		if len(r.page.Events) >= q.Limit || (len(r.page.Events) > 0 && bytes+size > maxBytes) {
			if haveLast {
				r.page.Next = &last
			} else {
				a := *q.After
				r.page.Next = &a
			}
			return r.page, nil
		}
		bytes += size
		r.page.Events = append(r.page.Events, store.StoredEvent{Stream: c.b.stream, Timestamp: c.pos.Time, IngestionTime: c.b.ingestion,
			Message: msg, Pos: c.pos})
		last, haveLast = c.pos, true
		if r.seek(c, r.step(c.i)) {
			heap.Fix(&r.h, 0)
		} else {
			heap.Pop(&r.h)
		}
	}
}

// frontier is the resume point when the scan budget stops a read before
// opening nx: every event before it (in read order) has been considered.
func (r *reader) frontier(nx *blockRow) store.Position {
	if !r.q.Backward {
		p := (store.Position{Time: nx.minTs}).Prev()
		if r.h.Len() > 0 {
			if t := r.h.cs[0].pos.Prev(); t.Less(p) {
				p = t
			}
		}
		return p
	}
	p := store.Position{Time: addSat(nx.maxTs, 1)}
	if r.h.Len() > 0 {
		if t := r.h.cs[0].pos.Next(); p.Less(t) {
			p = t
		}
	}
	return p
}

// progressed reports whether resuming at f skips something this read has
// considered, compared with where it started.
func (r *reader) progressed(f store.Position) bool {
	if r.q.Backward {
		origin := store.Position{Time: r.sel.end}
		if a := r.q.After; a != nil && a.Less(origin) {
			origin = *a
		}
		return f.Less(origin)
	}
	origin := (store.Position{Time: r.sel.start}).Prev()
	if a := r.q.After; a != nil && origin.Less(*a) {
		origin = *a
	}
	return origin.Less(f)
}
