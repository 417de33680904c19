package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/cairnlog/cairn/internal/harness"
)

// TestServerMetrics: /metrics counts calls by operation and error code,
// their latency, and what was ingested, against what the test sent.
func TestServerMetrics(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := context.Background()
	c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("g")})
	c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")})
	events, bytes := 0, 0
	for i := 0; i < 3; i++ {
		msg := fmt.Sprintf("message number %d", i)
		if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"),
			LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String(msg)}, {Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String(msg)}}}); err != nil {
			t.Fatal(err)
		}
		events, bytes = events+2, bytes+2*len(msg)
	}
	for i := 0; i < 2; i++ {
		c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("g")}) // ResourceAlreadyExistsException
	}
	// One Logs Insights query, run to its end.
	q, err := c.StartQuery(ctx, &cwl.StartQueryInput{LogGroupName: aws.String("g"), QueryString: aws.String("stats count()"),
		StartTime: aws.Int64(time.Now().Add(-time.Hour).Unix()), EndTime: aws.Int64(time.Now().Add(time.Minute).Unix())})
	if err != nil {
		t.Fatal(err)
	}
	harness.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		r, err := c.GetQueryResults(ctx, &cwl.GetQueryResultsInput{QueryId: q.QueryId})
		if err != nil {
			return err
		}
		if r.Status != types.QueryStatusComplete {
			return fmt.Errorf("query %s", r.Status)
		}
		return nil
	})
	resp, err := h.HTTPClient().Get(h.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("content type %q", ct)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	val := func(family string, labels map[string]string) *dto.Metric {
		t.Helper()
		f := fams[family]
		if f == nil {
			t.Fatalf("no family %s", family)
		}
	next:
		for _, m := range f.Metric {
			got := map[string]string{}
			for _, l := range m.Label {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			return m
		}
		t.Fatalf("%s has no series %v", family, labels)
		return nil
	}
	if v := val("cairn_api_requests_total", map[string]string{"operation": "PutLogEvents", "error_code": ""}).Counter.GetValue(); v != 3 {
		t.Errorf("PutLogEvents calls: %v", v)
	}
	if v := val("cairn_api_requests_total", map[string]string{"operation": "CreateLogGroup", "error_code": "ResourceAlreadyExistsException"}).Counter.GetValue(); v != 2 {
		t.Errorf("CreateLogGroup failures: %v", v)
	}
	if v := val("cairn_api_request_duration_seconds", map[string]string{"operation": "PutLogEvents"}).Histogram.GetSampleCount(); v != 3 {
		t.Errorf("PutLogEvents latencies: %v", v)
	}
	if v := val("cairn_ingested_events_total", nil).Counter.GetValue(); v != float64(events) {
		t.Errorf("events: %v, want %d", v, events)
	}
	if v := val("cairn_ingested_bytes_total", nil).Counter.GetValue(); v != float64(bytes) {
		t.Errorf("bytes: %v, want %d", v, bytes)
	}
	if v := val("cairn_store_disk_bytes", nil).Gauge.GetValue(); v <= 0 {
		t.Errorf("disk bytes: %v", v)
	}
	if v := val("cairn_live_tail_sessions", nil).Gauge.GetValue(); v != 0 {
		t.Errorf("live tail sessions: %v", v)
	}
	if v := val("cairn_insights_queries_total", map[string]string{"status": "Complete"}).Counter.GetValue(); v != 1 {
		t.Errorf("completed queries: %v, want 1", v)
	}
	if v := val("cairn_insights_queries_running", nil).Gauge.GetValue(); v != 0 {
		t.Errorf("running queries: %v, want 0", v)
	}
	// The write-ahead log holds the appends above; the LSM series exist.
	if v := val("cairn_store_wal_written_bytes_total", nil).Counter.GetValue(); v < float64(bytes) {
		t.Errorf("WAL bytes written: %v, want at least the %d message bytes", v, bytes)
	}
	for _, f := range []string{"cairn_store_compactions_total", "cairn_store_flushes_total", "cairn_store_wal_files", "cairn_store_read_amplification"} {
		val(f, nil)
	}
}
