package metricfilter_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/harness"
)

// TestRegexFilterQuota: at most 5 filter patterns holding a %regex% per log
// group, metric and subscription filters together (AWS's quota); a
// replacement of one of them, and filters without a regex, are not refused.
// Before, a group took 100 metric filters of two regexes each, every one
// run on every ingested event.
func TestRegexFilterQuota(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := context.Background()
	createGroup(t, c, "g", "other")
	put := func(group, name, pattern string) error {
		_, err := c.PutMetricFilter(ctx, &cwl.PutMetricFilterInput{LogGroupName: aws.String(group), FilterName: aws.String(name),
			FilterPattern: aws.String(pattern), MetricTransformations: counter("m")})
		return err
	}
	for i := range 4 {
		if err := put("g", fmt.Sprintf("re%d", i), fmt.Sprintf(`{ $.a = %%x%d+%% }`, i)); err != nil {
			t.Fatal(i, err)
		}
	}
	gs, err := c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("g")})
	if err != nil || len(gs.LogGroups) == 0 {
		t.Fatal(gs, err)
	}
	account := strings.Split(*gs.LogGroups[0].Arn, ":")[4]
	if _, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("g"), FilterName: aws.String("sub"),
		FilterPattern: aws.String(`%ERROR \d+%`), DestinationArn: aws.String("arn:aws:lambda:us-east-1:" + account + ":function:f")}); err != nil {
		t.Fatal(err)
	}
	// Five now: a sixth, of either family, is refused.
	wantErr(t, put("g", "re5", `%x%`), "LimitExceededException", "Resource limit exceeded.")
	_, err = c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("g"), FilterName: aws.String("sub2"),
		FilterPattern: aws.String(`[a = %x%]`), DestinationArn: aws.String("arn:aws:lambda:us-east-1:" + account + ":function:f")})
	wantErr(t, err, "LimitExceededException", "Resource limit exceeded.")
	// A replacement, a filter without a regex, another group: accepted.
	for _, p := range [][3]string{{"g", "re0", `%y+%`}, {"g", "plain", `ERROR "100%"`}, {"other", "re", `%x%`}} {
		if err := put(p[0], p[1], p[2]); err != nil {
			t.Fatal(p, err)
		}
	}
	if _, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("g"), FilterName: aws.String("sub"),
		FilterPattern: aws.String(`%WARN%`), DestinationArn: aws.String("arn:aws:lambda:us-east-1:" + account + ":function:f")}); err != nil {
		t.Fatalf("replacing the subscription filter: %v", err)
	}
}
