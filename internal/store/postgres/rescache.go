package postgres

import (
	"context"
	"errors"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/cairnlog/cairn/internal/store"
)

// The resource cache (store.ResourceCache): what every PutLogEvents reads
// besides its group (the group's transformer and data protection policy,
// the account's two policy generations: four statements a batch, and two
// group lookups) is answered from the node's memory while nothing of those
// kinds changed, on any node.
//
// Several nodes write the database, so this node cannot know by itself
// that its copy is still current; asking the database would be the round
// trip the cache is for. What it relies on is a generation every write of
// a cached kind (Config.CachedKinds) moves on in the same statement as the
// record: the group's res_gen column for a group's records, the account and
// region's row of cairn_account_gens for the account's, each incremented
// under its row's lock (so in commit order). GetGroup, which every batch
// runs first, reads both with the group row, in one snapshot and at no
// extra round trip (store.Group.Resources). A cache miss reads the record
// and its generation in one statement (one snapshot), and the entry keeps
// that generation; an entry is served only for a Group whose generation is
// the same. That is exact, not time-bounded: a write committed before
// GetGroup read the group moved the generation to at most what GetGroup
// saw; an entry read at that very generation was read in a snapshot that
// saw the commit which made it, and so every earlier one, that write's
// included. A policy put through one node therefore applies to the next
// batch on every node, as with no cache, and a deleted one stops applying.
// (A NOTIFY to the other nodes would have cost no read but arrives when it
// arrives: the next batch could miss it.)
//
// Writes of other kinds (data protection's originals and the transformed
// records every batch writes) move no generation, so they neither cost a
// second row update nor empty the cache. Every node of a cluster must list
// the same kinds: a node that writes a cached kind without moving its
// generation leaves the others' copies stale.

// resCacheMax bounds the entries, resCacheBytes what they hold (a policy
// document may be tens of KiB); past either the cache starts over. An
// entry larger than a sixteenth of resCacheBytes is not kept.
const (
	resCacheMax   = 4096
	resCacheBytes = 16 << 20
)

// resCacheKey is a record's key: gid 0 for the account and region's.
type resCacheKey struct {
	account, region string
	gid             int64
	kind, name      string
}

type resCached struct {
	gen   int64 // the generation the record was read at
	value []byte
	found bool
}

type resCache struct {
	mu      sync.Mutex
	entries map[resCacheKey]resCached // guarded by mu
	bytes   int                       // what entries hold; guarded by mu
}

func (c *resCache) load(k resCacheKey, gen int64) (resCached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	return e, ok && e.gen == gen
}

func (c *resCache) store(k resCacheKey, e resCached) {
	size := len(k.account) + len(k.region) + len(k.kind) + len(k.name) + len(e.value) + 96
	if size > resCacheBytes/16 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.entries[k]; ok {
		if old.gen > e.gen {
			return // a newer read was kept meanwhile
		}
		c.bytes -= len(k.account) + len(k.region) + len(k.kind) + len(k.name) + len(old.value) + 96
		delete(c.entries, k)
	}
	if c.entries == nil || len(c.entries) >= resCacheMax || c.bytes+size > resCacheBytes {
		c.entries = map[resCacheKey]resCached{}
		c.bytes = 0
	}
	c.entries[k] = e
	c.bytes += size
}

// cachedKind reports whether kind's writes move a generation.
func (e *Engine) cachedKind(kind string) bool {
	_, ok := e.cachedKinds[kind]
	return ok
}

// GetResourceAsOf implements store.ResourceCache.
func (e *Engine) GetResourceAsOf(ctx context.Context, g store.Group, k store.ResourceKey) ([]byte, error) {
	v := g.Resources
	if v.ID == 0 || !e.cachedKind(k.Kind) || k.Scope != g.Scope || (k.Group != "" && k.Group != g.Name) {
		return e.GetResource(ctx, k) // no version to go by
	}
	if err := e.enter(); err != nil {
		return nil, err
	}
	defer e.exit()
	ck := resCacheKey{account: k.Scope.Account, region: k.Scope.Region, kind: k.Kind, name: k.Name}
	gen := v.Account
	if k.Group != "" {
		ck.gid, gen = v.ID, v.Group
	}
	if c, ok := e.resources.load(ck, gen); ok {
		if !c.found {
			return nil, store.ErrResourceNotFound
		}
		return append([]byte{}, c.value...), nil // the caller's to keep
	}
	var c resCached
	var err error
	if k.Group != "" {
		// The group row (its current gid: the group may have been
		// re-created since g was read) and the record, in one snapshot.
		err = e.pool.QueryRow(ctx, `SELECT g.gid, g.res_gen, r.value IS NOT NULL, r.value FROM cairn_groups g
			LEFT JOIN cairn_resources r ON r.account = g.account AND r.region = g.region AND r.gid = g.gid AND r.kind = $4 AND r.name = $5
			WHERE g.account = $1 AND g.region = $2 AND g.name = $3`,
			k.Scope.Account, k.Scope.Region, []byte(k.Group), []byte(k.Kind), []byte(k.Name)).Scan(&ck.gid, &c.gen, &c.found, &c.value)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, store.ErrGroupNotFound
		}
	} else {
		err = e.pool.QueryRow(ctx, `SELECT coalesce((SELECT gen FROM cairn_account_gens WHERE account = $1 AND region = $2), 0),
			r.value IS NOT NULL, r.value FROM (SELECT 1) one
			LEFT JOIN cairn_resources r ON r.account = $1 AND r.region = $2 AND r.gid = 0 AND r.kind = $3 AND r.name = $4`,
			k.Scope.Account, k.Scope.Region, []byte(k.Kind), []byte(k.Name)).Scan(&c.gen, &c.found, &c.value)
	}
	if err != nil {
		return nil, wrap(err)
	}
	if !c.found {
		e.resources.store(ck, c)
		return nil, store.ErrResourceNotFound
	}
	value := append([]byte{}, c.value...)
	e.resources.store(ck, c)
	return value, nil
}
