package server_test

import (
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

// TestTagsOnEveryTaggableARN: TagResource, UntagResource and
// ListTagsForResource on the ARN of each taggable resource the model lists
// (delivery source, delivery destination, delivery, destination, anomaly
// detector), with the tags given at creation kept, the 50-tag limit, and a
// resource that does not exist.
func TestTagsOnEveryTaggableARN(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := t.Context()
	const acct = "arn:aws:logs:" + harness.DefaultRegion + ":000000000000:"
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	created := map[string]string{"made": "at-create"}
	src, err := c.PutDeliverySource(ctx, &cwl.PutDeliverySourceInput{Name: aws.String("src"), ResourceArn: aws.String("arn:aws:cloudfront::000000000000:distribution/E1Q5F5862X9VJ5"),
		LogType: aws.String("ACCESS_LOGS"), Tags: created})
	if err != nil {
		t.Fatal(err)
	}
	dst, err := c.PutDeliveryDestination(ctx, &cwl.PutDeliveryDestinationInput{Name: aws.String("dst"), Tags: created,
		DeliveryDestinationConfiguration: &types.DeliveryDestinationConfiguration{DestinationResourceArn: aws.String("arn:aws:s3:::my-log-bucket")}})
	if err != nil {
		t.Fatal(err)
	}
	del, err := c.CreateDelivery(ctx, &cwl.CreateDeliveryInput{DeliverySourceName: aws.String("src"), DeliveryDestinationArn: dst.DeliveryDestination.Arn, Tags: created})
	if err != nil {
		t.Fatal(err)
	}
	dest, err := c.PutDestination(ctx, &cwl.PutDestinationInput{DestinationName: aws.String("central"), Tags: created,
		TargetArn: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/s"), RoleArn: aws.String("arn:aws:iam::000000000000:role/r")})
	if err != nil {
		t.Fatal(err)
	}
	det, err := c.CreateLogAnomalyDetector(ctx, &cwl.CreateLogAnomalyDetectorInput{LogGroupArnList: []string{acct + "log-group:app"}, Tags: created,
		DetectorName: aws.String("d"), EvaluationFrequency: types.EvaluationFrequencyFiveMin})
	if err != nil {
		t.Fatal(err)
	}
	arns := []string{*src.DeliverySource.Arn, *dst.DeliveryDestination.Arn, *del.Delivery.Arn, *dest.Destination.Arn, *det.AnomalyDetectorArn}
	want := map[string]string{acct + "delivery-source:src": "", acct + "delivery-destination:dst": "", acct + "destination:central": ""}
	for _, a := range arns[:2] {
		if _, ok := want[a]; !ok {
			t.Fatalf("unexpected ARN form %s", a)
		}
	}
	for _, arn := range arns {
		list := func() map[string]string {
			t.Helper()
			out, err := c.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
			if err != nil {
				t.Fatalf("%s: %v", arn, err)
			}
			return out.Tags
		}
		if got := list(); !maps.Equal(got, created) {
			t.Errorf("%s: tags at creation %v", arn, got)
		}
		if _, err := c.TagResource(ctx, &cwl.TagResourceInput{ResourceArn: aws.String(arn), Tags: map[string]string{"team": "a", "env": "prod"}}); err != nil {
			t.Fatalf("%s: %v", arn, err)
		}
		if got := list(); !maps.Equal(got, map[string]string{"made": "at-create", "team": "a", "env": "prod"}) {
			t.Errorf("%s: after tag %v", arn, got)
		}
		if _, err := c.UntagResource(ctx, &cwl.UntagResourceInput{ResourceArn: aws.String(arn), TagKeys: []string{"made", "team", "absent"}}); err != nil {
			t.Fatalf("%s: %v", arn, err)
		}
		if got := list(); !maps.Equal(got, map[string]string{"env": "prod"}) {
			t.Errorf("%s: after untag %v", arn, got)
		}
		many := map[string]string{}
		for i := range 50 {
			many[string(rune('a'+i%26))+string(rune('a'+i/26))] = "v"
		}
		// 50 new keys (the model's per-request maximum) with env: 51.
		r := h.Call(t, "TagResource", []byte(`{"resourceArn":"`+arn+`","tags":`+jsonMap(many)+`}`))
		if r.Code != "TooManyTagsException" || r.Message != "A resource can have no more than 50 tags." {
			t.Errorf("%s: 51 tags: %s", arn, r)
		}
		if got := list(); !maps.Equal(got, map[string]string{"env": "prod"}) {
			t.Errorf("%s: a refused tagging changed the tags: %v", arn, got)
		}
	}
	// The resource still reads as before (its other members kept).
	got, err := c.GetDeliverySource(ctx, &cwl.GetDeliverySourceInput{Name: aws.String("src")})
	if err != nil || *got.DeliverySource.LogType != "ACCESS_LOGS" {
		t.Fatalf("source after tagging: %v %+v", err, got)
	}
	for _, arn := range []string{acct + "delivery-source:nope", acct + "anomaly-detector:nope", acct + "scheduled-query:x", "arn:aws:logs:eu-west-1:000000000000:destination:central"} {
		r := h.Call(t, "ListTagsForResource", []byte(`{"resourceArn":"`+arn+`"}`))
		if r.Code != "ResourceNotFoundException" || r.Message != "The specified resource does not exist." {
			t.Errorf("%s: %s", arn, r)
		}
	}
}

func jsonMap(m map[string]string) string {
	s := "{"
	for k, v := range m {
		if len(s) > 1 {
			s += ","
		}
		s += `"` + k + `":"` + v + `"`
	}
	return s + "}"
}
