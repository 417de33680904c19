package metricfilter_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

// TestTerraformMetricFilterSequence replays what hashicorp/terraform-provider-aws
// (internal/service/logs/metric_filter.go) sends for aws_cloudwatch_log_metric_filter:
// create = PutMetricFilter (pattern trimmed, unit always sent, "None" by
// default, defaultValue only when set, dimensions only when non-empty) then
// read; read = DescribeMetricFilters{logGroupName, filterNamePrefix=name}
// through the paginator, exact-name match, ResourceNotFoundException meaning
// gone; update = the same Put; delete = DeleteMetricFilter, where
// ResourceNotFoundException counts as success.
func TestTerraformMetricFilterSequence(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := context.Background()
	createGroup(t, c, "tf")
	read := func(name string) (*types.MetricFilter, bool) {
		t.Helper()
		pages := cwl.NewDescribeMetricFiltersPaginator(c, &cwl.DescribeMetricFiltersInput{LogGroupName: aws.String("tf"), FilterNamePrefix: aws.String(name)})
		for pages.HasMorePages() {
			p, err := pages.NextPage(ctx)
			var rnf *types.ResourceNotFoundException
			if errors.As(err, &rnf) {
				return nil, false
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range p.MetricFilters {
				if *f.FilterName == name {
					return &f, true
				}
			}
		}
		return nil, false
	}
	put := func(name, pattern string, def *float64) {
		t.Helper()
		if _, err := c.PutMetricFilter(ctx, &cwl.PutMetricFilterInput{FilterName: aws.String(name), FilterPattern: aws.String(pattern), LogGroupName: aws.String("tf"),
			MetricTransformations: []types.MetricTransformation{{MetricName: aws.String("EventCount"), MetricNamespace: aws.String("YourNamespace"),
				MetricValue: aws.String("1"), Unit: types.StandardUnitNone, DefaultValue: def}}}); err != nil {
			t.Fatal(err)
		}
	}
	// A sibling whose name has the resource's as a prefix must not confuse the read.
	put("MyAppAccessCount-2", "", nil)
	put("MyAppAccessCount", "", nil)
	f, ok := read("MyAppAccessCount")
	if !ok || *f.FilterPattern != "" || f.ApplyOnTransformedLogs || len(f.MetricTransformations) != 1 {
		t.Fatalf("after create: %+v", f)
	}
	mt := f.MetricTransformations[0]
	if mt.Unit != types.StandardUnitNone || mt.DefaultValue != nil || mt.Dimensions != nil || *mt.MetricValue != "1" || *mt.MetricNamespace != "YourNamespace" {
		t.Fatalf("transformation after create: %+v", mt)
	}
	// Update: a pattern and a default value "0" (read back as 0).
	put("MyAppAccessCount", `[ip, user, status=4*]`, aws.Float64(0))
	f, ok = read("MyAppAccessCount")
	if !ok || *f.FilterPattern != "[ip, user, status=4*]" || f.MetricTransformations[0].DefaultValue == nil || *f.MetricTransformations[0].DefaultValue != 0 {
		t.Fatalf("after update: %+v", f)
	}
	for range 2 { // the second delete is RNF, which Terraform takes as done
		_, err := c.DeleteMetricFilter(ctx, &cwl.DeleteMetricFilterInput{FilterName: aws.String("MyAppAccessCount"), LogGroupName: aws.String("tf")})
		var rnf *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &rnf) {
			t.Fatal(err)
		}
	}
	if _, ok := read("MyAppAccessCount"); ok {
		t.Fatal("still read after destroy")
	}
	if _, ok := read("MyAppAccessCount-2"); !ok {
		t.Fatal("the sibling went too")
	}
	// The group gone: the read sees not found (RNF), not an error.
	c.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("tf")})
	if _, ok := read("MyAppAccessCount-2"); ok {
		t.Fatal("read after the group went")
	}
}
