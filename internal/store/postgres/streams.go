package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/cairnlog/cairn/internal/store"
)

const streamColumns = `name, creation_time, first_ts, last_ts, last_ingestion, stored_bytes`

func scanStream(row pgx.Row) (store.Stream, error) {
	var s store.Stream
	var name []byte
	err := row.Scan(&name, &s.CreationTime, &s.FirstEventTimestamp, &s.LastEventTimestamp, &s.LastIngestionTime, &s.StoredBytes)
	s.Name = string(name)
	return s, err
}

func (e *Engine) CreateStream(ctx context.Context, scope store.Scope, group string, s store.Stream) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	tag, err := e.pool.Exec(ctx, `INSERT INTO cairn_streams (gid, name, creation_time)
		SELECT gid, $4, $5 FROM cairn_groups WHERE account = $1 AND region = $2 AND name = $3`,
		scope.Account, scope.Region, []byte(group), []byte(s.Name), s.CreationTime)
	if isUnique(err) {
		return store.ErrStreamExists
	}
	if err == nil && tag.RowsAffected() == 0 {
		return store.ErrGroupNotFound
	}
	return wrap(err)
}

// DeleteStream removes the stream and its blocks and takes its bytes off
// the group's total, in one transaction.
func (e *Engine) DeleteStream(ctx context.Context, scope store.Scope, group, stream string) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	var gid int64
	defer func() { e.sums.drop(gid) }() // its entries name deleted blocks
	return wrap(pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		var err error
		if gid, err = e.gid(ctx, tx, scope, group); err != nil {
			return err
		}
		var sid, bytes int64
		err = tx.QueryRow(ctx, `DELETE FROM cairn_streams WHERE gid = $1 AND name = $2 RETURNING sid, stored_bytes`, gid, []byte(stream)).Scan(&sid, &bytes)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrStreamNotFound
		}
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`WITH d AS (DELETE FROM cairn_blocks WHERE sid = $1 RETURNING object)
			INSERT INTO cairn_objects (key, kind) SELECT object, 1 FROM d WHERE object IS NOT NULL`, sid)
		b.Queue(`UPDATE cairn_groups SET stored_bytes = stored_bytes - $2 WHERE gid = $1`, gid, bytes)
		return tx.SendBatch(ctx, b).Close()
	}))
}

func (e *Engine) GetStream(ctx context.Context, scope store.Scope, group, stream string) (store.Stream, error) {
	if err := e.enter(); err != nil {
		return store.Stream{}, err
	}
	defer e.exit()
	gid, err := e.gid(ctx, e.pool, scope, group)
	if err != nil {
		return store.Stream{}, wrap(err)
	}
	s, err := scanStream(e.pool.QueryRow(ctx, `SELECT `+streamColumns+` FROM cairn_streams WHERE gid = $1 AND name = $2`, gid, []byte(stream)))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Stream{}, store.ErrStreamNotFound
	}
	return s, wrap(err)
}

func (e *Engine) ListStreams(ctx context.Context, scope store.Scope, group, prefix, after string, fn func(store.Stream) bool) error {
	l := store.StreamListing{Prefix: prefix}
	if after != "" {
		l.After = &store.StreamKey{Name: after}
	}
	return e.ListStreamsOrdered(ctx, scope, group, l, fn)
}

// ListStreamsOrdered walks an index in pages of pageSize rows: by name
// (the unique (gid, name) index) or by (last_ts, name) (cairn_streams_by_time).
func (e *Engine) ListStreamsOrdered(ctx context.Context, scope store.Scope, group string, l store.StreamListing, fn func(store.Stream) bool) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	gid, err := e.gid(ctx, e.pool, scope, group)
	if err != nil {
		return wrap(err)
	}
	cmp, dir := ">", "ASC"
	if l.Descending {
		cmp, dir = "<", "DESC"
	}
	var q string
	if l.ByLastEventTime {
		q = `SELECT ` + streamColumns + ` FROM cairn_streams WHERE gid = $1 AND name >= $2 AND ($3::bytea IS NULL OR name < $3)
			AND (NOT $4 OR (last_ts, name) ` + cmp + ` ($5, $6)) ORDER BY last_ts ` + dir + `, name ` + dir + ` LIMIT $7`
	} else {
		q = `SELECT ` + streamColumns + ` FROM cairn_streams WHERE gid = $1 AND name >= $2 AND ($3::bytea IS NULL OR name < $3)
			AND (NOT $4 OR name ` + cmp + ` $6) AND $5::bigint IS NOT NULL ORDER BY name ` + dir + ` LIMIT $7`
	}
	after, has := store.StreamKey{}, false
	if l.After != nil {
		after, has = *l.After, true
	}
	for {
		rows, err := e.pool.Query(ctx, q, gid, []byte(l.Prefix), prefixEnd(l.Prefix), has, after.LastEventTime, []byte(after.Name), pageSize)
		if err != nil {
			return wrap(err)
		}
		ss, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Stream, error) { return scanStream(r) })
		if err != nil {
			return wrap(err)
		}
		for _, s := range ss {
			if !fn(s) {
				return nil
			}
		}
		if len(ss) < pageSize {
			return nil
		}
		last := ss[len(ss)-1]
		after, has = store.StreamKey{LastEventTime: last.LastEventTimestamp, Name: last.Name}, true
	}
}
