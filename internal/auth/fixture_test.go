package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/iam"
	"github.com/cairnlog/cairn/internal/sts"
)

const (
	acct   = "123456789012"
	region = "eu-west-1"
	group  = "jenkins"
	job    = "folder/job"

	jenkinsKey    = "AKIAJENKINSEXAMPLE01"
	jenkinsSecret = "jenkins-secret-at-least-16-chars"
	nobodyKey     = "AKIANOBODYEXAMPLE001"
	nobodySecret  = "nobody-secret-at-least-16-chars"
	rootKey       = "AKIAROOTEXAMPLE00001"
	rootSecret    = "root-secret-at-least-16-chars-long"
	officeKey     = "AKIAOFFICEEXAMPLE001"
	officeSecret  = "office-secret-at-least-16-chars"
)

const iamFile = `
accounts:
  - id: "123456789012"
    root:
      accessKeys: [{id: AKIAROOTEXAMPLE00001, secret: root-secret-at-least-16-chars-long}]
    users:
      - name: jenkins
        accessKeys: [{id: AKIAJENKINSEXAMPLE01, secret: jenkins-secret-at-least-16-chars}]
        policies:
          - name: logs
            document:
              Version: "2012-10-17"
              Statement:
                - {Effect: Allow, Action: "logs:*", Resource: "arn:aws:logs:*:123456789012:log-group:jenkins*"}
                - {Effect: Allow, Action: "logs:DescribeLogGroups", Resource: "*"}
                - {Effect: Allow, Action: "sts:GetFederationToken", Resource: "arn:aws:sts::123456789012:federated-user/CloudWatchSender-*"}
                - {Effect: Deny, Action: "logs:DeleteLogGroup", Resource: "*"}
      - name: nobody
        accessKeys: [{id: AKIANOBODYEXAMPLE001, secret: nobody-secret-at-least-16-chars}]
      - name: office
        accessKeys: [{id: AKIAOFFICEEXAMPLE001, secret: office-secret-at-least-16-chars}]
        policies:
          - name: conditions
            document:
              Version: "2012-10-17"
              Statement:
                - Effect: Allow
                  Action: "logs:*"
                  Resource: "*"
                  Condition:
                    IpAddress: {aws:SourceIp: "127.0.0.0/8"}
                    StringEquals: {aws:RequestedRegion: [eu-west-1, eu-north-1]}
    roles:
      - name: cloudwatch-sender
        maxSessionDuration: 7200
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            - {Effect: Allow, Principal: {AWS: "arn:aws:iam::123456789012:user/jenkins"}, Action: "sts:AssumeRole"}
        policies:
          - name: logs
            document:
              Version: "2012-10-17"
              Statement:
                - {Effect: Allow, Action: "logs:*", Resource: "arn:aws:logs:*:123456789012:log-group:jenkins*"}
`

// jenkinsPolicy is LogStreamState.MasterState.policy(agentLogStreamName)
// from clients.md §1.4.
func jenkinsPolicy(group, stream string) string {
	return `{"Version": "2012-10-17", "Statement": [
 {"Effect": "Allow", "Action": ["logs:PutLogEvents", "logs:GetLogEvents"],
  "Resource": ["arn:aws:logs:*:*:log-group:` + group + `:log-stream:` + stream + `"]}]}`
}

// Exported for the black-box tests (server_test.go, package auth_test),
// which run the same identities on the real server.
const (
	FixtureAccount       = acct
	FixtureRegion        = region
	FixtureGroup         = group
	FixtureJob           = job
	FixtureIAM           = iamFile
	FixtureJenkinsKey    = jenkinsKey
	FixtureJenkinsSecret = jenkinsSecret
	FixtureNobodyKey     = nobodyKey
	FixtureNobodySecret  = nobodySecret
	FixtureRootKey       = rootKey
	FixtureRootSecret    = rootSecret
	FixtureOfficeKey     = officeKey
	FixtureOfficeSecret  = officeSecret
)

// FixturePolicy is jenkinsPolicy, for package auth_test.
func FixturePolicy(group, stream string) string { return jenkinsPolicy(group, stream) }

// env is an Authenticator over the fixture's identities and a fresh STS
// key, for white-box tests of Authenticate and Authorize; what a client
// sees is tested on the real server (server_test.go).
type env struct {
	auth   *Authenticator
	holder *iam.Holder
	issuer *sts.Issuer
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	store, err := iam.ParseFile([]byte(iamFile))
	if err != nil {
		tb.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	issuer, err := sts.NewIssuer(key, nil)
	if err != nil {
		tb.Fatal(err)
	}
	holder := iam.NewHolder(store)
	a, err := New(Config{Mode: ModeSigV4, Identities: holder, Issuer: issuer})
	if err != nil {
		tb.Fatal(err)
	}
	return &env{auth: a, holder: holder, issuer: issuer}
}

// userSession mints what GetSessionToken gives jenkins for an hour.
func (e *env) userSession(tb testing.TB) aws.Credentials {
	tb.Helper()
	user := iam.UserARN(acct, "jenkins")
	now := time.Now().UTC().Truncate(time.Second)
	return e.issue(tb, sts.Session{Kind: sts.UserSession, Account: acct, ARN: user, Parent: user, Source: user, Issued: now, Expires: now.Add(time.Hour)})
}

// agentSession mints what AssumeRole gives the Jenkins controller for an
// agent: a cloudwatch-sender session bounded by jenkinsPolicy for
// JOB@agent1 (as sts.Handler builds it).
func (e *env) agentSession(tb testing.TB, name string) aws.Credentials {
	tb.Helper()
	role, ok := e.holder.Load().Role("arn:aws:iam::" + acct + ":role/cloudwatch-sender")
	if !ok {
		tb.Fatal("BUG: the fixture has no cloudwatch-sender role")
	}
	var policy bytes.Buffer
	if err := json.Compact(&policy, []byte(jenkinsPolicy(group, job+"@agent1"))); err != nil {
		tb.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	return e.issue(tb, sts.Session{Kind: sts.AssumedRole, Account: acct, ARN: "arn:aws:sts::" + acct + ":assumed-role/cloudwatch-sender/" + name,
		UserID: role.RoleID + ":" + name, Parent: role.ARN, Source: iam.UserARN(acct, "jenkins"), Bounded: true, Policy: policy.Bytes(),
		Issued: now, Expires: now.Add(time.Hour)})
}

func (e *env) issue(tb testing.TB, s sts.Session) aws.Credentials {
	tb.Helper()
	c, err := e.issuer.Issue(s)
	if err != nil {
		tb.Fatal(err)
	}
	return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, CanExpire: true, Expires: c.Expiration}
}

// logsARN is the resource AWS names for an operation: the stream's ARN, with
// an empty stream for group-level operations and an empty group for
// account-level ones.
func logsARN(p *Principal, group, stream string) string {
	return "arn:aws:logs:" + p.Region + ":" + p.Account + ":log-group:" + group + ":log-stream:" + stream
}

func writeJSONError(w http.ResponseWriter, err error) {
	e, ok := awserr.As(err)
	if !ok {
		e = awserr.Internal()
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(e.Code.Status())
	json.NewEncoder(w).Encode(map[string]string{"__type": string(e.Code), "message": e.Message})
}

func temporary(c aws.Credentials) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil })
}

var ctx = context.Background()

func TestModeOff(t *testing.T) {
	a, err := New(Config{Mode: ModeOff, DefaultAccount: acct, DefaultRegion: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	p, err := a.Authenticate(r, nil)
	if err != nil || p.Account != acct || p.Region != "us-east-1" {
		t.Fatalf("no credentials: %v %v", p, err)
	}
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=anything/20240101/eu-north-1/logs/aws4_request, SignedHeaders=host, Signature=00")
	p, err = a.Authenticate(r, nil)
	if err != nil || p.Region != "eu-north-1" || p.AccessKey != "anything" {
		t.Fatalf("bogus credentials: %v %v", p, err)
	}
	if err := a.Authorize(p, "logs:DeleteLogGroup", "arn:aws:logs:eu-north-1:999999999999:log-group:x", RequestContext{}); err != nil {
		t.Fatal(err)
	}
	for addr, ok := range map[string]bool{"127.0.0.1:4566": true, "[::1]:4566": true, "localhost:4566": true, "127.8.9.1:1": true,
		"0.0.0.0:4566": false, ":4566": false, "10.0.0.1:4566": false, "example.com:4566": false} {
		if err := CheckListenAddr(ModeOff, addr); (err == nil) != ok {
			t.Errorf("%s: %v", addr, err)
		}
	}
	if err := CheckListenAddr(ModeSigV4, ":4566"); err != nil {
		t.Error(err)
	}
	if _, err := New(Config{Mode: "maybe"}); err == nil {
		t.Error("unknown mode accepted")
	}
	if _, err := New(Config{Mode: ModeSigV4}); err == nil {
		t.Error("sigv4 without identities accepted")
	}
}

// TestNoSecretsInFormatting formats principals, errors and credentials every
// way fmt can and looks for secret or token text.
func TestNoSecretsInFormatting(t *testing.T) {
	e := newEnv(t)
	creds := e.agentSession(t, "fmt")
	secrets := []string{jenkinsSecret, creds.SecretAccessKey, creds.SessionToken, creds.SessionToken[:24]}

	var things []any
	sign := func(c aws.Credentials, body string) *http.Request {
		var got *http.Request
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			got = r.Clone(context.Background())
			writeJSONError(w, awserr.NotAuthorized("test", "logs:PutLogEvents", "*"))
		}))
		defer srv.Close()
		cl := cloudwatchlogs.New(cloudwatchlogs.Options{Region: region, BaseEndpoint: aws.String(srv.URL), Credentials: temporary(c), RetryMaxAttempts: 1})
		cl.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(body),
			LogEvents: []cwtypes.InputLogEvent{{Message: aws.String("x"), Timestamp: aws.Int64(1)}}})
		return got
	}
	req := sign(creds, job+"@agent1")
	body, _ := io.ReadAll(req.Body)
	p, err := e.auth.Authenticate(req, body)
	if err != nil {
		t.Fatal(err)
	}
	things = append(things, p, *p, p.Caller(RequestContext{}))
	things = append(things, e.auth.Authorize(p, "logs:CreateLogGroup", logsARN(p, "g", ""), RequestContext{}))
	bad := creds
	bad.SessionToken = creds.SessionToken[:len(creds.SessionToken)-2] + "xx"
	req = sign(bad, "s")
	_, err = e.auth.Authenticate(req, nil)
	things = append(things, err)
	wrong := creds
	wrong.SecretAccessKey = "0" + creds.SecretAccessKey[1:]
	req = sign(wrong, "s")
	_, err = e.auth.Authenticate(req, nil)
	things = append(things, err)
	issued, _ := e.issuer.Issue(sts.Session{Kind: sts.UserSession, Expires: time.Now().Add(time.Hour)})
	things = append(things, issued, &issued, e.holder.Load())

	for _, x := range things {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			s := fmt.Sprintf(verb, x)
			for _, secret := range append(secrets, issued.SecretAccessKey, issued.SessionToken) {
				if strings.Contains(s, secret) {
					t.Fatalf("%s of %T shows a secret: %s", verb, x, s)
				}
			}
		}
	}
}
