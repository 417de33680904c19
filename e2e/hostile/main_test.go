package hostile

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"

	"github.com/cairnlog/cairn/internal/awsclient"
	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/leakcheck"
)

func TestMain(m *testing.M) {
	// The server's goroutines run in this process; none may outlive a test.
	os.Exit(leakcheck.Main(m, "cairnlog/cairn/internal/", "cairnlog/cairn/e2e/hostile."))
}

const (
	region    = "us-east-1"
	target    = "Logs_20140328."
	jsonType  = "application/x-amz-json-1.1"
	maxBody   = 8 << 20 // protocol.DefaultMaxBody, the bound every body is held to
	emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

	// hangGuard bounds how long a test waits for an answer the server owes
	// it; it only turns a hang into a failure, nothing is measured with it.
	hangGuard = 20 * time.Second
)

// writeIAM writes an IAM file of mode 0600 and returns its path.
func writeIAM(t testing.TB, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "iam.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// client is an aws-sdk-go-v2 Logs client with the given key, as the root's
// (s.Client()) is: no retries, no "stream-" host prefix.
func client(s *harness.Server, c aws.Credentials) *cwl.Client {
	return s.ClientAs(c, region, awsclient.NoHostPrefix)
}

// wantReply fails unless r is the AWS error code (with msg, when msg != "").
func wantReply(t testing.TB, what string, r harness.Reply, status int, code, msg string) {
	t.Helper()
	if r.Status != status || r.Code != code || (msg != "" && r.Message != msg) {
		t.Errorf("%s: got %v, want %d %s %q", what, r, status, code, msg)
	}
}

// wantAPIError fails unless err is the AWS error code (with msg, when msg != "").
func wantAPIError(t testing.TB, what string, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("%s: got %v, want %s", what, err, code)
		return
	}
	if ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Errorf("%s: got %s %q, want %s %q", what, ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

// groupNames lists the account's log groups through the root client.
func groupNames(t testing.TB, c *cwl.Client) []string {
	t.Helper()
	var names []string
	p := cwl.NewDescribeLogGroupsPaginator(c, &cwl.DescribeLogGroupsInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx(t))
		if err != nil {
			t.Fatalf("DescribeLogGroups: %v", err)
		}
		for _, g := range out.LogGroups {
			names = append(names, aws.ToString(g.LogGroupName))
		}
	}
	return names
}

func hasGroup(t testing.TB, c *cwl.Client, name string) bool {
	t.Helper()
	for _, n := range groupNames(t, c) {
		if n == name {
			return true
		}
	}
	return false
}

func createGroup(t testing.TB, c *cwl.Client, group string, streams ...string) {
	t.Helper()
	if _, err := c.CreateLogGroup(ctx(t), &cwl.CreateLogGroupInput{LogGroupName: &group}); err != nil {
		t.Fatalf("CreateLogGroup %s: %v", group, err)
	}
	for _, st := range streams {
		if _, err := c.CreateLogStream(ctx(t), &cwl.CreateLogStreamInput{LogGroupName: &group, LogStreamName: aws.String(st)}); err != nil {
			t.Fatalf("CreateLogStream %s %s: %v", group, st, err)
		}
	}
}

// ctx ends with the test or after a minute.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// dial opens a raw TCP connection to the server, closed at cleanup.
func dial(t testing.TB, s *harness.Server) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// readReply reads one HTTP response from a raw connection, skipping 1xx
// interim responses, with the hang guard as its deadline.
func readReply(t testing.TB, conn net.Conn) (harness.Reply, error) {
	t.Helper()
	return readReplyWithin(t, conn, hangGuard)
}

// readReplyWithin is readReply with its own guard.
func readReplyWithin(t testing.TB, conn net.Conn, guard time.Duration) (harness.Reply, error) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(guard))
	defer conn.SetReadDeadline(time.Time{})
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return harness.Reply{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return harness.Reply{}, err
	}
	return harness.ParseReply(resp.StatusCode, resp.Header, body), nil
}

// rawHead is the head of a Logs request for op, ending in the blank line.
func rawHead(addr, op string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nX-Amz-Target: %s%s\r\n", addr, jsonType, target, op)
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return b.String()
}

// heap is the live heap after a full collection.
func heap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
