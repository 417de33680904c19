package logs_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

// newService is the core family on a real engine in a temporary directory,
// with no HTTP in front: what a background worker holds.
func newService(t *testing.T) *logs.Service {
	t.Helper()
	engine, err := embedded.Open(embedded.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := engine.Close(); err != nil {
			t.Error(err)
		}
	})
	return logs.New(logs.Config{Store: engine, Compile: func(expr string) (logs.Pattern, error) { return pattern.Compile(expr) }})
}

func wantAWS(t *testing.T, err error, code awserr.Code, msg string) {
	t.Helper()
	e, ok := awserr.As(err)
	if !ok || e.Code != code || e.Message != msg {
		t.Fatalf("got %v, want %s: %s", err, code, msg)
	}
}

// TestWorkerCallsService: a worker calls the typed operations directly with
// a System caller: its rights are exactly what it was given, its input is
// validated as a client's is, and it acts in its own account and region.
func TestWorkerCallsService(t *testing.T) {
	svc := newService(t)
	ctx := context.Background()
	const acct, region = "123456789012", "eu-west-1"
	w := caller.System(acct, region, "query-worker",
		"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:GetLogEvents", "logs:DescribeLogGroups")

	if _, err := svc.CreateLogGroup(ctx, w, &logs.CreateLogGroupInput{LogGroupName: "jobs"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateLogStream(ctx, w, &logs.CreateLogStreamInput{LogGroupName: "jobs", LogStreamName: "run-1"}); err != nil {
		t.Fatal(err)
	}
	group, stream := "jobs", "run-1"
	now := time.Now().UnixMilli()
	if _, err := svc.PutLogEvents(ctx, w, &logs.PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream,
		LogEvents: []logs.InputLogEvent{{Timestamp: now, Message: "started"}, {Timestamp: now, Message: "done"}}}); err != nil {
		t.Fatal(err)
	}
	// PutLogEvents validates its members itself, so a direct call is
	// checked with the same wording a client gets.
	_, err := svc.PutLogEvents(ctx, w, &logs.PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream, LogEvents: []logs.InputLogEvent{}})
	wantAWS(t, err, awserr.InvalidParameter, "1 validation error detected: Value '[]' at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1")

	head := true
	got, err := svc.GetLogEvents(ctx, w, &logs.GetLogEventsInput{LogGroupName: "jobs", LogStreamName: "run-1", StartFromHead: &head})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, e := range got.Events {
		msgs = append(msgs, e.Message)
	}
	if !slices.Equal(msgs, []string{"started", "done"}) {
		t.Fatalf("read %q", msgs)
	}

	// Not granted: refused as AWS refuses an IAM user without a policy,
	// and nothing changed.
	_, err = svc.DeleteLogGroup(ctx, w, &logs.DeleteLogGroupInput{LogGroupName: "jobs"})
	wantAWS(t, err, awserr.AccessDenied, "User: arn:aws:iam::123456789012:user/cairn-system/query-worker is not authorized to perform: logs:DeleteLogGroup "+
		"on resource: arn:aws:logs:eu-west-1:123456789012:log-group:jobs:log-stream: because no identity-based policy allows the logs:DeleteLogGroup action")
	groups, err := svc.DescribeLogGroups(ctx, w, &logs.DescribeLogGroupsInput{})
	if err != nil || len(groups.LogGroups) != 1 || groups.LogGroups[0].LogGroupName != "jobs" {
		t.Fatalf("after a refused delete: %+v, %v", groups, err)
	}

	// Another region of the same account is another place.
	other := caller.System(acct, "eu-north-1", "query-worker", "logs:DescribeLogGroups")
	if groups, err := svc.DescribeLogGroups(ctx, other, &logs.DescribeLogGroupsInput{}); err != nil || len(groups.LogGroups) != 0 {
		t.Fatalf("eu-north-1 sees %+v, %v", groups, err)
	}
}

// TestCallerAuthorizer: the service asks the caller's own Authorizer, with
// the action and the resource ARN IAM would evaluate, before it touches
// anything; a refusal comes back as the authorizer said it.
func TestCallerAuthorizer(t *testing.T) {
	svc := newService(t)
	ctx := context.Background()
	var asked []string
	refusal := awserr.ImplicitDeny("test", "logs:CreateLogGroup", "secret", false)
	c := caller.Caller{Account: "123456789012", Region: "us-east-1", RequestID: "req-1",
		Authorizer: func(action, resource string) error {
			asked = append(asked, action+" "+resource)
			if strings.HasPrefix(resource, "arn:aws:logs:us-east-1:123456789012:log-group:secret") {
				return refusal
			}
			return nil
		}}
	if _, err := svc.CreateLogGroup(ctx, c, &logs.CreateLogGroupInput{LogGroupName: "open"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateLogGroup(ctx, c, &logs.CreateLogGroupInput{LogGroupName: "secret"}); !errors.Is(err, refusal) {
		t.Fatalf("CreateLogGroup secret: %v, want the authorizer's refusal", err)
	}
	_, err := svc.ListTagsLogGroup(ctx, c, &logs.ListTagsLogGroupInput{LogGroupName: "secret"})
	if !errors.Is(err, refusal) {
		t.Fatalf("ListTagsLogGroup secret: %v, want the refusal before the lookup", err)
	}
	want := []string{
		"logs:CreateLogGroup arn:aws:logs:us-east-1:123456789012:log-group:open:log-stream:",
		"logs:CreateLogGroup arn:aws:logs:us-east-1:123456789012:log-group:secret:log-stream:",
		"logs:ListTagsLogGroup arn:aws:logs:us-east-1:123456789012:log-group:secret",
	}
	if !slices.Equal(asked, want) {
		t.Fatalf("asked\n%s\nwant\n%s", strings.Join(asked, "\n"), strings.Join(want, "\n"))
	}

	// A Caller nobody gave an authorizer is refused everything (with an
	// internal error: that is a bug in the code that built it).
	if _, err := svc.CreateLogGroup(ctx, caller.Caller{Account: "123456789012", Region: "us-east-1"}, &logs.CreateLogGroupInput{LogGroupName: "x"}); err == nil {
		t.Fatal("a caller without an authorizer created a group")
	} else if _, isAWS := awserr.As(err); isAWS {
		t.Fatalf("a caller without an authorizer got %v, want an internal error", err)
	}
}

// TestPutLogEventsViolations: PutLogEvents lists the model's violations of
// its names and its own of the events in one error, in member order, with
// the model walk's wording, as AWS's validation framework does.
func TestPutLogEventsViolations(t *testing.T) {
	svc := newService(t)
	w := caller.System("123456789012", "eu-west-1", "worker", "logs:PutLogEvents")
	group, stream := "", "a:b"
	_, err := svc.PutLogEvents(context.Background(), w, &logs.PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream,
		LogEvents: []logs.InputLogEvent{{Timestamp: 1, Message: "ok"}, {Timestamp: -1, Message: ""}}})
	wantAWS(t, err, awserr.InvalidParameter, "5 validation errors detected: "+
		"Value '' at 'logGroupName' failed to satisfy constraint: Member must have length greater than or equal to 1; "+
		"Value at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+; "+
		"Value 'a:b' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*; "+
		"Value '-1' at 'logEvents.2.member.timestamp' failed to satisfy constraint: Member must have value greater than or equal to 0; "+
		"Value '' at 'logEvents.2.member.message' failed to satisfy constraint: Member must have length greater than or equal to 1")
	_, err = svc.PutLogEvents(context.Background(), w, &logs.PutLogEventsInput{LogEvents: make([]logs.InputLogEvent, 10_001)})
	e, _ := awserr.As(err)
	if e == nil || !strings.HasPrefix(e.Message, "10004 validation errors detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null; "+
		"Value null at 'logStreamName' failed to satisfy constraint: Member must not be null; "+
		"Value '[10001 events]' at 'logEvents' failed to satisfy constraint: Member must have length less than or equal to 10000; "+
		"Value '' at 'logEvents.1.member.message' failed to satisfy constraint: Member must have length greater than or equal to 1; ") {
		msg := fmt.Sprint(err)
		t.Fatalf("10,001 empty events: %.600s", msg)
	}
}
