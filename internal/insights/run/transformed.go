package run

import (
	"context"

	"github.com/cairnlog/cairn/internal/store"
)

// Transformed versions. A group with a log transformer keeps, beside each
// stored (original) event, its transformed version, and Logs Insights reads
// that one: "If you are using log transformation, the GetLogEvents operation
// returns only the original versions of log events ... To view the
// transformed versions, you must use a CloudWatch Logs query" (the API
// reference of GetLogEvents and FilterLogEvents), and PutTransformer's
// "refer to the transformed versions of the logs during operations such as
// querying with CloudWatch Logs Insights". So a query sees, as @message and
// as the fields it discovers, the transformed event (a JSON object), for
// every event that has one; events ingested before the group had a
// transformer are read as they were stored.
//
// The query's pushed-down filter is a necessary condition on the message it
// reads; for a group with transformed versions the engine's filter would
// test the original instead, so such groups are scanned unfiltered and the
// filter is applied here, to the transformed text.

// TransformedView is what the Manager needs of the transformer family
// (Config.Transformed).
type TransformedView interface {
	// Transforms reports whether group has transformed versions to read (or
	// a transformer that may write some while the query runs).
	Transforms(ctx context.Context, scope store.Scope, group string) (bool, error)
	// Transformed returns the transformed versions of the events of the
	// append seq (the version of an event of it, and whether it has one),
	// or nil when it was not transformed.
	Transformed(ctx context.Context, scope store.Scope, group string, seq uint64) (func(store.StoredEvent) (string, bool), error)
}

// transformedView wraps add so that blocks of q's groups with transformed
// versions reach the Exec transformed and filtered, and returns the filter
// the engine may apply (nil when any group is read transformed) and a
// function that tells, once the scan ended, whether reading a transformed
// version failed (the wrapped add then stopped the scan).
func (m *Manager) transformedView(ctx context.Context, q *query, add func(store.ScanBlock) bool) (func(store.ScanBlock) bool, store.Matcher, func() error, error) {
	tv := m.cfg.Transformed
	none := func() error { return nil }
	if tv == nil || q.noMsgs {
		// A query that reads no message reads the same of either version.
		return add, q.filter, none, nil
	}
	groups := map[string]bool{}
	for _, g := range q.Groups {
		yes, err := tv.Transforms(ctx, q.scope, g)
		if err != nil {
			return nil, nil, none, err
		}
		if yes {
			groups[g] = true
		}
	}
	if len(groups) == 0 {
		return add, q.filter, none, nil
	}
	var failed error
	wrapped := func(b store.ScanBlock) bool {
		if groups[b.Group] {
			// A block may hold events of several appends, interleaved
			// (the engine's re-compaction merges appends sorted by
			// time), as may a page of readNewest: substitute reads each
			// append's versions once per block.
			evs, err := substitute(ctx, tv, q.scope, b.Group, b.Events)
			if err != nil {
				failed = err
				return false
			}
			b.Events = evs
		}
		if q.filter != nil {
			kept := b.Events[:0:0]
			for _, ev := range b.Events {
				if q.filter.Match(ev.Message) {
					kept = append(kept, ev)
				}
			}
			if len(kept) == 0 {
				return true
			}
			b.Events = kept
		}
		return add(b)
	}
	return wrapped, nil, func() error { return failed }, nil
}

// Transform returns evs (events of group) with their transformed versions
// in place of the stored messages where they have one (a copy; evs is left
// as it is): for the Insights operations that read events outside a query,
// GetLogRecord and GetLogGroupFields, so that they show what a query sees.
func (m *Manager) Transform(ctx context.Context, scope store.Scope, group string, evs []store.StoredEvent) ([]store.StoredEvent, error) {
	if m == nil || m.cfg.Transformed == nil || len(evs) == 0 {
		return evs, nil
	}
	tv := m.cfg.Transformed
	if yes, err := tv.Transforms(ctx, scope, group); err != nil || !yes {
		return evs, err
	}
	return substitute(ctx, tv, scope, group, evs)
}

// substitute returns a copy of evs with each event's transformed version,
// where its append has one, as Message. Each append's versions are read
// once: evs may interleave several appends event by event (a re-compacted
// block is sorted by time, not by append), and a read fetches and decodes
// the whole append's record, so the versions are kept by seq for the call
// (as many as evs has distinct seqs, dropped when it returns).
func substitute(ctx context.Context, tv TransformedView, scope store.Scope, group string, evs []store.StoredEvent) ([]store.StoredEvent, error) {
	out := make([]store.StoredEvent, len(evs))
	copy(out, evs)
	bySeq := map[uint64]func(store.StoredEvent) (string, bool){}
	for i := range out {
		seq := out[i].Pos.Seq
		tr, ok := bySeq[seq]
		if !ok {
			var err error
			if tr, err = tv.Transformed(ctx, scope, group, seq); err != nil {
				return nil, err
			}
			bySeq[seq] = tr
		}
		if tr == nil {
			continue
		}
		if v, ok := tr(out[i]); ok {
			out[i].Message = v
		}
	}
	return out, nil
}
