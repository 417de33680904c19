package cwli

import (
	"container/heap"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
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
}

// ErrMemory is a run that needed more than Options.MaxMemory.
var ErrMemory = errors.New("the query needs more memory than its limit allows; narrow the time range or the stats by fields")

// Result is a query's rows and statistics.
type Result struct {
	Rows                                         [][]ResultField
	RecordsMatched, RecordsScanned, BytesScanned float64
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
type Exec struct {
	q    *Query
	m    mainShape
	mu   sync.Mutex
	env  env
	opts Options

	// guarded by mu
	scratch row
	stats   *statsState
	top     *topK
	rows    []*row // mainAny, mainCollect
	mem     int64
	matched int64
	scanned int64
	bytes   int64
	err     error
	done    bool
	sink    func(*row) // the main stage's consumer, made once
	lookups map[string]*lookupIndex
	globBuf []string
	keyBuf  []Value
}

// Run starts a run of q.
func (q *Query) Run(opts Options) *Exec {
	x := &Exec{q: q, opts: opts, m: mainPlan(q, opts.Limit)}
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
	return x
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
	r := &x.scratch
	r.group, r.hasEv = group, true
	evs := b.Events
	for i := range evs {
		x.scanned++
		x.bytes += int64(len(evs[i].Message))
	}
	if x.m.kind == mainTop && x.m.topTs != 0 && x.q.keepsAll(x.m.at) {
		x.addOrdered(evs)
	} else {
		for i := range evs {
			r.ev = evs[i]
			r.jsOK = false
			x.push(0, x.m.at, r, x.sink)
			if x.done || x.err != nil {
				break
			}
		}
	}
	return !x.done && x.err == nil
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
		x.push(0, x.m.at, r, x.sink)
		if x.err != nil {
			return
		}
	}
}

// keepsAll reports whether every event reaches stage end (no filter, no
// fan-out before it), so events can be counted without being run.
func (q *Query) keepsAll(end int) bool {
	for _, s := range q.stages[:end] {
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
		default:
			panic("BUG: blocking stage in a streaming run")
		}
	}
	sink(r)
}

func (x *Exec) charge(n int64) {
	x.mem += n
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
	c := &topRow{row: materialise(r), keys: make([]Value, len(keys))}
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
func (t *topK) Less(i, j int) bool { return before(t.keys, t.rows[j].keys, t.rows[i].keys) }
func (t *topK) Swap(i, j int)      { t.rows[i], t.rows[j] = t.rows[j], t.rows[i] }
func (t *topK) Push(v any)         { t.rows = append(t.rows, v.(*topRow)) }
func (t *topK) Pop() any {
	v := t.rows[len(t.rows)-1]
	t.rows = t.rows[:len(t.rows)-1]
	return v
}

func (t *topK) sorted() []*row {
	rs := append([]*topRow(nil), t.rows...)
	sort.SliceStable(rs, func(i, j int) bool { return before(t.keys, rs[i].keys, rs[j].keys) })
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
	if x.err != nil {
		return x.result(nil), x.err
	}
	rows, err := x.finishRows()
	if err != nil {
		return x.result(nil), err
	}
	return x.result(rows), nil
}

// finishRows takes the main stage's output and runs the remaining stages.
func (x *Exec) finishRows() ([]*row, error) {
	var rows []*row
	switch x.m.kind {
	case mainStats:
		rows = x.stats.rows(&x.env, x.q.nslots)
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
			rows = s.rows(&x.env, x.q.nslots)
		case sSort:
			sortRows(x, rows, st.keys)
		case sLimit:
			if len(rows) > st.limit {
				rows = rows[:st.limit]
			}
		case sDedup:
			rows = dedupRows(x, rows, st.dedup)
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
	if x.q.statsRows {
		// matched counts the events that reached the first stats
	}
	return res
}

var _ = fmt.Sprintf
