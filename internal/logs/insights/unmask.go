package insights

import (
	"context"
	"sync"

	"github.com/cairnlog/cairn/internal/insights/run"
	"github.com/cairnlog/cairn/internal/store"
)

// unmaskCacheSize is the least number of appends whose originals one query
// keeps decrypted at a time (more when a block holds more: unmasker.block).
const unmaskCacheSize = 64

// unmasker gives the executor's Unmask for a query that uses unmask (the
// caller was allowed logs:Unmask on every group): the original of an event
// from data protection's kept originals, read once per append and block.
// A block may hold events of many appends, interleaved (the engine's
// re-compaction merges appends sorted by time, and appends whose times
// overlap alternate event by event), and a read decrypts the whole append;
// so before each block reaches the executor (wrap), the cache is made room
// for every append the block holds, keeping those it already has.
type unmasker struct {
	scope     store.Scope
	originals func(ctx context.Context, scope store.Scope, group string, seq uint64) (func(index uint32, stored string) (string, bool), error)

	mu    sync.Mutex
	cache map[unmaskKey]func(uint32, string) (string, bool) // guarded by mu
	limit int                                               // entries cache may hold; guarded by mu
}

type unmaskKey struct {
	group string
	seq   uint64
}

// unmasker returns the unmasker of a query, nil when the query does not
// unmask or nothing is ever masked.
func (s *Service) unmasker(plan Plan, scope store.Scope) *unmasker {
	if !plan.Unmask() || s.originals == nil {
		return nil
	}
	return &unmasker{scope: scope, originals: s.originals, cache: map[unmaskKey]func(uint32, string) (string, bool){}, limit: unmaskCacheSize}
}

// fn is the executor's Unmask (nil for a nil unmasker). It may be called
// from several goroutines (the lanes of a parallel stats).
func (u *unmasker) fn() func(group string, ev store.StoredEvent) (string, bool) {
	if u == nil {
		return nil
	}
	return u.unmask
}

func (u *unmasker) unmask(group string, ev store.StoredEvent) (string, bool) {
	k := unmaskKey{group, ev.Pos.Seq}
	u.mu.Lock()
	m, ok := u.cache[k]
	u.mu.Unlock()
	if !ok {
		// The query's own context is the runner's; a failed read shows
		// the event as stored rather than failing the query.
		var err error
		if m, err = u.originals(context.Background(), u.scope, group, ev.Pos.Seq); err != nil {
			m = nil
		}
		u.mu.Lock()
		if len(u.cache) >= u.limit {
			// Only outside a block's appends (rows unmasked after the
			// scan, or appends of an earlier block).
			clear(u.cache)
		}
		u.cache[k] = m
		u.mu.Unlock()
	}
	if m == nil {
		return "", false
	}
	// The kept original is rebuilt from the stored message (data
	// protection keeps only what was masked).
	return m(ev.Pos.Index, ev.Message)
}

// block makes room in the cache for every append of evs (of group), so that
// each is read once however its events interleave: the cache may hold as
// many appends as the block has (at least unmaskCacheSize), and when those
// it lacks do not fit, the appends of earlier blocks leave it.
func (u *unmasker) block(group string, evs []store.StoredEvent) {
	seqs := map[unmaskKey]bool{}
	for i := range evs {
		seqs[unmaskKey{group, evs[i].Pos.Seq}] = true
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.limit = max(unmaskCacheSize, len(seqs))
	missing := 0
	for k := range seqs {
		if _, ok := u.cache[k]; !ok {
			missing++
		}
	}
	if len(u.cache)+missing <= u.limit {
		return
	}
	for k := range u.cache {
		if !seqs[k] {
			delete(u.cache, k)
		}
	}
}

// wrap returns exec, told of each block before it reads it (exec itself
// for a nil unmasker).
func (u *unmasker) wrap(exec run.Exec) run.Exec {
	if u == nil {
		return exec
	}
	return &unmaskExec{Exec: exec, u: u}
}

type unmaskExec struct {
	run.Exec
	u *unmasker
}

func (x *unmaskExec) AddBlock(group string, b store.ScanBlock) bool {
	g := group
	if g == "" {
		g = b.Group
	}
	x.u.block(g, b.Events)
	return x.Exec.AddBlock(group, b)
}

// Release passes the runner's release on (cwli.Exec gives back its shared
// memory there).
func (x *unmaskExec) Release() {
	if r, ok := x.Exec.(interface{ Release() }); ok {
		r.Release()
	}
}
