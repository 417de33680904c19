package metricfilter_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

// BenchmarkIngestWithMetricFilters measures PutLogEvents (1,000 events of
// ~100 bytes per request, sequential, SigV4, durable) into a group with 0
// or 10 metric filters, until every event has been counted: the ingest cost
// of counting (docs/benchmarks.md). The filters mix the kinds users write:
// terms, JSON with a value and a dimension, space-delimited with a value.
func BenchmarkIngestWithMetricFilters(b *testing.B) {
	for _, n := range []int{0, 10} {
		b.Run(fmt.Sprintf("filters=%d", n), func(b *testing.B) {
			h := harness.Start(b)
			c := h.Client()
			ctx := context.Background()
			createGroup(b, c, "bench")
			c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("bench"), LogStreamName: aws.String("s")})
			patterns := []struct {
				pattern, value string
				dims           map[string]string
			}{
				{"ERROR", "1", nil}, {"WARN", "1", nil}, {"timeout", "1", nil},
				{`{ $.level = "error" }`, "1", nil}, {`{ $.status >= 500 }`, "1", map[string]string{"Path": "$.path"}},
				{`{ $.latency > 100 }`, "$.latency", nil}, {`{ $.level = "info" }`, "$.latency", map[string]string{"Level": "$.level"}},
				{"[ip, user, status=5*, bytes]", "$bytes", nil}, {"?ERROR ?FATAL", "1", nil}, {`"user login"`, "1", nil},
			}
			for i := 0; i < n; i++ {
				p := patterns[i]
				if _, err := c.PutMetricFilter(ctx, &cwl.PutMetricFilterInput{LogGroupName: aws.String("bench"), FilterName: aws.String(fmt.Sprint("f", i)),
					FilterPattern: aws.String(p.pattern), MetricTransformations: []types.MetricTransformation{{MetricName: aws.String(fmt.Sprint("M", i)),
						MetricNamespace: aws.String("Bench"), MetricValue: aws.String(p.value), Dimensions: p.dims}}}); err != nil {
					b.Fatal(err)
				}
			}
			// A filter counting every event tells when counting caught up.
			if n > 0 {
				c.PutMetricFilter(ctx, &cwl.PutMetricFilterInput{LogGroupName: aws.String("bench"), FilterName: aws.String("all"), FilterPattern: aws.String(""),
					MetricTransformations: []types.MetricTransformation{{MetricName: aws.String("All"), MetricNamespace: aws.String("Bench"), MetricValue: aws.String("1")}}})
			}
			msgs := []string{
				`{"level":"info","status":200,"path":"/api/v1/items","latency":42,"user":"u123"}`,
				`{"level":"error","status":503,"path":"/api/v1/orders","latency":310,"user":"u9"}`,
				`10.1.2.3 alice 200 5123 GET /index.html HTTP/1.1 Mozilla/5.0 (X11; Linux x86_64)`,
				`2026-02-05T16:26:17Z WARN cache miss for key session:8812 after 3 retries, falling back`,
				`2026-02-05T16:26:18Z ERROR upstream timeout contacting payments after 3000 ms retrying`,
			}
			evs := make([]types.InputLogEvent, 1000)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				now := time.Now().UnixMilli()
				for j := range evs {
					evs[j] = types.InputLogEvent{Timestamp: aws.Int64(now), Message: aws.String(msgs[(i+j)%len(msgs)])}
				}
				if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("bench"), LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
					b.Fatal(err)
				}
			}
			if n > 0 {
				harness.CheckFor(b, time.Minute, 5*time.Millisecond, func() error {
					_, count, _ := sample(scrape(b, h), "cairn_log_metric_all", nil)
					if count != float64(b.N*len(evs)) {
						return fmt.Errorf("counted %v of %d", count, b.N*len(evs))
					}
					return nil
				})
			}
			b.ReportMetric(float64(b.N*len(evs))/time.Since(start).Seconds(), "events/s")
		})
	}
}
