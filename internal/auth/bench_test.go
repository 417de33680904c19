package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// signedRequest is a PutLogEvents request signed by the SDK signer.
func signedRequest(tb testing.TB, c aws.Credentials, body []byte) *http.Request {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:4566/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Logs_20140328.PutLogEvents")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), c, req, hex.EncodeToString(sum[:]), "logs", region, time.Now()); err != nil {
		tb.Fatal(err)
	}
	return req
}

func agentCreds(tb testing.TB, e *env) aws.Credentials {
	tb.Helper()
	return e.agentSession(tb, "bench")
}

var body140KB = bytes.Repeat([]byte(`{"timestamp":1700000000000,"message":"a log line of sorts"},`), 140*1024/60)

func benchAuthenticate(b *testing.B, temp bool, body []byte) {
	e := newEnv(b)
	creds := aws.Credentials{AccessKeyID: jenkinsKey, SecretAccessKey: jenkinsSecret}
	if temp {
		creds = agentCreds(b, e)
	}
	req := signedRequest(b, creds, body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.auth.Authenticate(req, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthenticate140KB(b *testing.B)           { benchAuthenticate(b, false, body140KB) }
func BenchmarkAuthenticateHeadersOnly(b *testing.B)     { benchAuthenticate(b, false, nil) }
func BenchmarkAuthenticateTemp140KB(b *testing.B)       { benchAuthenticate(b, true, body140KB) }
func BenchmarkAuthenticateTempHeadersOnly(b *testing.B) { benchAuthenticate(b, true, nil) }

// BenchmarkAuthorize decides PutLogEvents for an agent session: the role's
// compiled policy intersected with the cached compiled session policy.
func BenchmarkAuthorize(b *testing.B) {
	e := newEnv(b)
	creds := agentCreds(b, e)
	req := signedRequest(b, creds, nil)
	p, err := e.auth.Authenticate(req, nil)
	if err != nil {
		b.Fatal(err)
	}
	arn := "arn:aws:logs:eu-west-1:123456789012:log-group:jenkins:log-stream:folder/job@agent1"
	rc := RequestContext{Region: region, SourceIP: netip.MustParseAddr("127.0.0.1"), Time: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		if err := e.auth.Authorize(p, "logs:PutLogEvents", arn, rc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthorizeUser decides for a long-term user with a condition.
func BenchmarkAuthorizeUser(b *testing.B) {
	e := newEnv(b)
	p, err := e.auth.Authenticate(signedRequest(b, aws.Credentials{AccessKeyID: officeKey, SecretAccessKey: officeSecret}, nil), nil)
	if err != nil {
		b.Fatal(err)
	}
	arn := "arn:aws:logs:eu-west-1:123456789012:log-group:g:log-stream:s"
	rc := RequestContext{Region: region, SourceIP: netip.MustParseAddr("127.0.0.1"), Time: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		if err := e.auth.Authorize(p, "logs:PutLogEvents", arn, rc); err != nil {
			b.Fatal(err)
		}
	}
}
