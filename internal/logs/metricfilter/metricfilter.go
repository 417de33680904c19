// Package metricfilter is the metric-filter family of CloudWatch Logs
// operations (PutMetricFilter, DescribeMetricFilters, DeleteMetricFilter,
// TestMetricFilter) and the Counter that turns ingested events into metrics.
//
// Data flows in three steps:
//
//   - The operations validate a filter as AWS does (the model, the 100 per
//     group limit, the transformation's rules, ops.go and transform.go) and
//     keep it as a store resource record of its log group (kind
//     logs.MetricFilterKind), plus one account-less index record naming the
//     group, so the Counter finds every group with filters when it starts.
//   - The Counter (counter.go), a background worker owned by the server,
//     follows each such group's commit-ordered feed (store.ReadFeed, woken by
//     store.Subscribe), applies every filter to every event and adds to
//     in-memory counters. It persists a group's counters together with the
//     feed position they include in one resource record, so after a restart
//     it resumes from exactly what the counters hold: nothing is lost or
//     counted twice. A block (one append) is counted in one pass where it
//     can: the literals of the group's term and space-delimited filters
//     are found in all of the block's messages at once (blockScan; by AVX2
//     byte masks, maskscan.go), literal-only term filters are decided from
//     those answers a block at once, and the other filters run per event
//     on one shared view of the message (one JSON parse, one field split).
//   - Its Collect (collect.go) serves the counters to Prometheus through
//     package metrics (GET /metrics), one family per CloudWatch metric name.
//
// Like every family it registers typed functions with the protocol's Table
// (Register) and shares with the core (package logs) the caller, the pattern
// compiler and the error table.
package metricfilter

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
)

// Config configures a Service.
type Config struct {
	// Compile compiles filter patterns (package pattern), the same language
	// FilterLogEvents and Live Tail use.
	Compile func(expr string) (logs.Pattern, error)
	// Store keeps the filters; nil serves TestMetricFilter only.
	Store store.Store
	// Now is the clock (creation times); nil means time.Now.
	Now func() time.Time
	// Counter is told when a group's filters change; nil counts nothing
	// (tests of the operations alone).
	Counter *Counter
	Logger  *slog.Logger
}

// Service implements the metric-filter operations.
type Service struct {
	compile func(string) (logs.Pattern, error)
	st      store.Store
	now     func() time.Time
	counter *Counter
	// putMu serialises Put and Delete, so the 100-per-group limit holds
	// under concurrent Puts (a count and a write are not one transaction).
	putMu sync.Mutex
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{compile: cfg.Compile, st: cfg.Store, now: cfg.Now, counter: cfg.Counter}
}

// Register adds the family's operations to t.
func (s *Service) Register(t *protocol.Table) {
	t.Add("TestMetricFilter", protocol.Decoded(s.TestMetricFilter))
	if s.st == nil {
		return
	}
	t.Add("PutMetricFilter", s.putOperation())
	t.Add("DescribeMetricFilters", s.describeOperation())
	t.Add("DeleteMetricFilter", logs.GroupNameFirst(protocol.Decoded(s.DeleteMetricFilter)))
}

type TestMetricFilterInput struct {
	FilterPattern    string   `json:"filterPattern"`
	LogEventMessages []string `json:"logEventMessages"`
}

// TestMetricFilter runs a pattern over sample messages: how users check a
// pattern, and how Cairn's conformance tests compare with AWS.
//
// The model bounds the request to 1–50 messages of at least one character
// and the body limit to 8 MB; AWS documents no limit on one message. Cairn
// refuses a message longer than one PutLogEvents event may be (1,048,550
// bytes) with PutLogEvents' error: no log group can hold it, and a
// space-delimited pattern's answer for it grows with its fields (below).
//
// The answer is not built here: the output keeps which messages matched,
// and its encoder extracts their values again, one message at a time, as it
// writes them (testencode.go). A space-delimited pattern reports every field
// of a matching message ("$1", "$2", ...), so the answer to 7 MB of one-letter
// fields is ~55 MB of JSON; as maps of every message at once it drove the
// server's RSS to ~530 MB.
func (s *Service) TestMetricFilter(ctx context.Context, c caller.Caller, in *TestMetricFilterInput) (*TestMetricFilterOutput, error) {
	if err := c.Authorize("logs:TestMetricFilter", "*"); err != nil {
		return nil, err
	}
	p, err := logs.CompilePattern(s.compile, in.FilterPattern)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, msg := range in.LogEventMessages {
		if err := logs.CheckMessageSize(msg); err != nil {
			return nil, err
		}
		total += len(msg)
	}
	// A regex reads each byte at a cost up to its program's size: the
	// samples are bounded as a FilterLogEvents page is (logs.RegexWork).
	if c := logs.RegexCost(p); c > 0 && total > logs.RegexWork/c {
		return nil, awserr.SamplesTooCostly(total, logs.RegexWork/c)
	}
	enc := newMatchEncoder(p)
	out := &TestMetricFilterOutput{pattern: p, enc: enc, Matches: []MetricFilterMatchRecord{}}
	for i, msg := range in.LogEventMessages {
		if enc.match(msg) {
			out.Matches = append(out.Matches, MetricFilterMatchRecord{EventNumber: int64(i + 1), EventMessage: msg})
		}
	}
	return out, nil
}
