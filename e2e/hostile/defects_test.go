package hostile

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/server"
)

// signatureRefused reports whether r is a refusal of the request's
// signature. AWS's wording for an unsigned X-Amz-Target is not documented, so
// any signature error (or a denial) counts; what matters is that nothing ran.
func signatureRefused(r harness.Reply) bool {
	switch r.Code {
	case "InvalidSignatureException", "IncompleteSignatureException", "MissingAuthenticationTokenException", "AccessDeniedException":
		return r.Status >= 400 && r.Status < 500
	}
	return false
}

// TestDefect1PresignedSTSURLReplayedForLogs guards defect 1 (a signature is
// not bound to its service): a presigned STS GetCallerIdentity URL, the kind
// handed to a third party as proof of identity (X-Amz-SignedHeaders=host),
// replayed with X-Amz-Target
// Logs_20140328.CreateLogGroup and a new body must not create the group: the
// credential scope names sts, and AWS answers InvalidSignatureException
// "Credential should be scoped to correct service: 'logs'. ".
func TestDefect1PresignedSTSURLReplayedForLogs(t *testing.T) {
	t.Parallel()
	s := harness.Start(t)
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	// The payload is the empty body, hashed, as AWS's SDKs presign every
	// service but S3 (Cairn, like AWS outside S3, does not take
	// UNSIGNED-PAYLOAD; the UNSIGNED-PAYLOAD form is refused below too).
	const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	u, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), s.Creds, req, emptySHA256, "sts", region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(hdr) != 1 || hdr.Get("Host") == "" || !strings.Contains(u, "X-Amz-SignedHeaders=host&") {
		t.Fatalf("presigned URL signs more than host: %s %v", u, hdr)
	}
	// The URL does what it was made for.
	ok, _ := http.NewRequestWithContext(ctx(t), http.MethodPost, u, nil)
	ok.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r := s.Do(t, ok); r.Status != 200 || !bytes.Contains(r.Body, []byte("<Arn>arn:aws:iam::000000000000:root</Arn>")) {
		t.Fatalf("presigned GetCallerIdentity: %v", r)
	}
	uu, _, err := v4.NewSigner().PresignHTTP(context.Background(), s.Creds, req, "UNSIGNED-PAYLOAD", "sts", region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	unsigned, _ := http.NewRequestWithContext(ctx(t), http.MethodPost, uu, strings.NewReader(`{"logGroupName":"pwned-by-unsigned-url"}`))
	unsigned.Header.Set("Content-Type", jsonType)
	unsigned.Header.Set("X-Amz-Target", target+"CreateLogGroup")
	unsigned.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if r := s.Do(t, unsigned); !signatureRefused(r) {
		t.Errorf("UNSIGNED-PAYLOAD STS URL replayed as CreateLogGroup: got %v, want a signature refusal", r)
	}

	body := `{"logGroupName":"pwned-by-sts-url"}`
	replay, _ := http.NewRequestWithContext(ctx(t), http.MethodPost, u, strings.NewReader(body))
	replay.Header.Set("Content-Type", jsonType)
	replay.Header.Set("X-Amz-Target", target+"CreateLogGroup")
	replay.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	wantReply(t, "STS URL replayed as CreateLogGroup", s.Do(t, replay), 400, "InvalidSignatureException",
		"Credential should be scoped to correct service: 'logs'. ")
	if hasGroup(t, s.Client(), "pwned-by-sts-url") || hasGroup(t, s.Client(), "pwned-by-unsigned-url") {
		t.Error("the replayed STS URL created a log group")
	}
}

// TestDefect1PresignedLogsURLOtherTarget guards defect 1 (X-Amz-Target need
// not be signed): a Logs URL presigned for DescribeLogGroups (the SDK's
// presigner hoists X-Amz-Target into the query, so the header is not signed)
// used with X-Amz-Target Logs_20140328.DeleteLogGroup must not delete the
// group.
func TestDefect1PresignedLogsURLOtherTarget(t *testing.T) {
	t.Parallel()
	s := harness.Start(t)
	createGroup(t, s.Client(), "victim")
	req := s.Request(t, "DescribeLogGroups", nil)
	u, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), s.Creds, req, "UNSIGNED-PAYLOAD", "logs", region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Get("X-Amz-Target") != "" {
		t.Fatalf("the presigner signed X-Amz-Target as a header (%v); this test needs it hoisted", hdr)
	}
	replay, _ := http.NewRequestWithContext(ctx(t), http.MethodPost, u, strings.NewReader(`{"logGroupName":"victim"}`))
	for k, v := range hdr {
		replay.Header[k] = v
	}
	replay.Header.Set("X-Amz-Target", target+"DeleteLogGroup")
	replay.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if r := s.Do(t, replay); !signatureRefused(r) {
		t.Errorf("URL presigned for DescribeLogGroups used for DeleteLogGroup: got %v, want a signature refusal", r)
	}
	if !hasGroup(t, s.Client(), "victim") {
		t.Error("the presigned URL deleted the log group")
	}
}

// TestDefect1HeaderSignatureReplayedForOtherTarget guards defect 1: an
// Authorization header over host;x-amz-date only, with UNSIGNED-PAYLOAD,
// replayed with another X-Amz-Target and body must not run.
func TestDefect1HeaderSignatureReplayedForOtherTarget(t *testing.T) {
	t.Parallel()
	s := harness.Start(t)
	orig, _ := http.NewRequest(http.MethodPost, s.URL()+"/", nil)
	if err := v4.NewSigner().SignHTTP(context.Background(), s.Creds, orig, "UNSIGNED-PAYLOAD", "logs", region, time.Now()); err != nil {
		t.Fatal(err)
	}
	auth := orig.Header.Get("Authorization")
	if !strings.Contains(auth, "SignedHeaders=host;x-amz-date,") {
		t.Fatalf("signature covers more than host;x-amz-date: %s", auth)
	}
	body := `{"logGroupName":"pwned-by-replay"}`
	replay, _ := http.NewRequestWithContext(ctx(t), http.MethodPost, s.URL()+"/", strings.NewReader(body))
	replay.Header.Set("Authorization", auth)
	replay.Header.Set("X-Amz-Date", orig.Header.Get("X-Amz-Date"))
	replay.Header.Set("Content-Type", jsonType)
	replay.Header.Set("X-Amz-Target", target+"CreateLogGroup")
	replay.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	if r := s.Do(t, replay); !signatureRefused(r) {
		t.Errorf("host;x-amz-date signature replayed as CreateLogGroup: got %v, want a signature refusal", r)
	}
	if hasGroup(t, s.Client(), "pwned-by-replay") {
		t.Error("the replayed signature created a log group")
	}
}

// TestDefect2UnauthenticatedBodyNotRead guards defect 2 (unauthenticated
// memory exhaustion): a request with no Authorization that declares an 8 MiB
// body is answered before the body arrives, while the client still holds it.
func TestDefect2UnauthenticatedBodyNotRead(t *testing.T) {
	t.Parallel()
	s := harness.Start(t)
	conn := dial(t, s)
	if _, err := io.WriteString(conn, rawHead(s.Addr(), "CreateLogGroup", fmt.Sprintf("Content-Length: %d", maxBody))+"{"); err != nil {
		t.Fatal(err)
	}
	// The answer needs no body, so a short guard suffices.
	r, err := readReplyWithin(t, conn, 5*time.Second)
	if err != nil {
		t.Fatalf("no answer while the client held back an unauthenticated 8 MiB body: %v", err)
	}
	if r.Status < 400 || r.Status >= 500 || (r.Code != "MissingAuthenticationTokenException" && r.Code != "UnrecognizedClientException") {
		t.Errorf("unauthenticated request: got %v, want MissingAuthenticationTokenException", r)
	}
}

// slowBodies opens n connections that each send a request declaring an
// 8 MiB body, signed with a real access key but a forged signature and no
// x-amz-content-sha256 (so the server cannot refuse it without the body),
// with "Expect: 100-continue" so the server says when it starts reading the
// body, and then one byte of it. It returns once every connection has been
// told to continue or has been answered, or at the hang guard (a server
// that parks excess connections without reading them never tells them), and
// how many were answered; the connections stay open until closeAll.
func slowBodies(t *testing.T, s *harness.Server, n int) (answered int, closeAll func()) {
	t.Helper()
	now := time.Now().UTC()
	auth := fmt.Sprintf("Authorization: AWS4-HMAC-SHA256 Credential=%s/%s/%s/logs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=%s",
		s.Creds.AccessKeyID, now.Format("20060102"), region, strings.Repeat("0", 64))
	head := rawHead(s.Addr(), "PutLogEvents", auth, "X-Amz-Date: "+now.Format("20060102T150405Z"),
		fmt.Sprintf("Content-Length: %d", maxBody), "Expect: 100-continue")
	var wg sync.WaitGroup
	conns := make([]net.Conn, 0, n)
	closeAll = func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}
	t.Cleanup(closeAll)         // also when the test stops early
	status := make(chan int, n) // 100 (reading the body) or the final status
	for range n {
		conn, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		conns = append(conns, conn)
		if _, err := io.WriteString(conn, head); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			line, err := bufio.NewReader(conn).ReadString('\n')
			if err != nil {
				return // closed by closeAll
			}
			code := 0
			fmt.Sscanf(line, "HTTP/1.1 %d", &code)
			status <- code
			if code == 100 {
				conn.Write([]byte("{")) // the first byte of the trickle
			}
			io.Copy(io.Discard, conn) // until closeAll
		}()
	}
	guard := time.NewTimer(hangGuard)
	defer guard.Stop()
	for seen := 0; seen < n; seen++ {
		select {
		case code := <-status:
			if code != 100 {
				answered++
			}
		case <-guard.C:
			t.Logf("%d of %d connections neither told to continue nor answered within %v", n-seen, n, hangGuard)
			return answered, closeAll
		}
	}
	return answered, closeAll
}

// TestDefect2SlowBodiesHeapFlat guards defect 2: the server's heap under
// slow-body connections does not grow with their number (the server runs in
// this process, so runtime.ReadMemStats sees it). Before the fix each one
// reserved its declared 8 MiB before authentication: 100 connections cost
// ~5x what 20 do. The bound allows a small fixed cost per connection.
func TestDefect2SlowBodiesHeapFlat(t *testing.T) {
	// Not parallel: the heap must be this test's alone.
	s := harness.Start(t)
	measure := func(n int) int64 {
		base := heap()
		answered, closeAll := slowBodies(t, s, n)
		grown := int64(heap()) - int64(base)
		closeAll()
		t.Logf("%d slow-body connections (%d answered at once): heap grew %s", n, answered, mib(grown))
		return grown
	}
	g20, g100 := measure(20), measure(100)
	if g100 > 2*max(g20, 0)+32<<20 {
		t.Errorf("heap grows with slow-body connections: +%s for 20, +%s for 100", mib(g20), mib(g100))
	}
}

// TestDefect3CaseVariantKeys guards defect 3 (case-variant duplicate JSON
// keys bypass validation): {"logGroupName":"ok","LogGroupName":"bad name:*!!"}
// creates "ok" (AWS ignores members it does not know, and member names are
// case-sensitive), never the name the pattern forbids.
func TestDefect3CaseVariantKeys(t *testing.T) {
	t.Parallel()
	s := harness.Start(t)
	r := s.Call(t, "CreateLogGroup", []byte(`{"logGroupName":"ok","LogGroupName":"bad name:*!!"}`))
	if r.Status != 200 {
		t.Errorf("CreateLogGroup with a case-variant key: got %v, want 200 creating \"ok\"", r)
	}
	names := groupNames(t, s.Client())
	if len(names) != 1 || names[0] != "ok" {
		t.Errorf("groups %q, want [ok]", names)
	}
	// The same on the hand-validated path: the stream written is the one named.
	createGroup(t, s.Client(), "g", "s")
	body := fmt.Sprintf(`{"logGroupName":"g","logStreamName":"s","LogStreamName":"nope:*","logEvents":[{"timestamp":%d,"message":"m"}]}`, time.Now().UnixMilli())
	if r := s.Call(t, "PutLogEvents", []byte(body)); r.Status != 200 {
		t.Errorf("PutLogEvents with a case-variant key: got %v, want 200 into stream s", r)
	}
}

// TestDefect3CaseVariantKeysIAM guards defect 3 as it was exploited: a user
// allowed only log-group:shared:log-stream:x-* must not create the group
// "shared:log-stream:x-evil" (whose group resource the policy matches) by
// naming it in a case-variant key beside a harmless logGroupName.
func TestDefect3CaseVariantKeysIAM(t *testing.T) {
	t.Parallel()
	s := startIAM(t)
	root := client(s, iamRoot)
	createGroup(t, root, "shared", "x-1")
	for _, body := range []string{
		`{"logGroupName":"ok","LogGroupName":"shared:log-stream:x-evil"}`,
		`{"logGroupName":"ok","LOGGROUPNAME":"shared:log-stream:x-evil"}`,
	} {
		r := s.CallAs(t, iamAlice, "CreateLogGroup", []byte(body))
		if r.Status == 200 {
			t.Errorf("alice CreateLogGroup %s: got %v, want refused", body, r)
		}
	}
	r := s.CallAs(t, iamAlice, "PutRetentionPolicy", []byte(`{"logGroupName":"ok","LogGroupName":"shared:log-stream:x-evil","retentionInDays":1}`))
	if r.Status == 200 {
		t.Errorf("alice PutRetentionPolicy with a case-variant key: got %v, want refused", r)
	}
	for _, n := range groupNames(t, root) {
		if n != "shared" {
			t.Errorf("group %q was created", n)
		}
	}
}

// TestDefect5InvalidUTF8StreamNames guards defect 5 (invalid UTF-8 silently
// replaced with U+FFFD): streams "s\xff" and "s\xfe" must never be the same
// stream: each is refused with an AWS error, or they are two streams.
func TestDefect5InvalidUTF8StreamNames(t *testing.T) {
	t.Parallel()
	s := harness.Start(t)
	createGroup(t, s.Client(), "g")
	var created int
	for _, name := range []string{"s\xff", "s\xfe"} {
		r := s.Call(t, "CreateLogStream", []byte(`{"logGroupName":"g","logStreamName":"`+name+`"}`))
		switch {
		case r.Status == 200:
			created++
		case r.Code == "ResourceAlreadyExistsException":
			t.Errorf("CreateLogStream %q: %v: it aliases an earlier stream", name, r)
		case r.Status < 400 || r.Status >= 500 || r.Code == "":
			t.Errorf("CreateLogStream %q: got %v, want 200 or an AWS client error", name, r)
		}
	}
	r := s.Call(t, "DescribeLogStreams", []byte(`{"logGroupName":"g"}`))
	if got := bytes.Count(r.Body, []byte(`"logStreamName"`)); r.Status != 200 || got != created {
		t.Errorf("DescribeLogStreams: %d streams listed after %d created: %v", got, created, r)
	}
	if bytes.Contains(r.Body, []byte("\uFFFD")) || bytes.Contains(bytes.ToLower(r.Body), []byte(`\ufffd`)) {
		t.Errorf("a stream name was changed to U+FFFD: %q", r.Body)
	}
}

// TestDefect5InvalidUTF8Message guards defect 5: a message holding invalid
// UTF-8 is refused, or stored and returned as sent; it is never silently
// changed to U+FFFD. (The reference does not say which AWS does.)
func TestDefect5InvalidUTF8Message(t *testing.T) {
	t.Parallel()
	s := harness.Start(t)
	createGroup(t, s.Client(), "g", "m")
	body := fmt.Sprintf(`{"logGroupName":"g","logStreamName":"m","logEvents":[{"timestamp":%d,"message":"%s"}]}`, time.Now().UnixMilli(), "a\xffb")
	r := s.Call(t, "PutLogEvents", []byte(body))
	if r.Status != 200 {
		if r.Status < 400 || r.Status >= 500 || r.Code == "" {
			t.Errorf("PutLogEvents with invalid UTF-8: got %v, want 200 or an AWS client error", r)
		}
		return // refused: fine
	}
	if bytes.Contains(r.Body, []byte("rejectedLogEventsInfo")) {
		return // refused per event: fine
	}
	got := s.Call(t, "GetLogEvents", []byte(`{"logGroupName":"g","logStreamName":"m","startFromHead":true}`))
	if got.Status != 200 || !bytes.Contains(got.Body, []byte("a\xffb")) {
		t.Errorf("message with invalid UTF-8 accepted but not returned as sent: %q", got.Body)
	}
}

// walkModes returns the entries of dir whose permissions allow anyone but
// the owner.
func walkModes(t *testing.T, dir string) []string {
	t.Helper()
	var open []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // an obsolete WAL deleted by the engine in the background
		}
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			open = append(open, fmt.Sprintf("%s %v", path, fi.Mode().Perm()))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return open
}

// TestDefect6DataFileModes guards defect 6 (file modes): after start and
// some writes, and after close, every file in the data directory is private
// (0600 or stricter) and the directory is 0700.
func TestDefect6DataFileModes(t *testing.T) {
	t.Parallel()
	s := harness.Start(t)
	c := s.Client()
	createGroup(t, c, "g", "s")
	if _, err := c.PutLogEvents(ctx(t), &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String("secret log line")}}}); err != nil {
		t.Fatal(err)
	}
	for _, p := range walkModes(t, s.Dir) {
		t.Errorf("while running, not private: %s", p)
	}
	s.Stop()
	for _, p := range walkModes(t, s.Dir) {
		t.Errorf("after close, not private: %s", p)
	}
	if fi, err := os.Stat(s.Dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode %v (%v), want 0700", fi.Mode().Perm(), err)
	}
}

// TestDefect6ExistingDataDirTightened guards defect 6: a data directory that
// already exists with mode 0755 is made 0700 at start.
func TestDefect6ExistingDataDirTightened(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	harness.Start(t, harness.InDir(dir))
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("pre-existing 0755 data directory is %v (%v) after start, want 0700", fi.Mode().Perm(), err)
	}
}

// TestDefect6IAMFileMode guards defect 6: an IAM file of mode 0644 (it holds
// secret keys) is refused at start with an error, as the credentials file
// is; the same file at 0600 starts.
func TestDefect6IAMFileMode(t *testing.T) {
	t.Parallel()
	path := writeIAM(t, iamFile)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := server.Start(server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), IAMFile: path})
	if err == nil {
		s.Close(context.Background())
		t.Fatal("an IAM file of mode 0644 was accepted at start")
	}
	t.Logf("refused: %v", err)
	if !strings.Contains(err.Error(), path) {
		t.Errorf("the error does not name the file: %v", err)
	}
	os.Chmod(path, 0o600)
	harness.Start(t, harness.WithIAMFile(path)) // fails the test if refused
}

// TestDefect7LiveTailSessionLimit guards defect 7 (Live Tail sessions are
// unbounded): with 15 sessions open on one account (AWS's quota), the 16th is
// refused with LimitExceededException; closing one makes room again.
func TestDefect7LiveTailSessionLimit(t *testing.T) {
	t.Parallel()
	s := harness.Start(t)
	c := s.Client()
	createGroup(t, c, "busy", "s")
	in := &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"arn:aws:logs:us-east-1:000000000000:log-group:busy"}}
	var open []*cwl.StartLiveTailEventStream
	defer func() {
		for _, st := range open {
			st.Close()
		}
	}()
	// started opens a session and reports whether it started, reading the
	// stream up to its first event.
	started := func() (bool, error) {
		// A client per session: the SDK's event-stream codec is shared by
		// one client's streams and races (smithy-go), not the server.
		out, err := s.Client().StartLiveTail(ctx(t), in)
		if err != nil {
			return false, err
		}
		st := out.GetStream()
		open = append(open, st)
		for ev := range st.Events() {
			if _, ok := ev.(*types.StartLiveTailResponseStreamMemberSessionStart); ok {
				return true, nil
			}
		}
		return false, st.Err()
	}
	for i := range 15 {
		if ok, err := started(); !ok {
			t.Fatalf("session %d of 15: %v", i+1, err)
		}
	}
	ok, err := started()
	if ok {
		t.Fatal("the 16th concurrent Live Tail session started, want LimitExceededException")
	}
	wantAPIError(t, "16th session", err, "LimitExceededException", "")
	open[0].Close()
	open = open[1:]
	// The server notices the closed session when its stream ends; poll.
	deadline := time.Now().Add(hangGuard)
	for {
		ok, err := started()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no session after one of 15 was closed: %v", err)
		}
	}
}

// TestDefect7StuckReaderLosesItsSlot guards defect 7's other half: a client
// that starts a session and stops reading (its socket buffer full, the
// server's write blocked) must not keep its session, and its quota slot,
// forever. With a one-session quota and a short stream write timeout, the
// stuck session ends and a new one starts.
func TestDefect7StuckReaderLosesItsSlot(t *testing.T) {
	t.Parallel()
	s := harness.Start(t, harness.Configure(func(c *server.Config) {
		c.LiveTailMaxSessions = 1
		c.StreamWriteTimeout = 300 * time.Millisecond
	}))
	// A small, fixed receive buffer, so the server's writes block after a
	// few tens of kilobytes the client does not read.
	small := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			err = conn.(*net.TCPConn).SetReadBuffer(16 << 10)
		}
		return conn, err
	}}}
	t.Cleanup(small.CloseIdleConnections)
	// Over keeps request bodies buffered (aws-sdk-go-v2#2737): without it the
	// connection can die for another reason and the test pass for it.
	stuck := s.Client(harness.Over(small))
	c := s.Client()
	createGroup(t, c, "busy", "s")
	in := &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"busy"}}
	out, err := stuck.StartLiveTail(ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	st := out.GetStream()
	defer st.Close()
	// The stuck client never reads st.Events(); the SDK's reader stops
	// taking bytes once its one decoded message is not consumed.
	if _, err := c.StartLiveTail(ctx(t), in); err == nil {
		t.Fatal("a second session started beside the first with a quota of one")
	}
	msg := strings.Repeat("x", 1000)
	batch := make([]types.InputLogEvent, 1000)
	for i := range batch {
		batch[i] = types.InputLogEvent{Message: aws.String(msg)}
	}
	deadline := time.Now().Add(hangGuard)
	for {
		now := time.Now().UnixMilli()
		for i := range batch {
			batch[i].Timestamp = aws.Int64(now)
		}
		if _, err := c.PutLogEvents(ctx(t), &cwl.PutLogEventsInput{LogGroupName: aws.String("busy"), LogStreamName: aws.String("s"), LogEvents: batch}); err != nil {
			t.Fatal(err)
		}
		if out, err := c.StartLiveTail(ctx(t), in); err == nil {
			out.GetStream().Close()
			return // the stuck session ended and gave its slot back
		} else if !strings.Contains(err.Error(), "LimitExceededException") {
			t.Fatalf("second session: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("the session of a client that stopped reading still holds its slot")
		}
	}
}

// TestDefect8PprofLoopbackOnly guards defect 8 (--pprof needs no
// authentication): with Pprof on, /debug/pprof/ is not served to a client
// whose address is not loopback. The client binds a non-loopback address of
// this machine; the server listens on 127.0.0.1 and sees that address.
func TestDefect8PprofLoopbackOnly(t *testing.T) {
	t.Parallel()
	s := harness.Start(t, harness.Configure(func(c *server.Config) { c.Pprof = true }))
	conn, ok := dialFrom(t, s.Addr())
	if !ok {
		t.Skip("no non-loopback address to connect from; defect 8 left to the server package's unit tests")
	}
	t.Logf("connecting from %s", conn.LocalAddr())
	if _, err := fmt.Fprintf(conn, "GET /debug/pprof/ HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", s.Addr()); err != nil {
		t.Fatal(err)
	}
	r, err := readReply(t, conn)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status == 200 || bytes.Contains(r.Body, []byte("goroutine")) {
		t.Errorf("pprof served to %s: %v", conn.LocalAddr(), r)
	}
	// From loopback it is still there (the bench command profiles this way).
	resp, err := s.HTTPClient().Get(s.URL() + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Logf("from loopback: %s", resp.Status)
}

// TestDefect9NonCanonicalToken guards defect 9 (the token decoder skips \r
// and \n, so tokens are accepted that do not round-trip). The fuzzer's
// "AXN0ZAAA\nAAAAAAAJczG60_Ee" is InvalidParameterException for GetLogEvents
// and DescribeLogStreams; and, where the defect shows through the API, a
// token the server minted with a newline (or \r) put into it is refused by
// DescribeLogGroups, DescribeLogStreams and FilterLogEvents, which today
// read the next page with it.
func TestDefect9NonCanonicalToken(t *testing.T) {
	t.Parallel()
	s := harness.Start(t)
	c := s.Client()
	const invalid = "The specified nextToken is invalid."
	for _, g := range []string{"g", "h"} {
		createGroup(t, c, g, "s1", "s2")
	}
	for _, tok := range []string{"AXN0ZAAA\nAAAAAAAJczG60_Ee", "AXN0ZAAA\rAAAAAAAJczG60_Ee"} {
		_, err := c.DescribeLogStreams(ctx(t), &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("g"), NextToken: aws.String(tok)})
		wantAPIError(t, fmt.Sprintf("DescribeLogStreams %q", tok), err, "InvalidParameterException", invalid)
		_, err = c.GetLogEvents(ctx(t), &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s1"), NextToken: aws.String(tok)})
		wantAPIError(t, fmt.Sprintf("GetLogEvents %q", tok), err, "InvalidParameterException", invalid)
	}
	now := time.Now().UnixMilli()
	for _, st := range []string{"s1", "s2"} {
		if _, err := c.PutLogEvents(ctx(t), &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String(st),
			LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(now), Message: aws.String("m")}}}); err != nil {
			t.Fatal(err)
		}
	}
	groups, err := c.DescribeLogGroups(ctx(t), &cwl.DescribeLogGroupsInput{Limit: aws.Int32(1)})
	if err != nil || groups.NextToken == nil {
		t.Fatalf("DescribeLogGroups: %v", err)
	}
	streams, err := c.DescribeLogStreams(ctx(t), &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(1)})
	if err != nil || streams.NextToken == nil {
		t.Fatalf("DescribeLogStreams: %v", err)
	}
	filtered, err := c.FilterLogEvents(ctx(t), &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(1)})
	if err != nil || filtered.NextToken == nil {
		t.Fatalf("FilterLogEvents: %v", err)
	}
	broken := func(tok string) []string {
		i := len(tok) / 2
		return []string{tok[:i] + "\n" + tok[i:], tok[:i] + "\r" + tok[i:], tok + "\n", "\r\n" + tok}
	}
	for _, tok := range broken(*groups.NextToken) {
		_, err := c.DescribeLogGroups(ctx(t), &cwl.DescribeLogGroupsInput{NextToken: aws.String(tok)})
		wantAPIError(t, fmt.Sprintf("DescribeLogGroups %q", tok), err, "InvalidParameterException", invalid)
	}
	for _, tok := range broken(*streams.NextToken) {
		_, err := c.DescribeLogStreams(ctx(t), &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("g"), NextToken: aws.String(tok)})
		wantAPIError(t, fmt.Sprintf("DescribeLogStreams %q", tok), err, "InvalidParameterException", invalid)
	}
	for _, tok := range broken(*filtered.NextToken) {
		_, err := c.FilterLogEvents(ctx(t), &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), NextToken: aws.String(tok)})
		wantAPIError(t, fmt.Sprintf("FilterLogEvents %q", tok), err, "InvalidParameterException", invalid)
	}
}
