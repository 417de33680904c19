package caller_test

import (
	"testing"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
)

func TestSystem(t *testing.T) {
	c := caller.System("123456789012", "eu-west-1", "delivery", "logs:PutLogEvents")
	if c.Account != "123456789012" || c.Region != "eu-west-1" || c.Identity.ARN != "arn:aws:iam::123456789012:user/cairn-system/delivery" || c.Identity.STS != nil {
		t.Fatalf("caller %+v", c)
	}
	if err := c.Authorize("logs:PutLogEvents", "arn:aws:logs:eu-west-1:123456789012:log-group:g:log-stream:s"); err != nil {
		t.Fatal(err)
	}
	err := c.Authorize("logs:DeleteLogGroup", "arn:aws:logs:eu-west-1:123456789012:log-group:g:log-stream:")
	e, ok := awserr.As(err)
	want := "User: arn:aws:iam::123456789012:user/cairn-system/delivery is not authorized to perform: logs:DeleteLogGroup on resource: " +
		"arn:aws:logs:eu-west-1:123456789012:log-group:g:log-stream: because no identity-based policy allows the logs:DeleteLogGroup action"
	if !ok || e.Code != awserr.AccessDenied || e.Message != want {
		t.Fatalf("got %v", err)
	}
}

// TestZeroCallerRefused: a Caller built without an authorizer is refused
// everything, and not with an AWS error (it is the builder's bug).
func TestZeroCallerRefused(t *testing.T) {
	err := caller.Caller{Account: "123456789012", Region: "us-east-1"}.Authorize("logs:DescribeLogGroups", "*")
	if err == nil {
		t.Fatal("allowed")
	}
	if _, ok := awserr.As(err); ok {
		t.Fatalf("got AWS error %v", err)
	}
	if err := (caller.Caller{Authorizer: caller.AllowAll}).Authorize("logs:DeleteLogGroup", "*"); err != nil {
		t.Fatal(err)
	}
}
