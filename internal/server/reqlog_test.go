package server_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/server"
)

// TestDebugRequestLog: at debug level every API call leaves one line with
// its operation, status, error code, duration, request id and caller, and no
// secret; at info level none.
func TestDebugRequestLog(t *testing.T) {
	var out syncBuffer
	s := harness.Start(t, harness.Configure(func(c *server.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}))
	ctx := context.Background()
	c := s.Client()
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("g")}) // exists
	bad := s.Creds
	bad.SecretAccessKey = "not-the-secret"
	s.ClientAs(bad, harness.DefaultRegion).DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})

	var lines []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.Contains(l, "msg=request ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 3 {
		t.Fatalf("want 3 request lines, got %d:\n%s", len(lines), out.String())
	}
	want := [][]string{
		{"op=CreateLogGroup", "status=200", "principal=arn:aws:iam::000000000000:root", "requestId=", "duration="},
		{"op=CreateLogGroup", "status=400", "error=ResourceAlreadyExistsException", "principal=arn:aws:iam::000000000000:root"},
		{"op=DescribeLogGroups", "status=400", "error=InvalidSignatureException"},
	}
	for i, l := range lines {
		for _, w := range want[i] {
			if !strings.Contains(l, w) {
				t.Errorf("line %d lacks %q: %s", i, w, l)
			}
		}
	}
	if strings.Contains(lines[2], "principal=") {
		t.Errorf("a refused signature names a principal: %s", lines[2])
	}
	for _, secret := range []string{s.Creds.SecretAccessKey, bad.SecretAccessKey} {
		if strings.Contains(out.String(), secret) {
			t.Fatalf("the log holds a secret key")
		}
	}

	var quiet syncBuffer
	s2 := harness.Start(t, harness.Configure(func(c *server.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&quiet, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}))
	s2.Client().CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("g")})
	if strings.Contains(quiet.String(), "msg=request ") {
		t.Fatalf("request line at info level:\n%s", quiet.String())
	}
}
