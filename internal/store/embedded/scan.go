package embedded

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"sync"

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
	sg   *selection
	sum  summary // filter cleared: the iterator's buffer is not ours
	name string  // the block's stream
	done chan struct{}

	// Set by the worker before done is closed.
	block         store.ScanBlock
	err           error
	scannedEvents int64
	scannedBytes  int64
}

type scanner struct {
	e     *Engine
	r     store.ScanRequest
	grams gramFilter
	lit   *literal // prematch(r.Filter)
	// escTpl, when lit is nil: the templates of merged blocks whose events
	// may match (templateEscaped); the events of the others are skipped,
	// not rendered, and read back empty, which no such filter matches.
	escTpl *literal
	// hitsOnly: the request wants no message and its filter is exactly a
	// search for lit, which merged blocks decide from their templates
	// (decodeWant.hitsOnly).
	hitsOnly bool
}

// decidesByTemplate reports whether merged blocks can answer r's filter
// without rendering a message: it wants no message, and the filter is
// exactly a search for a literal its templates decide (tplExact).
func decidesByTemplate(r store.ScanRequest, lit *literal) bool {
	lm, ok := r.Filter.(store.LiteralMatcher)
	if !ok || !r.NoMessages || !tplExact(lit) {
		return false
	}
	l, ok := lm.Literal()
	return ok && l == string(lit.b)
}

// Scan implements store.Store.
func (e *Engine) Scan(ctx context.Context, r store.ScanRequest, fn func(store.ScanBlock) bool) (st store.ScanStats, err error) {
	if err := e.enter(); err != nil {
		return st, err
	}
	defer e.exit()
	defer e.pin()() // the worker keeps replaced payloads while this runs (recompact.go)
	if len(r.Groups) == 0 {
		return st, errors.New("BUG: scan of no groups")
	}
	sc := &scanner{e: e, r: r, grams: newGramFilter(r.Filter), lit: prematch(r.Filter)}
	sc.hitsOnly = decidesByTemplate(r, sc.lit)
	if sc.lit == nil {
		sc.escTpl = templateEscaped(r.Filter)
	}
	var groups []*selection
	for _, name := range r.Groups {
		g, err := e.lookup(r.Scope, name)
		if err != nil {
			return st, err
		}
		sg, err := e.selectIn(g, r.Streams, r.StreamPrefix, r.Start, r.End)
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
			scr := new(decodeScratch) // this worker's: one block at a time
			for it := range jobs {
				if ctx.Err() == nil {
					func() {
						defer func() {
							if p := recover(); p != nil {
								it.block, it.err = store.ScanBlock{}, e.workerPanic(p)
							}
						}()
						sc.load(it, scr)
					}()
				}
				close(it.done)
			}
		}()
	}
	var walkErr error
	var skipped skipCount
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(queue)
		defer close(jobs)
		for _, sg := range groups {
			n, err := sc.walk(ctx, sg, jobs, queue)
			skipped.add(n)
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
		if it.block.Summary == nil {
			st.Blocks++ // a block taken from its summary was not decoded
		}
		if (len(it.block.Events) > 0 || it.block.Summary != nil) && !fn(it.block) {
			break
		}
	}
	cancel()
	for it := range queue {
		<-it.done
	}
	wg.Wait()
	st.SkippedBlocks, st.SkippedEvents, st.SkippedBytes = skipped.blocks, skipped.events, skipped.bytes
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

// skipCount counts blocks ruled out by summary, and what their filtered
// ones held in range (selection.skippedShare).
type skipCount struct{ blocks, events, bytes int64 }

func (c *skipCount) add(o skipCount) {
	c.blocks += o.blocks
	c.events += o.events
	c.bytes += o.bytes
}

// walk sends sg's eligible blocks to jobs and queue, in key order, and
// returns how many it ruled out by summary.
func (sc *scanner) walk(ctx context.Context, sg *selection, jobs, queue chan<- *scanItem) (skipped skipCount, err error) {
	bi, err := sc.e.openBlocks(ctx, sg)
	if err != nil {
		return skipped, err
	}
	it := bi.it
	defer it.Close()
	for valid := it.SeekGE(bi.lower); valid; valid = it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return skipped, err
		}
		s, err := bi.decode(it.Key(), v)
		if err != nil {
			return skipped, err
		}
		name, ok, filtered := sg.admit(s, sc.grams)
		if !ok {
			skipped.blocks++
			if filtered {
				e, b := sg.skippedShare(s)
				skipped.events += e
				skipped.bytes += b
			}
			continue
		}
		s.filter = nil
		item := &scanItem{sg: sg, sum: s, name: name, done: make(chan struct{})}
		if sc.countable(sg, s) {
			// taken from the summary: nothing to decode
			item.block = store.ScanBlock{Group: sg.g.name, Summary: &store.BlockSummary{Stream: name, First: s.minTs, Last: s.maxTs,
				Count: int64(s.count), Bytes: s.rawBytes, IngestionTime: s.ingestion}}
			item.scannedEvents, item.scannedBytes = int64(s.count), s.rawBytes
			close(item.done)
		} else {
			select {
			case jobs <- item:
			case <-ctx.Done():
				return skipped, ctx.Err()
			}
		}
		select {
		case queue <- item:
		case <-ctx.Done():
			return skipped, ctx.Err()
		}
	}
	return skipped, it.Error()
}

// countable reports whether ScanRequest.Counted takes block s from its
// summary: every event in the selection's range, no filter, no message.
func (sc *scanner) countable(sg *selection, s summary) bool {
	r := sc.r
	return r.Counted != nil && r.NoMessages && r.Filter == nil && s.count > 0 &&
		s.minTs >= sg.start && s.maxTs < sg.end && r.Counted(s.minTs, s.maxTs)
}

// load decodes it's block and keeps the events in range that match.
func (sc *scanner) load(it *scanItem, scr *decodeScratch) {
	if h := sc.e.beforeDecode; h != nil {
		h()
	}
	s, sg := it.sum, it.sg
	timesOnly := sc.r.NoMessages && sc.r.Filter == nil
	// A scan counts what it examined block by block (scannedBytes
	// below): a block's skipped events need no size of their own.
	want := decodeWant{start: sg.start, end: sg.end, timesOnly: timesOnly, approxSizes: true, scratch: scr}
	if sc.lit != nil {
		want.tpl = sc.lit.tpl
		want.unsplit = !sc.e.splitAll // eachMatchLines reads a block wholly in range
		want.hitsOnly = sc.hitsOnly && !sc.e.splitAll
	} else if sc.escTpl != nil {
		want.tpl = sc.escTpl
	}
	blk, buf, ok, err := sc.e.openBlockOf(sg.g.id, s.minTs, s.seq, want)
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
	if hi <= lo {
		// The summary's span overlaps the range but no event lies in
		// it (a merged block's gap): a merged block then comes back with
		// timestamps only, no message to match.
		return
	}
	if blk.hitsOnly {
		// Every event is in range and examined (what AWS's scanned
		// figures count); the templates said which match.
		it.scannedBytes = blk.raw
		for _, i := range blk.hits {
			it.block.Events = append(it.block.Events, store.StoredEvent{Stream: it.name, Timestamp: blk.ts[i], IngestionTime: blk.ingestion(int(i), s.ingestion),
				Pos: blk.pos(int(i), s.seq)})
		}
		return
	}
	switch {
	case timesOnly && blk.off == nil:
		// Messages left compressed: the summary's raw size, pro rata, is
		// what a full decode would have examined.
		if s.count > 0 {
			it.scannedBytes = s.rawBytes * int64(hi-lo) / int64(s.count)
		}
		for i := lo; i < hi; i++ {
			it.block.Events = append(it.block.Events, store.StoredEvent{Stream: it.name, Timestamp: blk.ts[i], IngestionTime: blk.ingestion(i, s.ingestion),
				Pos: blk.pos(i, s.seq)})
		}
		it.block.Group = sg.g.name
		return
	case blk.unsplit:
		// Every event is in range (openBlockOf): the message bytes are
		// the column's less one separator an event, as rawBytes(0, n).
	case hi > lo:
		it.scannedBytes = blk.rawBytes(lo, hi)
	}
	var msgs arena
	noMsgs := sc.r.NoMessages // a filter's matches, wanted without their messages
	keepMsg := func(i int, msg []byte) {
		ev := store.StoredEvent{Stream: it.name, Timestamp: blk.ts[i], IngestionTime: blk.ingestion(i, s.ingestion), Pos: blk.pos(i, s.seq)}
		if !noMsgs {
			ev.Message = msgs.str(msg)
		}
		it.block.Events = append(it.block.Events, ev)
	}
	keep := func(i int) { keepMsg(i, blk.message(i)) }
	switch {
	case blk.unsplit:
		if err := eachMatchLines(blk, f, sc.lit, keepMsg); err != nil {
			it.block.Events, it.err = nil, fmt.Errorf("block %x: %w", blockKey(tagBlock, sg.g.id, s.minTs, s.seq), err)
			return
		}
		it.scannedBytes = int64(len(blk.data)) - int64(n)
	case f == nil:
		it.block.Events = make([]store.StoredEvent, 0, hi-lo)
		for i := lo; i < hi; i++ {
			keep(i)
		}
	default:
		// The matches first, then their events in an array of their
		// number: appended one by one, the events (~80 bytes each) were a
		// third of what a query allocated (BenchmarkShapes -memprofile).
		var sel []int32
		eachMatch(blk, lo, hi, f, sc.lit, func(i int) { sel = append(sel, int32(i)) })
		it.block.Events = make([]store.StoredEvent, 0, len(sel))
		for _, i := range sel {
			keep(int(i))
		}
	}
}
