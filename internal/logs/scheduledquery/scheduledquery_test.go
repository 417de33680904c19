package scheduledquery_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/server"
)

const role = "arn:aws:iam::000000000000:role/sq"

func apiErr(t testing.TB, err error, code, contains string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), contains) {
		t.Fatalf("want %s %q, got %s %q", code, contains, ae.ErrorCode(), ae.ErrorMessage())
	}
}

func start(t *testing.T) (*harness.Server, *harness.Clock) {
	clk := harness.NewClock(time.Now().Truncate(time.Minute))
	h := harness.Start(t, harness.WithClock(clk.Now), harness.Configure(func(c *server.Config) { c.ScheduledQueryTick = 10 * time.Millisecond }))
	return h, clk
}

// TestScheduledRun: a rate(5 minutes) query fires when the server's clock
// passes its time, and its rows reach the lookup table destination; an S3
// destination on a server without an S3 endpoint records a failed run.
func TestScheduledRun(t *testing.T) {
	h, clk := start(t)
	c := h.Client()
	ctx := context.Background()
	g := "/app/sq"
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: &g}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: &g, LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	t0 := clk.Now()
	var evs []types.InputLogEvent
	for i, lv := range []string{"error", "info", "error", "info", "error"} {
		evs = append(evs, types.InputLogEvent{Message: aws.String(`{"level":"` + lv + `"}`),
			Timestamp: aws.Int64(t0.Add(-time.Duration(10-i) * time.Minute).UnixMilli())})
	}
	// an event older than the window (startTimeOffset 1800 s before the run)
	old := []types.InputLogEvent{{Message: aws.String(`{"level":"debug"}`), Timestamp: aws.Int64(t0.Add(-2 * time.Hour).UnixMilli())}}
	if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: &g, LogStreamName: aws.String("s"), LogEvents: append(old, evs...)}); err != nil {
		t.Fatal(err)
	}
	cr, err := c.CreateScheduledQuery(ctx, &cwl.CreateScheduledQueryInput{Name: aws.String("levels"), QueryLanguage: types.QueryLanguageCwli,
		QueryString: aws.String("stats count() as n by level | sort level asc"), LogGroupIdentifiers: []string{g},
		ScheduleExpression: aws.String("rate(5 minutes)"), StartTimeOffset: aws.Int64(1800), ExecutionRoleArn: aws.String(role),
		DestinationConfiguration: &types.DestinationConfiguration{LookupTableConfiguration: &types.LookupTableConfiguration{
			TableName: aws.String("levels_out"), RoleArn: aws.String(role)}}})
	if err != nil {
		t.Fatal(err)
	}
	if cr.State != types.ScheduledQueryStateEnabled || aws.ToString(cr.ScheduledQueryArn) != "arn:aws:logs:us-east-1:000000000000:scheduled-query:levels" {
		t.Fatalf("create: %s %s", cr.State, aws.ToString(cr.ScheduledQueryArn))
	}
	if _, err := c.CreateScheduledQuery(ctx, &cwl.CreateScheduledQueryInput{Name: aws.String("to_s3"), QueryLanguage: types.QueryLanguageCwli,
		QueryString: aws.String("fields @message"), LogGroupIdentifiers: []string{g}, ScheduleExpression: aws.String("rate(5 minutes)"),
		ExecutionRoleArn: aws.String(role), DestinationConfiguration: &types.DestinationConfiguration{S3Configuration: &types.S3Configuration{
			DestinationIdentifier: aws.String("s3://bucket-1/out"), RoleArn: aws.String(role)}}}); err != nil {
		t.Fatal(err)
	}
	history := func(name string) []types.TriggerHistoryRecord {
		out, err := c.GetScheduledQueryHistory(ctx, &cwl.GetScheduledQueryHistoryInput{Identifier: aws.String(name),
			StartTime: aws.Int64(0), EndTime: aws.Int64(clk.Now().Add(time.Hour).UnixMilli())})
		if err != nil {
			t.Fatal(err)
		}
		return out.TriggerHistory
	}
	if n := len(history("levels")); n != 0 {
		t.Fatalf("%d runs before the schedule's time", n)
	}
	clk.Add(5*time.Minute + time.Second)
	var runs []types.TriggerHistoryRecord
	harness.CheckFor(t, 20*time.Second, 10*time.Millisecond, func() error {
		if runs = history("levels"); len(runs) == 0 {
			return errors.New("no run yet")
		}
		return nil
	})
	r := runs[0]
	if r.ExecutionStatus != types.ExecutionStatusComplete || aws.ToInt64(r.TriggeredTimestamp) != t0.Add(5*time.Minute).UnixMilli() {
		t.Fatalf("run: %s at %d (want %d), %s", r.ExecutionStatus, aws.ToInt64(r.TriggeredTimestamp), t0.Add(5*time.Minute).UnixMilli(), aws.ToString(r.ErrorMessage))
	}
	if len(r.Destinations) != 1 || r.Destinations[0].Status != types.ActionStatusComplete ||
		aws.ToString(r.Destinations[0].ProcessedIdentifier) != "arn:aws:logs:us-east-1:000000000000:lookup-table:levels_out" {
		t.Fatalf("destinations: %+v", r.Destinations)
	}
	tb, err := c.GetLookupTable(ctx, &cwl.GetLookupTableInput{LookupTableArn: r.Destinations[0].ProcessedIdentifier})
	if err != nil {
		t.Fatal(err)
	}
	// hand-written: 3 error and 2 info events in the window; debug is older
	if want := "level,n\nerror,3\ninfo,2\n"; aws.ToString(tb.TableBody) != want {
		t.Fatalf("table body %q, want %q", aws.ToString(tb.TableBody), want)
	}
	got, err := c.GetScheduledQuery(ctx, &cwl.GetScheduledQueryInput{Identifier: cr.ScheduledQueryArn})
	if err != nil {
		t.Fatal(err)
	}
	if got.LastExecutionStatus != types.ExecutionStatusComplete || aws.ToInt64(got.LastTriggeredTime) != t0.Add(5*time.Minute).UnixMilli() {
		t.Fatalf("GetScheduledQuery: %s %d", got.LastExecutionStatus, aws.ToInt64(got.LastTriggeredTime))
	}

	// no S3 endpoint: the run is recorded as failed, with the reason
	var s3runs []types.TriggerHistoryRecord
	harness.CheckFor(t, 20*time.Second, 10*time.Millisecond, func() error {
		if s3runs = history("to_s3"); len(s3runs) == 0 {
			return errors.New("no run yet")
		}
		return nil
	})
	if d := s3runs[0].Destinations; s3runs[0].ExecutionStatus != types.ExecutionStatusFailed || len(d) != 1 || d[0].Status != types.ActionStatusFailed ||
		!strings.Contains(aws.ToString(d[0].ErrorMessage), "No S3 endpoint") {
		t.Fatalf("S3 run: %s %+v", s3runs[0].ExecutionStatus, d)
	}

	// disabled: no further run when the clock passes the next time
	if _, err := c.UpdateScheduledQuery(ctx, &cwl.UpdateScheduledQueryInput{Identifier: aws.String("levels"), QueryLanguage: types.QueryLanguageCwli,
		QueryString: aws.String("stats count() as n by level | sort level asc"), LogGroupIdentifiers: []string{g},
		ScheduleExpression: aws.String("rate(5 minutes)"), ExecutionRoleArn: aws.String(role), State: types.ScheduledQueryStateDisabled}); err != nil {
		t.Fatal(err)
	}
	l, err := c.ListScheduledQueries(ctx, &cwl.ListScheduledQueriesInput{State: types.ScheduledQueryStateDisabled})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.ScheduledQueries) != 1 || aws.ToString(l.ScheduledQueries[0].Name) != "levels" {
		t.Fatalf("ListScheduledQueries DISABLED: %+v", l.ScheduledQueries)
	}
	if _, err := c.DeleteScheduledQuery(ctx, &cwl.DeleteScheduledQueryInput{Identifier: aws.String("levels")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetScheduledQuery(ctx, &cwl.GetScheduledQueryInput{Identifier: aws.String("levels")})
	apiErr(t, err, "ResourceNotFoundException", "levels")
}

func TestScheduledValidation(t *testing.T) {
	h, _ := start(t)
	c := h.Client()
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	in := func(mod func(*cwl.CreateScheduledQueryInput)) *cwl.CreateScheduledQueryInput {
		v := &cwl.CreateScheduledQueryInput{Name: aws.String("q"), QueryLanguage: types.QueryLanguageCwli, QueryString: aws.String("fields @message"),
			LogGroupIdentifiers: []string{"g"}, ScheduleExpression: aws.String("cron(0 * * * ? *)"), ExecutionRoleArn: aws.String(role)}
		mod(v)
		return v
	}
	for i, tc := range []struct {
		mod       func(*cwl.CreateScheduledQueryInput)
		code, msg string
	}{
		{func(v *cwl.CreateScheduledQueryInput) { v.ScheduleExpression = aws.String("every hour") }, "ValidationException", "Invalid schedule expression"},
		{func(v *cwl.CreateScheduledQueryInput) { v.ScheduleExpression = aws.String("rate(1 minutes)") }, "ValidationException", "Invalid schedule expression"},
		{func(v *cwl.CreateScheduledQueryInput) {
			v.ExecutionRoleArn = aws.String("arn:aws:iam::000000000000:user/u")
		}, "ValidationException", "not an IAM role ARN"},
		{func(v *cwl.CreateScheduledQueryInput) { v.QueryLanguage = types.QueryLanguageSql }, "ValidationException", "only CWLI"},
		{func(v *cwl.CreateScheduledQueryInput) { v.QueryString = aws.String("fields | |") }, "ValidationException", "Invalid query string"},
		{func(v *cwl.CreateScheduledQueryInput) { v.Timezone = aws.String("Mars/Olympus") }, "ValidationException", "Invalid timezone"},
		{func(v *cwl.CreateScheduledQueryInput) {
			v.StartTimeOffset, v.EndTimeOffset = aws.Int64(60), aws.Int64(60)
		}, "ValidationException", "less than startTimeOffset"},
		{func(v *cwl.CreateScheduledQueryInput) {
			v.DestinationConfiguration = &types.DestinationConfiguration{S3Configuration: &types.S3Configuration{
				DestinationIdentifier: aws.String("s3://B"), RoleArn: aws.String(role)}}
		}, "ValidationException", "destinationIdentifier"},
		{func(v *cwl.CreateScheduledQueryInput) { v.State = "PAUSED" }, "ValidationException", "state"},
		{func(v *cwl.CreateScheduledQueryInput) { v.LogGroupIdentifiers = []string{"g", "missing"} }, "ResourceNotFoundException", "log group does not exist"},
	} {
		_, err := c.CreateScheduledQuery(ctx, in(tc.mod))
		t.Run(fmt.Sprint(i), func(t *testing.T) { apiErr(t, err, tc.code, tc.msg) })
	}
	if _, err := c.CreateScheduledQuery(ctx, in(func(v *cwl.CreateScheduledQueryInput) { v.Timezone = aws.String("Europe/Paris") })); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateScheduledQuery(ctx, in(func(*cwl.CreateScheduledQueryInput) {}))
	apiErr(t, err, "ConflictException", "already exists")
	arn := aws.String("arn:aws:logs:us-east-1:000000000000:scheduled-query:q")
	if _, err := c.TagResource(ctx, &cwl.TagResourceInput{ResourceArn: arn, Tags: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	if tg, err := c.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: arn}); err != nil || tg.Tags["k"] != "v" {
		t.Fatalf("ListTagsForResource: %v %v", tg, err)
	}
	// an update keeps the tags
	if _, err := c.UpdateScheduledQuery(ctx, &cwl.UpdateScheduledQueryInput{Identifier: arn, QueryLanguage: types.QueryLanguageCwli,
		QueryString: aws.String("fields @message"), ScheduleExpression: aws.String("rate(1 hour)"), ExecutionRoleArn: aws.String(role)}); err != nil {
		t.Fatal(err)
	}
	if tg, err := c.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: arn}); err != nil || tg.Tags["k"] != "v" {
		t.Fatalf("ListTagsForResource after update: %v %v", tg, err)
	}
	_, err = c.GetScheduledQueryHistory(ctx, &cwl.GetScheduledQueryHistoryInput{Identifier: aws.String("nope"), StartTime: aws.Int64(0), EndTime: aws.Int64(1)})
	apiErr(t, err, "ResourceNotFoundException", "nope")
	_, err = c.DeleteScheduledQuery(ctx, &cwl.DeleteScheduledQueryInput{Identifier: aws.String("nope")})
	apiErr(t, err, "ResourceNotFoundException", "nope")
}
