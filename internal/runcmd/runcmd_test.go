package runcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/agent"

	"github.com/cairnlog/cairn/internal/harness"

	"github.com/cairnlog/cairn/internal/leakcheck"
)

func TestMain(m *testing.M) {
	os.Exit(leakcheck.Main(m, "cairn/internal/runcmd.", "cairn/internal/agent."))
}

func startServer(t testing.TB) *cwl.Client {
	t.Helper()
	return harness.Start(t).Client()
}

func stored(t testing.TB, c *cwl.Client, group, stream string) []string {
	t.Helper()
	resp, err := c.GetLogEvents(context.Background(), &cwl.GetLogEventsInput{
		LogGroupName: aws.String(group), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetLogEvents: %v", err)
	}
	var out []string
	for _, e := range resp.Events {
		out = append(out, aws.ToString(e.Message))
	}
	return out
}

func run(t testing.TB, c *cwl.Client, cfg Config, script string) (Result, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cfg.Client = c
	if cfg.Group == "" {
		cfg.Group = "run"
	}
	if cfg.Stream == "" {
		cfg.Stream = t.Name()
	}
	cfg.Args = []string{"sh", "-c", script}
	cfg.Stdout, cfg.Stderr = &stdout, &stderr
	cfg.FlushInterval = 50 * time.Millisecond
	cfg.FlushTimeout = 10 * time.Second
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res, stdout.String(), stderr.String()
}

func TestExitCodesAndLastLine(t *testing.T) {
	c := startServer(t)
	f := func(script string, wantCode int, want ...string) {
		t.Helper()
		res, _, _ := run(t, c, Config{Stream: fmt.Sprint(time.Now().UnixNano())}, script)
		if res.ExitCode != wantCode {
			t.Errorf("%q: exit %d, want %d", script, res.ExitCode, wantCode)
		}
	}
	f("exit 0", 0)
	f("exit 3", 3)
	f("kill -KILL $$", 128+9)
	f("kill -TERM $$", 128+15)
	res, out, _ := run(t, c, Config{Stream: "last"}, `printf 'first\n\nlast without newline'`)
	if res.ExitCode != 0 || out != "first\n\nlast without newline" {
		t.Fatalf("exit %d, echo %q", res.ExitCode, out)
	}
	if got := stored(t, c, "run", "last"); !slices.Equal(got, []string{"first", " ", "last without newline"}) {
		t.Fatalf("stored %q", got)
	}
	if res, err := Run(context.Background(), Config{Client: c, Group: "g", Stream: "s", Args: []string{"/no/such/command"}}); err == nil || res.ExitCode != 127 {
		t.Fatalf("missing command: %v, exit %d", err, res.ExitCode)
	}
}

func TestStdoutAndStderr(t *testing.T) {
	c := startServer(t)
	res, out, errOut := run(t, c, Config{}, `echo out1; echo err1 >&2; sleep 0.05; echo out2`)
	if res.ExitCode != 0 || out != "out1\nout2\n" || errOut != "err1\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", res.ExitCode, out, errOut)
	}
	got := stored(t, c, "run", t.Name())
	slices.Sort(got) // same-millisecond lines of two pipes have no order between them
	if want := []string{"[stderr] err1", "out1", "out2"}; !slices.Equal(got, want) {
		t.Fatalf("stored %q, want %q", got, want)
	}
}

func TestSignalForwarded(t *testing.T) {
	c := startServer(t)
	sigs := make(chan os.Signal, 1)
	var stdout bytes.Buffer
	ready := make(chan struct{})
	go func() {
		// Send SIGTERM once the child has set its trap.
		for !strings.Contains(syncString(&stdout), "ready") {
			time.Sleep(10 * time.Millisecond)
		}
		sigs <- syscall.SIGTERM
		close(ready)
	}()
	res, err := Run(context.Background(), Config{
		Client: c, Group: "run", Stream: "sig", Signals: sigs,
		Args:   []string{"sh", "-c", `trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.02; done`},
		Stdout: lockedWriter{&stdout}, FlushInterval: 50 * time.Millisecond,
	})
	<-ready
	if err != nil || res.ExitCode != 7 {
		t.Fatalf("exit %d, %v", res.ExitCode, err)
	}
	if got := stored(t, c, "run", "sig"); !slices.Equal(got, []string{"ready", "got TERM"}) {
		t.Fatalf("stored %q", got)
	}
}

var bufMu = make(chan struct{}, 1)

type lockedWriter struct{ b *bytes.Buffer }

func (w lockedWriter) Write(p []byte) (int, error) {
	bufMu <- struct{}{}
	defer func() { <-bufMu }()
	return w.b.Write(p)
}

func syncString(b *bytes.Buffer) string {
	bufMu <- struct{}{}
	defer func() { <-bufMu }()
	return b.String()
}

func TestMasking(t *testing.T) {
	c := startServer(t)
	m, err := agent.NewMasker([]string{"s3cr3t"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	run(t, c, Config{Masker: m, JSON: true}, `echo "the password is s3cr3t"; echo 'quote " s3cr3t' >&2`)
	got := stored(t, c, "run", t.Name())
	for _, g := range got {
		if strings.Contains(g, "s3cr3t") {
			t.Fatalf("secret shipped: %q", g)
		}
	}
	slices.Sort(got)
	want := []string{`{"message":"quote \" ****","stream":"stderr"}`, `{"message":"the password is ****"}`}
	if !slices.Equal(got, want) {
		t.Fatalf("stored %q, want %q", got, want)
	}
}

// TestJenkinsShape: --json with build and node metadata gives events that
// {$.build = "42"} selects, as the Jenkins pipeline-cloudwatch-logs plugin
// reads them.
func TestJenkinsShape(t *testing.T) {
	c := startServer(t)
	meta := func(build string) []Meta { return []Meta{{"build", build}, {"node", "7"}} }
	run(t, c, Config{Stream: "job@agent1", JSON: true, Meta: meta("42")}, `echo hello; printf 'tab\there <b>'`)
	run(t, c, Config{Stream: "job@agent1", JSON: true, Meta: meta("43")}, `echo other build`)
	resp, err := c.FilterLogEvents(context.Background(), &cwl.FilterLogEventsInput{
		LogGroupName: aws.String("run"), LogStreamNamePrefix: aws.String("job@"),
		FilterPattern: aws.String(`{$.build = "42"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range resp.Events {
		got = append(got, aws.ToString(e.Message))
	}
	want := []string{`{"message":"hello","build":"42","node":"7"}`, `{"message":"tab\there <b>","build":"42","node":"7"}`}
	if !slices.Equal(got, want) {
		t.Fatalf("selected %q, want %q", got, want)
	}
}

func TestWrapFitsLimit(t *testing.T) {
	cfg := Config{JSON: true, Meta: []Meta{{"build", "1"}}, MaxEventBytes: 26 + 60}
	long := strings.Repeat(`"é`, 40)
	var joined strings.Builder
	for _, m := range cfg.wrap(long, true) {
		if len(m) > 60 {
			t.Fatalf("event of %d bytes: %s", len(m), m)
		}
		var v struct{ Message string }
		if err := jsonUnmarshal(m, &v); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		joined.WriteString(v.Message)
	}
	if joined.String() != long {
		t.Fatalf("pieces joined: %q", joined.String())
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// deadClient is a client whose endpoint refuses connections (nothing
// listens on port 1), without retries of its own: the shipper retries.
func deadClient() *cwl.Client {
	return cwl.New(cwl.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("http://127.0.0.1:1"),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		Retryer:      aws.NopRetryer{},
	})
}

// TestLostLogsFailTheRun: with the endpoint down, a command that succeeds
// makes the run exit ExitLogsLost and say what was lost, unless AllowLoss.
func TestLostLogsFailTheRun(t *testing.T) {
	for _, allow := range []bool{false, true} {
		var stderr bytes.Buffer
		res, err := Run(context.Background(), Config{Client: deadClient(), Group: "g", Stream: "s", Args: []string{"sh", "-c", "echo one; echo two"},
			Stderr: &stderr, FlushInterval: 20 * time.Millisecond, FlushTimeout: 300 * time.Millisecond, AllowLoss: allow,
			Logger:  slog.New(slog.NewTextHandler(&stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
			Backoff: agent.Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}})
		if err != nil {
			t.Fatal(err)
		}
		want := ExitLogsLost
		if allow {
			want = 0
		}
		if res.ExitCode != want || res.Unsent != 2 {
			t.Fatalf("allow=%v: exit %d, unsent %d; want exit %d, unsent 2; stderr:\n%s", allow, res.ExitCode, res.Unsent, want, stderr.String())
		}
		if msg := stderr.String(); !strings.Contains(msg, "LOST 2 of 2 log events for g/s") || !strings.Contains(msg, "last error: ") {
			t.Fatalf("stderr does not say what was lost and why:\n%s", msg)
		}
		// cairn run's warnings speak as cairn run, not as the agent, and
		// never print a nil error.
		if msg := stderr.String(); strings.Contains(msg, "agent:") || strings.Contains(msg, "<nil>") || !strings.Contains(msg, "failed; retrying") {
			t.Fatalf("warning wording:\n%s", msg)
		}
	}
	// A command that failed keeps its own status.
	res, _ := Run(context.Background(), Config{Client: deadClient(), Group: "g", Stream: "s", Args: []string{"sh", "-c", "echo x; exit 4"},
		FlushTimeout: 200 * time.Millisecond, Backoff: agent.Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}})
	if res.ExitCode != 4 {
		t.Fatalf("failed command with lost logs: exit %d, want its own 4", res.ExitCode)
	}
}

// TestSignalEndsFinalFlush: a signal after the command exited ends the
// final flush at once instead of waiting out the flush timeout.
func TestSignalEndsFinalFlush(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	var stderr syncBuffer
	done := make(chan Result, 1)
	go func() {
		// The command ignores SIGINT, so a signal forwarded to it before it
		// exits changes nothing.
		res, _ := Run(context.Background(), Config{Client: deadClient(), Group: "g", Stream: "s", Args: []string{"sh", "-c", "trap '' INT; echo hi"},
			Stderr: &stderr, Signals: sigs, FlushTimeout: 10 * time.Minute, Backoff: agent.Backoff{Base: 10 * time.Millisecond, Max: 50 * time.Millisecond}})
		done <- res
	}()
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case res := <-done:
			if res.ExitCode != ExitLogsLost || !strings.Contains(stderr.String(), "shipping interrupted by interrupt") {
				t.Fatalf("exit %d, stderr:\n%s", res.ExitCode, stderr.String())
			}
			return
		case <-tick.C:
			select {
			case sigs <- syscall.SIGINT:
			default:
			}
		case <-deadline:
			t.Fatalf("the flush did not end on a signal; stderr:\n%s", stderr.String())
		}
	}
}

// TestNoOutputCreatesStream: a command with no output still gets its group
// and stream.
func TestNoOutputCreatesStream(t *testing.T) {
	c := startServer(t)
	res, _, _ := run(t, c, Config{Group: "quiet", Stream: "step-1"}, "true")
	if res.ExitCode != 0 {
		t.Fatalf("exit %d", res.ExitCode)
	}
	out, err := c.DescribeLogStreams(context.Background(), &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("quiet")})
	if err != nil {
		t.Fatalf("DescribeLogStreams: %v", err)
	}
	if len(out.LogStreams) != 1 || aws.ToString(out.LogStreams[0].LogStreamName) != "step-1" {
		t.Fatalf("streams %+v", out.LogStreams)
	}
}

type syncBuffer = harness.SyncBuffer
