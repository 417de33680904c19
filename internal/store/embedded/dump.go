package embedded

import (
	"bytes"
	"context"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairnlog/cairn/internal/store"
)

// Dump calls the functions with everything the store contract cannot list
// by itself (it lists per scope and per resource kind): every live group of
// every scope, every resource (account-level and per group) and every
// cursor, for `cairn migrate`. Events are read through ReadFeed, streams
// through ListStreams. Iteration stops at the first error.
type Dump struct {
	Group    func(store.Group) error
	Resource func(k store.ResourceKey, value []byte) error
	Cursor   func(scope store.Scope, group, name string, pos uint64) error
}

// DumpAll runs d over the engine's contents (a consistent view per table,
// meant for an engine no server is writing to).
func (e *Engine) DumpAll(ctx context.Context, d Dump) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	e.mu.RLock()
	var gs []*group
	for _, g := range e.groups {
		gs = append(gs, g)
	}
	e.mu.RUnlock()
	var live []*group
	for _, g := range gs {
		info, deleted := g.snapshot()
		if deleted {
			continue
		}
		live = append(live, g)
		if err := d.Group(info); err != nil {
			return err
		}
	}
	each := func(prefix []byte, fn func(k, v []byte) error) error {
		it, err := e.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
		if err != nil {
			return err
		}
		defer it.Close()
		for valid := it.First(); valid; valid = it.Next() {
			v, err := it.ValueAndErr()
			if err != nil {
				return err
			}
			if err := fn(it.Key()[len(prefix):], append([]byte(nil), v...)); err != nil {
				return err
			}
		}
		return it.Error()
	}
	// Account resources: account 0 region 0 kind 0 name.
	err := each([]byte{tagResource}, func(k, v []byte) error {
		parts := bytes.SplitN(k, []byte{0}, 4)
		if len(parts) != 4 {
			return nil
		}
		return d.Resource(store.ResourceKey{Scope: store.Scope{Account: string(parts[0]), Region: string(parts[1])},
			Kind: string(parts[2]), Name: string(parts[3])}, v)
	})
	if err != nil {
		return err
	}
	for _, g := range live {
		err := each(u64key(tagGroupRes, g.id), func(k, v []byte) error {
			kind, name, ok := bytes.Cut(k, []byte{0})
			if !ok {
				return nil
			}
			return d.Resource(store.ResourceKey{Scope: g.scope, Group: g.name, Kind: string(kind), Name: string(name)}, v)
		})
		if err != nil {
			return err
		}
		err = each(u64key(tagCursor, g.id), func(k, v []byte) error {
			if len(v) != 8 {
				return nil // not a cursor this version wrote (GetCursor refuses it too)
			}
			return d.Cursor(g.scope, g.name, string(k), beUint64(v))
		})
		if err != nil {
			return err
		}
	}
	return nil
}
