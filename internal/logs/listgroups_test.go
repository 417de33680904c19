package logs_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// TestListLogGroups: the pattern's alternatives (substring, ^prefix), class
// and tag filters, paging, the recorded item shape, and the model's limits.
func TestListLogGroups(t *testing.T) {
	s := startServer(t, 0)
	c := s.client()
	ctx := t.Context()
	mk := func(name string, class types.LogGroupClass, tags map[string]string) {
		t.Helper()
		if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(name), LogGroupClass: class, Tags: tags}); err != nil {
			t.Fatal(err)
		}
	}
	mk("/aws/lambda/fn", "", map[string]string{"env": "prod-eu"})
	mk("/app/web", types.LogGroupClassInfrequentAccess, map[string]string{"env": "dev"})
	mk("/app/api", "", nil)
	mk("other-lambda", "", map[string]string{"team": "x"})
	names := func(in *cwl.ListLogGroupsInput) []string {
		t.Helper()
		out, err := c.ListLogGroups(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, g := range out.LogGroups {
			n = append(n, *g.LogGroupName)
		}
		return n
	}
	f := func(in *cwl.ListLogGroupsInput, want ...string) {
		t.Helper()
		if got := names(in); !slices.Equal(got, want) {
			t.Fatalf("%+v: got %q, want %q", in, got, want)
		}
	}
	f(&cwl.ListLogGroupsInput{}, "/app/api", "/app/web", "/aws/lambda/fn", "other-lambda")
	f(&cwl.ListLogGroupsInput{LogGroupNamePattern: aws.String("lambda")}, "/aws/lambda/fn", "other-lambda")
	f(&cwl.ListLogGroupsInput{LogGroupNamePattern: aws.String("^/app|^oth")}, "/app/api", "/app/web", "other-lambda")
	f(&cwl.ListLogGroupsInput{LogGroupNamePattern: aws.String("^lambda")})
	f(&cwl.ListLogGroupsInput{LogGroupClass: types.LogGroupClassInfrequentAccess}, "/app/web")
	f(&cwl.ListLogGroupsInput{LogGroupTags: []types.TagFilter{{Key: aws.String("env")}}}, "/app/web", "/aws/lambda/fn")
	f(&cwl.ListLogGroupsInput{LogGroupTags: []types.TagFilter{{Key: aws.String("env"), Values: []string{"prod*"}}}}, "/aws/lambda/fn")
	f(&cwl.ListLogGroupsInput{LogGroupTags: []types.TagFilter{{Key: aws.String("env"), Values: []string{"!prod*"}}}}, "/app/web")
	f(&cwl.ListLogGroupsInput{FieldIndexNames: []string{"requestId"}})
	out, err := c.ListLogGroups(ctx, &cwl.ListLogGroupsInput{Limit: aws.Int32(3)})
	if err != nil || len(out.LogGroups) != 3 || out.NextToken == nil {
		t.Fatalf("page: %v %+v", err, out)
	}
	g := out.LogGroups[0]
	if *g.LogGroupArn != "arn:aws:logs:us-east-1:000000000000:log-group:/app/api" || g.LogGroupClass != types.LogGroupClassStandard {
		t.Fatalf("item %+v", g)
	}
	out, err = c.ListLogGroups(ctx, &cwl.ListLogGroupsInput{Limit: aws.Int32(3), NextToken: out.NextToken})
	if err != nil || len(out.LogGroups) != 1 || out.NextToken != nil || *out.LogGroups[0].LogGroupName != "other-lambda" {
		t.Fatalf("page 2: %v %+v", err, out)
	}
	r := s.Call(t, "ListLogGroups", []byte(`{"limit":1001}`))
	if r.Code != "InvalidParameterException" || r.Message != "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000" {
		t.Fatalf("limit: %s", r)
	}
	r = s.Call(t, "ListLogGroups", []byte(`{"logGroupNamePattern":"ab"}`))
	if r.Code != "InvalidParameterException" || r.Message != "2 validation errors detected: Value 'ab' at 'logGroupNamePattern' failed to satisfy constraint: Member must have length greater than or equal to 3; Value 'ab' at 'logGroupNamePattern' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\^?[\\.\\-_\\/#A-Za-z0-9]{3,24})(\\|\\^?[\\.\\-_\\/#A-Za-z0-9]{3,24}){0,4}" {
		t.Fatalf("pattern: %s", r)
	}
	r = s.Call(t, "ListLogGroups", []byte(`{"nextToken":"x"}`))
	if r.Code != "InvalidParameterException" || r.Message != "The specified nextToken is invalid." {
		t.Fatalf("token: %s", r)
	}
}
