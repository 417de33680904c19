package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/harness"
)

// The attacks of the Security issue, defect 1, against the real server:
// signatures made by the SDK's own signer for one service, operation or body,
// replayed with raw net/http for another.

const (
	unsignedPayload = "UNSIGNED-PAYLOAD"
	targetNotSigned = "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."
	mismatch        = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// rootServer starts a SigV4 server with its generated root key: root may do
// anything, so every refusal below comes from the signature, not from IAM.
func rootServer(t *testing.T) (s *harness.Server, url string, creds aws.Credentials) {
	t.Helper()
	s = harness.Start(t)
	return s, s.URL(), s.Creds
}

// want checks an error reply, in either shape: JSON (__type, message) for
// CloudWatch Logs, the STS XML ErrorResponse for Query calls.
func want(t *testing.T, r harness.Reply, what string, status int, code, msg string) {
	t.Helper()
	if r.Status != status || r.Code != code || r.Message != msg {
		t.Errorf("%s: got %d %s %q, want %d %s %q", what, r.Status, r.Code, r.Message, status, code, msg)
	}
}

// replay sends url (a presigned URL, or the server's with auth headers) as a
// CloudWatch Logs call for target with body.
func replay(url string, hdr http.Header, target string, body []byte) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	for k, v := range hdr {
		if k != "Host" {
			req.Header[k] = v
		}
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
	return req
}

func groups(t *testing.T, s *harness.Server) []string {
	t.Helper()
	out, err := s.Client().DescribeLogGroups(context.Background(), &cwl.DescribeLogGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, g := range out.LogGroups {
		names = append(names, *g.LogGroupName)
	}
	return names
}

// TestAttackPresignedSTSAsLogs: a presigned GetCallerIdentity URL (the kind
// handed out as proof of identity: X-Amz-SignedHeaders=host,
// UNSIGNED-PAYLOAD) replayed as CreateLogGroup with a new body.
func TestAttackPresignedSTSAsLogs(t *testing.T) {
	s, url, creds := rootServer(t)
	ctx := context.Background()
	req, _ := http.NewRequest(http.MethodPost, url+"/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	signedURL, hdr, err := v4.NewSigner().PresignHTTP(ctx, creds, req, unsignedPayload, "sts", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(signedURL, "X-Amz-SignedHeaders=host&") && !strings.HasSuffix(signedURL, "X-Amz-SignedHeaders=host") {
		t.Fatalf("presigned over more than host: %s", signedURL)
	}
	body := []byte(`{"logGroupName":"planted"}`)
	want(t, s.Do(t, replay(signedURL, hdr, "Logs_20140328.CreateLogGroup", body)), "sts URL as CreateLogGroup", 400, "InvalidSignatureException", "Credential should be scoped to correct service: 'logs'. ")
	// The same URL as an STS call with a body it never signed.
	form, _ := http.NewRequest(http.MethodPost, signedURL, strings.NewReader("Action=GetSessionToken&Version=2011-06-15"))
	form.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	form.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
	want(t, s.Do(t, form), "sts URL with another body", 403, "SignatureDoesNotMatch", mismatch)
	if g := groups(t, s); len(g) != 0 {
		t.Fatalf("groups after the attack: %v", g)
	}
}

// TestAttackPresignedLogsOtherTarget: a Logs URL presigned for one operation,
// used for DeleteLogGroup.
func TestAttackPresignedLogsOtherTarget(t *testing.T) {
	s, url, creds := rootServer(t)
	ctx := context.Background()
	if _, err := s.Client().CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("victim")}); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"logGroupName":"victim"}`)
	presign := func(hoist bool) (string, http.Header) {
		req, _ := http.NewRequest(http.MethodPost, url+"/", nil)
		req.Header.Set("X-Amz-Target", "Logs_20140328.DescribeLogGroups")
		u, hdr, err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableHeaderHoisting = !hoist }).
			PresignHTTP(ctx, creds, req, unsignedPayload, "logs", "us-east-1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return u, hdr
	}
	// The SDK's default hoists X-Amz-Target into the query: the header the
	// server routes on is then unsigned.
	u, hdr := presign(true)
	want(t, s.Do(t, replay(u, hdr, "Logs_20140328.DeleteLogGroup", body)), "hoisted target", 400, "InvalidSignatureException", targetNotSigned)
	// Kept as a signed header, the target cannot change...
	u, hdr = presign(false)
	want(t, s.Do(t, replay(u, hdr, "Logs_20140328.DeleteLogGroup", body)), "signed target changed", 400, "InvalidSignatureException", mismatch)
	// ...and even the signed target with UNSIGNED-PAYLOAD opens nothing: the
	// body is always covered.
	want(t, s.Do(t, replay(u, hdr, "Logs_20140328.DescribeLogGroups", []byte("{}"))), "unsigned payload", 400, "InvalidSignatureException", mismatch)
	if g := groups(t, s); len(g) != 1 || g[0] != "victim" {
		t.Fatalf("groups after the attack: %v", g)
	}
}

// TestAttackHeaderSignatureReplay: an Authorization header over
// host;x-amz-date with UNSIGNED-PAYLOAD, replayed with another target and body.
func TestAttackHeaderSignatureReplay(t *testing.T) {
	s, url, creds := rootServer(t)
	ctx := context.Background()
	req, _ := http.NewRequest(http.MethodPost, url+"/", nil)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, unsignedPayload, "logs", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(req.Header.Get("Authorization"), "SignedHeaders=host;x-amz-date,") {
		t.Fatalf("signed more than host;x-amz-date: %s", req.Header.Get("Authorization"))
	}
	want(t, s.Do(t, replay(url+"/", req.Header, "Logs_20140328.CreateLogGroup", []byte(`{"logGroupName":"planted"}`))), "unsigned target", 400, "InvalidSignatureException", targetNotSigned)

	// With the target signed, UNSIGNED-PAYLOAD still does not free the body.
	req, _ = http.NewRequest(http.MethodPost, url+"/", nil)
	req.Header.Set("X-Amz-Target", "Logs_20140328.CreateLogGroup")
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, unsignedPayload, "logs", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	want(t, s.Do(t, replay(url+"/", req.Header, "Logs_20140328.CreateLogGroup", []byte(`{"logGroupName":"planted"}`))), "signed target, unsigned payload", 400, "InvalidSignatureException", mismatch)

	// A signature for Logs is not one for STS (the Query error shape).
	body := []byte("Action=GetCallerIdentity&Version=2011-06-15")
	req, _ = http.NewRequest(http.MethodPost, url+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, sha(body), "logs", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	want(t, s.Do(t, req), "logs signature for sts", 403, "SignatureDoesNotMatch", "Credential should be scoped to correct service: 'sts'. ")
	if g := groups(t, s); len(g) != 0 {
		t.Fatalf("groups after the attack: %v", g)
	}
}
