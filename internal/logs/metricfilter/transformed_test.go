package metricfilter_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

// TestApplyOnTransformedLogs: a metric filter created with
// applyOnTransformedLogs counts the transformed version of each event (the
// grok processor's fields as JSON: the value comes from $.ms); one created
// without it sees the stored original, on which the same JSON pattern never
// matches.
func TestApplyOnTransformedLogs(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := t.Context()
	group := "/app/grok"
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutTransformer(ctx, &cwl.PutTransformerInput{LogGroupIdentifier: aws.String(group), TransformerConfig: []types.Processor{
		{Grok: &types.Grok{Match: aws.String("%{WORD:level} took %{NUMBER:ms}")}}}}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name, metric string
		transformed  bool
	}{{"on-transformed", "SlowMs", true}, {"on-original", "OriginalMs", false}} {
		if _, err := c.PutMetricFilter(ctx, &cwl.PutMetricFilterInput{LogGroupName: aws.String(group), FilterName: aws.String(f.name),
			FilterPattern: aws.String(`{ $.level = "WARN" }`), ApplyOnTransformedLogs: f.transformed,
			MetricTransformations: []types.MetricTransformation{{MetricName: aws.String(f.metric), MetricNamespace: aws.String("App"),
				MetricValue: aws.String("$.ms")}}}); err != nil {
			t.Fatal(err)
		}
	}
	// An always-matching filter on the originals tells when counting is done.
	if _, err := c.PutMetricFilter(ctx, &cwl.PutMetricFilterInput{LogGroupName: aws.String(group), FilterName: aws.String("all"),
		FilterPattern: aws.String(""), MetricTransformations: []types.MetricTransformation{{MetricName: aws.String("Events"),
			MetricNamespace: aws.String("App"), MetricValue: aws.String("1")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	msgs := []string{"WARN took 120", "INFO took 5", "WARN took 30", "ERROR took 7"}
	evs := make([]types.InputLogEvent, len(msgs))
	for i, m := range msgs {
		evs[i] = types.InputLogEvent{Message: aws.String(m), Timestamp: aws.Int64(now + int64(i))}
	}
	if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
		t.Fatal(err)
	}
	harness.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if sum, _, _ := sample(scrape(t, h), "cairn_log_metric_events", map[string]string{"metric_name": "Events"}); sum != 4 {
			return fmt.Errorf("counted %v events", sum)
		}
		return nil
	})
	fams := scrape(t, h)
	// Two WARN events: 120 + 30 ms.
	if sum, count, ok := sample(fams, "cairn_log_metric_slow_ms", map[string]string{"metric_name": "SlowMs"}); !ok || sum != 150 || count != 2 {
		t.Errorf("SlowMs: sum %v count %v (present %v), want 150 over 2", sum, count, ok)
	}
	if sum, count, _ := sample(fams, "cairn_log_metric_original_ms", map[string]string{"metric_name": "OriginalMs"}); sum != 0 || count != 0 {
		t.Errorf("OriginalMs counted %v over %v, want nothing", sum, count)
	}
}
