package harness_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/leakcheck"
	"github.com/cairnlog/cairn/internal/server"
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

// TestRestartSameAddress: Restart serves the same data on the same address,
// so a client made before reaches it.
func TestRestartSameAddress(t *testing.T) {
	s := harness.Start(t)
	c, addr := s.Client(), s.Addr()
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	if s.Addr() != addr {
		t.Fatalf("restarted on %s, was %s", s.Addr(), addr)
	}
	out, err := c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
	if err != nil || len(out.LogGroups) != 1 {
		t.Fatalf("after restart: %v %v", out, err)
	}
}

// TestCallAndIAM: Call signs with the root key; WithIAM's file names the
// identities (the generated key is then absent), in both error shapes.
func TestCallAndIAM(t *testing.T) {
	s := harness.Start(t)
	if r := s.Call(t, "CreateLogGroup", []byte(`{"logGroupName":"g"}`)); r.Status != 200 {
		t.Fatalf("signed call: %+v", r)
	}
	if r := s.Do(t, s.Request(t, "DescribeLogGroups", []byte(`{}`))); r.Status != 403 || r.Code != "MissingAuthenticationTokenException" {
		t.Fatalf("unsigned call: %d %s %q", r.Status, r.Code, r.Message)
	}
	i := harness.Start(t, harness.WithIAM(`
accounts:
  - id: "111111111111"
    root:
      accessKeys: [{id: AKIAHARNESSTEST00001, secret: harness-secret-0123456789}]
`))
	if i.IAMFile == "" {
		t.Fatal("no IAM file path")
	}
	root := aws.Credentials{AccessKeyID: "AKIAHARNESSTEST00001", SecretAccessKey: "harness-secret-0123456789"}
	if _, err := i.ClientAs(root, "eu-west-1").CreateLogGroup(context.Background(), &cwl.CreateLogGroupInput{LogGroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	req := i.Request(t, "", []byte("Action=GetCallerIdentity&Version=2011-06-15"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r := i.Do(t, req); r.Status != 403 || r.Code != "MissingAuthenticationToken" {
		t.Fatalf("unsigned STS call: %d %s %q", r.Status, r.Code, r.Message)
	}
}

// TestTLSClientTrustsServer: with a self-signed pair, the harness's clients
// trust exactly the server's certificate.
func TestTLSClientTrustsServer(t *testing.T) {
	s := harness.Start(t, harness.Configure(func(c *server.Config) { c.TLSSelfSigned = true }))
	if _, err := s.Client().DescribeLogGroups(context.Background(), &cwl.DescribeLogGroupsInput{}); err != nil {
		t.Fatal(err)
	}
}

// doerFunc lets a test see the requests a client sends.
type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

// Over's client sends through the given client, with a body net/http can
// read again (buffered), not the SDK's own.
func TestOverBuffersBodies(t *testing.T) {
	s := harness.Start(t)
	var seen []string
	c := s.Client(harness.Over(doerFunc(func(r *http.Request) (*http.Response, error) {
		if r.GetBody != nil {
			seen = append(seen, r.Header.Get("X-Amz-Target"))
		}
		return s.HTTPClient().Do(r)
	})))
	if _, err := c.CreateLogGroup(context.Background(), &cwl.CreateLogGroupInput{LogGroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != harness.Target+"CreateLogGroup" {
		t.Fatalf("buffered requests through the given client: %q", seen)
	}
}

// TestWithUsers: the IAM document WithUsers writes gives each user its key
// and exactly its statements (admin may create; the reader, allowed
// Describe* and denied CreateLogGroup, may list but not create), and the
// account is the one named.
func TestWithUsers(t *testing.T) {
	reader := harness.User{Name: "reader", Key: aws.Credentials{AccessKeyID: "AKIAREADERHARNESS001", SecretAccessKey: "reader-secret-0123456789"},
		PolicyName: "read", Statements: []harness.Statement{harness.Allow([]string{"logs:Describe*", "logs:CreateLogGroup"}, "*"),
			harness.Deny([]string{"logs:CreateLogGroup"}, "*")}}
	s := harness.Start(t, harness.WithUsers("123456789012", harness.Admin(), reader))
	ctx := context.Background()
	admin := s.ClientAs(harness.Admin().Creds(), "us-east-1")
	harness.CreateGroup(t, admin, "g", "s")
	harness.PutMessages(t, admin, "g", "s", "one", "two")
	out, err := s.ClientAs(reader.Creds(), "us-east-1").DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
	if err != nil || len(out.LogGroups) != 1 || *out.LogGroups[0].Arn != "arn:aws:logs:us-east-1:123456789012:log-group:g:*" {
		t.Fatalf("reader's DescribeLogGroups: %+v %v", out, err)
	}
	_, err = s.ClientAs(reader.Creds(), "us-east-1").CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("h")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("reader's CreateLogGroup: %v", err)
	}
	ev, err := admin.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)})
	if err != nil || len(ev.Events) != 2 || *ev.Events[0].Message != "one" || *ev.Events[1].Message != "two" {
		t.Fatalf("events: %+v %v", ev, err)
	}
}
