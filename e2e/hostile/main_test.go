package hostile

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"
	json "github.com/goccy/go-json"

	"github.com/cairnlog/cairn/internal/awsclient"
	"github.com/cairnlog/cairn/internal/iam"
	"github.com/cairnlog/cairn/internal/leakcheck"
	"github.com/cairnlog/cairn/internal/server"
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

// srv is a real server started in-process with SigV4 on.
type srv struct {
	*server.Server
	dir   string
	creds aws.Credentials // the root key generated on first start ("" keys with an IAM file)
	http  *http.Client    // raw requests; its idle connections are closed at cleanup
}

// start runs a server on 127.0.0.1:0 with a fresh data directory and the
// generated root key; edit may change the configuration first.
func start(t testing.TB, edit ...func(*server.Config)) *srv {
	t.Helper()
	cfg := server.Config{Listen: "127.0.0.1:0", DataDir: filepath.Join(t.TempDir(), "data"), Auth: "sigv4"}
	for _, e := range edit {
		e(&cfg)
	}
	s, err := server.Start(cfg)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	tr := &http.Transport{}
	hs := &srv{Server: s, dir: cfg.DataDir, http: &http.Client{Transport: tr}}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	if cfg.IAMFile == "" {
		key, secret, err := iam.ReadCredentials(filepath.Join(cfg.DataDir, iam.CredentialsFileName))
		if err != nil {
			t.Fatalf("read generated root key: %v", err)
		}
		hs.creds = aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}
	}
	return hs
}

// writeIAM writes an IAM file of mode 0600 and returns its path.
func writeIAM(t testing.TB, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "iam.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// client is an aws-sdk-go-v2 Logs client with the given key; retries are off
// so a test sees exactly what the server answered.
func (s *srv) client(c aws.Credentials) *cwl.Client {
	return cwl.New(cwl.Options{
		Region:       region,
		BaseEndpoint: aws.String(s.URL()),
		Credentials:  credentials.StaticCredentialsProvider{Value: c},
		Retryer:      aws.NopRetryer{},
		HTTPClient:   awsclient.BufferedBodies{Next: s.http},
	}, awsclient.NoHostPrefix)
}

// root is the SDK client of the generated root key.
func (s *srv) root() *cwl.Client { return s.client(s.creds) }

// reply is a server's answer to a raw request.
type reply struct {
	status int
	code   string // __type of an error
	msg    string // message of an error
	body   []byte
}

func (r reply) String() string {
	if r.code != "" {
		return fmt.Sprintf("%d %s %q", r.status, r.code, r.msg)
	}
	b := r.body
	if len(b) > 300 {
		b = b[:300]
	}
	return fmt.Sprintf("%d %q", r.status, b)
}

// newRequest builds a Logs API request for op with body, unsigned.
func (s *srv) newRequest(t testing.TB, op string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodPost, s.URL()+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", jsonType)
	if op != "" {
		req.Header.Set("X-Amz-Target", target+op)
	}
	return req
}

// sign signs req over body with the SDK's signer, as every SDK does: every
// header present is signed, X-Amz-Target included.
func sign(t testing.TB, req *http.Request, c aws.Credentials, body []byte, at time.Time) {
	t.Helper()
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), c, req, hex.EncodeToString(sum[:]), "logs", region, at); err != nil {
		t.Fatal(err)
	}
}

// call sends op with a raw body signed by the root key (or c, if given).
func (s *srv) call(t testing.TB, op string, body []byte, c ...aws.Credentials) reply {
	t.Helper()
	cr := s.creds
	if len(c) > 0 {
		cr = c[0]
	}
	req := s.newRequest(t, op, body)
	sign(t, req, cr, body, time.Now())
	return s.do(t, req)
}

// do sends req and reads the answer.
func (s *srv) do(t testing.TB, req *http.Request) reply {
	t.Helper()
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.Header.Get("X-Amz-Target"), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	return parseReply(resp.StatusCode, body)
}

func parseReply(status int, body []byte) reply {
	r := reply{status: status, body: body}
	if status >= 300 {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if json.Unmarshal(body, &e) == nil {
			r.code, r.msg = e.Type, e.Message
		}
	}
	return r
}

// wantReply fails unless r is the AWS error code (with msg, when msg != "").
func wantReply(t testing.TB, what string, r reply, status int, code, msg string) {
	t.Helper()
	if r.status != status || r.code != code || (msg != "" && r.msg != msg) {
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
func (s *srv) dial(t testing.TB) net.Conn {
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
func readReply(t testing.TB, conn net.Conn) (reply, error) {
	t.Helper()
	return readReplyWithin(t, conn, hangGuard)
}

// readReplyWithin is readReply with its own guard.
func readReplyWithin(t testing.TB, conn net.Conn, guard time.Duration) (reply, error) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(guard))
	defer conn.SetReadDeadline(time.Time{})
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return parseReply(resp.StatusCode, body), nil
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
