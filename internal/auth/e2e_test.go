package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
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
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

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

type env struct {
	srv    *httptest.Server
	auth   *Authenticator
	holder *iam.Holder
	issuer *sts.Issuer
}

// newEnv starts a server on 127.0.0.1 that authenticates every request, runs
// the STS handler for form-encoded requests and, for CloudWatch Logs JSON
// requests, authorizes the operation on the resource ARN AWS uses for it and
// answers with an empty success.
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
	e := &env{auth: a, holder: holder, issuer: issuer}
	stsHandler := sts.NewHandler(sts.Config{Issuer: issuer, Identities: holder})
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		isSTS := r.Header.Get("X-Amz-Target") == ""
		p, err := a.Authenticate(r, body)
		if err != nil {
			if isSTS {
				sts.WriteError(w, sts.NewRequestID(), err)
			} else {
				writeJSONError(w, err)
			}
			return
		}
		rc := RequestContextOf(r, p, time.Now())
		if isSTS {
			r.Body = io.NopCloser(bytes.NewReader(body))
			stsHandler.ServeHTTP(w, r.WithContext(sts.WithCaller(r.Context(), p.Caller(rc))))
			return
		}
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "Logs_20140328.")
		var in struct{ LogGroupName, LogStreamName string }
		json.Unmarshal(body, &in)
		if err := a.Authorize(p, "logs:"+op, logsARN(p, in.LogGroupName, in.LogStreamName), rc); err != nil {
			writeJSONError(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, "{}")
	}))
	tb.Cleanup(e.srv.Close)
	return e
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

func static(key, secret string) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, nil
	})
}

func temporary(c aws.Credentials) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil })
}

func (e *env) logs(creds aws.CredentialsProvider) *cloudwatchlogs.Client {
	return cloudwatchlogs.New(cloudwatchlogs.Options{Region: region, BaseEndpoint: aws.String(e.srv.URL), Credentials: creds, RetryMaxAttempts: 1})
}

func (e *env) sts(creds aws.CredentialsProvider) *awssts.Client {
	return awssts.New(awssts.Options{Region: region, BaseEndpoint: aws.String(e.srv.URL), Credentials: creds, RetryMaxAttempts: 1})
}

// apiError returns the code and message of an SDK error ("" for nil).
func apiError(tb testing.TB, err error) (string, string) {
	tb.Helper()
	if err == nil {
		return "", ""
	}
	var ae interface {
		ErrorCode() string
		ErrorMessage() string
	}
	if !errors.As(err, &ae) {
		tb.Fatalf("not an API error: %v", err)
	}
	return ae.ErrorCode(), ae.ErrorMessage()
}

var ctx = context.Background()

// call runs one CloudWatch Logs operation on group/stream.
func call(c *cloudwatchlogs.Client, op, group, stream string) error {
	var err error
	switch op {
	case "PutLogEvents":
		_, err = c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream,
			LogEvents: []cwtypes.InputLogEvent{{Message: aws.String(`{"message":"hi","build":"1"}`), Timestamp: aws.Int64(1)}}})
	case "GetLogEvents":
		_, err = c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: &group, LogStreamName: &stream})
	case "CreateLogStream":
		_, err = c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: &group, LogStreamName: &stream})
	case "DeleteLogStream":
		_, err = c.DeleteLogStream(ctx, &cloudwatchlogs.DeleteLogStreamInput{LogGroupName: &group, LogStreamName: &stream})
	case "CreateLogGroup":
		_, err = c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &group})
	case "DeleteLogGroup":
		_, err = c.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: &group})
	case "DescribeLogGroups":
		_, err = c.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{})
	case "FilterLogEvents":
		_, err = c.FilterLogEvents(ctx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: &group, LogStreamNamePrefix: aws.String(job + "@")})
	default:
		panic("BUG: unknown op " + op)
	}
	return err
}

func TestLongTermCredentials(t *testing.T) {
	e := newEnv(t)
	jenkins := e.logs(static(jenkinsKey, jenkinsSecret))
	f := func(c *cloudwatchlogs.Client, op, group, stream, code, msg string) {
		t.Helper()
		gotCode, gotMsg := apiError(t, call(c, op, group, stream))
		if gotCode != code || (msg != "" && gotMsg != msg) {
			t.Errorf("%s %s/%s: got %s %q, want %s %q", op, group, stream, gotCode, gotMsg, code, msg)
		}
	}
	f(jenkins, "PutLogEvents", group, job+"@master", "", "")
	f(jenkins, "CreateLogGroup", "jenkins-2", "", "", "")
	f(jenkins, "DescribeLogGroups", "", "", "", "")
	f(jenkins, "CreateLogGroup", "other", "", "AccessDeniedException",
		"User: arn:aws:iam::123456789012:user/jenkins is not authorized to perform: logs:CreateLogGroup on resource: arn:aws:logs:eu-west-1:123456789012:log-group:other:log-stream: because no identity-based policy allows the logs:CreateLogGroup action")
	f(jenkins, "DeleteLogGroup", group, "", "AccessDeniedException",
		"User: arn:aws:iam::123456789012:user/jenkins is not authorized to perform: logs:DeleteLogGroup on resource: arn:aws:logs:eu-west-1:123456789012:log-group:jenkins:log-stream: with an explicit deny in an identity-based policy")

	nobody := e.logs(static(nobodyKey, nobodySecret))
	f(nobody, "PutLogEvents", group, "s", "AccessDeniedException", "")

	root := e.logs(static(rootKey, rootSecret))
	f(root, "DeleteLogGroup", group, "", "", "")

	f(e.logs(static(jenkinsKey, "not-the-secret-at-all-xxxxxxxxxx")), "PutLogEvents", group, "s", "InvalidSignatureException",
		"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	f(e.logs(static("AKIAUNKNOWNEXAMPLE01", jenkinsSecret)), "PutLogEvents", group, "s", "UnrecognizedClientException",
		"The security token included in the request is invalid.")
	f(e.logs(aws.AnonymousCredentials{}), "PutLogEvents", group, "s", "MissingAuthenticationTokenException", "")
}

// TestConditionsThroughAuthorize runs IpAddress and aws:RequestedRegion
// conditions with the values Authenticate and RequestContextOf produce.
func TestConditionsThroughAuthorize(t *testing.T) {
	e := newEnv(t)
	office := e.logs(static(officeKey, officeSecret))
	if err := call(office, "PutLogEvents", "g", "s"); err != nil {
		t.Fatalf("from loopback, eu-west-1: %v", err)
	}
	other := cloudwatchlogs.New(cloudwatchlogs.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.srv.URL), Credentials: static(officeKey, officeSecret), RetryMaxAttempts: 1})
	if code, _ := apiError(t, call(other, "PutLogEvents", "g", "s")); code != "AccessDeniedException" {
		t.Fatalf("us-east-1: %s", code)
	}
}

func TestGetCallerIdentity(t *testing.T) {
	e := newEnv(t)
	out, err := e.sts(static(jenkinsKey, jenkinsSecret)).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *out.Account != acct || *out.Arn != "arn:aws:iam::123456789012:user/jenkins" || !strings.HasPrefix(*out.UserId, "AIDA") {
		t.Fatalf("%s %s %s", *out.Account, *out.Arn, *out.UserId)
	}
	out, err = e.sts(static(rootKey, rootSecret)).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || *out.Arn != "arn:aws:iam::123456789012:root" || *out.UserId != acct {
		t.Fatalf("root: %v %+v", err, out)
	}
	_, err = e.sts(static(jenkinsKey, "wrong-secret-wrong-secret-wrong-secret")).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if code, _ := apiError(t, err); code != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret over STS: %v", err)
	}
}

// agentMatrix checks that credentials scoped by the Jenkins session policy
// to JOB@agent1 may PutLogEvents and GetLogEvents on that stream and nothing
// else. denyWhy is the expected reason for refusals the parent would allow.
func agentMatrix(t *testing.T, e *env, creds aws.Credentials) {
	t.Helper()
	c := e.logs(temporary(creds))
	type cs struct{ op, group, stream string }
	allowed := []cs{{"PutLogEvents", group, job + "@agent1"}, {"GetLogEvents", group, job + "@agent1"}}
	denied := []cs{
		{"PutLogEvents", group, job + "@agent2"},
		{"PutLogEvents", group, job + "@master"},
		{"PutLogEvents", group, job + "@agent10"},
		{"GetLogEvents", group, job + "@agent2"},
		{"PutLogEvents", "jenkins-other", job + "@agent1"},
		{"CreateLogGroup", group, ""},
		{"CreateLogGroup", "jenkins-new", ""},
		{"CreateLogStream", group, job + "@agent1"},
		{"DeleteLogStream", group, job + "@agent1"},
		{"DescribeLogGroups", "", ""},
		{"FilterLogEvents", group, ""},
	}
	for _, x := range allowed {
		if err := call(c, x.op, x.group, x.stream); err != nil {
			t.Errorf("agent %s on %s/%s: %v", x.op, x.group, x.stream, err)
		}
	}
	for _, x := range denied {
		code, msg := apiError(t, call(c, x.op, x.group, x.stream))
		if code != "AccessDeniedException" {
			t.Errorf("agent %s on %s/%s: got %q, want AccessDeniedException", x.op, x.group, x.stream, code)
			continue
		}
		if strings.Contains(msg, creds.SecretAccessKey) || strings.Contains(msg, creds.SessionToken) {
			t.Errorf("refusal leaks a credential: %s", msg)
		}
	}
	// The parent's policies allow CreateLogGroup on jenkins*; the session
	// policy is what refuses it, and the message says so.
	_, msg := apiError(t, call(c, "CreateLogGroup", "jenkins-new", ""))
	if !strings.HasSuffix(msg, "because no session policy allows the logs:CreateLogGroup action") {
		t.Errorf("session refusal: %s", msg)
	}
}

func stsCreds(c *ststypes.Credentials) aws.Credentials {
	return aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: *c.SessionToken, CanExpire: true, Expires: *c.Expiration}
}

func TestAssumeRoleJenkins(t *testing.T) {
	e := newEnv(t)
	client := e.sts(static(jenkinsKey, jenkinsSecret))
	session := "CloudWatchSender-0f8e2a4c-5b1d-4e8a-9c3f-2d7b6a1e9f00" // the plugin's name: prefix + UUID
	out, err := client.AssumeRole(ctx, &awssts.AssumeRoleInput{
		RoleArn:         aws.String("arn:aws:iam::123456789012:role/cloudwatch-sender"),
		RoleSessionName: aws.String(session),
		Policy:          aws.String(jenkinsPolicy(group, job+"@agent1")),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := *out.AssumedRoleUser.Arn; got != "arn:aws:sts::123456789012:assumed-role/cloudwatch-sender/"+session {
		t.Fatalf("arn %s", got)
	}
	if id := *out.AssumedRoleUser.AssumedRoleId; !strings.HasPrefix(id, "AROA") || !strings.HasSuffix(id, ":"+session) {
		t.Fatalf("role id %s", id)
	}
	if k := *out.Credentials.AccessKeyId; !strings.HasPrefix(k, "ASIA") || len(k) != 20 {
		t.Fatalf("access key %s", k)
	}
	if d := time.Until(*out.Credentials.Expiration); d < 59*time.Minute || d > 61*time.Minute {
		t.Fatalf("default duration %v", d)
	}
	if out.PackedPolicySize == nil || *out.PackedPolicySize <= 0 || *out.PackedPolicySize > 100 {
		t.Fatalf("packed policy size %v", out.PackedPolicySize)
	}
	creds := stsCreds(out.Credentials)
	agentMatrix(t, e, creds)

	who, err := e.sts(temporary(creds)).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || *who.Arn != *out.AssumedRoleUser.Arn || *who.UserId != *out.AssumedRoleUser.AssumedRoleId {
		t.Fatalf("caller identity of the session: %v %+v", err, who)
	}

	// Without a session policy the session has the role's rights.
	out, err = client.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/cloudwatch-sender"), RoleSessionName: aws.String("full"), DurationSeconds: aws.Int32(7200)})
	if err != nil {
		t.Fatal(err)
	}
	if err := call(e.logs(temporary(stsCreds(out.Credentials))), "CreateLogGroup", "jenkins-x", ""); err != nil {
		t.Fatalf("role session without policy: %v", err)
	}

	// The plugin's other path: controller holds session credentials.
	st, err := client.GetSessionToken(ctx, &awssts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	chained := e.sts(temporary(stsCreds(st.Credentials)))
	out, err = chained.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/cloudwatch-sender"), RoleSessionName: aws.String("from-session"), Policy: aws.String(jenkinsPolicy(group, job+"@agent1"))})
	if err != nil {
		t.Fatalf("assume role with session credentials: %v", err)
	}
	agentMatrix(t, e, stsCreds(out.Credentials))
}

func TestAssumeRoleRefusals(t *testing.T) {
	e := newEnv(t)
	role := aws.String("arn:aws:iam::123456789012:role/cloudwatch-sender")
	f := func(creds aws.CredentialsProvider, in *awssts.AssumeRoleInput, code, msg string) {
		t.Helper()
		_, err := e.sts(creds).AssumeRole(ctx, in)
		gotCode, gotMsg := apiError(t, err)
		if gotCode != code || (msg != "" && gotMsg != msg) {
			t.Errorf("got %s %q, want %s %q", gotCode, gotMsg, code, msg)
		}
	}
	jenkins := static(jenkinsKey, jenkinsSecret)
	f(static(nobodyKey, nobodySecret), &awssts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("s1")}, "AccessDenied",
		"User: arn:aws:iam::123456789012:user/nobody is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/cloudwatch-sender")
	f(jenkins, &awssts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/missing"), RoleSessionName: aws.String("s1")}, "AccessDenied", "")
	f(jenkins, &awssts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("x")}, "ValidationError",
		"1 validation error detected: Value 'x' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2")
	f(jenkins, &awssts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("bad name")}, "ValidationError",
		`1 validation error detected: Value 'bad name' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`)
	f(jenkins, &awssts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String(strings.Repeat("a", 65))}, "ValidationError", "")
	f(jenkins, &awssts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(600)}, "ValidationError",
		"1 validation error detected: Value '600' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900")
	f(jenkins, &awssts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(43201)}, "ValidationError", "")
	f(jenkins, &awssts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("s1"), DurationSeconds: aws.Int32(10800)}, "ValidationError",
		"The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	f(jenkins, &awssts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("s1"), Policy: aws.String(`{"Statement":{"Effect":"Allow"}}`)}, "MalformedPolicyDocument", "")
	f(jenkins, &awssts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("s1"), Policy: aws.String(strings.Repeat(" ", 2049))}, "ValidationError", "")
	// 2048 characters, but "é" takes two bytes when packed.
	big := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"logs:*","Resource":"arn:aws:logs:*:*:log-group:` + strings.Repeat("é", 1900) + `"}}`
	f(jenkins, &awssts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("s1"), Policy: aws.String(big)}, "PackedPolicyTooLarge",
		"Packed policy consumes 192% of allotted space, please use smaller policy.")

	// Role chaining is capped at one hour.
	out, err := e.sts(jenkins).AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("s1")})
	if err != nil {
		t.Fatal(err)
	}
	// The role does not trust its own sessions, so chaining onto itself is refused.
	f(temporary(stsCreds(out.Credentials)), &awssts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("s2")}, "AccessDenied", "")
}

func TestGetFederationTokenJenkins(t *testing.T) {
	e := newEnv(t)
	client := e.sts(static(jenkinsKey, jenkinsSecret))
	// The plugin names the user "CloudWatchSender-<uuid>" (53 characters),
	// beyond the API's 32: AWS refuses that, and so do we.
	_, err := client.GetFederationToken(ctx, &awssts.GetFederationTokenInput{Name: aws.String("CloudWatchSender-0f8e2a4c-5b1d-4e8a-9c3f-2d7b6a1e9f00"), Policy: aws.String(jenkinsPolicy(group, job+"@agent1"))})
	if code, _ := apiError(t, err); code != "ValidationError" {
		t.Fatalf("53-character name: %v", err)
	}
	name := "CloudWatchSender-0f8e2a4c5b1d4e8"
	out, err := client.GetFederationToken(ctx, &awssts.GetFederationTokenInput{Name: aws.String(name), Policy: aws.String(jenkinsPolicy(group, job+"@agent1"))})
	if err != nil {
		t.Fatal(err)
	}
	if *out.FederatedUser.Arn != "arn:aws:sts::123456789012:federated-user/"+name || *out.FederatedUser.FederatedUserId != acct+":"+name {
		t.Fatalf("%s %s", *out.FederatedUser.Arn, *out.FederatedUser.FederatedUserId)
	}
	if d := time.Until(*out.Credentials.Expiration); d < 11*time.Hour || d > 13*time.Hour {
		t.Fatalf("default duration %v", d)
	}
	creds := stsCreds(out.Credentials)
	agentMatrix(t, e, creds)

	who, err := e.sts(temporary(creds)).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || *who.Arn != *out.FederatedUser.Arn {
		t.Fatalf("federated caller identity: %v", err)
	}
	_, err = e.sts(temporary(creds)).GetFederationToken(ctx, &awssts.GetFederationTokenInput{Name: aws.String("again")})
	if code, msg := apiError(t, err); code != "AccessDenied" || msg != "Cannot call GetFederationToken with session credentials" {
		t.Fatalf("from session credentials: %s %s", code, msg)
	}

	// Without a policy a federated user may do nothing.
	out, err = client.GetFederationToken(ctx, &awssts.GetFederationTokenInput{Name: aws.String("CloudWatchSender-empty")})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := apiError(t, call(e.logs(temporary(stsCreds(out.Credentials))), "PutLogEvents", group, job+"@agent1")); code != "AccessDeniedException" {
		t.Fatal("federated user without policy may write")
	}

	// The identity policy limits the names jenkins may federate.
	_, err = client.GetFederationToken(ctx, &awssts.GetFederationTokenInput{Name: aws.String("someone-else")})
	if code, msg := apiError(t, err); code != "AccessDenied" || msg != "User: arn:aws:iam::123456789012:user/jenkins is not authorized to perform: sts:GetFederationToken on resource: arn:aws:sts::123456789012:federated-user/someone-else because no identity-based policy allows the sts:GetFederationToken action" {
		t.Fatalf("%s %s", code, msg)
	}
	_, err = client.GetFederationToken(ctx, &awssts.GetFederationTokenInput{Name: aws.String("x")})
	if code, _ := apiError(t, err); code != "ValidationError" {
		t.Fatalf("short name: %v", err)
	}
	_, err = client.GetFederationToken(ctx, &awssts.GetFederationTokenInput{Name: aws.String("CloudWatchSender-1"), DurationSeconds: aws.Int32(129601)})
	if code, _ := apiError(t, err); code != "ValidationError" {
		t.Fatalf("long duration: %v", err)
	}
	// Root may federate, for at most an hour.
	out, err = e.sts(static(rootKey, rootSecret)).GetFederationToken(ctx, &awssts.GetFederationTokenInput{Name: aws.String("rooted"), Policy: aws.String(jenkinsPolicy(group, job+"@agent1")), DurationSeconds: aws.Int32(7200)})
	if err != nil || time.Until(*out.Credentials.Expiration) > time.Hour+time.Minute {
		t.Fatalf("root federation: %v", err)
	}
}

func TestSessionTokenRefusals(t *testing.T) {
	e := newEnv(t)
	out, err := e.sts(static(jenkinsKey, jenkinsSecret)).GetSessionToken(ctx, &awssts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	good := stsCreds(out.Credentials)
	if err := call(e.logs(temporary(good)), "PutLogEvents", group, "s"); err != nil {
		t.Fatalf("session token has the user's rights: %v", err)
	}
	f := func(name string, c aws.Credentials, code, msg string) {
		t.Helper()
		gotCode, gotMsg := apiError(t, call(e.logs(temporary(c)), "PutLogEvents", group, "s"))
		if gotCode != code || gotMsg != msg {
			t.Errorf("%s: got %s %q", name, gotCode, gotMsg)
		}
	}
	invalid := "The security token included in the request is invalid."

	tampered := good
	b := []byte(tampered.SessionToken)
	b[len(b)/2] ^= 1
	tampered.SessionToken = string(b)
	f("tampered token", tampered, "UnrecognizedClientException", invalid)

	swapped := good
	swapped.AccessKeyID = "ASIA" + strings.Repeat("A", 16)
	f("token with another key", swapped, "UnrecognizedClientException", invalid)

	noToken := good
	noToken.SessionToken = ""
	f("no token", noToken, "UnrecognizedClientException", invalid)

	withToken := aws.Credentials{AccessKeyID: jenkinsKey, SecretAccessKey: jenkinsSecret, SessionToken: good.SessionToken}
	f("token with a long-term key", withToken, "UnrecognizedClientException", invalid)

	expired, err := e.issuer.Issue(sts.Session{Kind: sts.UserSession, Account: acct, ARN: iam.UserARN(acct, "jenkins"), Parent: iam.UserARN(acct, "jenkins"),
		Issued: time.Now().Add(-2 * time.Hour), Expires: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	f("expired token", aws.Credentials{AccessKeyID: expired.AccessKeyID, SecretAccessKey: expired.SecretAccessKey, SessionToken: expired.SessionToken},
		"ExpiredTokenException", "The security token included in the request is expired")
	_, err = e.sts(temporary(aws.Credentials{AccessKeyID: expired.AccessKeyID, SecretAccessKey: expired.SecretAccessKey, SessionToken: expired.SessionToken})).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if code, _ := apiError(t, err); code != "ExpiredToken" {
		t.Errorf("expired token over STS: %v", err)
	}

	_, err = e.sts(temporary(good)).GetSessionToken(ctx, &awssts.GetSessionTokenInput{})
	if code, msg := apiError(t, err); code != "AccessDenied" || msg != "Cannot call GetSessionToken with session credentials" {
		t.Errorf("session from session: %s %s", code, msg)
	}

	// Removing the parent user (a reload) voids its temporary credentials.
	next, err := iam.ParseFile([]byte(strings.Replace(iamFile, "name: jenkins", "name: jenkins2", 1)))
	if err != nil {
		t.Fatal(err)
	}
	e.holder.Swap(next)
	f("parent removed", good, "UnrecognizedClientException", invalid)
}

// TestPresignedGetCallerIdentity uses the SDK's presigner, with temporary
// credentials, the way EKS-style authenticators do.
func TestPresignedGetCallerIdentity(t *testing.T) {
	e := newEnv(t)
	out, err := e.sts(static(jenkinsKey, jenkinsSecret)).GetSessionToken(ctx, &awssts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	pc := awssts.NewPresignClient(e.sts(temporary(stsCreds(out.Credentials))))
	req, err := pc.PresignGetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(req.URL, "X-Amz-Security-Token=") {
		t.Fatalf("presigned URL without token: %s", req.URL)
	}
	hreq, _ := http.NewRequest(req.Method, req.URL, nil)
	for k, v := range req.SignedHeader {
		if k != "Host" {
			hreq.Header[k] = v
		}
	}
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("<Arn>arn:aws:iam::123456789012:user/jenkins</Arn>")) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if resp.Header.Get("x-amzn-RequestId") == "" {
		t.Fatal("no request id")
	}
}

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
	out, err := e.sts(static(jenkinsKey, jenkinsSecret)).AssumeRole(ctx, &awssts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/cloudwatch-sender"), RoleSessionName: aws.String("fmt"),
		Policy: aws.String(jenkinsPolicy(group, job+"@agent1"))})
	if err != nil {
		t.Fatal(err)
	}
	creds := stsCreds(out.Credentials)
	secrets := []string{jenkinsSecret, creds.SecretAccessKey, creds.SessionToken, creds.SessionToken[:24]}

	var things []any
	sign := func(c aws.Credentials, body string) *http.Request {
		var got *http.Request
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			got = r.Clone(context.Background())
			writeJSONError(w, awserr.New(awserr.AccessDenied, "x"))
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
