package logs_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// TestBackwardTokenOfEmptyRead: GetLogEvents on an empty stream hands
// out a backward token "before the end of time"; once events arrive, that
// token must read them (it brackets an empty window with no endTime).
func TestBackwardTokenOfEmptyRead(t *testing.T) {
	s := startServer(t, 0)
	c := s.client()
	ctx := context.Background()
	harness.CreateGroup(t, c, "g", "s")
	first, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")})
	if err != nil {
		t.Fatal(err)
	}
	harness.PutMessages(t, c, "g", "s", "one", "two")
	out, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), NextToken: first.NextBackwardToken})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Events) != 2 {
		t.Fatalf("backward token %s read %d events, want 2 (returned token %s)", *first.NextBackwardToken, len(out.Events), *out.NextBackwardToken)
	}
}

// TestSpanCountsExpiredEvents: the reference (§3) defines the 24 h
// span over events inside [now−14 d, now+2 h]; an expired-by-retention event
// is inside that window, so this batch spans 3 days and must be refused.
func TestSpanCountsExpiredEvents(t *testing.T) {
	s := startServer(t, 0)
	c := s.client()
	ctx := context.Background()
	harness.CreateGroup(t, c, "g", "s")
	if _, err := c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	out, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: []types.InputLogEvent{
		{Timestamp: aws.Int64(now - 3*86_400_000), Message: aws.String("old")},
		{Timestamp: aws.Int64(now), Message: aws.String("new")},
	}})
	if err == nil {
		t.Fatalf("3-day batch accepted: rejected=%+v", *out.RejectedLogEventsInfo)
	}
}
