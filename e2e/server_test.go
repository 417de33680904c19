package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/cairnlog/cairn/internal/awsclient"

	"github.com/cairnlog/cairn/internal/leakcheck"
)

// cairnBin is the binary TestMain builds; tests only read it.
var cairnBin string

const (
	// startTimeout bounds how long a server may take to print its endpoint.
	// It is generous because the machine is shared; a restart after a crash
	// is expected to take well under a second.
	startTimeout = 30 * time.Second
	// stopTimeout is how long a server has to exit after SIGTERM before it
	// is killed and the test fails.
	stopTimeout = 20 * time.Second

	defaultRegion = "us-east-1"
	accessKey     = "AKIDEXAMPLE"
	secretKey     = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
)

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "cairn-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	cairnBin = filepath.Join(dir, "cairn")
	// go test puts its own go first on PATH, so this builds with the same
	// toolchain as the test. Static (no cgo), as the release and the
	// container image are: the same binary serves every test.
	// -buildvcs=true stamps the commit (`cairn version` prints it) even
	// where GOFLAGS turns stamping off.
	build := exec.Command("go", "build", "-trimpath", "-buildvcs=true", "-o", cairnBin, "github.com/cairnlog/cairn/cmd/cairn")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: build cairn: %v\n%s", err, out)
		return 1
	}
	code := m.Run()
	if code == 0 {
		if err := leakcheck.Check(leakcheck.Grace, "cairnlog/cairn/e2e.", "os/exec."); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			code = 1
		}
	}
	return code
}

// server is one cairn server process.
type server struct {
	tb      testing.TB
	dir     string
	url     string // http://127.0.0.1:PORT
	startup string // the startup= value the server logged, e.g. "31ms"
	cmd     *exec.Cmd
	out     *lineLog
	exited  chan struct{} // closed once cmd.Wait has returned
	waitErr error         // cmd.Wait's result; read only after exited is closed
}

// startServer starts cairn on 127.0.0.1:0 with a fresh data directory.
func startServer(tb testing.TB) *server {
	tb.Helper()
	return startServerOn(tb, tb.TempDir())
}

// startServerOn starts cairn on the data directory dir, waits until it logs
// its endpoint and answers /health, and stops it when the test ends.
func startServerOn(tb testing.TB, dir string) *server {
	tb.Helper()
	return startServerArgs(tb, dir, "--auth", "off")
}

// startServerArgs starts a server on dir with the given authentication
// arguments (e.g. "--auth", "sigv4", "--iam", FILE).
func startServerArgs(tb testing.TB, dir string, authArgs ...string) *server {
	tb.Helper()
	s := &server{tb: tb, dir: dir, out: newLineLog("endpoint="), exited: make(chan struct{})}
	s.cmd = exec.Command(cairnBin, append([]string{"server", "--listen", "127.0.0.1:0", "--data", dir}, authArgs...)...)
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	// If the test binary dies (e.g. go test's timeout), take the server along.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		tb.Fatalf("start cairn: %v", err)
	}
	go func() {
		s.waitErr = s.cmd.Wait() // also waits for the output copier to drain
		close(s.exited)
	}()
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("cairn (pid %d, data %s) output:\n%s", s.cmd.Process.Pid, dir, s.out.String())
		}
	})
	tb.Cleanup(s.stop)

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case line := <-s.out.found:
		s.url = logField(line, "endpoint")
		s.startup = logField(line, "startup")
	case <-s.exited:
		tb.Fatalf("cairn exited before it was ready (%v):\n%s", s.waitErr, s.out.String())
	case <-timer.C:
		tb.Fatalf("cairn did not log its endpoint within %v:\n%s", startTimeout, s.out.String())
	}
	if !strings.HasPrefix(s.url, "http://127.0.0.1:") && !strings.HasPrefix(s.url, "https://127.0.0.1:") {
		tb.Fatalf("cairn logged endpoint %q, want http://127.0.0.1:PORT", s.url)
	}
	// Bounded like the wait for the endpoint: a server that accepts the
	// connection and never answers fails the test instead of hanging it.
	hctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(hctx, http.MethodGet, s.url+"/health", nil)
	if err != nil {
		tb.Fatalf("GET /health: %v", err)
	}
	resp, err := s.httpClient().Do(req)
	if err != nil {
		tb.Fatalf("GET /health: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET /health: %s", resp.Status)
	}
	return s
}

// stop sends SIGTERM and waits for a clean exit; a server that does not exit
// in time is killed and the test fails. Stopping an exited server is a no-op.
func (s *server) stop() {
	s.tb.Helper()
	select {
	case <-s.exited:
		return
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.tb.Errorf("SIGTERM cairn: %v", err)
	}
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-s.exited:
		if s.waitErr != nil {
			s.tb.Errorf("cairn did not exit cleanly after SIGTERM: %v", s.waitErr)
		}
	case <-timer.C:
		s.tb.Errorf("cairn did not exit within %v of SIGTERM; killing it", stopTimeout)
		s.cmd.Process.Signal(syscall.SIGKILL)
		<-s.exited
	}
}

// kill simulates a crash: SIGKILL, then wait for the process to be gone.
func (s *server) kill() {
	s.tb.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		s.tb.Fatalf("SIGKILL cairn: %v", err)
	}
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		s.tb.Fatalf("cairn still running %v after SIGKILL", stopTimeout)
	}
}

// logs returns an aws-sdk-go-v2 client for the server in region. Retries are
// off so a test sees exactly what the server answered.
func (s *server) logs(region string) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{
		Region:           region,
		BaseEndpoint:     aws.String(s.url),
		Credentials:      credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		RetryMaxAttempts: 1,
		HTTPClient:       awsclient.HTTPClient(),
	})
}

// lineLog collects a process's output and hands the first line containing
// a marker to found.
type lineLog struct {
	marker string
	found  chan string // buffered; receives at most one line

	mu      sync.Mutex
	buf     bytes.Buffer // guarded by mu
	scanned int          // guarded by mu; bytes of buf already searched
	sent    bool         // guarded by mu
}

func newLineLog(marker string) *lineLog {
	return &lineLog{marker: marker, found: make(chan string, 1)}
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	for !l.sent {
		rest := l.buf.Bytes()[l.scanned:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		l.scanned += i + 1
		if line := string(rest[:i]); strings.Contains(line, l.marker) {
			l.found <- line
			l.sent = true
		}
	}
	return len(p), nil
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// logField returns the value of key in a slog text line ("" if absent).
func logField(line, key string) string {
	i := strings.Index(" "+line, " "+key+"=")
	if i < 0 {
		return ""
	}
	v := line[i+len(key)+1:]
	if strings.HasPrefix(v, `"`) {
		if j := strings.Index(v[1:], `"`); j >= 0 {
			return v[1 : j+1]
		}
	}
	if j := strings.IndexByte(v, ' '); j >= 0 {
		v = v[:j]
	}
	return v
}

// ctx returns a context that ends with the test or after a minute.
func ctx(tb testing.TB) context.Context {
	c, cancel := context.WithTimeout(tb.Context(), time.Minute)
	tb.Cleanup(cancel)
	return c
}

// nowMS is the current time in epoch milliseconds, as the API counts time.
func nowMS() int64 { return time.Now().UnixMilli() }

// event is an input log event, in the API's JSON shape.
type event struct {
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
}

// create makes a log group and its streams with the Go SDK.
func create(tb testing.TB, c *cloudwatchlogs.Client, group string, streams ...string) {
	tb.Helper()
	if _, err := c.CreateLogGroup(ctx(tb), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &group}); err != nil {
		tb.Fatalf("CreateLogGroup %s: %v", group, err)
	}
	for _, s := range streams {
		if _, err := c.CreateLogStream(ctx(tb), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: &group, LogStreamName: &s}); err != nil {
			tb.Fatalf("CreateLogStream %s %s: %v", group, s, err)
		}
	}
}

// put sends events in one PutLogEvents call with the Go SDK and requires
// all of them to be accepted.
func put(tb testing.TB, c *cloudwatchlogs.Client, group, stream string, evs ...event) {
	tb.Helper()
	in := &cloudwatchlogs.PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream}
	for _, e := range evs {
		in.LogEvents = append(in.LogEvents, types.InputLogEvent{Timestamp: aws.Int64(e.Timestamp), Message: aws.String(e.Message)})
	}
	out, err := c.PutLogEvents(ctx(tb), in)
	if err != nil {
		tb.Fatalf("PutLogEvents %s %s: %v", group, stream, err)
	}
	if r := out.RejectedLogEventsInfo; r != nil {
		tb.Fatalf("PutLogEvents %s %s: rejected %+v", group, stream, *r)
	}
}

// apiCode is the AWS error code of an SDK error, "" for nil, or the error's
// text when it is not an API error.
func apiCode(err error) string {
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return err.Error()
}
