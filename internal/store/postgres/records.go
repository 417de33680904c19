package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cairnlog/cairn/internal/store"
)

// Cursors live in cairn_cursors, keyed by the group's row id: a re-created
// group (a new gid) starts without its predecessor's, and a deleted
// group's go by cascade.

func (e *Engine) GetCursor(ctx context.Context, scope store.Scope, group, name string) (uint64, error) {
	if err := e.enter(); err != nil {
		return 0, err
	}
	defer e.exit()
	gid, err := e.gid(ctx, e.pool, scope, group)
	if err != nil {
		return 0, wrap(err)
	}
	var pos int64
	err = e.pool.QueryRow(ctx, `SELECT pos FROM cairn_cursors WHERE gid = $1 AND name = $2`, gid, []byte(name)).Scan(&pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, store.ErrCursorNotFound
	}
	return uint64(pos), wrap(err)
}

func (e *Engine) SetCursor(ctx context.Context, scope store.Scope, group, name string, pos uint64) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	return wrap(e.fenced(ctx, func(q execer) error {
		tag, err := q.Exec(ctx, `INSERT INTO cairn_cursors (gid, name, pos)
			SELECT gid, $4, $5 FROM cairn_groups WHERE account = $1 AND region = $2 AND name = $3
			ON CONFLICT (gid, name) DO UPDATE SET pos = excluded.pos`,
			scope.Account, scope.Region, []byte(group), []byte(name), int64(pos))
		if err == nil && tag.RowsAffected() == 0 {
			return store.ErrGroupNotFound
		}
		return err
	}))
}

func (e *Engine) DeleteCursor(ctx context.Context, scope store.Scope, group, name string) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	gid, err := e.gid(ctx, e.pool, scope, group)
	if err != nil {
		return wrap(err)
	}
	tag, err := e.pool.Exec(ctx, `DELETE FROM cairn_cursors WHERE gid = $1 AND name = $2`, gid, []byte(name))
	if err == nil && tag.RowsAffected() == 0 {
		return store.ErrCursorNotFound
	}
	return wrap(err)
}

// resourceGid is 0 for an account-and-region resource, else the group's
// row id (ErrGroupNotFound when it is missing).
func (e *Engine) resourceGid(ctx context.Context, k store.ResourceKey) (int64, error) {
	if k.Group == "" {
		return 0, nil
	}
	return e.gid(ctx, e.pool, k.Scope, k.Group)
}

func (e *Engine) PutResource(ctx context.Context, k store.ResourceKey, value []byte) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	if value == nil {
		value = []byte{}
	}
	return wrap(e.fenced(ctx, func(q execer) error {
		if k.Group == "" {
			_, err := q.Exec(ctx, `INSERT INTO cairn_resources (account, region, gid, kind, name, value) VALUES ($1, $2, 0, $3, $4, $5)
				ON CONFLICT (account, region, gid, kind, name) DO UPDATE SET value = excluded.value`,
				k.Scope.Account, k.Scope.Region, []byte(k.Kind), []byte(k.Name), value)
			return err
		}
		// The group lookup and the insert in one statement: a group deleted in
		// between cannot be left with an orphan record.
		tag, err := q.Exec(ctx, `INSERT INTO cairn_resources (account, region, gid, kind, name, value)
			SELECT account, region, gid, $4, $5, $6 FROM cairn_groups WHERE account = $1 AND region = $2 AND name = $3 FOR SHARE
			ON CONFLICT (account, region, gid, kind, name) DO UPDATE SET value = excluded.value`,
			k.Scope.Account, k.Scope.Region, []byte(k.Group), []byte(k.Kind), []byte(k.Name), value)
		if err == nil && tag.RowsAffected() == 0 {
			return store.ErrGroupNotFound
		}
		return err
	}))
}

func (e *Engine) GetResource(ctx context.Context, k store.ResourceKey) ([]byte, error) {
	if err := e.enter(); err != nil {
		return nil, err
	}
	defer e.exit()
	gid, err := e.resourceGid(ctx, k)
	if err != nil {
		return nil, wrap(err)
	}
	var v []byte
	err = e.pool.QueryRow(ctx, `SELECT value FROM cairn_resources WHERE account = $1 AND region = $2 AND gid = $3 AND kind = $4 AND name = $5`,
		k.Scope.Account, k.Scope.Region, gid, []byte(k.Kind), []byte(k.Name)).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrResourceNotFound
	}
	return v, wrap(err)
}

func (e *Engine) DeleteResource(ctx context.Context, k store.ResourceKey) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	gid, err := e.resourceGid(ctx, k)
	if err != nil {
		return wrap(err)
	}
	var tag pgconn.CommandTag
	err = e.fenced(ctx, func(q execer) (err error) {
		tag, err = q.Exec(ctx, `DELETE FROM cairn_resources WHERE account = $1 AND region = $2 AND gid = $3 AND kind = $4 AND name = $5`,
			k.Scope.Account, k.Scope.Region, gid, []byte(k.Kind), []byte(k.Name))
		return err
	})
	if err == nil && tag.RowsAffected() == 0 {
		return store.ErrResourceNotFound
	}
	return wrap(err)
}

func (e *Engine) ListResources(ctx context.Context, k store.ResourceKey, prefix, after string, fn func(name string, value []byte) bool) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	gid, err := e.resourceGid(ctx, k)
	if err != nil {
		return wrap(err)
	}
	from := []byte(after)
	if prefix > after {
		from = nil
	}
	type rec struct {
		name  string
		value []byte
	}
	for {
		rows, err := e.pool.Query(ctx, `SELECT name, value FROM cairn_resources WHERE account = $1 AND region = $2 AND gid = $3 AND kind = $4
			AND ($5::bytea IS NULL OR name > $5) AND name >= $6 AND ($7::bytea IS NULL OR name < $7) ORDER BY name LIMIT $8`,
			k.Scope.Account, k.Scope.Region, gid, []byte(k.Kind), from, []byte(prefix), prefixEnd(prefix), pageSize)
		if err != nil {
			return wrap(err)
		}
		rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rec, error) {
			var n, v []byte
			err := r.Scan(&n, &v)
			return rec{string(n), v}, err
		})
		if err != nil {
			return wrap(err)
		}
		for _, r := range rs {
			if !fn(r.name, r.value) {
				return nil
			}
		}
		if len(rs) < pageSize {
			return nil
		}
		from = []byte(rs[len(rs)-1].name)
	}
}
