package subscription_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/harness"
)

// TestNextTokens: DescribeSubscriptionFilters and DescribeDestinations page
// with tokens they issued, and answer any other with AWS's
// InvalidParameterException "The specified nextToken is invalid.", as
// Cairn's other Describe* operations do; a filter's or destination's bare
// name, which the old tokens were, is one of those.
func TestNextTokens(t *testing.T) {
	h := harness.Start(t, threeAccounts())
	c := h.ClientAs(alice, "us-east-1")
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/app")}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		if _, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("/app"), FilterName: aws.String(n),
			FilterPattern: aws.String(""), DestinationArn: aws.String(kinesisARN), RoleArn: aws.String(roleARN)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutDestination(ctx, &cwl.PutDestinationInput{DestinationName: aws.String(n), TargetArn: aws.String(kinesisARN), RoleArn: aws.String(roleARN)}); err != nil {
			t.Fatal(err)
		}
	}
	const invalid = "The specified nextToken is invalid."

	f1, err := c.DescribeSubscriptionFilters(ctx, &cwl.DescribeSubscriptionFiltersInput{LogGroupName: aws.String("/app"), Limit: aws.Int32(1)})
	if err != nil || len(f1.SubscriptionFilters) != 1 || f1.NextToken == nil {
		t.Fatalf("filters page 1: %+v %v", f1, err)
	}
	f2, err := c.DescribeSubscriptionFilters(ctx, &cwl.DescribeSubscriptionFiltersInput{LogGroupName: aws.String("/app"), NextToken: f1.NextToken})
	if err != nil || len(f2.SubscriptionFilters) != 1 || aws.ToString(f2.SubscriptionFilters[0].FilterName) != "b" || f2.NextToken != nil {
		t.Fatalf("filters page 2: %+v %v", f2, err)
	}
	for _, tok := range []string{"a", "not-a-token", *f1.NextToken + "x", strings.ToUpper(*f1.NextToken)} {
		_, err := c.DescribeSubscriptionFilters(ctx, &cwl.DescribeSubscriptionFiltersInput{LogGroupName: aws.String("/app"), NextToken: aws.String(tok)})
		wantErr(t, err, "InvalidParameterException", invalid)
	}

	d1, err := c.DescribeDestinations(ctx, &cwl.DescribeDestinationsInput{Limit: aws.Int32(1)})
	if err != nil || len(d1.Destinations) != 1 || d1.NextToken == nil {
		t.Fatalf("destinations page 1: %+v %v", d1, err)
	}
	d2, err := c.DescribeDestinations(ctx, &cwl.DescribeDestinationsInput{NextToken: d1.NextToken})
	if err != nil || len(d2.Destinations) != 1 || aws.ToString(d2.Destinations[0].DestinationName) != "b" || d2.NextToken != nil {
		t.Fatalf("destinations page 2: %+v %v", d2, err)
	}
	for _, tok := range []string{"a", "not-a-token", *d1.NextToken + "x"} {
		_, err := c.DescribeDestinations(ctx, &cwl.DescribeDestinationsInput{NextToken: aws.String(tok)})
		wantErr(t, err, "InvalidParameterException", invalid)
	}
}
