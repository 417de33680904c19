package insights

import (
	"context"
	"sync"

	"github.com/cairnlog/cairn/internal/store"
)

// unmaskCacheSize bounds the appends whose originals one query keeps
// decrypted at a time: events arrive block by block, a block is one
// append, so a handful covers the lanes of a parallel stats.
const unmaskCacheSize = 64

// unmaskFunc is the executor's Unmask for a query that uses unmask (the
// caller was allowed logs:Unmask on every group): the original of an event
// from data protection's kept originals, read once per append and cached
// (bounded). nil when the query does not unmask or nothing is ever masked.
func (s *Service) unmaskFunc(plan Plan, scope store.Scope) func(group string, ev store.StoredEvent) (string, bool) {
	if !plan.Unmask() || s.originals == nil {
		return nil
	}
	type key struct {
		group string
		seq   uint64
	}
	var mu sync.Mutex
	cache := map[key]map[uint32]string{}
	return func(group string, ev store.StoredEvent) (string, bool) {
		k := key{group, ev.Pos.Seq}
		mu.Lock()
		m, ok := cache[k]
		mu.Unlock()
		if !ok {
			// The query's own context is the runner's; a failed read
			// shows the event as stored rather than failing the query.
			var err error
			if m, err = s.originals(context.Background(), scope, group, ev.Pos.Seq); err != nil {
				m = nil
			}
			mu.Lock()
			if len(cache) >= unmaskCacheSize {
				clear(cache)
			}
			cache[k] = m
			mu.Unlock()
		}
		orig, ok := m[ev.Pos.Index]
		return orig, ok
	}
}
