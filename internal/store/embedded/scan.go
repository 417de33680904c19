package embedded

import (
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

// Scan is a pipeline of three parts, all owned by one call:
//
//	walker (1 goroutine): walks the groups' summaries in key order, rules
//	    blocks out by summary (time range, stream, the filter's required
//	    4-grams), and hands each remaining block to the workers and, in the
//	    same order, to the delivery queue;
//	workers (GOMAXPROCS goroutines): fetch, decompress and filter blocks;
//	the caller's goroutine: takes blocks off the queue in order, waits for
//	    each to be decoded, and calls fn.
//
// The queue and the job channel are bounded, so at most scanInFlight+2
// blocks per worker (queued, handed over, being decoded) plus the one being
// delivered are held at once, however many match. When fn
// says stop, ctx ends or a block fails, the call cancels the pipeline,
// drains it and waits for every goroutine before it returns.

// scanInFlight is how many blocks per worker may wait for delivery.
const scanInFlight = 3

// scanItem is one block on its way through the pipeline.
type scanItem struct {
	sg   *scanGroup
	sum  summary // filter cleared: the iterator's buffer is not ours
	name string  // the block's stream
	done chan struct{}

	// Set by the worker before done is closed.
	block         store.ScanBlock
	err           error
	scannedEvents int64
	scannedBytes  int64
}

// scanGroup is what a scan needs of one group.
type scanGroup struct {
	g          *group
	allowed    map[uint64]string // nil: every stream (subject to prefix)
	single     *stream           // the one selected stream: walk its index
	start, end int64             // [start, end), narrowed by retention
}

type scanner struct {
	e                       *Engine
	r                       store.ScanRequest
	need, needUnlessEscaped gramQuery
}

// Scan implements store.Store.
func (e *Engine) Scan(ctx context.Context, r store.ScanRequest, fn func(store.ScanBlock) bool) (st store.ScanStats, err error) {
	if err := e.enter(); err != nil {
		return st, err
	}
	defer e.exit()
	if len(r.Groups) == 0 {
		return st, errors.New("BUG: scan of no groups")
	}
	sc := &scanner{e: e, r: r}
	if r.Filter != nil {
		sc.need = newGramQuery(r.Filter.Required())
		sc.needUnlessEscaped = newGramQuery(r.Filter.RequiredUnlessEscaped())
	}
	var groups []*scanGroup
	for _, name := range r.Groups {
		g, err := e.lookup(r.Scope, name)
		if err != nil {
			return st, err
		}
		sg, err := sc.prepare(g)
		if err != nil {
			return st, err
		}
		if sg != nil {
			groups = append(groups, sg)
		}
	}
	if len(groups) == 0 {
		return st, nil
	}

	pctx := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := max(2, runtime.GOMAXPROCS(0)) // two: a slow Match on one block does not stall the next
	jobs := make(chan *scanItem, workers)
	queue := make(chan *scanItem, scanInFlight*workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range jobs {
				if ctx.Err() == nil {
					sc.load(it)
				}
				close(it.done)
			}
		}()
	}
	var walkErr error
	var skipped int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(queue)
		defer close(jobs)
		for _, sg := range groups {
			n, err := sc.walk(ctx, sg, jobs, queue)
			skipped += n
			if err != nil {
				walkErr = err
				return
			}
		}
	}()

	var fnErr error
	for it := range queue {
		select {
		case <-it.done:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		if it.err != nil {
			fnErr = it.err
			break
		}
		st.ScannedEvents += it.scannedEvents
		st.ScannedBytes += it.scannedBytes
		st.Blocks++
		if len(it.block.Events) > 0 && !fn(it.block) {
			break
		}
	}
	cancel()
	for it := range queue {
		<-it.done
	}
	wg.Wait()
	st.SkippedBlocks = skipped
	switch {
	case fnErr != nil:
		return st, fnErr
	case pctx.Err() != nil:
		return st, pctx.Err()
	case walkErr != nil && !errors.Is(walkErr, context.Canceled):
		return st, walkErr
	}
	return st, nil
}

// prepare resolves the request's streams and time range in g; nil when the
// group can hold nothing the request selects.
func (sc *scanner) prepare(g *group) (*scanGroup, error) {
	r := sc.r
	sg := &scanGroup{g: g, start: r.Start, end: r.End}
	if sg.end <= 0 {
		sg.end = math.MaxInt64
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.deleted {
		return nil, store.ErrGroupNotFound
	}
	if days := g.info.RetentionDays; days > 0 {
		sg.start = max(sg.start, sc.e.cfg.Now().UnixMilli()-int64(days)*86_400_000)
	}
	if len(r.Streams) > 0 {
		sg.allowed = make(map[uint64]string, len(r.Streams))
		for _, n := range r.Streams {
			if s := g.streams[n]; s != nil && strings.HasPrefix(n, r.StreamPrefix) {
				sg.allowed[s.id] = n
				sg.single = s
			}
		}
		if len(sg.allowed) == 0 {
			return nil, nil
		}
		if len(sg.allowed) != 1 {
			sg.single = nil
		}
	}
	if sg.start >= sg.end {
		return nil, nil
	}
	return sg, nil
}

// walk sends sg's eligible blocks to jobs and queue, in key order, and
// returns how many it ruled out by summary.
func (sc *scanner) walk(ctx context.Context, sg *scanGroup, jobs, queue chan<- *scanItem) (skipped int64, err error) {
	g := sg.g
	var prefix []byte
	decode := decodeSummary
	if sg.single != nil {
		prefix = u64key(tagIndex, g.id, sg.single.id)
		sid := sg.single.id
		decode = func(k, v []byte) (summary, error) { return decodeIndex(k, v, sid) }
	} else {
		prefix = u64key(tagSummary, g.id)
	}
	upper := prefixEnd(prefix)
	if sg.end != math.MaxInt64 {
		upper = u64keyAppend(prefix, uint64(clampTime(sg.end)))
	}
	it, err := sc.e.db.NewIterWithContext(ctx, &pebble.IterOptions{
		LowerBound: u64keyAppend(prefix, uint64(clampTime(sg.start-maxBlockSpan))),
		UpperBound: upper,
	})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	// Read the span after the iterator exists (see Read).
	span := min(g.maxSpan.Load(), maxBlockSpan)
	for valid := it.SeekGE(u64keyAppend(prefix, uint64(clampTime(sg.start-span)))); valid; valid = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return skipped, err
		}
		s, err := decode(it.Key(), v)
		if err != nil {
			return skipped, err
		}
		name, ok := sc.eligible(sg, s)
		if !ok {
			skipped++
			continue
		}
		s.filter = nil
		item := &scanItem{sg: sg, sum: s, name: name, done: make(chan struct{})}
		select {
		case jobs <- item:
		case <-ctx.Done():
			return skipped, ctx.Err()
		}
		select {
		case queue <- item:
		case <-ctx.Done():
			return skipped, ctx.Err()
		}
	}
	return skipped, it.Error()
}

// eligible checks what a summary alone can rule out.
func (sc *scanner) eligible(sg *scanGroup, s summary) (string, bool) {
	if s.maxTs < sg.start || s.minTs >= sg.end {
		return "", false
	}
	var name string
	if sg.allowed != nil {
		n, ok := sg.allowed[s.sid]
		if !ok {
			return "", false
		}
		name = n
	} else {
		sg.g.mu.RLock()
		st := sg.g.byID[s.sid]
		sg.g.mu.RUnlock()
		if st == nil || !strings.HasPrefix(st.name, sc.r.StreamPrefix) {
			return "", false
		}
		name = st.name
	}
	if s.filter != nil && (!sc.need.mayContain(s.filter) || (s.flags&flagBackslash == 0 && !sc.needUnlessEscaped.mayContain(s.filter))) {
		return "", false
	}
	return name, true
}

// load decodes it's block and keeps the events in range that match.
func (sc *scanner) load(it *scanItem) {
	s, sg := it.sum, it.sg
	blk, buf, ok, err := sc.e.openBlock(sg.g.id, s.minTs, s.seq)
	if !ok || err != nil {
		it.err = err
		return
	}
	defer sc.e.putBuf(buf)
	n := len(blk.ts)
	lo := sort.Search(n, func(i int) bool { return blk.ts[i] >= sg.start })
	hi := sort.Search(n, func(i int) bool { return blk.ts[i] >= sg.end })
	it.scannedEvents = int64(hi - lo)
	f := sc.r.Filter
	it.block.Group = sg.g.name
	for i := lo; i < hi; i++ {
		msg := blk.message(i)
		it.scannedBytes += int64(len(msg))
		if f != nil && !f.Match(unsafeString(msg)) {
			continue
		}
		it.block.Events = append(it.block.Events, store.StoredEvent{
			Stream: it.name, Timestamp: blk.ts[i], IngestionTime: s.ingestion, Message: string(msg),
			Pos: store.Position{Time: blk.ts[i], Seq: s.seq, Index: uint32(i)},
		})
	}
}
