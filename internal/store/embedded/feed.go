package embedded

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairnlog/cairn/internal/store"
)

// The feed: every Append writes, in its block's batch, a feed entry under
// 'F' gid seq, so a group's blocks can be walked in sequence order. ReadFeed
// walks them only up to the high-water mark Engine.committed (seq.go), so it
// never passes an append still committing.

// feedEntry is the value of an 'F' key: where the block is and what ReadFeed
// needs without reading its summary.
//
//	minTs uvarint | sid uvarint | ingestion varint [| block seq uvarint]
//
// Once re-compaction (recompact.go) has merged the append's block into a
// larger one, the entry names that block: its key's minTs and, last, its
// key's seq; ReadFeed then takes from it the events whose own seq is the
// entry's.
func encodeFeedEntry(s *summary) []byte {
	b := make([]byte, 0, 24)
	b = binary.AppendUvarint(b, uint64(s.minTs))
	b = binary.AppendUvarint(b, s.sid)
	return binary.AppendVarint(b, s.ingestion)
}

// encodeMovedFeedEntry is the entry of an append whose events now live in
// the merged block (minTs, blockSeq).
func encodeMovedFeedEntry(minTs int64, sid uint64, ingestion int64, blockSeq uint64) []byte {
	b := encodeFeedEntry(&summary{minTs: minTs, sid: sid, ingestion: ingestion})
	return binary.AppendUvarint(b, blockSeq)
}

func decodeFeedEntry(key, v []byte) (summary, error) {
	var s summary
	if len(key) != 17 {
		return s, fmt.Errorf("feed key %x: %w", key, errCorrupt)
	}
	s.seq = beUint64(key[9:])
	r := reader{b: v}
	s.minTs = int64(r.uvarint())
	s.sid = r.uvarint()
	s.ingestion = r.varint()
	if len(r.b) > 0 {
		s.blockSeq = r.uvarint()
	}
	if r.err {
		return s, fmt.Errorf("feed entry %x: %w", key, errCorrupt)
	}
	return s, nil
}

// ReadFeed implements store.Store.
func (e *Engine) ReadFeed(ctx context.Context, r store.FeedRequest) (page store.FeedPage, err error) {
	defer recoverFatal(&err)
	if err := e.enter(); err != nil {
		return store.FeedPage{}, err
	}
	defer e.exit()
	defer e.pin()() // the worker keeps replaced payloads while this runs (recompact.go)
	e.tail.touch()
	g, err := e.lookup(r.Scope, r.Group)
	if err != nil {
		return store.FeedPage{}, err
	}
	if r.Limit <= 0 {
		return store.FeedPage{}, errors.New("BUG: feed read with no limit")
	}
	// Load the mark before the iterator exists: every block at or below it
	// committed before, so the iterator sees it.
	hwm := e.committed.Load()
	page.Next = r.After
	page.Events = r.Buf[:0]
	if r.After >= hwm {
		return page, nil
	}
	it, err := e.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: feedKey(g.id, r.After+1), UpperBound: feedKey(g.id, hwm+1)})
	if err != nil {
		return store.FeedPage{}, err
	}
	defer it.Close()
	// Consecutive appends of a stream often share one merged block: keep
	// the last one opened.
	var merged struct {
		minTs int64
		seq   uint64
		blk   *DecodedBlock
		buf   []byte
	}
	defer func() { e.putBuf(merged.buf) }()
	for valid := it.First(); valid; valid = it.Next() {
		if err := ctx.Err(); err != nil {
			return store.FeedPage{}, err
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return store.FeedPage{}, err
		}
		s, err := decodeFeedEntry(it.Key(), v)
		if err != nil {
			return store.FeedPage{}, err
		}
		g.mu.RLock()
		st, deleted := g.byID[s.sid], g.deleted
		g.mu.RUnlock()
		if deleted {
			return store.FeedPage{}, store.ErrGroupNotFound
		}
		page.Next = s.seq
		if st == nil {
			continue // a deleted stream's block, not yet reclaimed
		}
		if evs := e.tail.get(g.id, s.seq); evs != nil {
			page.Events = append(page.Events, evs...)
			if len(page.Events) >= r.Limit {
				return page, it.Error()
			}
			continue
		}
		if s.blockSeq != 0 {
			if merged.blk == nil || merged.minTs != s.minTs || merged.seq != s.blockSeq {
				e.putBuf(merged.buf)
				merged.blk, merged.buf = nil, nil
				blk, buf, ok, err := e.openBlock(g.id, s.minTs, s.blockSeq, math.MinInt64, math.MaxInt64)
				if err != nil {
					return store.FeedPage{}, err
				}
				if !ok {
					continue // reclaimed (retention) after the feed entry was read
				}
				if blk.seqs == nil {
					e.putBuf(buf)
					return store.FeedPage{}, fmt.Errorf("feed entry %d names block %d, not a merged one: %w", s.seq, s.blockSeq, errCorrupt)
				}
				merged.minTs, merged.seq, merged.blk, merged.buf = s.minTs, s.blockSeq, blk, buf
			}
			blk := merged.blk
			for i := range blk.ts {
				if blk.seqs[i] == s.seq {
					page.Events = append(page.Events, store.StoredEvent{
						Stream: st.name, Timestamp: blk.ts[i], IngestionTime: blk.ingest[i], Message: string(blk.message(i)),
						Pos: blk.pos(i, 0),
					})
				}
			}
			if len(page.Events) >= r.Limit {
				return page, it.Error()
			}
			continue
		}
		blk, buf, ok, err := e.openBlock(g.id, s.minTs, s.seq, math.MinInt64, math.MaxInt64)
		if err != nil {
			return store.FeedPage{}, err
		}
		if !ok {
			continue // reclaimed (retention) after the feed entry was read
		}
		for i := range blk.ts {
			page.Events = append(page.Events, store.StoredEvent{
				Stream: st.name, Timestamp: blk.ts[i], IngestionTime: s.ingestion, Message: string(blk.message(i)),
				Pos: store.Position{Time: blk.ts[i], Seq: s.seq, Index: uint32(i)},
			})
		}
		e.putBuf(buf)
		if len(page.Events) >= r.Limit {
			return page, it.Error()
		}
	}
	if err := it.Error(); err != nil {
		return store.FeedPage{}, err
	}
	page.Next = hwm
	return page, nil
}
