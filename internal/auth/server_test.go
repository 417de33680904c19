package auth_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	awssts "github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/cairnlog/cairn/internal/auth"
	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/iam"
	"github.com/cairnlog/cairn/internal/leakcheck"
	"github.com/cairnlog/cairn/internal/sts"
)

// These tests run authentication and authorization end to end on the real
// server (harness.Start with the fixture's IAM file): SigV4, STS and the
// policies of every operation, as a client sees them. The white-box tests
// of the Authenticator are in package auth.

func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m, "cairnlog/cairn/internal/")) }

// The fixture's identities (fixture_test.go).
const (
	acct          = auth.FixtureAccount
	region        = auth.FixtureRegion
	group         = auth.FixtureGroup
	job           = auth.FixtureJob
	iamFile       = auth.FixtureIAM
	jenkinsKey    = auth.FixtureJenkinsKey
	jenkinsSecret = auth.FixtureJenkinsSecret
	nobodyKey     = auth.FixtureNobodyKey
	nobodySecret  = auth.FixtureNobodySecret
	rootKey       = auth.FixtureRootKey
	rootSecret    = auth.FixtureRootSecret
	officeKey     = auth.FixtureOfficeKey
	officeSecret  = auth.FixtureOfficeSecret
)

// newServer starts the real server on the fixture's identities, with the
// groups and streams the tests write to (in region, made by root): an
// operation allowed by policy then succeeds, and one refused is refused by
// policy, before any lookup.
func newServer(tb testing.TB) *harness.Server {
	tb.Helper()
	s := harness.Start(tb, harness.WithIAM(iamFile))
	root := s.ClientAs(static(rootKey, rootSecret), region)
	for g, streams := range map[string][]string{group: {job + "@master", job + "@agent1", job + "@agent2", "s"}, "g": {"s"}} {
		if err := call(root, "CreateLogGroup", g, ""); err != nil {
			tb.Fatal(err)
		}
		for _, st := range streams {
			if err := call(root, "CreateLogStream", g, st); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return s
}

// serverIssuer mints tokens with the server's own key, for credentials no
// API call gives (an expired session).
func serverIssuer(tb testing.TB, s *harness.Server) *sts.Issuer {
	tb.Helper()
	key, err := sts.LoadOrCreateKey(s.Dir)
	if err != nil {
		tb.Fatal(err)
	}
	issuer, err := sts.NewIssuer(key, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return issuer
}

func static(key, secret string) aws.Credentials {
	return aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}
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
	s := newServer(t)
	jenkins := s.ClientAs(static(jenkinsKey, jenkinsSecret), region)
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

	nobody := s.ClientAs(static(nobodyKey, nobodySecret), region)
	f(nobody, "PutLogEvents", group, "s", "AccessDeniedException", "")

	root := s.ClientAs(static(rootKey, rootSecret), region)
	f(root, "DeleteLogGroup", group, "", "", "")

	f(s.ClientAs(static(jenkinsKey, "not-the-secret-at-all-xxxxxxxxxx"), region), "PutLogEvents", group, "s", "InvalidSignatureException",
		"The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	f(s.ClientAs(static("AKIAUNKNOWNEXAMPLE01", jenkinsSecret), region), "PutLogEvents", group, "s", "UnrecognizedClientException",
		"The security token included in the request is invalid.")
	f(s.ClientAs(aws.Credentials{}, region, func(o *cloudwatchlogs.Options) { o.Credentials = aws.AnonymousCredentials{} }), "PutLogEvents", group, "s", "MissingAuthenticationTokenException", "")
}

// TestConditionsThroughAuthorize runs IpAddress and aws:RequestedRegion
// conditions with the values Authenticate and RequestContextOf produce.
func TestConditionsThroughAuthorize(t *testing.T) {
	s := newServer(t)
	office := s.ClientAs(static(officeKey, officeSecret), region)
	if err := call(office, "PutLogEvents", "g", "s"); err != nil {
		t.Fatalf("from loopback, eu-west-1: %v", err)
	}
	other := s.ClientAs(static(officeKey, officeSecret), "us-east-1")
	if code, _ := apiError(t, call(other, "PutLogEvents", "g", "s")); code != "AccessDeniedException" {
		t.Fatalf("us-east-1: %s", code)
	}
}

func TestGetCallerIdentity(t *testing.T) {
	s := newServer(t)
	out, err := s.STSClientAs(static(jenkinsKey, jenkinsSecret), region).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if *out.Account != acct || *out.Arn != "arn:aws:iam::123456789012:user/jenkins" || !strings.HasPrefix(*out.UserId, "AIDA") {
		t.Fatalf("%s %s %s", *out.Account, *out.Arn, *out.UserId)
	}
	out, err = s.STSClientAs(static(rootKey, rootSecret), region).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || *out.Arn != "arn:aws:iam::123456789012:root" || *out.UserId != acct {
		t.Fatalf("root: %v %+v", err, out)
	}
	_, err = s.STSClientAs(static(jenkinsKey, "wrong-secret-wrong-secret-wrong-secret"), region).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if code, _ := apiError(t, err); code != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret over STS: %v", err)
	}
}

// agentMatrix checks that credentials scoped by the Jenkins session policy
// to JOB@agent1 may PutLogEvents and GetLogEvents on that stream and nothing
// else. denyWhy is the expected reason for refusals the parent would allow.
func agentMatrix(t *testing.T, s *harness.Server, creds aws.Credentials) {
	t.Helper()
	c := s.ClientAs(creds, region)
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
	s := newServer(t)
	client := s.STSClientAs(static(jenkinsKey, jenkinsSecret), region)
	session := "CloudWatchSender-0f8e2a4c-5b1d-4e8a-9c3f-2d7b6a1e9f00" // the plugin's name: prefix + UUID
	out, err := client.AssumeRole(ctx, &awssts.AssumeRoleInput{
		RoleArn:         aws.String("arn:aws:iam::123456789012:role/cloudwatch-sender"),
		RoleSessionName: aws.String(session),
		Policy:          aws.String(auth.FixturePolicy(group, job+"@agent1")),
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
	agentMatrix(t, s, creds)

	who, err := s.STSClientAs(creds, region).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || *who.Arn != *out.AssumedRoleUser.Arn || *who.UserId != *out.AssumedRoleUser.AssumedRoleId {
		t.Fatalf("caller identity of the session: %v %+v", err, who)
	}

	// Without a session policy the session has the role's rights.
	out, err = client.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/cloudwatch-sender"), RoleSessionName: aws.String("full"), DurationSeconds: aws.Int32(7200)})
	if err != nil {
		t.Fatal(err)
	}
	if err := call(s.ClientAs(stsCreds(out.Credentials), region), "CreateLogGroup", "jenkins-x", ""); err != nil {
		t.Fatalf("role session without policy: %v", err)
	}

	// The plugin's other path: controller holds session credentials.
	st, err := client.GetSessionToken(ctx, &awssts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	chained := s.STSClientAs(stsCreds(st.Credentials), region)
	out, err = chained.AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/cloudwatch-sender"), RoleSessionName: aws.String("from-session"), Policy: aws.String(auth.FixturePolicy(group, job+"@agent1"))})
	if err != nil {
		t.Fatalf("assume role with session credentials: %v", err)
	}
	agentMatrix(t, s, stsCreds(out.Credentials))
}

func TestAssumeRoleRefusals(t *testing.T) {
	s := newServer(t)
	role := aws.String("arn:aws:iam::123456789012:role/cloudwatch-sender")
	f := func(creds aws.Credentials, in *awssts.AssumeRoleInput, code, msg string) {
		t.Helper()
		_, err := s.STSClientAs(creds, region).AssumeRole(ctx, in)
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
	out, err := s.STSClientAs(jenkins, region).AssumeRole(ctx, &awssts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("s1")})
	if err != nil {
		t.Fatal(err)
	}
	// The role does not trust its own sessions, so chaining onto itself is refused.
	f(stsCreds(out.Credentials), &awssts.AssumeRoleInput{RoleArn: role, RoleSessionName: aws.String("s2")}, "AccessDenied", "")
}

func TestGetFederationTokenJenkins(t *testing.T) {
	s := newServer(t)
	client := s.STSClientAs(static(jenkinsKey, jenkinsSecret), region)
	// The plugin names the user "CloudWatchSender-<uuid>" (53 characters),
	// beyond the API's 32: AWS refuses that, and so do we.
	_, err := client.GetFederationToken(ctx, &awssts.GetFederationTokenInput{Name: aws.String("CloudWatchSender-0f8e2a4c-5b1d-4e8a-9c3f-2d7b6a1e9f00"), Policy: aws.String(auth.FixturePolicy(group, job+"@agent1"))})
	if code, _ := apiError(t, err); code != "ValidationError" {
		t.Fatalf("53-character name: %v", err)
	}
	name := "CloudWatchSender-0f8e2a4c5b1d4e8"
	out, err := client.GetFederationToken(ctx, &awssts.GetFederationTokenInput{Name: aws.String(name), Policy: aws.String(auth.FixturePolicy(group, job+"@agent1"))})
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
	agentMatrix(t, s, creds)

	who, err := s.STSClientAs(creds, region).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil || *who.Arn != *out.FederatedUser.Arn {
		t.Fatalf("federated caller identity: %v", err)
	}
	_, err = s.STSClientAs(creds, region).GetFederationToken(ctx, &awssts.GetFederationTokenInput{Name: aws.String("again")})
	if code, msg := apiError(t, err); code != "AccessDenied" || msg != "Cannot call GetFederationToken with session credentials" {
		t.Fatalf("from session credentials: %s %s", code, msg)
	}

	// Without a policy a federated user may do nothing.
	out, err = client.GetFederationToken(ctx, &awssts.GetFederationTokenInput{Name: aws.String("CloudWatchSender-empty")})
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := apiError(t, call(s.ClientAs(stsCreds(out.Credentials), region), "PutLogEvents", group, job+"@agent1")); code != "AccessDeniedException" {
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
	out, err = s.STSClientAs(static(rootKey, rootSecret), region).GetFederationToken(ctx, &awssts.GetFederationTokenInput{Name: aws.String("rooted"), Policy: aws.String(auth.FixturePolicy(group, job+"@agent1")), DurationSeconds: aws.Int32(7200)})
	if err != nil || time.Until(*out.Credentials.Expiration) > time.Hour+time.Minute {
		t.Fatalf("root federation: %v", err)
	}
}

func TestSessionTokenRefusals(t *testing.T) {
	s := newServer(t)
	out, err := s.STSClientAs(static(jenkinsKey, jenkinsSecret), region).GetSessionToken(ctx, &awssts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	good := stsCreds(out.Credentials)
	if err := call(s.ClientAs(good, region), "PutLogEvents", group, "s"); err != nil {
		t.Fatalf("session token has the user's rights: %v", err)
	}
	f := func(name string, c aws.Credentials, code, msg string) {
		t.Helper()
		gotCode, gotMsg := apiError(t, call(s.ClientAs(c, region), "PutLogEvents", group, "s"))
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

	expired, err := serverIssuer(t, s).Issue(sts.Session{Kind: sts.UserSession, Account: acct, ARN: iam.UserARN(acct, "jenkins"), Parent: iam.UserARN(acct, "jenkins"),
		Issued: time.Now().Add(-2 * time.Hour), Expires: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	f("expired token", aws.Credentials{AccessKeyID: expired.AccessKeyID, SecretAccessKey: expired.SecretAccessKey, SessionToken: expired.SessionToken},
		"ExpiredTokenException", "The security token included in the request is expired")
	_, err = s.STSClientAs(aws.Credentials{AccessKeyID: expired.AccessKeyID, SecretAccessKey: expired.SecretAccessKey, SessionToken: expired.SessionToken}, region).GetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if code, _ := apiError(t, err); code != "ExpiredToken" {
		t.Errorf("expired token over STS: %v", err)
	}

	_, err = s.STSClientAs(good, region).GetSessionToken(ctx, &awssts.GetSessionTokenInput{})
	if code, msg := apiError(t, err); code != "AccessDenied" || msg != "Cannot call GetSessionToken with session credentials" {
		t.Errorf("session from session: %s %s", code, msg)
	}

	// Removing the parent user (a reload) voids its temporary credentials.
	if err := os.WriteFile(s.IAMFile, []byte(strings.Replace(iamFile, "name: jenkins", "name: jenkins2", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.ReloadIdentities(); err != nil {
		t.Fatal(err)
	}
	f("parent removed", good, "UnrecognizedClientException", invalid)
}

// TestPresignedGetCallerIdentity presigns GetCallerIdentity with temporary
// credentials (the token travels in the URL), as identity-proof schemes do,
// and sends the URL.
//
// This one is presigned for POST with the SDK's signer;
// TestPresignedGetCallerIdentityGET sends what the SDK's STS presigner makes.
func TestPresignedGetCallerIdentity(t *testing.T) {
	s := newServer(t)
	out, err := s.STSClientAs(static(jenkinsKey, jenkinsSecret), region).GetSessionToken(ctx, &awssts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	hreq, _ := http.NewRequest(http.MethodPost, s.URL()+"/?Action=GetCallerIdentity&Version=2011-06-15", nil)
	hreq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	url, signed, err := v4.NewSigner().PresignHTTP(ctx, stsCreds(out.Credentials), hreq, emptySHA256, "sts", region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(url, "X-Amz-Security-Token=") {
		t.Fatalf("presigned URL without token: %s", url)
	}
	hreq, _ = http.NewRequest(http.MethodPost, url, nil)
	for k, v := range signed {
		if k != "Host" {
			hreq.Header[k] = v
		}
	}
	resp, err := s.HTTPClient().Do(hreq)
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

// TestPresignedGetCallerIdentityGET sends the URL the SDK's own STS presigner
// makes, a GET, as EKS-style authenticators do; AWS STS serves it, and so
// does Cairn. The same URL sent with another Action is refused.
func TestPresignedGetCallerIdentityGET(t *testing.T) {
	s := newServer(t)
	p, err := awssts.NewPresignClient(s.STSClientAs(static(jenkinsKey, jenkinsSecret), region)).
		PresignGetCallerIdentity(ctx, &awssts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Method != http.MethodGet {
		t.Fatalf("the SDK presigned %s, want GET", p.Method)
	}
	send := func(url string) (int, []byte) {
		t.Helper()
		hreq, _ := http.NewRequest(p.Method, url, nil)
		for k, v := range p.SignedHeader {
			if k != "Host" {
				hreq.Header[k] = v
			}
		}
		resp, err := s.HTTPClient().Do(hreq)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	if code, body := send(p.URL); code != 200 || !bytes.Contains(body, []byte("<Arn>arn:aws:iam::123456789012:user/jenkins</Arn>")) {
		t.Fatalf("%d %s", code, body)
	}
	other := strings.Replace(p.URL, "Action=GetCallerIdentity", "Action=GetSessionToken", 1)
	if code, body := send(other); code != 403 || !bytes.Contains(body, []byte("<Code>SignatureDoesNotMatch</Code>")) {
		t.Fatalf("URL replayed for another Action: %d %s", code, body)
	}
}
