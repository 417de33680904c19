package sigv4

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/cairnlog/cairn/internal/awserr"
)

// wantErr fails unless err is an *awserr.Error with code and message.
func wantErr(tb testing.TB, what string, err error, code awserr.Code, msg string) {
	tb.Helper()
	e, ok := awserr.As(err)
	if !ok || e.Code != code || e.Message != msg {
		tb.Fatalf("%s: got %v, want %s %q", what, err, code, msg)
	}
}

// both runs Precheck and Verify on r and expects the same refusal from each.
func both(tb testing.TB, v *Verifier, what string, r *http.Request, body []byte, service string, code awserr.Code, msg string) {
	tb.Helper()
	_, err := v.Precheck(r, service, secrets)
	wantErr(tb, what+" (precheck)", err, code, msg)
	_, err = v.Verify(r, body, service, secrets)
	wantErr(tb, what+" (verify)", err, code, msg)
}

func isAWS(err error) bool { _, ok := awserr.As(err); return ok }

const targetNotSigned = "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."

func TestServiceBinding(t *testing.T) {
	v := New(Config{Now: func() time.Time { return signTime }})
	body := []byte("{}")
	req := signed(t, "http://127.0.0.1:1", body, staticCreds, signTime) // scoped to logs
	both(t, v, "logs signature for sts", req, body, "sts", awserr.InvalidSignature, "Credential should be scoped to correct service: 'sts'. ")
	if _, err := v.Verify(req, body, "", secrets); err == nil || isAWS(err) {
		t.Fatalf("empty expected service must be a bug, not an acceptance: %v", err)
	}
	if _, err := v.Precheck(req, "", secrets); err == nil {
		t.Fatal("precheck with empty expected service accepted")
	}
	// A credential scoped to an empty service is not "any service".
	req = signed(t, "http://127.0.0.1:1", body, staticCreds, signTime)
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "/logs/", "//", 1))
	both(t, v, "empty scope service", req, body, "logs", awserr.InvalidSignature, "Credential should be scoped to correct service: 'logs'. ")
}

func TestTargetMustBeSigned(t *testing.T) {
	v := New(Config{Now: func() time.Time { return signTime }})
	body := []byte(`{"logGroupName":"g"}`)

	// Header form: sign without X-Amz-Target, then add it.
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/", bytes.NewReader(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), staticCreds, req, hashHex(body), "logs", "eu-west-1", signTime); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(req, body, "sts", secrets); !awserr.Is(err, awserr.InvalidSignature) {
		t.Fatalf("without a target the request is for sts: %v", err)
	}
	req.Header.Set("X-Amz-Target", "Logs_20140328.DeleteLogGroup")
	both(t, v, "unsigned target", req, body, "logs", awserr.InvalidSignature, targetNotSigned)
	// Present but empty still counts: the header is there, so it must be signed.
	req, _ = http.NewRequest(http.MethodPost, "http://127.0.0.1:1/", bytes.NewReader(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), staticCreds, req, hashHex(body), "sts", "eu-west-1", signTime); err != nil {
		t.Fatal(err)
	}
	req.Header["X-Amz-Target"] = []string{""}
	both(t, v, "empty unsigned target", req, body, "sts", awserr.InvalidSignature, targetNotSigned)

	// The SDK signs it: accepted, and changing it breaks the signature.
	req = signed(t, "http://127.0.0.1:1", body, staticCreds, signTime)
	if _, err := v.Verify(req, body, "logs", secrets); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(req.Header.Get("Authorization"), ";x-amz-target,") {
		t.Fatalf("SDK did not sign the target: %s", req.Header.Get("Authorization"))
	}
	req.Header.Set("X-Amz-Target", "Logs_20140328.DeleteLogGroup")
	if _, err := v.Precheck(req, "logs", secrets); err != nil {
		t.Fatalf("precheck cannot see a changed signed value, verify does: %v", err)
	}
	if _, err := v.Verify(req, body, "logs", secrets); !awserr.Is(err, awserr.InvalidSignature) {
		t.Fatalf("changed target: %v", err)
	}

	// Presigned form: X-Amz-SignedHeaders must name it too.
	presign := func(withTarget bool) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/", nil)
		if withTarget {
			r.Header.Set("X-Amz-Target", "Logs_20140328.DescribeLogGroups")
		}
		u, hdr, err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableHeaderHoisting = true }).
			PresignHTTP(context.Background(), staticCreds, r, hashHex(body), "logs", "eu-west-1", signTime)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
		for k, vs := range hdr {
			if k != "Host" {
				out.Header[k] = vs
			}
		}
		return out
	}
	req = presign(true)
	if !strings.Contains(req.URL.RawQuery, "X-Amz-SignedHeaders=host%3Bx-amz-target") {
		t.Fatalf("presigned without the target signed: %s", req.URL)
	}
	if _, err := v.Verify(req, body, "logs", secrets); err != nil {
		t.Fatalf("presigned with signed target: %v", err)
	}
	req.Header.Set("X-Amz-Target", "Logs_20140328.DeleteLogGroup")
	if _, err := v.Verify(req, body, "logs", secrets); !awserr.Is(err, awserr.InvalidSignature) {
		t.Fatalf("presigned, target changed: %v", err)
	}
	req = presign(false)
	req.Header.Set("X-Amz-Target", "Logs_20140328.DeleteLogGroup")
	both(t, v, "presigned, target added", req, body, "logs", awserr.InvalidSignature, targetNotSigned)
}

func TestPrecheck(t *testing.T) {
	v := New(Config{Now: func() time.Time { return signTime }})
	body := []byte(`{"logGroupName":"g"}`)
	ok := func(what string, r *http.Request) {
		t.Helper()
		if _, err := v.Precheck(r, "logs", secrets); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	req := signed(t, "http://127.0.0.1:1", body, staticCreds, signTime)
	ok("valid", req)
	// The body is not Precheck's business: a good request with another body
	// passes Precheck and fails Verify.
	if _, err := v.Verify(req, []byte("{}"), "logs", secrets); !awserr.Is(err, awserr.InvalidSignature) {
		t.Fatalf("other body: %v", err)
	}

	r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/", nil)
	both(t, v, "no auth", r, nil, "logs", awserr.MissingAuthToken, "Missing Authentication Token")

	req = signed(t, "http://127.0.0.1:1", body, staticCreds, signTime)
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", 1))
	both(t, v, "algorithm", req, body, "logs", awserr.IncompleteSignature, "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1'.")

	req = signed(t, "http://127.0.0.1:1", body, staticCreds, signTime)
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), "/eu-west-1/", "/EU/", 1))
	both(t, v, "region", req, body, "logs", awserr.InvalidSignature, "Credential should be scoped to a valid region, not 'EU'. ")

	req = signed(t, "http://127.0.0.1:1", body, staticCreds, signTime.Add(-time.Hour))
	both(t, v, "stale", req, body, "logs", awserr.InvalidSignature, "Signature expired: 20130523T230000Z is now earlier than 20130523T234500Z (20130524T000000Z - 15 min.)")

	req = signed(t, "http://127.0.0.1:1", body, staticCreds, signTime)
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), ";host;", ";", 1))
	both(t, v, "host not signed", req, body, "logs", awserr.InvalidSignature, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")

	req = signed(t, "http://127.0.0.1:1", body, staticCreds, signTime)
	req.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
	both(t, v, "streaming", req, body, "logs", awserr.InvalidSignature, "Streaming (chunked) payload signing 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' is not supported.")

	req = signed(t, "http://127.0.0.1:1", body, staticCreds, signTime)
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), testKey, "AKIANOTKNOWN", 1))
	both(t, v, "unknown key", req, body, "logs", awserr.UnrecognizedClient, "The security token included in the request is invalid.")

	req = signed(t, "http://127.0.0.1:1", body, staticCreds, signTime)
	req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), testKey, "ASIAEXAMPLE", 1))
	req.Header.Set("X-Amz-Security-Token", "expired")
	both(t, v, "expired token", req, body, "logs", awserr.ExpiredToken, "The security token included in the request is expired")
}
