package postgres

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cairnlog/cairn/internal/store"
)

// Group commit. Appends to one log group serialise on the group row from
// the sequence draw to COMMIT (that is what makes sequences follow commit
// order), so one group takes one append per commit latency however many
// writers it has. Appends to the same group that arrive while one is being
// written wait, and the next write takes them all: one round trip, one
// transaction, one COMMIT (and WAL flush) for the lot.
//
// On each node one goroutine at a time, the leader, writes a group's
// appends; the others queue. The leader writes its own append with what is
// queued (up to maxCoalesce), answers them, and hands the lead to the first
// append that queued meanwhile, or ends it. Every append of a batch is
// acknowledged only after the batch's COMMIT; if anything fails, none is.

const maxCoalesce = 64

// flushTimeout bounds a batch's write: it is done for several callers, so
// no one caller's context may cancel it.
const flushTimeout = time.Minute

type groupKey struct{ account, region, group string }

// pendingAppend is one Append's block, encoded, and where its answer goes.
type pendingAppend struct {
	stream               string
	minTs, maxTs, ingest int64
	stored, raw          int64
	count                int
	flags                int16
	grams, payload       []byte
	events               []store.Event
	done                 chan appendResult // buffered: 1
	seq                  int64             // set by writeBatch
	err                  error             // set by writeBatch
}

type appendResult struct {
	seq  int64
	err  error
	lead bool // this append now leads its group's queue
}

type groupQueue struct {
	busy    bool
	pending []*pendingAppend
}

type coalescer struct {
	mu     sync.Mutex
	queues map[groupKey]*groupQueue
	// multi counts the writes that carried more than one append (tests).
	multi atomic.Int64
}

// submit writes p (with whatever queues behind it) and returns its
// sequence number once committed.
func (e *Engine) submit(scope store.Scope, group string, p *pendingAppend) (int64, error) {
	k := groupKey{scope.Account, scope.Region, group}
	c := &e.coalesce
	c.mu.Lock()
	q := c.queues[k]
	if q == nil {
		q = &groupQueue{}
		c.queues[k] = q
	}
	if q.busy {
		q.pending = append(q.pending, p)
		c.mu.Unlock()
		// Not interruptible: once queued, the append may be written by the
		// leader at any moment, and the answer must reach it.
		r := <-p.done
		if !r.lead {
			return r.seq, r.err
		}
		c.mu.Lock()
	}
	q.busy = true
	n := min(len(q.pending), maxCoalesce-1)
	batch := append([]*pendingAppend{p}, q.pending[:n]...)
	q.pending = q.pending[n:]
	c.mu.Unlock()

	e.writeBatch(scope, group, batch)

	c.mu.Lock()
	if len(q.pending) > 0 {
		next := q.pending[0]
		q.pending = q.pending[1:]
		c.mu.Unlock()
		next.done <- appendResult{lead: true}
	} else {
		q.busy = false
		delete(c.queues, k)
		c.mu.Unlock()
	}
	for _, b := range batch[1:] {
		b.done <- appendResult{seq: b.seq, err: b.err}
	}
	return p.seq, p.err
}

// batchSQL writes a group's blocks in one statement, after the group row
// is locked by the statement before it in the same transaction: every
// sequence drawn here is drawn under the lock, in arrival order, so they
// follow commit order as appendSQL's do. $4.. are arrays, one element per
// block; a block whose stream does not exist is left out (no row for its
// ordinal).
const batchSQL = `WITH r AS (
	SELECT * FROM unnest($4::bytea[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::int[], $10::bigint[], $11::smallint[], $12::bytea[], $13::bytea[])
		WITH ORDINALITY AS r(stream, min_ts, max_ts, ingestion, stored, count, raw, flags, grams, payload, ord)
), grp AS (
	SELECT gid FROM cairn_groups WHERE account = $1 AND region = $2 AND name = $3
), seqs AS MATERIALIZED (
	SELECT x.ord, x.sid, nextval('cairn_seq') AS seq FROM (
		SELECT r.ord, st.sid FROM r JOIN cairn_streams st ON st.gid = (SELECT gid FROM grp) AND st.name = r.stream
		ORDER BY r.ord) x
), b AS (
	INSERT INTO cairn_blocks (gid, seq, sid, min_ts, max_ts, count, ingestion, raw_bytes, flags, grams, payload)
	SELECT (SELECT gid FROM grp), seqs.seq, seqs.sid, r.min_ts, r.max_ts, r.count, r.ingestion, r.raw, r.flags, r.grams, r.payload
	FROM seqs JOIN r USING (ord)
	RETURNING gid, seq, max_ts
), g AS (
	UPDATE cairn_groups SET last_seq = greatest(last_seq, (SELECT max(seq) FROM b)),
		stored_bytes = stored_bytes + (SELECT coalesce(sum(r.stored), 0) FROM r JOIN seqs USING (ord)),
		max_span = greatest(max_span, (SELECT coalesce(max(r.max_ts - r.min_ts), 0) FROM r JOIN seqs USING (ord)))
	WHERE gid = (SELECT gid FROM grp)
)
SELECT seqs.ord, b.seq, pg_notify('` + notifyChannel + `', $14 || ' ' || b.gid || ' ' || b.seq || ' ' || b.max_ts)::text
FROM seqs JOIN b ON b.seq = seqs.seq ORDER BY seqs.ord`

// streamSQL updates one stream's statistics for a batch (its blocks'
// aggregate): the stream rows are locked in name order, then the group
// row, the order appendSQL locks them in, so no two writers deadlock.
const streamSQL = `UPDATE cairn_streams SET
	first_ts = CASE WHEN first_ts = 0 OR first_ts > $5 THEN $5 ELSE first_ts END,
	last_ts = greatest(last_ts, $6),
	last_ingestion = greatest(last_ingestion, $7),
	stored_bytes = stored_bytes + $8
WHERE gid = (SELECT gid FROM cairn_groups WHERE account = $1 AND region = $2 AND name = $3) AND name = $4`

// writeBatch writes batch and sets each one's seq, or its err. One append
// alone goes through appendSQL.
func (e *Engine) writeBatch(scope store.Scope, group string, batch []*pendingAppend) {
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	defer cancel()
	maxTs := make([]int64, len(batch))
	for i, p := range batch {
		maxTs[i] = p.maxTs
	}
	if len(batch) == 1 {
		p := batch[0]
		err := e.withPartitions(ctx, maxTs, func() error {
			var ignored string
			return e.pool.QueryRow(ctx, appendSQL, scope.Account, scope.Region, []byte(group), []byte(p.stream),
				p.minTs, p.maxTs, p.ingest, p.stored, p.count, p.raw, p.flags, p.grams, p.payload, e.node).Scan(&p.seq, &ignored)
		})
		e.settle(ctx, scope, group, batch, err)
		return
	}
	e.coalesce.multi.Add(1)
	// The streams' aggregates, in name order.
	type agg struct{ minTs, maxTs, ingest, stored int64 }
	aggs := map[string]*agg{}
	var names []string
	for _, p := range batch {
		a := aggs[p.stream]
		if a == nil {
			a = &agg{minTs: p.minTs, maxTs: p.maxTs}
			aggs[p.stream] = a
			names = append(names, p.stream)
		}
		a.minTs, a.maxTs, a.ingest, a.stored = min(a.minTs, p.minTs), max(a.maxTs, p.maxTs), max(a.ingest, p.ingest), a.stored+p.stored
	}
	slices.Sort(names)
	// One implicit transaction (pgx sends the batch with one Sync): the
	// stream updates, the group row's lock, the blocks; one round trip.
	cols := make([][]any, 10)
	for _, p := range batch {
		for i, v := range []any{[]byte(p.stream), p.minTs, p.maxTs, p.ingest, p.stored, int32(p.count), p.raw, p.flags, p.grams, p.payload} {
			cols[i] = append(cols[i], v)
		}
	}
	err := e.withPartitions(ctx, maxTs, func() error {
		// A batch is built afresh for each try: pgx's statement cache
		// entries of a failed batch are gone with it.
		b := &pgx.Batch{}
		for _, n := range names {
			a := aggs[n]
			b.Queue(streamSQL, scope.Account, scope.Region, []byte(group), []byte(n), a.minTs, a.maxTs, a.ingest, a.stored)
		}
		b.Queue(`SELECT gid FROM cairn_groups WHERE account = $1 AND region = $2 AND name = $3 FOR UPDATE`, scope.Account, scope.Region, []byte(group))
		b.Queue(batchSQL, scope.Account, scope.Region, []byte(group), typed[[]byte](cols[0]), typed[int64](cols[1]), typed[int64](cols[2]),
			typed[int64](cols[3]), typed[int64](cols[4]), typed[int32](cols[5]), typed[int64](cols[6]), typed[int16](cols[7]),
			typed[[]byte](cols[8]), typed[[]byte](cols[9]), e.node)
		for _, p := range batch {
			p.err = errUnwritten
		}
		br := e.pool.SendBatch(ctx, b)
		defer br.Close()
		for range names {
			if _, err := br.Exec(); err != nil {
				return err
			}
		}
		var gid int64
		if err := br.QueryRow().Scan(&gid); err != nil {
			return err
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		for rows.Next() {
			var ord, seq int64
			var ignored string
			if err := rows.Scan(&ord, &seq, &ignored); err != nil {
				rows.Close()
				return err
			}
			batch[ord-1].seq = seq
			batch[ord-1].err = nil
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		return br.Close() // the implicit transaction's COMMIT is answered here
	})
	e.settle(ctx, scope, group, batch, err)
}

// errUnwritten marks an append of a multi-append write until its block's
// row comes back.
var errUnwritten = errors.New("not written")

// settle turns a write's outcome into each append's answer: a failed write
// fails them all (none is acknowledged); an append that was not written
// found no stream, or no group.
func (e *Engine) settle(ctx context.Context, scope store.Scope, group string, batch []*pendingAppend, err error) {
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		for _, p := range batch {
			p.seq, p.err = 0, wrap(err)
		}
		return
	}
	if errors.Is(err, pgx.ErrNoRows) {
		for _, p := range batch {
			p.err = errUnwritten
		}
	}
	for _, p := range batch {
		if p.err != errUnwritten {
			continue
		}
		p.err = store.ErrStreamNotFound
		if _, gerr := e.gid(ctx, e.pool, scope, group); errors.Is(gerr, store.ErrGroupNotFound) {
			p.err = store.ErrGroupNotFound
		}
	}
}

// typed converts a column of values to the slice type pgx encodes as an
// array.
func typed[T any](col []any) []T {
	out := make([]T, len(col))
	for i, v := range col {
		out[i] = v.(T)
	}
	return out
}
