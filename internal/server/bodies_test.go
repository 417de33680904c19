package server_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/harness"
)

// TestCaseVariantMembers (issue 8, defect 3): a member spelled in another
// case is an unknown member, which AWS ignores: it neither names the group
// nor slips past validation, and a member given twice is refused.
func TestCaseVariantMembers(t *testing.T) {
	s := harness.Start(t)
	ctx := context.Background()
	c := s.Client()
	f := func(op, body string, wantStatus int, wantType string) {
		t.Helper()
		r := s.Call(t, op, []byte(body))
		if r.Status != wantStatus || wantType != "" && r.Code != wantType {
			t.Fatalf("%s %s: %d %s", op, body, r.Status, r.Body)
		}
	}
	f("CreateLogGroup", `{"logGroupName":"ok","LogGroupName":"bad name:*!!"}`, 200, "")
	f("CreateLogGroup", `{"LogGroupName":"bad name:*!!","logGroupName":"ok2"}`, 200, "")
	f("CreateLogGroup", `{"LogGroupName":"shared:log-stream:x-evil"}`, 400, "InvalidParameterException") // logGroupName is missing
	f("CreateLogGroup", `{"logGroupName":"ok3","logGroupName":"bad name:*!!"}`, 400, "SerializationException")
	f("CreateLogGroup", `{"logGroupName":"ok4","tags":{"a":"1"},"Tags":{"b":"2"}}`, 200, "")
	groups, err := c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range groups.LogGroups {
		names = append(names, *g.LogGroupName)
	}
	if len(names) != 3 || names[0] != "ok" || names[1] != "ok2" || names[2] != "ok4" {
		t.Fatalf("groups %v, want [ok ok2 ok4]", names)
	}
	tags, err := c.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:logs:us-east-1:000000000000:log-group:ok4")})
	if err != nil || len(tags.Tags) != 1 || tags.Tags["a"] != "1" {
		t.Fatalf("tags %v %v, want only a=1", tags, err)
	}

	// The hot path: members of the request and of each event.
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("ok"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	ts := time.Now().UnixMilli()
	body, _ := json.Marshal(map[string]any{"logGroupName": "ok", "logStreamName": "s", "LogStreamName": "other",
		"logEvents": []map[string]any{{"timestamp": ts, "Timestamp": 1, "message": "kept", "Message": "ignored"}}})
	f("PutLogEvents", string(body), 200, "")
	f("PutLogEvents", `{"logGroupName":"ok","logStreamName":"s","logEvents":[{"timestamp":1,"timestamp":2,"message":"m"}]}`, 400, "SerializationException")
	evs, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("ok"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)})
	if err != nil || len(evs.Events) != 1 || *evs.Events[0].Message != "kept" || *evs.Events[0].Timestamp != ts {
		t.Fatalf("events %+v %v", evs, err)
	}
}
