package embedded

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairnlog/cairn/internal/store"
)

// stream is the in-memory state of a log stream. Its name, id and creation
// time never change; the statistics are atomics that Append raises after its
// commit, read without locks. The group's mu guards its streams map.
type stream struct {
	name    string
	id      uint64
	created int64

	first, last, lastIngest, storedBytes atomic.Int64
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

// CreateStream implements store.Store.
func (e *Engine) CreateStream(ctx context.Context, scope store.Scope, groupName string, s store.Stream) error {
	return e.groupOp(scope, groupName, true, writeSettings, func(g *group) error {
		if g.streams[s.Name] != nil {
			return store.ErrStreamExists
		}
		id, err := e.allocSeq()
		if err != nil {
			return err
		}
		rec := streamRecord{sid: id, created: s.CreationTime}
		if err := e.db.Set(streamKey(g.id, s.Name), rec.encode(), pebble.Sync); err != nil {
			return fmt.Errorf("create stream: %w", err)
		}
		st := &stream{name: s.Name, id: id, created: s.CreationTime}
		g.streams[s.Name] = st
		g.byID[id] = st
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
		b := e.db.NewBatch()
		defer b.Close()
		b.Delete(streamKey(g.id, name), nil)
		b.Set(reclaimKey(g.id, s.id), nil, nil)
		b.Merge(groupStatsKey(g.id), groupStats{storedBytes: -s.storedBytes.Load()}.encode(), nil)
		if err := b.Commit(pebble.Sync); err != nil {
			return fmt.Errorf("delete stream: %w", err)
		}
		delete(g.streams, name)
		delete(g.byID, s.id)
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
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	g, err := e.lookup(scope, groupName)
	if err != nil {
		return err
	}
	g.mu.RLock()
	ss := make([]*stream, 0, len(g.streams))
	for n, s := range g.streams {
		if strings.HasPrefix(n, prefix) && n > after {
			ss = append(ss, s)
		}
	}
	g.mu.RUnlock()
	slices.SortFunc(ss, func(a, b *stream) int { return strings.Compare(a.name, b.name) })
	for _, s := range ss {
		if !fn(s.snapshot()) {
			break
		}
	}
	return nil
}
