package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/btree"

	"github.com/cairnlog/cairn/internal/store"
)

// group is the in-memory state of a log group. Its locks come in the order
// the Engine's comment gives: commit, then mu.
type group struct {
	id    uint64
	name  string      // never changes; read without locks
	scope store.Scope // never changes; read without locks

	// commit is held for reading while an Append commits and for writing by
	// DeleteGroup and DeleteStream, so no block lands after its stream or
	// group is gone.
	commit sync.RWMutex

	mu       sync.RWMutex // guards info, streams, byID, creating, slab, names, deleted
	info     store.Group
	streams  map[string]*stream // by name; nil until a stream exists
	byID     map[uint64]*stream
	creating map[string]chan struct{} // names whose CreateStream is committing; closed when it ends
	slab     streamSlab
	names    nameArena
	deleted  bool // set by DeleteGroup's commit; lookups may still find g

	// load serialises loadStreams; streamsLoaded says the maps above hold
	// every stream (streams.go: loaded on the group's first use).
	load          sync.Mutex
	streamsLoaded atomic.Bool

	// order guards byTime and every stream's indexed field: the time index,
	// built on the first listing by last event time (streams.go).
	order  sync.Mutex
	byTime *btree.BTreeG[timeItem]

	// Atomics, read without locks: stored bytes of the live streams, and the
	// widest block span (raised before a block commits; see Read).
	storedBytes atomic.Int64
	maxSpan     atomic.Int64
}

func groupMapKey(scope store.Scope, name string) string {
	return scope.Account + "\x00" + scope.Region + "\x00" + name
}

// groupRecord is the persistent form of a group's settings.
type groupRecord struct {
	ID                 uint64            `json:"id"`
	CreationTime       int64             `json:"creationTime"`
	RetentionDays      int32             `json:"retentionInDays,omitempty"`
	Class              string            `json:"logGroupClass,omitempty"`
	KMSKeyID           string            `json:"kmsKeyId,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
	DeletionProtection bool              `json:"deletionProtection,omitempty"`
}

func newGroup(rec groupRecord, scope store.Scope, name string) *group {
	return &group{
		id:    rec.ID,
		name:  name,
		scope: scope,
		info: store.Group{
			Scope:              scope,
			Name:               name,
			CreationTime:       rec.CreationTime,
			RetentionDays:      rec.RetentionDays,
			Class:              rec.Class,
			KMSKeyID:           rec.KMSKeyID,
			Tags:               rec.Tags,
			DeletionProtection: rec.DeletionProtection,
		},
	}
}

func (g *group) record() groupRecord {
	return groupRecord{
		ID:                 g.id,
		CreationTime:       g.info.CreationTime,
		RetentionDays:      g.info.RetentionDays,
		Class:              g.info.Class,
		KMSKeyID:           g.info.KMSKeyID,
		Tags:               g.info.Tags,
		DeletionProtection: g.info.DeletionProtection,
	}
}

func (g *group) snapshot() (info store.Group, deleted bool) {
	g.mu.RLock()
	info, deleted = g.info, g.deleted
	info.Tags = cloneTags(g.info.Tags)
	g.mu.RUnlock()
	info.StoredBytes = g.storedBytes.Load()
	return info, deleted
}

func cloneTags(t map[string]string) map[string]string {
	if t == nil {
		return nil
	}
	c := make(map[string]string, len(t))
	for k, v := range t {
		c[k] = v
	}
	return c
}

// lookup finds a group with its streams loaded.
func (e *Engine) lookup(scope store.Scope, name string) (*group, error) {
	g, err := e.lookupMeta(scope, name)
	if err != nil {
		return nil, err
	}
	if err := e.loadStreams(g); err != nil {
		return nil, err
	}
	return g, nil
}

// lookupMeta finds a group for what needs only its settings: its streams
// may not be loaded.
func (e *Engine) lookupMeta(scope store.Scope, name string) (*group, error) {
	e.mu.RLock()
	g := e.groups[groupMapKey(scope, name)]
	e.mu.RUnlock()
	if g == nil {
		return nil, store.ErrGroupNotFound
	}
	return g, nil
}

// CreateGroup implements store.Store.
func (e *Engine) CreateGroup(ctx context.Context, info store.Group) (err error) {
	defer recoverFatal(&err)
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	if err := e.writable(); err != nil {
		return err
	}
	// Reserve the name under e.mu, commit without it (the fsync must not
	// stall every lookup), then publish the group.
	mk := groupMapKey(info.Scope, info.Name)
	e.mu.Lock()
	if e.groups[mk] != nil || e.creating[mk] {
		e.mu.Unlock()
		return store.ErrGroupExists
	}
	if e.creating == nil {
		e.creating = make(map[string]bool)
	}
	e.creating[mk] = true
	e.mu.Unlock()
	var g *group
	defer func() {
		e.mu.Lock()
		delete(e.creating, mk)
		if g != nil {
			e.groups[mk] = g
		}
		e.mu.Unlock()
	}()
	id, err := e.allocSeq()
	if err != nil {
		return err
	}
	ng := newGroup(groupRecord{}, info.Scope, info.Name)
	ng.id = id
	ng.streamsLoaded.Store(true) // a new group has none to load
	info.StoredBytes = 0
	info.Tags = cloneTags(info.Tags)
	ng.info = info
	rec, err := json.Marshal(ng.record())
	if err != nil {
		return err
	}
	b := e.db.NewBatch()
	defer b.Close()
	b.Set(groupKey(info.Account, info.Region, info.Name), rec, nil)
	b.Set(groupStatsKey(id), groupStats{}.encode(), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	g = ng
	return nil
}

// DeleteGroup implements store.Store. The group's data goes with range
// tombstones; Pebble reclaims the space in compactions.
func (e *Engine) DeleteGroup(ctx context.Context, scope store.Scope, name string) error {
	// The commit runs without e.mu (its fsync must not stall every lookup).
	// Operations that find g meanwhile see deleted once it is set; the map
	// entry goes last, so a CreateGroup of the same name during the delete
	// gets ErrGroupExists, as it would just before.
	var gone *group
	err := e.groupOpOn(scope, name, false, writeAll, false, func(g *group) error {
		defer e.changing(g)()
		e.res.beginAll() // the range deletion takes the group's resource records
		defer e.res.endAll()
		b := e.db.NewBatch()
		defer b.Close()
		b.Delete(groupKey(scope.Account, scope.Region, name), nil)
		b.Delete(groupStatsKey(g.id), nil)
		for _, tag := range []byte(groupDataTags) {
			p := u64key(tag, g.id)
			b.DeleteRange(p, prefixEnd(p), nil)
		}
		if err := b.Commit(pebble.Sync); err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
		g.deleted = true
		gone = g
		return nil
	})
	if err != nil {
		return err
	}
	mk := groupMapKey(scope, name)
	e.mu.Lock()
	if e.groups[mk] == gone {
		delete(e.groups, mk)
	}
	e.mu.Unlock()
	return nil
}

// GetGroup implements store.Store.
func (e *Engine) GetGroup(ctx context.Context, scope store.Scope, name string) (store.Group, error) {
	if err := e.enter(); err != nil {
		return store.Group{}, err
	}
	defer e.exit()
	g, err := e.lookupMeta(scope, name)
	if err != nil {
		return store.Group{}, err
	}
	info, deleted := g.snapshot()
	if deleted {
		return store.Group{}, store.ErrGroupNotFound
	}
	return info, nil
}

// UpdateGroup implements store.Store.
func (e *Engine) UpdateGroup(ctx context.Context, scope store.Scope, name string, fn func(*store.Group) error) error {
	return e.groupOpOn(scope, name, false, writeSettings, false, func(g *group) error {
		defer e.changing(g)() // the retention narrows reads
		info := g.info
		info.Tags = cloneTags(g.info.Tags)
		if err := fn(&info); err != nil {
			return err
		}
		info.Scope, info.Name, info.CreationTime = g.info.Scope, g.info.Name, g.info.CreationTime
		old := g.info
		g.info = info
		rec, err := json.Marshal(g.record())
		if err == nil {
			err = e.db.Set(groupKey(scope.Account, scope.Region, name), rec, pebble.Sync)
		}
		if err != nil {
			g.info = old
			return fmt.Errorf("update group: %w", err)
		}
		return nil
	})
}

// ListGroups implements store.Store. It walks the 'G' keys, which are in
// (account, region, name) order, and takes each group from memory, so a page
// costs its groups and not the number of groups (no sort per call). A key
// whose group is not in the map is a creation still committing.
func (e *Engine) ListGroups(ctx context.Context, scope store.Scope, prefix, after string, fn func(store.Group) bool) (err error) {
	defer recoverFatal(&err)
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	lower := groupKey(scope.Account, scope.Region, prefix)
	it, err := e.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return err
	}
	defer it.Close()
	skip := len(groupScopePrefix(scope.Account, scope.Region))
	valid := it.First()
	if after != "" {
		k := groupKey(scope.Account, scope.Region, after)
		if valid = it.SeekGE(k); valid && string(it.Key()) == string(k) {
			valid = it.Next()
		}
	}
	for ; valid; valid = it.Next() {
		e.mu.RLock()
		g := e.groups[groupMapKey(scope, string(it.Key()[skip:]))]
		e.mu.RUnlock()
		if g == nil {
			continue
		}
		info, deleted := g.snapshot()
		if deleted {
			continue
		}
		if !fn(info) {
			return nil
		}
	}
	return it.Error()
}

// liveGroup is lookup that also refuses a group being deleted.
func (e *Engine) liveGroup(scope store.Scope, name string) (*group, error) {
	g, err := e.lookupMeta(scope, name)
	if err != nil {
		return nil, err
	}
	g.mu.RLock()
	deleted := g.deleted
	g.mu.RUnlock()
	if deleted {
		return nil, store.ErrGroupNotFound
	}
	return g, nil
}

// groupLock names the locks of a group an operation holds while it runs
// (the Engine's comment gives their order).
type groupLock int

const (
	// writeData holds group.commit for reading: fn writes keys of the group
	// (blocks, cursors, resources), and the write either precedes a
	// DeleteGroup's commit or fails with ErrGroupNotFound.
	writeData groupLock = iota
	// writeSettings holds group.mu: fn changes the group's settings or its
	// set of streams and persists them. DeleteGroup holds group.mu across
	// its commit, so fn either finishes before it or sees the group deleted,
	// and never writes a record back after the range deletion.
	writeSettings
	// writeAll holds group.commit and group.mu for writing: fn removes what
	// writers of data depend on (a stream, the group itself).
	writeAll
)

// groupOp runs fn on the group name as one operation: under life, with a
// storage failure turned into an error, on a group not deleted, holding the
// locks that lock names. grows (the operation adds data) refuses it first
// on a full disk with store.ErrNoSpace.
func (e *Engine) groupOp(scope store.Scope, name string, grows bool, lock groupLock, fn func(*group) error) (err error) {
	return e.groupOpOn(scope, name, grows, lock, true, fn)
}

// groupOpOn is groupOp; streams says fn needs the group's streams loaded.
func (e *Engine) groupOpOn(scope store.Scope, name string, grows bool, lock groupLock, streams bool, fn func(*group) error) (err error) {
	defer recoverFatal(&err)
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	if grows {
		if err := e.writable(); err != nil {
			return err
		}
	}
	g, err := e.lookupMeta(scope, name)
	if err == nil && streams {
		err = e.loadStreams(g)
	}
	if err != nil {
		return err
	}
	var deleted bool
	switch lock {
	case writeData:
		g.commit.RLock()
		defer g.commit.RUnlock()
		g.mu.RLock()
		deleted = g.deleted
		g.mu.RUnlock()
	case writeAll:
		g.commit.Lock()
		defer g.commit.Unlock()
		fallthrough
	case writeSettings:
		g.mu.Lock()
		defer g.mu.Unlock()
		deleted = g.deleted
	}
	if deleted {
		return store.ErrGroupNotFound // a concurrent DeleteGroup won
	}
	return fn(g)
}

// loadForExpiry readies g for the janitor's expire, which needs its streams:
// a group whose streams were never loaded is loaded only when it has a block
// to expire (one seek), so a sweep does not load every idle group. skip says
// there is nothing to expire.
func (e *Engine) loadForExpiry(g *group, now int64) (skip bool, err error) {
	if g.streamsLoaded.Load() {
		return false, nil
	}
	g.mu.RLock()
	days := g.info.RetentionDays
	g.mu.RUnlock()
	cutoff := now - int64(days)*86_400_000 - maxBlockSpan
	if days <= 0 || cutoff <= 0 {
		return true, nil
	}
	p := u64key(tagSummary, g.id)
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: u64keyAppend(p, uint64(cutoff))})
	if err != nil {
		return false, err
	}
	found := it.First()
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return false, err
	}
	if !found {
		return true, nil
	}
	return false, e.loadStreams(g)
}
