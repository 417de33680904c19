package embedded

import (
	"context"
	"math"
	"strings"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairnlog/cairn/internal/store"
)

// What a block's summary alone rules out, for Read and Scan alike: a time
// range that misses the request's, a stream it does not select, and a Bloom
// filter that lacks a gram the request's filter requires.

// selection is what a read or scan selects in one group, resolved against
// the group once.
type selection struct {
	g          *group
	allowed    map[uint64]string // nil: every stream whose name has prefix
	single     *stream           // the one selected stream: walk its index
	prefix     string
	start, end int64 // [start, end), narrowed by retention
}

// selectIn resolves streams, prefix and [start, end) (end 0: no bound) in
// g; nil when g can hold nothing they select. Named streams must also have
// the prefix when both are given (the service never sends both).
func (e *Engine) selectIn(g *group, streams []string, prefix string, start, end int64) (*selection, error) {
	sel := &selection{g: g, prefix: prefix, start: start, end: end}
	if sel.end <= 0 {
		sel.end = math.MaxInt64
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.deleted {
		return nil, store.ErrGroupNotFound
	}
	if days := g.info.RetentionDays; days > 0 {
		sel.start = max(sel.start, e.cfg.Now().UnixMilli()-int64(days)*86_400_000)
	}
	if len(streams) > 0 {
		sel.allowed = make(map[uint64]string, len(streams))
		for _, n := range streams {
			if s := g.streams[n]; s != nil && strings.HasPrefix(n, prefix) {
				sel.allowed[s.id] = n
				sel.single = s
			}
		}
		if len(sel.allowed) == 0 {
			return nil, nil
		}
		if len(sel.allowed) != 1 {
			sel.single = nil
		}
	}
	if sel.start >= sel.end {
		return nil, nil
	}
	return sel, nil
}

// admit checks what s alone can rule out; filtered says the gram filter
// did (Read counts only those as skipped).
func (sel *selection) admit(s summary, grams gramFilter) (stream string, ok, filtered bool) {
	if s.maxTs < sel.start || s.minTs >= sel.end {
		return "", false, false
	}
	name, ok := sel.streamName(s.sid)
	if !ok {
		return "", false, false
	}
	if !grams.mayMatch(s) {
		return "", false, true
	}
	return name, true, false
}

// skippedShare estimates the events and message bytes of a block inside
// [start, end), taking them as spread evenly over the block's time span:
// what ruling the block out saved.
func (sel *selection) skippedShare(s summary) (events, bytes int64) {
	lo, hi := max(s.minTs, sel.start), s.maxTs
	if sel.end > 0 {
		hi = min(hi, sel.end-1)
	}
	span := s.maxTs - s.minTs + 1
	if hi < lo || span <= 0 {
		return 0, 0
	}
	part := float64(hi-lo+1) / float64(span)
	return int64(math.Round(float64(s.count) * part)), int64(math.Round(float64(s.rawBytes) * part))
}

func (sel *selection) streamName(sid uint64) (string, bool) {
	if sel.allowed != nil {
		n, ok := sel.allowed[sid]
		return n, ok
	}
	sel.g.mu.RLock()
	s := sel.g.byID[sid]
	sel.g.mu.RUnlock()
	if s == nil || !strings.HasPrefix(s.name, sel.prefix) {
		return "", false
	}
	return s.name, true
}

// blockIter walks a selection's summaries in key order: the group's, or the
// one selected stream's index entries.
type blockIter struct {
	it     *pebble.Iterator
	decode func(k, v []byte) (summary, error)
	// lower is the first key whose block may hold an event at or after
	// start: start − maxSpan, the group's widest block so far.
	lower   []byte
	maxSpan int64
}

func (e *Engine) openBlocks(ctx context.Context, sel *selection) (blockIter, error) {
	var bi blockIter
	var prefix []byte
	if s := sel.single; s != nil {
		prefix = u64key(tagIndex, sel.g.id, s.id)
		bi.decode = func(k, v []byte) (summary, error) { return decodeIndex(k, v, s.id) }
	} else {
		prefix = u64key(tagSummary, sel.g.id)
		bi.decode = decodeSummary
	}
	upper := prefixEnd(prefix)
	if sel.end != math.MaxInt64 {
		upper = u64keyAppend(prefix, uint64(clampTime(sel.end)))
	}
	var err error
	bi.it, err = e.db.NewIterWithContext(ctx, &pebble.IterOptions{
		LowerBound: u64keyAppend(prefix, uint64(clampTime(sel.start-maxBlockSpan))),
		UpperBound: upper,
	})
	if err != nil {
		return blockIter{}, err
	}
	// Read the span after the iterator exists: Append raises it before it
	// commits, so every block this iterator can see is covered.
	bi.maxSpan = min(sel.g.maxSpan.Load(), maxBlockSpan)
	bi.lower = u64keyAppend(prefix, uint64(clampTime(sel.start-bi.maxSpan)))
	return bi, nil
}

// gramFilter is what a request's filter requires of a block's Bloom filter.
type gramFilter struct{ need, needUnlessEscaped gramQuery }

func newGramFilter(f store.Matcher) gramFilter {
	if f == nil {
		return gramFilter{}
	}
	return gramFilter{newGramQuery(f.Required()), newGramQuery(f.RequiredUnlessEscaped())}
}

// mayMatch reports whether s's block may hold a match; a block with
// backslashes may hold escaped literals, which only need must find.
func (q gramFilter) mayMatch(s summary) bool {
	return s.filter == nil || q.need.mayContain(s.filter) && (s.flags&flagBackslash != 0 || q.needUnlessEscaped.mayContain(s.filter))
}
