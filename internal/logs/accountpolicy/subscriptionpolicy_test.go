package accountpolicy_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

// TestSubscriptionPolicyCriteriaAndPattern: a SUBSCRIPTION_FILTER_POLICY
// takes "LogGroupName NOT IN []", the very form the model's documentation
// writes for it (excluding nothing), and answers it back verbatim; an empty
// IN list stays refused. Its FilterPattern is bounded at 1024 characters,
// counted as PutSubscriptionFilter counts its own filterPattern: 1024 "é"
// (2048 UTF-8 bytes) are taken by both, 1025 refused by both.
func TestSubscriptionPolicyCriteriaAndPattern(t *testing.T) {
	c := harness.Start(t).Client()
	ctx := context.Background()
	const lambda = "arn:aws:lambda:us-east-1:000000000000:function:X"
	doc := func(pattern string) string {
		return `{"DestinationArn":"` + lambda + `","FilterPattern":"` + pattern + `"}`
	}
	if _, err := put(c, "sub", types.PolicyTypeSubscriptionFilterPolicy, doc(""), "LogGroupName NOT IN []"); err != nil {
		t.Fatalf("NOT IN []: %v", err)
	}
	out, err := c.DescribeAccountPolicies(ctx, &cwl.DescribeAccountPoliciesInput{PolicyType: types.PolicyTypeSubscriptionFilterPolicy})
	if err != nil || len(out.AccountPolicies) != 1 || aws.ToString(out.AccountPolicies[0].SelectionCriteria) != "LogGroupName NOT IN []" {
		t.Fatalf("describe: %+v %v", out, err)
	}
	_, err = put(c, "tr", types.PolicyTypeTransformerPolicy, `{"transformerConfig":[{"parseJSON":{}}]}`, "LogGroupNamePrefix IN []")
	wantCode(t, err, "InvalidParameterException", "Invalid selection criteria: the list must not be empty")

	fits, over := strings.Repeat("é", 1024), strings.Repeat("é", 1025)
	if _, err := put(c, "sub", types.PolicyTypeSubscriptionFilterPolicy, doc(fits), "LogGroupName NOT IN []"); err != nil {
		t.Fatalf("1024 characters (%d bytes): %v", len(fits), err)
	}
	_, err = put(c, "sub", types.PolicyTypeSubscriptionFilterPolicy, doc(over), "")
	wantCode(t, err, "InvalidParameterException", "Invalid policy document: FilterPattern must be at most 1024 characters")

	// PutSubscriptionFilter, for comparison: the same two patterns.
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/g")}); err != nil {
		t.Fatal(err)
	}
	sub := func(pattern string) error {
		_, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("/g"), FilterName: aws.String("f"),
			FilterPattern: aws.String(pattern), DestinationArn: aws.String(lambda)})
		return err
	}
	if err := sub(fits); err != nil {
		t.Fatalf("PutSubscriptionFilter, 1024 characters: %v", err)
	}
	wantCode(t, sub(over), "InvalidParameterException",
		"1 validation error detected: Value '"+over+"' at 'filterPattern' failed to satisfy constraint: Member must have length less than or equal to 1024")
}
