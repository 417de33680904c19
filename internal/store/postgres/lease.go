package postgres

import (
	"context"
	"time"

	"github.com/cairnlog/cairn/internal/store"
)

// DefaultLeaseTTL: a node that died hands its jobs over after this long.
// Renewals come every third of it, so a holder survives one slow renewal.
const DefaultLeaseTTL = 10 * time.Second

var _ store.Leaser = (*Engine)(nil)

// TryLease takes the lease when nobody holds it or its holder let it
// expire, and renews it when this node holds it, in one statement: the
// row's lock makes two nodes racing for an expired lease see one winner.
func (e *Engine) TryLease(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	if err := e.enter(); err != nil {
		return false, err
	}
	defer e.exit()
	tag, err := e.pool.Exec(ctx, `INSERT INTO cairn_leases AS l (name, holder, expires)
		VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3))
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
		WHERE l.holder = excluded.holder OR l.expires < clock_timestamp()`,
		[]byte(name), e.node, ttl.Seconds())
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseLease deletes the lease if this node holds it.
func (e *Engine) ReleaseLease(ctx context.Context, name string) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	_, err := e.pool.Exec(ctx, `DELETE FROM cairn_leases WHERE name = $1 AND holder = $2`, []byte(name), e.node)
	return err
}

// LeaseTTL is the configured lease life.
func (e *Engine) LeaseTTL() time.Duration { return e.cfg.LeaseTTL }
