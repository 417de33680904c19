package harness_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/leakcheck"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m, "cairnlog/cairn/internal/")) }

func TestStartSignedClient(t *testing.T) {
	s := harness.Start(t)
	ctx := context.Background()
	if _, err := s.Client().CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	// A wrong secret is refused: the client really signs with the root key.
	bad := s.Creds
	bad.SecretAccessKey = "wrong"
	_, err := s.ClientAs(bad, harness.DefaultRegion).DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidSignatureException" {
		t.Fatalf("wrong secret: %v", err)
	}
	// Restart on the same data: the group and the key are still there.
	dir := s.Dir
	s.Stop()
	s2 := harness.Start(t, harness.InDir(dir))
	if s2.Creds != s.Creds {
		t.Fatalf("root key changed across restart")
	}
	out, err := s2.Client().DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
	if err != nil || len(out.LogGroups) != 1 {
		t.Fatalf("after restart: %v %v", out, err)
	}
}

func TestCheckFor(t *testing.T) {
	n := 0
	harness.CheckFor(t, 5*time.Second, time.Millisecond, func() error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if n != 3 {
		t.Fatalf("polled %d times", n)
	}
}
