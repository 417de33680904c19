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
	cached := e.cachedKind(k.Kind)
	return wrap(e.fenced(ctx, func(q execer) error {
		if k.Group == "" {
			sql := `INSERT INTO cairn_resources (account, region, gid, kind, name, value) VALUES ($1, $2, 0, $3, $4, $5)
				ON CONFLICT (account, region, gid, kind, name) DO UPDATE SET value = excluded.value`
			if cached {
				sql = bumpAccountGen + sql
			}
			_, err := q.Exec(ctx, sql, k.Scope.Account, k.Scope.Region, []byte(k.Kind), []byte(k.Name), value)
			return err
		}
		if cached {
			// The group row's generation moves on in the statement that
			// writes the record (rescache.go); the row's lock, held to
			// COMMIT, also keeps the group from being deleted meanwhile.
			tag, err := q.Exec(ctx, `WITH g AS (
					UPDATE cairn_groups SET res_gen = res_gen + 1 WHERE account = $1 AND region = $2 AND name = $3
					RETURNING account, region, gid
				)
				INSERT INTO cairn_resources (account, region, gid, kind, name, value) SELECT account, region, gid, $4, $5, $6 FROM g
				ON CONFLICT (account, region, gid, kind, name) DO UPDATE SET value = excluded.value`,
				k.Scope.Account, k.Scope.Region, []byte(k.Group), []byte(k.Kind), []byte(k.Name), value)
			if err == nil && tag.RowsAffected() == 0 {
				return store.ErrGroupNotFound
			}
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

// bumpAccountGen, put before a statement on an account and region's
// resource records ($1, $2), moves their generation on in that statement
// (rescache.go). A data-modifying WITH runs whether or not the statement
// reads it.
const bumpAccountGen = `WITH gen AS (
	INSERT INTO cairn_account_gens (account, region, gen) VALUES ($1, $2, 1)
	ON CONFLICT (account, region) DO UPDATE SET gen = cairn_account_gens.gen + 1
) `

func (e *Engine) DeleteResource(ctx context.Context, k store.ResourceKey) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	if e.cachedKind(k.Kind) {
		return e.deleteCached(ctx, k)
	}
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

// deleteCached is DeleteResource of a cached kind: the record's
// generation moves on in the statement that deletes it (rescache.go).
func (e *Engine) deleteCached(ctx context.Context, k store.ResourceKey) error {
	var groups, deleted int64
	err := e.fenced(ctx, func(q execer) error {
		if k.Group == "" {
			groups = 1
			return q.QueryRow(ctx, bumpAccountGen+`, d AS (
					DELETE FROM cairn_resources WHERE account = $1 AND region = $2 AND gid = 0 AND kind = $3 AND name = $4 RETURNING 1
				)
				SELECT count(*) FROM d`,
				k.Scope.Account, k.Scope.Region, []byte(k.Kind), []byte(k.Name)).Scan(&deleted)
		}
		return q.QueryRow(ctx, `WITH g AS (
				UPDATE cairn_groups SET res_gen = res_gen + 1 WHERE account = $1 AND region = $2 AND name = $3 RETURNING gid
			), d AS (
				DELETE FROM cairn_resources r USING g WHERE r.account = $1 AND r.region = $2 AND r.gid = g.gid AND r.kind = $4 AND r.name = $5
				RETURNING 1
			)
			SELECT (SELECT count(*) FROM g), (SELECT count(*) FROM d)`,
			k.Scope.Account, k.Scope.Region, []byte(k.Group), []byte(k.Kind), []byte(k.Name)).Scan(&groups, &deleted)
	})
	switch {
	case err != nil:
		return wrap(err)
	case groups == 0:
		return store.ErrGroupNotFound
	case deleted == 0:
		return store.ErrResourceNotFound
	}
	return nil
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
