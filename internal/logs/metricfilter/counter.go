package metricfilter

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/fieldselect"
	"github.com/cairnlog/cairn/internal/store"
)

// CounterConfig configures a Counter.
type CounterConfig struct {
	Store   store.Store
	Compile func(expr string) (logs.Pattern, error)
	Logger  *slog.Logger
	// SaveInterval is how often a busy group's counters are persisted
	// (default 1 s). Any interval is correct: the record holds the counters
	// and the feed position they include, so a crash only replays the feed
	// since the last save into the counters of that save.
	SaveInterval time.Duration
	// Transformed returns the transformed versions of the events of the
	// append at feed sequence seq, by Pos.Index, or nil when it was not
	// transformed (the transformer family's Transformed). Filters created
	// with applyOnTransformedLogs count through it; nil: they count the
	// stored events.
	Transformed func(ctx context.Context, scope store.Scope, group string, seq uint64) (func(store.StoredEvent) (string, bool), error)
}

// MaxSeriesPerFilter bounds the distinct dimension-value combinations one
// filter keeps (AWS may disable a filter past 1,000 in an hour); datapoints
// for new combinations beyond it are dropped and counted
// (cairn_metric_filter_dropped_datapoints_total), so memory does not grow
// with what writers put in a dimension field.
const MaxSeriesPerFilter = 1000

// feedPage is how many events one ReadFeed returns at most.
const feedPage = 4096

// maxPageBuf bounds the page array the Counter keeps between reads
// (Counter.pageBuf): a page holds whole blocks, so it may pass feedPage by
// up to a block (10,000 events); a larger array, 64 bytes an event, is
// left to the collector.
const maxPageBuf = 16384

// Counter follows the feed of every log group that has metric filters and
// counts their datapoints. It is the server's background worker (Close
// stops it); its Collect serves the counts.
type Counter struct {
	st          store.Store
	compile     func(string) (logs.Pattern, error)
	log         *slog.Logger
	saveEvery   time.Duration
	transformed func(ctx context.Context, scope store.Scope, group string, seq uint64) (func(store.StoredEvent) (string, bool), error)

	// Lock order: Counter.mu before groupRun.mu.
	mu     sync.Mutex
	groups map[gkey]*groupRun // guarded by mu
	dirty  map[gkey]struct{}  // guarded by mu: groups with feed to read
	wake   chan struct{}      // capacity 1: the worker has work
	maxSeq atomic.Uint64      // highest feed position Subscribe told of
	unsub  func()
	stop   chan struct{}
	done   chan struct{}
	close  sync.Once

	dropped atomic.Uint64

	// sc is count's scratch, kept from one page (and group) to the next so
	// counting allocates nothing per page: one per Counter, not per group,
	// since blockScan's copy of a block's messages is as large as the
	// largest block (1 MB). Only the worker goroutine counts (run → drain →
	// process → count).
	sc scratch
	// pageBuf is the last feed page's array, cleared, given back to
	// ReadFeed (FeedRequest.Buf) for the next page, so following a busy
	// group does not allocate (and collect) a page array each read. Only
	// the worker goroutine reads the feed.
	pageBuf []store.StoredEvent

	// lease: the Counter counts only on the node holding it (on a shared
	// engine; always on a one-node one), so each event is counted once.
	lease *store.Lease
}

type gkey struct {
	scope store.Scope
	group string
}

// groupRun is one followed group.
type groupRun struct {
	initSeq uint64 // feed position to start from when no state is stored
	reload  bool   // guarded by Counter.mu: the filters changed
	gen     uint64 // guarded by mu: the lease holding the state was loaded in

	mu      sync.Mutex // guards the fields below (Collect reads them)
	loaded  bool
	filters []*compiled
	eager   []rareLiteral // literals searched a block at once (assignLiterals)
	tuned   bool          // eager's bytes re-picked by the group's messages (tuneRare)
	pruned  bool          // common prefilter literals dropped (pruneCommon)
	// pruneJSON's sample: the JSON filters' literals judged (jsonCands),
	// the JSON objects sampled, and how many had each literal (by id);
	// jsonPruned once judged.
	jsonCands   []rareLiteral
	jsonSeen    int
	jsonPresent [64]int
	jsonPruned  bool
	state       groupState
	unsaved     bool
	lastSave    time.Time
}

// groupState is the persisted record: counters and the feed position
// they include.
type groupState struct {
	Seq     uint64                   `json:"seq"`
	Filters map[string]*filterCounts `json:"filters"`
}

type filterCounts struct {
	Version int64          `json:"version"` // the filter's revision (MetricFilter.revision)
	Series  []*seriesCount `json:"series"`
	index   map[string]*seriesCount
	plain   *seriesCount // the series without dimensions, once it exists (noDims)
	// last is the series series returned last: consecutive datapoints
	// of a filter often name the same one.
	last *seriesCount
}

type seriesCount struct {
	Dims  []string `json:"dims,omitempty"`
	Sum   float64  `json:"sum"`
	Count float64  `json:"count"`
	key   string   // Dims joined by 0xff (filterCounts.index's key)
}

// series is the series of dims, whose key (dims joined by 0xff) is key;
// dims is copied when the series is new (the caller reuses it).
func (f *filterCounts) series(key []byte, dims []string) *seriesCount {
	if f.index == nil {
		f.index = make(map[string]*seriesCount, len(f.Series))
		for _, s := range f.Series {
			s.key = strings.Join(s.Dims, "\xff")
			f.index[s.key] = s
		}
	}
	if f.last != nil && string(key) == f.last.key {
		return f.last
	}
	if s := f.index[string(key)]; s != nil {
		f.last = s
		return s
	}
	if len(f.Series) >= MaxSeriesPerFilter {
		return nil
	}
	s := &seriesCount{Dims: slices.Clone(dims), key: string(key)}
	f.Series = append(f.Series, s)
	f.index[s.key] = s
	f.last = s
	return s
}

// noDims is the series without dimensions (key ""), created on its first
// datapoint; nil past MaxSeriesPerFilter.
func (f *filterCounts) noDims() *seriesCount {
	if f.plain == nil {
		f.plain = f.series(nil, nil)
	}
	return f.plain
}

// StartCounter loads the groups that have filters and starts following
// them.
func StartCounter(ctx context.Context, cfg CounterConfig) (*Counter, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SaveInterval <= 0 {
		cfg.SaveInterval = time.Second
	}
	c := &Counter{st: cfg.Store, compile: cfg.Compile, log: cfg.Logger, saveEvery: cfg.SaveInterval, transformed: cfg.Transformed,
		groups: map[gkey]*groupRun{}, dirty: map[gkey]struct{}{}, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	err := c.st.ListResources(ctx, store.ResourceKey{Kind: indexKind}, "", "", func(n string, _ []byte) bool {
		if scope, group, ok := parseIndexName(n); ok {
			k := gkey{scope, group}
			c.groups[k] = &groupRun{reload: true}
			c.dirty[k] = struct{}{}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	c.lease = store.NewLease(c.st, "metricfilter/counter", c.acquired)
	c.unsub = c.st.Subscribe(c.appended)
	// The first pass. Not a blocking send: the lease's acquired callback and
	// the first append notification may already have signalled (wake holds
	// one), and a blocking send then waited forever for run, which only
	// starts below (a three-node test on PostgreSQL hung here in CI).
	c.signal()
	go c.run()
	return c, nil
}

// appended is the store's notification of a durable append; it must not
// block.
func (c *Counter) appended(a store.Appended) {
	if len(a.Events) > 0 {
		seq := a.Events[0].Pos.Seq
		for {
			old := c.maxSeq.Load()
			if seq <= old || c.maxSeq.CompareAndSwap(old, seq) {
				break
			}
		}
	}
	k := gkey{a.Scope, a.Group}
	c.mu.Lock()
	_, ok := c.groups[k]
	if ok {
		c.dirty[k] = struct{}{}
	}
	c.mu.Unlock()
	if ok {
		c.signal()
	}
}

// acquired: this node took the lease. Another node may have counted and
// created filters meanwhile: every group's state is read again (process
// sees the new generation) and the index is listed for groups it lacks.
func (c *Counter) acquired() {
	c.discover()
	c.mu.Lock()
	for k := range c.groups {
		c.dirty[k] = struct{}{}
	}
	c.mu.Unlock()
	c.signal()
}

// discover adds the indexed groups this node does not follow: filters put
// through another node of a shared engine (their Changed reached only that
// node). Such a group without stored state starts at its feed's current
// position when found.
func (c *Counter) discover() {
	var found []gkey
	err := c.st.ListResources(context.Background(), store.ResourceKey{Kind: indexKind}, "", "", func(n string, _ []byte) bool {
		if scope, group, ok := parseIndexName(n); ok {
			found = append(found, gkey{scope, group})
		}
		return true
	})
	if err != nil {
		return
	}
	for _, k := range found {
		c.mu.Lock()
		_, ok := c.groups[k]
		c.mu.Unlock()
		if ok {
			continue
		}
		at, err := feedEnd(c.st, k)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if _, ok := c.groups[k]; !ok {
			c.groups[k] = &groupRun{reload: true, initSeq: at}
			c.dirty[k] = struct{}{}
		}
		c.mu.Unlock()
	}
}

// feedEnd is the least feed position with no block after it (a binary
// search: the feed has no "last position" call).
func feedEnd(st store.Store, k gkey) (uint64, error) {
	lo, hi := uint64(0), uint64(1<<63)
	for lo < hi {
		mid := lo + (hi-lo)/2
		p, err := st.ReadFeed(context.Background(), store.FeedRequest{Scope: k.scope, Group: k.group, After: mid, Limit: 1})
		if err != nil {
			return 0, err
		}
		if len(p.Events) > 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

func (c *Counter) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Changed tells the Counter that a group's filters changed (Put, Delete).
// A group it did not follow yet starts at the feed's current position:
// what was ingested before its first filter is not that filter's.
func (c *Counter) Changed(scope store.Scope, group string) {
	k := gkey{scope, group}
	c.mu.Lock()
	r := c.groups[k]
	if r == nil {
		r = &groupRun{initSeq: c.maxSeq.Load()}
		c.groups[k] = r
	}
	r.reload = true
	c.dirty[k] = struct{}{}
	c.mu.Unlock()
	c.signal()
}

// Close stops the worker and saves every group's counters; it is
// idempotent.
func (c *Counter) Close() error {
	c.close.Do(func() {
		c.unsub()
		close(c.stop)
		<-c.done
		c.lease.Close()
	})
	return nil
}

func (c *Counter) stopped() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

func (c *Counter) run() {
	defer close(c.done)
	tick := time.NewTicker(c.saveEvery)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			c.saveAll(true)
			return
		case <-c.wake:
			c.drain()
		case <-tick.C:
			if _, shared := c.st.(store.Leaser); shared && c.lease.Held() {
				c.discover()
				c.drain()
			}
			c.saveAll(false)
		}
	}
}

// drain reads the feed of every dirty group.
func (c *Counter) drain() {
	for !c.stopped() && c.lease.Held() {
		c.mu.Lock()
		work := make([]gkey, 0, len(c.dirty))
		for k := range c.dirty {
			work = append(work, k)
		}
		clear(c.dirty)
		c.mu.Unlock()
		if len(work) == 0 {
			return
		}
		for _, k := range work {
			if c.stopped() {
				return
			}
			if err := c.process(k); err != nil {
				c.log.Warn("metric filters: counting a log group failed; retrying on its next append", "group", k.group, "err", err)
			}
		}
	}
}

// process brings one group's counters up to its feed's high-water mark.
func (c *Counter) process(k gkey) error {
	ctx := context.Background()
	c.mu.Lock()
	r := c.groups[k]
	if r == nil {
		c.mu.Unlock()
		return nil
	}
	reload := r.reload
	r.reload = false
	c.mu.Unlock()

	r.mu.Lock()
	defer r.mu.Unlock()
	if gen := c.lease.Gen(); r.gen != gen {
		// Held anew: the stored state may be another node's, newer.
		r.gen, r.loaded, reload = gen, false, true
	}
	if reload || !r.loaded {
		n, err := c.load(ctx, k, r)
		if errors.Is(err, store.ErrGroupNotFound) || err == nil && n == 0 {
			c.forget(ctx, k, r)
			return nil
		}
		if err != nil {
			c.markReload(k, r)
			return err
		}
	}
	for !c.stopped() {
		page, err := c.st.ReadFeed(ctx, store.FeedRequest{Scope: k.scope, Group: k.group, After: r.state.Seq, Limit: feedPage, Buf: c.pageBuf})
		c.pageBuf = nil
		if errors.Is(err, store.ErrGroupNotFound) {
			c.forget(ctx, k, r)
			return nil
		}
		if err != nil {
			return err
		}
		if page.Next != r.state.Seq {
			err = c.count(ctx, k, r, page.Events)
		}
		if cap(page.Events) <= maxPageBuf {
			// Cleared, so an idle Counter keeps no messages alive.
			clear(page.Events)
			c.pageBuf = page.Events[:0]
		}
		if page.Next == r.state.Seq {
			break
		}
		if err != nil {
			return err // nothing of the page was counted; read again
		}
		r.state.Seq = page.Next
		r.unsaved = true
		if len(page.Events) == 0 {
			break
		}
	}
	if r.unsaved && time.Since(r.lastSave) >= c.saveEvery {
		return c.save(ctx, k, r)
	}
	return nil
}

func (c *Counter) markReload(k gkey, r *groupRun) {
	c.mu.Lock()
	r.reload = true
	c.mu.Unlock()
}

// load reads the group's filters (and, the first time, its saved state)
// and reconciles the counters: a deleted filter's go, a replaced one's
// start again. It returns the number of filters.
func (c *Counter) load(ctx context.Context, k gkey, r *groupRun) (int, error) {
	var fs []*compiled
	err := c.st.ListResources(ctx, store.ResourceKey{Scope: k.scope, Group: k.group, Kind: logs.MetricFilterKind}, "", "", func(_ string, v []byte) bool {
		var f MetricFilter
		if json.Unmarshal(v, &f) != nil || len(f.MetricTransformations) != 1 {
			return true
		}
		cf, err := compileFilter(c.compile, f)
		if err != nil {
			c.log.Warn("metric filters: a stored filter does not compile; skipped", "group", k.group, "filter", f.FilterName, "err", err)
			return true
		}
		if !cf.criteria.Selects(fieldselect.Group(k.scope.Account, k.scope.Region)) {
			// Its fieldSelectionCriteria selects none of the group's
			// events: it processes none, so it counts (and defaults) none.
			return true
		}
		fs = append(fs, cf)
		return true
	})
	if err != nil {
		return 0, err
	}
	if !r.loaded {
		v, err := c.st.GetResource(ctx, store.ResourceKey{Scope: k.scope, Group: k.group, Kind: stateKind, Name: stateName})
		switch {
		case errors.Is(err, store.ErrResourceNotFound):
			r.state = groupState{Seq: r.initSeq}
		case err != nil:
			return 0, err
		default:
			if err := json.Unmarshal(v, &r.state); err != nil {
				return 0, err
			}
		}
		if r.state.Filters == nil {
			r.state.Filters = map[string]*filterCounts{}
		}
		r.loaded, r.lastSave = true, time.Now()
	}
	keep := make(map[string]bool, len(fs))
	for _, f := range fs {
		keep[f.name] = true
		if fc := r.state.Filters[f.name]; fc == nil || fc.Version != f.revision {
			r.state.Filters[f.name] = &filterCounts{Version: f.revision}
			r.unsaved = true
		}
	}
	for name := range r.state.Filters {
		if !keep[name] {
			delete(r.state.Filters, name)
			r.unsaved = true
		}
	}
	r.setFilters(fs)
	return len(fs), nil
}

// setFilters makes fs the group's filters, with their literal table and
// nothing tuned or pruned yet.
func (r *groupRun) setFilters(fs []*compiled) {
	r.filters = fs
	r.eager, r.tuned, r.pruned = assignLiterals(fs), false, false
	r.jsonCands, r.jsonSeen, r.jsonPresent = jsonCommonLiterals(fs, r.eager), 0, [64]int{}
	r.jsonPruned = len(r.jsonCands) == 0
	planMembers(fs)
}

// forget stops following a group that has no filters (or is gone) and
// drops its index entry and state.
func (c *Counter) forget(ctx context.Context, k gkey, r *groupRun) {
	c.mu.Lock()
	if c.groups[k] == r && !r.reload {
		delete(c.groups, k)
	}
	gone := c.groups[k] != r
	c.mu.Unlock()
	if !gone {
		return // a filter was put meanwhile; the next pass loads it
	}
	r.filters, r.state, r.loaded = nil, groupState{}, false
	_ = c.st.DeleteResource(ctx, store.ResourceKey{Scope: k.scope, Group: k.group, Kind: stateKind, Name: stateName})
	// The index entry goes only if no filter came back meanwhile (Put
	// writes the entry before the filter, under the Service's lock, so a
	// filter present now has its entry).
	n := 0
	err := c.st.ListResources(ctx, store.ResourceKey{Scope: k.scope, Group: k.group, Kind: logs.MetricFilterKind}, "", "", func(string, []byte) bool { n++; return false })
	if errors.Is(err, store.ErrGroupNotFound) || err == nil && n == 0 {
		_ = c.st.DeleteResource(ctx, store.ResourceKey{Kind: indexKind, Name: indexName(k.scope, k.group)})
	}
}

// count applies every filter to a page of whole blocks: each event once,
// through every filter, so that what one filter learns of it (a literal's
// presence, a backslash, its JSON members, its fields) serves the others.
// Counts go to the state only when the whole page was read: the
// transformed versions, the only reads that can fail, are all fetched
// before anything is counted. Counting itself allocates nothing per event:
// values are extracted into a reused scratch, series are found by a key
// built in a reused buffer (or, without dimensions, held by the filter's
// counts), and a datapoint's dimension values are copied only when it
// starts a new series. A filter matching every event with a constant
// value counts a block at once (addN); a literal-only term filter is
// decided from the group's literal answers (termsMatch).
func (c *Counter) count(ctx context.Context, k gkey, r *groupRun, events []store.StoredEvent) error {
	needAlt := c.transformed != nil && slices.ContainsFunc(r.filters, func(f *compiled) bool { return f.transformed })
	var alts []func(store.StoredEvent) (string, bool) // per block of the page, in order
	if needAlt {
		for i := 0; i < len(events); {
			j := blockEnd(events, i)
			alt, err := c.transformed(ctx, k.scope, k.group, events[i].Pos.Seq)
			if err != nil {
				return err
			}
			alts = append(alts, alt)
			i = j
		}
	}
	counts := make([]*filterCounts, len(r.filters))
	for fi, f := range r.filters {
		counts[fi] = r.state.Filters[f.name]
	}
	matched := make([]bool, len(r.filters))
	active := make([]int, 0, len(r.filters)) // the block's filters that look at each event
	objs := make([]int, 0, len(r.filters))   // of them, the JSON filters of the stored message
	rest := make([]int, 0, len(r.filters))   // and the others
	sc := &c.sc
	var key []byte
	for i, bi := 0, 0; i < len(events); bi++ {
		j := blockEnd(events, i)
		block := events[i:j]
		i = j
		var alt func(store.StoredEvent) (string, bool)
		if needAlt {
			alt = alts[bi]
		}
		clear(matched)
		active = active[:0]
		for fi, f := range r.filters {
			switch {
			case block[0].IngestionTime < f.creation:
			case f.all:
				c.addN(counts[fi], f.value.num, len(block))
				matched[fi] = true
			default:
				active = append(active, fi)
			}
		}
		var looked uint64
		if len(active) > 0 && len(r.eager) > 0 {
			looked = blockScan(block, r.eager, !r.tuned, &sc.block, haveAVX2)
			r.tuned = true
			if !r.pruned && len(block) >= pruneSample {
				r.eager, r.pruned = pruneCommon(r.filters, r.eager, sc.block.present), true
			}
			// Term filters whose literals the block search answered are
			// decided for the whole block at once (termsBlock), out of
			// the per-event loop.
			kept := active[:0]
			for _, fi := range active {
				f := r.filters[fi]
				if !f.terms || !f.termBits || f.transformed && alt != nil || looked&(f.mustBits|f.notBits|f.anyBits) != f.mustBits|f.notBits|f.anyBits {
					kept = append(kept, fi)
					continue
				}
				if n := f.termsBlock(sc.block.present); n > 0 {
					matched[fi] = true
					c.addN(counts[fi], f.value.num, n)
				}
			}
			active = kept
		}
		// The JSON filters reading the stored message (objs) are asked
		// only of the events that are JSON objects, the others (rest) of
		// every event (the order among filters changes no answer: each
		// has its own counts, and what they share is memoised per event).
		objs, rest = objs[:0], rest[:0]
		sc.loadsAnyway = false
		for _, fi := range active {
			f := r.filters[fi]
			if f.isJSON && !(f.transformed && alt != nil) {
				objs = append(objs, fi)
				if f.members != nil && len(f.pre)+len(f.preEsc) == 0 {
					sc.loadsAnyway = true
				}
			} else {
				rest = append(rest, fi)
			}
		}
		for ei := range block {
			if len(active) == 0 {
				break
			}
			e := &block[ei]
			sc.view[0].Reset(e.Message)
			plain := eventDoc{msg: e.Message, memo: true, view: &sc.view[0]}
			if looked != 0 {
				plain.looked, plain.present = looked, sc.block.present[ei]
			}
			if len(objs) > 0 && plain.object() {
				for _, fi := range objs {
					f := r.filters[fi]
					if f.members != nil {
						if m, dp, ok, done := f.applyMembers(&plain, k.scope, sc); done {
							matched[fi] = matched[fi] || m
							if ok {
								key = c.add(counts[fi], dp, key)
							}
							continue
						}
					}
					m, dp, ok := f.applyDoc(&plain, k.scope, sc)
					matched[fi] = matched[fi] || m
					if ok {
						key = c.add(counts[fi], dp, key)
					}
				}
			}
			var tr eventDoc
			haveTr := false
			for _, fi := range rest {
				f := r.filters[fi]
				ev := &plain
				if f.transformed && alt != nil {
					if !haveTr {
						v, ok := alt(*e)
						if !ok {
							v = e.Message
						}
						sc.view[1].Reset(v)
						tr, haveTr = eventDoc{msg: v, memo: true, view: &sc.view[1]}, true
					}
					ev = &tr
				}
				if f.terms {
					if f.termsMatch(ev) {
						matched[fi] = true
						c.addN(counts[fi], f.value.num, 1)
					}
					continue
				}
				if f.isJSON && !ev.object() {
					continue // most events of a mixed group are no JSON object: no call
				}
				// (A JSON filter here reads the transformed message: the
				// member table holds the stored one's, so applyDoc.)
				m, dp, ok := f.applyDoc(ev, k.scope, sc)
				matched[fi] = matched[fi] || m
				if ok {
					key = c.add(counts[fi], dp, key)
				}
			}
			if !r.jsonPruned && plain.object() {
				// pruneJSON's sample: the stored message's literals.
				for i := range r.jsonCands {
					if plain.has(&r.jsonCands[i]) {
						r.jsonPresent[r.jsonCands[i].id]++
					}
				}
				if r.jsonSeen++; r.jsonSeen >= pruneSample {
					pruneJSON(r.filters, r.jsonCands, r.jsonSeen, &r.jsonPresent)
					r.jsonPruned = true
				}
			}
		}
		for fi, f := range r.filters {
			if !matched[fi] && f.defaultValue != nil && block[0].IngestionTime >= f.creation {
				key = c.add(counts[fi], datapoint{value: *f.defaultValue}, key)
			}
		}
	}
	return nil
}

// blockEnd is the end of the block (one append) starting at events[i].
func blockEnd(events []store.StoredEvent, i int) int {
	j := i + 1
	for j < len(events) && events[j].Pos.Seq == events[i].Pos.Seq {
		j++
	}
	return j
}

// add counts dp in fc; key is the caller's buffer for the series key,
// returned for reuse.
func (c *Counter) add(fc *filterCounts, dp datapoint, key []byte) []byte {
	if len(dp.dims) == 0 {
		c.addN(fc, dp.value, 1)
		return key
	}
	key = key[:0]
	for i, d := range dp.dims {
		if i > 0 {
			key = append(key, '\xff')
		}
		key = append(key, d...)
	}
	s := fc.series(key, dp.dims)
	if s == nil {
		c.dropped.Add(1)
		return key
	}
	s.Sum += dp.value
	s.Count++
	return key
}

// exactInts bounds the integers a float64 holds exactly (2^53).
const exactInts = 1 << 53

// addN counts n datapoints of value v without dimensions in fc, with the
// sum that adding v n times one by one gives: at once when every partial
// sum is an integer a float64 holds exactly (the usual constant "1"), one
// by one otherwise (where the order of float additions shows).
func (c *Counter) addN(fc *filterCounts, v float64, n int) {
	s := fc.noDims()
	if s == nil {
		c.dropped.Add(uint64(n))
		return
	}
	fn := float64(n)
	if v == math.Trunc(v) && s.Sum == math.Trunc(s.Sum) && math.Abs(s.Sum)+fn*math.Abs(v) < exactInts && s.Count+fn < exactInts {
		s.Sum += fn * v
		s.Count += fn
		return
	}
	for range n {
		s.Sum += v
		s.Count++
	}
}

func (c *Counter) save(ctx context.Context, k gkey, r *groupRun) error {
	v, err := json.Marshal(r.state)
	if err != nil {
		return err
	}
	err = c.st.PutResource(ctx, store.ResourceKey{Scope: k.scope, Group: k.group, Kind: stateKind, Name: stateName}, v)
	if errors.Is(err, store.ErrGroupNotFound) {
		return nil // the group is gone; the next pass forgets it
	}
	if err != nil {
		return err
	}
	r.unsaved, r.lastSave = false, time.Now()
	return nil
}

// saveAll persists every group with unsaved counts (force: regardless of
// when it last saved).
func (c *Counter) saveAll(force bool) {
	c.mu.Lock()
	runs := make(map[gkey]*groupRun, len(c.groups))
	for k, r := range c.groups {
		runs[k] = r
	}
	c.mu.Unlock()
	if !c.lease.Held() {
		return // the holder's state is the one stored
	}
	// Fenced (store.Fence): a node paused past the lease, resumed while
	// another counts, cannot store its stale counts over the holder's.
	ctx := store.WithFence(context.Background(), c.lease.Fence())
	for k, r := range runs {
		r.mu.Lock()
		if r.loaded && r.unsaved && (force || time.Since(r.lastSave) >= c.saveEvery) {
			if err := c.save(ctx, k, r); err != nil {
				c.log.Warn("metric filters: saving counters failed", "group", k.group, "err", err)
			}
		}
		r.mu.Unlock()
	}
}
