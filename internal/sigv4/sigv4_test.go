package sigv4

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/awserr"
)

const (
	testKey    = "AKIAIOSFODNN7EXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testToken  = "session-token-for-tests"
)

var signTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

func secrets(key, token string) (string, error) {
	switch {
	case key == testKey && token == "":
		return testSecret, nil
	case key == "ASIAEXAMPLE" && token == testToken:
		return testSecret, nil
	case key == "ASIAEXAMPLE" && token == "expired":
		return "", awserr.SecurityTokenExpired()
	default:
		return "", awserr.InvalidSecurityToken()
	}
}

// serviceFor is the service a request is for, by auth.ServiceOf's rule (that
// package imports this one, so the rule is restated here).
func serviceFor(r *http.Request) string {
	if r.Header.Get("X-Amz-Target") != "" {
		return "logs"
	}
	return "sts"
}

// server runs Verify behind a real HTTP server, so requests reach it the way
// Go's server parses them (Host moved out of Header, Content-Length kept).
// It answers with the scope or with the error as AWS JSON.
func server(tb testing.TB, now time.Time) *httptest.Server {
	tb.Helper()
	v := New(Config{Now: func() time.Time { return now }})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		res, err := v.Verify(r, body, serviceFor(r), secrets)
		if err != nil {
			e, _ := awserr.As(err)
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(e.Code.Status())
			json.NewEncoder(w).Encode(map[string]string{"__type": string(e.Code), "message": e.Message})
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		fmt.Fprintf(w, `{"scope":%q,"presigned":%v}`, res.AccessKey+"/"+res.Date+"/"+res.Region+"/"+res.Service, res.Presigned)
	}))
	tb.Cleanup(srv.Close)
	return srv
}

type reply struct {
	Type, Message, Scope string
	Presigned            bool
}

func send(tb testing.TB, req *http.Request) reply {
	tb.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Type      string `json:"__type"`
		Message   string `json:"message"`
		Scope     string `json:"scope"`
		Presigned bool   `json:"presigned"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		tb.Fatal(err)
	}
	return reply{out.Type, out.Message, out.Scope, out.Presigned}
}

func hashHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// signed builds a PutLogEvents-like request signed by the SDK's signer.
func signed(tb testing.TB, base string, body []byte, creds aws.Credentials, at time.Time) *http.Request {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Logs_20140328.PutLogEvents")
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hashHex(body), "logs", "eu-west-1", at); err != nil {
		tb.Fatal(err)
	}
	return req
}

var staticCreds = aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}

func TestVerifyHeaderForm(t *testing.T) {
	srv := server(t, signTime.Add(time.Minute))
	body := []byte(`{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1,"message":"hi"}]}`)

	got := send(t, signed(t, srv.URL, body, staticCreds, signTime))
	if got.Type != "" || got.Scope != testKey+"/20130524/eu-west-1/logs" {
		t.Fatalf("valid request: %+v", got)
	}

	f := func(name string, req *http.Request, code awserr.Code, msg string) {
		t.Helper()
		got := send(t, req)
		if got.Type != string(code) || (msg != "" && got.Message != msg) {
			t.Errorf("%s: got %s %q, want %s %q", name, got.Type, got.Message, code, msg)
		}
	}
	mismatch := "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

	f("wrong secret", signed(t, srv.URL, body, aws.Credentials{AccessKeyID: testKey, SecretAccessKey: "x" + testSecret[1:]}, signTime), awserr.InvalidSignature, mismatch)

	req := signed(t, srv.URL, body, staticCreds, signTime)
	tampered := bytes.Replace(body, []byte(`"hi"`), []byte(`"ho"`), 1)
	req.Body = io.NopCloser(bytes.NewReader(tampered))
	f("tampered body", req, awserr.InvalidSignature, mismatch)

	req = signed(t, srv.URL, body, staticCreds, signTime)
	req.Header.Set("X-Amz-Target", "Logs_20140328.DeleteLogGroup")
	f("tampered signed header", req, awserr.InvalidSignature, mismatch)

	req = signed(t, srv.URL, body, staticCreds, signTime)
	req.URL.RawQuery = "extra=1"
	f("added query", req, awserr.InvalidSignature, mismatch)

	req = signed(t, srv.URL, body, staticCreds, signTime)
	req.Header.Set("User-Agent", "something else") // not signed, may change
	f("unsigned header changed", req, "", "")

	f("unknown key", signed(t, srv.URL, body, aws.Credentials{AccessKeyID: "AKIANOTKNOWN", SecretAccessKey: testSecret}, signTime),
		awserr.UnrecognizedClient, "The security token included in the request is invalid.")

	f("stale date", signed(t, srv.URL, body, staticCreds, signTime.Add(-30*time.Minute+time.Minute)),
		awserr.InvalidSignature, "Signature expired: 20130523T233100Z is now earlier than 20130523T234600Z (20130524T000100Z - 15 min.)")
	f("future date", signed(t, srv.URL, body, staticCreds, signTime.Add(20*time.Minute)),
		awserr.InvalidSignature, "Signature not yet current: 20130524T002000Z is still later than 20130524T001600Z (20130524T000100Z + 15 min.)")
	f("edge of window", signed(t, srv.URL, body, staticCreds, signTime.Add(-14*time.Minute)), "", "")

	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/", bytes.NewReader(body))
	f("no auth", req, awserr.MissingAuthToken, "Missing Authentication Token")

	req = signed(t, srv.URL, body, staticCreds, signTime)
	auth := "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=abc"
	req.Header.Set("Authorization", auth)
	f("no credential", req, awserr.IncompleteSignature, "Authorization header requires 'Credential' parameter. Authorization="+auth)

	req = signed(t, srv.URL, body, staticCreds, signTime)
	req.Header.Del("X-Amz-Date")
	auth = "AWS4-HMAC-SHA256 Credential=" + testKey + "/20130524/eu-west-1/logs/aws4_request"
	req.Header.Set("Authorization", auth)
	f("nothing but credential", req, awserr.IncompleteSignature,
		"Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "+
			"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization="+auth)

	req = signed(t, srv.URL, body, staticCreds, signTime)
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "SignedHeaders=", "SignedHeaders ", 1))
	f("missing equal sign", req, awserr.IncompleteSignature, "")

	req = signed(t, srv.URL, body, staticCreds, signTime)
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "SignedHeaders=content-length;content-type;host;", "SignedHeaders=content-length;content-type;", 1))
	f("host not signed", req, awserr.InvalidSignature, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")

	req = signed(t, srv.URL, body, staticCreds, signTime)
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "/20130524/", "/20130525/", 1))
	f("scope date", req, awserr.InvalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20130525' != '20130524', from '20130524T000000Z'.")

	req = signed(t, srv.URL, body, staticCreds, signTime)
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "/aws4_request", "/aws5_request", 1))
	f("terminator", req, awserr.InvalidSignature, "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. ")

	req = signed(t, srv.URL, body, staticCreds, signTime)
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "/eu-west-1/logs", "/logs", 1))
	f("short credential", req, awserr.IncompleteSignature, "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '"+testKey+"/20130524/logs/aws4_request'")

	req = signed(t, srv.URL, body, staticCreds, signTime)
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", 1))
	f("algorithm", req, awserr.IncompleteSignature, "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256'.")
}

func TestVerifyService(t *testing.T) {
	v := New(Config{Now: func() time.Time { return signTime }})
	req := signed(t, "http://127.0.0.1:1", nil, staticCreds, signTime)
	if _, err := v.Verify(req, nil, "logs", secrets); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(req, nil, "sts", secrets)
	if e, _ := awserr.As(err); e == nil || e.Message != "Credential should be scoped to correct service: 'sts'. " {
		t.Fatalf("got %v", err)
	}
}

func TestVerifySessionToken(t *testing.T) {
	srv := server(t, signTime)
	creds := aws.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: testSecret, SessionToken: testToken}
	if got := send(t, signed(t, srv.URL, []byte("{}"), creds, signTime)); got.Type != "" {
		t.Fatalf("session token: %+v", got)
	}
	creds.SessionToken = "expired"
	if got := send(t, signed(t, srv.URL, []byte("{}"), creds, signTime)); got.Type != string(awserr.ExpiredToken) || got.Message != "The security token included in the request is expired" {
		t.Fatalf("expired token: %+v", got)
	}
	creds.SessionToken = ""
	if got := send(t, signed(t, srv.URL, []byte("{}"), creds, signTime)); got.Type != string(awserr.UnrecognizedClient) {
		t.Fatalf("missing token: %+v", got)
	}
}

func TestVerifyPresigned(t *testing.T) {
	srv := server(t, signTime.Add(10*time.Minute))
	presign := func(q url.Values, expires int, creds aws.Credentials, at time.Time) *http.Request {
		t.Helper()
		if expires > 0 {
			q.Set("X-Amz-Expires", fmt.Sprint(expires))
		}
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/?"+q.Encode(), nil)
		u, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, hashHex(nil), "sts", "us-east-1", at)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := http.NewRequest(http.MethodGet, u, nil)
		return out
	}
	query := func() url.Values {
		return url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}, "Odd": {"a b+c/d~e*f", "0"}}
	}

	got := send(t, presign(query(), 900, staticCreds, signTime))
	if got.Type != "" || !got.Presigned || got.Scope != testKey+"/20130524/us-east-1/sts" {
		t.Fatalf("valid presigned: %+v", got)
	}
	got = send(t, presign(query(), 60, staticCreds, signTime))
	if got.Type != string(awserr.InvalidSignature) || got.Message != "Signature expired: 20130524T000000Z is now earlier than 20130524T000900Z (20130524T001000Z - 60 sec.)" {
		t.Fatalf("expired presigned: %+v", got)
	}
	// A presigned URL may outlive the 15-minute skew window.
	if got := send(t, presign(query(), 3600, staticCreds, signTime.Add(-45*time.Minute))); got.Type != "" {
		t.Fatalf("long presigned: %+v", got)
	}
	// Without X-Amz-Expires (the SDK's STS presigner sends none) the
	// 15-minute window applies.
	if got := send(t, presign(query(), 0, staticCreds, signTime)); got.Type != "" {
		t.Fatalf("no expires: %+v", got)
	}
	got = send(t, presign(query(), 0, staticCreds, signTime.Add(-10*time.Minute)))
	if got.Type != string(awserr.InvalidSignature) || got.Message != "Signature expired: 20130523T235000Z is now earlier than 20130523T235500Z (20130524T001000Z - 15 min.)" {
		t.Fatalf("no expires, stale: %+v", got)
	}
	req0, _ := http.NewRequest(http.MethodGet, srv.URL+"/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20130524T000000Z", nil)
	got = send(t, req0)
	if got.Type != string(awserr.IncompleteSignature) || got.Message != "AWS query-string parameters must include 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders'. Re-examine the query-string parameters." {
		t.Fatalf("incomplete presigned: %+v", got)
	}
	got = send(t, presign(query(), 900, aws.Credentials{AccessKeyID: "ASIAEXAMPLE", SecretAccessKey: testSecret, SessionToken: testToken}, signTime))
	if got.Type != "" {
		t.Fatalf("presigned with token: %+v", got)
	}

	req := presign(query(), 900, staticCreds, signTime)
	req.URL.RawQuery = strings.Replace(req.URL.RawQuery, "Action=GetCallerIdentity", "Action=AssumeRole", 1)
	if got := send(t, req); got.Type != string(awserr.InvalidSignature) {
		t.Fatalf("tampered presigned: %+v", got)
	}
	req = presign(query(), 900, aws.Credentials{AccessKeyID: testKey, SecretAccessKey: "wrong"}, signTime)
	if got := send(t, req); got.Type != string(awserr.InvalidSignature) {
		t.Fatalf("presigned wrong secret: %+v", got)
	}
	req = presign(query(), 900, staticCreds, signTime)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
	if got := send(t, req); got.Type != string(awserr.IncompleteSignature) {
		t.Fatalf("both forms: %+v", got)
	}
}

// TestVerifyOddPathAndQuery covers canonical URI double-encoding, repeated
// query keys and characters that need escaping.
func TestVerifyOddPathAndQuery(t *testing.T) {
	srv := server(t, signTime)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/a%20b/c%2Fd/~x/%E2%82%AC?b=2&a=1&a=0&c=x%2By&d=&e=%2A", nil)
	if err := v4.NewSigner().SignHTTP(context.Background(), staticCreds, req, hashHex(nil), "sts", "eu-west-1", signTime); err != nil {
		t.Fatal(err)
	}
	if got := send(t, req); got.Type != "" {
		t.Fatalf("%+v", got)
	}
}

// TestVerifyStreamingHost checks that Live Tail's host prefix needs nothing
// special: the Host header as received is what was signed.
func TestVerifyStreamingHost(t *testing.T) {
	srv := server(t, signTime)
	req := signed(t, srv.URL, []byte("{}"), staticCreds, signTime)
	req.Host = "streaming-" + req.URL.Host
	req.Header.Del("Authorization")
	if err := v4.NewSigner().SignHTTP(context.Background(), staticCreds, req, hashHex([]byte("{}")), "logs", "eu-west-1", signTime); err != nil {
		t.Fatal(err)
	}
	if got := send(t, req); got.Type != "" {
		t.Fatalf("%+v", got)
	}
}

// TestVerifyGzipBody checks that the signature is over the bytes as sent.
func TestVerifyGzipBody(t *testing.T) {
	srv := server(t, signTime)
	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	zw.Write([]byte(`{"logEvents":[]}`))
	zw.Close()
	req := signed(t, srv.URL, zbuf.Bytes(), staticCreds, signTime)
	if got := send(t, req); got.Type != "" {
		t.Fatalf("%+v", got)
	}
}

func TestVerifyContentSHA256(t *testing.T) {
	v := New(Config{Now: func() time.Time { return signTime }})
	body := []byte("payload")
	mk := func(declared string) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, "http://example.com/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Content-Sha256", declared)
		if err := v4.NewSigner().SignHTTP(context.Background(), staticCreds, req, declared, "logs", "eu-west-1", signTime); err != nil {
			t.Fatal(err)
		}
		return req
	}
	if _, err := v.Verify(mk(hashHex(body)), body, "logs", secrets); err != nil {
		t.Fatalf("declared hash: %v", err)
	}
	_, err := v.Verify(mk(hashHex(body)), []byte("other"), "logs", secrets)
	if e, _ := awserr.As(err); e == nil || e.Code != awserr.InvalidSignature || e.Message != "The provided 'x-amz-content-sha256' header does not match what was computed." {
		t.Fatalf("declared hash, other body: %v", err)
	}
	// UNSIGNED-PAYLOAD is S3's; here the body is always signed, so a
	// signature over UNSIGNED-PAYLOAD matches no body, not even its own.
	for _, b := range [][]byte{body, []byte("other"), nil} {
		_, err := v.Verify(mk(UnsignedPayload), b, "logs", secrets)
		if e, _ := awserr.As(err); e == nil || e.Code != awserr.InvalidSignature || e.Message != awserr.SignatureMismatch().Message {
			t.Fatalf("unsigned payload, body %q: %v", b, err)
		}
	}
	_, err = v.Verify(mk("STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), body, "logs", secrets)
	if e, _ := awserr.As(err); e == nil || e.Code != awserr.InvalidSignature || !strings.Contains(e.Message, "not supported") {
		t.Fatalf("streaming payload: %v", err)
	}
}

// TestVerifyWithSDKClient drives the verifier with the real CloudWatch Logs
// client, so the SDK's own middleware (content-length, user agent, retries)
// is what gets verified.
func TestVerifyWithSDKClient(t *testing.T) {
	v := New(Config{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if _, err := v.Verify(r, body, "logs", secrets); err != nil {
			e, _ := awserr.As(err)
			w.WriteHeader(e.Code.Status())
			json.NewEncoder(w).Encode(map[string]string{"__type": string(e.Code), "message": e.Message})
			return
		}
		io.WriteString(w, `{}`)
	}))
	defer srv.Close()
	client := func(secret string) *cloudwatchlogs.Client {
		return cloudwatchlogs.New(cloudwatchlogs.Options{
			Region:       "eu-west-1",
			BaseEndpoint: aws.String(srv.URL),
			Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: testKey, SecretAccessKey: secret}, nil
			}),
			RetryMaxAttempts: 1,
		})
	}
	input := &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{{Message: aws.String("hello"), Timestamp: aws.Int64(1)}}}
	if _, err := client(testSecret).PutLogEvents(context.Background(), input); err != nil {
		t.Fatalf("real client: %v", err)
	}
	_, err := client("wrong").PutLogEvents(context.Background(), input)
	var apiErr interface{ ErrorCode() string }
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidSignatureException" {
		t.Fatalf("wrong secret via SDK: %v", err)
	}
}

func TestKeyCacheBounded(t *testing.T) {
	c := newKeyCache(8)
	for i := range 100 {
		c.get(fmt.Sprint("secret", i), "20130524", "r", "logs")
		if n := c.len(); n > 8 {
			t.Fatalf("cache holds %d keys, bound 8", n)
		}
	}
	a := c.get("s", "20130524", "r", "logs")
	b := deriveKey("s", "20130524", "r", "logs")
	if !bytes.Equal(a, b) {
		t.Fatal("cached key differs from derived key")
	}
}

func TestVerifyConcurrent(t *testing.T) {
	v := New(Config{Now: func() time.Time { return signTime }, KeyCacheSize: 4})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				secret := fmt.Sprint("secret-", (g+i)%6)
				req := signed(t, "http://127.0.0.1:1", []byte("{}"), aws.Credentials{AccessKeyID: testKey, SecretAccessKey: secret}, signTime)
				if _, err := v.Verify(req, []byte("{}"), "logs", func(string, string) (string, error) { return secret, nil }); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestScopeOf(t *testing.T) {
	req := signed(t, "http://127.0.0.1:1", nil, staticCreds, signTime)
	s, ok := ScopeOf(req)
	if !ok || s.Region != "eu-west-1" || s.AccessKey != testKey {
		t.Fatalf("%+v %v", s, ok)
	}
	req.Header.Del("Authorization")
	if _, ok := ScopeOf(req); ok {
		t.Fatal("scope without credentials")
	}
}
