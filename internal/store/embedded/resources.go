package embedded

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairnlog/cairn/internal/store"
)

// Resources are opaque records the control plane keeps (metric filters,
// subscription filters, destinations, policies, query definitions, export
// tasks). A group's live under 'r' gid kind 0x00 name and go with the group's
// range deletion; an account's under 'R' account 0x00 region 0x00 kind 0x00
// name. Every write is synced, like an Append.

// resourcePrefix is the key prefix of k's kind (everything but the name).
// g is k.Group's group, nil for an account resource.
func resourcePrefix(k store.ResourceKey, g *group) ([]byte, error) {
	if k.Kind == "" || strings.IndexByte(k.Kind, 0) >= 0 {
		return nil, fmt.Errorf("BUG: resource kind %q is empty or holds NUL", k.Kind)
	}
	var p []byte
	if g != nil {
		p = u64key(tagGroupRes, g.id)
	} else {
		if strings.IndexByte(k.Scope.Account, 0) >= 0 || strings.IndexByte(k.Scope.Region, 0) >= 0 {
			return nil, fmt.Errorf("BUG: resource scope %q holds NUL", k.Scope)
		}
		p = append(p, tagResource)
		p = append(p, k.Scope.Account...)
		p = append(p, 0)
		p = append(p, k.Scope.Region...)
		p = append(p, 0)
	}
	p = append(p, k.Kind...)
	return append(p, 0), nil
}

// resourceOp runs fn with k's key prefix; a group resource's fn runs as a
// groupOp holding the group's commit lock for reading (write) or on a live group (read).
func (e *Engine) resourceOp(k store.ResourceKey, write bool, fn func(prefix []byte) error) (err error) {
	if k.Group != "" {
		run := func(g *group) error {
			p, err := resourcePrefix(k, g)
			if err != nil {
				return err
			}
			return fn(p)
		}
		if write {
			return e.groupOp(k.Scope, k.Group, false, writeData, run)
		}
		defer recoverFatal(&err)
		if err := e.enter(); err != nil {
			return err
		}
		defer e.exit()
		g, err := e.liveGroup(k.Scope, k.Group)
		if err != nil {
			return err
		}
		return run(g)
	}
	defer recoverFatal(&err)
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	p, err := resourcePrefix(k, nil)
	if err != nil {
		return err
	}
	return fn(p)
}

// PutResource implements store.Store.
func (e *Engine) PutResource(ctx context.Context, k store.ResourceKey, value []byte) error {
	return e.resourceOp(k, true, func(p []byte) error {
		e.res.begin(p)
		defer e.res.end(p)
		if err := e.db.Set(append(p, k.Name...), value, pebble.Sync); err != nil {
			return fmt.Errorf("put resource: %w", err)
		}
		return nil
	})
}

// GetResource implements store.Store.
func (e *Engine) GetResource(ctx context.Context, k store.ResourceKey) (value []byte, err error) {
	err = e.resourceOp(k, false, func(p []byte) error {
		key := append(p, k.Name...)
		ck := "g" + string(key)
		gen, c, ok := e.res.load(p, ck)
		if ok {
			if !c.found {
				return store.ErrResourceNotFound
			}
			value = append([]byte(nil), c.value...)
			return nil
		}
		v, closer, err := e.db.Get(key)
		if errors.Is(err, pebble.ErrNotFound) {
			e.res.store(p, gen, ck, resEntry{})
			return store.ErrResourceNotFound
		}
		if err != nil {
			return fmt.Errorf("get resource: %w", err)
		}
		value = append([]byte(nil), v...)
		e.res.store(p, gen, ck, resEntry{value: append([]byte(nil), v...), found: true})
		return closer.Close()
	})
	return value, err
}

// DeleteResource implements store.Store.
func (e *Engine) DeleteResource(ctx context.Context, k store.ResourceKey) error {
	return e.resourceOp(k, true, func(p []byte) error {
		e.res.begin(p)
		defer e.res.end(p)
		return e.deleteExisting(append(p, k.Name...), store.ErrResourceNotFound)
	})
}

// ListResources implements store.Store.
func (e *Engine) ListResources(ctx context.Context, k store.ResourceKey, prefix, after string, fn func(name string, value []byte) bool) error {
	return e.resourceOp(k, false, func(p []byte) error {
		if after == "" {
			// A whole short list is kept (the account's policies are listed
			// on every PutLogEvents); fn is given copies, in key order.
			ck := "l" + string(p) + prefix
			gen, c, ok := e.res.load(p, ck)
			if !ok {
				var whole bool
				var err error
				if c, whole, err = e.readResources(ctx, p, prefix); err != nil {
					return err
				}
				if whole {
					e.res.store(p, gen, ck, c)
					ok = true
				}
			}
			if ok {
				for i, name := range c.names {
					if !fn(name, append([]byte(nil), c.vals[i]...)) {
						break
					}
				}
				return nil
			}
		}
		lower := append(append([]byte(nil), p...), prefix...)
		if a := append(append([]byte(nil), p...), after...); after != "" && string(a) >= string(lower) {
			lower = append(a, 0) // the smallest key after `after`
		}
		it, err := e.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(append(append([]byte(nil), p...), prefix...))})
		if err != nil {
			return err
		}
		defer it.Close()
		for valid := it.First(); valid; valid = it.Next() {
			v, err := it.ValueAndErr()
			if err != nil {
				return err
			}
			if !fn(string(it.Key()[len(p):]), append([]byte(nil), v...)) {
				break
			}
		}
		return it.Error()
	})
}

// readResources reads the records under p+prefix into an entry, unless there
// are more than resListMax of them (whole is false: the caller lists them
// from Pebble as they come).
func (e *Engine) readResources(ctx context.Context, p []byte, prefix string) (c resEntry, whole bool, err error) {
	lower := append(append([]byte(nil), p...), prefix...)
	it, err := e.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(append([]byte(nil), lower...))})
	if err != nil {
		return resEntry{}, false, err
	}
	defer it.Close()
	for valid := it.First(); valid; valid = it.Next() {
		if len(c.names) == resListMax {
			return resEntry{}, false, it.Error()
		}
		v, err := it.ValueAndErr()
		if err != nil {
			return resEntry{}, false, err
		}
		c.names = append(c.names, string(it.Key()[len(p):]))
		c.vals = append(c.vals, append([]byte(nil), v...))
	}
	return c, true, it.Error()
}
