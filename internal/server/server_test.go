package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// wantErr checks an operation failed with the AWS error code and message.
func wantErr(t testing.TB, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("want %s %q, got %s %q", code, msg, ae.ErrorCode(), ae.ErrorMessage())
	}
}

func now() int64 { return time.Now().UnixMilli() }

func put(t testing.TB, c *cwl.Client, group, stream string, events ...types.InputLogEvent) *cwl.PutLogEventsOutput {
	t.Helper()
	out, err := c.PutLogEvents(context.Background(), &cwl.PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream, LogEvents: events})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ev(ts int64, msg string) types.InputLogEvent {
	return types.InputLogEvent{Timestamp: aws.Int64(ts), Message: aws.String(msg)}
}

func TestGroupsAndStreams(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	ctx := context.Background()

	_, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/app/a"), Tags: map[string]string{"team": "core"},
		LogGroupClass: types.LogGroupClassInfrequentAccess, KmsKeyId: aws.String("arn:aws:kms:us-east-1:000000000000:key/abc")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/app/a")})
	wantErr(t, err, "ResourceAlreadyExistsException", "The specified log group already exists")
	for _, n := range []string{"/app/b", "/app/c", "/other", "Z-upper"} {
		must[*cwl.CreateLogGroupOutput](t)(c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(n)}))
	}

	// ASCII order, pagination, prefix and pattern.
	var names []string
	var token *string
	for pages := 0; ; pages++ {
		out := must[*cwl.DescribeLogGroupsOutput](t)(c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{Limit: aws.Int32(2), NextToken: token}))
		for _, g := range out.LogGroups {
			names = append(names, *g.LogGroupName)
		}
		if out.NextToken == nil {
			break
		}
		token = out.NextToken
	}
	if want := []string{"/app/a", "/app/b", "/app/c", "/other", "Z-upper"}; !slices.Equal(names, want) {
		t.Fatalf("groups %v, want %v", names, want)
	}
	out := must[*cwl.DescribeLogGroupsOutput](t)(c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/app/")}))
	if len(out.LogGroups) != 3 {
		t.Fatalf("prefix: %d groups", len(out.LogGroups))
	}
	g := out.LogGroups[0]
	if *g.Arn != "arn:aws:logs:us-east-1:000000000000:log-group:/app/a:*" || *g.LogGroupArn != "arn:aws:logs:us-east-1:000000000000:log-group:/app/a" ||
		g.LogGroupClass != types.LogGroupClassInfrequentAccess || *g.KmsKeyId == "" || g.RetentionInDays != nil || *g.StoredBytes != 0 ||
		*g.MetricFilterCount != 0 || *g.DeletionProtectionEnabled || *g.CreationTime == 0 {
		t.Fatalf("describe: %+v", g)
	}
	out = must[*cwl.DescribeLogGroupsOutput](t)(c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePattern: aws.String("pp/b")}))
	if len(out.LogGroups) != 1 || *out.LogGroups[0].LogGroupName != "/app/b" || out.LogGroups[0].StoredBytes != nil {
		t.Fatalf("pattern: %+v", out.LogGroups)
	}
	out = must[*cwl.DescribeLogGroupsOutput](t)(c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{
		LogGroupIdentifiers: []string{"/other", "arn:aws:logs:us-east-1:000000000000:log-group:/app/c", "missing"}}))
	if len(out.LogGroups) != 2 || *out.LogGroups[0].LogGroupName != "/app/c" || *out.LogGroups[1].LogGroupName != "/other" {
		t.Fatalf("identifiers: %+v", out.LogGroups)
	}
	_, err = c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("a"), LogGroupNamePattern: aws.String("b")})
	wantErr(t, err, "InvalidParameterException", "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
	_, err = c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{NextToken: aws.String("forged")})
	wantErr(t, err, "InvalidParameterException", "The specified nextToken is invalid.")

	// Streams.
	_, err = c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("/nope"), LogStreamName: aws.String("s")})
	wantErr(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	for _, n := range []string{"s3", "s1", "s2", "t1"} {
		must[*cwl.CreateLogStreamOutput](t)(c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("/app/a"), LogStreamName: aws.String(n)}))
	}
	_, err = c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("/app/a"), LogStreamName: aws.String("s1")})
	wantErr(t, err, "ResourceAlreadyExistsException", "The specified log stream already exists")
	base := now()
	put(t, c, "/app/a", "s2", ev(base-3000, "old"))
	put(t, c, "/app/a", "s3", ev(base-1000, "new"))
	put(t, c, "/app/a", "s1", ev(base-2000, "mid"), ev(base-1500, "mid2"))

	streamNames := func(in *cwl.DescribeLogStreamsInput) []string {
		var names []string
		for {
			out := must[*cwl.DescribeLogStreamsOutput](t)(c.DescribeLogStreams(ctx, in))
			for _, s := range out.LogStreams {
				names = append(names, *s.LogStreamName)
			}
			if out.NextToken == nil {
				return names
			}
			in.NextToken = out.NextToken
		}
	}
	f := func(in *cwl.DescribeLogStreamsInput, want ...string) {
		t.Helper()
		in.LogGroupName = aws.String("/app/a")
		in.Limit = aws.Int32(1)
		if got := streamNames(in); !slices.Equal(got, want) {
			t.Fatalf("streams %v, want %v", got, want)
		}
	}
	f(&cwl.DescribeLogStreamsInput{}, "s1", "s2", "s3", "t1")
	f(&cwl.DescribeLogStreamsInput{Descending: aws.Bool(true)}, "t1", "s3", "s2", "s1")
	f(&cwl.DescribeLogStreamsInput{LogStreamNamePrefix: aws.String("s")}, "s1", "s2", "s3")
	f(&cwl.DescribeLogStreamsInput{OrderBy: types.OrderByLastEventTime}, "t1", "s2", "s1", "s3")
	f(&cwl.DescribeLogStreamsInput{OrderBy: types.OrderByLastEventTime, Descending: aws.Bool(true)}, "s3", "s1", "s2", "t1")

	ds := must[*cwl.DescribeLogStreamsOutput](t)(c.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{
		LogGroupIdentifier: aws.String("arn:aws:logs:us-east-1:000000000000:log-group:/app/a"), LogStreamNamePrefix: aws.String("s1")}))
	st := ds.LogStreams[0]
	if *st.FirstEventTimestamp != base-2000 || *st.LastEventTimestamp != base-1500 || *st.LastIngestionTime == 0 || *st.UploadSequenceToken == "" ||
		*st.Arn != "arn:aws:logs:us-east-1:000000000000:log-group:/app/a:log-stream:s1" {
		t.Fatalf("stream: %+v", st)
	}
	ds = must[*cwl.DescribeLogStreamsOutput](t)(c.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("/app/a"), LogStreamNamePrefix: aws.String("t1")}))
	if st := ds.LogStreams[0]; st.FirstEventTimestamp != nil || st.LastEventTimestamp != nil || st.UploadSequenceToken != nil || st.StoredBytes == nil {
		t.Fatalf("empty stream: %+v", st)
	}
	_, err = c.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("/app/a"), LogGroupIdentifier: aws.String("/app/a")})
	wantErr(t, err, "ValidationException", "LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	_, err = c.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("/app/a"), OrderBy: types.OrderByLastEventTime, LogStreamNamePrefix: aws.String("s")})
	wantErr(t, err, "InvalidParameterException", "Cannot order by LastEventTime with a logStreamNamePrefix.")

	// Deletes.
	must[*cwl.DeleteLogStreamOutput](t)(c.DeleteLogStream(ctx, &cwl.DeleteLogStreamInput{LogGroupName: aws.String("/app/a"), LogStreamName: aws.String("s1")}))
	_, err = c.DeleteLogStream(ctx, &cwl.DeleteLogStreamInput{LogGroupName: aws.String("/app/a"), LogStreamName: aws.String("s1")})
	wantErr(t, err, "ResourceNotFoundException", "The specified log stream does not exist.")
	_, err = c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("/app/a"), LogStreamName: aws.String("s1")})
	wantErr(t, err, "ResourceNotFoundException", "The specified log stream does not exist.")
	// A re-created stream does not see the old stream's events.
	must[*cwl.CreateLogStreamOutput](t)(c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("/app/a"), LogStreamName: aws.String("s1")}))
	ge := must[*cwl.GetLogEventsOutput](t)(c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("/app/a"), LogStreamName: aws.String("s1")}))
	if len(ge.Events) != 0 {
		t.Fatalf("re-created stream has %d events", len(ge.Events))
	}
	must[*cwl.DeleteLogGroupOutput](t)(c.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("/app/a")}))
	_, err = c.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("/app/a")})
	wantErr(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	must[*cwl.CreateLogGroupOutput](t)(c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/app/a")}))
	fe := must[*cwl.FilterLogEventsOutput](t)(c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("/app/a")}))
	if len(fe.Events) != 0 {
		t.Fatalf("re-created group has %d events", len(fe.Events))
	}

	// Deletion protection.
	must[*cwl.PutLogGroupDeletionProtectionOutput](t)(c.PutLogGroupDeletionProtection(ctx, &cwl.PutLogGroupDeletionProtectionInput{
		LogGroupIdentifier: aws.String("/app/b"), DeletionProtectionEnabled: aws.Bool(true)}))
	_, err = c.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("/app/b")})
	wantErr(t, err, "OperationAbortedException", "")
}

func TestRegionsAreSeparate(t *testing.T) {
	s := harness.Start(t)
	ctx := context.Background()
	east, west := s.Client(), s.ClientAs(s.Creds, "eu-west-1")
	harness.CreateGroup(t, east, "g", "s")
	harness.CreateGroup(t, west, "g", "s") // same name, other region: no conflict
	put(t, east, "g", "s", ev(now(), "east"))
	put(t, west, "g", "s", ev(now(), "west"))
	for _, c := range []struct {
		cl   *cwl.Client
		want string
	}{{east, "east"}, {west, "west"}} {
		out := must[*cwl.FilterLogEventsOutput](t)(c.cl.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g")}))
		if len(out.Events) != 1 || *out.Events[0].Message != c.want {
			t.Fatalf("%s: %+v", c.want, out.Events)
		}
	}
	dg := must[*cwl.DescribeLogGroupsOutput](t)(west.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{}))
	if *dg.LogGroups[0].Arn != "arn:aws:logs:eu-west-1:000000000000:log-group:g:*" {
		t.Fatalf("arn %s", *dg.LogGroups[0].Arn)
	}
	// An ARN of the other region does not reach across.
	_, err := east.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupIdentifier: aws.String("arn:aws:logs:eu-west-1:000000000000:log-group:g"), LogStreamName: aws.String("s")})
	wantErr(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
}

func TestPutLogEventsRules(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	ctx := context.Background()
	harness.CreateGroup(t, c, "g", "s")
	n := now()
	p := func(events ...types.InputLogEvent) (*cwl.PutLogEventsOutput, error) {
		return c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: events,
			SequenceToken: aws.String("ignored-anything")})
	}
	out, err := p(ev(n, "a"), ev(n, "b"))
	if err != nil || out.NextSequenceToken == nil || len(*out.NextSequenceToken) != 56 || out.RejectedLogEventsInfo != nil {
		t.Fatalf("%+v %v", out, err)
	}
	_, err = p(ev(n, "b"), ev(n-1, "a"))
	wantErr(t, err, "InvalidParameterException", "Log events in a single PutLogEvents request must be in chronological order.")
	_, err = p(ev(n-25*3600_000, "a"), ev(n, "b"))
	wantErr(t, err, "InvalidParameterException", "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
	_, err = p(ev(n, ""))
	wantErr(t, err, "InvalidParameterException", "1 validation error detected: Value '' at 'logEvents.1.member.message' failed to satisfy constraint: Member must have length greater than or equal to 1")
	big := strings.Repeat("x", 1_048_576-26)
	if _, err = p(ev(n, big)); err != nil {
		t.Fatalf("a 1 MB event (with its 26 bytes) must be accepted: %v", err)
	}
	_, err = p(ev(n, big+"y"))
	wantErr(t, err, "InvalidParameterException", "Log event too large: 1048577 bytes exceeds limit of 1048576")
	_, err = p(ev(n, big[:600_000]), ev(n, big[:600_000]))
	wantErr(t, err, "InvalidParameterException", "Upload too large: 1200052 bytes exceeds limit of 1048576")
	many := make([]types.InputLogEvent, 10001)
	for i := range many {
		many[i] = ev(n, "m")
	}
	_, err = p(many...)
	wantErr(t, err, "InvalidParameterException", "")
	if _, err = p(many[:10000]...); err != nil {
		t.Fatalf("10,000 events must be accepted: %v", err)
	}

	// Too old, too new: dropped and reported, the rest stored.
	out, err = p(ev(n-15*86400_000, "too old"), ev(n-14*86400_000-1000, "too old 2"), ev(n, "ok"), ev(n+3*3600_000, "too new"))
	if err != nil {
		t.Fatal(err)
	}
	r := out.RejectedLogEventsInfo
	if r == nil || *r.TooOldLogEventEndIndex != 2 || *r.TooNewLogEventStartIndex != 3 || r.ExpiredLogEventEndIndex != nil {
		t.Fatalf("rejected %+v", r)
	}
	// Expired: older than the group's retention.
	must[*cwl.PutRetentionPolicyOutput](t)(c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(1)}))
	// (the 24-hour span counts expired events too, so this batch spans exactly 24 h)
	out, err = p(ev(n-86400_000-600_000, "expired"), ev(n-600_000, "kept"))
	if err != nil || out.RejectedLogEventsInfo == nil || *out.RejectedLogEventsInfo.ExpiredLogEventEndIndex != 1 {
		t.Fatalf("expired: %+v %v", out, err)
	}
	// Everything accepted is readable at once (read-after-write).
	fe := must[*cwl.FilterLogEventsOutput](t)(c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), FilterPattern: aws.String(`"ok"`)}))
	if len(fe.Events) != 1 {
		t.Fatalf("stored events: %+v", fe.Events)
	}
	fe = must[*cwl.FilterLogEventsOutput](t)(c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), FilterPattern: aws.String(`"too"`)}))
	if len(fe.Events) != 0 {
		t.Fatalf("rejected events were stored: %+v", fe.Events)
	}

	_, err = c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("nope"), LogEvents: []types.InputLogEvent{ev(n, "x")}})
	wantErr(t, err, "ResourceNotFoundException", "The specified log stream does not exist.")
	_, err = c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("nope"), LogStreamName: aws.String("s"), LogEvents: []types.InputLogEvent{ev(n, "x")}})
	wantErr(t, err, "ResourceNotFoundException", "The specified log group does not exist.")

	// entity is accepted; an invalid one is reported, the events kept.
	out, err = c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: []types.InputLogEvent{ev(n, "with entity")},
		Entity: &types.Entity{KeyAttributes: map[string]string{"Type": "Service", "Name": "web", "Environment": "prod"}, Attributes: map[string]string{"PlatformType": "Generic"}}})
	if err != nil || out.RejectedEntityInfo != nil {
		t.Fatalf("entity: %+v %v", out, err)
	}
	out, err = c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: []types.InputLogEvent{ev(n, "bad entity")},
		Entity: &types.Entity{KeyAttributes: map[string]string{"Type": "Service"}}})
	if err != nil || out.RejectedEntityInfo == nil || out.RejectedEntityInfo.ErrorType != types.EntityRejectionErrorTypeInvalidKeyAttribute {
		t.Fatalf("bad entity: %+v %v", out, err)
	}
}

func TestGetLogEventsPaging(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	ctx := context.Background()
	harness.CreateGroup(t, c, "g", "s", "empty")
	base := now() - 100_000
	var batch []types.InputLogEvent
	for i := 0; i < 25; i++ {
		batch = append(batch, ev(base+int64(i)*10, fmt.Sprintf("e%02d", i)))
	}
	put(t, c, "g", "s", batch[:10]...)
	put(t, c, "g", "s", batch[10:]...)

	msgs := func(out *cwl.GetLogEventsOutput) (m []string) {
		for _, e := range out.Events {
			m = append(m, *e.Message)
		}
		return m
	}
	get := func(in cwl.GetLogEventsInput) *cwl.GetLogEventsOutput {
		t.Helper()
		in.LogGroupName, in.LogStreamName = aws.String("g"), aws.String("s")
		return must[*cwl.GetLogEventsOutput](t)(c.GetLogEvents(ctx, &in))
	}
	// Default: newest first page, ascending within the page.
	out := get(cwl.GetLogEventsInput{Limit: aws.Int32(4)})
	if got := msgs(out); !slices.Equal(got, []string{"e21", "e22", "e23", "e24"}) {
		t.Fatalf("tail page %v", got)
	}
	// Walk backwards to the head.
	var all []string
	all = append(msgs(out), all...)
	for tok := out.NextBackwardToken; ; {
		o := get(cwl.GetLogEventsInput{Limit: aws.Int32(4), NextToken: tok})
		if *o.NextBackwardToken == *tok {
			if len(o.Events) != 0 {
				t.Fatal("events with the end token")
			}
			break
		}
		all = append(msgs(o), all...)
		tok = o.NextBackwardToken
	}
	if len(all) != 25 || all[0] != "e00" || all[24] != "e24" {
		t.Fatalf("backward walk %v", all)
	}
	// Forward from the head, until the same token comes back.
	out = get(cwl.GetLogEventsInput{Limit: aws.Int32(7), StartFromHead: aws.Bool(true)})
	all = msgs(out)
	tok := out.NextForwardToken
	for {
		o := get(cwl.GetLogEventsInput{Limit: aws.Int32(7), NextToken: tok, StartFromHead: aws.Bool(true)})
		if *o.NextForwardToken == *tok {
			break
		}
		all = append(all, msgs(o)...)
		tok = o.NextForwardToken
	}
	if len(all) != 25 || !slices.IsSorted(all) {
		t.Fatalf("forward walk %v", all)
	}
	// New events after the end are picked up with the last token.
	put(t, c, "g", "s", ev(now(), "late"))
	if o := get(cwl.GetLogEventsInput{NextToken: tok}); len(o.Events) != 1 || *o.Events[0].Message != "late" {
		t.Fatalf("after end: %v", msgs(o))
	}
	// startTime inclusive, endTime exclusive.
	if got := msgs(get(cwl.GetLogEventsInput{StartTime: aws.Int64(base + 50), EndTime: aws.Int64(base + 90), StartFromHead: aws.Bool(true)})); !slices.Equal(got, []string{"e05", "e06", "e07", "e08"}) {
		t.Fatalf("window %v", got)
	}
	// Jenkins' delivery check: startTime = last sent, limit 1.
	if got := msgs(get(cwl.GetLogEventsInput{StartTime: aws.Int64(base + 240), Limit: aws.Int32(1)})); len(got) != 1 {
		t.Fatalf("read-after-write check %v", got)
	}
	// Empty stream: no events, tokens that bring back nothing.
	eo := must[*cwl.GetLogEventsOutput](t)(c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("empty")}))
	if len(eo.Events) != 0 || eo.NextForwardToken == nil || eo.NextBackwardToken == nil {
		t.Fatalf("empty: %+v", eo)
	}
	_, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), NextToken: aws.String("f/123")})
	wantErr(t, err, "InvalidParameterException", "The specified nextToken is invalid.")
}

func TestFilterLogEventsOrderAndTokens(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	ctx := context.Background()
	harness.CreateGroup(t, c, "g", "a", "b", "c", "other")
	base := now() - 1_000_000
	// Interleaved, overlapping batches across streams, with equal timestamps.
	type want struct {
		stream, msg string
		ts          int64
	}
	var all []want
	for round := 0; round < 20; round++ {
		for si, stream := range []string{"a", "b", "c"} {
			var batch []types.InputLogEvent
			for j := 0; j < 5; j++ {
				ts := base + int64(round*100+j*20+si)
				if j == 2 {
					ts = base + int64(round*100+40) // a timestamp all three streams share
				}
				msg := fmt.Sprintf("%s r%02d j%d", stream, round, j)
				if j == 4 {
					msg += " ERRORCODE"
				}
				batch = append(batch, ev(ts, msg))
				all = append(all, want{stream, msg, ts})
			}
			slices.SortStableFunc(batch, func(x, y types.InputLogEvent) int { return int(*x.Timestamp - *y.Timestamp) })
			put(t, c, "g", stream, batch...)
		}
	}
	put(t, c, "g", "other", ev(base, "other stream"))

	var got []types.FilteredLogEvent
	var tokens []string
	in := &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), LogStreamNamePrefix: aws.String(""), LogStreamNames: []string{"a", "b", "c"}, Limit: aws.Int32(7)}
	in.LogStreamNamePrefix = nil
	for {
		out := must[*cwl.FilterLogEventsOutput](t)(c.FilterLogEvents(ctx, in))
		if out.SearchedLogStreams == nil {
			t.Fatal("searchedLogStreams missing")
		}
		got = append(got, out.Events...)
		if out.NextToken == nil {
			break
		}
		tokens = append(tokens, *out.NextToken)
		in.NextToken = out.NextToken
	}
	if len(got) != len(all) {
		t.Fatalf("got %d events, want %d", len(got), len(all))
	}
	ids := map[string]bool{}
	for i, e := range got {
		if len(*e.EventId) != 56 || ids[*e.EventId] {
			t.Fatalf("event id %q not unique 56 digits", *e.EventId)
		}
		ids[*e.EventId] = true
		if i > 0 && *got[i-1].Timestamp > *e.Timestamp {
			t.Fatalf("out of order at %d", i)
		}
	}
	// A token can be used again and gives the same page (same event IDs).
	again := must[*cwl.FilterLogEventsOutput](t)(c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), LogStreamNames: []string{"a", "b", "c"}, Limit: aws.Int32(7), NextToken: &tokens[2]}))
	for i, e := range again.Events {
		if *e.EventId != *got[21+i].EventId {
			t.Fatalf("reused token: event %d differs", i)
		}
	}
	// Prefix, pattern (substring semantics), time window (both ends inclusive).
	fe := must[*cwl.FilterLogEventsOutput](t)(c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), LogStreamNamePrefix: aws.String("b"), FilterPattern: aws.String("ERROR")}))
	if len(fe.Events) != 20 {
		t.Fatalf("prefix+pattern: %d events", len(fe.Events))
	}
	fe = must[*cwl.FilterLogEventsOutput](t)(c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), StartTime: aws.Int64(base + 40), EndTime: aws.Int64(base + 40)}))
	if len(fe.Events) != 3 {
		t.Fatalf("window: %d events", len(fe.Events))
	}
	// Newest first.
	fe = must[*cwl.FilterLogEventsOutput](t)(c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), StartTime: aws.Int64(base), StartFromHead: aws.Bool(false), Limit: aws.Int32(2)}))
	if len(fe.Events) != 2 || *fe.Events[0].Timestamp < *fe.Events[1].Timestamp || *fe.Events[0].Timestamp != base+1982 {
		t.Fatalf("descending: %+v", fe.Events)
	}

	_, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), LogStreamNames: []string{"a"}, LogStreamNamePrefix: aws.String("a")})
	wantErr(t, err, "InvalidParameterException", "")
	_, err = c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), FilterPattern: aws.String(`{ $.a = `)})
	wantErr(t, err, "InvalidParameterException", "")
	_, err = c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), NextToken: aws.String("AAAA")})
	wantErr(t, err, "InvalidParameterException", "The specified nextToken is invalid.")
	_, err = c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(10001)})
	wantErr(t, err, "InvalidParameterException", "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000")
	_, err = c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("nope")})
	wantErr(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
}

// TestPatternConformance runs every row of the filter-pattern conformance
// table through FilterLogEvents and TestMetricFilter on the real server.
func TestPatternConformance(t *testing.T) {
	raw, err := os.ReadFile("../pattern/testdata/conformance.json")
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		ID        string              `json:"id"`
		Pattern   string              `json:"pattern"`
		Events    []string            `json:"events"`
		Matches   []bool              `json:"matches"`
		Extracted []map[string]string `json:"extracted"`
	}
	if err := json.Unmarshal(raw, &rows); err != nil {
		t.Fatal(err)
	}
	s := harness.Start(t)
	c := s.Client()
	ctx := context.Background()
	base := now() - 10_000
	for _, row := range rows {
		group := "conf-" + row.ID
		harness.CreateGroup(t, c, group, "s")
		var batch []types.InputLogEvent
		for i, m := range row.Events {
			if m == "" {
				continue // PutLogEvents refuses empty messages; TestMetricFilter still sees it
			}
			batch = append(batch, ev(base+int64(i), m))
		}
		if len(batch) > 0 {
			put(t, c, group, "s", batch...)
		}
		fe := must[*cwl.FilterLogEventsOutput](t)(c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: &group, FilterPattern: aws.String(row.Pattern)}))
		var got []string
		for _, e := range fe.Events {
			got = append(got, *e.Message)
		}
		var want []string
		for i, m := range row.Events {
			if row.Matches[i] && m != "" {
				want = append(want, m)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s FilterLogEvents %q:\n got %q\nwant %q", row.ID, row.Pattern, got, want)
		}
		tm := must[*cwl.TestMetricFilterOutput](t)(c.TestMetricFilter(ctx, &cwl.TestMetricFilterInput{FilterPattern: aws.String(row.Pattern), LogEventMessages: nonEmpty(row.Events)}))
		matched := map[string]map[string]string{}
		for _, m := range tm.Matches {
			matched[*m.EventMessage] = m.ExtractedValues
		}
		for i, m := range row.Events {
			if m == "" {
				continue
			}
			vals, ok := matched[m]
			if ok != row.Matches[i] {
				t.Errorf("%s TestMetricFilter %q on %q: matched %v, want %v", row.ID, row.Pattern, m, ok, row.Matches[i])
			}
			if ok && i < len(row.Extracted) && row.Extracted[i] != nil {
				for k, v := range row.Extracted[i] {
					if vals[k] != v {
						t.Errorf("%s extracted %s = %q, want %q", row.ID, k, vals[k], v)
					}
				}
			}
		}
	}
	t.Logf("%d conformance rows checked through FilterLogEvents and TestMetricFilter", len(rows))
}

func nonEmpty(in []string) []string {
	var out []string
	for _, s := range in {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func TestRetentionAndTags(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	ctx := context.Background()
	harness.CreateGroup(t, c, "g", "s")
	n := now()
	put(t, c, "g", "s", ev(n-3*86400_000, "three days old"), ev(n-3*86400_000+1, "three days old 2"))
	put(t, c, "g", "s", ev(n, "fresh"))

	_, err := c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(2)})
	wantErr(t, err, "InvalidParameterException", "1 validation error detected: Value '2' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]")
	must[*cwl.PutRetentionPolicyOutput](t)(c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(1)}))
	dg := must[*cwl.DescribeLogGroupsOutput](t)(c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{}))
	if *dg.LogGroups[0].RetentionInDays != 1 {
		t.Fatalf("retention %v", dg.LogGroups[0].RetentionInDays)
	}
	// Expired events vanish from reads at once.
	fe := must[*cwl.FilterLogEventsOutput](t)(c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g")}))
	if len(fe.Events) != 1 || *fe.Events[0].Message != "fresh" {
		t.Fatalf("after retention: %+v", fe.Events)
	}
	ge := must[*cwl.GetLogEventsOutput](t)(c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)}))
	if len(ge.Events) != 1 {
		t.Fatalf("get after retention: %d events", len(ge.Events))
	}
	// And from disk once the janitor runs: blocks that end before the
	// cutoff by more than the widest block span are dropped. Removing the
	// policy afterwards shows they are gone, not hidden.
	if err := s.Engine().(*embedded.Engine).Sweep(); err != nil {
		t.Fatal(err)
	}
	must[*cwl.DeleteRetentionPolicyOutput](t)(c.DeleteRetentionPolicy(ctx, &cwl.DeleteRetentionPolicyInput{LogGroupName: aws.String("g")}))
	fe = must[*cwl.FilterLogEventsOutput](t)(c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g")}))
	if len(fe.Events) != 1 || *fe.Events[0].Message != "fresh" {
		t.Fatalf("expired blocks still on disk after sweep: %d events", len(fe.Events))
	}

	// Tags, both APIs.
	arn := "arn:aws:logs:us-east-1:000000000000:log-group:g"
	must[*cwl.TagResourceOutput](t)(c.TagResource(ctx, &cwl.TagResourceInput{ResourceArn: &arn, Tags: map[string]string{"a": "1", "b": "2"}}))
	must[*cwl.UntagResourceOutput](t)(c.UntagResource(ctx, &cwl.UntagResourceInput{ResourceArn: &arn, TagKeys: []string{"a"}}))
	must[*cwl.TagLogGroupOutput](t)(c.TagLogGroup(ctx, &cwl.TagLogGroupInput{LogGroupName: aws.String("g"), Tags: map[string]string{"c": "3"}}))
	lt := must[*cwl.ListTagsForResourceOutput](t)(c.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: &arn}))
	if len(lt.Tags) != 2 || lt.Tags["b"] != "2" || lt.Tags["c"] != "3" {
		t.Fatalf("tags %v", lt.Tags)
	}
	must[*cwl.UntagLogGroupOutput](t)(c.UntagLogGroup(ctx, &cwl.UntagLogGroupInput{LogGroupName: aws.String("g"), Tags: []string{"b"}}))
	lg := must[*cwl.ListTagsLogGroupOutput](t)(c.ListTagsLogGroup(ctx, &cwl.ListTagsLogGroupInput{LogGroupName: aws.String("g")}))
	if len(lg.Tags) != 1 || lg.Tags["c"] != "3" {
		t.Fatalf("legacy tags %v", lg.Tags)
	}
	tooMany := map[string]string{}
	for i := 0; i < 50; i++ {
		tooMany[fmt.Sprintf("k%d", i)] = "v"
	}
	_, err = c.TagResource(ctx, &cwl.TagResourceInput{ResourceArn: &arn, Tags: tooMany})
	wantErr(t, err, "TooManyTagsException", "A resource can have no more than 50 tags.")
	_, err = c.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: aws.String("arn:aws:logs:us-east-1:000000000000:log-group:missing")})
	wantErr(t, err, "ResourceNotFoundException", "")

	must[*cwl.AssociateKmsKeyOutput](t)(c.AssociateKmsKey(ctx, &cwl.AssociateKmsKeyInput{LogGroupName: aws.String("g"), KmsKeyId: aws.String("arn:aws:kms:us-east-1:000000000000:key/k1")}))
	dg = must[*cwl.DescribeLogGroupsOutput](t)(c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{}))
	if aws.ToString(dg.LogGroups[0].KmsKeyId) != "arn:aws:kms:us-east-1:000000000000:key/k1" {
		t.Fatalf("kms %v", dg.LogGroups[0].KmsKeyId)
	}
	must[*cwl.DisassociateKmsKeyOutput](t)(c.DisassociateKmsKey(ctx, &cwl.DisassociateKmsKeyInput{LogGroupName: aws.String("g")}))
}

func TestRestartPersistence(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	ctx := context.Background()
	harness.CreateGroup(t, c, "g", "s")
	must[*cwl.PutRetentionPolicyOutput](t)(c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("g"), RetentionInDays: aws.Int32(30)}))
	must[*cwl.TagLogGroupOutput](t)(c.TagLogGroup(ctx, &cwl.TagLogGroupInput{LogGroupName: aws.String("g"), Tags: map[string]string{"k": "v"}}))
	n := now()
	put(t, c, "g", "s", ev(n-5, "one"), ev(n, "two"))
	before := must[*cwl.FilterLogEventsOutput](t)(c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g")}))
	s.Restart() // same data directory
	after := must[*cwl.FilterLogEventsOutput](t)(c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g")}))
	if len(after.Events) != 2 || *after.Events[0].EventId != *before.Events[0].EventId || *after.Events[1].Message != "two" {
		t.Fatalf("after restart: %+v", after.Events)
	}
	dg := must[*cwl.DescribeLogGroupsOutput](t)(c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{}))
	if *dg.LogGroups[0].RetentionInDays != 30 || *dg.LogGroups[0].StoredBytes == 0 {
		t.Fatalf("group after restart: %+v", dg.LogGroups[0])
	}
	ds := must[*cwl.DescribeLogStreamsOutput](t)(c.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("g")}))
	if *ds.LogStreams[0].FirstEventTimestamp != n-5 || *ds.LogStreams[0].LastEventTimestamp != n {
		t.Fatalf("stream after restart: %+v", ds.LogStreams[0])
	}
	lt := must[*cwl.ListTagsLogGroupOutput](t)(c.ListTagsLogGroup(ctx, &cwl.ListTagsLogGroupInput{LogGroupName: aws.String("g")}))
	if lt.Tags["k"] != "v" {
		t.Fatalf("tags after restart: %v", lt.Tags)
	}
	// Arrival sequences never repeat after a restart: a new event sorts
	// after the old ones at the same timestamp.
	put(t, c, "g", "s", ev(n, "three"))
	after = must[*cwl.FilterLogEventsOutput](t)(c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g")}))
	if len(after.Events) != 3 || *after.Events[2].Message != "three" || *after.Events[2].EventId <= *after.Events[1].EventId {
		t.Fatalf("after restart, new event: %+v", after.Events)
	}
}

// raw sends a hand-made request for target (the whole X-Amz-Target) signed
// with the root key, for the inputs an SDK would never send.
func raw(t testing.TB, s *harness.Server, target string, body []byte, header ...string) harness.Reply {
	t.Helper()
	return s.Call(t, "", body, append([]string{"X-Amz-Target: " + target}, header...)...)
}

func TestWireAndBadInput(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	harness.CreateGroup(t, c, "g", "s")
	f := func(target, body string, status int, typ, msg string) {
		t.Helper()
		r := raw(t, s, target, []byte(body))
		if r.Header.Get("x-amzn-RequestId") == "" {
			t.Fatalf("%s: no x-amzn-RequestId", body)
		}
		if r.Status != status || r.Code != typ || (msg != "" && r.Message != msg) {
			t.Fatalf("%s %s: got %d %s %q, want %d %s %q", target, body, r.Status, r.Code, r.Message, status, typ, msg)
		}
	}
	f("Logs_20140328.CreateLogGroup", `{`, 400, "SerializationException", "")
	f("Logs_20140328.CreateLogGroup", `[1]`, 400, "SerializationException", "")
	f("Logs_20140328.CreateLogGroup", `{"logGroupName": 7}`, 400, "SerializationException", "")
	f("Logs_20140328.PutLogEvents", `{"logGroupName": "g", "logStreamName": "s", "logEvents": [{"timestamp": "x", "message": "m"}]}`, 400, "SerializationException", "")
	f("Logs_20140328.PutLogEvents", `{"logGroupName": "g", "logStreamName": "s", "logEvents": []}`, 400, "InvalidParameterException",
		"1 validation error detected: Value '[]' at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1")
	f("Logs_20140328.PutLogEvents", `{"logGroupName": "g", "logStreamName": "s"}`, 400, "InvalidParameterException",
		"1 validation error detected: Value null at 'logEvents' failed to satisfy constraint: Member must not be null")
	f("Logs_20140328.PutLogEvents", `{"logStreamName": "s", "logEvents": [{"timestamp": -1, "message": "m"}]}`, 400, "InvalidParameterException",
		"2 validation errors detected: Value null at 'logGroupName' failed to satisfy constraint: Member must not be null; Value '-1' at 'logEvents.1.member.timestamp' failed to satisfy constraint: Member must have value greater than or equal to 0")
	f("Logs_20140328.CreateLogStream", `{"logGroupName": "g", "logStreamName": "a:b"}`, 400, "InvalidParameterException",
		"1 validation error detected: Value 'a:b' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*")
	for _, op := range []string{"CreateLogGroup", "DeleteLogGroup", "CreateLogStream", "DescribeLogStreams", "PutRetentionPolicy"} {
		f("Logs_20140328."+op, `{"logGroupName": "`+strings.Repeat("a", 513)+`", "logStreamName": "s", "retentionInDays": 1}`, 400, "InvalidParameterException",
			"Invalid LogGroup or LogStream, both must have length less than or equal to 512.")
	}
	f("Logs_20140328.NoSuchThing", `{}`, 400, "UnknownOperationException", "")
	f("Bogus.CreateLogGroup", `{}`, 400, "UnknownOperationException", "")
	f("Logs_20140328.GetScheduledQuery", `{"identifier":"q"}`, 400, "ResourceNotFoundException", "") // a routed model operation
	f("Logs_20140328.DescribeLogGroups", ``, 200, "", "")                                            // an empty body is an empty input

	// gzip request bodies.
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	fmt.Fprintf(zw, `{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":%d,"message":"zipped"}]}`, now())
	zw.Close()
	r := raw(t, s, "Logs_20140328.PutLogEvents", zb.Bytes(), "Content-Encoding: gzip", "x-amzn-logs-format: json/emf")
	if r.Status != 200 || !bytes.Contains(r.Body, []byte(`"nextSequenceToken":"`)) {
		t.Fatalf("gzip: %d %s", r.Status, r.Body)
	}
	r = raw(t, s, "Logs_20140328.PutLogEvents", []byte("not gzip"), "Content-Encoding: gzip")
	if r.Status != 400 || r.Code != "SerializationException" {
		t.Fatalf("bad gzip: %d %s", r.Status, r.Body)
	}
	// Oversized bodies are refused without being read whole.
	if r = raw(t, s, "Logs_20140328.PutLogEvents", bytes.Repeat([]byte(" "), 9<<20)); r.Status != 413 {
		t.Fatalf("oversized body: %d", r.Status)
	}
	// A gzip bomb is cut off at the same bound.
	zb.Reset()
	zw = gzip.NewWriter(&zb)
	zw.Write(bytes.Repeat([]byte(" "), 64<<20))
	zw.Close()
	if r = raw(t, s, "Logs_20140328.PutLogEvents", zb.Bytes(), "Content-Encoding: gzip"); r.Status != 413 {
		t.Fatalf("gzip bomb: %d", r.Status)
	}
	// Health.
	resp, err := http.Get(s.URL() + "/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestConcurrentWriters checks that parallel PutLogEvents to one stream (AWS
// allows it since sequence tokens went away) all land, none twice.
func TestConcurrentWriters(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	ctx := context.Background()
	harness.CreateGroup(t, c, "g", "s")
	base := now() - 60_000
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				var batch []types.InputLogEvent
				for j := 0; j < 50; j++ {
					batch = append(batch, ev(base+int64(i*50+j), fmt.Sprintf("w%d-%d-%d", w, i, j)))
				}
				if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), LogEvents: batch}); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	seen := map[string]bool{}
	p := cwl.NewFilterLogEventsPaginator(c, &cwl.FilterLogEventsInput{LogGroupName: aws.String("g")})
	for p.HasMorePages() {
		out := must[*cwl.FilterLogEventsOutput](t)(p.NextPage(ctx))
		for _, e := range out.Events {
			if seen[*e.Message] {
				t.Fatalf("duplicate %s", *e.Message)
			}
			seen[*e.Message] = true
		}
	}
	if len(seen) != 8*20*50 {
		t.Fatalf("%d events, want %d", len(seen), 8*20*50)
	}
}
