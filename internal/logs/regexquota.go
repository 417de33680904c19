package logs

import (
	"context"
	"encoding/json"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/store"
)

// SubscriptionFilterKind is the store resource kind of a log group's
// subscription filters (package logs/subscription writes them).
const SubscriptionFilterKind = "subscriptionFilter"

// MaxRegexFilters is AWS's quota of filter patterns holding a %regex% on
// one log group, metric and subscription filters together ("there is a
// limit of 5 filter patterns containing regex for each log group"). Every
// event of the group is matched against each of them; without the quota
// 100 metric filters of two regexes each multiplied the cost of a regex on
// every ingested event a hundredfold.
const MaxRegexFilters = 5

// RegexWork bounds the regex work of one request, in message bytes times
// the pattern's RE2 instructions (RegexCost): 2^28, about 0.7 s at the
// 2.6 ns per instruction per byte Go's regexp takes when every thread of
// its program stays alive ("%.{0,250}z%": 1.3 s on one 256 KB message). That
// cost is inherent to Go's regexp (no DFA; see pattern.Pattern.RegexCost);
// a tighter MaxRegexProgram would refuse patterns AWS accepts, and a budget
// per event would answer "no match" for events that match. So the bound is
// on what one request reads with a regex, where AWS's own semantics leave
// room: a FilterLogEvents page scans fewer bytes and returns early with a
// nextToken (RegexScanBudget), as AWS's pages may be partial or empty, and
// TestMetricFilter refuses samples above it (AWS documents no limit; its
// samples are meant to be a few lines). Metric and subscription filters run
// on every ingested event and are bounded per event by MaxRegexProgram and
// per group by MaxRegexFilters.
const RegexWork = 1 << 28

// RegexCost is p's RegexCost when it has one (package pattern's), else 0.
func RegexCost(p Pattern) int {
	r, ok := p.(interface{ RegexCost() int })
	if !ok {
		return 0
	}
	return r.RegexCost()
}

// RegexScanBudget is budget, the message bytes a FilterLogEvents page may
// examine, bounded so that p's regexes read at most RegexWork's worth. A
// page always examines at least one event, so paging makes progress.
func RegexScanBudget(budget int64, p Pattern) int64 {
	if c := RegexCost(p); c > 0 {
		return min(budget, RegexWork/int64(c))
	}
	return budget
}

// HasRegex reports whether p holds a %regex% (a pattern that says so
// through a HasRegex method: package pattern's).
func HasRegex(p Pattern) bool {
	r, ok := p.(interface{ HasRegex() bool })
	return ok && r.HasRegex()
}

// CheckRegexFilters answers LimitExceededException when p, the pattern of
// the filter kind/name being put on group, holds a regex and MaxRegexFilters
// of the group's other metric and subscription filters already do (the
// filter being replaced is not counted). Call it under the family's put
// lock; the two families' locks are distinct, so two concurrent Puts, one
// of each, may together pass the quota by one.
func CheckRegexFilters(ctx context.Context, st store.Store, compile func(string) (Pattern, error), scope store.Scope, group, kind, name string, p Pattern) error {
	if !HasRegex(p) {
		return nil
	}
	n := 0
	var bad error
	for _, k := range []string{MetricFilterKind, SubscriptionFilterKind} {
		err := st.ListResources(ctx, store.ResourceKey{Scope: scope, Group: group, Kind: k}, "", "", func(other string, v []byte) bool {
			if k == kind && other == name {
				return true
			}
			var rec struct {
				FilterPattern string `json:"filterPattern"`
			}
			if json.Unmarshal(v, &rec) != nil {
				return true
			}
			if q, err := compile(rec.FilterPattern); err == nil && HasRegex(q) {
				n++
			}
			return true
		})
		if err != nil {
			bad = err
			break
		}
	}
	if bad != nil {
		return StoreError(bad)
	}
	if n >= MaxRegexFilters {
		return awserr.ResourceLimitExceeded()
	}
	return nil
}
