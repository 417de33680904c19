package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/pgtest"
)

// TestServers: two Cairn servers on one PostgreSQL database, driven with
// the AWS SDK. A group, stream and events written through one are read
// through the other at once (GetLogEvents, FilterLogEvents), and a Live
// Tail session on the second sees events put through the first (the
// NOTIFY relay).
func TestServers(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	a := harness.Start(t, harness.WithStore(url))
	b := harness.Start(t, harness.WithStore(url))
	ca, cb := a.Client(), b.Client()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	if _, err := ca.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cb.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cb.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("app")}); err == nil {
		t.Fatal("the second node created a group the first already has")
	}
	now := time.Now().UnixMilli()
	var events []types.InputLogEvent
	for i := 0; i < 50; i++ {
		msg := fmt.Sprintf("INFO request %d ok", i)
		if i%10 == 3 {
			msg = fmt.Sprintf("ERROR request %d failed", i)
		}
		events = append(events, types.InputLogEvent{Timestamp: aws.Int64(now - 1000 + int64(i)), Message: aws.String(msg)})
	}
	if _, err := ca.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("web"), LogEvents: events}); err != nil {
		t.Fatal(err)
	}
	got, err := cb.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("web"), StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Events) != len(events) {
		t.Fatalf("GetLogEvents on the other node: %d events, want %d", len(got.Events), len(events))
	}
	for i, e := range got.Events {
		if aws.ToString(e.Message) != aws.ToString(events[i].Message) || aws.ToInt64(e.Timestamp) != aws.ToInt64(events[i].Timestamp) {
			t.Fatalf("event %d: %q at %d, want %q at %d", i, aws.ToString(e.Message), aws.ToInt64(e.Timestamp),
				aws.ToString(events[i].Message), aws.ToInt64(events[i].Timestamp))
		}
	}
	f, err := cb.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("app"), FilterPattern: aws.String("ERROR")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ERROR request 3 failed", "ERROR request 13 failed", "ERROR request 23 failed", "ERROR request 33 failed", "ERROR request 43 failed"}
	if len(f.Events) != len(want) {
		t.Fatalf("FilterLogEvents: %d events, want %d", len(f.Events), len(want))
	}
	for i, e := range f.Events {
		if aws.ToString(e.Message) != want[i] || aws.ToString(e.LogStreamName) != "web" {
			t.Fatalf("filtered event %d: %+v, want %q", i, e, want[i])
		}
	}
	d, err := ca.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("app")})
	if err != nil || len(d.LogStreams) != 1 || aws.ToInt64(d.LogStreams[0].LastEventTimestamp) != now-1000+49 {
		t.Fatalf("DescribeLogStreams: %+v %v", d, err)
	}

	// Live Tail on b, events put through a.
	out, err := cb.StartLiveTail(ctx, &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"arn:aws:logs:us-east-1:000000000000:log-group:app"},
		LogEventFilterPattern: aws.String("ERROR")})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	defer stream.Close()
	for e := range stream.Events() {
		switch v := e.(type) {
		case *types.StartLiveTailResponseStreamMemberSessionStart:
			put := []types.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String("INFO fine")},
				{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String("ERROR from the other node")}}
			if _, err := ca.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("web"), LogEvents: put}); err != nil {
				t.Fatal(err)
			}
		case *types.StartLiveTailResponseStreamMemberSessionUpdate:
			for _, r := range v.Value.SessionResults {
				if slices.Contains(want, aws.ToString(r.Message)) {
					// Put before the session started, relayed by this
					// node's listener only after it did: the NOTIFY
					// arrives asynchronously.
					continue
				}
				if aws.ToString(r.Message) != "ERROR from the other node" {
					t.Fatalf("unexpected live tail event %q", aws.ToString(r.Message))
				}
				return
			}
		}
	}
	t.Fatalf("live tail ended without the other node's event: %v", stream.Err())
}

// TestSharedAuth: two servers on one database, each with its own data
// directory, have the same generated root key (the first node's, written
// to the second's credentials file too), and a session token issued by one
// node's STS is accepted by the other.
func TestSharedAuth(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	a := harness.Start(t, harness.WithStore(url))
	b := harness.Start(t, harness.WithStore(url))
	if a.Dir == b.Dir {
		t.Fatal("the nodes share a data directory")
	}
	if a.Creds.AccessKeyID != b.Creds.AccessKeyID || a.Creds.SecretAccessKey != b.Creds.SecretAccessKey || a.Creds.AccessKeyID == "" {
		t.Fatalf("root keys differ: %s and %s", a.Creds.AccessKeyID, b.Creds.AccessKeyID)
	}
	ctx := context.Background()
	tok, err := a.STSClientAs(a.Creds, "us-east-1").GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	session := aws.Credentials{AccessKeyID: aws.ToString(tok.Credentials.AccessKeyId),
		SecretAccessKey: aws.ToString(tok.Credentials.SecretAccessKey), SessionToken: aws.ToString(tok.Credentials.SessionToken)}
	if _, err := b.ClientAs(session, "us-east-1").CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("by-token")}); err != nil {
		t.Fatalf("the other node refused the session token: %v", err)
	}
	id, err := b.STSClientAs(session, "us-east-1").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != "000000000000" {
		t.Fatalf("GetCallerIdentity on the other node: %+v %v", id, err)
	}
	// A node restarted keeps the cluster's key.
	b.Restart()
	if _, err := b.ClientAs(session, "us-east-1").DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{}); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
}
