package subscription_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/cairnlog/cairn/internal/harness"
)

// alice, bob and carol administer accounts 111111111111, 222222222222 and
// 333333333333.
func threeAccounts() harness.Option {
	return harness.WithAccounts(
		harness.Account{ID: "111111111111", Users: []harness.User{harness.UserAllowedAll("alice", alice.AccessKeyID, alice.SecretAccessKey)}},
		harness.Account{ID: "222222222222", Users: []harness.User{harness.UserAllowedAll("bob", bob.AccessKeyID, bob.SecretAccessKey)}},
		harness.Account{ID: "333333333333", Users: []harness.User{harness.UserAllowedAll("carol", carol.AccessKeyID, carol.SecretAccessKey)}})
}

var (
	alice = aws.Credentials{AccessKeyID: "AKIAALICE00000000001", SecretAccessKey: "alice-secret-0123456789"}
	bob   = aws.Credentials{AccessKeyID: "AKIABOB0000000000001", SecretAccessKey: "bob-secret-0123456789"}
	carol = aws.Credentials{AccessKeyID: "AKIACAROL00000000001", SecretAccessKey: "carol-secret-0123456789"}
)

// wantErr checks an API error's code and, when msg is not "", its message.
func wantErr(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("want %s %q, got %s %q", code, msg, ae.ErrorCode(), ae.ErrorMessage())
	}
}

const kinesisARN = "arn:aws:kinesis:us-east-1:111111111111:stream/logs"
const roleARN = "arn:aws:iam::111111111111:role/CWLtoKinesis"

// TestFilterRules: AWS's checks, in its order, with its texts (reference
// pipeline-and-control-plane.md §2.1–§2.2).
func TestFilterRules(t *testing.T) {
	h := harness.Start(t, threeAccounts())
	c := h.ClientAs(alice, "us-east-1")
	ctx := context.Background()
	put := func(group, name, dest, role string) error {
		in := &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String(group), FilterName: aws.String(name),
			FilterPattern: aws.String(""), DestinationArn: aws.String(dest)}
		if role != "" {
			in.RoleArn = aws.String(role)
		}
		_, err := c.PutSubscriptionFilter(ctx, in)
		return err
	}
	// Destination rules come before the group's existence [AWS].
	wantErr(t, put("/missing", "f", "arn:aws:lambda:us-east-1:999999999999:function:fwd", ""), "AccessDeniedException",
		"Cross-account lambda invocation passing is not allowed. You must use DestinationPolicies to create cross account lambda triggers.")
	wantErr(t, put("/missing", "f", kinesisARN, ""), "InvalidParameterException", "destinationArn for vendor kinesis cannot be used without roleArn")
	wantErr(t, put("/missing", "f", "arn:aws:firehose:us-east-1:111111111111:deliverystream/d", ""), "InvalidParameterException",
		"destinationArn for vendor firehose cannot be used without roleArn")
	wantErr(t, put("/missing", "f", kinesisARN, roleARN), "ResourceNotFoundException", "The specified log group does not exist.")
	wantErr(t, put("/missing", "f", "not-an-arn", ""), "InvalidParameterException", "")
	wantErr(t, put("/missing", "a:b", kinesisARN, roleARN), "InvalidParameterException", "") // filterName pattern [^:*]*

	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/app/web")}); err != nil {
		t.Fatal(err)
	}
	if err := put("/app/web", "b-second", kinesisARN, roleARN); err != nil {
		t.Fatal(err)
	}
	if err := put("/app/web", "a-first", "arn:aws:lambda:us-east-1:111111111111:function:fwd", ""); err != nil {
		t.Fatal(err)
	}
	wantErr(t, put("/app/web", "c-third", kinesisARN, roleARN), "LimitExceededException", "Resource limit exceeded.")
	// Same name at the limit: an update.
	if _, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("/app/web"),
		FilterName: aws.String("b-second"), FilterPattern: aws.String("ERROR"), DestinationArn: aws.String(kinesisARN),
		RoleArn: aws.String(roleARN), Distribution: types.DistributionRandom}); err != nil {
		t.Fatal(err)
	}
	// A pattern that does not compile.
	wantErr(t, func() error {
		_, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("/app/web"),
			FilterName: aws.String("a-first"), FilterPattern: aws.String("{ $.x = "), DestinationArn: aws.String(kinesisARN), RoleArn: aws.String(roleARN)})
		return err
	}(), "InvalidParameterException", "")

	out, err := c.DescribeSubscriptionFilters(ctx, &cwl.DescribeSubscriptionFiltersInput{LogGroupName: aws.String("/app/web")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.SubscriptionFilters) != 2 || out.NextToken != nil {
		t.Fatalf("describe: %+v", out)
	}
	a, b := out.SubscriptionFilters[0], out.SubscriptionFilters[1]
	if aws.ToString(a.FilterName) != "a-first" || a.Distribution != types.DistributionByLogStream || a.RoleArn != nil ||
		aws.ToString(a.FilterPattern) != "" || aws.ToString(a.LogGroupName) != "/app/web" || aws.ToInt64(a.CreationTime) == 0 {
		t.Fatalf("first filter %+v", a)
	}
	if aws.ToString(b.FilterName) != "b-second" || b.Distribution != types.DistributionRandom || aws.ToString(b.RoleArn) != roleARN ||
		aws.ToString(b.FilterPattern) != "ERROR" {
		t.Fatalf("second filter (updated) %+v", b)
	}
	// Prefix and limit.
	out, err = c.DescribeSubscriptionFilters(ctx, &cwl.DescribeSubscriptionFiltersInput{LogGroupName: aws.String("/app/web"), Limit: aws.Int32(1)})
	if err != nil || len(out.SubscriptionFilters) != 1 || out.NextToken == nil {
		t.Fatalf("limit 1: %+v %v", out, err)
	}
	out, err = c.DescribeSubscriptionFilters(ctx, &cwl.DescribeSubscriptionFiltersInput{LogGroupName: aws.String("/app/web"), NextToken: out.NextToken})
	if err != nil || len(out.SubscriptionFilters) != 1 || aws.ToString(out.SubscriptionFilters[0].FilterName) != "b-second" {
		t.Fatalf("page 2: %+v %v", out, err)
	}
	_, err = c.DescribeSubscriptionFilters(ctx, &cwl.DescribeSubscriptionFiltersInput{LogGroupName: aws.String("/nope")})
	wantErr(t, err, "ResourceNotFoundException", "The specified log group does not exist.")

	_, err = c.DeleteSubscriptionFilter(ctx, &cwl.DeleteSubscriptionFilterInput{LogGroupName: aws.String("/app/web"), FilterName: aws.String("zzz")})
	wantErr(t, err, "ResourceNotFoundException", "The specified subscription filter does not exist.")
	_, err = c.DeleteSubscriptionFilter(ctx, &cwl.DeleteSubscriptionFilterInput{LogGroupName: aws.String("/nope"), FilterName: aws.String("a-first")})
	wantErr(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	if _, err := c.DeleteSubscriptionFilter(ctx, &cwl.DeleteSubscriptionFilterInput{LogGroupName: aws.String("/app/web"), FilterName: aws.String("a-first")}); err != nil {
		t.Fatal(err)
	}
	// Room again for a new name.
	if err := put("/app/web", "c-third", kinesisARN, roleARN); err != nil {
		t.Fatal(err)
	}
	// Filters go with their group.
	if _, err := c.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("/app/web")}); err != nil {
		t.Fatal(err)
	}
	c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/app/web")})
	out, err = c.DescribeSubscriptionFilters(ctx, &cwl.DescribeSubscriptionFiltersInput{LogGroupName: aws.String("/app/web")})
	if err != nil || len(out.SubscriptionFilters) != 0 {
		t.Fatalf("after re-creating the group: %+v %v", out, err)
	}
}

// TestDestinations: create-or-update, describe (capital-D prefix member),
// the access policy, and its enforcement on another account's filter.
func TestDestinations(t *testing.T) {
	h := harness.Start(t, threeAccounts())
	ctx := context.Background()
	a := h.ClientAs(alice, "us-east-1")
	b := h.ClientAs(bob, "us-east-1")
	cl := h.ClientAs(carol, "us-east-1")

	d1, err := a.PutDestination(ctx, &cwl.PutDestinationInput{DestinationName: aws.String("central"),
		TargetArn: aws.String(kinesisARN), RoleArn: aws.String(roleARN)})
	if err != nil {
		t.Fatal(err)
	}
	wantARN := "arn:aws:logs:us-east-1:111111111111:destination:central"
	if aws.ToString(d1.Destination.Arn) != wantARN || d1.Destination.AccessPolicy != nil || aws.ToInt64(d1.Destination.CreationTime) == 0 {
		t.Fatalf("put: %+v", d1.Destination)
	}
	_, err = a.PutDestination(ctx, &cwl.PutDestinationInput{DestinationName: aws.String("bad"),
		TargetArn: aws.String("arn:aws:lambda:us-east-1:111111111111:function:f"), RoleArn: aws.String(roleARN)})
	wantErr(t, err, "InvalidParameterException", "")

	_, err = a.PutDestinationPolicy(ctx, &cwl.PutDestinationPolicyInput{DestinationName: aws.String("nope"), AccessPolicy: aws.String(`{}`)})
	wantErr(t, err, "ResourceNotFoundException", "The specified destination does not exist.")
	_, err = a.PutDestinationPolicy(ctx, &cwl.PutDestinationPolicyInput{DestinationName: aws.String("central"), AccessPolicy: aws.String(`not json`)})
	wantErr(t, err, "InvalidParameterException", "")
	for _, doc := range []string{`null`, ` null `, `[]`, `"x"`} {
		_, err = a.PutDestinationPolicy(ctx, &cwl.PutDestinationPolicyInput{DestinationName: aws.String("central"), AccessPolicy: aws.String(doc)})
		wantErr(t, err, "InvalidParameterException", "Invalid accessPolicy: it is not a JSON object")
	}

	if _, err := b.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/b/app")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/c/app")}); err != nil {
		t.Fatal(err)
	}
	sub := func(c *cwl.Client, group string) error {
		_, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String(group), FilterName: aws.String("to-central"),
			FilterPattern: aws.String(""), DestinationArn: aws.String(wantARN)})
		return err
	}
	// No policy: nobody else may subscribe.
	wantErr(t, sub(b, "/b/app"), "AccessDeniedException",
		"User with accountId: 222222222222 is not authorized to perform: logs:PutSubscriptionFilter on resource: "+wantARN)
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"logs:PutSubscriptionFilter","Resource":"` + wantARN + `"}]}`
	if _, err := a.PutDestinationPolicy(ctx, &cwl.PutDestinationPolicyInput{DestinationName: aws.String("central"), AccessPolicy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	if err := sub(b, "/b/app"); err != nil {
		t.Fatalf("allowed account: %v", err)
	}
	wantErr(t, sub(cl, "/c/app"), "AccessDeniedException", "")
	_, err = b.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("/b/app"), FilterName: aws.String("x"),
		FilterPattern: aws.String(""), DestinationArn: aws.String("arn:aws:logs:us-east-1:111111111111:destination:missing")})
	wantErr(t, err, "ResourceNotFoundException", "The specified destination does not exist.")

	// An update keeps arn, creation time and the policy.
	d2, err := a.PutDestination(ctx, &cwl.PutDestinationInput{DestinationName: aws.String("central"),
		TargetArn: aws.String("arn:aws:kinesis:us-east-1:111111111111:stream/other"), RoleArn: aws.String(roleARN)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(d2.Destination.Arn) != wantARN || aws.ToInt64(d2.Destination.CreationTime) != aws.ToInt64(d1.Destination.CreationTime) ||
		aws.ToString(d2.Destination.AccessPolicy) != policy {
		t.Fatalf("update: %+v", d2.Destination)
	}
	a.PutDestination(ctx, &cwl.PutDestinationInput{DestinationName: aws.String("other"), TargetArn: aws.String(kinesisARN), RoleArn: aws.String(roleARN)})
	ds, err := a.DescribeDestinations(ctx, &cwl.DescribeDestinationsInput{DestinationNamePrefix: aws.String("cen")})
	if err != nil || len(ds.Destinations) != 1 || aws.ToString(ds.Destinations[0].AccessPolicy) != policy {
		t.Fatalf("describe prefix: %+v %v", ds, err)
	}
	ds, err = a.DescribeDestinations(ctx, &cwl.DescribeDestinationsInput{})
	if err != nil || len(ds.Destinations) != 2 || aws.ToString(ds.Destinations[0].DestinationName) != "central" {
		t.Fatalf("describe all: %+v %v", ds, err)
	}
	// Another account sees none of alice's.
	ds, err = b.DescribeDestinations(ctx, &cwl.DescribeDestinationsInput{})
	if err != nil || len(ds.Destinations) != 0 {
		t.Fatalf("bob's destinations: %+v %v", ds, err)
	}
	if _, err := a.DeleteDestination(ctx, &cwl.DeleteDestinationInput{DestinationName: aws.String("central")}); err != nil {
		t.Fatal(err)
	}
	_, err = a.DeleteDestination(ctx, &cwl.DeleteDestinationInput{DestinationName: aws.String("central")})
	wantErr(t, err, "ResourceNotFoundException", "The specified destination does not exist.")
	ds, _ = a.DescribeDestinations(ctx, &cwl.DescribeDestinationsInput{DestinationNamePrefix: aws.String("central")})
	if len(ds.Destinations) != 0 {
		t.Fatalf("after delete: %+v", ds)
	}
}

// TestTerraformSequence replays aws_cloudwatch_log_subscription_filter's
// calls (terraform-provider-aws internal/service/logs/subscription_filter.go):
// create = Put (distribution defaulted to ByLogStream by the provider), read
// = DescribeSubscriptionFilters(filterNamePrefix=name) paginated until the
// exact name, update = Put again, delete = Delete (not-found tolerated),
// and the read after delete finds nothing.
func TestTerraformSequence(t *testing.T) {
	h := harness.Start(t, threeAccounts())
	c := h.ClientAs(alice, "us-east-1")
	ctx := context.Background()
	group, name := "/aws/lambda/example", "test_lambdafunction_logfilter"
	c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(group)})
	read := func() (*types.SubscriptionFilter, error) {
		p := cwl.NewDescribeSubscriptionFiltersPaginator(c, &cwl.DescribeSubscriptionFiltersInput{FilterNamePrefix: aws.String(name), LogGroupName: aws.String(group)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, f := range page.SubscriptionFilters {
				if aws.ToString(f.FilterName) == name {
					return &f, nil
				}
			}
		}
		return nil, nil
	}
	apply := func(pattern string) {
		t.Helper()
		_, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{DestinationArn: aws.String(kinesisARN), FilterName: aws.String(name),
			FilterPattern: aws.String(pattern), LogGroupName: aws.String(group), Distribution: types.DistributionByLogStream, RoleArn: aws.String(roleARN)})
		if err != nil {
			t.Fatal(err)
		}
		f, err := read()
		if err != nil || f == nil {
			t.Fatalf("read after put: %v %v", f, err)
		}
		if aws.ToString(f.FilterPattern) != pattern || aws.ToString(f.DestinationArn) != kinesisARN || aws.ToString(f.RoleArn) != roleARN ||
			f.Distribution != types.DistributionByLogStream || f.ApplyOnTransformedLogs || aws.ToString(f.LogGroupName) != group {
			t.Fatalf("state drift: %+v", f)
		}
	}
	apply("logtype test")
	apply("logtype other")
	if _, err := c.DeleteSubscriptionFilter(ctx, &cwl.DeleteSubscriptionFilterInput{FilterName: aws.String(name), LogGroupName: aws.String(group)}); err != nil {
		t.Fatal(err)
	}
	if f, err := read(); err != nil || f != nil {
		t.Fatalf("read after delete: %v %v", f, err)
	}
	_, err := c.DeleteSubscriptionFilter(ctx, &cwl.DeleteSubscriptionFilterInput{FilterName: aws.String(name), LogGroupName: aws.String(group)})
	var rnf *types.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Fatalf("second delete: %v", err)
	}
	if !strings.Contains(err.Error(), "subscription filter") {
		t.Fatalf("second delete text: %v", err)
	}
}

// TestLongGroupName: a logGroupName over 512 characters is answered with
// AWS's own text (recorded for CreateLogGroup and DeleteMetricFilter,
// reference §1), not the model's generic length violation, by every
// operation of the family that takes one.
func TestLongGroupName(t *testing.T) {
	h := harness.Start(t, threeAccounts())
	c := h.ClientAs(alice, "us-east-1")
	ctx := context.Background()
	long := aws.String(strings.Repeat("X", 513))
	const msg = "Invalid LogGroup or LogStream, both must have length less than or equal to 512."
	_, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: long, FilterName: aws.String("f"),
		FilterPattern: aws.String(""), DestinationArn: aws.String(kinesisARN), RoleArn: aws.String(roleARN)})
	wantErr(t, err, "InvalidParameterException", msg)
	_, err = c.DescribeSubscriptionFilters(ctx, &cwl.DescribeSubscriptionFiltersInput{LogGroupName: long})
	wantErr(t, err, "InvalidParameterException", msg)
	_, err = c.DeleteSubscriptionFilter(ctx, &cwl.DeleteSubscriptionFilterInput{LogGroupName: long, FilterName: aws.String("f")})
	wantErr(t, err, "InvalidParameterException", msg)
	// 512 is a valid length: the group just does not exist.
	_, err = c.DescribeSubscriptionFilters(ctx, &cwl.DescribeSubscriptionFiltersInput{LogGroupName: aws.String(strings.Repeat("X", 512))})
	wantErr(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
}

// TestDestinationTargetText: PutDestination's refusal of a target names
// what a destination takes (a Kinesis or Firehose stream), not the longer
// list a subscription filter's destinationArn takes.
func TestDestinationTargetText(t *testing.T) {
	h := harness.Start(t, threeAccounts())
	c := h.ClientAs(alice, "us-east-1")
	fn := "arn:aws:lambda:us-east-1:111111111111:function:fwd"
	_, err := c.PutDestination(context.Background(), &cwl.PutDestinationInput{DestinationName: aws.String("d"),
		TargetArn: aws.String(fn), RoleArn: aws.String(roleARN)})
	wantErr(t, err, "InvalidParameterException", "Invalid targetArn: "+fn+". It must be a Kinesis stream or Firehose delivery stream ARN.")
}

// TestOtherVendor: an ARN of a vendor subscriptions cannot deliver to is
// first refused for its missing roleArn, then, with one, for its vendor
// (AWS's texts for a CloudFormation ARN, aws-samples/aws-centralize-logs-using-cdk#2),
// before the log group is looked up.
func TestOtherVendor(t *testing.T) {
	h := harness.Start(t, threeAccounts())
	c := h.ClientAs(alice, "us-east-1")
	put := func(dest, role string) error {
		in := &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("/missing"), FilterName: aws.String("f"),
			FilterPattern: aws.String(""), DestinationArn: aws.String(dest)}
		if role != "" {
			in.RoleArn = aws.String(role)
		}
		_, err := c.PutSubscriptionFilter(context.Background(), in)
		return err
	}
	stack := "arn:aws:cloudformation:us-east-1:111111111111:stack/logs/0a1b2c3d"
	wantErr(t, put(stack, ""), "InvalidParameterException", "destinationArn for vendor cloudformation cannot be used without roleArn")
	wantErr(t, put(stack, roleARN), "InvalidParameterException", "PutSubscriptionFilter operation cannot work with destinationArn for vendor cloudformation")
	wantErr(t, put("arn:aws:sns:us-east-1:111111111111:topic", roleARN), "InvalidParameterException",
		"PutSubscriptionFilter operation cannot work with destinationArn for vendor sns")
	wantErr(t, put("arn:aws:kinesis:us-east-1:111111111111:table/t", roleARN), "InvalidParameterException",
		"PutSubscriptionFilter operation cannot work with destinationArn for vendor kinesis")
	// A stream of a supported vendor passes these checks: the group is next.
	wantErr(t, put(kinesisARN, roleARN), "ResourceNotFoundException", "The specified log group does not exist.")
}
