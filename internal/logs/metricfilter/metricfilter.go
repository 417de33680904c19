// Package metricfilter is the metric-filter family of CloudWatch Logs
// operations: today TestMetricFilter; PutMetricFilter, DescribeMetricFilters
// and DeleteMetricFilter (kept as store resource records, applied by a worker
// that follows the commit-ordered feed) belong here too.
//
// Like every family it registers typed functions with the protocol's Table
// (Register) and shares with the core (package logs) the caller, the pattern
// compiler and the error table; background work calls the same functions
// directly with a caller.Caller.
package metricfilter

import (
	"context"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/protocol"
)

// Config configures a Service.
type Config struct {
	// Compile compiles filter patterns (package pattern), the same language
	// FilterLogEvents and Live Tail use.
	Compile func(expr string) (logs.Pattern, error)
}

// Service implements the metric-filter operations.
type Service struct {
	compile func(string) (logs.Pattern, error)
}

// New returns a Service.
func New(cfg Config) *Service { return &Service{compile: cfg.Compile} }

// Register adds the family's operations to t.
func (s *Service) Register(t *protocol.Table) {
	t.Add("TestMetricFilter", protocol.Decoded(s.TestMetricFilter))
}

type TestMetricFilterInput struct {
	FilterPattern    string   `json:"filterPattern"`
	LogEventMessages []string `json:"logEventMessages"`
}

type MetricFilterMatchRecord struct {
	EventNumber     int64             `json:"eventNumber"`
	EventMessage    string            `json:"eventMessage"`
	ExtractedValues map[string]string `json:"extractedValues"`
}

type TestMetricFilterOutput struct {
	Matches []MetricFilterMatchRecord `json:"matches"`
}

// TestMetricFilter runs a pattern over sample messages: how users check a
// pattern, and how Cairn's conformance tests compare with AWS.
func (s *Service) TestMetricFilter(ctx context.Context, c caller.Caller, in *TestMetricFilterInput) (*TestMetricFilterOutput, error) {
	if err := c.Authorize("logs:TestMetricFilter", "*"); err != nil {
		return nil, err
	}
	p, err := logs.CompilePattern(s.compile, in.FilterPattern)
	if err != nil {
		return nil, err
	}
	out := &TestMetricFilterOutput{Matches: []MetricFilterMatchRecord{}}
	for i, msg := range in.LogEventMessages {
		ok, vals := p.Extract(msg)
		if !ok {
			continue
		}
		if vals == nil {
			vals = map[string]string{}
		}
		out.Matches = append(out.Matches, MetricFilterMatchRecord{EventNumber: int64(i + 1), EventMessage: msg, ExtractedValues: vals})
	}
	return out, nil
}
