package delivery

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
)

// follower delivers one filter's events.
type follower struct {
	m       *Manager
	f       Filter
	sink    Sink
	sinkARN string
	wake    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}

	cursor           atomic.Uint64
	deliveredEvents  atomic.Uint64
	deliveredRecords atomic.Uint64
	deliveredBytes   atomic.Uint64
	retries          atomic.Uint64
	failedEvents     atomic.Uint64
	failedRecords    atomic.Uint64
	oldestPending    atomic.Int64 // ingestion ms of the oldest event in hand; 0: caught up

	// The payload buffers (JSON, gzip) of acknowledged records, for the
	// next records to reuse; only the follower's own goroutine uses them.
	spareJSON, spareGz [][]byte
	spareBytes         int
	// spareEvents are the Events slices of acknowledged records, for
	// build's next records (the Event values are copied over).
	spareEvents [][]Event
	// pageBuf is the last feed page's array, given back to ReadFeed
	// (FeedRequest.Buf) to fill the next page into; scratch is build's
	// per-page working memory. Both only the follower's goroutine uses.
	pageBuf []store.StoredEvent
	scratch buildScratch

	errMu   sync.Mutex
	lastErr string
}

func (fl *follower) stats(now int64) FilterStats {
	st := FilterStats{Account: fl.f.Scope.Account, Region: fl.f.Scope.Region, LogGroup: fl.f.Group, FilterName: fl.f.Name,
		DestinationARN: fl.f.DestinationARN, SinkARN: fl.sinkARN, Waiting: fl.sink == nil, Cursor: fl.cursor.Load(),
		DeliveredEvents: fl.deliveredEvents.Load(), DeliveredRecords: fl.deliveredRecords.Load(),
		DeliveredBytes: fl.deliveredBytes.Load(), Retries: fl.retries.Load(), FailedEvents: fl.failedEvents.Load(),
		FailedRecords: fl.failedRecords.Load()}
	if o := fl.oldestPending.Load(); o > 0 && now > o {
		st.LagSeconds = float64(now-o) / 1000
	}
	fl.errMu.Lock()
	st.LastError = fl.lastErr
	fl.errMu.Unlock()
	return st
}

func (fl *follower) setErr(err error) {
	fl.errMu.Lock()
	fl.lastErr = err.Error()
	fl.errMu.Unlock()
}

// sleep waits d or until ctx ends; false when it ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// run follows the filter while this node holds its lease (always on a
// one-node engine; on a shared one, on one node at a time, so each event is
// delivered once across the cluster). Each holding starts again from the
// durable cursor, where the previous holder left it.
func (fl *follower) run(ctx context.Context) {
	lease := store.NewLease(fl.m.cfg.Store, "subscription/"+fl.f.Scope.Account+"/"+fl.f.Scope.Region+"/"+fl.f.Group+"\x00"+fl.f.Cursor, nil)
	defer lease.Close()
	for {
		hctx, cancel, ok := lease.Wait(ctx)
		if !ok {
			return
		}
		fl.follow(hctx)
		lost := hctx.Err() != nil
		cancel()
		if ctx.Err() != nil || !lost {
			return // stopped, or the follower ended by itself (its group is gone)
		}
	}
}

func (fl *follower) follow(ctx context.Context) {
	m := fl.m
	f := &fl.f
	log := m.log.With("logGroup", f.Group, "filter", f.Name, "destination", f.DestinationARN)
	if fl.sink == nil {
		log.Warn("subscription filter has no sink configured for its destination: its events wait at the cursor (lag grows) and are recorded as failed after the retry window")
	}
	backoff := m.cfg.MinBackoff
	pause := func(err error) bool {
		fl.setErr(err)
		ok := sleep(ctx, backoff)
		backoff = min(backoff*2, m.cfg.MaxBackoff)
		return ok
	}
	var pos uint64
	for {
		p, err := m.cfg.Store.GetCursor(ctx, f.Scope, f.Group, f.Cursor)
		if errors.Is(err, store.ErrCursorNotFound) {
			// A filter whose producer set no cursor (an account policy's):
			// it starts now, as AWS's do.
			if p, err = StartPosition(ctx, m.cfg.Store, f.Scope, f.Group); err == nil {
				err = m.cfg.Store.SetCursor(ctx, f.Scope, f.Group, f.Cursor, p)
			}
		}
		if errors.Is(err, store.ErrGroupNotFound) {
			return // the group was deleted; the reload drops this filter
		}
		if err == nil {
			pos = p
			break
		}
		if !pause(err) {
			return
		}
	}
	fl.cursor.Store(pos)
	backoff = m.cfg.MinBackoff
	for {
		if m.takeControl(f.key()) {
			rec := newControl(Vendor(fl.sinkARNOr()), m.cfg.Now().UnixMilli())
			if !fl.deliver(ctx, []*Record{rec}, true) {
				return
			}
		}
		page, err := m.cfg.Store.ReadFeed(ctx, store.FeedRequest{Scope: f.Scope, Group: f.Group, After: pos, Limit: m.cfg.PageEvents, Buf: fl.pageBuf})
		if errors.Is(err, store.ErrGroupNotFound) {
			return
		}
		if err != nil {
			if ctx.Err() != nil || !pause(err) {
				return
			}
			continue
		}
		backoff = m.cfg.MinBackoff
		if len(page.Events) > 0 {
			fl.oldestPending.Store(page.Events[0].IngestionTime)
			events, err := fl.view(ctx, page.Events)
			if err != nil {
				if ctx.Err() != nil || !pause(err) {
					return
				}
				continue
			}
			if recs := fl.build(events); len(recs) > 0 {
				if !fl.deliver(ctx, recs, false) {
					return
				}
				fl.release(recs)
			}
		}
		// Nothing holds the page's events now (records copied what they
		// deliver): the next page is read into the same array, cleared so
		// a follower that goes idle does not keep the page's messages.
		fl.pageBuf = nil
		if cap(page.Events) <= maxPageBufEvents {
			clear(page.Events)
			fl.pageBuf = page.Events[:0]
		}
		if page.Next != pos {
			if !fl.saveCursor(ctx, page.Next, pause) {
				return
			}
			pos = page.Next
			fl.cursor.Store(pos)
		}
		if len(page.Events) > 0 {
			continue
		}
		fl.oldestPending.Store(0)
		select {
		case <-ctx.Done():
			return
		case <-fl.wake:
		}
	}
}

// saveCursor moves the durable cursor past a page the destination
// acknowledged. It is not cancelled by the follower's stop: a clean stop
// (or a lost lease) between the acknowledgement and the save would leave an
// acknowledged page for the next holder to deliver again, a duplicate
// without any crash (seen as TestSharedDeliveryOnce's 220 events for 180
// once the fenced save took a few more round trips). The save keeps ctx's
// values, so a lease's fence still refuses it once another node holds the
// lease, and is bounded in time; retries (pause) still end with ctx.
func (fl *follower) saveCursor(ctx context.Context, next uint64, pause func(error) bool) bool {
	f := &fl.f
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveCursorTimeout)
	defer cancel()
	for {
		err := fl.m.cfg.Store.SetCursor(sctx, f.Scope, f.Group, f.Cursor, next)
		if err == nil {
			return true
		}
		if errors.Is(err, store.ErrGroupNotFound) || !pause(err) {
			return false
		}
	}
}

// saveCursorTimeout bounds one cursor save that outlives a stop.
const saveCursorTimeout = 10 * time.Second

// maxSpareBytes bounds the buffers a follower keeps between pages (a
// page of 10,000 events is ~2.5 MB of payload).
const maxSpareBytes = 4 << 20

// maxPageBufEvents bounds the feed page array a follower keeps between
// pages (FeedRequest.Buf): 14,563 events of 72 bytes, 1 MiB; a larger
// page's array is left to the collector.
const maxPageBufEvents = (1 << 20) / 72

// maxSpareEvents bounds the Events slices a follower keeps (a page's
// records: one per stream with events in it).
const maxSpareEvents = 64

// release keeps the buffers of recs, acknowledged (every sink's Send has
// returned, and with it the sink's last use of the payload), for the next
// records.
func (fl *follower) release(recs []*Record) {
	for _, r := range recs {
		fl.spareJSON = fl.keep(fl.spareJSON, r.json)
		fl.spareGz = fl.keep(fl.spareGz, r.gz)
		r.json, r.gz = nil, nil
		if cap(r.Events) > 0 && cap(r.Events) <= maxPageBufEvents && len(fl.spareEvents) < maxSpareEvents {
			clear(r.Events) // kept without the messages and shared blocks they name
			fl.spareEvents = append(fl.spareEvents, r.Events[:0])
		}
		r.Events, r.page, r.runs = nil, nil, nil
	}
}

// events is an Events slice for a record of up to n events: a released
// one when one is large enough, else a new one.
func (fl *follower) events(n int) []Event {
	for k := len(fl.spareEvents) - 1; k >= 0; k-- {
		if ev := fl.spareEvents[k]; cap(ev) >= n {
			last := len(fl.spareEvents) - 1
			fl.spareEvents[k] = fl.spareEvents[last]
			fl.spareEvents[last] = nil
			fl.spareEvents = fl.spareEvents[:last]
			return ev
		}
	}
	return make([]Event, 0, n)
}

func (fl *follower) keep(list [][]byte, b []byte) [][]byte {
	if cap(b) == 0 || fl.spareBytes+cap(b) > maxSpareBytes {
		return list
	}
	fl.spareBytes += cap(b)
	return append(list, b[:0])
}

// spare takes a released buffer from list, or nil.
func (fl *follower) spare(list *[][]byte) []byte {
	n := len(*list)
	if n == 0 {
		return nil
	}
	b := (*list)[n-1]
	*list = (*list)[:n-1]
	fl.spareBytes -= cap(b)
	return b
}

func (fl *follower) sinkARNOr() string {
	if fl.sinkARN != "" {
		return fl.sinkARN
	}
	return fl.f.TargetARN
}

// limits are the sink's, or, with no sink yet, generous ones (the records
// are only held).
func (fl *follower) limits() Limits {
	if fl.sink == nil {
		return Limits{RecordBytes: 1 << 20, BatchRecords: 500, BatchBytes: 5 << 20}
	}
	return fl.sink.Limits()
}

// view is what the filter matches and delivers: the page itself, or for a
// filter on transformed logs, a copy with each event's transformed version
// where its append kept one.
func (fl *follower) view(ctx context.Context, events []store.StoredEvent) ([]store.StoredEvent, error) {
	get := fl.m.cfg.Transformed
	if !fl.f.Transformed || get == nil {
		return events, nil
	}
	out := make([]store.StoredEvent, len(events))
	copy(out, events)
	var seq uint64
	var tr func(store.StoredEvent) (string, bool)
	for i := range out {
		e := &out[i]
		if i == 0 || e.Pos.Seq != seq {
			seq = e.Pos.Seq
			var err error
			if tr, err = get(ctx, fl.f.Scope, fl.f.Group, seq); err != nil {
				return nil, err
			}
		}
		if tr == nil {
			continue
		}
		if v, ok := tr(*e); ok {
			e.Message = v
		}
	}
	return out, nil
}

// build groups the matching events into one record per log stream, each
// cut to a share of the sink's record limit (the exact size is checked
// before sending).
//
// When a group's match-all followers share the blocks' encodings, a
// record for a sink that sends the payload alone (payloadOnly) is lean:
// its runs of the page and of the shared blocks, its count, oldest
// ingestion and first and last ids, without an Event per event (those
// were a quarter of delivery's CPU besides the deflate). Every other
// record gets its Events, as any sink may read them.
func (fl *follower) build(events []store.StoredEvent) []*Record {
	f := &fl.f
	matchAll := f.Pattern == nil || f.Pattern.MatchesAll()
	budget := fl.limits().RecordBytes * 3 / 4
	keep := events
	if !matchAll {
		keep = make([]store.StoredEvent, 0, len(events))
		for i := range events {
			if f.Pattern.Match(events[i].Message) {
				keep = append(keep, events[i])
			}
		}
	}
	// With every event delivered as stored, a group's other follower may
	// have encoded these blocks already, or will want them.
	fields := f.Fields
	if _, ok := fl.sink.(*groupSink); ok {
		// It appends the messages alone: their fields would only count
		// against its record limit (Size is the JSON's).
		fields = nil
	}
	share := matchAll && !f.Transformed && fields == nil && fl.m.groupFollowers(f.Scope, f.Group) > 1
	lean := share && payloadOnly(fl.sink)
	sc := &fl.scratch
	defer sc.reset()
	var shared []*encodedBlock // per event of keep, its block's encoding
	if share {
		shared = grown(&sc.shared, len(keep))
		for i := 0; i < len(keep); {
			j := i + 1
			for j < len(keep) && keep[j].Pos.Seq == keep[i].Pos.Seq {
				j++
			}
			k := sharedKey{f.Scope, f.Group, keep[i].Pos.Seq}
			blk := fl.m.shared.get(k)
			if blk == nil && wholeBlock(keep[i:j]) {
				blk = encodeBlock(keep[i:j])
				fl.m.shared.put(k, blk)
			}
			if blk != nil {
				for x := i; x < j; x++ {
					shared[x] = blk
				}
			}
			i = j
		}
	}
	// The kept events' extractedFields, back to back in one buffer the
	// records' events keep (a page's, not the scratch's: a record may
	// outlive the page while it waits to be sent again).
	var fieldBuf []byte
	var fieldEnd []int // by index in keep: where its object ends in fieldBuf
	if fields != nil {
		fieldEnd = make([]int, len(keep))
		for i := range keep {
			fieldBuf = fields.appendObject(fieldBuf, keep[i].Message, &sc.fields)
			fieldEnd[i] = len(fieldBuf)
		}
	}
	fieldsOf := func(i int) []byte {
		if fieldEnd == nil {
			return nil
		}
		from := 0
		if i > 0 {
			from = fieldEnd[i-1]
		}
		if from == fieldEnd[i] {
			return nil
		}
		return fieldBuf[from:fieldEnd[i]:fieldEnd[i]]
	}
	open := sc.openMap()
	var recs []*Record
	var last *Record // the record of the previous event: pages are whole blocks, each of one stream
	for i := range keep {
		e := &keep[i]
		n := eventSize(idLen, len(e.Message)) + len(fieldsOf(i))
		r := last
		if r == nil || r.Stream != e.Stream {
			r = open[e.Stream]
		}
		if r == nil || (r.bsize+n > budget && r.n > 0) {
			r = &Record{Owner: f.Scope.Account, Group: f.Group, Stream: e.Stream, Filters: []string{f.Name},
				PolicyLevel: f.PolicyLevel, PartitionKey: fl.partitionKey(e.Stream), spareJSON: fl.spare(&fl.spareJSON), spareGz: fl.spare(&fl.spareGz),
				page: keep, bsize: 200 + len(f.Group) + len(e.Stream), oldest: e.IngestionTime}
			open[e.Stream] = r
			recs = append(recs, r)
		}
		if r.n > 0 && e.Timestamp < r.lastTS {
			r.unsorted = true
		}
		r.lastTS = e.Timestamp
		r.n++
		r.bsize += n
		r.oldest = min(r.oldest, e.IngestionTime)
		if k := len(r.runs) - 1; k >= 0 && r.runs[k].to == i {
			r.runs[k].to++
		} else {
			r.runs = append(r.runs, pageRun{i, i + 1})
		}
		last = r
		if share {
			// The record's runs of shared blocks (Record.pieces), while
			// every event of it has one.
			if blk, idx := shared[i], int(e.Pos.Index); blk != nil && idx < len(blk.ends) && !r.pieceless {
				if k := len(r.pieces) - 1; k >= 0 && r.pieces[k].blk == blk && r.pieces[k].to == idx {
					r.pieces[k].to++
				} else {
					r.pieces = append(r.pieces, piece{blk, idx, idx + 1})
				}
			} else {
				r.pieceless = true
			}
		}
	}
	for _, r := range recs {
		if r.pieceless || r.unsorted {
			r.pieces = nil // the runs no longer follow the events
		}
		if lean && r.pieces != nil {
			// Sorted: the first and last in the page are the first and
			// last by timestamp.
			first, end := keep[r.runs[0].from].Pos, keep[r.runs[len(r.runs)-1].to-1].Pos
			r.firstID, r.lastID = first.ID(), end.ID()
			continue
		}
		r.Events = appendPageEvents(fl.events(r.n), keep, r.runs, shared)
		if fieldEnd != nil {
			k := 0
			for _, ru := range r.runs {
				for x := ru.from; x < ru.to; x++ {
					r.Events[k].fields = fieldsOf(x)
					k++
				}
			}
		}
		r.page, r.runs, r.n = nil, nil, 0
		if r.unsorted {
			// Blocks of one stream come in commit order, each
			// chronological; AWS's records are in timestamp order.
			slices.SortStableFunc(r.Events, func(a, b Event) int { return cmp.Compare(a.Timestamp, b.Timestamp) })
		}
	}
	return recs
}

// payloadOnly reports whether s sends a record's payload (its JSON or
// gzip) and reads nothing of its events but their count and first and
// last ids: such a sink's records may be lean (build). Every other sink,
// Cairn's own that index or append the events one by one and any other
// (a test's), gets Events.
func payloadOnly(s Sink) bool {
	switch s.(type) {
	case *kinesisSink, *firehoseSink, *lambdaSink, *httpSink, *natsSink, *fileSink:
		return true
	}
	return false
}

// buildScratch is build's working memory, kept by the follower between
// pages (a page of 10,000 events needs ~1.5 MB of it: allocating it afresh
// zeroed it every time and gave the collector as much to reclaim).
type buildScratch struct {
	shared []*encodedBlock
	open   map[string]*Record
	fields fieldScratch // Fields.appendObject's
}

// grown is *s resized to n elements, the array kept when it is large
// enough. Elements a page used are zero again after its reset (build
// reads shared's before writing them).
func grown[T any](s *[]T, n int) []T {
	if cap(*s) < n {
		*s = make([]T, n)
	} else {
		*s = (*s)[:n]
	}
	return *s
}

// openMap is build's map of each stream's open record, empty.
func (sc *buildScratch) openMap() map[string]*Record {
	if sc.open == nil {
		sc.open = map[string]*Record{}
	}
	return sc.open
}

// reset ends a page: nothing of it stays reachable from the scratch
// (blocks and records are the records' and the cache's alone), and an
// array grown past a page's worth is let go.
func (sc *buildScratch) reset() {
	clear(sc.shared)
	clear(sc.open)
	// The last event's values are substrings of its message: kept, they
	// would keep the page's messages (and a wide event's ~50 bytes a
	// field) as long as the follower lives. A wide event's keys (~17
	// bytes a field) are let go like a large page's array.
	sc.fields.values = pattern.Values{}
	if cap(sc.shared) > maxPageBufEvents || cap(sc.fields.ends) > maxPageBufEvents {
		*sc = buildScratch{}
	}
}

// partitionKey: ByLogStream keeps a stream on one shard (its name, hashed
// when longer than Kinesis's 256 characters); Random spreads records.
func (fl *follower) partitionKey(stream string) string {
	if fl.f.Distribution == "Random" {
		var b [16]byte
		rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}
	if len(stream) > 256 {
		h := sha256.Sum256([]byte(stream))
		return hex.EncodeToString(h[:])
	}
	if stream == "" {
		return "-"
	}
	return stream
}

// deliver sends recs until each is acknowledged or recorded as failed; false
// when ctx ended first (nothing is acknowledged then: the cursor stays).
func (fl *follower) deliver(ctx context.Context, recs []*Record, control bool) bool {
	lim := fl.limits()
	var fit []*Record
	for _, r := range recs {
		fit = fl.split(ctx, r, lim, fit)
	}
	for len(fit) > 0 {
		n, bytes := 0, 0
		for n < len(fit) && n < lim.BatchRecords {
			s := fl.size(fit[n])
			if n > 0 && bytes+s > lim.BatchBytes {
				break
			}
			bytes += s
			n++
		}
		if !fl.sendBatch(ctx, fit[:n], control) {
			return false
		}
		fit = fit[n:]
	}
	return true
}

func (fl *follower) size(r *Record) int {
	if fl.sink == nil {
		return len(r.JSON())
	}
	return fl.sink.Size(r)
}

// split appends r to out, halved until each part fits the record limit; a
// single event too large for the destination is recorded as failed.
func (fl *follower) split(ctx context.Context, r *Record, lim Limits, out []*Record) []*Record {
	if fl.size(r) <= lim.RecordBytes {
		return append(out, r)
	}
	if r.count() <= 1 {
		fl.fail(ctx, []*Record{r}, Permanent(errors.New("the event does not fit in one record of the destination")))
		return out
	}
	evs := r.events()
	h := len(evs) / 2
	a, b := *r, *r
	a.Events, b.Events = evs[:h:h], evs[h:]
	a.json, a.gz, b.json, b.gz = nil, nil, nil, nil
	a.jsonN, b.jsonN = 0, 0
	a.page, a.runs, b.page, b.runs = nil, nil, nil, nil
	a.pieces, b.pieces = nil, nil                                       // the halves are encoded event by event
	a.spareJSON, a.spareGz, b.spareJSON, b.spareGz = nil, nil, nil, nil // r's own, not to be shared
	out = fl.split(ctx, &a, lim, out)
	return fl.split(ctx, &b, lim, out)
}

// sendBatch sends one batch, retrying what may succeed later until the
// batch's oldest event leaves the retry window.
func (fl *follower) sendBatch(ctx context.Context, batch []*Record, control bool) bool {
	m := fl.m
	pending := batch
	oldest := int64(0)
	for _, r := range batch {
		if o := r.oldestIngestion(); o != 0 && (oldest == 0 || o < oldest) {
			oldest = o
		}
	}
	deadline := time.UnixMilli(oldest).Add(m.cfg.RetryWindow)
	backoff := m.cfg.MinBackoff
	lastWarn := time.Time{}
	for {
		var err error
		if fl.sink == nil {
			err = errNoSink
		} else {
			err = fl.sink.Send(ctx, fl.f.Scope, pending)
		}
		if ctx.Err() != nil {
			return false
		}
		if err == nil {
			fl.acked(pending)
			return true
		}
		var pe *PartialError
		if errors.As(err, &pe) && len(pe.Failed) > 0 {
			failed := make([]*Record, 0, len(pe.Failed))
			inFailed := map[int]bool{}
			for _, i := range pe.Failed {
				if i >= 0 && i < len(pending) && !inFailed[i] {
					inFailed[i] = true
					failed = append(failed, pending[i])
				}
			}
			var ok []*Record
			for i, r := range pending {
				if !inFailed[i] {
					ok = append(ok, r)
				}
			}
			fl.acked(ok)
			pending = failed
			if len(pending) == 0 {
				return true
			}
		}
		fl.setErr(err)
		if control {
			// A health check that fails is not data: it is not recorded,
			// and delivery goes on (the data's own failures are).
			m.log.Warn("subscription control message not delivered", "filter", fl.f.Name, "err", err)
			return true
		}
		if IsPermanent(err) || !m.cfg.Now().Before(deadline) {
			fl.fail(ctx, pending, err)
			return ctx.Err() == nil
		}
		fl.retries.Add(1)
		if now := time.Now(); now.Sub(lastWarn) > 5*time.Minute {
			lastWarn = now
			m.log.Warn("subscription delivery failing, retrying", "logGroup", fl.f.Group, "filter", fl.f.Name, "err", err)
		}
		if !sleep(ctx, backoff) {
			return false
		}
		backoff = min(backoff*2, m.cfg.MaxBackoff)
	}
}

func (fl *follower) acked(recs []*Record) {
	for _, r := range recs {
		if r.Control {
			continue
		}
		fl.deliveredRecords.Add(1)
		fl.deliveredEvents.Add(uint64(r.count()))
		fl.deliveredBytes.Add(uint64(fl.size(r)))
	}
}

// fail records records that will not be delivered: counted, logged, and
// written (events and all) to the error log group of the filter's account,
// so nothing is lost silently. Writing there is retried until it succeeds
// or ctx ends: the cursor must not pass events that are nowhere.
func (fl *follower) fail(ctx context.Context, recs []*Record, cause error) {
	m := fl.m
	for _, r := range recs {
		fl.failedRecords.Add(1)
		fl.failedEvents.Add(uint64(r.count()))
	}
	fl.setErr(cause)
	m.log.Error("subscription delivery failed; events recorded in the error log group", "logGroup", fl.f.Group,
		"filter", fl.f.Name, "destination", fl.f.DestinationARN, "errorGroup", m.cfg.ErrorGroup, "err", cause)
	var evs []store.Event
	now := m.cfg.Now().UnixMilli()
	for _, r := range recs {
		for chunk := r.events(); len(chunk) > 0; {
			n, size := 0, 0
			for n < len(chunk) && (n == 0 || size+eventJSONSize(&chunk[n]) < 200_000) {
				size += eventJSONSize(&chunk[n])
				n++
			}
			evs = append(evs, store.Event{Timestamp: now, Message: failureMessage(&fl.f, r, chunk[:n], cause)})
			chunk = chunk[n:]
		}
	}
	if len(evs) == 0 {
		return
	}
	backoff := m.cfg.MinBackoff
	for {
		err := appendCreating(ctx, m.cfg.Store, fl.f.Scope, m.cfg.ErrorGroup, fl.f.Name, evs)
		if err == nil || ctx.Err() != nil {
			return
		}
		m.log.Error("recording failed subscription delivery", "err", err)
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(backoff*2, m.cfg.MaxBackoff)
	}
}

// failureMessage is one error-group event: what failed, why, and the events
// themselves (a single event may still exceed the event limit; it is
// truncated, its ID kept).
func failureMessage(f *Filter, r *Record, evs []Event, cause error) string {
	b := []byte(`{"filterName":`)
	b = protocol.AppendJSONString(b, f.Name)
	b = append(b, `,"logGroup":`...)
	b = protocol.AppendJSONString(b, f.Group)
	b = append(b, `,"logStream":`...)
	b = protocol.AppendJSONString(b, r.Stream)
	b = append(b, `,"destinationArn":`...)
	b = protocol.AppendJSONString(b, f.DestinationARN)
	b = append(b, `,"error":`...)
	b = protocol.AppendJSONString(b, cause.Error())
	b = append(b, `,"logEvents":[`...)
	for i, e := range evs {
		if i > 0 {
			b = append(b, ',')
		}
		msg := e.Message
		if len(msg) > 200_000 {
			msg = msg[:200_000]
		}
		b = append(b, `{"id":`...)
		b = protocol.AppendJSONString(b, e.ID)
		b = append(b, `,"timestamp":`...)
		b = strconv.AppendInt(b, e.Timestamp, 10)
		b = append(b, `,"message":`...)
		b = protocol.AppendJSONString(b, msg)
		b = append(b, '}')
	}
	return string(append(b, "]}"...))
}

func prevPos(evs []store.StoredEvent, i int) store.Position {
	if i == 0 {
		return store.Position{}
	}
	return evs[i-1].Pos
}

// appendIndexDigits appends the 17 zero-padded digits of an event ID's
// index part (store.Position.AppendID's last field).
func appendIndexDigits(dst []byte, v uint32) []byte {
	var b [17]byte
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, b[:]...)
}

// wholeBlock reports whether events are all of one block's, each at its
// own index (encodedBlock finds an event by Pos.Index).
func wholeBlock(events []store.StoredEvent) bool {
	for x := range events {
		if events[x].Pos.Index != uint32(x) {
			return false
		}
	}
	return true
}
