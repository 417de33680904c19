package logs_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/leakcheck"
)

func TestMain(m *testing.M) {
	os.Exit(leakcheck.Main(m, "github.com/cairnlog/cairn/"))
}

// server is the real server (harness.Start); Live Tail's tests, which need
// the hub and a session limit, have their own in logs/livetail.
type server struct{ *harness.Server }

func startServer(tb testing.TB, _ time.Duration) *server {
	tb.Helper()
	return &server{harness.Start(tb)}
}

func (s *server) client() *cwl.Client { return s.Client() }

func setup(t testing.TB, c *cwl.Client, group string, streams ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: &group}); err != nil {
		t.Fatal(err)
	}
	for _, s := range streams {
		if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: &group, LogStreamName: aws.String(s)}); err != nil {
			t.Fatal(err)
		}
	}
}

func put(t testing.TB, c *cwl.Client, group, stream string, msgs ...string) {
	t.Helper()
	evs := make([]types.InputLogEvent, len(msgs))
	for i, m := range msgs {
		evs[i] = types.InputLogEvent{Message: aws.String(m), Timestamp: aws.Int64(time.Now().UnixMilli())}
	}
	if _, err := c.PutLogEvents(context.Background(), &cwl.PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream, LogEvents: evs}); err != nil {
		t.Fatal(err)
	}
}
