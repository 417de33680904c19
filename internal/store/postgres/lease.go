package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cairnlog/cairn/internal/store"
)

// DefaultLeaseTTL: a node that died hands its jobs over after this long.
// Renewals come every third of it, so a holder survives one slow renewal.
const DefaultLeaseTTL = 10 * time.Second

var _ store.EpochLeaser = (*Engine)(nil)

// TryLease implements store.Leaser.
func (e *Engine) TryLease(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	_, ok, err := e.TryLeaseEpoch(ctx, name, ttl)
	return ok, err
}

// TryLeaseEpoch takes the lease when nobody holds it or its holder let it
// expire, and renews it when this node holds it, in one statement: the
// row's lock makes two nodes racing for an expired lease see one winner.
// The epoch (the fencing token) stays on a renewal in time and grows on
// any other taking, this node's own after an expiry included (another
// node may have held it meanwhile and let it go; its rows say nothing
// more). The row is never deleted (ReleaseLease expires it), so epochs
// never go back.
func (e *Engine) TryLeaseEpoch(ctx context.Context, name string, ttl time.Duration) (int64, bool, error) {
	if err := e.enter(); err != nil {
		return 0, false, err
	}
	defer e.exit()
	var epoch int64
	err := e.pool.QueryRow(ctx, `INSERT INTO cairn_leases AS l (name, holder, expires, epoch)
		VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3), 1)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires,
			epoch = CASE WHEN l.holder = excluded.holder AND l.expires >= clock_timestamp() THEN l.epoch ELSE l.epoch + 1 END
		WHERE l.holder = excluded.holder OR l.expires < clock_timestamp()
		RETURNING epoch`,
		[]byte(name), e.node, ttl.Seconds()).Scan(&epoch)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return epoch, true, nil
}

// ReleaseLease ends this node's holding, if it holds the lease, so another
// node may take it at once: the row is expired, not deleted, keeping its
// epoch.
func (e *Engine) ReleaseLease(ctx context.Context, name string) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	_, err := e.pool.Exec(ctx, `UPDATE cairn_leases SET expires = '-infinity' WHERE name = $1 AND holder = $2`, []byte(name), e.node)
	return err
}

// execer is what a write runs on: the pool, or a fenced write's
// transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// fenced runs write on the pool, or, when ctx carries a store.Fence, in a
// transaction that first checks the fence: this node still holds the
// lease in that epoch. The lease row is locked FOR SHARE until COMMIT, so
// a takeover (an UPDATE of the row) waits for the write: the write is
// wholly before the new holder's start, or refused.
func (e *Engine) fenced(ctx context.Context, write func(q execer) error) error {
	f, ok := store.FenceFrom(ctx)
	if !ok {
		return write(e.pool)
	}
	return pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM cairn_leases WHERE name = $1 AND holder = $2 AND epoch = $3 FOR SHARE`,
			[]byte(f.Lease), e.node, f.Epoch).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrFenced
		}
		if err != nil {
			return err
		}
		return write(tx)
	})
}

// LeaseTTL is the configured lease life.
func (e *Engine) LeaseTTL() time.Duration { return e.cfg.LeaseTTL }
