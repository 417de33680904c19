package hostile

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

// TestSlowlorisHeaders guards the attack list's "slowloris on headers" and
// "5,000 idle connections": connections that send their headers a byte at a
// time, and connections that send nothing, do not keep a legitimate client
// from being served. server.Config has no header timeout to shorten (the
// server's ReadHeaderTimeout is a fixed 30 s), so the test does not wait for
// the slow connections to be closed; it checks that a concurrent legitimate
// client is served while they hang.
func TestSlowlorisHeaders(t *testing.T) {
	t.Parallel()
	s := harness.Start(t)
	head := rawHead(s.Addr(), "DescribeLogGroups")
	const slow, idle = 300, 300
	for i := range slow {
		conn := dial(t, s)
		// A different number of header bytes on each, each byte its own write.
		for _, b := range []byte(head[:10+i%(len(head)-14)]) {
			if _, err := conn.Write([]byte{b}); err != nil {
				t.Fatalf("slow connection %d: %v", i, err)
			}
		}
	}
	for range idle {
		dial(t, s)
	}
	c := s.Client()
	createGroup(t, c, "legit", "s")
	if !hasGroup(t, c, "legit") {
		t.Fatal("legitimate client not served while slow connections hang")
	}
}

// TestDeepJSONNesting guards the attack list's "deep JSON": 100,000 nested
// arrays or objects are answered SerializationException (400), on the
// validated path (CreateLogGroup) and on the hand-validated hot path
// (PutLogEvents), and the server keeps serving.
func TestDeepJSONNesting(t *testing.T) {
	t.Parallel()
	s := harness.Start(t)
	createGroup(t, s.Client(), "g", "s")
	const depth = 100_000
	open := strings.Repeat("[", depth)
	bodies := map[string]string{
		"open arrays":            open,
		"closed arrays":          open + strings.Repeat("]", depth),
		"open objects":           strings.Repeat(`{"a":`, depth),
		"closed objects":         strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth),
		"arrays in a member":     `{"logGroupName":"g","logStreamName":"s","logEvents":` + open,
		"arrays closed, member":  `{"logGroupName":"g","logStreamName":"s","logEvents":` + open + strings.Repeat("]", depth) + "}",
		"objects in tags member": `{"logGroupName":"g2","tags":` + strings.Repeat(`{"a":`, depth),
	}
	for _, op := range []string{"CreateLogGroup", "PutLogEvents"} {
		for name, body := range bodies {
			r := s.Call(t, op, []byte(body))
			if r.Status != 400 || r.Code != "SerializationException" {
				t.Errorf("%s %s: got %v, want 400 SerializationException", op, name, r)
			}
		}
	}
	if hasGroup(t, s.Client(), "g2") {
		t.Error("a malformed body created a group")
	}
}

// gzipped compresses n zero bytes.
func gzipped(t testing.TB, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zero := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, len(zero))
		zw.Write(zero[:k])
		n -= k
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGzipBomb guards the attack list's "gzip bombs": a signed body of ~64 KB
// that inflates to 64 MiB is refused with the size error once it passes the
// 8 MiB bound, repeatedly, and the heap does not keep what was inflated.
// A body that is not gzip is SerializationException.
func TestGzipBomb(t *testing.T) {
	// Not parallel: it measures the heap, which must be this test's alone
	// (a parallel Live Tail flood grew it by 44 MiB in one CI run).
	s := harness.Start(t)
	bomb := gzipped(t, 64<<20)
	send := func(body []byte) harness.Reply {
		req := s.Request(t, "CreateLogGroup", body)
		req.Header.Set("Content-Encoding", "gzip")
		harness.Sign(t, req, s.Creds, body, time.Now())
		return s.Do(t, req)
	}
	before := heap()
	for i := range 8 {
		wantReply(t, fmt.Sprintf("bomb %d (%d bytes)", i, len(bomb)), send(bomb), 413, "RequestEntityTooLargeException",
			fmt.Sprintf("Request body exceeds the limit of %d bytes.", maxBody))
	}
	// Just past the bound is refused too; the bound is on the inflated size.
	wantReply(t, "8 MiB + 1 inflated", send(gzipped(t, maxBody+1)), 413, "RequestEntityTooLargeException", "")
	if grown := int64(heap()) - int64(before); grown > 32<<20 {
		t.Errorf("heap grew by %s after 8 gzip bombs", mib(grown))
	}
	wantReply(t, "not gzip", send([]byte(`{"logGroupName":"x"}`)), 400, "SerializationException", "The request body is not valid gzip.")
}

// TestForgedAndTamperedTokens guards the attack list's "forged tokens" and
// "tampered tokens": invented tokens, tokens with one character changed,
// tokens of one operation passed to another, and an eventId passed as a
// token are InvalidParameterException "The specified nextToken is invalid."
func TestForgedAndTamperedTokens(t *testing.T) {
	t.Parallel()
	s := harness.Start(t)
	c := s.Client()
	for _, g := range []string{"a", "b", "c"} {
		createGroup(t, c, g, "s1", "s2", "s3")
	}
	now := time.Now().UnixMilli()
	for _, st := range []string{"s1", "s2"} {
		if _, err := c.PutLogEvents(ctx(t), &cwl.PutLogEventsInput{LogGroupName: aws.String("a"), LogStreamName: aws.String(st),
			LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(now - 2), Message: aws.String("one")}, {Timestamp: aws.Int64(now - 1), Message: aws.String("two")}}}); err != nil {
			t.Fatal(err)
		}
	}
	const invalid = "The specified nextToken is invalid."

	groups, err := c.DescribeLogGroups(ctx(t), &cwl.DescribeLogGroupsInput{Limit: aws.Int32(1)})
	if err != nil || groups.NextToken == nil {
		t.Fatalf("DescribeLogGroups: %v %+v", err, groups)
	}
	streams, err := c.DescribeLogStreams(ctx(t), &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("a"), Limit: aws.Int32(1)})
	if err != nil || streams.NextToken == nil {
		t.Fatalf("DescribeLogStreams: %v %+v", err, streams)
	}
	filtered, err := c.FilterLogEvents(ctx(t), &cwl.FilterLogEventsInput{LogGroupName: aws.String("a"), Limit: aws.Int32(1)})
	if err != nil || filtered.NextToken == nil || len(filtered.Events) != 1 {
		t.Fatalf("FilterLogEvents: %v %+v", err, filtered)
	}
	eventID := aws.ToString(filtered.Events[0].EventId)
	got, err := c.GetLogEvents(ctx(t), &cwl.GetLogEventsInput{LogGroupName: aws.String("a"), LogStreamName: aws.String("s1"), Limit: aws.Int32(1), StartFromHead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	forward := aws.ToString(got.NextForwardToken)

	bad := func(tok string) []string {
		flip := []byte(tok)
		flip[len(flip)/2] ^= 0x01
		return []string{"forged", "", "AAAA", tok + "A", tok[:len(tok)-1], string(flip), strings.ToUpper(tok), tok + "=", " " + tok}
	}
	for i, tok := range append(bad(*groups.NextToken), *streams.NextToken, *filtered.NextToken, eventID) {
		if tok == "" {
			continue // the SDK omits an empty token
		}
		_, err := c.DescribeLogGroups(ctx(t), &cwl.DescribeLogGroupsInput{NextToken: aws.String(tok)})
		wantAPIError(t, fmt.Sprintf("DescribeLogGroups token %d %q", i, tok), err, "InvalidParameterException", invalid)
	}
	for i, tok := range append(bad(*streams.NextToken), *groups.NextToken, *filtered.NextToken, eventID) {
		if tok == "" {
			continue
		}
		_, err := c.DescribeLogStreams(ctx(t), &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("a"), NextToken: aws.String(tok)})
		wantAPIError(t, fmt.Sprintf("DescribeLogStreams token %d %q", i, tok), err, "InvalidParameterException", invalid)
	}
	for i, tok := range append(bad(*filtered.NextToken), *groups.NextToken, *streams.NextToken, eventID, forward) {
		if tok == "" {
			continue
		}
		_, err := c.FilterLogEvents(ctx(t), &cwl.FilterLogEventsInput{LogGroupName: aws.String("a"), NextToken: aws.String(tok)})
		wantAPIError(t, fmt.Sprintf("FilterLogEvents token %d %q", i, tok), err, "InvalidParameterException", invalid)
	}
	digits := strings.TrimSuffix(strings.TrimPrefix(forward, "f/"), "/s")
	for i, tok := range []string{"forged", "f/", "f//s", "x/" + digits + "/s", "f/" + digits + "0/s", "f/" + digits[1:] + "/s",
		"f/" + strings.Replace(digits, digits[:1], "a", 1) + "/s", "f/-" + digits[1:] + "/s", *groups.NextToken, *filtered.NextToken, eventID} {
		_, err := c.GetLogEvents(ctx(t), &cwl.GetLogEventsInput{LogGroupName: aws.String("a"), LogStreamName: aws.String("s1"), NextToken: aws.String(tok)})
		wantAPIError(t, fmt.Sprintf("GetLogEvents token %d %q", i, tok), err, "InvalidParameterException", invalid)
	}
}

// TestOversizedBodies guards the attack list's "1 GB bodies": a signed
// request declaring more than 8 MiB is refused without its body being sent,
// and a chunked body that runs past 8 MiB is refused once it does, both with
// RequestEntityTooLargeException (413).
func TestOversizedBodies(t *testing.T) {
	t.Parallel()
	s := harness.Start(t)
	body := bytes.Repeat([]byte("a"), maxBody+1)
	sum := sha256.Sum256(body)
	signedHead := func(extra string) string {
		req := s.Request(t, "CreateLogGroup", nil)
		req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		if err := v4.NewSigner().SignHTTP(context.Background(), s.Creds, req, hex.EncodeToString(sum[:]), "logs", region, time.Now()); err != nil {
			t.Fatal(err)
		}
		h := []string{extra}
		for k, vs := range req.Header {
			if k != "Content-Type" && k != "X-Amz-Target" {
				h = append(h, k+": "+vs[0])
			}
		}
		return rawHead(s.Addr(), "CreateLogGroup", h...)
	}
	const tooLarge = "RequestEntityTooLargeException"

	// Declared: 8 MiB + 1 and 1 GiB, no body sent.
	for _, n := range []int64{maxBody + 1, 1 << 30} {
		conn := dial(t, s)
		if _, err := io.WriteString(conn, signedHead("Content-Length: "+strconv.FormatInt(n, 10))); err != nil {
			t.Fatal(err)
		}
		r, err := readReply(t, conn)
		if err != nil {
			t.Fatalf("Content-Length %d: no answer while the body was held back: %v", n, err)
		}
		wantReply(t, fmt.Sprintf("Content-Length %d", n), r, 413, tooLarge, fmt.Sprintf("Request body exceeds the limit of %d bytes.", maxBody))
		conn.Close()
	}

	// Chunked: the writer sends 64 KiB chunks until the server stops reading.
	conn := dial(t, s)
	if _, err := io.WriteString(conn, signedHead("Transfer-Encoding: chunked")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		chunk := fmt.Appendf(nil, "%x\r\n%s\r\n", 64<<10, body[:64<<10])
		for sent := 0; sent < 4*maxBody; sent += 64 << 10 {
			if _, err := conn.Write(chunk); err != nil {
				return // the server answered and closed: expected
			}
		}
	}()
	r, err := readReply(t, conn)
	conn.Close() // ends the writer if it is still going
	wg.Wait()
	if err != nil {
		t.Fatalf("chunked body past 8 MiB: no answer: %v", err)
	}
	wantReply(t, "chunked body past 8 MiB", r, 413, tooLarge, "")
}

// TestReplayOutsideWindow guards the attack list's "replay outside the
// window": a correctly signed request dated 16 minutes ago (or ahead), or a
// presigned URL past its X-Amz-Expires, is refused with
// InvalidSignatureException in AWS's words; one dated 14 minutes ago is
// still accepted, so the window is neither wider nor narrower than 15 min.
func TestReplayOutsideWindow(t *testing.T) {
	t.Parallel()
	s := harness.Start(t)
	body := []byte(`{}`)
	at := func(d time.Duration) harness.Reply {
		req := s.Request(t, "DescribeLogGroups", body)
		harness.Sign(t, req, s.Creds, body, time.Now().Add(d))
		return s.Do(t, req)
	}
	stamp := func(d time.Duration) string { return time.Now().Add(d).UTC().Format("20060102T150405Z") }

	r := at(-16 * time.Minute)
	want := stamp(-16 * time.Minute)
	if r.Status != 400 || r.Code != "InvalidSignatureException" ||
		!strings.HasPrefix(r.Message, "Signature expired: "+want[:13]) || !strings.Contains(r.Message, " is now earlier than ") || !strings.HasSuffix(r.Message, " - 15 min.)") {
		t.Errorf("16 min old: got %v, want InvalidSignatureException \"Signature expired: %s is now earlier than ... (... - 15 min.)\"", r, want)
	}
	r = at(16 * time.Minute)
	if r.Status != 400 || r.Code != "InvalidSignatureException" ||
		!strings.HasPrefix(r.Message, "Signature not yet current: ") || !strings.Contains(r.Message, " is still later than ") || !strings.HasSuffix(r.Message, " + 15 min.)") {
		t.Errorf("16 min ahead: got %v, want InvalidSignatureException \"Signature not yet current: ... is still later than ... (... + 15 min.)\"", r)
	}
	if r := at(-14 * time.Minute); r.Status != 200 {
		t.Errorf("14 min old: got %v, want 200", r)
	}

	// A presigned URL valid for 60 s, used 2 minutes after it was signed.
	// X-Amz-Target stays a signed header (not hoisted into the query), so
	// expiry is the only thing wrong with the request.
	req := s.Request(t, "DescribeLogGroups", nil)
	q := req.URL.Query()
	q.Set("X-Amz-Expires", "60")
	req.URL.RawQuery = q.Encode()
	u, hdr, err := v4.NewSigner().PresignHTTP(context.Background(), s.Creds, req, emptyHash, "logs", region, time.Now().Add(-2*time.Minute),
		func(o *v4.SignerOptions) { o.DisableHeaderHoisting = true })
	if err != nil {
		t.Fatal(err)
	}
	replay, _ := http.NewRequestWithContext(ctx(t), http.MethodPost, u, nil)
	for k, v := range hdr {
		replay.Header[k] = v
	}
	if hdr.Get("X-Amz-Target") == "" {
		t.Fatalf("X-Amz-Target not among the presigned headers: %v", hdr)
	}
	r = s.Do(t, replay)
	if r.Status != 400 || r.Code != "InvalidSignatureException" || !strings.HasPrefix(r.Message, "Signature expired: ") || !strings.HasSuffix(r.Message, " - 60 sec.)") {
		t.Errorf("presigned URL 2 min old with X-Amz-Expires=60: got %v, want InvalidSignatureException \"Signature expired: ... (... - 60 sec.)\"", r)
	}
}

// iamAccount is the account of the IAM tests.
const iamAccount = "123456789012"

// iamFile has a root key and a user, alice, allowed every Logs action only on
// the streams x-* of the group "shared", with an explicit Deny on x-secret*.
const iamFile = `
accounts:
  - id: "123456789012"
    root:
      accessKeys:
        - id: AKIAHOSTILEROOT00001
          secret: "hostile-root-secret-0123456789"
    users:
      - name: alice
        accessKeys:
          - id: AKIAHOSTILEALICE0001
            secret: "hostile-alice-secret-0123456789"
        policies:
          - name: shared-x
            document:
              Version: "2012-10-17"
              Statement:
                - Effect: Allow
                  Action: "logs:*"
                  Resource: "arn:aws:logs:*:123456789012:log-group:shared:log-stream:x-*"
                - Effect: Deny
                  Action: "logs:*"
                  Resource: "arn:aws:logs:*:123456789012:log-group:shared:log-stream:x-secret*"
`

var (
	iamRoot  = aws.Credentials{AccessKeyID: "AKIAHOSTILEROOT00001", SecretAccessKey: "hostile-root-secret-0123456789"}
	iamAlice = aws.Credentials{AccessKeyID: "AKIAHOSTILEALICE0001", SecretAccessKey: "hostile-alice-secret-0123456789"}
)

func startIAM(t testing.TB) *harness.Server {
	t.Helper()
	return harness.Start(t, harness.WithIAM(iamFile))
}

// denied is AccessDeniedException's text as the server words it (AWS's).
func denied(action, resource string, explicit bool) string {
	user := "arn:aws:iam::" + iamAccount + ":user/alice"
	if explicit {
		return fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s with an explicit deny in an identity-based policy", user, action, resource)
	}
	return fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s because no identity-based policy allows the %s action", user, action, resource, action)
}

func streamARN(group, stream string) string {
	return "arn:aws:logs:" + region + ":" + iamAccount + ":log-group:" + group + ":log-stream:" + stream
}

// TestIAMDenials guards the attack list's "IAM denials across groups and
// ARNs": a user allowed only log-group:shared:log-stream:x-* is refused
// other groups (including ones whose name starts with "shared"), other
// streams, case variants, a stream ARN smuggled into a group or stream name,
// another account's ARN, and x-secret* by an explicit Deny that beats the
// Allow; refusals are AccessDeniedException worded as AWS words them. The
// edges of the wildcard (x- itself) are allowed.
func TestIAMDenials(t *testing.T) {
	t.Parallel()
	s := startIAM(t)
	root, alice := client(s, iamRoot), client(s, iamAlice)
	for _, g := range []string{"shared", "other", "sharedx", "share"} {
		createGroup(t, root, g, "x-1")
	}
	createStream := func(group, stream string) error {
		_, err := alice.CreateLogStream(ctx(t), &cwl.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream)})
		return err
	}
	for _, st := range []string{"x-2", "x-", "x-a.b/c#d", "x-secre", "x-Secret"} {
		if err := createStream("shared", st); err != nil {
			t.Errorf("allowed stream shared/%s: %v", st, err)
		}
	}
	now := time.Now().UnixMilli()
	if _, err := alice.PutLogEvents(ctx(t), &cwl.PutLogEventsInput{LogGroupName: aws.String("shared"), LogStreamName: aws.String("x-1"),
		LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(now), Message: aws.String("hello")}}}); err != nil {
		t.Errorf("allowed PutLogEvents shared/x-1: %v", err)
	}
	if _, err := alice.GetLogEvents(ctx(t), &cwl.GetLogEventsInput{LogGroupName: aws.String("shared"), LogStreamName: aws.String("x-1")}); err != nil {
		t.Errorf("allowed GetLogEvents shared/x-1: %v", err)
	}

	for _, c := range []struct{ group, stream string }{
		{"shared", "y-1"}, {"shared", "x"}, {"shared", "X-1"}, {"shared", "-x-1"},
		{"other", "x-1"}, {"sharedx", "x-2"}, {"share", "x-2"},
	} {
		wantAPIError(t, "CreateLogStream "+c.group+"/"+c.stream, createStream(c.group, c.stream), "AccessDeniedException",
			denied("logs:CreateLogStream", streamARN(c.group, c.stream), false))
	}
	for _, st := range []string{"x-secret", "x-secret-1"} {
		wantAPIError(t, "CreateLogStream shared/"+st, createStream("shared", st), "AccessDeniedException",
			denied("logs:CreateLogStream", streamARN("shared", st), true))
	}
	_, err := alice.PutLogEvents(ctx(t), &cwl.PutLogEventsInput{LogGroupName: aws.String("other"), LogStreamName: aws.String("x-1"),
		LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(now), Message: aws.String("hello")}}})
	wantAPIError(t, "PutLogEvents other/x-1", err, "AccessDeniedException", denied("logs:PutLogEvents", streamARN("other", "x-1"), false))
	_, err = alice.GetLogEvents(ctx(t), &cwl.GetLogEventsInput{LogGroupName: aws.String("sharedx"), LogStreamName: aws.String("x-1")})
	wantAPIError(t, "GetLogEvents sharedx/x-1", err, "AccessDeniedException", denied("logs:GetLogEvents", streamARN("sharedx", "x-1"), false))
	// The group's own resource ends in ":log-stream:", which x-* does not match.
	_, err = alice.CreateLogGroup(ctx(t), &cwl.CreateLogGroupInput{LogGroupName: aws.String("shared2")})
	wantAPIError(t, "CreateLogGroup shared2", err, "AccessDeniedException", denied("logs:CreateLogGroup", streamARN("shared2", ""), false))
	_, err = alice.DeleteLogGroup(ctx(t), &cwl.DeleteLogGroupInput{LogGroupName: aws.String("shared")})
	wantAPIError(t, "DeleteLogGroup shared", err, "AccessDeniedException", denied("logs:DeleteLogGroup", streamARN("shared", ""), false))

	// ARN tricks: a group name that carries ":log-stream:x-" would match the
	// policy, but group names may not contain ':' (nor '*'), and stream names
	// may contain neither ':' nor '*'.
	for _, g := range []string{"shared:log-stream:x-evil", "shared:log-stream:x-*", "shared*"} {
		_, err := alice.CreateLogGroup(ctx(t), &cwl.CreateLogGroupInput{LogGroupName: aws.String(g)})
		wantAPIError(t, "CreateLogGroup "+g, err, "InvalidParameterException", "")
	}
	for _, st := range []string{"x-1:log-stream:y", "x-*", "x-1:*"} {
		wantAPIError(t, "CreateLogStream shared/"+st, createStream("shared", st), "InvalidParameterException", "")
	}
	// The same group addressed by another account's or region's ARN is not it.
	for _, arn := range []string{"arn:aws:logs:us-east-1:999999999999:log-group:shared", "arn:aws:logs:eu-west-1:" + iamAccount + ":log-group:shared"} {
		_, err = alice.GetLogEvents(ctx(t), &cwl.GetLogEventsInput{LogGroupIdentifier: aws.String(arn), LogStreamName: aws.String("x-1")})
		if err == nil {
			t.Errorf("GetLogEvents through %s: allowed", arn)
		}
	}
	names := groupNames(t, root)
	for _, n := range names {
		if strings.ContainsAny(n, ":*") || n == "shared2" {
			t.Errorf("group %q was created", n)
		}
	}
	streams, err := root.DescribeLogStreams(ctx(t), &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("shared")})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range streams.LogStreams {
		n := aws.ToString(st.LogStreamName)
		if !strings.HasPrefix(n, "x-") || strings.HasPrefix(n, "x-secret") || strings.ContainsAny(n, ":*") {
			t.Errorf("stream shared/%s was created", n)
		}
	}
}

// dialFrom opens a connection to addr from a local, non-loopback address, or
// reports that the machine has none.
func dialFrom(t testing.TB, addr string) (net.Conn, bool) {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.To4() == nil {
			continue
		}
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ipn.IP}, Timeout: 5 * time.Second}
		conn, err := d.Dial("tcp", addr)
		if err != nil {
			t.Logf("dial %s from %s: %v", addr, ipn.IP, err)
			continue
		}
		t.Cleanup(func() { conn.Close() })
		return conn, true
	}
	return nil, false
}
