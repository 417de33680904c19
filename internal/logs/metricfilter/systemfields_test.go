package metricfilter_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

// TestSystemFieldValues: PutMetricFilter's emitSystemFieldDimensions and
// PutSubscriptionFilter's emitSystemFields refuse a value outside the set
// the model documents for each, in one wording, and before any rule that
// combines members (here: dimensions on a term pattern, with defaultValue).
func TestSystemFieldValues(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := t.Context()
	createGroup(t, c, "/g")
	_, err := c.PutMetricFilter(ctx, &cwl.PutMetricFilterInput{LogGroupName: aws.String("/g"), FilterName: aws.String("f"), FilterPattern: aws.String("ERROR"),
		EmitSystemFieldDimensions: []string{"@aws.account", "@source.log"},
		MetricTransformations: []types.MetricTransformation{{MetricName: aws.String("m"), MetricNamespace: aws.String("n"), MetricValue: aws.String("1"),
			DefaultValue: aws.Float64(0)}}})
	wantErr(t, err, "InvalidParameterException", "1 validation error detected: Value '[@aws.account, @source.log]' at 'emitSystemFieldDimensions' "+
		"failed to satisfy constraint: Member must satisfy enum value set: [@aws.account, @aws.region]")
	_, err = c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("/g"), FilterName: aws.String("f"), FilterPattern: aws.String(""),
		DestinationArn: aws.String("arn:aws:lambda:us-east-1:000000000000:function:f"), EmitSystemFields: []string{"@aws.region", "@bogus"}})
	wantErr(t, err, "InvalidParameterException", "1 validation error detected: Value '[@aws.region, @bogus]' at 'emitSystemFields' "+
		"failed to satisfy constraint: Member must satisfy enum value set: [@aws.account, @aws.region, @source.log]")
	// The documented values are taken and answered back.
	if _, err := c.PutMetricFilter(ctx, &cwl.PutMetricFilterInput{LogGroupName: aws.String("/g"), FilterName: aws.String("f"), FilterPattern: aws.String("{ $.x = 1 }"),
		EmitSystemFieldDimensions: []string{"@aws.region"},
		MetricTransformations:     []types.MetricTransformation{{MetricName: aws.String("m"), MetricNamespace: aws.String("n"), MetricValue: aws.String("1")}}}); err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeMetricFilters(ctx, &cwl.DescribeMetricFiltersInput{LogGroupName: aws.String("/g")})
	if err != nil || len(out.MetricFilters) != 1 || len(out.MetricFilters[0].EmitSystemFieldDimensions) != 1 || out.MetricFilters[0].EmitSystemFieldDimensions[0] != "@aws.region" {
		t.Fatalf("describe: %+v %v", out, err)
	}
}
