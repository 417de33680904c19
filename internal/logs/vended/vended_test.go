package vended_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

const cf = "arn:aws:cloudfront::000000000000:distribution/E1Q5F5862X9VJ5"

// TestDeliveryLifecycle: source, destination, policy and delivery through
// the SDK, with the recorded shapes, defaults and not-found texts.
func TestDeliveryLifecycle(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := t.Context()
	src, err := c.PutDeliverySource(ctx, &cwl.PutDeliverySourceInput{Name: aws.String("cf-src"), ResourceArn: aws.String(cf), LogType: aws.String("ACCESS_LOGS"), Tags: map[string]string{"key1": "value1"}})
	if err != nil {
		t.Fatal(err)
	}
	s := src.DeliverySource
	if *s.Arn != "arn:aws:logs:us-east-1:000000000000:delivery-source:cf-src" || *s.Service != "cloudfront" || s.ResourceArns[0] != cf || s.Tags["key1"] != "value1" {
		t.Fatalf("source %+v", s)
	}
	got, err := c.GetDeliverySource(ctx, &cwl.GetDeliverySourceInput{Name: aws.String("cf-src")})
	if err != nil || got.DeliverySource.Tags != nil || *got.DeliverySource.LogType != "ACCESS_LOGS" {
		t.Fatalf("get source: %v %+v", err, got)
	}
	_, err = c.GetDeliverySource(ctx, &cwl.GetDeliverySourceInput{Name: aws.String("nope")})
	harness.WantErr(t, err, "ResourceNotFoundException", "Requested Delivery Source does not exist in this account.")
	_, err = c.PutDeliverySource(ctx, &cwl.PutDeliverySourceInput{Name: aws.String("s3"), ResourceArn: aws.String("arn:aws:s3:::my-bucket"), LogType: aws.String("ACCESS_LOGS")})
	harness.WantErr(t, err, "ResourceNotFoundException", "Cannot access provided service.")
	_, err = c.PutDeliverySource(ctx, &cwl.PutDeliverySourceInput{Name: aws.String("x"), ResourceArn: aws.String(cf), LogType: aws.String("EVENT_LOGS")})
	harness.WantErr(t, err, "ValidationException", "Log type EVENT_LOGS is not supported by service cloudfront. Supported log types: [ACCESS_LOGS]")

	dest, err := c.PutDeliveryDestination(ctx, &cwl.PutDeliveryDestinationInput{Name: aws.String("s3-dest"), OutputFormat: types.OutputFormatJson,
		DeliveryDestinationConfiguration: &types.DeliveryDestinationConfiguration{DestinationResourceArn: aws.String("arn:aws:s3:::my-log-bucket")}})
	if err != nil {
		t.Fatal(err)
	}
	if dest.DeliveryDestination.DeliveryDestinationType != types.DeliveryDestinationTypeS3 || *dest.DeliveryDestination.Arn != "arn:aws:logs:us-east-1:000000000000:delivery-destination:s3-dest" {
		t.Fatalf("destination %+v", dest.DeliveryDestination)
	}
	// A second Put replaces everything: no outputFormat now (recorded).
	dest, err = c.PutDeliveryDestination(ctx, &cwl.PutDeliveryDestinationInput{Name: aws.String("s3-dest"),
		DeliveryDestinationConfiguration: &types.DeliveryDestinationConfiguration{DestinationResourceArn: aws.String("arn:aws:s3:::other-bucket")}})
	if err != nil || dest.DeliveryDestination.OutputFormat != "" || *dest.DeliveryDestination.DeliveryDestinationConfiguration.DestinationResourceArn != "arn:aws:s3:::other-bucket" {
		t.Fatalf("replace: %v %+v", err, dest)
	}
	_, err = c.PutDeliveryDestination(ctx, &cwl.PutDeliveryDestinationInput{Name: aws.String("s3-dest"),
		DeliveryDestinationConfiguration: &types.DeliveryDestinationConfiguration{DestinationResourceArn: aws.String("arn:aws:firehose:us-east-1:000000000000:deliverystream/x")}})
	harness.WantErr(t, err, "ConflictException", "Delivery destination s3-dest already exists with destination type S3.")
	_, err = c.PutDeliveryDestination(ctx, &cwl.PutDeliveryDestinationInput{Name: aws.String("cwl"),
		DeliveryDestinationConfiguration: &types.DeliveryDestinationConfiguration{DestinationResourceArn: aws.String("arn:aws:logs:us-east-1:000000000000:log-group:missing")}})
	harness.WantErr(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	r := h.Call(t, "PutDeliveryDestination", []byte(`{"name":"d","outputFormat":"foobar"}`))
	if r.Code != "ValidationException" || r.Message != "1 validation error detected: Value 'foobar' at 'outputFormat' failed to satisfy constraint: Member must satisfy enum value set: [json, plain, w3c, raw, parquet]" {
		t.Fatalf("enum: %s", r)
	}
	r = h.Call(t, "GetDeliveryDestination", []byte(`{"name":"bad name"}`))
	if r.Code != "ValidationException" || r.Message != "1 validation error detected: Value 'bad name' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w-]*" {
		t.Fatalf("pattern: %s", r)
	}
	_, err = c.GetDeliveryDestination(ctx, &cwl.GetDeliveryDestinationInput{Name: aws.String("nope")})
	harness.WantErr(t, err, "ResourceNotFoundException", "Requested Delivery Destination does not exist in this account.")

	pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"111111111111"},"Action":"logs:CreateDelivery","Resource":"*"}]}`
	p, err := c.PutDeliveryDestinationPolicy(ctx, &cwl.PutDeliveryDestinationPolicyInput{DeliveryDestinationName: aws.String("s3-dest"), DeliveryDestinationPolicy: aws.String(pol)})
	if err != nil || *p.Policy.DeliveryDestinationPolicy != pol {
		t.Fatalf("policy: %v", err)
	}
	if _, err := c.DeleteDeliveryDestinationPolicy(ctx, &cwl.DeleteDeliveryDestinationPolicyInput{DeliveryDestinationName: aws.String("s3-dest")}); err != nil {
		t.Fatal(err)
	}
	r = h.Call(t, "GetDeliveryDestinationPolicy", []byte(`{"deliveryDestinationName":"s3-dest"}`))
	if r.Status != 200 || string(r.Body) != `{"policy":{}}` {
		t.Fatalf("policy after delete: %s", r)
	}

	d, err := c.CreateDelivery(ctx, &cwl.CreateDeliveryInput{DeliverySourceName: aws.String("cf-src"), DeliveryDestinationArn: dest.DeliveryDestination.Arn})
	if err != nil {
		t.Fatal(err)
	}
	dl := d.Delivery
	if len(dl.RecordFields) != 33 || dl.RecordFields[0] != "date" || dl.RecordFields[32] != "sc-range-end" || dl.FieldDelimiter != nil ||
		*dl.S3DeliveryConfiguration.SuffixPath != "AWSLogs/{account-id}/CloudFront/" || *dl.S3DeliveryConfiguration.EnableHiveCompatiblePath ||
		*dl.Arn != "arn:aws:logs:us-east-1:000000000000:delivery:"+*dl.Id || dl.DeliveryDestinationType != types.DeliveryDestinationTypeS3 {
		t.Fatalf("delivery defaults %+v", dl)
	}
	_, err = c.CreateDelivery(ctx, &cwl.CreateDeliveryInput{DeliverySourceName: aws.String("cf-src"), DeliveryDestinationArn: dest.DeliveryDestination.Arn})
	harness.WantErr(t, err, "ConflictException", "A delivery already exists between delivery source cf-src and delivery destination s3-dest.")
	_, err = c.DeleteDeliverySource(ctx, &cwl.DeleteDeliverySourceInput{Name: aws.String("cf-src")})
	harness.WantErr(t, err, "ConflictException", "Delivery source cf-src is used by a delivery; delete the delivery first.")
	_, err = c.UpdateDeliveryConfiguration(ctx, &cwl.UpdateDeliveryConfigurationInput{Id: dl.Id, RecordFields: []string{"date", "bogus"}})
	harness.WantErr(t, err, "ValidationException", "Record field bogus is not allowed for cloudfront ACCESS_LOGS.")
	_, err = c.UpdateDeliveryConfiguration(ctx, &cwl.UpdateDeliveryConfigurationInput{Id: dl.Id, FieldDelimiter: aws.String(";")})
	harness.WantErr(t, err, "ValidationException", "Field delimiter ; is not allowed. Allowed delimiters: [,, \\t,  , |]")
	_, err = c.UpdateDeliveryConfiguration(ctx, &cwl.UpdateDeliveryConfigurationInput{Id: dl.Id, S3DeliveryConfiguration: &types.S3DeliveryConfiguration{SuffixPath: aws.String("x/{nope}/")}})
	harness.WantErr(t, err, "ValidationException", "Suffix path field {nope} is not allowed. Allowed fields: [{account-id}, {DistributionId}, {yyyy}, {MM}, {dd}, {HH}]")
	if _, err := c.UpdateDeliveryConfiguration(ctx, &cwl.UpdateDeliveryConfigurationInput{Id: dl.Id, RecordFields: []string{"date"}, FieldDelimiter: aws.String(",")}); err != nil {
		t.Fatal(err)
	}
	g, err := c.GetDelivery(ctx, &cwl.GetDeliveryInput{Id: dl.Id})
	if err != nil || !slices.Equal(g.Delivery.RecordFields, []string{"date"}) || *g.Delivery.FieldDelimiter != "," || g.Delivery.Tags != nil {
		t.Fatalf("after update: %v %+v", err, g)
	}
	all, err := c.DescribeDeliveries(ctx, &cwl.DescribeDeliveriesInput{})
	if err != nil || len(all.Deliveries) != 1 {
		t.Fatalf("describe: %v %+v", err, all)
	}
	if _, err := c.DeleteDelivery(ctx, &cwl.DeleteDeliveryInput{Id: dl.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetDelivery(ctx, &cwl.GetDeliveryInput{Id: dl.Id})
	harness.WantErr(t, err, "ResourceNotFoundException", "Requested Delivery does not exist in this account.")
	if _, err := c.DeleteDeliverySource(ctx, &cwl.DeleteDeliverySourceInput{Name: aws.String("cf-src")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteDeliveryDestination(ctx, &cwl.DeleteDeliveryDestinationInput{Name: aws.String("s3-dest")}); err != nil {
		t.Fatal(err)
	}
	srcs, _ := c.DescribeDeliverySources(ctx, &cwl.DescribeDeliverySourcesInput{})
	dests, _ := c.DescribeDeliveryDestinations(ctx, &cwl.DescribeDeliveryDestinationsInput{})
	if len(srcs.DeliverySources) != 0 || len(dests.DeliveryDestinations) != 0 {
		t.Fatalf("left: %+v %+v", srcs, dests)
	}
}

// TestConfigurationTemplates: the three CloudFront templates and the filters.
func TestConfigurationTemplates(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	out, err := c.DescribeConfigurationTemplates(t.Context(), &cwl.DescribeConfigurationTemplatesInput{Service: aws.String("cloudfront")})
	if err != nil || len(out.ConfigurationTemplates) != 3 {
		t.Fatalf("%v %+v", err, out)
	}
	out, err = c.DescribeConfigurationTemplates(t.Context(), &cwl.DescribeConfigurationTemplatesInput{DeliveryDestinationTypes: []types.DeliveryDestinationType{types.DeliveryDestinationTypeCwl}, Limit: aws.Int32(1)})
	if err != nil || len(out.ConfigurationTemplates) != 1 || out.ConfigurationTemplates[0].DeliveryDestinationType != types.DeliveryDestinationTypeCwl || out.NextToken != nil {
		t.Fatalf("%v %+v", err, out)
	}
	r := h.Call(t, "DescribeConfigurationTemplates", []byte(`{"limit":0}`))
	if r.Code != "ValidationException" || r.Message != "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1" {
		t.Fatalf("limit: %s", r)
	}
}
