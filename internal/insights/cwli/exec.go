package cwli

import (
	"container/heap"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnlog/cairn/internal/store"
)

// DefaultLimit is how many rows a query without limit returns.
const DefaultLimit = 10000

// Options are one run's parameters.
type Options struct {
	Start, End int64 // ms, the query's range (queryStartTime(), now())
	// Limit is StartQuery's limit, applied as if "| limit N" ended the
	// query; 0: the query's own limit, or DefaultLimit.
	Limit int
	// Ptr makes an event's @ptr value; nil: rows have no @ptr.
	Ptr func(group string, ev store.StoredEvent) string
	// LogName makes @log ("account:group"); nil: the group name.
	LogName func(group string) string
	// Lookup loads a lookup table for the lookup command.
	Lookup func(name string) (*LookupTable, error)
	// MaxMemory bounds the state the query keeps (groups, rows, sketches);
	// 0: no bound. Past it the run fails with ErrMemory.
	MaxMemory int64
	// Now is the query's start time in ms for now(); 0: the wall clock.
	Now int64
	// StoreStats: the runner reports recordsScanned/bytesScanned with
	// SetScanned (from the store's ScanStats), so AddBlock does not walk
	// every event to count them (it shows in top-K scans that touch only
	// a few events of a block).
	StoreStats bool
	// Unmask returns the original of a masked event (data protection's
	// kept text) and true, or false when it has none; the unmask command
	// and unmask(@message) read it. It may be called from several
	// goroutines (Parallel). nil: events are shown as stored.
	Unmask func(group string, ev store.StoredEvent) (string, bool)
	// Shared, when set, is memory shared with the server's other runs:
	// the state is charged to it too, and given back by Release (or
	// Finish). Past its Limit the run that asked for more fails with
	// ErrServerMemory.
	Shared *Budget
	// Parallel is how many goroutines AddBlock may use for a query whose
	// main stage is a stats (the JSON/parse work before it is what costs):
	// each block is split among lanes that keep their own groups, merged
	// when rows are rendered, in the order a single lane gives. 0 or 1:
	// the caller's goroutine only. No goroutine outlives AddBlock. Group
	// memory, charged to MaxMemory, can be up to Parallel times higher.
	Parallel int
}

// ErrMemory is a run that needed more than Options.MaxMemory.
var ErrMemory = errors.New("the query needs more memory than its limit allows; narrow the time range or the stats by fields")

// ErrServerMemory is a run that would have taken the queries running at
// once past their shared Budget.
var ErrServerMemory = errors.New("the queries running now need more memory than the server allows for them; run this one when fewer are running, or narrow it")

// Budget is the memory every run of a server may hold in all (the sum of
// their charged state). Safe for concurrent use.
type Budget struct {
	Limit int64 // bytes; 0: no bound
	used  atomic.Int64
}

// Used is what the runs hold now.
func (b *Budget) Used() int64 { return b.used.Load() }

// Result is a query's rows and statistics.
type Result struct {
	Rows                                         [][]ResultField
	RecordsMatched, RecordsScanned, BytesScanned float64
	// RecordsSkipped and BytesSkipped estimate what the scan ruled out
	// without reading (set by the runner from the engine's statistics).
	RecordsSkipped, BytesSkipped float64
}

// ResultField is one {field, value} of a row.
type ResultField struct{ Field, Value string }

type mainKind uint8

const (
	mainTop     mainKind = iota // keep the first K rows in an order
	mainStats                   // aggregate
	mainAny                     // limit any: the first N rows seen
	mainCollect                 // keep every row (dedup, pattern, sort without limit)
)

// mainShape is how the first blocking stage consumes the event stream.
type mainShape struct {
	at     int // index of the blocking stage (len(stages): none)
	kind   mainKind
	keys   []sortSpec
	k      int // mainTop: how many rows; mainAny: N
	rest   int // first stage run over the main stage's output
	topTs  int // 1/-1: mainTop ordered by @timestamp asc/desc alone
	qlimit int // the query's own limit that bounds the main stage, 0 none
	sorted bool
}

var tsDesc = []sortSpec{{e: sysE{fTimestamp}, desc: true, ts: true}}

// mainPlan decides the main stage for a run whose cap on output rows is
// cap (0: the query's).
func mainPlan(q *Query, runLimit int) mainShape {
	final := finalCap(q, runLimit)
	at := len(q.stages)
	for i, s := range q.stages {
		if s.kind.blocking() {
			at = i
			break
		}
	}
	m := mainShape{at: at, rest: at + 1}
	if at == len(q.stages) {
		m.kind, m.keys, m.k, m.rest = mainTop, tsDesc, final, at
		m.topTs = -1
		return m
	}
	s := q.stages[at]
	switch s.kind {
	case sStats:
		m.kind = mainStats
	case sSort:
		m.kind, m.keys, m.sorted = mainCollect, s.keys, true
		if at+1 < len(q.stages) && q.stages[at+1].kind == sLimit && !q.stages[at+1].any {
			m.kind, m.k, m.rest, m.qlimit = mainTop, min(q.stages[at+1].limit, final), at+2, q.stages[at+1].limit
		} else if onlyProjections(q.stages[at+1:]) {
			m.kind, m.k = mainTop, final
		}
		if m.kind == mainTop && len(s.keys) == 1 && s.keys[0].ts {
			m.topTs = 1
			if s.keys[0].desc {
				m.topTs = -1
			}
		}
	case sLimit:
		if s.any {
			m.kind, m.k, m.qlimit = mainAny, min(s.limit, final), s.limit
		} else {
			// no sort before: newest first
			m.kind, m.keys, m.k, m.topTs, m.qlimit = mainTop, tsDesc, min(s.limit, final), -1, s.limit
		}
	default:
		// dedup and pattern see events in the default order, newest first
		m.kind, m.rest, m.keys, m.sorted = mainCollect, at, tsDesc, true
	}
	return m
}

func onlyProjections(ss []*stage) bool {
	for _, s := range ss {
		if s.kind != sFields {
			return false
		}
	}
	return true
}

func finalCap(q *Query, runLimit int) int {
	switch {
	case runLimit > 0:
		return min(runLimit, maxRows)
	case q.hasLimit:
		return maxRows
	}
	return DefaultLimit
}

// Exec is one run of a query. AddBlock, Snapshot and Finish may be called
// from different goroutines; mu serialises them.
//
// The runner's side: scan the query's groups over Options.Start..End (the
// executor does not filter by time), with Pushdown.Filter as the scan's
// Matcher if it likes; feed every block to AddBlock until it returns false
// or the scan ends; when the store filtered, call SetScanned with its
// ScanStats so recordsScanned/bytesScanned count what was examined, not
// what was delivered. Snapshot any time; Finish once.
type Exec struct {
	q    *Query
	m    mainShape
	mu   sync.Mutex
	env  env
	opts Options

	// guarded by mu
	scratch   row
	stats     *statsState
	top       *topK
	rows      []*row // mainAny, mainCollect
	mem       int64
	matched   int64
	scanned   int64
	bytes     int64
	err       error
	done      bool
	sink      func(*row) // the main stage's consumer, made once
	lookups   map[string]*lookupIndex
	globBuf   []string
	lookupKey []byte
	seq       int64   // events fed so far: the next event's row.seq
	lanes     []*Exec // Parallel: the stats lanes, fed under mu
	// collapseAt is collapseGroups (tests lower it)
	collapseAt int
	released   bool // the memory went back to Options.Shared
	keyBuf     []Value
	// from is the first stage events run through: Query.exactLead once
	// SkipPushedFilter said the store applies those filters, else 0.
	from int
}

// SkipPushedFilter tells the run that the store applies Pushdown.Filter to
// every event it delivers, without messages (the runner scans with
// store.ScanRequest.NoMessages): the leading filter stages it decides
// exactly are not run again, and would fail on the missing messages. It
// reports false, changing nothing, when the query has no such stages
// (Pushdown.ExactFilter) or a block was already fed.
func (x *Exec) SkipPushedFilter() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.q.exactLead == 0 || x.seq != 0 || x.from != 0 {
		return false
	}
	x.from = x.q.exactLead
	for _, l := range x.lanes {
		l.from = x.from
	}
	if x.m.kind == mainStats && x.m.at == x.from && x.stats.countsOnly() {
		x.lanes = nil // counting a block's events needs no lanes (AddBlock)
	}
	return true
}

// Run starts a run of q.
func (q *Query) Run(opts Options) *Exec {
	x := &Exec{q: q, opts: opts, m: mainPlan(q, opts.Limit), collapseAt: collapseGroups}
	x.env = env{q: q, opts: &x.opts, now: opts.Now}
	if x.env.now == 0 {
		x.env.now = time.Now().UnixMilli()
	}
	x.scratch.slots = make([]Value, q.nslots)
	switch x.m.kind {
	case mainStats:
		x.stats = newStatsState(q.stages[x.m.at].stats)
		x.sink = x.addStats
	case mainTop:
		x.top = &topK{k: x.m.k, keys: x.m.keys}
		x.sink = x.addTop
	case mainAny:
		x.sink = x.addAny
	default:
		x.sink = x.addCollect
	}
	x.loadLookups()
	if opts.Parallel > 1 && x.m.kind == mainStats && !(x.m.at == x.from && x.stats.countsOnly()) && x.err == nil {
		for i := 0; i < min(opts.Parallel, 16); i++ {
			x.lanes = append(x.lanes, x.newLane())
		}
	}
	return x
}

// newLane is an Exec that runs the streaming stages and the stats for a
// share of each block; it shares the parent's lookup tables.
func (x *Exec) newLane() *Exec {
	l := &Exec{q: x.q, opts: x.opts, m: x.m}
	l.opts.Parallel, l.opts.MaxMemory, l.opts.Shared = 0, 0, nil // the parent charges for its lanes
	l.env = env{q: x.q, opts: &l.opts, now: x.env.now}
	l.scratch.slots = make([]Value, x.q.nslots)
	l.stats = newStatsState(x.q.stages[x.m.at].stats)
	l.sink = l.addStats
	l.lookups = x.lookups
	return l
}

// minLaneEvents is the least share of a block a lane gets: smaller shares
// are not worth a goroutine (about a microsecond to start and wait for,
// against ~0.3 µs an event of JSON extraction and grouping). It was 256,
// which kept a whole query on one goroutine when the store's pushdown
// filter leaves fewer than 512 events of a block: cairn bench's JSON
// shape keeps ~250 of each 1,000-event block (its JSON lines), so the
// grouping ran on one core while the decode workers waited for it.
const minLaneEvents = 64

// feedLanes splits a block among the lanes and waits for them.
func (x *Exec) feedLanes(group string, evs []store.StoredEvent) {
	n := max(1, min(len(x.lanes), len(evs)/minLaneEvents))
	per := (len(evs) + n - 1) / n
	var wg sync.WaitGroup
	for k := 0; k < n; k++ {
		lo, hi := k*per, min(len(evs), (k+1)*per)
		if lo >= hi {
			break
		}
		lane, part, base := x.lanes[k], evs[lo:hi], x.seq+int64(lo)
		if hi == len(evs) {
			lane.feed(group, part, base) // the last share runs here
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			lane.feed(group, part, base)
		}()
	}
	wg.Wait()
	x.seq += int64(len(evs))
	var mem int64
	for _, l := range x.lanes {
		mem += l.mem
		if l.err != nil && x.err == nil {
			x.err = l.err
		}
	}
	x.charge(mem - x.mem)
	if x.err == nil {
		var groups int
		for _, l := range x.lanes {
			groups += l.stats.len()
		}
		if groups > x.collapseAt {
			x.collapseLanes()
		}
	}
}

// collapseGroups: past this many groups in all lanes a stats runs on one
// lane. Lanes pay off for costly rows (JSON, parse); with many distinct
// keys each lane holds most of them again, which doubles the state (at
// ~60 bytes a group, 2^19 groups are ~30 MiB: past that the memory counts
// more than the second core).
const collapseGroups = 1 << 19

// collapseLanes merges the lanes into the parent's own state and runs the
// rest of the query on the caller's goroutine.
func (x *Exec) collapseLanes() {
	states := make([]*statsState, len(x.lanes))
	for i, l := range x.lanes {
		states[i] = l.stats
	}
	m, mem := mergeInOrder(states)
	x.laneMatched()
	x.stats, x.lanes = m, nil
	x.charge(mem - x.mem)
}

// feed runs a lane over its share; a panic fails the run instead of the
// process (it may be on a goroutine of its own).
func (x *Exec) feed(group string, evs []store.StoredEvent, base int64) {
	defer func() {
		if p := recover(); p != nil {
			x.err = fmt.Errorf("BUG: query execution failed: %v", p)
		}
	}()
	r := &x.scratch
	r.group, r.hasEv = group, true
	for i := range evs {
		r.ev = evs[i]
		r.jsOK = false
		r.seq = base + int64(i)
		x.push(x.from, x.m.at, r, x.sink)
		if x.err != nil {
			return
		}
	}
}

// laneMatched is the events the lanes' stats saw.
func (x *Exec) laneMatched() {
	if x.lanes == nil {
		return
	}
	x.matched = 0
	for _, l := range x.lanes {
		x.matched += l.matched
	}
}

// Cutoff reports, for a query ordered by @timestamp alone (Pushdown.Order
// != 0) whose top-K is full, the timestamp an event must beat to matter:
// with Order -1 only events newer than ts, with 1 only older ones. A
// runner whose scan can skip blocks by time range uses it to skip blocks
// entirely on the wrong side; ok is false when nothing can be skipped yet.
// With Order 1, since a group's blocks come in ascending first timestamp,
// once a block starts at or after ts the rest of that group can be skipped.
// Skipped events are then not counted as matched or scanned.
func (x *Exec) Cutoff() (ts int64, ok bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.m.kind != mainTop || x.m.topTs == 0 || !x.top.full() || len(x.top.rows) == 0 {
		return 0, false
	}
	return x.top.rows[0].row.ev.Timestamp, true
}

// SetScanned overrides the scan statistics with the store's (when the
// store applied the pushdown filter, AddBlock sees only matching events).
func (x *Exec) SetScanned(records, bytes int64) {
	x.mu.Lock()
	x.scanned, x.bytes = records, bytes
	x.mu.Unlock()
}

// AddBlock feeds one block; it returns false when no more input is needed
// (limit any reached, or the run failed).
func (x *Exec) AddBlock(group string, b store.ScanBlock) (more bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.done || x.err != nil {
		return false
	}
	if group == "" {
		group = b.Group
	}
	if b.Summary != nil {
		// an undecoded block that Counted accepted: all its events fall
		// in one bin
		if !x.countsFromSummaries() {
			x.err = errors.New("BUG: a block summary for a query that reads events")
			return false
		}
		if !x.opts.StoreStats {
			x.scanned += b.Summary.Count
		}
		x.matched += b.Summary.Count
		x.charge(x.stats.countSummary(b.Summary.First, b.Summary.Count))
		x.seq += b.Summary.Count
		return true
	}
	r := &x.scratch
	r.group, r.hasEv = group, true
	evs := b.Events
	if !x.opts.StoreStats {
		x.scanned += int64(len(evs))
		for i := range evs {
			x.bytes += int64(len(evs[i].Message))
		}
	}
	if x.lanes != nil {
		x.feedLanes(group, evs)
	} else if x.m.kind == mainStats && x.m.at == x.from && x.stats.countsOnly() {
		x.matched += int64(len(evs))
		x.charge(x.stats.countBins(evs))
	} else if x.m.kind == mainTop && x.m.topTs != 0 && x.q.keepsAll(x.from, x.m.at) {
		x.addOrdered(evs)
	} else {
		for i := range evs {
			r.ev = evs[i]
			r.jsOK = false
			r.seq = x.seq + int64(i)
			x.push(x.from, x.m.at, r, x.sink)
			if x.done || x.err != nil {
				break
			}
		}
	}
	if x.lanes == nil {
		x.seq += int64(len(evs))
	}
	return !x.done && x.err == nil
}

// countsFromSummaries: the query is count()s by one bin() over every
// event, so a block whose events fall in one bin is counted from its
// summary.
func (x *Exec) countsFromSummaries() bool {
	return x.lanes == nil && x.m.kind == mainStats && x.m.at == 0 && x.stats.countsOnly()
}

// Counted is store.ScanRequest.Counted for this run, nil when the query
// needs the events: it accepts a block whose first and last timestamps
// fall in the same bin. Safe for concurrent use (it reads only the plan).
func (x *Exec) Counted() func(first, last int64) bool {
	if !x.countsFromSummaries() {
		return nil
	}
	d := x.stats.sp.bin
	return func(first, last int64) bool { return d.floor(first) == d.floor(last) }
}

// addOrdered is the top-K by @timestamp path: events within a block are
// chronological, so once the heap is full the block is walked from the end
// that can still win and left at the first event that cannot.
func (x *Exec) addOrdered(evs []store.StoredEvent) {
	r := &x.scratch
	t := x.top
	desc := x.m.topTs < 0
	for n := range evs {
		i := n
		if desc {
			i = len(evs) - 1 - n
		}
		ts := evs[i].Timestamp
		if t.full() {
			w := t.rows[0].row.ev.Timestamp
			if desc && ts <= w || !desc && ts >= w {
				// the rest of the block cannot enter the heap; every event
				// reaches it (no stage drops any), so they count as matched
				x.matched += int64(len(evs) - n)
				return
			}
		}
		r.ev = evs[i]
		r.jsOK = false
		r.seq = x.seq + int64(i)
		x.push(x.from, x.m.at, r, x.sink)
		if x.err != nil {
			return
		}
	}
}

// keepsAll reports whether every event reaches stage end from stage from
// (no filter, no fan-out between), so events can be counted without being
// run.
func (q *Query) keepsAll(from, end int) bool {
	for _, s := range q.stages[from:end] {
		switch {
		case s.kind == sFilter, s.kind == sUnnest, s.kind == sParse && s.parse.multi:
			return false
		}
	}
	return true
}

// push runs r through the streaming stages [i, end) and hands it to sink.
func (x *Exec) push(i, end int, r *row, sink func(*row)) {
	for ; i < end; i++ {
		st := x.q.stages[i]
		switch st.kind {
		case sFilter:
			if !st.cond.eval(r, &x.env).truth() {
				return
			}
		case sFields:
			for _, s := range st.sets {
				r.slots[s.slot] = s.e.eval(r, &x.env)
			}
		case sParse:
			next := i + 1
			x.parseRow(st.parse, r, func(r *row) { x.push(next, end, r, sink) })
			return
		case sUnnest:
			v := st.src.eval(r, &x.env)
			if v.k == kNull {
				return
			}
			if v.k != kList {
				r.slots[st.slot] = v
				continue
			}
			for _, e := range v.c.list {
				r.slots[st.slot] = e
				x.push(i+1, end, r, sink)
			}
			return
		case sLookup:
			x.lookupRow(st.look, r)
		case sUnmask:
			unmaskRow(r, &x.env)
		default:
			panic("BUG: blocking stage in a streaming run")
		}
	}
	sink(r)
}

func (x *Exec) charge(n int64) {
	x.mem += n
	if b := x.opts.Shared; b != nil && !x.released {
		if b.used.Add(n) > b.Limit && b.Limit > 0 && n > 0 && x.err == nil {
			x.err = ErrServerMemory
		}
	}
	if x.opts.MaxMemory > 0 && x.mem > x.opts.MaxMemory && x.err == nil {
		x.err = ErrMemory
	}
}

func (x *Exec) addStats(r *row) {
	x.matched++
	x.charge(x.stats.add(r, &x.env))
}

func (x *Exec) addAny(r *row) {
	x.matched++
	c := materialise(r)
	x.rows = append(x.rows, c)
	x.charge(rowSize(c))
	if len(x.rows) >= x.m.k {
		x.done = true
	}
}

func (x *Exec) addCollect(r *row) {
	x.matched++
	c := materialise(r)
	x.rows = append(x.rows, c)
	x.charge(rowSize(c))
}

func (x *Exec) addTop(r *row) {
	x.matched++
	t := x.top
	if t.k <= 0 {
		return
	}
	keys := x.keyBuf[:0]
	for _, k := range t.keys {
		keys = append(keys, k.e.eval(r, &x.env))
	}
	x.keyBuf = keys
	if t.full() && !t.better(keys, t.rows[0].keys) {
		return
	}
	t.seq++
	c := &topRow{row: materialise(r), keys: make([]Value, len(keys)), seq: t.seq}
	for i, k := range keys {
		c.keys[i] = keep(k)
	}
	if t.full() {
		x.charge(-rowSize(t.rows[0].row))
		t.rows[0] = c
		heap.Fix(t, 0)
	} else {
		heap.Push(t, c)
	}
	x.charge(rowSize(c.row))
}

// materialise copies a row out of the scratch row and the block's memory.
func materialise(r *row) *row {
	c := &row{ev: r.ev, hasEv: r.hasEv, group: r.group, slots: make([]Value, len(r.slots))}
	c.ev.Message = strings.Clone(r.ev.Message)
	for i, v := range r.slots {
		c.slots[i] = keep(v)
	}
	return c
}

func rowSize(r *row) int64 {
	n := int64(160 + len(r.ev.Message))
	for _, v := range r.slots {
		n += v.size()
	}
	return n
}

// topK is a heap of the best k rows with the worst at the root.
type topK struct {
	k    int
	keys []sortSpec
	rows []*topRow
	seq  int // arrival counter: equal keys keep arrival order
}

type topRow struct {
	row  *row
	keys []Value
	seq  int
}

func (t *topK) full() bool { return len(t.rows) >= t.k }

// before reports whether key tuple a sorts before b in the sort order.
func before(keys []sortSpec, a, b []Value) bool {
	for i, k := range keys {
		c := 0
		if k.ts && a[i].k == kTime && b[i].k == kTime {
			switch {
			case a[i].n < b[i].n:
				c = -1
			case a[i].n > b[i].n:
				c = 1
			}
		} else {
			c = naturalCompare(a[i], b[i])
			if a[i].k == kNull || b[i].k == kNull {
				// nulls last in both directions
				if c != 0 {
					return c < 0
				}
				continue
			}
		}
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c < 0
		}
	}
	return false
}

func (t *topK) better(a, b []Value) bool { return before(t.keys, a, b) }

func (t *topK) Len() int           { return len(t.rows) }
func (t *topK) Less(i, j int) bool { return t.first(t.rows[j], t.rows[i]) }

// first orders rows by their keys, then by arrival.
func (t *topK) first(a, b *topRow) bool {
	if before(t.keys, a.keys, b.keys) {
		return true
	}
	if before(t.keys, b.keys, a.keys) {
		return false
	}
	return a.seq < b.seq
}
func (t *topK) Swap(i, j int) { t.rows[i], t.rows[j] = t.rows[j], t.rows[i] }
func (t *topK) Push(v any)    { t.rows = append(t.rows, v.(*topRow)) }
func (t *topK) Pop() any {
	v := t.rows[len(t.rows)-1]
	t.rows = t.rows[:len(t.rows)-1]
	return v
}

func (t *topK) sorted() []*row {
	rs := append([]*topRow(nil), t.rows...)
	sort.Slice(rs, func(i, j int) bool { return t.first(rs[i], rs[j]) })
	out := make([]*row, len(rs))
	for i, r := range rs {
		out[i] = r.row
	}
	return out
}

// Snapshot renders the partial result of a running query. A query with two
// stats has no partial rows until the first completes (AWS does the same).
func (x *Exec) Snapshot() Result {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.q.nstats == 2 || x.err != nil {
		return x.result(nil)
	}
	// the stages after the main one run on copies; what they charge is
	// given back so repeated snapshots do not add up
	mem := x.mem
	defer func() { x.charge(mem - x.mem) }()
	rows, err := x.finishRows()
	if err != nil {
		return x.result(nil)
	}
	return x.result(rows)
}

// Finish ends the run and renders the result.
func (x *Exec) Finish() (Result, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	defer x.release()
	if x.err != nil {
		return x.result(nil), x.err
	}
	rows, err := x.finishRows()
	if err != nil {
		return x.result(nil), err
	}
	return x.result(rows), nil
}

// Release gives the run's memory back to Options.Shared; the runner calls
// it when the run ends however it ended (Finish does too). Idempotent.
func (x *Exec) Release() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.release()
}

func (x *Exec) release() {
	if b := x.opts.Shared; b != nil && !x.released {
		b.used.Add(-x.mem)
		x.released = true
	}
}

// statsCut is how many of the main stats' groups can reach the result, 0:
// all may (a stage after it sorts, filters, fans out or aggregates again).
// Only fields and limit after it: the first rows in its order are the
// result, so a million groups render as 10,000 rows, not a million.
func (x *Exec) statsCut() int {
	n := finalCap(x.q, x.opts.Limit)
	for _, st := range x.q.stages[x.m.at+1:] {
		switch st.kind {
		case sFields:
		case sLimit:
			n = min(n, st.limit)
		default:
			return 0
		}
	}
	return n
}

// finishRows takes the main stage's output and runs the remaining stages.
func (x *Exec) finishRows() ([]*row, error) {
	var rows []*row
	switch x.m.kind {
	case mainStats:
		if x.lanes != nil {
			states := make([]*statsState, len(x.lanes))
			for i, l := range x.lanes {
				states[i] = l.stats
			}
			rows = mergedRows(states, &x.env, x.q.nslots, x.statsCut())
		} else {
			rows = x.stats.rows(&x.env, x.q.nslots, x.statsCut())
		}
	case mainTop:
		rows = x.top.sorted()
	default:
		rows = append([]*row(nil), x.rows...)
		if x.m.kind == mainCollect && x.m.sorted {
			sortRows(x, rows, x.m.keys)
		}
	}
	rows, err := x.runRest(rows, x.m.rest)
	if err != nil {
		return nil, err
	}
	if c := finalCap(x.q, x.opts.Limit); len(rows) > c {
		rows = rows[:c]
	}
	return rows, nil
}

func sortRows(x *Exec, rows []*row, keys []sortSpec) {
	ks := make([][]Value, len(rows))
	for i, r := range rows {
		ks[i] = make([]Value, len(keys))
		for j, k := range keys {
			ks[i][j] = k.e.eval(r, &x.env)
		}
	}
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return before(keys, ks[idx[a]], ks[idx[b]]) })
	tmp := append([]*row(nil), rows...)
	for i, j := range idx {
		rows[i] = tmp[j]
	}
}

// runRest runs stages [from, end) over materialised rows.
func (x *Exec) runRest(rows []*row, from int) ([]*row, error) {
	for i := from; i < len(x.q.stages); i++ {
		st := x.q.stages[i]
		switch st.kind {
		case sStats:
			s := newStatsState(st.stats)
			for _, r := range rows {
				x.charge(s.add(r, &x.env))
			}
			if x.err != nil {
				return nil, x.err
			}
			rows = s.rows(&x.env, x.q.nslots, 0)
		case sSort:
			sortRows(x, rows, st.keys)
		case sLimit:
			if len(rows) > st.limit {
				rows = rows[:st.limit]
			}
		case sDedup:
			rows = dedupRows(x, rows, st.dedup)
		case sFillMissing:
			var err error
			if rows, err = x.fillRows(rows, st.fill); err != nil {
				return nil, err
			}
		case sPattern:
			var err error
			if rows, err = x.patternRows(st.pat, rows); err != nil {
				return nil, err
			}
		default:
			// a run of streaming stages
			end := i
			for end < len(x.q.stages) && !x.q.stages[end].kind.blocking() {
				end++
			}
			var out []*row
			sink := func(r *row) { out = append(out, materialise(r)) }
			for _, r := range rows {
				c := *r
				c.slots = append([]Value(nil), r.slots...)
				c.jsOK = false
				x.push(i, end, &c, sink)
			}
			rows = out
			i = end - 1
		}
	}
	return rows, nil
}

func dedupRows(x *Exec, rows []*row, keys []expr) []*row {
	seen := map[string]bool{}
	var out []*row
	var kb []byte
	for _, r := range rows {
		kb = kb[:0]
		hasNull := false
		for _, k := range keys {
			v := k.eval(r, &x.env)
			if v.k == kNull {
				hasNull = true
				break
			}
			kb = appendKey(kb, v)
		}
		// rows with a null in any dedup field are all kept
		if hasNull {
			out = append(out, r)
			continue
		}
		if seen[string(kb)] {
			continue
		}
		seen[string(kb)] = true
		out = append(out, r)
	}
	return out
}

// result renders rows. Nulls are omitted; event rows end with @ptr.
func (x *Exec) result(rows []*row) Result {
	x.laneMatched()
	res := Result{RecordsMatched: float64(x.matched), RecordsScanned: float64(x.scanned), BytesScanned: float64(x.bytes)}
	for _, r := range rows {
		out := make([]ResultField, 0, len(x.q.out)+1)
		for _, c := range x.q.out {
			v := c.e.eval(r, &x.env)
			if v.k == kNull {
				continue
			}
			out = append(out, ResultField{c.name, v.render()})
		}
		if r.hasEv && x.opts.Ptr != nil {
			out = append(out, ResultField{"@ptr", x.opts.Ptr(r.group, r.ev)})
		}
		res.Rows = append(res.Rows, out)
	}
	return res
}
