package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

// TestLiveTailThroughServer checks the server's wiring: events stored by
// PutLogEvents reach a StartLiveTail session opened with SigV4 credentials.
func TestLiveTailThroughServer(t *testing.T) {
	s := harness.Start(t)
	c := s.Client() // without the "stream-" host prefix: a loopback IP has no such name
	harness.CreateGroup(t, c, "app", "web")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := c.StartLiveTail(ctx, &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"arn:aws:logs:us-east-1:000000000000:log-group:app"},
		LogEventFilterPattern: aws.String("ERROR")})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	defer stream.Close()
	started := false
	put(t, c, "app", "web", ev(now(), "INFO fine"), ev(now(), "ERROR broken"))
	for e := range stream.Events() {
		switch v := e.(type) {
		case *types.StartLiveTailResponseStreamMemberSessionStart:
			started = true
		case *types.StartLiveTailResponseStreamMemberSessionUpdate:
			for _, r := range v.Value.SessionResults {
				if aws.ToString(r.Message) != "ERROR broken" {
					t.Fatalf("unexpected event %q", aws.ToString(r.Message))
				}
				if !started {
					t.Fatal("an update before sessionStart")
				}
				return
			}
		}
	}
	t.Fatalf("stream ended without the event: %v", stream.Err())
}
