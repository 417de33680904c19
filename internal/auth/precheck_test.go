package auth

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/iam"
	"github.com/cairnlog/cairn/internal/sts"
)

// captured is a request exactly as the SDK sent it, and its body.
type captured struct {
	req  *http.Request
	body []byte
}

// capture runs one SDK call against a server that keeps the request and
// refuses it; logs selects a CloudWatch Logs call, else an STS one.
func capture(t *testing.T, creds aws.Credentials, logs bool) captured {
	t.Helper()
	var got captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.body, _ = io.ReadAll(r.Body)
		got.req = r.Clone(context.Background())
		writeJSONError(w, awserr.NotAuthorized("test", "logs:DescribeLogGroups", "*"))
	}))
	defer srv.Close()
	if logs {
		c := cloudwatchlogs.New(cloudwatchlogs.Options{Region: region, BaseEndpoint: aws.String(srv.URL), Credentials: temporary(creds), RetryMaxAttempts: 1})
		c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	} else {
		c := awssts.New(awssts.Options{Region: region, BaseEndpoint: aws.String(srv.URL), Credentials: temporary(creds), RetryMaxAttempts: 1})
		c.GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	}
	if got.req == nil {
		t.Fatal("nothing captured")
	}
	return got
}

func wantAWS(t *testing.T, what string, err error, code awserr.Code, msg string) {
	t.Helper()
	e, ok := awserr.As(err)
	if !ok || e.Code != code || e.Message != msg {
		t.Errorf("%s: got %v, want %s %q", what, err, code, msg)
	}
}

func TestServiceOf(t *testing.T) {
	for _, c := range []struct {
		target, contentType, want string
	}{
		{"Logs_20140328.PutLogEvents", "application/x-amz-json-1.1", "logs"},
		{"Logs_20140328.PutLogEvents", "application/x-www-form-urlencoded", "logs"}, // the protocol routes on the target
		{"Anything.Else", "", "logs"},
		{"", "application/x-www-form-urlencoded", "sts"},
		{"", "", "sts"}, // presigned GET ?Action=...
	} {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		if c.target != "" {
			r.Header.Set("X-Amz-Target", c.target)
		}
		if c.contentType != "" {
			r.Header.Set("Content-Type", c.contentType)
		}
		if got := ServiceOf(r); got != c.want {
			t.Errorf("target %q, type %q: got %s, want %s", c.target, c.contentType, got, c.want)
		}
	}
}

// TestPrecheck drives Authenticator.Precheck with requests the SDK signed and
// with the refusals it must give before any body exists, and checks that
// Authenticate agrees.
func TestPrecheck(t *testing.T) {
	e := newEnv(t)
	long := aws.Credentials{AccessKeyID: jenkinsKey, SecretAccessKey: jenkinsSecret}
	pass := func(what string, c captured) {
		t.Helper()
		if err := e.auth.Precheck(c.req); err != nil {
			t.Errorf("%s: precheck: %v", what, err)
		}
		if _, err := e.auth.Authenticate(c.req, c.body); err != nil {
			t.Errorf("%s: authenticate: %v", what, err)
		}
	}
	refuse := func(what string, c captured, code awserr.Code, msg string) {
		t.Helper()
		wantAWS(t, what+" (precheck)", e.auth.Precheck(c.req), code, msg)
		_, err := e.auth.Authenticate(c.req, c.body)
		wantAWS(t, what+" (authenticate)", err, code, msg)
	}
	invalid := "The security token included in the request is invalid."

	pass("logs, long-term key", capture(t, long, true))
	pass("sts, long-term key", capture(t, long, false))
	temp := e.userSession(t)
	pass("logs, session token", capture(t, temp, true))

	// The body is left to Authenticate.
	c := capture(t, long, true)
	if err := e.auth.Precheck(c.req); err != nil {
		t.Fatal(err)
	}
	_, err := e.auth.Authenticate(c.req, []byte(`{"logGroupNamePrefix":"x"}`))
	wantAWS(t, "other body", err, awserr.InvalidSignature, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")

	refuse("unknown key", capture(t, aws.Credentials{AccessKeyID: "AKIAUNKNOWNEXAMPLE01", SecretAccessKey: jenkinsSecret}, true), awserr.UnrecognizedClient, invalid)
	tampered := temp
	b := []byte(tampered.SessionToken)
	b[len(b)/2] ^= 1
	tampered.SessionToken = string(b)
	refuse("tampered token", capture(t, tampered, true), awserr.UnrecognizedClient, invalid)
	expired, err := e.issuer.Issue(sts.Session{Kind: sts.UserSession, Account: acct, ARN: iam.UserARN(acct, "jenkins"), Parent: iam.UserARN(acct, "jenkins"),
		Issued: time.Now().Add(-2 * time.Hour), Expires: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	refuse("expired token", capture(t, aws.Credentials{AccessKeyID: expired.AccessKeyID, SecretAccessKey: expired.SecretAccessKey, SessionToken: expired.SessionToken}, true),
		awserr.ExpiredToken, "The security token included in the request is expired")

	// A Logs signature on an STS request, and the reverse.
	c = capture(t, long, true)
	c.req.Header.Del("X-Amz-Target")
	refuse("logs signature as sts", c, awserr.InvalidSignature, "Credential should be scoped to correct service: 'sts'. ")
	c = capture(t, long, false)
	c.req.Header.Set("X-Amz-Target", "Logs_20140328.CreateLogGroup")
	refuse("sts signature as logs", c, awserr.InvalidSignature, "Credential should be scoped to correct service: 'logs'. ")

	// A Logs-scoped signature that does not cover the target.
	r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/", bytes.NewReader(nil))
	if err := v4.NewSigner().SignHTTP(ctx, long, r, "UNSIGNED-PAYLOAD", "logs", region, time.Now()); err != nil {
		t.Fatal(err)
	}
	r.Header.Set("X-Amz-Target", "Logs_20140328.DeleteLogGroup")
	refuse("unsigned target", captured{req: r}, awserr.InvalidSignature, "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.")

	c = capture(t, long, true)
	c.req.Header.Del("Authorization")
	refuse("no signature", c, awserr.MissingAuthToken, "Missing Authentication Token")

	// Mode off checks nothing.
	off, err := New(Config{Mode: ModeOff, DefaultAccount: acct})
	if err != nil {
		t.Fatal(err)
	}
	if err := off.Precheck(r); err != nil {
		t.Fatalf("mode off: %v", err)
	}
}
