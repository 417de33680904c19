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
	if err := e.reclaimStreams(); err != nil {
		return err
	}
	return e.expire()
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
			b.Delete(blockKey(tagBlock, p.gid, minTs, seq), nil)
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

// expiredBytes sums, per live stream, what the blocks expire is about to
// drop occupied (payload plus summary, as Append counted them). Blocks of
// deleted streams are skipped: DeleteStream already took them off the stats.
// It also returns the sequences of every block it is about to drop, whose
// feed entries go with them.
func (e *Engine) expiredBytes(g *group, cutoff int64) (freed map[uint64]int64, seqs []uint64, err error) {
	freed = map[uint64]int64{}
	p := u64key(tagSummary, g.id)
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: u64keyAppend(p, uint64(cutoff))})
	if err != nil {
		return nil, nil, err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, nil, err
		}
		sum, err := decodeSummary(it.Key(), v)
		if err != nil {
			return nil, nil, err
		}
		seqs = append(seqs, sum.seq)
		g.mu.RLock()
		live := g.byID[sum.sid] != nil
		g.mu.RUnlock()
		if !live {
			continue
		}
		payload, closer, err := e.db.Get(blockKey(tagBlock, g.id, sum.minTs, sum.seq))
		if err == nil {
			freed[sum.sid] += int64(len(payload) + len(v))
			closer.Close()
		} else if !errors.Is(err, pebble.ErrNotFound) {
			return nil, nil, err
		}
	}
	return freed, seqs, it.Error()
}

// expire drops the blocks of each group that lie wholly before its retention
// cutoff. A block starting before cutoff−maxBlockSpan ends before cutoff.
func (e *Engine) expire() error {
	now := e.cfg.Now().UnixMilli()
	e.mu.RLock()
	var gs []*group
	for _, g := range e.groups {
		gs = append(gs, g)
	}
	e.mu.RUnlock()
	for _, g := range gs {
		if skip, err := e.loadForExpiry(g, now); err != nil {
			return fmt.Errorf("expire group %d: %w", g.id, err)
		} else if skip {
			continue
		}
		g.mu.RLock()
		days, deleted := g.info.RetentionDays, g.deleted
		sids := make([]uint64, 0, len(g.byID))
		for id := range g.byID {
			sids = append(sids, id)
		}
		g.mu.RUnlock()
		if days <= 0 || deleted {
			continue
		}
		cutoff := now - int64(days)*86_400_000 - maxBlockSpan
		if cutoff <= 0 {
			continue
		}
		freed, seqs, err := e.expiredBytes(g, cutoff)
		if err != nil {
			return fmt.Errorf("expire group %d: %w", g.id, err)
		}
		b := e.db.NewBatch()
		var total int64
		for sid, n := range freed {
			total += n
			g.mu.RLock()
			st := g.byID[sid]
			g.mu.RUnlock()
			if st != nil {
				b.Merge(streamKey(g.id, st.name), streamRecord{storedBytes: -n}.encode(), nil)
			}
		}
		if total > 0 {
			b.Merge(groupStatsKey(g.id), groupStats{storedBytes: -total}.encode(), nil)
		}
		for _, tag := range []byte{tagSummary, tagBlock} {
			p := u64key(tag, g.id)
			b.DeleteRange(p, u64keyAppend(p, uint64(cutoff)), nil)
		}
		for _, sid := range sids {
			p := u64key(tagIndex, g.id, sid)
			b.DeleteRange(p, u64keyAppend(p, uint64(cutoff)), nil)
		}
		for _, seq := range seqs {
			b.Delete(feedKey(g.id, seq), nil)
		}
		err = b.Commit(pebble.NoSync)
		b.Close()
		if err != nil {
			return fmt.Errorf("expire group %d: %w", g.id, err)
		}
		for sid, n := range freed {
			g.mu.RLock()
			st := g.byID[sid]
			g.mu.RUnlock()
			if st != nil {
				st.storedBytes.Add(-n)
			}
		}
		g.storedBytes.Add(-total)
	}
	return nil
}
