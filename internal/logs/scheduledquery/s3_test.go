package scheduledquery_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/logs/export"
	"github.com/cairnlog/cairn/internal/server"
)

// TestScheduledToS3: a cron schedule fires at its minute and the rows land in
// the S3 bucket, one JSON object per line; a bucket that does not exist is a
// CLIENT_ERROR run.
func TestScheduledToS3(t *testing.T) {
	endpoint := harness.StartMoto(t)
	ctx := context.Background()
	s3c := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("results")}); err != nil {
		t.Fatal(err)
	}
	// half past a minute; the server's clock also checks signatures, so it
	// stays within a minute of the real one
	t0 := time.Now().UTC().Truncate(time.Minute).Add(30 * time.Second)
	fire := t0.Add(30 * time.Second) // the next minute
	clk := harness.NewClock(t0)
	h := harness.Start(t, harness.WithClock(clk.Now), harness.Configure(func(c *server.Config) {
		c.ScheduledQueryTick = 10 * time.Millisecond
		c.Export = export.SinkConfig{S3: &export.S3Config{Endpoint: endpoint, AccessKeyID: "test", SecretAccessKey: "test", PathStyle: true}}
	}))
	c := h.Client()
	g := "/app/s3"
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: &g}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: &g, LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	var evs []types.InputLogEvent
	for i, m := range []string{"GET /a 200", "GET /b 500", "PUT /c 201"} {
		evs = append(evs, types.InputLogEvent{Message: aws.String(m), Timestamp: aws.Int64(t0.Add(-time.Duration(3-i) * time.Minute).UnixMilli())})
	}
	if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: &g, LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
		t.Fatal(err)
	}
	mk := func(name, dest string) {
		t.Helper()
		if _, err := c.CreateScheduledQuery(ctx, &cwl.CreateScheduledQueryInput{Name: aws.String(name), QueryLanguage: types.QueryLanguageCwli,
			QueryString:         aws.String(`parse @message "* * *" as method, path, code | sort @timestamp asc | display method, path, code`),
			LogGroupIdentifiers: []string{g}, ScheduleExpression: aws.String("cron(* * * * ? *)"), StartTimeOffset: aws.Int64(900),
			ExecutionRoleArn: aws.String(role), DestinationConfiguration: &types.DestinationConfiguration{S3Configuration: &types.S3Configuration{
				DestinationIdentifier: aws.String(dest), RoleArn: aws.String(role)}}}); err != nil {
			t.Fatal(err)
		}
	}
	mk("web", "s3://results/daily")
	mk("nobucket", "s3://no-such-bucket/x")
	history := func(name string) []types.TriggerHistoryRecord {
		out, err := c.GetScheduledQueryHistory(ctx, &cwl.GetScheduledQueryHistoryInput{Identifier: aws.String(name),
			StartTime: aws.Int64(0), EndTime: aws.Int64(t0.Add(time.Hour).UnixMilli())})
		if err != nil {
			t.Fatal(err)
		}
		return out.TriggerHistory
	}
	clk.Add(30 * time.Second)
	var runs []types.TriggerHistoryRecord
	for _, name := range []string{"web", "nobucket"} {
		harness.CheckFor(t, 20*time.Second, 10*time.Millisecond, func() error {
			if runs = history(name); len(runs) == 0 {
				return errors.New("no run of " + name + " yet")
			}
			return nil
		})
		if at := aws.ToInt64(runs[0].TriggeredTimestamp); at != fire.UnixMilli() {
			t.Fatalf("%s triggered at %d, want %d", name, at, fire.UnixMilli())
		}
		d := runs[0].Destinations
		if len(d) != 1 || d[0].DestinationType != types.ScheduledQueryDestinationTypeS3 {
			t.Fatalf("%s destinations %+v", name, d)
		}
		if name == "nobucket" {
			if runs[0].ExecutionStatus != types.ExecutionStatusFailed || d[0].Status != types.ActionStatusClientError ||
				aws.ToString(d[0].ErrorMessage) != "The specified bucket does not exist" {
				t.Fatalf("nobucket run: %s %+v", runs[0].ExecutionStatus, d[0])
			}
			continue
		}
		if runs[0].ExecutionStatus != types.ExecutionStatusComplete || d[0].Status != types.ActionStatusComplete {
			t.Fatalf("web run: %s %+v %s", runs[0].ExecutionStatus, d[0], aws.ToString(d[0].ErrorMessage))
		}
		objKey, ok := strings.CutPrefix(aws.ToString(d[0].ProcessedIdentifier), "s3://results/")
		if !ok || !strings.HasPrefix(objKey, "daily/web/") {
			t.Fatalf("processed %s", aws.ToString(d[0].ProcessedIdentifier))
		}
		obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("results"), Key: &objKey})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		want := `{"method":"GET","path":"/a","code":"200"}` + "\n" + `{"method":"GET","path":"/b","code":"500"}` + "\n" +
			`{"method":"PUT","path":"/c","code":"201"}` + "\n"
		if string(body) != want {
			t.Fatalf("object %s:\n%s\nwant:\n%s", objKey, body, want)
		}
	}
}
