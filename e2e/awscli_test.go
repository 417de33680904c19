package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// awsCLI is the AWS CLI v2 from the Debian package awscli. The aws first on
// PATH may be a Python CLI v1, which behaves differently (no `logs tail`).
const awsCLI = "/usr/bin/aws"

const installHint = "run the test command from the README, which installs the Debian packages awscli and python3-boto3 " +
	"(apt-get install -y awscli python3-boto3)"

// cli runs the AWS CLI against one server.
type cli struct {
	tb  testing.TB
	srv *server
	dir string // scratch space for file:// arguments and the CLI's config
}

func newCLI(tb testing.TB, srv *server) *cli {
	tb.Helper()
	if _, err := os.Stat(awsCLI); err != nil {
		tb.Fatalf("AWS CLI v2 not found at %s (%v): %s", awsCLI, err, installHint)
	}
	return &cli{tb: tb, srv: srv, dir: tb.TempDir()}
}

// run runs `aws --endpoint-url URL logs ARGS...` and returns its stdout,
// stderr and exit error. Leading arguments before "logs" may be given as
// "--region", "R".
func (c *cli) run(args ...string) (string, string, error) {
	c.tb.Helper()
	var global []string
	if len(args) >= 2 && args[0] == "--region" {
		global, args = args[:2], args[2:]
	}
	full := append(append([]string{"--endpoint-url", c.srv.url, "--output", "json"}, global...), append([]string{"logs"}, args...)...)
	cx, cancel := context.WithTimeout(c.tb.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cx, awsCLI, full...)
	cmd.Env = append(cleanEnv(),
		"AWS_ACCESS_KEY_ID="+accessKey,
		"AWS_SECRET_ACCESS_KEY="+secretKey,
		"AWS_DEFAULT_REGION="+defaultRegion,
		"AWS_PAGER=",
		"AWS_CONFIG_FILE="+filepath.Join(c.dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(c.dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=1",
		"HOME="+c.dir,
	)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// ok runs a command that must succeed and returns its stdout.
func (c *cli) ok(args ...string) string {
	c.tb.Helper()
	out, errOut, err := c.run(args...)
	if err != nil {
		c.tb.Fatalf("aws logs %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// json runs a command that must succeed and decodes its JSON output.
func (c *cli) json(v any, args ...string) {
	c.tb.Helper()
	out := c.ok(args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		c.tb.Fatalf("aws logs %s: decode output: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// fails runs a command that must fail with the AWS error code code.
func (c *cli) fails(code string, args ...string) {
	c.tb.Helper()
	out, errOut, err := c.run(args...)
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		c.tb.Errorf("aws logs %s: want error %s, got err=%v\nstdout: %s", strings.Join(args, " "), code, err, out)
		return
	}
	// The CLI prints "An error occurred (Code) when calling the Op operation: message".
	if !strings.Contains(errOut, "("+code+")") {
		c.tb.Errorf("aws logs %s: want error %s, got exit %d\nstderr: %s", strings.Join(args, " "), code, exit.ExitCode(), errOut)
	}
}

// file writes v as JSON to a scratch file and returns its file:// URL.
func (c *cli) file(name string, v any) string {
	c.tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.tb.Fatal(err)
	}
	p := filepath.Join(c.dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		c.tb.Fatal(err)
	}
	return "file://" + p
}

// cleanEnv is the test's environment without AWS_ and CAIRN_ settings, so a
// developer's profile cannot change what the tests do.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "CAIRN_") {
			env = append(env, kv)
		}
	}
	return env
}

// outEvent is an event as GetLogEvents and FilterLogEvents return it.
type outEvent struct {
	LogStreamName string `json:"logStreamName"`
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
	EventID       string `json:"eventId"`
}

type eventsOut struct {
	Events            []outEvent `json:"events"`
	NextForwardToken  string     `json:"nextForwardToken"`
	NextBackwardToken string     `json:"nextBackwardToken"`
	NextToken         string     `json:"nextToken"`
}

func messages(evs []outEvent) []string {
	var m []string
	for _, e := range evs {
		m = append(m, e.Message)
	}
	return m
}

func TestAWSCLI(t *testing.T) {
	t.Parallel()
	srv := startServer(t)

	t.Run("EventsRoundTrip", func(t *testing.T) {
		t.Parallel()
		c := newCLI(t, srv)
		c.ok("create-log-group", "--log-group-name", "jenkins")
		c.ok("create-log-stream", "--log-group-name", "jenkins", "--log-stream-name", "folder/job/42")
		c.fails("ResourceAlreadyExistsException", "create-log-group", "--log-group-name", "jenkins")
		c.fails("ResourceAlreadyExistsException", "create-log-stream", "--log-group-name", "jenkins", "--log-stream-name", "folder/job/42")

		base := nowMS() - 10*60*1000
		in := []event{
			{base, "Started by user admin"},
			{base + 1, `{"build": "42", "result": "SUCCESS", "node": {"name": "agent-1"}}`},
			{base + 1, "ERROR: disk full on /var/lib/jenkins"},
			{base + 2, "warning: disk is full-ish, ERRORS ahead"},
			{base + 3, `{"build": "43", "result": "FAILURE"}`},
			{base + 4, "Finished: SUCCESS ✓ — naïve \"quoted\"\ttab"},
		}
		var putOut struct{ NextSequenceToken string }
		c.json(&putOut, "put-log-events", "--log-group-name", "jenkins", "--log-stream-name", "folder/job/42",
			"--log-events", c.file("events.json", in))
		if putOut.NextSequenceToken == "" {
			t.Errorf("put-log-events: no nextSequenceToken")
		}
		all := make([]string, len(in))
		for i, e := range in {
			all[i] = e.Message
		}

		get := func(want []string, args ...string) {
			t.Helper()
			var out eventsOut
			c.json(&out, append([]string{"get-log-events", "--log-group-name", "jenkins", "--log-stream-name", "folder/job/42"}, args...)...)
			if got := messages(out.Events); !slices.Equal(got, want) {
				t.Errorf("get-log-events %v:\n got %q\nwant %q", args, got, want)
			}
		}
		get(all)
		get(all[:2], "--start-from-head", "--limit", "2")
		get(all[4:], "--limit", "2") // without --start-from-head the newest page comes first
		// Paging forward from the head ends when the same token comes back.
		var got []string
		for token, pages := "", 0; ; pages++ {
			args := []string{"--start-from-head", "--limit", "4"}
			if token != "" {
				args = append(args, "--next-token", token)
			}
			var out eventsOut
			c.json(&out, append([]string{"get-log-events", "--log-group-name", "jenkins", "--log-stream-name", "folder/job/42"}, args...)...)
			got = append(got, messages(out.Events)...)
			if out.NextForwardToken == "" || out.NextForwardToken == token || pages > 5 {
				break
			}
			token = out.NextForwardToken
		}
		if !slices.Equal(got, all) {
			t.Errorf("get-log-events paging forward:\n got %q\nwant %q", got, all)
		}

		filter := func(pattern string, want ...string) {
			t.Helper()
			var out eventsOut
			c.json(&out, "filter-log-events", "--log-group-name", "jenkins", "--filter-pattern", pattern)
			if got := messages(out.Events); !slices.Equal(got, want) {
				t.Errorf("filter-log-events --filter-pattern %s:\n got %q\nwant %q", pattern, got, want)
			}
		}
		filter("ERROR", in[2].Message, in[3].Message) // terms match substrings: ERRORS too
		filter(`"disk full"`, in[2].Message)
		filter(`{$.build = "42"}`, in[1].Message)

		c.fails("ResourceNotFoundException", "get-log-events", "--log-group-name", "jenkins", "--log-stream-name", "no-such-stream")
		c.fails("ResourceNotFoundException", "put-log-events", "--log-group-name", "no-such-group", "--log-stream-name", "x",
			"--log-events", c.file("one.json", in[:1]))
	})

	t.Run("FilterPagination", func(t *testing.T) {
		t.Parallel()
		c, sdk := newCLI(t, srv), srv.logs(defaultRegion)
		const group, perStream = "paged", 20
		create(t, sdk, group, "stream-0", "stream-1", "stream-2")
		base := nowMS() - 20*60*1000
		want := map[string]bool{}
		for s := range 3 {
			stream := fmt.Sprintf("stream-%d", s)
			var evs []event
			for i := range perStream {
				// Timestamps interleave across streams, so a correct merge
				// alternates streams; some timestamps repeat across streams.
				ts := base + int64(i*3+s)
				if i%5 == 0 {
					ts = base + int64(i*3)
				}
				m := fmt.Sprintf("%s event %02d tick", stream, i)
				if i%4 == 0 {
					m += " marker"
				}
				evs = append(evs, event{ts, m})
				want[m] = true
			}
			put(t, sdk, group, stream, evs...)
		}

		// The server honours limit: one page is 7 events and has a token.
		var page eventsOut
		c.json(&page, "filter-log-events", "--log-group-name", group, "--limit", "7", "--no-paginate")
		if len(page.Events) != 7 || page.NextToken == "" {
			t.Errorf("filter-log-events --limit 7 --no-paginate: %d events, nextToken %q; want 7 and a token", len(page.Events), page.NextToken)
		}

		check := func(pattern string, want map[string]bool) {
			t.Helper()
			var out eventsOut
			args := []string{"filter-log-events", "--log-group-name", group, "--page-size", "7"}
			if pattern != "" {
				args = append(args, "--filter-pattern", pattern)
			}
			c.json(&out, args...)
			seenMsg, seenID := map[string]bool{}, map[string]bool{}
			for i, e := range out.Events {
				if i > 0 && e.Timestamp < out.Events[i-1].Timestamp {
					t.Errorf("pattern %q: event %d (%s, ts %d) before event %d (ts %d): not in timestamp order",
						pattern, i-1, out.Events[i-1].Message, out.Events[i-1].Timestamp, i, e.Timestamp)
				}
				if seenMsg[e.Message] || seenID[e.EventID] {
					t.Errorf("pattern %q: duplicate event %q (id %s)", pattern, e.Message, e.EventID)
				}
				seenMsg[e.Message], seenID[e.EventID] = true, true
				if !strings.HasPrefix(e.Message, e.LogStreamName+" ") {
					t.Errorf("pattern %q: event %q reported in stream %q", pattern, e.Message, e.LogStreamName)
				}
			}
			for m := range want {
				if !seenMsg[m] {
					t.Errorf("pattern %q: event %q missing", pattern, m)
				}
			}
			if len(out.Events) != len(want) {
				t.Errorf("pattern %q: %d events, want %d", pattern, len(out.Events), len(want))
			}
		}
		check("", want)
		markers := map[string]bool{}
		for m := range want {
			if strings.HasSuffix(m, "marker") {
				markers[m] = true
			}
		}
		check("marker", markers)
	})

	t.Run("DescribeLogGroups", func(t *testing.T) {
		t.Parallel()
		c, sdk := newCLI(t, srv), srv.logs(defaultRegion)
		names := []string{"/app/web", "/app/api", "/app/worker-2", "/app/worker-10", "/app/Zeta", "/app/db", "/app/cache"}
		for _, n := range append(names, "/apple", "/other/app") {
			create(t, sdk, n)
		}
		var out struct {
			LogGroups []struct {
				LogGroupName string `json:"logGroupName"`
				Arn          string `json:"arn"`
				CreationTime int64  `json:"creationTime"`
			} `json:"logGroups"`
			NextToken string `json:"nextToken"`
		}
		c.json(&out, "describe-log-groups", "--log-group-name-prefix", "/app/", "--page-size", "2")
		var got []string
		for _, g := range out.LogGroups {
			got = append(got, g.LogGroupName)
			if want := "arn:aws:logs:" + defaultRegion + ":000000000000:log-group:" + g.LogGroupName + ":*"; g.Arn != want {
				t.Errorf("group %s: arn %q, want %q", g.LogGroupName, g.Arn, want)
			}
		}
		want := slices.Clone(names)
		slices.Sort(want) // ASCII order: "/app/Zeta" first, "worker-10" before "worker-2"
		if !slices.Equal(got, want) {
			t.Errorf("describe-log-groups --log-group-name-prefix /app/ --page-size 2:\n got %q\nwant %q", got, want)
		}
		// --max-items stops early and hands out a token to continue from.
		c.json(&out, "describe-log-groups", "--log-group-name-prefix", "/app/", "--page-size", "2", "--max-items", "3")
		if len(out.LogGroups) != 3 || out.NextToken == "" {
			t.Fatalf("describe-log-groups --max-items 3: %d groups, token %q", len(out.LogGroups), out.NextToken)
		}
		first := out.LogGroups[0].LogGroupName
		c.json(&out, "describe-log-groups", "--log-group-name-prefix", "/app/", "--page-size", "2", "--starting-token", out.NextToken)
		got = []string{first}
		for _, g := range out.LogGroups {
			got = append(got, g.LogGroupName)
		}
		if !slices.Equal(got, append([]string{want[0]}, want[3:]...)) {
			t.Errorf("describe-log-groups --starting-token: got %q after %q, want %q", got[1:], first, want[3:])
		}
	})

	t.Run("DescribeLogStreamsByLastEventTime", func(t *testing.T) {
		t.Parallel()
		c, sdk := newCLI(t, srv), srv.logs(defaultRegion)
		create(t, sdk, "ordered", "a", "b", "c", "d", "e")
		base := nowMS() - 30*60*1000
		// Name order a, b, c, d, e; last-event order c, a, e, b; d is empty.
		last := map[string]int64{"a": base + 3000, "b": base + 1000, "c": base + 4000, "e": base + 2000}
		for s, ts := range last {
			put(t, sdk, "ordered", s, event{base, "first of " + s}, event{ts, "last of " + s})
		}
		var out struct {
			LogStreams []struct {
				LogStreamName       string `json:"logStreamName"`
				FirstEventTimestamp int64  `json:"firstEventTimestamp"`
				LastEventTimestamp  int64  `json:"lastEventTimestamp"`
			} `json:"logStreams"`
		}
		c.json(&out, "describe-log-streams", "--log-group-name", "ordered", "--order-by", "LastEventTime", "--descending", "--page-size", "2")
		var got []string
		for _, s := range out.LogStreams {
			got = append(got, s.LogStreamName)
			if ts, ok := last[s.LogStreamName]; ok && (s.LastEventTimestamp != ts || s.FirstEventTimestamp != base) {
				t.Errorf("stream %s: first/last event %d/%d, want %d/%d", s.LogStreamName, s.FirstEventTimestamp, s.LastEventTimestamp, base, ts)
			}
		}
		// AWS puts streams without events last when descending; accept
		// either end for "d" but require the others in order.
		withEvents := slices.DeleteFunc(slices.Clone(got), func(s string) bool { return s == "d" })
		if !slices.Equal(withEvents, []string{"c", "a", "e", "b"}) || len(got) != 5 {
			t.Errorf("describe-log-streams --order-by LastEventTime --descending --page-size 2: got %q, want c a e b (and d)", got)
		}
		c.json(&out, "describe-log-streams", "--log-group-name", "ordered", "--page-size", "2")
		got = nil
		for _, s := range out.LogStreams {
			got = append(got, s.LogStreamName)
		}
		if !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
			t.Errorf("describe-log-streams --page-size 2: got %q, want a b c d e", got)
		}
	})

	t.Run("Tail", func(t *testing.T) {
		t.Parallel()
		c, sdk := newCLI(t, srv), srv.logs(defaultRegion)
		create(t, sdk, "tailed", "s0", "s1", "old")
		base := nowMS() - 5*60*1000
		var want []string
		for s := range 2 {
			stream := fmt.Sprintf("s%d", s)
			var evs []event
			for i := range 5 {
				m := fmt.Sprintf("tail line %d from %s", i*2+s, stream)
				evs = append(evs, event{base + int64(i*2+s)*1000, m})
			}
			put(t, sdk, "tailed", stream, evs...)
		}
		for i := range 10 {
			want = append(want, fmt.Sprintf("tail line %d from s%d", i, i%2))
		}
		// An event older than --since must not show.
		put(t, sdk, "tailed", "old", event{nowMS() - 2*3600*1000, "too old for tail"})

		out := c.ok("tail", "tailed", "--since", "1h")
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			// TIMESTAMP STREAM MESSAGE
			parts := strings.SplitN(line, " ", 3)
			if len(parts) != 3 || !strings.HasSuffix(parts[2], " from "+parts[1]) {
				t.Errorf("aws logs tail: unexpected line %q", line)
				continue
			}
			got = append(got, parts[2])
		}
		if !slices.Equal(got, want) {
			t.Errorf("aws logs tail tailed --since 1h:\n got %q\nwant %q\noutput:\n%s", got, want, out)
		}
	})

	t.Run("Regions", func(t *testing.T) {
		t.Parallel()
		c := newCLI(t, srv)
		// The CLI signs for the region; the SDK client below is the other
		// half of each region's setup.
		for _, r := range []string{"us-east-1", "eu-west-1"} {
			c.ok("--region", r, "create-log-group", "--log-group-name", "shared")
			sdk := srv.logs(r)
			if _, err := sdk.CreateLogStream(ctx(t), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("shared"), LogStreamName: aws.String("s")}); err != nil {
				t.Fatalf("%s: CreateLogStream: %v", r, err)
			}
			put(t, sdk, "shared", "s", event{nowMS(), "hello from " + r})
		}
		c.fails("ResourceAlreadyExistsException", "--region", "eu-west-1", "create-log-group", "--log-group-name", "shared")
		if _, err := srv.logs("ap-south-1").DescribeLogStreams(ctx(t), &cloudwatchlogs.DescribeLogStreamsInput{LogGroupName: aws.String("shared")}); apiCode(err) != "ResourceNotFoundException" {
			t.Errorf("ap-south-1: DescribeLogStreams shared: %v, want ResourceNotFoundException", err)
		}
		for _, r := range []string{"us-east-1", "eu-west-1"} {
			var out eventsOut
			c.json(&out, "--region", r, "get-log-events", "--log-group-name", "shared", "--log-stream-name", "s", "--start-from-head")
			if got := messages(out.Events); !slices.Equal(got, []string{"hello from " + r}) {
				t.Errorf("region %s: events %q", r, got)
			}
			var groups struct {
				LogGroups []struct{ Arn string } `json:"logGroups"`
			}
			c.json(&groups, "--region", r, "describe-log-groups", "--log-group-name-prefix", "shared")
			if len(groups.LogGroups) != 1 || !strings.Contains(groups.LogGroups[0].Arn, ":"+r+":") {
				t.Errorf("region %s: describe-log-groups %+v", r, groups.LogGroups)
			}
		}
		// Deleting one region's group leaves the other's alone.
		c.ok("--region", "eu-west-1", "delete-log-group", "--log-group-name", "shared")
		c.fails("ResourceNotFoundException", "--region", "eu-west-1", "get-log-events", "--log-group-name", "shared", "--log-stream-name", "s")
		var out eventsOut
		c.json(&out, "--region", "us-east-1", "filter-log-events", "--log-group-name", "shared")
		if got := messages(out.Events); !slices.Equal(got, []string{"hello from us-east-1"}) {
			t.Errorf("us-east-1 after deleting eu-west-1's group: events %q", got)
		}
	})
}
