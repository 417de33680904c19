package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/cairnlog/cairn/internal/store"
)

// Scan implements store.Store: per group, the summaries in (min_ts, seq)
// order, the gram filter ruling blocks out unopened, payloads fetched a
// batch at a time. Blocks are decoded in the caller's goroutine (one
// PostgreSQL round trip per payloadBatch blocks is the cost that matters
// here, not the decode).
func (e *Engine) Scan(ctx context.Context, r store.ScanRequest, fn func(store.ScanBlock) bool) (store.ScanStats, error) {
	var st store.ScanStats
	if err := ctx.Err(); err != nil {
		return st, err
	}
	if err := e.enter(); err != nil {
		return st, err
	}
	defer e.exit()
	sels := make([]*selection, len(r.Groups))
	for i, g := range r.Groups {
		sel, err := e.selectIn(ctx, r.Scope, g, r.Streams, r.StreamPrefix, r.Start, r.End)
		if err != nil {
			return st, err
		}
		sels[i] = sel
	}
	for i, sel := range sels {
		if sel == nil {
			continue
		}
		sums := newSummaries(e, sel, false, r.Filter)
		for {
			if err := ctx.Err(); err != nil {
				return st, err
			}
			nx, err := sums.peek(ctx)
			if err != nil {
				return st, ctxErr(ctx, err)
			}
			if nx == nil {
				break
			}
			b, d, err := sums.open(ctx)
			if err != nil {
				return st, ctxErr(ctx, err)
			}
			if d == nil {
				continue
			}
			st.Blocks++
			st.ScannedEvents += int64(b.count)
			st.ScannedBytes += b.raw
			var evs []store.StoredEvent
			for j, t := range d.ts {
				if t < sel.start || t >= sel.end || r.Filter != nil && !r.Filter.Match(d.msgs[j]) {
					continue
				}
				evs = append(evs, store.StoredEvent{Stream: b.stream, Timestamp: t, IngestionTime: b.ingestion, Message: d.msgs[j],
					Pos: store.Position{Time: t, Seq: b.seq, Index: uint32(j)}})
			}
			if len(evs) == 0 {
				continue
			}
			if err := ctx.Err(); err != nil {
				return st, err
			}
			if !fn(store.ScanBlock{Group: r.Groups[i], Events: evs}) {
				st.SkippedBlocks += sums.skipped
				return st, nil
			}
		}
		st.SkippedBlocks += sums.skipped
	}
	return st, nil
}

// ctxErr prefers the context's error to the driver's report of it.
func ctxErr(ctx context.Context, err error) error {
	if c := ctx.Err(); c != nil {
		return c
	}
	return err
}

// maxFeedBlocks bounds one feed page's rows whatever the Limit.
const maxFeedBlocks = 10_000

// ReadFeed implements store.Store. The high-water mark and the blocks are
// read in one REPEATABLE READ snapshot: a mark read after the blocks could
// cover an append committed in between and skip it.
func (e *Engine) ReadFeed(ctx context.Context, r store.FeedRequest) (store.FeedPage, error) {
	if err := e.enter(); err != nil {
		return store.FeedPage{}, err
	}
	defer e.exit()
	limit := min(max(r.Limit, 1), maxFeedBlocks)
	var page store.FeedPage
	err := pgx.BeginTxFunc(ctx, e.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		page = store.FeedPage{Events: r.Buf[:0]}
		var gid, hwm int64
		err := tx.QueryRow(ctx, `SELECT gid, last_seq FROM cairn_groups WHERE account = $1 AND region = $2 AND name = $3`,
			r.Scope.Account, r.Scope.Region, []byte(r.Group)).Scan(&gid, &hwm)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrGroupNotFound
		}
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT b.seq, s.name, b.min_ts, b.count, b.ingestion, b.payload, b.object
			FROM cairn_blocks b JOIN cairn_streams s ON s.sid = b.sid
			WHERE b.gid = $1 AND b.seq > $2 ORDER BY b.seq LIMIT $3`, gid, int64(r.After), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		full := false
		for rows.Next() {
			var (
				seq, minTs, ingestion int64
				count                 int
				name, payload         []byte
				object                *string
			)
			if err := rows.Scan(&seq, &name, &minTs, &count, &ingestion, &payload, &object); err != nil {
				return err
			}
			if object != nil {
				// Moved (a follower far behind): this snapshot still has
				// the row, so the object is there unless the row was
				// deleted since.
				if payload, err = e.fetchObject(ctx, gid, uint64(seq), *object); err != nil {
					return err
				}
				if payload == nil {
					continue
				}
			}
			d, err := e.codec.decode(payload, minTs, count)
			if err != nil {
				return err
			}
			stream := string(name)
			for i, t := range d.ts {
				page.Events = append(page.Events, store.StoredEvent{Stream: stream, Timestamp: t, IngestionTime: ingestion, Message: d.msgs[i],
					Pos: store.Position{Time: t, Seq: uint64(seq), Index: uint32(i)}})
			}
			page.Next = uint64(seq)
			if len(page.Events) >= limit {
				full = true
				break
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if !full {
			page.Next = max(uint64(hwm), r.After)
		}
		return nil
	})
	return page, wrap(err)
}
