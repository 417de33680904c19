package logscli

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/awsclient"
	"github.com/cairnlog/cairn/internal/harness"

	"github.com/cairnlog/cairn/internal/leakcheck"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(leakcheck.Main(m, "cairn/internal/logscli."))
}

// base is the fixed time of the test data; the server's clock stands an
// hour later, so every event is accepted and the output never changes.
var base = time.Date(2026, 3, 4, 5, 6, 7, 89e6, time.UTC)

func ms(d time.Duration) int64 { return base.Add(d).UnixMilli() }

func startServer(t testing.TB) *cwl.Client {
	t.Helper()
	// Auth off: the server clock stands in 2026-03, where real signatures
	// would be refused as not yet current.
	s := harness.Start(t, harness.AuthOff(), harness.WithClock(func() time.Time { return base.Add(time.Hour) }))
	// Without the no-host-prefix setting: TestFollow's fallback case needs
	// the SDK's own StartLiveTail host.
	return s.ClientAs(s.Creds, harness.DefaultRegion)
}

type ev struct {
	at  time.Duration
	msg string
}

func put(t testing.TB, c *cwl.Client, group, stream string, evs ...ev) {
	t.Helper()
	ctx := context.Background()
	c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(group)})
	c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)})
	in := &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)}
	for _, e := range evs {
		in.LogEvents = append(in.LogEvents, types.InputLogEvent{Timestamp: aws.Int64(ms(e.at)), Message: aws.String(e.msg)})
	}
	if _, err := c.PutLogEvents(ctx, in); err != nil {
		t.Fatal(err)
	}
}

func fixture(t testing.TB) *cwl.Client {
	c := startServer(t)
	put(t, c, "app/web", "i-1",
		ev{0, "GET /index.html 200"},
		ev{2 * time.Second, `{"level":"info","msg":"request done","status":200,"path":"/a"}`},
		ev{4 * time.Second, "GET /missing 404"})
	put(t, c, "app/web", "i-2",
		ev{time.Second, "GET /health 200"},
		ev{3 * time.Second, "panic: runtime error\n\tat main.go:12"})
	put(t, c, "app/worker", "w-1",
		ev{1500 * time.Millisecond, "job 7 started"},
		ev{5 * time.Second, `{"job":7,"result":["ok",true,null]}`})
	put(t, c, "other", "x", ev{0, "elsewhere"})
	return c
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n--- got ---\n%s--- want ---\n%s", name, path, got, want)
	}
}

func TestGolden(t *testing.T) {
	c := fixture(t)
	ctx := context.Background()
	var b bytes.Buffer
	check := func(name string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		golden(t, name, b.String())
		b.Reset()
	}
	check("groups", Groups(ctx, c, &b, ""))
	check("groups_prefix", Groups(ctx, c, &b, "app/"))
	check("streams", Streams(ctx, c, &b, "app/web", "", false))
	check("streams_last_event", Streams(ctx, c, &b, "app/web", "", true))
	for _, f := range []Format{FormatShort, FormatDetailed, FormatJSON, FormatRaw} {
		check("tail_"+string(f), Tail(ctx, c, &b, TailOptions{Groups: []string{"app/web", "app/worker"}, Since: base.Add(-time.Minute), Printer: &Printer{Format: f}}))
	}
	check("tail_one_group_stream_local", Tail(ctx, c, &b, TailOptions{Groups: []string{"app/web"}, Streams: []string{"i-2"}, Since: base,
		Printer: &Printer{Format: FormatDetailed, Location: time.FixedZone("UTC+2", 2*3600)}}))
	check("tail_filter_color", Tail(ctx, c, &b, TailOptions{Groups: []string{"app/web"}, Filter: "GET", StreamPrefix: "i-", Since: base,
		Printer: &Printer{Format: FormatShort, Color: true}}))
	check("get", Get(ctx, c, &b, GetOptions{Group: "app/web", Stream: "i-1", Printer: &Printer{Format: FormatShort}}))
	check("get_head", Get(ctx, c, &b, GetOptions{Group: "app/web", Stream: "i-1", Head: 2, Printer: &Printer{Format: FormatRaw}}))
	check("get_tail", Get(ctx, c, &b, GetOptions{Group: "app/web", Stream: "i-1", Tail: 2, Printer: &Printer{Format: FormatRaw}}))
	check("get_range", Get(ctx, c, &b, GetOptions{Group: "app/web", Stream: "i-1", Start: base.Add(time.Second), End: base.Add(4 * time.Second), Printer: &Printer{Format: FormatRaw}}))
}

type syncBuffer = harness.SyncBuffer

// TestFollow follows two groups while events arrive, some of them late
// (older than the newest seen): each is printed exactly once.
func TestFollow(t *testing.T) {
	t.Run("live", func(t *testing.T) { testFollow(t, false, []func(*cwl.Options){awsclient.NoHostPrefix}, "") })
	// With the SDK's "stream-" host prefix, 127.0.0.1 becomes a name that
	// does not resolve: Tail falls back to polling.
	t.Run("fallback", func(t *testing.T) { testFollow(t, false, nil, "live tail unavailable") })
	t.Run("poll", func(t *testing.T) { testFollow(t, true, nil, "") })
}

func testFollow(t *testing.T, noLive bool, liveOpts []func(*cwl.Options), wantNote string) {
	c := fixture(t)
	var out, notes syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Tail(ctx, c, &out, TailOptions{Groups: []string{"app/web", "app/worker"}, Since: base.Add(3 * time.Second), Follow: true,
			PollInterval: 20 * time.Millisecond, Printer: &Printer{Format: FormatRaw}, Stderr: &notes, LiveTailOptions: liveOpts, NoLiveTail: noLive})
	}()
	waitOutput := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for out.String() != want {
			if time.Now().After(deadline) {
				t.Fatalf("output:\n%s\nwant:\n%s\nnotes: %s", out.String(), want, notes.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	history := "panic: runtime error\n\tat main.go:12\nGET /missing 404\n{\"job\":7,\"result\":[\"ok\",true,null]}\n"
	waitOutput(history)
	put(t, c, "app/web", "i-1", ev{6 * time.Second, "new 1"}, ev{6 * time.Second, "new 1"})
	waitOutput(history + "new 1\nnew 1\n")
	put(t, c, "app/worker", "w-1", ev{5500 * time.Millisecond, "late but within the lookback"})
	put(t, c, "app/web", "i-2", ev{7 * time.Second, "new 2"})
	want := history + "new 1\nnew 1\n" + "late but within the lookback\nnew 2\n"
	waitOutput(want)
	time.Sleep(100 * time.Millisecond) // a few more polls: nothing may repeat
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if out.String() != want {
		t.Fatalf("after more polls:\n%s", out.String())
	}
	if !strings.Contains(notes.String(), wantNote) || (wantNote == "" && notes.String() != "") {
		t.Fatalf("notes %q, want %q", notes.String(), wantNote)
	}
}

func TestParseTime(t *testing.T) {
	now := base
	f := func(in string, want time.Time) {
		t.Helper()
		got, err := ParseTime(in, now, time.UTC)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	f("10m", now.Add(-10*time.Minute))
	f("2h", now.Add(-2*time.Hour))
	f("1.5h", now.Add(-90*time.Minute))
	f("3d", now.Add(-72*time.Hour))
	f("1w", now.Add(-7*24*time.Hour))
	f("2026-03-04T05:00:00Z", time.Date(2026, 3, 4, 5, 0, 0, 0, time.UTC))
	f("2026-03-04T05:00:00+02:00", time.Date(2026, 3, 4, 3, 0, 0, 0, time.UTC))
	f("2026-03-04", time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC))
	f("1772600767089", time.UnixMilli(1772600767089))
	if _, err := ParseTime("yesterday", now, time.UTC); err == nil {
		t.Error("nonsense accepted")
	}
}

// TestFollowMissingGroup follows two groups of which one does not exist yet
// (a CI job's group before its first build): the other is tailed, the
// missing one is named once, and its events appear once it is created.
func TestFollowMissingGroup(t *testing.T) {
	c := fixture(t)
	var out, notes syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Tail(ctx, c, &out, TailOptions{Groups: []string{"app/web", "ci/not-yet"}, Since: base.Add(3 * time.Second), Follow: true,
			PollInterval: 20 * time.Millisecond, Printer: &Printer{Format: FormatRaw}, Stderr: &notes})
	}()
	waitFor := func(what func() bool, msg string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !what() {
			if time.Now().After(deadline) {
				t.Fatalf("%s; output:\n%s\nnotes: %s", msg, out.String(), notes.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	history := "panic: runtime error\n\tat main.go:12\nGET /missing 404\n"
	waitFor(func() bool { return out.String() == history }, "history of the existing group")
	waitFor(func() bool { return strings.Contains(notes.String(), "ci/not-yet: no such log group (yet)") }, "a note on the missing group")
	put(t, c, "ci/not-yet", "build-1", ev{6 * time.Second, "first build line"})
	waitFor(func() bool { return out.String() == history+"first build line\n" }, "the new group's event")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Tail: %v", err)
	}
	if n := strings.Count(notes.String(), "no such log group"); n != 1 {
		t.Fatalf("missing group named %d times, want once: %s", n, notes.String())
	}
	if !strings.Contains(notes.String(), "ci/not-yet: log group exists now") {
		t.Fatalf("no note that the group appeared: %s", notes.String())
	}
}
