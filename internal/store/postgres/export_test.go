package postgres

import (
	"context"
	"math"

	"github.com/jackc/pgx/v5/pgxpool"
)

// What the external tests (package postgres_test, which may import the
// harness) reach inside the engine: the mover's steps one at a time, to
// stage a crash between them, and the pool, to look at the rows.

const (
	ObjPending = objPending
	ObjTrash   = objTrash
)

// OffloadAll moves every block, whatever its age.
func OffloadAll(e *Engine, ctx context.Context) (int, error) { return e.offload(ctx, math.MaxInt64) }

func Collect(e *Engine, ctx context.Context) (int, error) { return e.collect(ctx) }

func Pool(e *Engine) *pgxpool.Pool { return e.pool }

func NewObjectKey(e *Engine, gid, seq int64) string { return e.objects.key(gid, seq) }

func PutObject(e *Engine, ctx context.Context, key string, body []byte) error {
	return e.objects.put(ctx, key, body)
}

func Confirm(e *Engine, ctx context.Context, gid, seq int64, key string) (bool, error) {
	return e.confirm(ctx, gid, seq, key)
}
