package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cairnlog/cairn/internal/store"
)

// importSQL is appendSQL with the block's sequence number given (the
// source engine's), so that every event keeps its position and so its
// eventId; it sends no NOTIFY (no node serves the database during a
// migration).
const importSQL = `WITH s AS (
	UPDATE cairn_streams SET
		first_ts = CASE WHEN first_ts = 0 OR first_ts > $5 THEN $5 ELSE first_ts END,
		last_ts = greatest(last_ts, $6),
		last_ingestion = greatest(last_ingestion, $7),
		stored_bytes = stored_bytes + $8
	WHERE gid = (SELECT gid FROM cairn_groups WHERE account = $1 AND region = $2 AND name = $3) AND name = $4
	RETURNING gid, sid
), g AS (
	UPDATE cairn_groups SET last_seq = greatest(last_seq, $14), stored_bytes = stored_bytes + $8, max_span = greatest(max_span, $6 - $5)
	WHERE gid = (SELECT gid FROM s)
	RETURNING gid
)
INSERT INTO cairn_blocks (gid, seq, sid, min_ts, max_ts, count, ingestion, raw_bytes, flags, grams, payload)
SELECT g.gid, $14, s.sid, $5, $6, $9, $7, $10, $11, $12, $13 FROM g, s`

// Import stores one block of another engine's (events of one stream, in
// their order in the block, with the block's sequence number and ingestion
// time) for `cairn migrate`. Call FinishImport after the last.
func (e *Engine) Import(ctx context.Context, scope store.Scope, group, stream string, seq uint64, events []store.Event, ingestionTime int64) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	if len(events) == 0 {
		return errors.New("BUG: import of no events")
	}
	payload, raw := e.codec.encode(events)
	grams := buildGrams(events)
	var flags int16
	if hasBackslash(events) {
		flags |= flagBackslash
	}
	minTs, maxTs := events[0].Timestamp, events[0].Timestamp
	for _, ev := range events {
		minTs, maxTs = min(minTs, ev.Timestamp), max(maxTs, ev.Timestamp)
	}
	stored := int64(len(payload) + len(grams) + rowOverhead)
	var tag pgconn.CommandTag
	err := e.withPartitions(ctx, []int64{maxTs}, func() (err error) {
		tag, err = e.pool.Exec(ctx, importSQL, scope.Account, scope.Region, []byte(group), []byte(stream),
			minTs, maxTs, ingestionTime, stored, len(events), raw, flags, grams, payload, int64(seq))
		return err
	})
	if err != nil {
		return wrap(err)
	}
	if tag.RowsAffected() != 1 {
		return store.ErrStreamNotFound
	}
	return nil
}

// FinishImport moves the database's sequence past every imported block and
// every imported cursor (the source's feed marks may lie past its last
// block), so appends after the migration come after them in every group's
// feed and no follower resuming from its cursor skips one.
func (e *Engine) FinishImport(ctx context.Context) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	var ignored int64
	err := e.pool.QueryRow(ctx, `SELECT setval('cairn_seq', greatest((SELECT coalesce(max(seq), 0) FROM cairn_blocks), (SELECT coalesce(max(pos), 0) FROM cairn_cursors), (SELECT last_value FROM cairn_seq), 1))`).Scan(&ignored)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	return wrap(err)
}
