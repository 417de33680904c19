package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/klauspost/compress/zstd"

	"github.com/cairnlog/cairn/internal/store"
)

// Re-compaction. Append writes one block per request at zstd's fastest
// level, which keeps ingest cheap but leaves ~29 bytes/event on the bench's
// lines. A background worker, owned by the Engine, later merges each
// stream's runs of small blocks into large ones of format 4 (codec3.go:
// templates and typed variable columns at a strong zstd level, with a seek
// index), about 40% smaller.
//
// What stays stable. An event's identity is its store.Position (timestamp,
// the seq of the append that stored it, its index in that append): eventIds,
// GetLogEvents/FilterLogEvents tokens and feed cursors are all made of it.
// A merged block keeps every event's seq and index (and ingestion time) in
// its runs, and is sorted in that same order, so reads return the same
// events with the same positions before and after, and a token minted
// before resumes after. The merged block gets a fresh seq for its key only
// (no feed entry of its own); every source append's feed entry is rewritten
// to name it (feed.go), so ReadFeed walks the same seqs and returns the same
// events.
//
// Crash safety. One merge is one synced Pebble batch: the merged block's
// summary, payload and index entry, the sources' summaries and index
// entries deleted, their feed entries rewritten, the stream's and group's
// stored bytes adjusted, and a garbage record ('Z' gid seq) listing the
// sources' payload keys. A kill at any point leaves either the sources or
// the merged block visible, never both and never neither (Pebble applies a
// batch whole or not at all). The sources' payloads are deleted later, once
// every read that might still hold a summary of theirs from before the swap
// has ended (pins, below); the garbage record says which, so a crash in
// between only delays that deletion to the next start, where no read can
// hold anything.
//
// Serialisation. A merge runs under the group's commit lock for reading,
// like an Append, so DeleteGroup and DeleteStream wait for it or it sees
// them; and under Engine.maint, which the janitor's sweep holds too, so
// retention never drops a key range a merge is writing into.
//
// Throttle. After each merge the worker waits as long as the merge took
// (at most half of one core while it has work), and between passes it
// sleeps RecompactInterval. A run waits until it holds recompactTarget
// events, until a later block of its stream closed it (nothing but a late
// event can join it then), or until its stream has been quiet for
// RecompactSettle, so a stream still being written is not merged again and
// again.
//
// Age. Only blocks that arrived RecompactAge ago or more are merged (fresh
// data stays in Append's format 2): reads of merged blocks cost more CPU
// than of appended ones (a full scan ~1.5x, a time range ~1.7x, Insights
// ~2x on the bench lines, docs/benchmarks.md merge10), and the reads that
// must be fastest are of recent data: a live tail's catch-up, a CI build's
// log read while it runs and just after, the console's and Insights'
// default last hour. Older data is read far less often and is most of the
// disk, so it is where merging pays.

const (
	// recompactTarget is the most events a merged block holds. A reader
	// decompresses a merged block's frames whole and walks its columns up
	// to the last event it needs, whatever it renders (decodeWant), so the
	// block's size is what a read that needs a few of its events pays:
	// the newest events of a group (a backward read opens the last block
	// of every stream), a rare term's first page. 4,096 bench lines code
	// in ~17.1 bytes each plus ~1.0 of gram filter, against 16.1 + 0.7 at
	// 16,384, for a quarter of that cost (docs/benchmarks.md, disk10).
	recompactTarget = 4096
	// recompactMaxSpan bounds a merged block's time span: reads seek back
	// by the group's widest span, so wide blocks make every read start
	// earlier.
	recompactMaxSpan = 60 * 60 * 1000
	// recompactWindow: a run that holds a quarter of recompactTarget
	// already is cut where it would cross one of these epoch-aligned
	// windows, so that Logs Insights' count by bin takes a busy stream's
	// merged blocks from their summaries undecoded for any bin of 5
	// minutes or a multiple (ScanRequest.Counted needs a block's first and
	// last timestamps in one bin): 4,096 events of a stream often span
	// more than 5 minutes, and count by bin(5m) went from 0 to 130 ms of
	// CPU on merged blocks (docs/benchmarks.md, disk10). A sparse stream's
	// runs still merge across windows: its blocks are small, so decoding
	// them for a count costs little, and keeping them apart would leave
	// one block per append.
	recompactWindow = 5 * 60 * 1000
)

// DefaultRecompactAge is Config.RecompactAge's default: an hour. It covers
// the reads that follow data closely — a live tail (served from the feed
// tail in memory, then from blocks on a catch-up), a CI build's log read
// while the build runs and in the minutes after (most builds end within
// the hour), the console's and Logs Insights' default time range (the last
// hour) — so those stay on format 2's cheaper decode. The price is the
// disk of one hour of ingest at Append's ~29 instead of ~20 bytes/event on
// the bench lines: with any retention of days, a fraction of a percent of
// the data directory at steady state.
const DefaultRecompactAge = time.Hour

// window is the recompactWindow holding t.
func window(t int64) int64 {
	w := t / recompactWindow
	if t < 0 && t%recompactWindow != 0 {
		w--
	}
	return w
}

// RecompactStats is what the worker did since Open.
type RecompactStats struct {
	Passes         int64 // passes finished
	Merges         int64 // merged blocks written
	SourceBlocks   int64 // blocks merged away
	Events         int64 // events rewritten
	BytesBefore    int64 // payload+summary bytes of the sources
	BytesAfter     int64 // payload+summary bytes of the merged blocks
	Busy           time.Duration
	Settled        bool // the last pass found nothing to merge, now or later, and nothing left to reclaim
	GarbagePending int  // merges whose sources' payloads wait for readers to end
	Disabled       bool // no worker runs (Config.RecompactInterval < 0)
}

// readerPins lets the worker know when every read that started before a
// swap has ended: reads pin the current epoch; a swap starts a new one.
type readerPins struct {
	mu     sync.Mutex
	epoch  uint64
	active map[uint64]int // epoch → running reads that pinned it
}

// pin marks a read as running; call the returned func when it ends.
func (e *Engine) pin() func() {
	p := &e.pins
	p.mu.Lock()
	ep := p.epoch
	if p.active == nil {
		p.active = make(map[uint64]int)
	}
	p.active[ep]++
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		if p.active[ep]--; p.active[ep] <= 0 {
			delete(p.active, ep)
		}
		p.mu.Unlock()
	}
}

// advance ends the current epoch and returns it.
func (p *readerPins) advance() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	ep := p.epoch
	p.epoch++
	return ep
}

// quiet reports whether no read pinned an epoch ≤ ep is still running.
func (p *readerPins) quiet(ep uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k := range p.active {
		if k <= ep {
			return false
		}
	}
	return true
}

// garbage is a merge's sources' payloads, deletable once epoch is quiet.
type garbage struct {
	epoch uint64
	gid   uint64
	key   []byte   // the 'Z' record
	keys  [][]byte // 'B' keys
}

// recompactor is the worker's state, used under mu by the worker and by
// RecompactNow.
type recompactor struct {
	mu      sync.Mutex
	e       *Engine
	enc     *zstd.Encoder
	x       encoder3
	grams   *gramBuilder
	garbage []garbage
	// compact is the 'B' key range of each group whose sources were deleted
	// since Pebble last compacted it: deleted values take space until a
	// compaction drops them.
	compact map[uint64][2]int64
}

// newRecompactor makes the worker's state and reads the garbage records a
// previous run left; Close closes its encoder.
func (e *Engine) newRecompactor() (*recompactor, error) {
	// SpeedBetterCompression: on 16,384 bench lines 16.6 bytes/event at
	// 1.9 µs/event of encoding CPU, against 16.1 at 3.6 for
	// SpeedBestCompression and 19.1 at 1.8 for SpeedDefault (measured with
	// EncodeBlock3; docs/benchmarks.md).
	// A 2 MiB window covers a merged block's largest frame (its templates,
	// ~1 MB of bench lines) and keeps the encoder's memory small.
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithEncoderCRC(false),
		zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(2<<20), zstd.WithLowerEncoderMem(true))
	if err != nil {
		return nil, err
	}
	w := &recompactor{e: e, enc: enc, grams: newGramBuilder(), compact: make(map[uint64][2]int64)}
	if err := w.collectGarbageRecords(); err != nil {
		enc.Close()
		return nil, err
	}
	return w, nil
}

// recompactLoop is the worker's goroutine.
func (e *Engine) recompactLoop() {
	defer e.wg.Done()
	t := time.NewTimer(e.cfg.RecompactInterval)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		if err := e.rc.run(false); err != nil && !errors.Is(err, store.ErrClosed) {
			e.log.Error("recompaction pass failed", "err", err)
		}
		t.Reset(e.cfg.RecompactInterval)
	}
}

// RecompactNow runs one pass of the worker at once, merging every run of
// small blocks whether or not its stream is still being written, and
// reports the totals (tests, and `cairn` tools that want the steady state).
func (e *Engine) RecompactNow() (RecompactStats, error) {
	err := e.rc.run(true)
	return e.RecompactStats(), err
}

// RecompactSettled runs passes of RecompactNow until the steady state
// (RecompactStats.Settled: nothing left to merge) and reports the totals;
// an error when a pass fails or 10,000 passes have not settled it.
func (e *Engine) RecompactSettled() (RecompactStats, error) {
	for range 10_000 {
		st, err := e.RecompactNow()
		if err != nil || st.Settled {
			return st, err
		}
	}
	return e.RecompactStats(), errors.New("the re-compaction did not settle in 10,000 passes")
}

func (w *recompactor) run(force bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pass(force)
}

// RecompactStats reports the worker's totals.
func (e *Engine) RecompactStats() RecompactStats {
	e.rstats.mu.Lock()
	defer e.rstats.mu.Unlock()
	r := e.rstats.RecompactStats
	// The figures stay real without the worker: RecompactNow (tests,
	// migrate) still merges.
	r.Disabled = e.cfg.RecompactInterval < 0
	return r
}

func (e *Engine) addStats(fn func(*RecompactStats)) {
	e.rstats.mu.Lock()
	fn(&e.rstats.RecompactStats)
	e.rstats.mu.Unlock()
}

// collectGarbageRecords deletes the sources' payloads a previous run left
// (a crash or stop between a swap and its sweep). No read can reach them:
// reads only start once Open returns, and every summary they can find names
// a merged block. So they go at once, not through the pins: a read started
// after Open pins the oldest epoch as well, and on a busy server with no
// new merges they would never have been swept.
func (w *recompactor) collectGarbageRecords() error {
	e := w.e
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	var left []garbage
	err := e.scan([]byte{tagGarbage}, func(k, v []byte) error {
		if len(k) != 17 {
			return nil
		}
		gb := garbage{gid: beUint64(k[1:]), key: append([]byte(nil), k...)}
		r := reader{b: v}
		for len(r.b) > 0 && !r.err {
			minTs, seq := int64(r.uvarint()), r.uvarint()
			gb.keys = append(gb.keys, blockKey(tagBlock, gb.gid, minTs, seq))
		}
		left = append(left, gb)
		return nil
	})
	if err != nil || len(left) == 0 {
		return err
	}
	// The janitor runs already; maint keeps its sweep apart, as for
	// sweepGarbage.
	e.maint.Lock()
	defer e.maint.Unlock()
	w.garbage = left
	return w.deleteGarbage(func(garbage) bool { return true })
}

// pass merges what is ready in every group, then deletes what is safe.
func (w *recompactor) pass(force bool) error {
	e := w.e
	var merged, deferred int
	e.mu.RLock()
	gs := make([]*group, 0, len(e.groups))
	for _, g := range e.groups {
		gs = append(gs, g)
	}
	e.mu.RUnlock()
	for _, g := range gs {
		m, d, err := w.group(g, force)
		merged += m
		deferred += d
		if err != nil {
			return err
		}
		if w.stopping() {
			return nil
		}
	}
	if err := w.sweepGarbage(); err != nil {
		return err
	}
	if merged == 0 && len(w.garbage) == 0 && len(w.compact) > 0 {
		if err := w.compactDeleted(); err != nil {
			return err
		}
	}
	settled := merged == 0 && deferred == 0 && len(w.garbage) == 0 && len(w.compact) == 0
	e.addStats(func(s *RecompactStats) {
		s.Passes++
		s.Settled = settled
		s.GarbagePending = len(w.garbage)
	})
	return nil
}

func (e *Engine) atCrashPoint(stage string) {
	if e.crashPoint != nil {
		e.crashPoint(stage)
	}
}

func (w *recompactor) stopping() bool {
	select {
	case <-w.e.stop:
		return true
	default:
		return false
	}
}

// group merges g's ready runs; it returns the merges done and the runs left
// for later (not settled yet).
func (w *recompactor) group(g *group, force bool) (merged, deferred int, err error) {
	e := w.e
	if err := e.enter(); err != nil {
		return 0, 0, err
	}
	defer e.exit()
	if err := e.loadStreams(g); err != nil {
		return 0, 0, err
	}
	g.mu.RLock()
	if g.deleted {
		g.mu.RUnlock()
		return 0, 0, nil
	}
	streams := make([]*stream, 0, len(g.byID))
	for _, s := range g.byID {
		streams = append(streams, s)
	}
	g.mu.RUnlock()
	now := e.cfg.Now().UnixMilli()
	// fresh: blocks that arrived after this stay as appended (the age
	// policy above); RecompactNow merges everything.
	fresh := int64(math.MaxInt64)
	if !force && e.cfg.RecompactAge > 0 {
		fresh = now - e.cfg.RecompactAge.Milliseconds()
	}
	for _, s := range streams {
		runs, young, err := w.runsOf(g, s, fresh)
		if err != nil {
			return merged, deferred, err
		}
		if young {
			deferred++ // merged once they are old enough: not settled yet
		}
		e.atCrashPoint("runs") // runs computed, not under maint: retention may drop their blocks now
		quiet := force || now-s.lastIngest.Load() >= e.cfg.RecompactSettle.Milliseconds()
		for _, r := range runs {
			run := r.blocks
			events := 0
			for _, b := range run {
				events += b.count
			}
			if events < recompactTarget*3/4 && !quiet && !r.closed {
				deferred++
				continue
			}
			if w.stopping() {
				return merged, deferred, nil
			}
			start := time.Now()
			ok, err := w.merge(g, s, run)
			if err != nil {
				return merged, deferred, err
			}
			if ok {
				merged++
			}
			// The throttle: as long again idle, so the worker takes at
			// most about half a core while it has work; four times as
			// long while appends arrive (one in the last second), so
			// ingest keeps its cores.
			took := time.Since(start)
			e.addStats(func(st *RecompactStats) { st.Busy += took })
			wait := took
			if force {
				wait = 0
			} else if time.Now().UnixNano()-e.lastAppend.Load() < int64(time.Second) {
				wait = 4 * took
			}
			select {
			case <-e.stop:
				return merged, deferred, nil
			case <-time.After(wait):
			}
		}
	}
	return merged, deferred, nil
}

// run is a run of blocks of one stream to merge. closed: a later block of
// the stream (too many events, too wide, another window, or a block already
// full) cut it, so nothing but a late event can join it and it need not
// wait for its stream to go quiet.
type run struct {
	blocks []summary
	closed bool
}

// runsOf walks s's index entries in key order and cuts them into runs of at
// least two consecutive blocks that together hold at most recompactTarget
// events and span at most recompactMaxSpan (and, past a quarter of the
// target, one recompactWindow). A block already that large, or one that
// arrived after fresh (too young to merge: its ingestion time), ends a run
// and starts none; young reports whether s holds such young blocks. Runs
// that would reopen merged blocks for too few new events are cut down by
// affordable.
func (w *recompactor) runsOf(g *group, s *stream, fresh int64) (runs []run, young bool, err error) {
	var cur []summary
	curEvents := 0
	flush := func(closed bool) {
		if len(cur) >= 2 {
			runs = append(runs, run{cur, closed})
		}
		cur, curEvents = nil, 0
	}
	prefix := u64key(tagIndex, g.id, s.id)
	err = w.e.scan(prefix, func(k, v []byte) error {
		sum, err := decodeIndex(k, v, s.id)
		if err != nil {
			return err
		}
		if sum.count >= recompactTarget {
			flush(true)
			return nil
		}
		if sum.ingestion > fresh {
			// The young block may join this run once it is old enough.
			young = true
			flush(false)
			return nil
		}
		if len(cur) > 0 && (curEvents+sum.count > recompactTarget || sum.maxTs-cur[0].minTs > recompactMaxSpan ||
			curEvents >= recompactTarget/4 && window(sum.maxTs) != window(cur[0].minTs)) {
			flush(true)
		}
		cur = append(cur, sum)
		curEvents += sum.count
		return nil
	})
	flush(false)
	var fit []run
	for _, r := range runs {
		fit = affordable(fit, r.blocks, r.closed)
	}
	return fit, young, err
}

// affordable appends to dst the parts of blocks worth merging: runs in which
// the already-merged blocks hold at most twice the events of the blocks not
// merged yet (fresh from Append). A merge then rewrites at most three times
// the fresh events it takes in, and every event is fresh in one merge only,
// so re-compaction rewrites at most 3 events per event appended, however a
// stream's bursts come. Without it a stream quiet between small bursts had
// its merged block rewritten whole at every burst (quadratic). A run that
// fails is split at its largest merged block, which stays as it is until
// enough fresh events follow it; the pieces are tried again, so small
// bursts still merge among themselves (a stream's block count grows like a
// counter's digits, not with its bursts). The piece before the split is
// closed (the merged block cuts it); the one after is as closed as blocks.
func affordable(dst []run, blocks []summary, closed bool) []run {
	if len(blocks) < 2 {
		return dst
	}
	merged, fresh, big := 0, 0, -1
	for i, b := range blocks {
		if b.flags&flagMerged == 0 {
			fresh += b.count
			continue
		}
		merged += b.count
		if big < 0 || b.count > blocks[big].count {
			big = i
		}
	}
	if merged <= 2*fresh {
		return append(dst, run{blocks, closed})
	}
	dst = affordable(dst, blocks[:big], true)
	return affordable(dst, blocks[big+1:], closed)
}

// merge rewrites run, blocks of stream s of g, as one format-4 block. ok is
// false when the stream or group went meanwhile, or a block of run did
// (expired since runsOf).
func (w *recompactor) merge(g *group, s *stream, run []summary) (ok bool, err error) {
	e := w.e
	e.maint.Lock()
	defer e.maint.Unlock()
	g.commit.RLock()
	defer g.commit.RUnlock()
	g.mu.RLock()
	alive := !g.deleted && g.byID[s.id] == s
	g.mu.RUnlock()
	if !alive {
		return false, nil
	}

	var (
		events    []store.Event
		pos       []store.Position
		ingest    []int64
		before    int64
		rawBytes  int64
		flags     byte
		appends   = map[uint64]int64{} // seq → ingestion of every append in the run
		srcKeys   [][]byte
		garbageV  []byte
		buf       []byte
		lastIngst int64
	)
	for _, src := range run {
		sumKey := blockKey(tagSummary, g.id, src.minTs, src.seq)
		sumVal, closer, err := e.db.Get(sumKey)
		if errors.Is(err, pebble.ErrNotFound) {
			// Retention dropped it after runsOf (which runs outside maint);
			// nothing is written yet, so the run is skipped, not the pass.
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("merge: summary %x: %w", sumKey, err)
		}
		full, err := decodeSummary(sumKey, sumVal)
		before += int64(len(sumVal))
		closer.Close()
		if err != nil {
			return false, err
		}
		flags |= full.flags &^ flagMerged
		rawBytes += full.rawBytes
		blkKey := blockKey(tagBlock, g.id, src.minTs, src.seq)
		value, closer, err := e.db.Get(blkKey)
		if err != nil {
			return false, fmt.Errorf("merge: block %x: %w", blkKey, err)
		}
		before += int64(len(value))
		blk, nbuf, err := DecodeBlock(value, src.minTs, buf, e.dec)
		if err != nil {
			closer.Close()
			return false, fmt.Errorf("merge: block %x: %w", blkKey, err)
		}
		for i := range blk.ts {
			p := blk.pos(i, src.seq)
			in := blk.ingestion(i, full.ingestion)
			events = append(events, store.Event{Timestamp: blk.ts[i], Message: string(blk.message(i))})
			pos = append(pos, p)
			ingest = append(ingest, in)
			appends[p.Seq] = in
			lastIngst = max(lastIngst, in)
		}
		closer.Close()
		buf = nbuf
		srcKeys = append(srcKeys, sumKey, blkKey, indexKey(g.id, s.id, src.minTs, src.seq))
		garbageV = binary.AppendUvarint(garbageV, uint64(src.minTs))
		garbageV = binary.AppendUvarint(garbageV, src.seq)
	}
	// The read order: (timestamp, seq, index).
	perm := make([]int, len(events))
	for i := range perm {
		perm[i] = i
	}
	slices.SortFunc(perm, func(a, b int) int {
		switch pa, pb := pos[a], pos[b]; {
		case pa.Less(pb):
			return -1
		case pb.Less(pa):
			return 1
		}
		return 0
	})
	sorted := make([]store.Event, len(events))
	sortedPos := make([]store.Position, len(events))
	sortedIngest := make([]int64, len(events))
	w.grams.reset()
	for i, j := range perm {
		sorted[i], sortedPos[i], sortedIngest[i] = events[j], pos[j], ingest[j]
		w.grams.add(unsafeBytes(events[j].Message))
	}
	seq, err := e.allocSeq()
	if err != nil {
		return false, err
	}
	e.atCrashPoint("merge-read") // sources read, nothing written
	sum := summary{minTs: sorted[0].Timestamp, maxTs: sorted[len(sorted)-1].Timestamp, seq: seq, sid: s.id,
		count: len(sorted), ingestion: lastIngst, rawBytes: rawBytes, flags: flags | flagMerged}
	value := w.x.encode(nil, sorted, sortedPos, sortedIngest, w.enc)
	sumVal := encodeSummary(nil, &sum, w.grams.finish(nil))
	after := int64(len(value) + len(sumVal))
	span := sum.maxTs - sum.minTs
	storeMax(&g.maxSpan, span) // before the commit, as Append does (see Read)

	defer e.changing(g)() // the same answers by design; a read stamped across it reads again all the same
	b := e.db.NewBatch()
	defer b.Close()
	for _, k := range srcKeys {
		if k[0] != tagBlock { // payloads wait for readers (garbage)
			b.Delete(k, nil)
		}
	}
	b.Set(blockKey(tagSummary, g.id, sum.minTs, seq), sumVal, nil)
	b.Set(blockKey(tagBlock, g.id, sum.minTs, seq), value, nil)
	b.Set(indexKey(g.id, s.id, sum.minTs, seq), encodeIndex(nil, &sum), nil)
	for aseq, in := range appends {
		b.Set(feedKey(g.id, aseq), encodeMovedFeedEntry(sum.minTs, s.id, in, seq), nil)
	}
	zKey := u64key(tagGarbage, g.id, seq)
	b.Set(zKey, garbageV, nil)
	b.Merge(streamKey(g.id, s.name), streamRecord{storedBytes: after - before}.encode(), nil)
	b.Merge(groupStatsKey(g.id), groupStats{storedBytes: after - before, maxSpan: span}.encode(), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return false, fmt.Errorf("commit merge: %w", err)
	}
	e.atCrashPoint("merge-committed") // swapped; the sources' payloads still there
	s.storedBytes.Add(after - before)
	g.storedBytes.Add(after - before)
	e.putBuf(buf)

	gb := garbage{epoch: e.pins.advance(), gid: g.id, key: zKey}
	for _, k := range srcKeys {
		if k[0] == tagBlock {
			gb.keys = append(gb.keys, k)
		}
	}
	w.garbage = append(w.garbage, gb)
	e.addStats(func(st *RecompactStats) {
		st.Merges++
		st.SourceBlocks += int64(len(run))
		st.Events += int64(len(sorted))
		st.BytesBefore += before
		st.BytesAfter += after
	})
	return true, nil
}

// sweepGarbage deletes the payloads no read can still reach.
func (w *recompactor) sweepGarbage() error {
	e := w.e
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	e.maint.Lock()
	defer e.maint.Unlock()
	return w.deleteGarbage(func(gb garbage) bool { return e.pins.quiet(gb.epoch) })
}

// deleteGarbage deletes the payloads of the garbage ready says may go, and
// keeps the rest for a later sweep. The caller holds maint.
func (w *recompactor) deleteGarbage(ready func(garbage) bool) error {
	e := w.e
	kept := w.garbage[:0]
	for _, gb := range w.garbage {
		if !ready(gb) {
			kept = append(kept, gb)
			continue
		}
		b := e.db.NewBatch()
		for _, k := range gb.keys {
			b.Delete(k, nil)
			minTs := int64(beUint64(k[9:]))
			r, ok := w.compact[gb.gid]
			if !ok {
				r = [2]int64{minTs, minTs}
			}
			w.compact[gb.gid] = [2]int64{min(r[0], minTs), max(r[1], minTs)}
		}
		b.Delete(gb.key, nil)
		// Not synced: lost in a crash, the garbage record is still there
		// and the next start deletes again.
		err := b.Commit(pebble.NoSync)
		b.Close()
		if err != nil {
			return err
		}
		e.atCrashPoint("swept")
	}
	w.garbage = kept
	return nil
}

// compactDeleted has Pebble compact the key ranges that lost payloads, so
// their space returns (a deleted value stays in its sstable until then).
// It runs once the worker has nothing left to merge, not after every merge.
func (w *recompactor) compactDeleted() error {
	e := w.e
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	for gid, r := range w.compact {
		e.atCrashPoint("compacting")
		for _, tag := range []byte{tagSummary, tagBlock, tagIndex, tagFeed} {
			lo, hi := blockKey(tag, gid, r[0], 0), prefixEnd(blockKey(tag, gid, r[1], ^uint64(0)))
			if tag == tagIndex || tag == tagFeed { // keyed by stream or seq, not time: the whole group
				lo, hi = u64key(tag, gid), prefixEnd(u64key(tag, gid))
			}
			if err := e.db.Compact(context.Background(), lo, hi, false); err != nil {
				return err
			}
		}
		delete(w.compact, gid)
	}
	return nil
}
