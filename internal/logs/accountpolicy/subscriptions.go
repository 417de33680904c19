package accountpolicy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/cairnlog/cairn/internal/delivery"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/store"
)

// SUBSCRIPTION_FILTER_POLICY delivery.
//
// Subscriptions is the delivery manager's Source for account-level
// subscription policies: one delivery.Filter per (policy, log group it
// selects), named by the policy, with PolicyLevel "ACCOUNT_LEVEL_POLICY"
// (AWS's payload field for these) and its own cursor in each group
// (CursorPrefix + policy name), beside the group's own filters (AWS counts
// the account-level filter apart from the group's two).
//
// The engine lists groups per account and region only, so every scope with
// a subscription policy has an index record under the empty scope (kind
// kindIndex, name "account:region"), written by PutAccountPolicy and removed
// by DeleteAccountPolicy; Filters walks the index, then the groups of each
// scope. A policy applies to groups created later too: the source follows
// the store's appends and asks the manager to reload (Notify) when a group
// it has not seen yet grows. Where delivery starts in a group:
//   - a group that existed when the policy was put: at the feed's end then
//     (the follower sets its cursor at delivery.StartPosition when it finds
//     none), as for a group-level filter;
//   - a group created after the policy: from its first event (Filters sets
//     its cursor to 0 before the follower starts), so nothing it was sent
//     before the reload is missed.
//
// DeleteAccountPolicy removes the policy's cursors from the scope's groups,
// so a later policy of the same name starts afresh.
const (
	CursorPrefix = "accountpolicy:"
	PolicyLevel  = "ACCOUNT_LEVEL_POLICY"
	kindIndex    = "accountPolicyIndex"
)

// indexScope holds the index records: no account is empty.
var indexScope = store.Scope{}

// Subscriptions is the delivery.Source of SUBSCRIPTION_FILTER_POLICY
// policies. Start it (it follows appends) and Close it; the server owns it
// as a worker.
type Subscriptions struct {
	s      *Service
	target func(ctx context.Context, arn string) string

	mu     sync.RWMutex
	notify func()
	scopes map[store.Scope]bool // scopes with a subscription policy
	seen   map[groupKey]bool    // groups Filters looked at, selected or not
	unsub  func()
}

type groupKey struct {
	scope store.Scope
	group string
}

// Subscriptions returns the service's subscription-policy source. target
// resolves a destination ARN to where records go (a logs destination's
// target; the subscription family's Target); nil: the ARN itself.
func (s *Service) Subscriptions(target func(ctx context.Context, arn string) string) *Subscriptions {
	if target == nil {
		target = func(_ context.Context, arn string) string { return arn }
	}
	x := &Subscriptions{s: s, target: target, scopes: map[store.Scope]bool{}, seen: map[groupKey]bool{}}
	s.subs.Store(x)
	return x
}

// SetNotifier sets what is called when the filters changed (the delivery
// manager's Changed: it must not block).
func (x *Subscriptions) SetNotifier(fn func()) {
	x.mu.Lock()
	x.notify = fn
	x.mu.Unlock()
}

// Start follows the store's appends, to notice groups created after a
// policy.
func (x *Subscriptions) Start() { x.unsub = x.s.st.Subscribe(x.appended) }

// Close stops following appends.
func (x *Subscriptions) Close() error {
	if x.unsub != nil {
		x.unsub()
	}
	return nil
}

func (x *Subscriptions) changed() {
	x.mu.RLock()
	fn := x.notify
	x.mu.RUnlock()
	if fn != nil {
		fn()
	}
}

// appended asks for a reload when a group the source has not seen grows in
// a scope with a policy (store.Subscribe: must not block).
func (x *Subscriptions) appended(a store.Appended) {
	x.mu.RLock()
	need := x.scopes[a.Scope] && !x.seen[groupKey{a.Scope, a.Group}]
	fn := x.notify
	x.mu.RUnlock()
	if need && fn != nil {
		fn()
	}
}

// Filters implements delivery.Source.
func (x *Subscriptions) Filters(ctx context.Context) ([]delivery.Filter, error) {
	var scopes []store.Scope
	err := x.s.st.ListResources(ctx, store.ResourceKey{Scope: indexScope, Kind: kindIndex}, "", "", func(name string, _ []byte) bool {
		if acct, region, ok := strings.Cut(name, ":"); ok {
			scopes = append(scopes, store.Scope{Account: acct, Region: region})
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	var out []delivery.Filter
	have := map[store.Scope]bool{}
	seen := map[groupKey]bool{}
	for _, scope := range scopes {
		ps, err := x.s.list(ctx, scope, SubscriptionFilter)
		if err != nil {
			return nil, err
		}
		if len(ps) > 0 {
			have[scope] = true
		}
		for _, p := range ps {
			fs, err := x.policyFilters(ctx, scope, p, seen)
			if errors.Is(err, errStoredPattern) {
				// Stored policies compiled when put; one that no longer
				// does (a later build bounds what it accepts, as
				// pattern.MaxRegexProgram did) is skipped, not an error that
				// stops every account's delivery.
				x.s.log.Warn("subscription policies: a stored policy's filter pattern does not compile; skipped", "policy", p.PolicyName, "err", err)
				continue
			}
			if err != nil {
				return nil, err
			}
			out = append(out, fs...)
		}
	}
	x.mu.Lock()
	x.scopes, x.seen = have, seen
	x.mu.Unlock()
	return out, nil
}

// errStoredPattern marks a stored policy whose filter pattern does not
// compile (any more).
var errStoredPattern = errors.New("filter pattern does not compile")

// policyFilters is one policy's filters: one per group it selects.
func (x *Subscriptions) policyFilters(ctx context.Context, scope store.Scope, p Policy, seen map[groupKey]bool) ([]delivery.Filter, error) {
	var d subscriptionDoc
	if err := json.Unmarshal([]byte(p.PolicyDocument), &d); err != nil || d.DestinationArn == nil {
		return nil, fmt.Errorf("stored subscription policy %s: bad document", p.PolicyName)
	}
	text := deref(d.FilterPattern)
	pat, err := x.s.compile(text)
	if err != nil {
		return nil, fmt.Errorf("stored subscription policy %s: %w: %w", p.PolicyName, errStoredPattern, err)
	}
	dist := deref(d.Distribution)
	if dist == "" {
		dist = "ByLogStream"
	}
	base := delivery.Filter{Scope: scope, Name: p.PolicyName, Cursor: CursorPrefix + p.PolicyName, Pattern: pat, PatternText: text,
		DestinationARN: *d.DestinationArn, TargetARN: x.target(ctx, *d.DestinationArn), RoleARN: deref(d.RoleArn),
		Distribution: dist, PolicyLevel: PolicyLevel}
	sel := p.Selection()
	var groups []store.Group
	err = x.s.st.ListGroups(ctx, scope, "", "", func(g store.Group) bool {
		seen[groupKey{scope, g.Name}] = true
		if sel.Selects(g.Name) {
			groups = append(groups, g)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	out := make([]delivery.Filter, 0, len(groups))
	for _, g := range groups {
		if g.CreationTime >= p.LastUpdatedTime {
			// Created after the policy: everything it holds is the policy's.
			_, err := x.s.st.GetCursor(ctx, scope, g.Name, base.Cursor)
			if errors.Is(err, store.ErrCursorNotFound) {
				err = x.s.st.SetCursor(ctx, scope, g.Name, base.Cursor, 0)
			}
			if errors.Is(err, store.ErrGroupNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
		}
		f := base
		f.Group = g.Name
		// A space-delimited pattern's fields (an account policy has no
		// emitSystemFields).
		f.Fields = delivery.NewFields(pat, nil, scope, g.Name)
		out = append(out, f)
	}
	return out, nil
}

// subscriptionPut records that scope has a subscription policy and tells
// the manager.
func (s *Service) subscriptionPut(ctx context.Context, scope store.Scope) error {
	if err := s.st.PutResource(ctx, indexKey(scope), []byte{}); err != nil {
		return logs.StoreError(err)
	}
	if x := s.subscriptions(); x != nil {
		x.changed()
	}
	return nil
}

// subscriptionDeleted drops the policy's cursors and, the scope having no
// subscription policy left (AWS allows one), its index record.
func (s *Service) subscriptionDeleted(ctx context.Context, scope store.Scope, name string) error {
	var groups []string
	err := s.st.ListGroups(ctx, scope, "", "", func(g store.Group) bool { groups = append(groups, g.Name); return true })
	if err != nil {
		return logs.StoreError(err)
	}
	for _, g := range groups {
		err := s.st.DeleteCursor(ctx, scope, g, CursorPrefix+name)
		if err != nil && !errors.Is(err, store.ErrCursorNotFound) && !errors.Is(err, store.ErrGroupNotFound) {
			return logs.StoreError(err)
		}
	}
	left, err := s.list(ctx, scope, SubscriptionFilter)
	if err != nil {
		return err
	}
	if len(left) == 0 {
		if err := s.st.DeleteResource(ctx, indexKey(scope)); err != nil && !errors.Is(err, store.ErrResourceNotFound) {
			return logs.StoreError(err)
		}
	}
	if x := s.subscriptions(); x != nil {
		x.changed()
	}
	return nil
}

func (s *Service) subscriptions() *Subscriptions { return s.subs.Load() }

func indexKey(scope store.Scope) store.ResourceKey {
	return store.ResourceKey{Scope: indexScope, Kind: kindIndex, Name: scope.Account + ":" + scope.Region}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
