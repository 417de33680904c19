package metricfilter_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

// accountOf is the account of the client's caller, read from a group's ARN.
func accountOf(t *testing.T, c *cwl.Client, group string) string {
	t.Helper()
	out, err := c.DescribeLogGroups(t.Context(), &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(group)})
	if err != nil || len(out.LogGroups) == 0 {
		t.Fatalf("describe %s: %v", group, err)
	}
	return strings.Split(aws.ToString(out.LogGroups[0].Arn), ":")[4]
}

// TestFieldSelectionCriteria: PutMetricFilter takes fieldSelectionCriteria
// (a model member since 2025), refuses text outside its language with
// InvalidParameterException, answers it back verbatim, and counts only the
// events it selects: every event of a group carries the group's account and
// region as @aws.account and @aws.region.
func TestFieldSelectionCriteria(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := t.Context()
	const group = "/app/sel"
	createGroup(t, c, group)
	acct := accountOf(t, c, group)
	put := func(name, metric, criteria string) error {
		in := &cwl.PutMetricFilterInput{LogGroupName: aws.String(group), FilterName: aws.String(name), FilterPattern: aws.String(""),
			MetricTransformations: []types.MetricTransformation{{MetricName: aws.String(metric), MetricNamespace: aws.String("Sel"), MetricValue: aws.String("1")}}}
		if criteria != "" {
			in.FieldSelectionCriteria = aws.String(criteria)
		}
		_, err := c.PutMetricFilter(ctx, in)
		return err
	}
	here := `@aws.region = "us-east-1" AND @aws.account IN ["` + acct + `", "999999999999"]`
	elsewhere := `@aws.region = "eu-west-1" OR @aws.account NOT IN ["` + acct + `"]`
	for _, f := range [][3]string{{"here", "Here", here}, {"elsewhere", "Elsewhere", elsewhere}, {"all", "Events", ""}} {
		if err := put(f[0], f[1], f[2]); err != nil {
			t.Fatalf("%s: %v", f[0], err)
		}
	}

	bad := func(criteria, msg string) {
		t.Helper()
		wantErr(t, put("bad", "Bad", criteria), "InvalidParameterException", msg)
	}
	bad(`@source.log = "x"`, "Invalid fieldSelectionCriteria: unsupported system field @source.log; supported fields are @aws.account, @aws.region")
	bad(`@aws.region = us-east-1`, "Invalid fieldSelectionCriteria: expected a double-quoted string after @aws.region =")
	bad(`@aws.region IN []`, "Invalid fieldSelectionCriteria: the list must not be empty")
	long := `@aws.region IN ["` + strings.Repeat("r", 1990) + `"]`
	bad(long, "1 validation error detected: Value '"+long+"' at 'fieldSelectionCriteria' failed to satisfy constraint: Member must have length less than or equal to 2000")

	// Answered back as given, only where given; the stored-only members
	// never reach the wire.
	r := h.Call(t, "DescribeMetricFilters", []byte(`{"logGroupName":"`+group+`"}`))
	if r.Status != 200 || bytes.Contains(r.Body, []byte(`"stored"`)) {
		t.Fatalf("describe: %s", r.Body)
	}
	var out struct {
		MetricFilters []map[string]any `json:"metricFilters"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil || len(out.MetricFilters) != 3 {
		t.Fatalf("describe: %s", r.Body)
	}
	want := map[string]any{"all": nil, "elsewhere": elsewhere, "here": here}
	for _, f := range out.MetricFilters {
		if got := f["fieldSelectionCriteria"]; got != want[f["filterName"].(string)] {
			t.Errorf("%s: fieldSelectionCriteria %v, want %v", f["filterName"], got, want[f["filterName"].(string)])
		}
	}

	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	evs := []types.InputLogEvent{{Message: aws.String("a"), Timestamp: aws.Int64(now)}, {Message: aws.String("b"), Timestamp: aws.Int64(now + 1)}}
	if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
		t.Fatal(err)
	}
	harness.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if sum, _, _ := sample(scrape(t, h), "cairn_log_metric_events", map[string]string{"metric_name": "Events"}); sum != 2 {
			return fmt.Errorf("counted %v events", sum)
		}
		return nil
	})
	fams := scrape(t, h)
	if sum, _, _ := sample(fams, "cairn_log_metric_here", map[string]string{"metric_name": "Here"}); sum != 2 {
		t.Errorf("Here counted %v, want 2", sum)
	}
	if sum, _, ok := sample(fams, "cairn_log_metric_elsewhere", map[string]string{"metric_name": "Elsewhere"}); ok || sum != 0 {
		t.Errorf("Elsewhere counted %v (present %v), want nothing", sum, ok)
	}
}

// TestReplacementKeepsCreationTime: a second PutMetricFilter of a name keeps
// the filter's creationTime (as PutSubscriptionFilter does), yet the
// Counter takes it for a new definition: its counts start again and events
// ingested before the replacement are not the new definition's.
func TestReplacementKeepsCreationTime(t *testing.T) {
	clock := harness.NewClock(time.Now())
	h := harness.Start(t, harness.WithClock(clock.Now))
	c := h.Client()
	ctx := t.Context()
	const group = "/app/replace"
	createGroup(t, c, group)
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	put := func(metric string) {
		t.Helper()
		if _, err := c.PutMetricFilter(ctx, &cwl.PutMetricFilterInput{LogGroupName: aws.String(group), FilterName: aws.String("f"), FilterPattern: aws.String("ERROR"),
			MetricTransformations: []types.MetricTransformation{{MetricName: aws.String(metric), MetricNamespace: aws.String("R"), MetricValue: aws.String("1")}}}); err != nil {
			t.Fatal(err)
		}
	}
	created := func() int64 {
		t.Helper()
		out, err := c.DescribeMetricFilters(ctx, &cwl.DescribeMetricFiltersInput{LogGroupName: aws.String(group)})
		if err != nil || len(out.MetricFilters) != 1 {
			t.Fatalf("describe: %+v %v", out, err)
		}
		return aws.ToInt64(out.MetricFilters[0].CreationTime)
	}
	send := func(n int) {
		t.Helper()
		evs := make([]types.InputLogEvent, n)
		for i := range evs {
			evs[i] = types.InputLogEvent{Message: aws.String("ERROR x"), Timestamp: aws.Int64(clock.Now().UnixMilli())}
		}
		if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
			t.Fatal(err)
		}
	}
	wait := func(family, metric string, want float64) {
		t.Helper()
		harness.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
			if sum, _, _ := sample(scrape(t, h), family, map[string]string{"metric_name": metric}); sum != want {
				return fmt.Errorf("%s counted %v, want %v", metric, sum, want)
			}
			return nil
		})
	}
	put("First")
	first := created()
	if first != clock.Now().UnixMilli() {
		t.Fatalf("creationTime %d, want the clock's %d", first, clock.Now().UnixMilli())
	}
	send(2)
	wait("cairn_log_metric_first", "First", 2)

	clock.Add(2 * time.Second) // within the signature window the clock also judges
	put("Second")
	if got := created(); got != first {
		t.Fatalf("creationTime after the replacement %d, want %d", got, first)
	}
	send(1)
	wait("cairn_log_metric_second", "Second", 1)
	if sum, _, ok := sample(scrape(t, h), "cairn_log_metric_first", map[string]string{"metric_name": "First"}); ok {
		t.Errorf("the replaced definition's series is still served (%v)", sum)
	}
}
