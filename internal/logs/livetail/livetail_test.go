package livetail_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	json "github.com/goccy/go-json"

	"github.com/cairnlog/cairn/internal/eventstream"
	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/leakcheck"
	"github.com/cairnlog/cairn/internal/server"
)

func TestMain(m *testing.M) {
	os.Exit(leakcheck.Main(m, "github.com/cairnlog/cairn/"))
}

// account is the harness server's account (server.Config's default).
const account = "000000000000"

func groupARN(name string) string { return "arn:aws:logs:us-east-1:" + account + ":log-group:" + name }

// startAfterSlot starts a session once the account has a free slot, polling
// while the server refuses with LimitExceededException: with a quota of
// one, its success shows through the API that no other session is open.
func startAfterSlot(t testing.TB, c *cwl.Client, in *cwl.StartLiveTailInput) *tailer {
	t.Helper()
	var out *cwl.StartLiveTailOutput
	harness.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		var err error
		out, err = c.StartLiveTail(context.Background(), in)
		var ae smithy.APIError
		if err != nil && (!errors.As(err, &ae) || ae.ErrorCode() != "LimitExceededException") {
			t.Fatalf("StartLiveTail: %v", err)
		}
		return err
	})
	return readStart(t, out)
}

// oneSession runs a server whose account may hold a single Live Tail
// session, so that tests can see through the API that a session ended.
func oneSession() harness.Option {
	return harness.Configure(func(c *server.Config) { c.LiveTailMaxSessions = 1 })
}

// tailer reads one SDK live-tail stream.
type tailer struct {
	t      testing.TB
	stream *cwl.StartLiveTailEventStream
	start  types.LiveTailSessionStart
	seen   []types.LiveTailSessionLogEvent
	// updates counts sessionUpdate events received.
	updates int
}

func startTail(t testing.TB, c *cwl.Client, in *cwl.StartLiveTailInput) *tailer {
	t.Helper()
	out, err := c.StartLiveTail(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return readStart(t, out)
}

// readStart reads a started session's sessionStart event.
func readStart(t testing.TB, out *cwl.StartLiveTailOutput) *tailer {
	t.Helper()
	tl := &tailer{t: t, stream: out.GetStream()}
	t.Cleanup(func() { tl.stream.Close() })
	select {
	case ev, ok := <-tl.stream.Events():
		if !ok {
			t.Fatalf("stream ended before sessionStart: %v", tl.stream.Err())
		}
		st, isStart := ev.(*types.StartLiveTailResponseStreamMemberSessionStart)
		if !isStart {
			t.Fatalf("first event %T, want sessionStart", ev)
		}
		tl.start = st.Value
	case <-time.After(10 * time.Second):
		t.Fatal("no sessionStart")
	}
	return tl
}

// waitFor reads updates until cond holds for the events seen so far.
func (tl *tailer) waitFor(what string, cond func([]types.LiveTailSessionLogEvent) bool) {
	tl.t.Helper()
	deadline := time.After(10 * time.Second)
	for !cond(tl.seen) {
		select {
		case ev, ok := <-tl.stream.Events():
			if !ok {
				tl.t.Fatalf("stream ended waiting for %s: %v", what, tl.stream.Err())
			}
			up, isUpdate := ev.(*types.StartLiveTailResponseStreamMemberSessionUpdate)
			if !isUpdate {
				tl.t.Fatalf("event %T, want sessionUpdate", ev)
			}
			tl.updates++
			tl.seen = append(tl.seen, up.Value.SessionResults...)
		case <-deadline:
			tl.t.Fatalf("timed out waiting for %s; seen %s", what, msgs(tl.seen))
		}
	}
}

func msgs(evs []types.LiveTailSessionLogEvent) string {
	var out []string
	for _, e := range evs {
		out = append(out, aws.ToString(e.LogStreamName)+":"+aws.ToString(e.Message))
	}
	return strings.Join(out, " ")
}

func has(msg string) func([]types.LiveTailSessionLogEvent) bool {
	return func(evs []types.LiveTailSessionLogEvent) bool {
		return slices.ContainsFunc(evs, func(e types.LiveTailSessionLogEvent) bool { return aws.ToString(e.Message) == msg })
	}
}

func TestLiveTailSDK(t *testing.T) {
	s := harness.Start(t, oneSession())
	c := s.Client()
	harness.CreateGroup(t, c, "app", "web-1", "web-2", "db")
	harness.CreateGroup(t, c, "other", "x")
	harness.PutMessages(t, c, "app", "web-1", "before the session")

	tl := startTail(t, c, &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{groupARN("app"), "other"}})
	if aws.ToString(tl.start.SessionId) == "" || aws.ToString(tl.start.RequestId) == "" ||
		!slices.Equal(tl.start.LogGroupIdentifiers, []string{groupARN("app"), "other"}) {
		t.Fatalf("sessionStart %+v", tl.start)
	}
	// An idle session still gets (empty) updates.
	tl.waitFor("an empty update", func([]types.LiveTailSessionLogEvent) bool { return tl.updates > 0 })
	before := time.Now().UnixMilli()
	harness.PutMessages(t, c, "app", "web-2", "hello live tail")
	harness.PutMessages(t, c, "other", "x", "from the other group")
	tl.waitFor("both events", func(evs []types.LiveTailSessionLogEvent) bool {
		return has("hello live tail")(evs) && has("from the other group")(evs)
	})
	if has("before the session")(tl.seen) {
		t.Fatal("an event stored before the session was delivered")
	}
	for _, e := range tl.seen {
		want := groupARN("app")
		if aws.ToString(e.LogStreamName) == "x" {
			want = "other"
		}
		if aws.ToString(e.LogGroupIdentifier) != want || aws.ToInt64(e.IngestionTime) < before || aws.ToInt64(e.Timestamp) < before-1000 {
			t.Fatalf("event %+v", e)
		}
	}

	// The client goes away: the server's session ends, and its slot (the
	// account's only one) takes a new session.
	tl.stream.Close()
	startAfterSlot(t, s.Client(), &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"app"}})
}

func TestLiveTailFilters(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	harness.CreateGroup(t, c, "app", "web-1", "web-2", "db")

	// One client per concurrent session: smithy-go v1.28.8 shares one
	// event-stream codec buffer between a client's streams (a data race).
	byPattern := startTail(t, s.Client(), &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"app"}, LogEventFilterPattern: aws.String("ERROR -ignored")})
	byName := startTail(t, s.Client(), &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"app"}, LogStreamNames: []string{"db"}})
	byPrefix := startTail(t, s.Client(), &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{groupARN("app")}, LogStreamNamePrefixes: []string{"web"}})
	if aws.ToString(byPattern.start.LogEventFilterPattern) != "ERROR -ignored" || !slices.Equal(byName.start.LogStreamNames, []string{"db"}) ||
		!slices.Equal(byPrefix.start.LogStreamNamePrefixes, []string{"web"}) {
		t.Fatalf("sessionStart echoes: %+v %+v %+v", byPattern.start, byName.start, byPrefix.start)
	}
	harness.PutMessages(t, c, "app", "web-1", "INFO a", "ERROR b", "ERROR ignored c")
	harness.PutMessages(t, c, "app", "db", "ERROR d", "INFO e")
	harness.PutMessages(t, c, "app", "web-2", "INFO last")

	byPattern.waitFor("ERROR d", has("ERROR d"))
	if got := msgs(byPattern.seen); got != "web-1:ERROR b db:ERROR d" {
		t.Fatalf("pattern session got %q", got)
	}
	byName.waitFor("INFO e", has("INFO e"))
	if got := msgs(byName.seen); got != "db:ERROR d db:INFO e" {
		t.Fatalf("stream-name session got %q", got)
	}
	byPrefix.waitFor("INFO last", has("INFO last"))
	if got := msgs(byPrefix.seen); got != "web-1:INFO a web-1:ERROR b web-1:ERROR ignored c web-2:INFO last" {
		t.Fatalf("prefix session got %q", got)
	}
}

func TestLiveTailErrors(t *testing.T) {
	s := harness.Start(t, oneSession())
	c := s.Client()
	harness.CreateGroup(t, c, "app", "s")
	harness.CreateGroup(t, c, "b")
	f := func(in *cwl.StartLiveTailInput, code, msg string) {
		t.Helper()
		out, err := c.StartLiveTail(context.Background(), in)
		if err == nil {
			out.GetStream().Close()
			t.Fatalf("%+v: no error", in)
		}
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), msg) {
			t.Fatalf("want %s %q, got %v", code, msg, err)
		}
	}
	f(&cwl.StartLiveTailInput{LogGroupIdentifiers: []string{}}, "InvalidParameterException", "greater than or equal to 1")
	f(&cwl.StartLiveTailInput{LogGroupIdentifiers: slices.Repeat([]string{"app"}, 11)}, "InvalidParameterException", "less than or equal to 10")
	f(&cwl.StartLiveTailInput{LogGroupIdentifiers: []string{groupARN("app") + ":*"}}, "InvalidParameterException", "regular expression pattern")
	f(&cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"app", "b"}, LogStreamNames: []string{"s"}}, "InvalidParameterException", "exactly one log group")
	f(&cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"app"}, LogStreamNames: []string{"s"}, LogStreamNamePrefixes: []string{"s"}},
		"InvalidParameterException", "mutually exclusive")
	f(&cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"app"}, LogStreamNames: slices.Repeat([]string{"s"}, 101)}, "InvalidParameterException", "less than or equal to 100")
	f(&cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"app", "missing"}}, "ResourceNotFoundException", "The specified log group does not exist.")
	f(&cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"arn:aws:logs:us-east-1:999999999999:log-group:app"}}, "ResourceNotFoundException", "does not exist")
	f(&cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"app"}, LogEventFilterPattern: aws.String(`{ $.x = `)}, "InvalidParameterException", "")
	// No refused request holds a session: the account's only slot is free.
	if _, err := c.StartLiveTail(context.Background(), &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"app"}}); err != nil {
		t.Fatalf("a session after the refused requests: %v", err)
	}
}

func TestLiveTailTimeoutAndShutdown(t *testing.T) {
	s := harness.Start(t, harness.Configure(func(c *server.Config) { c.LiveTailMaxSession = 300 * time.Millisecond }))
	c := s.Client()
	harness.CreateGroup(t, c, "app", "s")
	tl := startTail(t, c, &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"app"}})
	for range tl.stream.Events() {
	}
	var te *types.SessionTimeoutException
	if err := tl.stream.Err(); !errors.As(err, &te) || !strings.Contains(te.ErrorMessage(), "maximum duration") {
		t.Fatalf("stream error %v, want SessionTimeoutException", err)
	}

	s2 := harness.Start(t)
	c2 := s2.Client()
	harness.CreateGroup(t, c2, "app", "s")
	tl2 := startTail(t, c2, &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"app"}})
	s2.Stop() // returns once the session's stream has ended
	for range tl2.stream.Events() {
	}
	if err := tl2.stream.Err(); err != nil {
		t.Fatalf("shutdown ended the stream with %v, want a clean end", err)
	}
}

// Without the option, the SDK sends StartLiveTail to "stream-<host>". A
// client that maps such names to the server (here: a dialer; for users: a
// hosts entry or wildcard DNS) works unchanged, since Cairn answers any Host.
func TestLiveTailHostPrefix(t *testing.T) {
	s := harness.Start(t)
	addr := s.Addr()
	_, port, _ := net.SplitHostPort(addr)
	var mu sync.Mutex
	var hosts []string // guarded by mu
	dialer := &net.Dialer{}
	transport := &http.Transport{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		mu.Lock()
		hosts = append(hosts, a)
		mu.Unlock()
		return dialer.DialContext(ctx, network, addr)
	}}
	defer transport.CloseIdleConnections()
	// As the SDK comes: ClientAs keeps the host prefix.
	c := s.ClientAs(s.Creds, harness.DefaultRegion, harness.Over(&http.Client{Transport: transport}),
		func(o *cwl.Options) { o.BaseEndpoint = aws.String("http://cairn.localhost:" + port) })
	harness.CreateGroup(t, c, "app", "s")
	tl := startTail(t, c, &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"app"}})
	harness.PutMessages(t, c, "app", "s", "via prefixed host")
	tl.waitFor("the event", has("via prefixed host"))
	mu.Lock()
	defer mu.Unlock()
	if !slices.ContainsFunc(hosts, func(h string) bool { return strings.HasPrefix(h, "stream-cairn.localhost:") }) {
		t.Fatalf("dialed %v, want a stream- host", hosts)
	}
}

// The wire, frame by frame, as the AWS CLI and other SDKs parse it.
func TestLiveTailFrames(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	harness.CreateGroup(t, c, "app", "s")
	body := []byte(`{"logGroupIdentifiers":["app"]}`)
	req := s.Request(t, "StartLiveTail", body) // ends with the test
	harness.Sign(t, req, s.Creds, body, time.Now())
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.amazon.eventstream" || resp.Header.Get("x-amzn-RequestId") == "" {
		t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
	}
	dec := eventstream.NewDecoder(resp.Body)
	next := func(wantType string) eventstream.Message {
		t.Helper()
		m, err := dec.Decode()
		if err != nil {
			t.Fatal(err)
		}
		if m.Header(":message-type") != "event" || m.Header(":event-type") != wantType || m.Header(":content-type") != "application/json" {
			t.Fatalf("headers %+v, want event %s", m.Headers, wantType)
		}
		return m
	}
	if m := next("initial-response"); string(m.Payload) != "{}" {
		t.Fatalf("initial-response payload %q", m.Payload)
	}
	var start map[string]any
	if err := json.Unmarshal(next("sessionStart").Payload, &start); err != nil {
		t.Fatal(err)
	}
	if start["requestId"] != resp.Header.Get("x-amzn-RequestId") || start["sessionId"] == "" || fmt.Sprint(start["logGroupIdentifiers"]) != "[app]" {
		t.Fatalf("sessionStart %v", start)
	}
	if m := next("sessionUpdate"); string(m.Payload) != `{"sessionMetadata":{"sampled":false},"sessionResults":[]}` {
		t.Fatalf("idle update %s", m.Payload)
	}
	harness.PutMessages(t, c, "app", "s", "line \"one\"\n")
	var up struct {
		SessionMetadata struct{ Sampled bool }
		SessionResults  []map[string]any
	}
	for len(up.SessionResults) == 0 {
		if err := json.Unmarshal(next("sessionUpdate").Payload, &up); err != nil {
			t.Fatal(err)
		}
	}
	r := up.SessionResults[0]
	if r["message"] != "line \"one\"\n" || r["logStreamName"] != "s" || r["logGroupIdentifier"] != "app" || r["timestamp"] == nil || r["ingestionTime"] == nil {
		t.Fatalf("result %v", r)
	}
	if up.SessionMetadata.Sampled {
		t.Fatal("sampled without falling behind")
	}
}

// BenchmarkLiveTailLatency measures put-to-tail latency: from calling
// PutLogEvents to the event arriving at an SDK live-tail client, one event
// at a time. Run with -benchtime=200x.
func BenchmarkLiveTailLatency(b *testing.B) {
	s := harness.Start(b)
	c := s.Client()
	harness.CreateGroup(b, c, "bench", "s")
	tl := startTail(b, c, &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"bench"}})
	var fromPut, fromAck []time.Duration
	i := 0
	for b.Loop() {
		msg := fmt.Sprintf("latency %d", i)
		i++
		t0 := time.Now()
		harness.PutMessages(b, c, "bench", "s", msg)
		t1 := time.Now()
		tl.waitFor(msg, has(msg))
		t2 := time.Now()
		fromPut, fromAck = append(fromPut, t2.Sub(t0)), append(fromAck, t2.Sub(t1))
		tl.seen = tl.seen[:0]
	}
	pct := func(ds []time.Duration, p float64) float64 {
		ds = slices.Clone(ds)
		slices.Sort(ds)
		return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(fromPut, 0.50), "p50-put-ms")
	b.ReportMetric(pct(fromPut, 0.99), "p99-put-ms")
	b.ReportMetric(pct(fromAck, 0.50), "p50-ack-ms")
	b.ReportMetric(pct(fromAck, 0.99), "p99-ack-ms")
}
