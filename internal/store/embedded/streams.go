package embedded

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/btree"

	"github.com/cairnlog/cairn/internal/store"
)

// Streams at CI scale. A CI site keeps a stream per job and build: a group
// may hold a million streams, most of them idle. So:
//
//   - A group's streams are loaded from their 'T' records on the group's
//     first use (group.streamsLoaded), not at Open: start-up reads only the
//     group records, and an untouched group costs no memory per stream.
//   - Listing by name walks the 'T' keys in Pebble, which are already in
//     (group, name) order, and takes each stream's statistics from memory:
//     a page costs its streams, not the group's size, and no sorted copy of
//     the names is kept in memory.
//   - Listing by last event time uses an in-memory B-tree of (last event
//     timestamp, name), built on the first such listing of the group and
//     kept up to date by Append after its commit (group.touched). It is
//     never persisted, so the append path writes nothing more to disk; on
//     restart it is rebuilt from the 'T' records, which carry the last
//     event timestamp already.
//   - A loaded stream lives in a slab (streamSlab) and its name in a shared
//     arena (nameArena), so a group of a million costs two allocations per
//     thousand streams rather than two per stream, which is what makes the
//     load fast and the garbage collector's work small.

// stream is the in-memory state of a log stream. Its name, id and creation
// time never change; the statistics are atomics that Append raises after its
// commit, read without locks. The group's mu guards its streams map.
type stream struct {
	name    string
	id      uint64
	created int64

	first, last, lastIngest, storedBytes atomic.Int64

	// indexed is the last event timestamp the group's time index holds the
	// stream under; guarded by group.order.
	indexed int64
}

func (s *stream) snapshot() store.Stream {
	return store.Stream{
		Name:                s.name,
		CreationTime:        s.created,
		FirstEventTimestamp: s.first.Load(),
		LastEventTimestamp:  s.last.Load(),
		LastIngestionTime:   s.lastIngest.Load(),
		StoredBytes:         s.storedBytes.Load(),
	}
}

// streamSlab hands out streams from chunks that grow from 4 to 1,024
// streams, so that a group of one stream stays small and a group of a
// million costs a thousand allocations. A deleted stream's slot stays until
// its chunk is unreferenced (at most 1,023 neighbours keep it).
type streamSlab struct{ chunk []stream }

func (sl *streamSlab) alloc() *stream {
	if len(sl.chunk) == cap(sl.chunk) {
		sl.chunk = make([]stream, 0, min(max(2*cap(sl.chunk), 4), 1024))
	}
	sl.chunk = sl.chunk[:len(sl.chunk)+1]
	return &sl.chunk[len(sl.chunk)-1]
}

// nameArena copies stream names into shared chunks (256 B growing to
// 64 KiB). Names are immutable once copied, which makes the strings that
// point into a chunk safe.
type nameArena struct{ buf []byte }

func (a *nameArena) intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > cap(a.buf)-len(a.buf) {
		a.buf = make([]byte, 0, max(min(max(2*cap(a.buf), 256), 64<<10), len(b)))
	}
	off := len(a.buf)
	a.buf = append(a.buf, b...)
	return unsafe.String(&a.buf[off], len(b))
}

// newStream allocates a stream of g; the caller holds g.mu for writing (or
// is loading g, which nobody else sees yet).
func (g *group) newStream(name []byte, id uint64, created int64) *stream {
	s := g.slab.alloc()
	s.name = g.names.intern(name)
	s.id = id
	s.created = created
	return s
}

// publish adds s to g's maps and time index; the caller holds g.mu for writing.
func (g *group) publish(s *stream) {
	if g.streams == nil {
		g.streams = make(map[string]*stream)
		g.byID = make(map[uint64]*stream)
	}
	g.streams[s.name] = s
	g.byID[s.id] = s
	g.order.Lock()
	if g.byTime != nil {
		s.indexed = s.last.Load()
		g.byTime.ReplaceOrInsert(timeItem{s.indexed, s})
	}
	g.order.Unlock()
}

// unpublish removes s; the caller holds g.mu for writing.
func (g *group) unpublish(s *stream) {
	delete(g.streams, s.name)
	delete(g.byID, s.id)
	g.order.Lock()
	if g.byTime != nil {
		g.byTime.Delete(timeItem{s.indexed, s})
	}
	g.order.Unlock()
}

// touched moves s in g's time index after an Append raised its last event
// timestamp: a mutex and, when the timestamp moved and the index exists,
// one B-tree delete and insert (about a microsecond at a million streams),
// against the Append's fsync.
func (g *group) touched(s *stream) {
	g.order.Lock()
	if g.byTime != nil {
		if last := s.last.Load(); last != s.indexed {
			g.byTime.Delete(timeItem{s.indexed, s})
			s.indexed = last
			g.byTime.ReplaceOrInsert(timeItem{last, s})
		}
	}
	g.order.Unlock()
}

// timeItem is an entry of a group's time index.
type timeItem struct {
	t int64
	s *stream
}

func timeLess(a, b timeItem) bool {
	if a.t != b.t {
		return a.t < b.t
	}
	return a.s.name < b.s.name
}

// timeIndexDegree: nodes of up to 63 items of 16 bytes, about a kilobyte.
const timeIndexDegree = 32

// buildTimeIndex makes g's time index if it does not exist yet. Lock order:
// g.mu (read), then g.order.
func (g *group) buildTimeIndex() {
	g.mu.RLock()
	defer g.mu.RUnlock()
	g.order.Lock()
	defer g.order.Unlock()
	if g.byTime != nil {
		return
	}
	items := make([]timeItem, 0, len(g.byID))
	for _, s := range g.byID {
		s.indexed = s.last.Load()
		items = append(items, timeItem{s.indexed, s})
	}
	slices.SortFunc(items, func(a, b timeItem) int {
		if timeLess(a, b) {
			return -1
		}
		return 1
	})
	t := btree.NewG(timeIndexDegree, timeLess)
	for _, it := range items {
		t.ReplaceOrInsert(it)
	}
	g.byTime = t
}

// loadStreams reads g's stream records into memory on g's first use.
// Everything that reads or changes g's streams finds g through lookup, which
// calls it, so nobody sees g's maps before they are complete.
func (e *Engine) loadStreams(g *group) error {
	if g.streamsLoaded.Load() {
		return nil
	}
	g.load.Lock()
	defer g.load.Unlock()
	if g.streamsLoaded.Load() {
		return nil
	}
	streams := make(map[string]*stream)
	byID := make(map[uint64]*stream)
	var slab streamSlab
	var names nameArena
	err := e.scan(u64key(tagStream, g.id), func(k, v []byte) error {
		rec, err := decodeStreamRecord(v)
		if err != nil {
			return fmt.Errorf("stream %q: %w", k, err)
		}
		if rec.sid == 0 {
			return nil // stats with no creation record: not a stream
		}
		s := slab.alloc()
		s.name = names.intern(k[9:])
		s.id, s.created = rec.sid, rec.created
		s.first.Store(rec.first)
		s.last.Store(rec.last)
		s.lastIngest.Store(rec.lastIngest)
		s.storedBytes.Store(rec.storedBytes)
		streams[s.name] = s
		byID[s.id] = s
		return nil
	})
	if err != nil {
		return fmt.Errorf("load streams of group %d: %w", g.id, err)
	}
	g.mu.Lock()
	g.streams, g.byID, g.slab, g.names = streams, byID, slab, names
	g.mu.Unlock()
	g.streamsLoaded.Store(true)
	return nil
}

// CreateStream implements store.Store. The name is reserved under g.mu and
// committed without it, so concurrent creations in one group share an fsync
// (Pebble's group commit) instead of queueing for one each; the commit runs
// under g.commit for reading, so it precedes any DeleteGroup or DeleteStream.
func (e *Engine) CreateStream(ctx context.Context, scope store.Scope, groupName string, s store.Stream) error {
	return e.groupOp(scope, groupName, true, writeData, func(g *group) error {
		// A creation of the same name in flight is waited for, not
		// answered with ErrStreamExists at once: a client told the stream
		// exists may append to it straight away.
		var done chan struct{}
		for done == nil {
			g.mu.Lock()
			if g.streams[s.Name] != nil {
				g.mu.Unlock()
				return store.ErrStreamExists
			}
			if other := g.creating[s.Name]; other != nil {
				g.mu.Unlock()
				select {
				case <-other:
				case <-ctx.Done():
					return ctx.Err()
				}
				continue
			}
			if g.creating == nil {
				g.creating = make(map[string]chan struct{})
			}
			done = make(chan struct{})
			g.creating[s.Name] = done
			g.mu.Unlock()
		}
		var st *stream
		defer func() {
			g.mu.Lock()
			delete(g.creating, s.Name)
			if st != nil {
				g.publish(st)
			}
			g.mu.Unlock()
			close(done)
		}()
		id, err := e.allocSeq()
		if err != nil {
			return err
		}
		rec := streamRecord{sid: id, created: s.CreationTime}
		if err := e.db.Set(streamKey(g.id, s.Name), rec.encode(), pebble.Sync); err != nil {
			return fmt.Errorf("create stream: %w", err)
		}
		g.mu.Lock()
		st = g.newStream(unsafe.Slice(unsafe.StringData(s.Name), len(s.Name)), id, s.CreationTime)
		g.mu.Unlock()
		return nil
	})
}

// DeleteStream implements store.Store. The stream disappears at once; the
// janitor reclaims its blocks.
func (e *Engine) DeleteStream(ctx context.Context, scope store.Scope, groupName, name string) error {
	return e.groupOp(scope, groupName, false, writeAll, func(g *group) error {
		s := g.streams[name]
		if s == nil {
			return store.ErrStreamNotFound
		}
		defer e.changing(g)()
		b := e.db.NewBatch()
		defer b.Close()
		b.Delete(streamKey(g.id, name), nil)
		b.Set(reclaimKey(g.id, s.id), nil, nil)
		b.Merge(groupStatsKey(g.id), groupStats{storedBytes: -s.storedBytes.Load()}.encode(), nil)
		if err := b.Commit(pebble.Sync); err != nil {
			return fmt.Errorf("delete stream: %w", err)
		}
		g.unpublish(s)
		g.storedBytes.Add(-s.storedBytes.Load())
		return nil
	})
}

// GetStream implements store.Store.
func (e *Engine) GetStream(ctx context.Context, scope store.Scope, groupName, name string) (store.Stream, error) {
	if err := e.enter(); err != nil {
		return store.Stream{}, err
	}
	defer e.exit()
	g, err := e.lookup(scope, groupName)
	if err != nil {
		return store.Stream{}, err
	}
	g.mu.RLock()
	s := g.streams[name]
	g.mu.RUnlock()
	if s == nil {
		return store.Stream{}, store.ErrStreamNotFound
	}
	return s.snapshot(), nil
}

// ListStreams implements store.Store.
func (e *Engine) ListStreams(ctx context.Context, scope store.Scope, groupName, prefix, after string, fn func(store.Stream) bool) error {
	l := store.StreamListing{Prefix: prefix}
	if after != "" {
		l.After = &store.StreamKey{Name: after}
	}
	return e.ListStreamsOrdered(ctx, scope, groupName, l, fn)
}

// ListStreamsOrdered implements store.Store.
func (e *Engine) ListStreamsOrdered(ctx context.Context, scope store.Scope, groupName string, l store.StreamListing, fn func(store.Stream) bool) (err error) {
	defer recoverFatal(&err)
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	g, err := e.lookup(scope, groupName)
	if err != nil {
		return err
	}
	if l.ByLastEventTime {
		return e.listByTime(ctx, g, l, fn)
	}
	return e.listByName(ctx, g, l, fn)
}

// listByName walks g's 'T' keys in name order. A key whose stream is not in
// memory is a creation still committing (or stats of a deleted stream) and
// is skipped, as it would be a moment earlier.
func (e *Engine) listByName(ctx context.Context, g *group, l store.StreamListing, fn func(store.Stream) bool) error {
	lower := streamKey(g.id, l.Prefix)
	it, err := e.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: lower, UpperBound: prefixEnd(lower)})
	if err != nil {
		return err
	}
	defer it.Close()
	var valid bool
	switch {
	case l.After == nil && !l.Descending:
		valid = it.First()
	case l.After == nil:
		valid = it.Last()
	case !l.Descending:
		k := streamKey(g.id, l.After.Name)
		if valid = it.SeekGE(k); valid && string(it.Key()) == string(k) {
			valid = it.Next()
		}
	default:
		valid = it.SeekLT(streamKey(g.id, l.After.Name))
	}
	for ; valid; valid = stepIter(it, l.Descending) {
		name := it.Key()[9:]
		g.mu.RLock()
		s := g.streams[string(name)]
		g.mu.RUnlock()
		if s == nil {
			continue
		}
		if !fn(s.snapshot()) {
			return nil
		}
	}
	return it.Error()
}

func stepIter(it *pebble.Iterator, backward bool) bool {
	if backward {
		return it.Prev()
	}
	return it.Next()
}

// listByTime walks g's time index from l.After, a chunk at a time: fn runs
// without g's locks held (it may take its time), and the walk resumes from
// the last key it was given.
func (e *Engine) listByTime(ctx context.Context, g *group, l store.StreamListing, fn func(store.Stream) bool) error {
	g.buildTimeIndex()
	const chunk = 64
	var pivot timeItem
	havePivot := l.After != nil
	if havePivot {
		pivot = timeItem{l.After.LastEventTime, &stream{name: l.After.Name}}
	}
	out := make([]store.Stream, 0, chunk)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		out = out[:0]
		more := false
		visit := func(it timeItem) bool {
			if havePivot && !timeLess(pivot, it) && !timeLess(it, pivot) {
				return true // the key itself: the walk starts strictly after it
			}
			if len(out) == chunk {
				more = true
				return false
			}
			pivot, havePivot = it, true
			if !strings.HasPrefix(it.s.name, l.Prefix) {
				return true
			}
			st := it.s.snapshot()
			st.LastEventTimestamp = it.t // the key it is ordered by (see StreamListing)
			out = append(out, st)
			return true
		}
		g.order.Lock()
		switch {
		case !havePivot && !l.Descending:
			g.byTime.Ascend(visit)
		case !havePivot:
			g.byTime.Descend(visit)
		case !l.Descending:
			g.byTime.AscendGreaterOrEqual(pivot, visit)
		default:
			g.byTime.DescendLessOrEqual(pivot, visit)
		}
		g.order.Unlock()
		for _, st := range out {
			if !fn(st) {
				return nil
			}
		}
		if !more {
			return nil
		}
	}
}
