package logscli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

// interrupting is the real client, with a Ctrl-C (cancel) right after the
// first GetQueryResults, and a record of the StopQuery calls.
type interrupting struct {
	*cwl.Client
	cancel  context.CancelFunc
	stopped []string
	stopErr error
}

func (c *interrupting) GetQueryResults(ctx context.Context, in *cwl.GetQueryResultsInput, o ...func(*cwl.Options)) (*cwl.GetQueryResultsOutput, error) {
	out, err := c.Client.GetQueryResults(ctx, in, o...)
	c.cancel()
	return out, err
}

func (c *interrupting) StopQuery(ctx context.Context, in *cwl.StopQueryInput, o ...func(*cwl.Options)) (*cwl.StopQueryOutput, error) {
	c.stopped = append(c.stopped, aws.ToString(in.QueryId))
	out, err := c.Client.StopQuery(ctx, in, o...)
	c.stopErr = err
	return out, err
}

// TestQueryInterrupted: Ctrl-C while a query runs stops it on the server
// (StopQuery with the query's id, answered by the server: success, or the
// InvalidParameterException of a query that finished first).
func TestQueryInterrupted(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	g := "big"
	if _, err := c.CreateLogGroup(t.Context(), &cwl.CreateLogGroupInput{LogGroupName: &g}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(t.Context(), &cwl.CreateLogStreamInput{LogGroupName: &g, LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	evs := make([]types.InputLogEvent, 5000)
	for i := range evs {
		evs[i] = types.InputLogEvent{Timestamp: aws.Int64(now.Add(-time.Minute).UnixMilli() + int64(i)), Message: aws.String(fmt.Sprintf("line %d", i))}
	}
	if _, err := c.PutLogEvents(t.Context(), &cwl.PutLogEventsInput{LogGroupName: &g, LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ic := &interrupting{Client: c, cancel: cancel}
	var out, progress bytes.Buffer
	err := Query(ctx, ic, &out, QueryOptions{Groups: []string{g}, Query: "stats count() by bin(1s)", Start: now.Add(-time.Hour), End: now, Progress: &progress})
	if !errors.Is(err, ErrQueryStopped) {
		t.Fatalf("err %v", err)
	}
	if len(ic.stopped) != 1 {
		t.Fatalf("StopQuery calls %v", ic.stopped)
	}
	if ic.stopErr != nil && !bytes.Contains(progress.Bytes(), []byte("stopping it failed")) {
		t.Fatalf("a failed stop is not reported: %q", progress.String())
	}
	if ic.stopErr == nil && !bytes.Contains(progress.Bytes(), []byte("stopped")) {
		t.Fatalf("progress %q", progress.String())
	}
	// The server agrees: the query is Cancelled, or it had completed.
	r, err := c.GetQueryResults(t.Context(), &cwl.GetQueryResultsInput{QueryId: &ic.stopped[0]})
	if err != nil {
		t.Fatal(err)
	}
	if (ic.stopErr == nil) != (r.Status == types.QueryStatusCancelled) {
		t.Fatalf("stop answered %v, status %s", ic.stopErr, r.Status)
	}
}
