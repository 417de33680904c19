package accountpolicy

import (
	"context"
	"crypto/rand"
	"errors"

	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/store"
)

// The generation of an account's policies of one type: a record (kind
// genKind, named by the type) that every PutAccountPolicy and
// DeleteAccountPolicy overwrites with 16 new random bytes once the policy
// record is written or deleted, on whichever node. Effective, on the ingest
// path, reads the generation (one record, not a listing) and lists and
// decodes the type's policies again only when it differs from the one it
// read before its last listing (EffectiveFor, the ingest path's, reads the
// generation as of the batch's group, store.GetResourceAsOf, which the
// PostgreSQL engine answers from its cache):
//
//   - The generation is read before the listing, so a cached listing is at
//     least as new as the generation it is kept under: a change made after
//     that read writes another generation, which the next batch sees.
//   - A writer bumps after its policy write, so a reader that sees the new
//     generation lists a store that holds the new policy.
//   - Each bump is random, not a counter: two nodes bumping at once cannot
//     write the same value (a counter read and written back by both would),
//     so no change is hidden behind a generation already seen.
//
// A store written before generations existed has no record: its generation
// reads as empty, cached like any other until the first Put or Delete. (A
// node of an older build in the same cluster would change policies without
// bumping; nodes are to run one build.)

// GenerationKind is the generation records' kind: an engine with a
// resource cache caches it (the ingest path reads it every batch).
const GenerationKind = "accountPolicyGeneration"

type genCacheKey struct {
	scope      store.Scope
	policyType string
}

type genCached struct {
	gen      string
	policies []Policy
}

func genKey(scope store.Scope, policyType string) store.ResourceKey {
	return store.ResourceKey{Scope: scope, Kind: GenerationKind, Name: policyType}
}

// bump writes a new generation of scope's policies of policyType.
func (s *Service) bump(ctx context.Context, scope store.Scope, policyType string) error {
	var g [16]byte
	if _, err := rand.Read(g[:]); err != nil {
		return err
	}
	if err := s.st.PutResource(ctx, genKey(scope, policyType), g[:]); err != nil {
		return logs.StoreError(err)
	}
	return nil
}

// maxCached bounds the cache: one entry per account, region and type
// ingested into (each a listing of at most 41 policies); past it the cache
// starts again.
const maxCached = 4096

// listCached is list, from the cache when the generation has not changed
// since the listing kept. The generation is read as of g (an ingest
// batch's group: from the engine's resource cache, when it has one). The
// policies returned are shared: callers do not modify them.
func (s *Service) listCached(ctx context.Context, g store.Group, policyType string) ([]Policy, error) {
	scope := g.Scope
	v, err := store.GetResourceAsOf(ctx, s.st, g, genKey(scope, policyType))
	if err != nil && !errors.Is(err, store.ErrResourceNotFound) {
		return nil, logs.StoreError(err)
	}
	gen := string(v)
	k := genCacheKey{scope, policyType}
	s.cacheMu.Lock()
	c, ok := s.cached[k]
	s.cacheMu.Unlock()
	if ok && c.gen == gen {
		return c.policies, nil
	}
	all, err := s.list(ctx, scope, policyType)
	if err != nil {
		return nil, err
	}
	s.cacheMu.Lock()
	if s.cached == nil || len(s.cached) >= maxCached {
		s.cached = map[genCacheKey]genCached{}
	}
	s.cached[k] = genCached{gen: gen, policies: all}
	s.cacheMu.Unlock()
	return all, nil
}
