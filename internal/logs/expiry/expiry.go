// Package expiry makes per-append resource records expire with the events
// they belong to. Data protection keeps each append's unmasked originals,
// and the transformer each append's transformed versions, as resource
// records of the group named by the append's feed sequence (%020d). The
// engine's janitor reclaims a group's blocks past its retention (and a
// deleted stream's), but resource records live until the group is deleted,
// so without this package the originals of long-expired events would stay.
//
// Data flows: the owning package calls Note when it writes a record for a
// group (the first time per group and process, an index record under the
// empty scope names the group, since the engine lists resources per scope
// and group only); Sweep, run periodically by the server's worker (Start,
// Close), walks each indexed group's records in sequence order and deletes
// those whose append is gone from the feed (ReadFeed from just before it
// answers a later append), stopping at the first whose append is still
// there. Appends expire in about sequence order (retention goes by event
// time, and events arrive in about time order), so a pass costs one feed
// probe per expired record plus one per group; a record behind a still-live
// older append (events sent with old timestamps after newer ones) waits
// until that append expires too.
package expiry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cairnlog/cairn/internal/store"
)

// Sweeper expires one kind of per-append record.
type Sweeper struct {
	st     store.Store
	kind   string
	index  string
	log    *slog.Logger
	mu     sync.Mutex
	noted  map[string]bool // index names written by this process
	cancel context.CancelFunc
	done   chan struct{}
	closed sync.Once
}

// New returns a Sweeper for records of kind (named by feed sequence, %020d).
func New(st store.Store, kind string, log *slog.Logger) *Sweeper {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sweeper{st: st, kind: kind, index: kind + "Index", log: log, noted: map[string]bool{}}
}

func indexName(scope store.Scope, group string) string {
	return scope.Account + ":" + scope.Region + ":" + group
}

// Note records that group has records of the kind (cheap after the first
// call per group).
func (s *Sweeper) Note(ctx context.Context, scope store.Scope, group string) error {
	n := indexName(scope, group)
	s.mu.Lock()
	done := s.noted[n]
	s.mu.Unlock()
	if done {
		return nil
	}
	if err := s.st.PutResource(ctx, store.ResourceKey{Kind: s.index, Name: n}, []byte{}); err != nil {
		return err
	}
	s.mu.Lock()
	s.noted[n] = true
	s.mu.Unlock()
	return nil
}

// Sweep runs one pass and reports how many records it deleted.
func (s *Sweeper) Sweep(ctx context.Context) (int, error) {
	var names []string
	err := s.st.ListResources(ctx, store.ResourceKey{Kind: s.index}, "", "", func(n string, _ []byte) bool {
		names = append(names, n)
		return true
	})
	if err != nil {
		return 0, err
	}
	total := 0
	for _, n := range names {
		p := strings.SplitN(n, ":", 3)
		if len(p) != 3 {
			continue
		}
		d, err := s.sweepGroup(ctx, store.Scope{Account: p[0], Region: p[1]}, p[2])
		total += d
		if errors.Is(err, store.ErrGroupNotFound) {
			// The group is gone, and its records with it.
			s.mu.Lock()
			delete(s.noted, n)
			s.mu.Unlock()
			if err := s.st.DeleteResource(ctx, store.ResourceKey{Kind: s.index, Name: n}); err != nil && !errors.Is(err, store.ErrResourceNotFound) {
				return total, err
			}
			continue
		}
		if err != nil {
			return total, fmt.Errorf("expiring %s records of %s: %w", s.kind, p[2], err)
		}
	}
	return total, nil
}

func (s *Sweeper) sweepGroup(ctx context.Context, scope store.Scope, group string) (int, error) {
	deleted := 0
	after := ""
	for ctx.Err() == nil {
		name, found := "", false
		k := store.ResourceKey{Scope: scope, Group: group, Kind: s.kind}
		err := s.st.ListResources(ctx, k, "", after, func(n string, _ []byte) bool {
			name, found = n, true
			return false
		})
		if err != nil || !found {
			return deleted, err
		}
		after = name
		seq, err := strconv.ParseUint(name, 10, 64)
		if err != nil || seq == 0 {
			continue // not a per-append record
		}
		page, err := s.st.ReadFeed(ctx, store.FeedRequest{Scope: scope, Group: group, After: seq - 1, Limit: 1})
		if err != nil {
			return deleted, err
		}
		// The append is gone when the feed answers a later one, or nothing
		// while its high-water mark is past seq. Nothing with the mark
		// behind seq: not known gone (not visible yet).
		live := len(page.Events) > 0 && page.Events[0].Pos.Seq == seq
		unknown := len(page.Events) == 0 && page.Next < seq
		if live || unknown {
			return deleted, nil
		}
		k.Name = name
		if err := s.st.DeleteResource(ctx, k); err != nil && !errors.Is(err, store.ErrResourceNotFound) {
			return deleted, err
		}
		deleted++
	}
	return deleted, ctx.Err()
}

// Start runs Sweep every interval until Close.
func (s *Sweeper) Start(interval time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if n, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
					s.log.Warn("expiring per-append records failed; retrying on the next pass", "kind", s.kind, "err", err)
				} else if n > 0 {
					s.log.Debug("expired per-append records", "kind", s.kind, "records", n)
				}
			}
		}
	}()
}

// Close stops the periodic sweep and waits for it.
func (s *Sweeper) Close() error {
	s.closed.Do(func() {
		if s.cancel != nil {
			s.cancel()
			<-s.done
		}
	})
	return nil
}
