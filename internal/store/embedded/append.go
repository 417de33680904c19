package embedded

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairnlog/cairn/internal/store"
)

// Append implements store.Store.
func (e *Engine) Append(ctx context.Context, scope store.Scope, groupName, streamName string, events []store.Event, ingestion int64) (res store.AppendResult, err error) {
	if len(events) == 0 {
		return store.AppendResult{}, errors.New("BUG: append of no events")
	}
	err = e.groupOp(scope, groupName, true, writeData, func(g *group) (err error) {
		defer e.changing(g)()
		res, err = e.appendBlock(g, scope, groupName, streamName, events, ingestion, nil)
		return err
	})
	return res, err
}

// AppendWith implements store.RecordAppender: the records go into the
// append's Pebble batch, committed (and synced) with the block.
func (e *Engine) AppendWith(ctx context.Context, scope store.Scope, groupName, streamName string, events []store.Event, ingestion int64,
	records func(seq uint64) ([]store.ResourceRecord, error)) (res store.AppendResult, err error) {
	if len(events) == 0 {
		return store.AppendResult{}, errors.New("BUG: append of no events")
	}
	err = e.groupOp(scope, groupName, true, writeData, func(g *group) (err error) {
		defer e.changing(g)()
		res, err = e.appendBlock(g, scope, groupName, streamName, events, ingestion, records)
		return err
	})
	return res, err
}

// appendBlock writes events as one block of g's stream streamName; it runs
// as a groupOp that holds g.commit for reading.
//
// records, when not nil, gives resource records of g (AppendWith) to set in
// the same batch.
func (e *Engine) appendBlock(g *group, scope store.Scope, groupName, streamName string, events []store.Event, ingestion int64,
	records func(seq uint64) ([]store.ResourceRecord, error)) (store.AppendResult, error) {
	g.mu.RLock()
	s := g.streams[streamName]
	g.mu.RUnlock()
	if s == nil {
		return store.AppendResult{}, store.ErrStreamNotFound
	}
	seq, err := e.allocAppendSeq()
	if err != nil {
		return store.AppendResult{}, err
	}
	// Whatever happens from here (a failed commit, a storage panic), the
	// sequence leaves the pending set, so the feed's mark moves on, and the
	// notices of later appends it was holding back are told.
	defer func() { e.announce(e.finishSeq(seq, nil)) }()

	sum := summary{minTs: events[0].Timestamp, maxTs: events[len(events)-1].Timestamp, seq: seq, sid: s.id, count: len(events), ingestion: ingestion}
	gb := e.grams.Get().(*gramBuilder)
	gb.reset()
	var raw int64
	for i := range events {
		m := events[i].Message
		raw += int64(len(m))
		gb.add(unsafeBytes(m))
	}
	sum.rawBytes = raw
	filter := gb.finish(nil)
	e.grams.Put(gb)

	// Both the message column and the encoded value live in pooled buffers:
	// the batch's Set copies the value, so it is free again once set (a fresh
	// ~30 KiB value a batch was a large allocation, zeroed, and garbage).
	scratch, compressed := e.getBuf(), e.getBuf()
	if e.cfg.Compression == "s2" {
		compressed, scratch = EncodeBlockS2(compressed, scratch, events)
	} else {
		compressed, scratch = EncodeBlock(compressed, scratch, events, e.enc)
	}
	if columnHasBackslash(scratch, events) {
		sum.flags |= flagBackslash
	}
	e.putBuf(scratch)
	sumVal := encodeSummary(nil, &sum, filter)
	idxVal := encodeIndex(nil, &sum)
	stored := int64(len(compressed) + len(sumVal))

	// Raise the span before committing: a reader that can see this block
	// must seek far enough back to find it (see Read).
	storeMax(&g.maxSpan, sum.maxTs-sum.minTs)

	b := e.db.NewBatchWithSize(len(compressed) + len(sumVal) + len(idxVal) + 256)
	defer b.Close()
	b.Set(blockKey(tagSummary, g.id, sum.minTs, seq), sumVal, nil)
	b.Set(blockKey(tagBlock, g.id, sum.minTs, seq), compressed, nil) // copies compressed
	e.putBuf(compressed)
	b.Set(indexKey(g.id, s.id, sum.minTs, seq), idxVal, nil)
	b.Merge(streamKey(g.id, streamName), streamRecord{first: sum.minTs, last: sum.maxTs, lastIngest: ingestion, storedBytes: stored}.encode(), nil)
	b.Merge(groupStatsKey(g.id), groupStats{storedBytes: stored, maxSpan: sum.maxTs - sum.minTs}.encode(), nil)
	b.Set(feedKey(g.id, seq), encodeFeedEntry(&sum), nil)
	if records != nil {
		recs, err := records(seq)
		if err != nil {
			return store.AppendResult{}, err
		}
		for _, r := range recs {
			if r.Key.Scope != scope || r.Key.Group != groupName {
				return store.AppendResult{}, fmt.Errorf("BUG: AppendWith's record %v is not of group %q", r.Key, groupName)
			}
			p, err := resourcePrefix(r.Key, g)
			if err != nil {
				return store.AppendResult{}, err
			}
			// As PutResource: the resource cache forgets the record's
			// kind from before the commit to after it.
			e.res.begin(p)
			defer e.res.end(p)
			b.Set(append(p, r.Key.Name...), r.Value, nil)
		}
	}
	e.space.written.Add(int64(b.Len()))
	if h := e.beforeCommit; h != nil {
		h(g.name, seq)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return store.AppendResult{}, fmt.Errorf("commit block: %w", err)
	}

	e.lastAppend.Store(time.Now().UnixNano())
	storeMin(&s.first, sum.minTs)
	storeMax(&s.last, sum.maxTs)
	g.touched(s) // the time index, in memory only (streams.go)
	storeMax(&s.lastIngest, ingestion)
	s.storedBytes.Add(stored)
	g.storedBytes.Add(stored)

	// One copy of the events as stored serves the feed's tail and the
	// listeners (both read-only).
	var kept []store.StoredEvent
	tailOn := e.tail.active()
	if tailOn || e.hasListeners() {
		kept = make([]store.StoredEvent, len(events))
		for i, ev := range events {
			kept[i] = store.StoredEvent{Stream: streamName, Timestamp: ev.Timestamp, IngestionTime: ingestion, Message: ev.Message,
				Pos: store.Position{Time: ev.Timestamp, Seq: seq, Index: uint32(i)}}
		}
		if tailOn {
			e.tail.put(g.id, seq, kept) // before the mark passes seq, so a follower it wakes finds it
		}
	}
	// Listeners are told once the mark has passed seq (a listener's ReadFeed
	// must see this block): now, or when the lower append holding the mark
	// back finishes (finishSeq).
	var notice *store.Appended
	if len(kept) > 0 {
		notice = &store.Appended{Scope: scope, Group: groupName, Stream: streamName, Events: kept}
	}
	e.announce(e.finishSeq(seq, notice))
	return store.AppendResult{Seq: seq}, nil
}

func storeMin(a *atomic.Int64, v int64) {
	for {
		cur := a.Load()
		if cur != 0 && cur <= v {
			return
		}
		if a.CompareAndSwap(cur, v) {
			return
		}
	}
}

func storeMax(a *atomic.Int64, v int64) {
	for {
		cur := a.Load()
		if cur >= v {
			return
		}
		if a.CompareAndSwap(cur, v) {
			return
		}
	}
}
