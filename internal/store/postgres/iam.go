package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// The cluster's IAM document (internal/iamshare): one row of cairn_iam,
// its version incremented by every publish, and a NOTIFY on iamChannel in
// the same statement (delivered at COMMIT) so the other nodes load it at
// once. The document holds the IAM file's secret keys: it is as protected
// as the database, like the root key in cairn_secrets.

const iamChannel = "cairn_iam"

// OfferIAM stores doc as the cluster's IAM document unless there is one,
// and returns the stored document and its version.
func (e *Engine) OfferIAM(ctx context.Context, doc []byte) ([]byte, int64, error) {
	if err := e.enter(); err != nil {
		return nil, 0, err
	}
	defer e.exit()
	if _, err := e.pool.Exec(ctx, `INSERT INTO cairn_iam (id, version, doc) VALUES (1, 1, $1) ON CONFLICT (id) DO NOTHING`, doc); err != nil {
		return nil, 0, wrap(err)
	}
	return e.loadIAM(ctx)
}

// PublishIAM makes doc the cluster's IAM document and tells every node.
func (e *Engine) PublishIAM(ctx context.Context, doc []byte) (int64, error) {
	if err := e.enter(); err != nil {
		return 0, err
	}
	defer e.exit()
	var v int64
	var ignored string
	err := e.pool.QueryRow(ctx, `WITH u AS (
		INSERT INTO cairn_iam AS i (id, version, doc) VALUES (1, 1, $1)
		ON CONFLICT (id) DO UPDATE SET version = i.version + 1, doc = excluded.doc
		RETURNING version)
	SELECT version, pg_notify('`+iamChannel+`', version::text)::text FROM u`, doc).Scan(&v, &ignored)
	return v, wrap(err)
}

// LoadIAM returns the cluster's IAM document and its version (0 when none
// was offered).
func (e *Engine) LoadIAM(ctx context.Context) ([]byte, int64, error) {
	if err := e.enter(); err != nil {
		return nil, 0, err
	}
	defer e.exit()
	return e.loadIAM(ctx)
}

func (e *Engine) loadIAM(ctx context.Context) ([]byte, int64, error) {
	var doc []byte
	var v int64
	err := e.pool.QueryRow(ctx, `SELECT doc, version FROM cairn_iam WHERE id = 1`).Scan(&doc, &v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, nil
	}
	return doc, v, wrap(err)
}

// OnIAMChange calls fn (in the listener's goroutine; it must not block)
// each time a node publishes an IAM document, and after the listener
// reconnected (a notice may have been missed meanwhile). It returns the
// function that stops the calls.
func (e *Engine) OnIAMChange(fn func()) (stop func()) {
	e.subMu.Lock()
	id := e.nextID
	e.nextID++
	e.iamSubs[id] = fn
	e.subMu.Unlock()
	return func() {
		e.subMu.Lock()
		delete(e.iamSubs, id)
		e.subMu.Unlock()
	}
}

func (e *Engine) iamChanged() {
	e.subMu.Lock()
	defer e.subMu.Unlock()
	for _, fn := range e.iamSubs {
		fn()
	}
}
