// Package migrate copies an embedded engine's contents into a PostgreSQL
// one (`cairn migrate --from DATA_DIR --to postgres://…`): every group of
// every scope with its settings, its streams, its events block by block
// with their sequence numbers (so every eventId and every feed position
// stays what it was), every resource record (account-level and per group)
// and every cursor (so subscription and metric-filter followers resume
// where they were). Data flows source → Dump/ListStreams/ReadFeed →
// postgres.Import/Create*/Put*/SetCursor → FinishImport, which moves the
// database's sequence past the imported blocks.
package migrate

import (
	"context"
	"fmt"

	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
	"github.com/cairnlog/cairn/internal/store/postgres"
)

// Copy opens the embedded engine in dataDir (refused while a server runs
// on it: its directory is locked) and the PostgreSQL database at url,
// copies the one into the other (Run) and closes both. cachedKinds are
// the resource kinds the servers on that database cache
// (server.CachedKinds, postgres.Config.CachedKinds): the copy's writes of
// them move their generations, as a server's do, so a node already
// serving the database sees them on its next batch.
func Copy(ctx context.Context, dataDir, url string, cachedKinds []string) (Stats, error) {
	src, err := embedded.Open(embedded.Config{Dir: dataDir, RecompactInterval: -1}) // read only: no merging under the copy
	if err != nil {
		return Stats{}, fmt.Errorf("opening %s: %w", dataDir, err)
	}
	defer src.Close()
	dst, err := postgres.Open(postgres.Config{URL: url, CachedKinds: cachedKinds})
	if err != nil {
		return Stats{}, err // pgx's errors do not carry the password
	}
	defer dst.Close()
	return Run(ctx, src, dst)
}

// Stats is what a migration copied.
type Stats struct {
	Groups, Streams, Blocks, Events, Resources, Cursors int64
}

// Run copies src into dst, which must hold none of src's groups (a group
// already there fails the run: migrate into an empty database).
func Run(ctx context.Context, src *embedded.Engine, dst *postgres.Engine) (Stats, error) {
	var st Stats
	err := src.DumpAll(ctx, embedded.Dump{
		Group: func(g store.Group) error {
			g.StoredBytes = 0 // the destination counts its own
			if err := dst.CreateGroup(ctx, g); err != nil {
				return fmt.Errorf("group %s: %w", g.Name, err)
			}
			st.Groups++
			return copyGroup(ctx, src, dst, g, &st)
		},
		Resource: func(k store.ResourceKey, v []byte) error {
			st.Resources++
			return dst.PutResource(ctx, k, v)
		},
		Cursor: func(scope store.Scope, group, name string, pos uint64) error {
			st.Cursors++
			return dst.SetCursor(ctx, scope, group, name, pos)
		},
	})
	if err != nil {
		return st, err
	}
	return st, dst.FinishImport(ctx)
}

func copyGroup(ctx context.Context, src *embedded.Engine, dst *postgres.Engine, g store.Group, st *Stats) error {
	var streams []store.Stream
	if err := src.ListStreams(ctx, g.Scope, g.Name, "", "", func(s store.Stream) bool {
		streams = append(streams, s)
		return true
	}); err != nil {
		return err
	}
	for _, s := range streams {
		if err := dst.CreateStream(ctx, g.Scope, g.Name, store.Stream{Name: s.Name, CreationTime: s.CreationTime}); err != nil {
			return fmt.Errorf("group %s, stream %s: %w", g.Name, s.Name, err)
		}
		st.Streams++
	}
	// The feed in commit order; a block's events share its Seq and come in
	// their order in the block (Pos.Index), possibly across pages.
	var block []store.StoredEvent
	flush := func() error {
		if len(block) == 0 {
			return nil
		}
		evs := make([]store.Event, len(block))
		for i, e := range block {
			if e.Pos.Index != uint32(i) {
				return fmt.Errorf("group %s: block %d's event %d has index %d (a partial block)", g.Name, e.Pos.Seq, i, e.Pos.Index)
			}
			evs[i] = store.Event{Timestamp: e.Timestamp, Message: e.Message}
		}
		if err := dst.Import(ctx, g.Scope, g.Name, block[0].Stream, block[0].Pos.Seq, evs, block[0].IngestionTime); err != nil {
			return fmt.Errorf("group %s, block %d: %w", g.Name, block[0].Pos.Seq, err)
		}
		st.Blocks++
		st.Events += int64(len(evs))
		block = block[:0]
		return nil
	}
	after := uint64(0)
	for {
		page, err := src.ReadFeed(ctx, store.FeedRequest{Scope: g.Scope, Group: g.Name, After: after, Limit: 10_000})
		if err != nil {
			return err
		}
		for _, e := range page.Events {
			if len(block) > 0 && (e.Pos.Seq != block[0].Pos.Seq) {
				if err := flush(); err != nil {
					return err
				}
			}
			block = append(block, e)
		}
		if len(page.Events) == 0 || page.Next == after {
			break
		}
		after = page.Next
	}
	return flush()
}
