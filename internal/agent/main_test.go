package agent

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/leakcheck"
)

func TestMain(m *testing.M) {
	os.Exit(leakcheck.Main(m, "cairn/internal/agent."))
}

// storedMessages reads a whole stream, oldest first.
func storedMessages(t testing.TB, c *cwl.Client, group, stream string) []string {
	t.Helper()
	var out []string
	var token *string
	for {
		resp, err := c.GetLogEvents(context.Background(), &cwl.GetLogEventsInput{
			LogGroupName: aws.String(group), LogStreamName: aws.String(stream),
			StartFromHead: aws.Bool(true), NextToken: token,
		})
		if isCode(err, "ResourceNotFoundException") {
			return nil
		}
		if err != nil {
			t.Fatalf("GetLogEvents: %v", err)
		}
		for _, e := range resp.Events {
			out = append(out, aws.ToString(e.Message))
		}
		if token != nil && aws.ToString(resp.NextForwardToken) == aws.ToString(token) {
			return out
		}
		token = resp.NextForwardToken
	}
}

// storedCount polls until the stream holds at least n events.
func storedCount(t testing.TB, c *cwl.Client, group, stream string, n int) {
	t.Helper()
	harness.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if got := len(storedMessages(t, c, group, stream)); got < n {
			return fmt.Errorf("%s/%s holds %d events, want %d", group, stream, got, n)
		}
		return nil
	})
}
