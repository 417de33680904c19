package embedded

import (
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// The janitor reclaims space in the background: the blocks of deleted streams
// and the blocks wholly past their group's retention. Reads already hide both,
// so the janitor is never on a request's path.

func (e *Engine) janitor() {
	defer e.wg.Done()
	t := time.NewTicker(e.cfg.JanitorInterval)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			if err := e.sweep(); err != nil {
				e.log.Error("janitor sweep failed", "err", err)
			}
		}
	}
}

// Sweep runs one janitor pass now (tests and the janitor call it).
func (e *Engine) Sweep() error {
	return e.sweep()
}

func (e *Engine) sweep() error {
	if err := e.enter(); err != nil {
		return nil
	}
	defer e.exit()
	e.maint.Lock()
	defer e.maint.Unlock()
	if err := e.reclaimStreams(); err != nil {
		return err
	}
	_, err := e.expire(expireChunk)
	return err
}

// reclaimStreams deletes the blocks of streams marked by DeleteStream.
func (e *Engine) reclaimStreams() error {
	type pending struct{ gid, sid uint64 }
	var todo []pending
	err := e.scan([]byte{tagReclaim}, func(k, _ []byte) error {
		if len(k) == 17 {
			todo = append(todo, pending{beUint64(k[1:]), beUint64(k[9:])})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range todo {
		prefix := u64key(tagIndex, p.gid, p.sid)
		b := e.db.NewBatch()
		err := e.scan(prefix, func(k, _ []byte) error {
			minTs, seq, ok := parseBlockKey(k, 17)
			if !ok {
				return fmt.Errorf("index key %x: %w", k, errCorrupt)
			}
			b.Delete(blockKey(tagSummary, p.gid, minTs, seq), nil)
			bk := blockKey(tagBlock, p.gid, minTs, seq)
			if v, closer, err := e.db.Get(bk); err == nil { // a merged block: its appends' feed entries too
				for _, s := range mergedSeqs(v) {
					b.Delete(feedKey(p.gid, s), nil)
				}
				closer.Close()
			}
			b.Delete(bk, nil)
			b.Delete(feedKey(p.gid, seq), nil)
			return nil
		})
		if err == nil {
			b.DeleteRange(prefix, prefixEnd(prefix), nil)
			b.Delete(reclaimKey(p.gid, p.sid), nil)
			err = b.Commit(pebble.NoSync)
		}
		b.Close()
		if err != nil {
			return fmt.Errorf("reclaim stream %d/%d: %w", p.gid, p.sid, err)
		}
	}
	return nil
}

// sweepStats counts what one expire pass wrote, so a test can check that
// expiry costs what expires and not the number of streams.
type sweepStats struct {
	groups       int // groups that had something to expire
	blocks       int // blocks dropped
	rangeDeletes int // range tombstones written
	pointDeletes int // single-key deletions written
	merges       int // stats merge operands written
}

// expiredBlock is one block expire is about to drop: its keys, its stream,
// and the bytes it occupies (payload plus summary, as Append counted them).
type expiredBlock struct {
	minTs int64
	seq   uint64
	sid   uint64
	freed int64
	// feedSeqs are the appends a merged block holds (recompact.go): their
	// feed entries go with it.
	feedSeqs []uint64
}

// expireChunk bounds the blocks one expire batch drops, so the first sweep
// after retention is set on a large group does not build one huge batch.
// (Tests pass expire a smaller one.)
const expireChunk = 10_000

// expire drops, in each group with retention, the blocks that lie wholly
// before its cutoff. A block starting before cutoff−maxBlockSpan ends before
// cutoff, and blocks are keyed by (group, minTs, seq), so the expired blocks
// are one key range at the head of the group's summaries and payloads: one
// seek tells a group with nothing to expire, and the work and the writes of
// a pass are proportional to the blocks that expire, never to the group's
// streams. What reads see does not change: they already hide expired events.
func (e *Engine) expire(chunk int) (sweepStats, error) {
	var st sweepStats
	now := e.cfg.Now().UnixMilli()
	e.mu.RLock()
	gs := make([]*group, 0, len(e.groups))
	for _, g := range e.groups {
		gs = append(gs, g)
	}
	e.mu.RUnlock()
	for _, g := range gs {
		if err := e.expireGroup(g, now, chunk, &st); err != nil {
			return st, fmt.Errorf("expire group %d: %w", g.id, err)
		}
	}
	return st, nil
}

func (e *Engine) expireGroup(g *group, now int64, chunkLen int, st *sweepStats) error {
	g.mu.RLock()
	days, deleted := g.info.RetentionDays, g.deleted
	g.mu.RUnlock()
	if days <= 0 || deleted {
		return nil
	}
	cutoff := now - int64(days)*86_400_000 - maxBlockSpan
	if cutoff <= 0 {
		return nil
	}
	// A group whose streams were never loaded is loaded only when it has a
	// block to expire (one seek); for a loaded group the walk below is that
	// seek.
	if skip, err := e.loadForExpiry(g, now); err != nil || skip {
		return err
	}
	p := u64key(tagSummary, g.id)
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: u64keyAppend(p, uint64(cutoff))})
	if err != nil {
		return err
	}
	defer it.Close()
	var chunk []expiredBlock
	dropped := false
	for valid := it.First(); ; valid = it.Next() {
		if !valid || len(chunk) == chunkLen {
			// The chunk's range ends where the next block starts (or at the
			// cutoff), so no block is dropped without its accounting.
			end := u64key(0, g.id, uint64(cutoff))
			if valid {
				end = append([]byte(nil), it.Key()...)
			}
			if len(chunk) > 0 {
				if err := e.dropExpired(g, chunk, end[1:], st); err != nil {
					return err
				}
				dropped = true
			}
			chunk = chunk[:0]
			if !valid {
				break
			}
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		sum, err := decodeSummary(it.Key(), v)
		if err != nil {
			return err
		}
		// The payload's size is read for every block: dropExpired counts
		// only those of streams still live when it commits.
		blk := expiredBlock{minTs: sum.minTs, seq: sum.seq, sid: sum.sid}
		payload, closer, err := e.db.Get(blockKey(tagBlock, g.id, sum.minTs, sum.seq))
		if err == nil {
			blk.freed = int64(len(payload) + len(v))
			blk.feedSeqs = mergedSeqs(payload) // a merged block's appends
			closer.Close()
		} else if !errors.Is(err, pebble.ErrNotFound) {
			return err
		}
		chunk = append(chunk, blk)
	}
	if dropped {
		st.groups++
	}
	return it.Error()
}

// dropExpired deletes chunk, the expired blocks of g from the head of its
// block keys up to end (a key without its tag byte, exclusive), with their
// index and feed entries, and takes their bytes off the stats, in one batch.
// The index and feed keys are named one by one: only the chunk's streams
// and sequences have any.
func (e *Engine) dropExpired(g *group, chunk []expiredBlock, end []byte, st *sweepStats) error {
	// g.mu across the (unsynced, short) commit: DeleteStream holds it for
	// writing across its own, so a stream deleted meanwhile is either still
	// here, and its bytes come off here, or gone, and DeleteStream took them.
	g.mu.RLock()
	defer g.mu.RUnlock()
	defer e.changing(g)()
	freed := map[*stream]int64{}
	var total int64
	for _, blk := range chunk {
		if s := g.byID[blk.sid]; s != nil && blk.freed != 0 {
			freed[s] += blk.freed
			total += blk.freed
		}
	}
	b := e.db.NewBatch()
	defer b.Close()
	for s, n := range freed {
		b.Merge(streamKey(g.id, s.name), streamRecord{storedBytes: -n}.encode(), nil)
		st.merges++
	}
	if total != 0 {
		b.Merge(groupStatsKey(g.id), groupStats{storedBytes: -total}.encode(), nil)
		st.merges++
	}
	for _, tag := range []byte{tagSummary, tagBlock} {
		b.DeleteRange(u64key(tag, g.id), append([]byte{tag}, end...), nil)
		st.rangeDeletes++
	}
	for _, blk := range chunk {
		b.Delete(indexKey(g.id, blk.sid, blk.minTs, blk.seq), nil)
		b.Delete(feedKey(g.id, blk.seq), nil)
		e.tail.forget(g.id, blk.seq)
		st.pointDeletes += 2
		for _, seq := range blk.feedSeqs {
			b.Delete(feedKey(g.id, seq), nil)
			st.pointDeletes++
		}
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		return err
	}
	st.blocks += len(chunk)
	for s, n := range freed {
		s.storedBytes.Add(-n)
	}
	g.storedBytes.Add(-total)
	return nil
}
