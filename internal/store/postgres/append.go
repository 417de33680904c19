package postgres

import (
	"context"
	"errors"

	"github.com/cairnlog/cairn/internal/store"
)

// rowOverhead approximates what a block row costs beyond its payload and
// grams (tuple header, summary columns, three index entries), so that
// stored bytes track the database's size.
const rowOverhead = 120

// appendSQL is one Append, in one statement and so one implicit
// transaction (one round trip): the stream's statistics, the group's next
// sequence, the block row, and the notice to other nodes, delivered at
// COMMIT. Sequences come from one database sequence (unique across groups
// and nodes); the group row's lock, taken by the UPDATE and held until
// COMMIT, is what makes them follow commit order within a group: an append
// that finds the row locked waits for the holder to commit, and PostgreSQL
// then re-evaluates the SET (EvalPlanQual), drawing a new, larger value. So
// a reader that sees sequence n committed in a group sees every smaller one
// of that group, and last_seq is the group feed's high-water mark. (A follower resuming from the high-water mark can never skip an
// append still committing.)
const appendSQL = `WITH s AS (
	UPDATE cairn_streams SET
		first_ts = CASE WHEN first_ts = 0 OR first_ts > $5 THEN $5 ELSE first_ts END,
		last_ts = greatest(last_ts, $6),
		last_ingestion = greatest(last_ingestion, $7),
		stored_bytes = stored_bytes + $8
	WHERE gid = (SELECT gid FROM cairn_groups WHERE account = $1 AND region = $2 AND name = $3) AND name = $4
	RETURNING gid, sid
), g AS (
	UPDATE cairn_groups SET last_seq = nextval('cairn_seq'), stored_bytes = stored_bytes + $8, max_span = greatest(max_span, $6 - $5)
	WHERE gid = (SELECT gid FROM s)
	RETURNING gid, last_seq
), b AS (
	INSERT INTO cairn_blocks (gid, seq, sid, min_ts, max_ts, count, ingestion, raw_bytes, flags, grams, payload)
	SELECT g.gid, g.last_seq, s.sid, $5, $6, $9, $7, $10, $11, $12, $13 FROM g, s
	RETURNING gid, seq, max_ts
)
SELECT b.seq, pg_notify('` + notifyChannel + `', $14 || ' ' || b.gid || ' ' || b.seq || ' ' || b.max_ts)::text FROM b`

// Append implements store.Store; it returns once PostgreSQL committed.
// Appends to one group that arrive together are written together
// (batch.go).
func (e *Engine) Append(ctx context.Context, scope store.Scope, group, stream string, events []store.Event, ingestionTime int64) (store.AppendResult, error) {
	if err := e.enter(); err != nil {
		return store.AppendResult{}, err
	}
	defer e.exit()
	if len(events) == 0 {
		return store.AppendResult{}, errors.New("BUG: append of no events")
	}
	if err := ctx.Err(); err != nil {
		return store.AppendResult{}, err // once queued, an append is written whatever its context
	}
	payload, raw := e.codec.encode(events)
	grams := buildGrams(events)
	var flags int16
	if hasBackslash(events) {
		flags |= flagBackslash
	}
	minTs, maxTs := events[0].Timestamp, events[len(events)-1].Timestamp
	stored := int64(len(payload) + len(grams) + rowOverhead)
	p := &pendingAppend{stream: stream, minTs: minTs, maxTs: maxTs, ingest: ingestionTime, stored: stored, raw: raw, count: len(events),
		flags: flags, grams: grams, payload: payload, done: make(chan appendResult, 1)}
	seq, err := e.submit(scope, group, p)
	if err != nil {
		return store.AppendResult{}, err
	}
	if e.hasSubscribers() {
		e.toldOwn(uint64(seq))
		a := store.Appended{Scope: scope, Group: group, Stream: stream, Events: make([]store.StoredEvent, len(events))}
		for i, ev := range events {
			a.Events[i] = store.StoredEvent{Stream: stream, Timestamp: ev.Timestamp, IngestionTime: ingestionTime, Message: ev.Message,
				Pos: store.Position{Time: ev.Timestamp, Seq: uint64(seq), Index: uint32(i)}}
		}
		e.publish(a)
	}
	return store.AppendResult{Seq: uint64(seq)}, nil
}
