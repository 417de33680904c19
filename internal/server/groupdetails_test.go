package server_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

const detailsDPDoc = `{"Name":"Test","Version":"2021-06-01","Statement":[` +
	`{"Sid":"Audit","DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],"Operation":{"Audit":{"FindingsDestination":{}}}},` +
	`{"Sid":"Redact","DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],"Operation":{"Deidentify":{"MaskConfig":{}}}}]}`

// TestDescribeLogGroupsDetails: dataProtectionStatus, inheritedProperties
// and bearerTokenAuthenticationEnabled follow the group's data protection
// policy, the account's data protection policy and the group's bearer
// setting, and the logGroupClass filter selects by class.
func TestDescribeLogGroupsDetails(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := t.Context()
	for _, g := range []struct {
		name  string
		class types.LogGroupClass
	}{{"plain", ""}, {"protected", ""}, {"ia", types.LogGroupClassInfrequentAccess}} {
		if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(g.name), LogGroupClass: g.class}); err != nil {
			t.Fatal(err)
		}
	}
	describe := func(in *cwl.DescribeLogGroupsInput) map[string]types.LogGroup {
		t.Helper()
		out, err := c.DescribeLogGroups(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]types.LogGroup{}
		for _, g := range out.LogGroups {
			m[*g.LogGroupName] = g
		}
		return m
	}
	for name, g := range describe(&cwl.DescribeLogGroupsInput{}) {
		if g.DataProtectionStatus != "" || g.InheritedProperties != nil || g.BearerTokenAuthenticationEnabled != nil {
			t.Errorf("%s before any policy: %+v", name, g)
		}
	}
	if _, err := c.PutDataProtectionPolicy(ctx, &cwl.PutDataProtectionPolicyInput{LogGroupIdentifier: aws.String("protected"), PolicyDocument: aws.String(detailsDPDoc)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBearerTokenAuthentication(ctx, &cwl.PutBearerTokenAuthenticationInput{LogGroupIdentifier: aws.String("plain"), BearerTokenAuthenticationEnabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	gs := describe(&cwl.DescribeLogGroupsInput{})
	if gs["protected"].DataProtectionStatus != types.DataProtectionStatusActivated || gs["plain"].DataProtectionStatus != "" {
		t.Errorf("dataProtectionStatus: protected %q plain %q", gs["protected"].DataProtectionStatus, gs["plain"].DataProtectionStatus)
	}
	if !aws.ToBool(gs["plain"].BearerTokenAuthenticationEnabled) || gs["protected"].BearerTokenAuthenticationEnabled != nil {
		t.Errorf("bearer: plain %v protected %v", gs["plain"].BearerTokenAuthenticationEnabled, gs["protected"].BearerTokenAuthenticationEnabled)
	}
	if _, err := c.PutAccountPolicy(ctx, &cwl.PutAccountPolicyInput{PolicyName: aws.String("dp"), PolicyType: types.PolicyTypeDataProtectionPolicy, PolicyDocument: aws.String(detailsDPDoc)}); err != nil {
		t.Fatal(err)
	}
	for name, g := range describe(&cwl.DescribeLogGroupsInput{}) {
		if len(g.InheritedProperties) != 1 || g.InheritedProperties[0] != types.InheritedPropertyAccountDataProtection {
			t.Errorf("%s inheritedProperties %v", name, g.InheritedProperties)
		}
	}
	if gs := describe(&cwl.DescribeLogGroupsInput{LogGroupClass: types.LogGroupClassInfrequentAccess}); len(gs) != 1 || gs["ia"].LogGroupClass != types.LogGroupClassInfrequentAccess {
		t.Errorf("class filter %v", gs)
	}
	// Off again: the details go.
	if _, err := c.DeleteDataProtectionPolicy(ctx, &cwl.DeleteDataProtectionPolicyInput{LogGroupIdentifier: aws.String("protected")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBearerTokenAuthentication(ctx, &cwl.PutBearerTokenAuthenticationInput{LogGroupIdentifier: aws.String("plain"), BearerTokenAuthenticationEnabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	gs = describe(&cwl.DescribeLogGroupsInput{})
	if gs["protected"].DataProtectionStatus != "" || gs["plain"].BearerTokenAuthenticationEnabled != nil {
		t.Errorf("after removal: %+v %+v", gs["protected"], gs["plain"])
	}
}
