package accountpolicy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/cairnlog/cairn/internal/harness"
)

const dpDoc = `{"Name":"Test","Version":"2021-06-01","Statement":[` +
	`{"Sid":"Audit","DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],"Operation":{"Audit":{"FindingsDestination":{}}}},` +
	`{"Sid":"Redact","DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],"Operation":{"Deidentify":{"MaskConfig":{}}}}]}`

func put(c *cwl.Client, name string, typ types.PolicyType, doc, criteria string) (*cwl.PutAccountPolicyOutput, error) {
	in := &cwl.PutAccountPolicyInput{PolicyName: aws.String(name), PolicyType: typ, PolicyDocument: aws.String(doc)}
	if criteria != "" {
		in.SelectionCriteria = aws.String(criteria)
	}
	return c.PutAccountPolicy(context.Background(), in)
}

func wantCode(t *testing.T, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("got %v, want %s %q", err, code, msg)
	}
}

// TestDataProtectionAccountPolicy: the TF acceptance test's document is
// accepted, echoed in AWS's shape, masks every group's events (on top of a
// group-level policy), and goes away with DeleteAccountPolicy.
func TestDataProtectionAccountPolicy(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	ctx := context.Background()
	out, err := put(c, "dp", types.PolicyTypeDataProtectionPolicy, dpDoc, "")
	if err != nil {
		t.Fatal(err)
	}
	p := out.AccountPolicy
	if aws.ToString(p.PolicyName) != "dp" || aws.ToString(p.PolicyDocument) != dpDoc || p.PolicyType != types.PolicyTypeDataProtectionPolicy ||
		p.Scope != types.ScopeAll || aws.ToString(p.AccountId) != "000000000000" || p.LastUpdatedTime == nil || p.SelectionCriteria != nil {
		t.Fatalf("accountPolicy %+v", p)
	}
	_, err = put(c, "dp2", types.PolicyTypeDataProtectionPolicy, dpDoc, "")
	wantCode(t, err, "LimitExceededException", "Resource limit exceeded.")
	_, err = put(c, "dp", types.PolicyTypeDataProtectionPolicy, dpDoc, `LogGroupName NOT IN ["a"]`)
	wantCode(t, err, "InvalidParameterException", "Invalid selection criteria: selectionCriteria is not supported for DATA_PROTECTION_POLICY")

	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	// A group policy for IP addresses: cumulative with the account's e-mail.
	gdoc := `{"Name":"ip","Version":"2021-06-01","Statement":[` +
		`{"DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/IpAddress"],"Operation":{"Audit":{"FindingsDestination":{}}}},` +
		`{"DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/IpAddress"],"Operation":{"Deidentify":{"MaskConfig":{}}}}]}`
	if _, err := c.PutDataProtectionPolicy(ctx, &cwl.PutDataProtectionPolicyInput{LogGroupIdentifier: aws.String("g"), PolicyDocument: aws.String(gdoc)}); err != nil {
		t.Fatal(err)
	}
	putEvent := func(msg string) {
		t.Helper()
		ts := aws.Int64(timeNow())
		if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"),
			LogEvents: []types.InputLogEvent{{Message: aws.String(msg), Timestamp: ts}}}); err != nil {
			t.Fatal(err)
		}
	}
	putEvent("a@example.com from 10.0.0.1")
	if _, err := c.DeleteAccountPolicy(ctx, &cwl.DeleteAccountPolicyInput{PolicyName: aws.String("dp"), PolicyType: types.PolicyTypeDataProtectionPolicy}); err != nil {
		t.Fatal(err)
	}
	putEvent("a@example.com from 10.0.0.1")
	got, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"************* from ********", "a@example.com from ********"}
	for i, e := range got.Events {
		if i >= len(want) || aws.ToString(e.Message) != want[i] {
			t.Fatalf("event %d: %q, want %q", i, aws.ToString(e.Message), want)
		}
	}
	_, err = c.DeleteAccountPolicy(ctx, &cwl.DeleteAccountPolicyInput{PolicyName: aws.String("dp"), PolicyType: types.PolicyTypeDataProtectionPolicy})
	wantCode(t, err, "ResourceNotFoundException", "Policy with name [dp] does not exist")
}

// TestTypes: each type's document and criteria rules and limits.
func TestTypes(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	const lambda = `{"DestinationArn":"arn:aws:lambda:us-east-1:000000000000:function:X","FilterPattern":"","Distribution":"Random"}`
	cases := []struct {
		name     string
		typ      types.PolicyType
		doc      string
		criteria string
		code     string
		msg      string
	}{
		{"sub", types.PolicyTypeSubscriptionFilterPolicy, lambda, `LogGroupName NOT IN ["a", "b"]`, "", ""},
		{"sub2", types.PolicyTypeSubscriptionFilterPolicy, lambda, "", "LimitExceededException", "Resource limit exceeded."},
		{"sub", types.PolicyTypeSubscriptionFilterPolicy, lambda, `LogGroupNamePrefix IN ["a"]`, "InvalidParameterException",
			`Invalid selection criteria: SUBSCRIPTION_FILTER_POLICY accepts only LogGroupName NOT IN ["name", ...]`},
		{"sub", types.PolicyTypeSubscriptionFilterPolicy, `{"FilterPattern":""}`, "", "InvalidParameterException", "Invalid policy document: DestinationArn is required"},
		{"sub", types.PolicyTypeSubscriptionFilterPolicy, `{"DestinationArn":"arn:aws:kinesis:us-east-1:000000000000:stream/k"}`, "", "InvalidParameterException",
			"Invalid policy document: RoleArn is required for a Kinesis or Firehose destination"},
		{"sub", types.PolicyTypeSubscriptionFilterPolicy, `{"DestinationArn":"arn:aws:lambda:us-east-1:000000000000:function:X","Distribution":"Sometimes"}`, "",
			"InvalidParameterException", "Invalid policy document: Distribution must be Random or ByLogStream"},
		{"sub", types.PolicyTypeSubscriptionFilterPolicy, `{"DestinationArn":"arn:aws:lambda:us-east-1:000000000000:function:X","FilterPattern":"{ $.x = "}`, "",
			"InvalidParameterException", ""},
		{"tr-all", types.PolicyTypeTransformerPolicy, `{"transformerConfig":[{"parseJSON":{}}]}`, "", "", ""},
		{"tr-aws", types.PolicyTypeTransformerPolicy, `{"transformerConfig":[{"parseJSON":{}}]}`, `LogGroupNamePrefix IN ["/aws"]`, "", ""},
		{"tr-lambda", types.PolicyTypeTransformerPolicy, `{"transformerConfig":[{"parseJSON":{}}]}`, `LogGroupNamePrefix IN ["/aws/lambda"]`,
			"InvalidParameterException", "Invalid selection criteria: the prefixes overlap those of another policy of this type"},
		{"tr-all2", types.PolicyTypeTransformerPolicy, `{"transformerConfig":[{"parseJSON":{}}]}`, "", "LimitExceededException", ""},
		{"tr-x", types.PolicyTypeTransformerPolicy, `{"transformerConfig":[{"frobnicate":{}}]}`, `LogGroupNamePrefix IN ["x"]`,
			"InvalidParameterException", "Invalid policy document: unknown processor frobnicate"},
		{"tr-x", types.PolicyTypeTransformerPolicy, `{"transformerConfig":[]}`, `LogGroupNamePrefix IN ["x"]`,
			"InvalidParameterException", "Invalid policy document: transformerConfig must have 1 to 20 processors"},
		{"fi", types.PolicyTypeFieldIndexPolicy, `{"Fields":["TransactionId"],"FieldsV2":{"RequestId":{"type":"FIELD_INDEX"},"APIName":{"type":"FACET"}}}`, "", "", ""},
		{"fi-ds", types.PolicyTypeFieldIndexPolicy, `{"Fields":["srcaddr"]}`, `DataSourceName = "amazon_vpc" AND DataSourceType = "flow"`, "", ""},
		{"fi-ds2", types.PolicyTypeFieldIndexPolicy, `{"Fields":["srcaddr"]}`, `DataSourceName = "amazon_vpc" AND DataSourceType = "flow"`,
			"InvalidParameterException", "Invalid selection criteria: another policy already selects this DataSourceName and DataSourceType"},
		{"fi-x", types.PolicyTypeFieldIndexPolicy, `{"Fields":["a"],"FieldsV2":{"a":{"type":"FACET"}}}`, `LogGroupNamePrefix IN ["p"]`,
			"InvalidParameterException", "Invalid policy document: field a is in both Fields and FieldsV2"},
		{"me", types.PolicyTypeMetricExtractionPolicy, `{"EmbeddedMetricFormat":{"Status":"Disabled"}}`,
			`LogGroupNamePrefix NOT IN ["/aws/containerinsights", "/aws/ecs/containerinsights", "/aws/application-signals/data"]`, "", ""},
		{"me2", types.PolicyTypeMetricExtractionPolicy, `{"EmbeddedMetricFormat":{"Status":"Disabled"}}`, `LogGroupName NOT IN ["x"]`,
			"InvalidParameterException", "Invalid selection criteria: only one METRIC_EXTRACTION_POLICY may use NOT IN"},
		{"aws/x", types.PolicyTypeMetricExtractionPolicy, `{"EmbeddedMetricFormat":{"Status":"Disabled"}}`, "",
			"InvalidParameterException", "Policy names starting with 'aws/' are reserved for AWS."},
		{"bad", types.PolicyTypeFieldIndexPolicy, `{"Fields":["a"]}`, `LogGroupNamePrefix IN "p"`,
			"InvalidParameterException", "Invalid selection criteria: expected a list of strings in square brackets"},
		{"bad", types.PolicyTypeDataProtectionPolicy, `{"Name":"x y","Version":"2021-06-01"}`, "",
			"InvalidParameterException", "Policy Name can only include alphanumeric characters, hyphens (-) and underscores (_)"},
	}
	for _, tc := range cases {
		_, err := put(c, tc.name, tc.typ, tc.doc, tc.criteria)
		if tc.code == "" {
			if err != nil {
				t.Fatalf("%s %s: %v", tc.typ, tc.name, err)
			}
			continue
		}
		t.Run(string(tc.typ)+"/"+tc.name, func(t *testing.T) { wantCode(t, err, tc.code, tc.msg) })
	}
	out, err := c.DescribeAccountPolicies(context.Background(), &cwl.DescribeAccountPoliciesInput{PolicyType: types.PolicyTypeTransformerPolicy})
	if err != nil || len(out.AccountPolicies) != 2 || aws.ToString(out.AccountPolicies[1].SelectionCriteria) != `LogGroupNamePrefix IN ["/aws"]` {
		t.Fatalf("Describe: %+v %v", out, err)
	}
	_, err = c.DescribeAccountPolicies(context.Background(), &cwl.DescribeAccountPoliciesInput{PolicyType: types.PolicyTypeTransformerPolicy, PolicyName: aws.String("nope")})
	wantCode(t, err, "ResourceNotFoundException", "Policy with name [nope] does not exist")
}

func timeNow() int64 { return time.Now().UnixMilli() }

// TestEmptyPolicyName: an empty policyName is a member under its minimum
// length, in the classic operations' validation wording, not a fault of the
// policy document.
func TestEmptyPolicyName(t *testing.T) {
	c := harness.Start(t).Client()
	_, err := put(c, "", types.PolicyTypeSubscriptionFilterPolicy, `{"DestinationArn":"arn:aws:lambda:us-east-1:000000000000:function:f"}`, "")
	wantCode(t, err, "InvalidParameterException",
		"1 validation error detected: Value '' at 'policyName' failed to satisfy constraint: Member must have length greater than or equal to 1")
}
