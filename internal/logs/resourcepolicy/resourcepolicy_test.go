package resourcepolicy_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/logs/resourcepolicy"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

const route53 = `{"Version":"2012-10-17","Statement":[{"Sid":"Route53LogsToCloudWatchLogs","Effect":"Allow","Principal":{"Service":["route53.amazonaws.com"]},"Action":"logs:PutLogEvents","Resource":"arn:aws:logs:us-east-1:111111111111:log-group:/aws/route53/*"}]}`

// TestAccountPolicies: Put echoes the document verbatim, Describe answers it
// normalised (hand-written from AWS's recorded form), the eleventh new name is
// refused while replacing one at the limit succeeds, Delete of a missing name
// has AWS's text.
func TestAccountPolicies(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := t.Context()
	out, err := c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{PolicyName: aws.String("route53-query-logs"), PolicyDocument: aws.String(route53)})
	if err != nil {
		t.Fatal(err)
	}
	if *out.ResourcePolicy.PolicyDocument != route53 || out.ResourcePolicy.PolicyScope != types.PolicyScopeAccount || out.ResourcePolicy.LastUpdatedTime == nil || out.RevisionId != nil {
		t.Fatalf("put answer %+v", out.ResourcePolicy)
	}
	d, err := c.DescribeResourcePolicies(ctx, &cwl.DescribeResourcePoliciesInput{})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Version":"2012-10-17","Statement":[{"Sid":"Route53LogsToCloudWatchLogs","Effect":"Allow","Principal":{"Service":"route53.amazonaws.com"},"Action":"logs:PutLogEvents","Resource":"arn:aws:logs:us-east-1:111111111111:log-group:/aws/route53/*"}]}`
	if len(d.ResourcePolicies) != 1 || *d.ResourcePolicies[0].PolicyDocument != want {
		t.Fatalf("described %+v", d.ResourcePolicies)
	}
	// No Version: AWS writes 2008-10-17.
	noVersion := `{"Statement":{"Effect":"Allow","Principal":{"Service":"delivery.logs.amazonaws.com"},"Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}}`
	for i := 2; i <= 10; i++ {
		if _, err := c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{PolicyName: aws.String(fmt.Sprintf("p%02d", i)), PolicyDocument: aws.String(noVersion)}); err != nil {
			t.Fatal(i, err)
		}
	}
	_, err = c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{PolicyName: aws.String("p11"), PolicyDocument: aws.String(route53)})
	harness.WantErr(t, err, "LimitExceededException", "Resource limit exceeded.")
	if _, err := c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{PolicyName: aws.String("p05"), PolicyDocument: aws.String(route53)}); err != nil {
		t.Fatalf("replacing at the limit: %v", err)
	}
	d, err = c.DescribeResourcePolicies(ctx, &cwl.DescribeResourcePoliciesInput{Limit: aws.Int32(3)})
	if err != nil || len(d.ResourcePolicies) != 3 || d.NextToken == nil {
		t.Fatalf("page 1: %v %+v", err, d)
	}
	if *d.ResourcePolicies[1].PolicyDocument != `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"delivery.logs.amazonaws.com"},"Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}` {
		t.Fatalf("normalised without Version: %s", *d.ResourcePolicies[1].PolicyDocument)
	}
	n := 3
	for d.NextToken != nil {
		if d, err = c.DescribeResourcePolicies(ctx, &cwl.DescribeResourcePoliciesInput{Limit: aws.Int32(3), NextToken: d.NextToken}); err != nil {
			t.Fatal(err)
		}
		n += len(d.ResourcePolicies)
	}
	if n != 10 {
		t.Fatalf("paged %d policies, want 10", n)
	}
	_, err = c.DeleteResourcePolicy(ctx, &cwl.DeleteResourcePolicyInput{PolicyName: aws.String("non-existent")})
	harness.WantErr(t, err, "ResourceNotFoundException", "Policy with name [non-existent] does not exist.")
	if _, err := c.DeleteResourcePolicy(ctx, &cwl.DeleteResourcePolicyInput{PolicyName: aws.String("p05")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DescribeResourcePolicies(ctx, &cwl.DescribeResourcePoliciesInput{NextToken: aws.String("bogus")})
	harness.WantErr(t, err, "InvalidParameterException", "The specified nextToken is invalid.")
}

// TestValidation: the document's checks and the model's, with AWS's texts.
func TestValidation(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := t.Context()
	put := func(name, doc string) error {
		_, err := c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})
		return err
	}
	const notPersistable = "Could not convert to persistable policy."
	harness.WantErr(t, put("a", `{"Statement":[{"Effect":"Allow","Principal":{"AWS":"delivery.logs.amazonaws.com"},"Action":"logs:PutLogEvents","Resource":"*"}]}`), "InvalidParameterException", notPersistable)
	harness.WantErr(t, put("a", `not json`), "InvalidParameterException", notPersistable)
	harness.WantErr(t, put("a", `["x"]`), "InvalidParameterException", notPersistable)
	harness.WantErr(t, put("a", `{"Statement":[{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"*"}]}`), "InvalidParameterException", notPersistable)
	harness.WantErr(t, put("a", `{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"logs:PutLogEvents"}]}`), "InvalidParameterException", notPersistable)
	harness.WantErr(t, put("a", `{"Statement":[{"Effect":"Allow","Principal":{"Service":"*"},"Action":"logs:PutLogEvents"}]}`), "InvalidParameterException", notPersistable)
	big := `{"Statement":[{"Sid":"` + strings.Repeat("x", 5100) + `","Effect":"Allow","Principal":"*","Action":"logs:PutLogEvents"}]}`
	harness.WantErr(t, put("a", big), "InvalidParameterException", "Policy document length breaking Cloudwatch Logs Constraints, either < 1 or > 5120")
	harness.WantErr(t, put("a", ""), "InvalidParameterException", "1 validation error detected: Value '' at 'policyDocument' failed to satisfy constraint: Member must have length greater than or equal to 1")
	_, err := c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{PolicyName: aws.String("a")})
	harness.WantErr(t, err, "InvalidParameterException", "1 validation error detected: Value null at 'policyDocument' failed to satisfy constraint: Member must not be null")
	_, err = c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{PolicyDocument: aws.String(route53)})
	harness.WantErr(t, err, "InvalidParameterException", "policyName is required when resourceArn is not specified.")
	_, err = c.DescribeResourcePolicies(ctx, &cwl.DescribeResourcePoliciesInput{Limit: aws.Int32(51)})
	harness.WantErr(t, err, "InvalidParameterException", "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50")
	r := h.Call(t, "DescribeResourcePolicies", []byte(`{"policyScope":"GROUP"}`))
	if r.Code != "InvalidParameterException" || r.Message != "1 validation error detected: Value 'GROUP' at 'policyScope' failed to satisfy constraint: Member must satisfy enum value set: [ACCOUNT, RESOURCE]" {
		t.Fatalf("enum: %s", r)
	}
	r = h.Call(t, "PutResourcePolicy", []byte(`{"policyName":"a","policyDocument":"{}","expectedRevisionId":""}`))
	if r.Code != "InvalidParameterException" || r.Message != "1 validation error detected: Value '' at 'expectedRevisionId' failed to satisfy constraint: Member must have length greater than or equal to 1" {
		t.Fatalf("revision length: %s", r)
	}
}

// TestResourceScope: one policy per group, guarded by its revision id.
func TestResourceScope(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := t.Context()
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	g, err := c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	arn := g.LogGroups[0].LogGroupArn
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"delivery.logs.amazonaws.com"},"Action":"logs:PutLogEvents","Resource":"` + *arn + `:*"}]}`
	out, err := c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{ResourceArn: arn, PolicyDocument: aws.String(doc)})
	if err != nil {
		t.Fatal(err)
	}
	if out.RevisionId == nil || out.ResourcePolicy.RevisionId == nil || *out.RevisionId != *out.ResourcePolicy.RevisionId ||
		out.ResourcePolicy.PolicyScope != types.PolicyScopeResource || *out.ResourcePolicy.ResourceArn != *arn {
		t.Fatalf("put %+v", out.ResourcePolicy)
	}
	_, err = c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{ResourceArn: arn, PolicyDocument: aws.String(doc)})
	harness.WantErr(t, err, "OperationAbortedException", "The expectedRevisionId does not match the current revision of the resource policy.")
	_, err = c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{ResourceArn: arn, PolicyDocument: aws.String(doc), ExpectedRevisionId: aws.String("stale")})
	harness.WantErr(t, err, "OperationAbortedException", "The expectedRevisionId does not match the current revision of the resource policy.")
	out2, err := c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{ResourceArn: arn, PolicyDocument: aws.String(doc), ExpectedRevisionId: out.RevisionId})
	if err != nil || *out2.RevisionId == *out.RevisionId {
		t.Fatalf("update: %v", err)
	}
	d, err := c.DescribeResourcePolicies(ctx, &cwl.DescribeResourcePoliciesInput{ResourceArn: arn, PolicyScope: types.PolicyScopeResource})
	if err != nil || len(d.ResourcePolicies) != 1 || *d.ResourcePolicies[0].RevisionId != *out2.RevisionId {
		t.Fatalf("describe: %v %+v", err, d)
	}
	if d, _ := c.DescribeResourcePolicies(ctx, &cwl.DescribeResourcePoliciesInput{}); len(d.ResourcePolicies) != 0 {
		t.Fatalf("account scope lists the group's policy: %+v", d.ResourcePolicies)
	}
	_, err = c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{ResourceArn: aws.String("arn:aws:logs:us-east-1:000000000000:log-group:missing"), PolicyDocument: aws.String(doc)})
	harness.WantErr(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	_, err = c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{ResourceArn: aws.String("arn:aws:s3:::bucket"), PolicyDocument: aws.String(doc)})
	harness.WantErr(t, err, "InvalidParameterException", "Invalid resourceArn: arn:aws:s3:::bucket. Only log group ARNs are supported.")
	_, err = c.DeleteResourcePolicy(ctx, &cwl.DeleteResourcePolicyInput{ResourceArn: arn, ExpectedRevisionId: out.RevisionId})
	harness.WantErr(t, err, "OperationAbortedException", "The expectedRevisionId does not match the current revision of the resource policy.")
	if _, err := c.DeleteResourcePolicy(ctx, &cwl.DeleteResourcePolicyInput{ResourceArn: arn, ExpectedRevisionId: out2.RevisionId}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteResourcePolicy(ctx, &cwl.DeleteResourcePolicyInput{ResourceArn: arn, ExpectedRevisionId: out2.RevisionId})
	harness.WantErr(t, err, "ResourceNotFoundException", "Policy for resource ["+*arn+"] does not exist.")
}

// TestAllows: the enforcement check, on a real engine: the service named in
// an Allow may act, others may not, a Deny wins, and a group's policy covers
// only its group.
func TestAllows(t *testing.T) {
	ctx := context.Background()
	eng, err := embedded.Open(embedded.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	scope := store.Scope{Account: "123456789012", Region: "us-east-1"}
	for _, g := range []string{"a", "b"} {
		if err := eng.CreateGroup(ctx, store.Group{Scope: scope, Name: g, CreationTime: 1}); err != nil {
			t.Fatal(err)
		}
	}
	svc := resourcepolicy.New(resourcepolicy.Config{Store: eng})
	stream := func(g string) string { return "arn:aws:logs:us-east-1:123456789012:log-group:" + g + ":log-stream:s" }
	const svcName = "delivery.logs.amazonaws.com"
	if svc.Allows(ctx, scope, svcName, "logs:PutLogEvents", stream("a")) {
		t.Fatal("allowed with no policy")
	}
	c := callerFor(scope)
	groupDoc := `{"Statement":[{"Effect":"Allow","Principal":{"Service":"` + svcName + `"},"Action":"logs:PutLogEvents","Resource":"arn:aws:logs:us-east-1:123456789012:log-group:a:*","Condition":{"StringEquals":{"aws:SourceAccount":"123456789012"}}}]}`
	if _, err := svc.PutResourcePolicy(ctx, c, &resourcepolicy.PutResourcePolicyInput{ResourceArn: "arn:aws:logs:us-east-1:123456789012:log-group:a", PolicyDocument: &groupDoc}); err != nil {
		t.Fatal(err)
	}
	if !svc.Allows(ctx, scope, svcName, "logs:PutLogEvents", stream("a")) {
		t.Fatal("group policy does not allow its service")
	}
	if svc.Allows(ctx, scope, "route53.amazonaws.com", "logs:PutLogEvents", stream("a")) {
		t.Fatal("another service allowed")
	}
	if svc.Allows(ctx, scope, svcName, "logs:DeleteLogGroup", stream("a")) {
		t.Fatal("another action allowed")
	}
	if svc.Allows(ctx, scope, svcName, "logs:PutLogEvents", stream("b")) {
		t.Fatal("group a's policy allows group b")
	}
	deny := `{"Statement":[{"Effect":"Deny","Principal":{"Service":"` + svcName + `"},"Action":"logs:*","Resource":"*"}]}`
	if _, err := svc.PutResourcePolicy(ctx, c, &resourcepolicy.PutResourcePolicyInput{PolicyName: "deny", PolicyDocument: &deny}); err != nil {
		t.Fatal(err)
	}
	if svc.Allows(ctx, scope, svcName, "logs:PutLogEvents", stream("a")) {
		t.Fatal("an explicit Deny does not win")
	}
}

func callerFor(scope store.Scope) caller.Caller {
	return caller.System(scope.Account, scope.Region, "test", "logs:PutResourcePolicy")
}
