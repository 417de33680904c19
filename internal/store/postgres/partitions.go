package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Time partitions. cairn_blocks is partitioned by RANGE of max_ts (the
// newest event time of a block), one partition per UTC day, so that
// retention drops whole partitions instead of deleting rows.
//
// Why max_ts, and why a day:
//   - Retention is decided on max_ts (a block is expired once its newest
//     event is past the cutoff; read.go hides older events by the same
//     rule), so a partition's upper bound alone says when every block in
//     it is past a given retention: no scan decides it. Ingestion time or
//     the sequence would not: a block ingested today may hold events up to
//     14 days old, so a partition of ingestion day D holds blocks whose
//     expiry spreads over two weeks.
//   - Time-bounded reads name a max_ts range (read.go), so the planner
//     opens only the partitions of the range: a read of the last hour
//     touches one partition's indexes whatever the retention.
//   - Ingest writes into today's partition (events are at most 14 days old
//     and 2 hours ahead), whose indexes are small and hot.
//   - A day is the unit of retention (1 day to 10 years), so a partition
//     is dropped at most a day after its last block expired; finer would
//     multiply partitions (planning and the feed's seq lookups probe each
//     one, see below) for nothing, coarser would keep expired data longer.
//
// The cost: lookups by sequence (ReadFeed, the mover) do not know max_ts
// and probe every partition's (gid, seq, max_ts) index, one descent each;
// the payload fetch and the NOTIFY relay carry max_ts and touch one. With a
// 30-day retention that is ~31 descents a feed page; a group kept for years
// makes feed reads slower (noted in docs/scaling.md).
//
// Partitions are created ahead of writes (today and the next two days, by
// Open and by the retention lease holder every JanitorInterval) and on
// demand: a write that finds no partition for a block ("no partition of
// relation found for row") creates the day's and is retried once. Creation
// is cairn_ensure_partition, a database function that takes one advisory
// lock, so two nodes creating the same day serialise and the second finds
// it made; it creates the table on its own and ATTACHes it, which takes
// only a SHARE UPDATE EXCLUSIVE lock on cairn_blocks (CREATE TABLE ...
// PARTITION OF would take an ACCESS EXCLUSIVE lock and stall every append
// and read behind any long scan). cairn_partitions lists them with their
// bounds.
//
// Dropping (dropPartitions, called by Expire): a partition is dropped only
// when its upper bound is past the retention cutoff of every group that
// has a block in it, and no group without retention has one: then every
// block in it is expired. A partition that also holds blocks of a group
// with a longer retention (or none) stays, whole: that group's rows stay in
// it, and the shorter groups' expired rows in it are deleted row by row as
// before (expireSQL); the partition is dropped when the longest-kept group's
// blocks in it expire. The drop is DETACH PARTITION CONCURRENTLY (waits for
// reads that may see it, blocks none), then one transaction that re-checks
// the detached table against the groups' retention (rows locked FOR SHARE:
// a retention change cannot slip between the check and the drop; if the
// check fails the table is attached again), takes its blocks' bytes off
// their streams and groups, makes moved blocks' objects trash (objects.go)
// and drops it. The dropper holds the creation lock throughout, so a write
// for that day waits and then gets a fresh partition.

const dayMillis = 86_400_000

// partitionLock is the advisory lock key of partition creation and drops
// ("cairnp").
const partitionLock = 0x636169726e70

// partitionSchema is migration 6: the partitioned table, the registry and
// the creation function; the version-5 rows are copied over.
var partitionSchema = fmt.Sprintf(`ALTER TABLE cairn_blocks RENAME TO cairn_blocks_v5;
	ALTER INDEX cairn_blocks_pkey RENAME TO cairn_blocks_v5_pkey;
	ALTER INDEX cairn_blocks_by_min RENAME TO cairn_blocks_v5_by_min;
	ALTER INDEX cairn_blocks_by_max RENAME TO cairn_blocks_v5_by_max;
	ALTER INDEX cairn_blocks_by_stream RENAME TO cairn_blocks_v5_by_stream;
	ALTER INDEX cairn_blocks_resident RENAME TO cairn_blocks_v5_resident;
	CREATE TABLE cairn_blocks (
		gid bigint NOT NULL,
		seq bigint NOT NULL,
		sid bigint NOT NULL,
		min_ts bigint NOT NULL,
		max_ts bigint NOT NULL,
		count int NOT NULL,
		ingestion bigint NOT NULL,
		raw_bytes bigint NOT NULL,
		flags smallint NOT NULL,
		grams bytea NOT NULL,
		payload bytea,
		object text,
		object_bytes int NOT NULL DEFAULT 0,
		-- A unique key must hold the partition key; seq alone is unique
		-- (one database sequence), so this is as strict as (gid, seq).
		PRIMARY KEY (gid, seq, max_ts)
	) PARTITION BY RANGE (max_ts);
	CREATE INDEX cairn_blocks_by_min ON cairn_blocks (gid, min_ts, seq);
	CREATE INDEX cairn_blocks_by_max ON cairn_blocks (gid, max_ts, seq);
	CREATE INDEX cairn_blocks_by_stream ON cairn_blocks (sid);
	CREATE INDEX cairn_blocks_resident ON cairn_blocks (ingestion) WHERE object IS NULL;
	ALTER TABLE cairn_blocks ALTER COLUMN payload SET STORAGE EXTERNAL;
	ALTER TABLE cairn_blocks ALTER COLUMN grams SET STORAGE EXTERNAL;
	-- lo and hi are the partition's bounds [lo, hi), clamped to bigint
	-- (the first and last days' bounds are MINVALUE and MAXVALUE).
	CREATE TABLE cairn_partitions (
		day bigint PRIMARY KEY,
		name text NOT NULL UNIQUE,
		lo bigint NOT NULL,
		hi bigint NOT NULL
	);
	CREATE FUNCTION cairn_ensure_partition(d bigint) RETURNS void LANGUAGE plpgsql AS $f$
	DECLARE
		n text := 'cairn_blocks_d' || CASE WHEN d < 0 THEN 'n' || (-d)::text ELSE d::text END;
		lo numeric := d::numeric * %[1]d;
		hi numeric := (d + 1)::numeric * %[1]d;
		los text := CASE WHEN lo < -9223372036854775808 THEN 'MINVALUE' ELSE lo::text END;
		his text := CASE WHEN hi > 9223372036854775807 THEN 'MAXVALUE' ELSE hi::text END;
	BEGIN
		PERFORM pg_advisory_xact_lock(%[2]d);
		IF EXISTS (SELECT 1 FROM cairn_partitions p WHERE p.day = d) THEN
			RETURN;
		END IF;
		EXECUTE format('CREATE TABLE %%I (LIKE cairn_blocks INCLUDING DEFAULTS INCLUDING STORAGE)', n);
		EXECUTE format('ALTER TABLE cairn_blocks ATTACH PARTITION %%I FOR VALUES FROM (%%s) TO (%%s)', n, los, his);
		INSERT INTO cairn_partitions VALUES (d, n, greatest(lo, -9223372036854775808)::bigint, least(hi, 9223372036854775807)::bigint);
	END
	$f$;
	SELECT cairn_ensure_partition(d) FROM (SELECT DISTINCT floor(max_ts::numeric / %[1]d)::bigint AS d FROM cairn_blocks_v5) x;
	INSERT INTO cairn_blocks (gid, seq, sid, min_ts, max_ts, count, ingestion, raw_bytes, flags, grams, payload, object, object_bytes)
		SELECT gid, seq, sid, min_ts, max_ts, count, ingestion, raw_bytes, flags, grams, payload, object, object_bytes FROM cairn_blocks_v5;
	DROP TABLE cairn_blocks_v5;`, dayMillis, partitionLock)

// dayOf is the partition day of timestamp ts (floor division, as the
// migration's floor()).
func dayOf(ts int64) int64 {
	d := ts / dayMillis
	if ts%dayMillis < 0 {
		d--
	}
	return d
}

// ensureDays creates the partitions of days that have none.
func (e *Engine) ensureDays(ctx context.Context, days []int64) error {
	_, err := e.pool.Exec(ctx, `SELECT cairn_ensure_partition(d) FROM unnest($1::bigint[]) AS d`, days)
	return err
}

// ensureAhead creates the partitions of today and the next two days.
func (e *Engine) ensureAhead(ctx context.Context) error {
	today := dayOf(e.cfg.Now().UnixMilli())
	return e.ensureDays(ctx, []int64{today, today + 1, today + 2})
}

// isNoPartition reports whether err is PostgreSQL refusing a row no
// partition accepts.
func isNoPartition(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23514" && strings.Contains(pe.Message, "no partition")
}

// withPartitions runs write; when it fails for want of a partition, it
// creates the partitions of the blocks' max_ts days and runs it once more.
func (e *Engine) withPartitions(ctx context.Context, maxTs []int64, write func() error) error {
	err := write()
	if !isNoPartition(err) {
		return err
	}
	var days []int64
	for _, t := range maxTs {
		days = append(days, dayOf(t))
	}
	if err := e.ensureDays(ctx, days); err != nil {
		return err
	}
	return write()
}

// partitionCandidatesSQL lists the partitions wholly past the cutoff of
// every group with a block in them ($1: now in ms), oldest first. Per
// partition, one index probe per group that would keep it (runtime
// partition pruning on the bounds).
const partitionCandidatesSQL = `SELECT p.day, p.name, p.lo, p.hi FROM cairn_partitions p
WHERE p.hi <= $1 AND NOT EXISTS (
	SELECT 1 FROM cairn_groups g
	WHERE (g.retention_days = 0 OR p.hi > $1 - g.retention_days::bigint * 86400000)
	AND EXISTS (SELECT 1 FROM cairn_blocks b WHERE b.gid = g.gid AND b.max_ts >= p.lo AND b.max_ts < p.hi))
ORDER BY p.day`

// dropPartitions drops every partition whose blocks are all expired and
// reports how many blocks went with them.
func (e *Engine) dropPartitions(ctx context.Context) (int64, error) {
	now := e.cfg.Now().UnixMilli()
	type part struct {
		day, lo, hi int64
		name        string
	}
	var parts []part
	rows, err := e.pool.Query(ctx, partitionCandidatesSQL, now)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var p part
		if err := rows.Scan(&p.day, &p.name, &p.lo, &p.hi); err != nil {
			rows.Close()
			return 0, err
		}
		parts = append(parts, p)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(parts) == 0 {
		return 0, nil
	}
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(partitionLock)); err != nil {
		return 0, err
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, int64(partitionLock))
	var total int64
	for _, p := range parts {
		n, err := e.dropPartition(ctx, conn.Conn(), now, p.day, p.hi, p.name)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// dropPartition detaches one partition, re-checks it and drops it (see the
// top of the file); the caller holds the creation lock.
func (e *Engine) dropPartition(ctx context.Context, conn *pgx.Conn, now, day, hi int64, name string) (int64, error) {
	t := pgx.Identifier{name}.Sanitize()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM cairn_partitions WHERE day = $1)`, day).Scan(&exists); err != nil || !exists {
		return 0, err // dropped meanwhile by a former lease holder
	}
	var attached bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass($1) AND inhparent = 'cairn_blocks'::regclass AND NOT inhdetachpending)`, t).Scan(&attached); err != nil {
		return 0, err
	}
	if attached {
		if _, err := conn.Exec(ctx, `ALTER TABLE cairn_blocks DETACH PARTITION `+t+` CONCURRENTLY`); err != nil {
			return 0, err
		}
	} else {
		// A detach interrupted (its node died) leaves the partition
		// pending; FINALIZE completes it. Already detached: nothing to do.
		var pending bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass($1) AND inhdetachpending)`, t).Scan(&pending); err != nil {
			return 0, err
		}
		if pending {
			if _, err := conn.Exec(ctx, `ALTER TABLE cairn_blocks DETACH PARTITION `+t+` FINALIZE`); err != nil {
				return 0, err
			}
		}
	}
	var dropped int64
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var keep bool
		err := tx.QueryRow(ctx, `SELECT count(*) > 0 FROM (SELECT g.gid FROM cairn_groups g
			WHERE (g.retention_days = 0 OR $2 > $1 - g.retention_days::bigint * 86400000)
			AND EXISTS (SELECT 1 FROM `+t+` b WHERE b.gid = g.gid) FOR SHARE OF g) x`, now, hi).Scan(&keep)
		if err != nil {
			return err
		}
		if keep {
			// A group's retention grew (or a block of a kept group came)
			// since the candidates were listed: attach it again.
			bounds := fmt.Sprintf("FROM (%s) TO (%s)", bound(day, false), bound(day+1, true))
			_, err := tx.Exec(ctx, `ALTER TABLE cairn_blocks ATTACH PARTITION `+t+` FOR VALUES `+bounds)
			return err
		}
		err = tx.QueryRow(ctx, `WITH gone AS (
			SELECT gid, sid, coalesce(length(payload), object_bytes)::bigint + length(grams) + $1 AS n FROM `+t+`
		), s AS (
			UPDATE cairn_streams st SET stored_bytes = st.stored_bytes - x.n
			FROM (SELECT sid, sum(n)::bigint AS n FROM gone GROUP BY sid) x WHERE st.sid = x.sid
		), g AS (
			UPDATE cairn_groups gr SET stored_bytes = gr.stored_bytes - x.n
			FROM (SELECT gid, sum(n)::bigint AS n FROM gone GROUP BY gid) x WHERE gr.gid = x.gid
		) SELECT count(*) FROM gone`, rowOverhead).Scan(&dropped)
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO cairn_objects (key, kind) SELECT object, 1 FROM ` + t + ` WHERE object IS NOT NULL`)
		b.Queue(`DROP TABLE ` + t)
		b.Queue(`DELETE FROM cairn_partitions WHERE day = $1`, day)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return 0, err
	}
	return dropped, nil
}

// bound is the partition bound of the start of day d, as the creation
// function writes it.
func bound(d int64, upper bool) string {
	const maxDay = (1<<63 - 1) / dayMillis
	switch {
	case upper && d > maxDay:
		return "MAXVALUE"
	case !upper && d < -maxDay:
		return "MINVALUE"
	}
	return fmt.Sprint(d * dayMillis)
}
