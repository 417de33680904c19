package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cairnlog/cairn/internal/store"
)

const pgUniqueViolation = "23505"

func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == pgUniqueViolation
}

// wrap marks a database error as the engine's; store's sentinel errors and
// the context's pass through unchanged.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	for _, s := range []error{store.ErrGroupNotFound, store.ErrStreamNotFound, store.ErrGroupExists, store.ErrStreamExists,
		store.ErrCursorNotFound, store.ErrResourceNotFound, store.ErrClosed, store.ErrFenced, context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, s) {
			return err
		}
	}
	return fmt.Errorf("postgres: %w", err)
}

// gid looks a group up.
func (e *Engine) gid(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, scope store.Scope, name string) (int64, error) {
	var gid int64
	err := q.QueryRow(ctx, `SELECT gid FROM cairn_groups WHERE account = $1 AND region = $2 AND name = $3`,
		scope.Account, scope.Region, []byte(name)).Scan(&gid)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, store.ErrGroupNotFound
	}
	return gid, err
}

const groupColumns = `name, creation_time, retention_days, class, kms_key_id, tags, deletion_protection, stored_bytes`

// scanGroup scans groupColumns, then into more what follows them.
func scanGroup(row pgx.Row, scope store.Scope, more ...any) (store.Group, error) {
	g := store.Group{Scope: scope}
	var name, tags []byte
	if err := row.Scan(append([]any{&name, &g.CreationTime, &g.RetentionDays, &g.Class, &g.KMSKeyID, &tags, &g.DeletionProtection, &g.StoredBytes}, more...)...); err != nil {
		return g, err
	}
	g.Name = string(name)
	if err := json.Unmarshal(tags, &g.Tags); err != nil {
		return g, err
	}
	return g, nil
}

func tagsJSON(t map[string]string) []byte {
	if t == nil {
		t = map[string]string{}
	}
	b, _ := json.Marshal(t)
	return b
}

func (e *Engine) CreateGroup(ctx context.Context, g store.Group) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	_, err := e.pool.Exec(ctx, `INSERT INTO cairn_groups (account, region, name, creation_time, retention_days, class, kms_key_id, tags, deletion_protection)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		g.Account, g.Region, []byte(g.Name), g.CreationTime, g.RetentionDays, g.Class, g.KMSKeyID, tagsJSON(g.Tags), g.DeletionProtection)
	if isUnique(err) {
		return store.ErrGroupExists
	}
	return wrap(err)
}

// DeleteGroup removes the group with everything it holds, in one
// transaction: its blocks and group-scoped resources here, streams and
// cursors by cascade.
func (e *Engine) DeleteGroup(ctx context.Context, scope store.Scope, name string) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	var gid int64
	defer func() { e.sums.drop(gid) }() // its entries name deleted blocks
	return wrap(pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT gid FROM cairn_groups WHERE account = $1 AND region = $2 AND name = $3 FOR UPDATE`,
			scope.Account, scope.Region, []byte(name)).Scan(&gid)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrGroupNotFound
		}
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		// Moved blocks' objects become trash for the collector (objects.go).
		b.Queue(`WITH d AS (DELETE FROM cairn_blocks WHERE gid = $1 RETURNING object)
			INSERT INTO cairn_objects (key, kind) SELECT object, 1 FROM d WHERE object IS NOT NULL`, gid)
		b.Queue(`DELETE FROM cairn_resources WHERE account = $1 AND region = $2 AND gid = $3`, scope.Account, scope.Region, gid)
		b.Queue(`DELETE FROM cairn_groups WHERE gid = $1`, gid)
		return tx.SendBatch(ctx, b).Close()
	}))
}

func (e *Engine) GetGroup(ctx context.Context, scope store.Scope, name string) (store.Group, error) {
	if err := e.enter(); err != nil {
		return store.Group{}, err
	}
	defer e.exit()
	// With the group, the generations of its cached resource records and
	// its account's (rescache.go), in the same snapshot: the batch path's
	// policy reads are answered as of this row.
	var v store.ResourceVersion
	g, err := scanGroup(e.pool.QueryRow(ctx, `SELECT `+groupColumns+`, gid, res_gen,
		coalesce((SELECT gen FROM cairn_account_gens WHERE account = $1 AND region = $2), 0)
		FROM cairn_groups WHERE account = $1 AND region = $2 AND name = $3`,
		scope.Account, scope.Region, []byte(name)), scope, &v.ID, &v.Group, &v.Account)
	g.Resources = v
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Group{}, store.ErrGroupNotFound
	}
	return g, wrap(err)
}

func (e *Engine) UpdateGroup(ctx context.Context, scope store.Scope, name string, fn func(*store.Group) error) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	return wrap(pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		g, err := scanGroup(tx.QueryRow(ctx, `SELECT `+groupColumns+` FROM cairn_groups WHERE account = $1 AND region = $2 AND name = $3 FOR UPDATE`,
			scope.Account, scope.Region, []byte(name)), scope)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrGroupNotFound
		}
		if err != nil {
			return err
		}
		if err := fn(&g); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE cairn_groups SET creation_time = $4, retention_days = $5, class = $6, kms_key_id = $7, tags = $8, deletion_protection = $9
			WHERE account = $1 AND region = $2 AND name = $3`,
			scope.Account, scope.Region, []byte(name), g.CreationTime, g.RetentionDays, g.Class, g.KMSKeyID, tagsJSON(g.Tags), g.DeletionProtection)
		return err
	}))
}

// prefixEnd is the smallest byte string after every string with prefix p,
// or nil when there is none (p is empty or all 0xff).
func prefixEnd(p string) []byte {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return b[:i+1]
		}
	}
	return nil
}

// pageSize is how many rows a listing fetches per query: listings call fn
// between queries, never while a query's rows are open.
const pageSize = 500

func (e *Engine) ListGroups(ctx context.Context, scope store.Scope, prefix, after string, fn func(store.Group) bool) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	from := []byte(after)
	if prefix > after {
		from = nil // every name with the prefix sorts after `after`
	}
	for {
		rows, err := e.pool.Query(ctx, `SELECT `+groupColumns+` FROM cairn_groups WHERE account = $1 AND region = $2
			AND ($3::bytea IS NULL OR name > $3) AND name >= $4 AND ($5::bytea IS NULL OR name < $5) ORDER BY name LIMIT $6`,
			scope.Account, scope.Region, from, []byte(prefix), prefixEnd(prefix), pageSize)
		if err != nil {
			return wrap(err)
		}
		gs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Group, error) { return scanGroup(r, scope) })
		if err != nil {
			return wrap(err)
		}
		for _, g := range gs {
			if !fn(g) {
				return nil
			}
		}
		if len(gs) < pageSize {
			return nil
		}
		from = []byte(gs[len(gs)-1].Name)
	}
}
