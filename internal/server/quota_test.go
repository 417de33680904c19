package server_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/quota"
	"github.com/cairnlog/cairn/internal/server"

	"github.com/cairnlog/cairn/internal/harness"
)

const quotaIAM = `
accounts:
  - id: "111111111111"
    root:
      accessKeys:
        - id: AKIAQUOTAACCOUNTA001
          secret: "account-a-secret-0123456789"
  - id: "222222222222"
    root:
      accessKeys:
        - id: AKIAQUOTAACCOUNTB001
          secret: "account-b-secret-0123456789"
`

// quotaClock is the quota's clock; it moves only when the test (or the
// retryer's backoff below) moves it, so the bucket maths are exact.
type quotaClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *quotaClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *quotaClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestQuotasThroughServer runs the real server with SigV4 and two accounts: with
// quotas on, an account's calls past the burst of an operation answer
// ThrottlingException "Rate exceeded" (400, Retry-After); other operations,
// other regions and other accounts are unaffected; a caller whose signature
// fails burns nobody's tokens; and the SDK's standard retryer recovers.
func TestQuotasThroughServer(t *testing.T) {
	clk := &quotaClock{t: time.Unix(1_700_000_000, 0)}
	s := harness.Start(t, harness.WithIAM(quotaIAM), harness.Configure(func(c *server.Config) {
		c.Quotas = &quota.Config{Now: clk.Now, Override: map[string]quota.Rate{"CreateLogGroup": {PerSecond: 1, Burst: 2}}}
	}))
	ctx := context.Background()
	keyA := creds("AKIAQUOTAACCOUNTA001", "account-a-secret-0123456789")
	a := s.ClientAs(keyA, "us-east-1")
	b := s.ClientAs(creds("AKIAQUOTAACCOUNTB001", "account-b-secret-0123456789"), "us-east-1")
	create := func(c *cwl.Client, name string) error {
		_, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(name)})
		return err
	}

	// A forger using account A's key id fails authentication every time and
	// must not drain A's bucket.
	forger := s.ClientAs(creds("AKIAQUOTAACCOUNTA001", "not-the-secret-0123456789"), "us-east-1")
	for i := range 5 {
		if err := create(forger, fmt.Sprint("forged-", i)); err == nil {
			t.Fatal("a forged signature was accepted")
		} else {
			wantErr(t, err, "InvalidSignatureException", "")
		}
	}

	for i := range 2 {
		if err := create(a, fmt.Sprint("a-", i)); err != nil {
			t.Fatalf("call %d of the burst: %v", i+1, err)
		}
	}
	err := create(a, "a-2")
	wantErr(t, err, "ThrottlingException", "Rate exceeded")
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != 400 || re.Response.Header.Get("Retry-After") == "" {
		t.Fatalf("throttled response: %v", err)
	}

	// Another operation of A, A in another region, and account B have their
	// own buckets.
	if _, err := a.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{}); err != nil {
		t.Fatalf("another operation: %v", err)
	}
	if err := create(s.ClientAs(keyA, "eu-west-1"), "a-eu"); err != nil {
		t.Fatalf("another region: %v", err)
	}
	for i := range 2 {
		if err := create(b, fmt.Sprint("b-", i)); err != nil {
			t.Fatalf("another account: %v", err)
		}
	}

	// One second later A has one more token, then is throttled again.
	clk.Advance(time.Second)
	if err := create(a, "a-3"); err != nil {
		t.Fatalf("after a second: %v", err)
	}
	wantErr(t, create(a, "a-4"), "ThrottlingException", "Rate exceeded")

	// The SDK's standard retryer takes ThrottlingException for a throttle and
	// retries it. Its backoff here moves the quota clock by a second instead
	// of sleeping, so the test does not depend on how long anything takes.
	retrying := retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 5
		o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) {
			clk.Advance(time.Second)
			return 0, nil
		})
	})
	ar := s.ClientAs(keyA, "us-east-1", func(o *cwl.Options) { o.Retryer = retrying })
	out, err := ar.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("a-retried")})
	if err != nil {
		t.Fatalf("the retryer did not recover: %v", err)
	}
	attempts, _ := retry.GetAttemptResults(out.ResultMetadata)
	if len(attempts.Results) != 2 {
		t.Fatalf("%d attempts, want 2 (one throttled, one admitted)", len(attempts.Results))
	}
	got, err := a.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.LogGroups) != 4 { // a-0, a-1, a-3, a-retried: nothing throttled was created
		t.Fatalf("%d groups in account A us-east-1, want 4", len(got.LogGroups))
	}
}

// TestQuotasOffByDefault: without Quotas, a burst far past AWS's
// CreateLogGroup quota is admitted (today's behaviour).
func TestQuotasOffByDefault(t *testing.T) {
	c := harness.Start(t).Client()
	for i := range 30 {
		if _, err := c.CreateLogGroup(context.Background(), &cwl.CreateLogGroupInput{LogGroupName: aws.String(fmt.Sprint("g", i))}); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
	}
}
