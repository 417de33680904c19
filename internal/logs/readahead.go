package logs

import (
	"context"
	"strconv"

	"github.com/cairnlog/cairn/internal/store"
)

// FilterLogEvents' read-ahead (package readahead). After answering a page
// with a nextToken, the service offers the next page's read to the Cache
// under a key naming everything its answer depends on: the store request
// (account, region, group, streams or prefix, range, direction, position,
// limits, scan budget) and the filter pattern's text, from which the
// request's Filter is compiled. The read stamp is taken before the offer;
// the prepared page is served only while the stamp is unchanged, that is,
// while nothing that could change the answer happened to the group
// (store.ReadVersioner), and only to a request that passed the same
// authorization as any other (FilterLogEvents authorizes before it looks).
// Pages with unmask=true are never read ahead.

// readAheadKey names q's answer with pattern as its filter.
func readAheadKey(q store.ReadRequest, pattern string) string {
	b := make([]byte, 0, 128+len(pattern)+len(q.StreamPrefix))
	str := func(s string) { b = strconv.AppendQuote(b, s); b = append(b, ' ') }
	num := func(n int64) { b = strconv.AppendInt(b, n, 10); b = append(b, ' ') }
	str(q.Group.Account)
	str(q.Group.Region)
	str(q.Name)
	num(int64(len(q.Streams)))
	for _, n := range q.Streams {
		str(n)
	}
	str(q.StreamPrefix)
	num(q.Start)
	num(q.End)
	if q.After == nil {
		b = append(b, "- "...)
	} else {
		num(q.After.Time)
		b = strconv.AppendUint(b, q.After.Seq, 10)
		b = append(b, ' ')
		num(int64(q.After.Index))
	}
	b = strconv.AppendBool(b, q.Backward)
	b = append(b, ' ')
	num(int64(q.Limit))
	num(int64(q.MaxBytes))
	num(q.ScanBudget)
	str(pattern)
	return string(b)
}

// readAhead offers the page after out (q's answer) to the read-ahead Cache.
func (s *Service) readAhead(q store.ReadRequest, pattern string, out *FilterLogEventsOutput) {
	if out.NextToken == "" {
		return
	}
	backward, p, err := parseFilterToken(out.NextToken)
	if err != nil {
		return
	}
	next := q
	next.Backward, next.After = backward, &p
	stamp, ok := s.versions.ReadVersion(next)
	if !ok {
		return
	}
	s.ahead.Offer(readAheadKey(next, pattern), func(ctx context.Context) (*FilterLogEventsOutput, error) {
		// The page only, not its encoding: encoding ahead into a buffer of
		// its own, then copying, was slower (docs/benchmarks.md, read10).
		return s.filterPage(ctx, next, nil)
	}, func() bool {
		now, ok := s.versions.ReadVersion(next)
		return ok && now == stamp
	})
}
