package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

// TestLogsQuery runs `cairn logs query` in-process against the real server:
// a table, JSON lines, CSV, the bar chart of a bin() result, and a query
// that does not compile.
func TestLogsQuery(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("web"), LogStreamName: aws.String("a")}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(5 * time.Minute).Add(-30 * time.Minute) // on a bin boundary
	var evs []types.InputLogEvent
	for i := 0; i < 12; i++ {
		// One event every 2.5 minutes: two per 5-minute bin.
		evs = append(evs, types.InputLogEvent{Timestamp: aws.Int64(now.Add(time.Duration(i) * 150 * time.Second).UnixMilli()),
			Message: aws.String(fmt.Sprintf(`{"user":"u%d","ms":%d}`, i%3, i))})
	}
	if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("web"), LogStreamName: aws.String("a"), LogEvents: evs}); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": s.Creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY": s.Creds.SecretAccessKey,
		"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": s.URL()}
	for k, v := range vars {
		t.Setenv(k, v)
	}
	run := func(args ...string) (int, string, string) {
		t.Helper()
		e := envOf(vars)
		code := Run(e, append([]string{"logs", "query"}, args...))
		return code, e.Stdout.(*bytes.Buffer).String(), e.Stderr.(*bytes.Buffer).String()
	}

	code, out, errOut := run("--group", "web", "stats count() as n, sum(ms) as total by user | sort user")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "user  n  total\n----  -  -----\nu0    4  18\nu1    4  22\nu2    4  26\n"
	if out != want {
		t.Fatalf("table:\n%s\nwant:\n%s", out, want)
	}
	if !strings.Contains(errOut, "Complete: 12 records scanned") {
		t.Fatalf("progress: %q", errOut)
	}

	code, out, _ = run("--group", "web", "--format", "json", "--since", "2h", "filter user = 'u1' | fields user, ms | sort ms desc | limit 2")
	if code != 0 || out != "{\"ms\":\"10\",\"user\":\"u1\"}\n{\"ms\":\"7\",\"user\":\"u1\"}\n" {
		t.Fatalf("json: exit %d %q", code, out)
	}

	code, out, _ = run("--group", "web", "--format", "csv", "stats count() as n by user | sort user desc")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(recs) != 4 || strings.Join(recs[0], ",") != "user,n" || strings.Join(recs[1], ",") != "u2,4" {
		t.Fatalf("csv: exit %d %v %q", code, err, out)
	}

	// Two events per 5-minute bin: every bar is as long as the longest.
	code, out, _ = run("--group", "web", "--chart", "stats count() as n by bin(5m) as t | sort t")
	if code != 0 || !strings.Contains(out, "n by t\n") {
		t.Fatalf("chart: exit %d\n%s", code, out)
	}
	var bars []int
	for _, l := range strings.Split(out[strings.Index(out, "n by t\n"):], "\n")[1:] {
		if l != "" {
			bars = append(bars, strings.Count(l, "█"))
		}
	}
	if len(bars) != 6 || bars[0] == 0 || bars[0] != bars[5] {
		t.Fatalf("bars %v\n%s", bars, out)
	}

	code, _, errOut = run("--group", "web", "fields @message | sort")
	if code != 1 || !strings.Contains(errOut, "MalformedQueryException") {
		t.Fatalf("malformed: exit %d %q", code, errOut)
	}
	code, _, errOut = run("--group", "web", "--since", "1h", "--start", "2h", "fields @message")
	if code != 2 || !strings.Contains(errOut, "exclusive") {
		t.Fatalf("since and start: exit %d %q", code, errOut)
	}
}
