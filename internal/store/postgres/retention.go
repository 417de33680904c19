package postgres

import (
	"context"
	"time"

	"github.com/cairnlog/cairn/internal/store"
)

// DefaultJanitorInterval is how often the retention holder deletes expired
// blocks.
const DefaultJanitorInterval = time.Minute

// expireBatch bounds the blocks one DELETE removes, so the first pass after
// retention is set on a large group is many short transactions, not one
// that holds its locks for minutes.
const expireBatch = 5000

// expireSQL deletes up to $3 blocks wholly before their group's retention
// cutoff ($1 is now in ms) and takes their bytes off their streams and
// groups, in one statement. Reads already hide those events (read.go
// narrows by the same cutoff), so this only reclaims space. Streams are
// updated before groups, the order Append locks them in, so the two cannot
// deadlock. The objects of moved blocks become trash in the same
// statement (objects.go), for the collector to delete.
const expireSQL = `WITH gone AS (
	DELETE FROM cairn_blocks b WHERE (b.gid, b.seq) IN (
		SELECT b2.gid, b2.seq FROM cairn_blocks b2 JOIN cairn_groups g ON g.gid = b2.gid
		WHERE g.retention_days > 0 AND b2.max_ts < $1 - g.retention_days::bigint * 86400000
		LIMIT $3)
	RETURNING b.gid, b.sid, b.object, coalesce(length(b.payload), b.object_bytes)::bigint + length(b.grams) + $2 AS n
), t AS (
	INSERT INTO cairn_objects (key, kind) SELECT object, 1 FROM gone WHERE object IS NOT NULL
), s AS (
	UPDATE cairn_streams st SET stored_bytes = st.stored_bytes - x.n
	FROM (SELECT sid, sum(n)::bigint AS n FROM gone GROUP BY sid) x WHERE st.sid = x.sid
), g AS (
	UPDATE cairn_groups gr SET stored_bytes = gr.stored_bytes - x.n
	FROM (SELECT gid, sum(n)::bigint AS n FROM gone GROUP BY gid) x WHERE gr.gid = x.gid
)
SELECT count(*) FROM gone`

// Expire deletes every block wholly past its group's retention, by the
// engine's clock (dropping the partitions whose blocks all are), and
// reports how many it deleted. The janitor runs it on
// the node holding the "retention" lease; tests call it directly.
func (e *Engine) Expire(ctx context.Context) (int64, error) {
	if err := e.enter(); err != nil {
		return 0, err
	}
	defer e.exit()
	// Whole partitions first (partitions.go); then the expired rows of
	// partitions kept for a group with a longer retention.
	total, err := e.dropPartitions(ctx)
	if err != nil {
		return total, wrap(err)
	}
	for {
		var n int64
		if err := e.pool.QueryRow(ctx, expireSQL, e.cfg.Now().UnixMilli(), rowOverhead, expireBatch).Scan(&n); err != nil {
			return total, wrap(err)
		}
		total += n
		if n < expireBatch {
			return total, nil
		}
	}
}

// janitor runs Expire every JanitorInterval while this node holds the
// retention lease, until ctx ends.
func (e *Engine) janitor(ctx context.Context) {
	defer close(e.janitorDone)
	lease := store.NewLease(e, "retention", nil)
	defer lease.Close()
	t := time.NewTicker(e.cfg.JanitorInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !lease.Held() {
			continue
		}
		if err := e.ensureAhead(ctx); err != nil && ctx.Err() == nil {
			e.cfg.Logger.Warn("retention: creating the next days' partitions failed", "err", err)
		}
		if n, err := e.Expire(ctx); err != nil && ctx.Err() == nil {
			e.cfg.Logger.Warn("retention: deleting expired blocks failed", "err", err)
		} else if n > 0 {
			e.cfg.Logger.Debug("retention: expired blocks deleted", "blocks", n)
		}
	}
}
