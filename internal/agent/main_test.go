package agent

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/server"

	"github.com/cairnlog/cairn/internal/awsclient"

	"github.com/cairnlog/cairn/internal/leakcheck"
)

func TestMain(m *testing.M) {
	os.Exit(leakcheck.Main(m, "cairn/internal/agent."))
}

// testServer is a real Cairn server that can be stopped and started again
// on the same address and data directory.
type testServer struct {
	t    testing.TB
	dir  string
	addr string
	s    *server.Server
}

func startServer(t testing.TB) *testServer {
	t.Helper()
	ts := &testServer{t: t, dir: t.TempDir(), addr: "127.0.0.1:0"}
	ts.start()
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) start() {
	ts.t.Helper()
	var err error
	deadline := time.Now().Add(10 * time.Second)
	for {
		ts.s, err = server.Start(server.Config{Listen: ts.addr, DataDir: ts.dir, Auth: "off"})
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // the port may linger briefly
	}
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.addr = ts.s.Addr()
}

func (ts *testServer) stop() {
	if ts.s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.s.Close(ctx); err != nil {
		ts.t.Errorf("close server: %v", err)
	}
	ts.s = nil
}

func (ts *testServer) url() string { return "http://" + ts.addr }

func (ts *testServer) client() *cwl.Client {
	return cwl.New(cwl.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(ts.url()),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RetryMaxAttempts: 1,
		HTTPClient:       awsclient.HTTPClient(),
	})
}

// storedMessages reads a whole stream, oldest first.
func storedMessages(t testing.TB, c *cwl.Client, group, stream string) []string {
	t.Helper()
	var out []string
	var token *string
	for {
		resp, err := c.GetLogEvents(context.Background(), &cwl.GetLogEventsInput{
			LogGroupName: aws.String(group), LogStreamName: aws.String(stream),
			StartFromHead: aws.Bool(true), NextToken: token,
		})
		if isCode(err, "ResourceNotFoundException") {
			return nil
		}
		if err != nil {
			t.Fatalf("GetLogEvents: %v", err)
		}
		for _, e := range resp.Events {
			out = append(out, aws.ToString(e.Message))
		}
		if token != nil && aws.ToString(resp.NextForwardToken) == aws.ToString(token) {
			return out
		}
		token = resp.NextForwardToken
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
