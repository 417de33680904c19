package embedded

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairnlog/cairn/internal/store"
)

// Cursors are feed positions kept under 'C' gid name, written with Sync like
// events, and dropped with the group's other keys by DeleteGroup. Writers
// hold group.commit for reading, as Append does, so no cursor lands after its
// group's range deletion.

// GetCursor implements store.Store.
func (e *Engine) GetCursor(ctx context.Context, scope store.Scope, group, name string) (pos uint64, err error) {
	defer recoverFatal(&err)
	if err := e.enter(); err != nil {
		return 0, err
	}
	defer e.exit()
	g, err := e.liveGroup(scope, group)
	if err != nil {
		return 0, err
	}
	v, closer, err := e.db.Get(cursorKey(g.id, name))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, store.ErrCursorNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("read cursor: %w", err)
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, fmt.Errorf("cursor %q of %d bytes: %w", name, len(v), errCorrupt)
	}
	return beUint64(v), nil
}

// SetCursor implements store.Store.
func (e *Engine) SetCursor(ctx context.Context, scope store.Scope, groupName, name string, pos uint64) (err error) {
	return e.groupOp(scope, groupName, false, writeData, func(g *group) error {
		if err := e.db.Set(cursorKey(g.id, name), beAppend(nil, pos), pebble.Sync); err != nil {
			return fmt.Errorf("set cursor: %w", err)
		}
		return nil
	})
}

// DeleteCursor implements store.Store.
func (e *Engine) DeleteCursor(ctx context.Context, scope store.Scope, groupName, name string) (err error) {
	return e.groupOp(scope, groupName, false, writeData, func(g *group) error {
		return e.deleteExisting(cursorKey(g.id, name), store.ErrCursorNotFound)
	})
}

// deleteExisting deletes key durably, or returns notFound when it is absent.
// (Two concurrent deletes may both succeed; callers need no more.)
func (e *Engine) deleteExisting(key []byte, notFound error) error {
	_, closer, err := e.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return notFound
	}
	if err != nil {
		return err
	}
	closer.Close()
	return e.db.Delete(key, pebble.Sync)
}
