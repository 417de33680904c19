package server_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cairnlog/cairn/internal/iam"
	"github.com/cairnlog/cairn/internal/server"

	"github.com/cairnlog/cairn/internal/harness"
)

type syncBuffer = harness.SyncBuffer

// debugLog sends the server's log, at debug level, to logs.
func debugLog(logs *syncBuffer) harness.Option {
	return harness.Configure(func(c *server.Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
}

func creds(key, secret string) aws.Credentials {
	return aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}
}

// TestDefaultRootCredentials: with no IAM file the first start writes a root
// key (0600, shared-credentials format) that works, and later starts reuse it.
func TestDefaultRootCredentials(t *testing.T) {
	s := harness.Start(t)
	path, created := s.CredentialsFile()
	if !created || path != filepath.Join(s.Dir, "credentials") {
		t.Fatalf("credentials %q created=%v", path, created)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file mode %v %v", fi.Mode(), err)
	}
	raw, _ := os.ReadFile(path)
	key, secret, err := iam.ReadCredentials(path)
	if !strings.HasPrefix(string(raw), "[default]") || err != nil {
		t.Fatalf("credentials file (%v):\n%s", err, raw)
	}
	ctx := context.Background()
	if _, err := s.ClientAs(creds(key, secret), "us-east-1").CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	_, err = s.ClientAs(creds(key, secret+"x"), "us-east-1").DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
	wantErr(t, err, "InvalidSignatureException", "")
	_, err = s.ClientAs(creds("AKIAUNKNOWNKEY000000", secret), "us-east-1").DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
	wantErr(t, err, "UnrecognizedClientException", "The security token included in the request is invalid.")
	id, err := s.STSClientAs(creds(key, secret), "us-east-1").GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *id.Arn != "arn:aws:iam::000000000000:root" || *id.Account != "000000000000" {
		t.Fatalf("caller identity %+v %v", id, err)
	}
	// auth off refuses a non-loopback address.
	if _, err := server.Start(server.Config{Listen: "0.0.0.0:0", DataDir: t.TempDir(), Auth: "off"}); err == nil {
		t.Fatal("auth off on 0.0.0.0 must be refused")
	}
}

const testIAM = `
accounts:
  - id: "123456789012"
    users:
      - name: jenkins
        accessKeys:
          - id: AKIAJENKINSTEST00001
            secret: "jenkins-secret-0123456789"
        policies:
          - name: all-logs
            document:
              Version: "2012-10-17"
              Statement:
                - Effect: Allow
                  Action: ["logs:*"]
                  Resource: "*"
                - Effect: Allow
                  Action: ["sts:AssumeRole", "sts:GetFederationToken"]
                  Resource: "*"
                - Effect: Deny
                  Action: logs:DeleteLogGroup
                  Resource: "*"
      - name: reader
        accessKeys:
          - id: AKIAREADERTEST000001
            secret: "reader-secret-0123456789"
        policies:
          - name: read
            document:
              Version: "2012-10-17"
              Statement:
                - Effect: Allow
                  Action: ["logs:Describe*", "logs:GetLogEvents", "logs:FilterLogEvents"]
                  Resource: "*"
    roles:
      - name: cloudwatch-sender
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal:
                AWS: "arn:aws:iam::123456789012:user/jenkins"
              Action: sts:AssumeRole
        policies:
          - name: write-build-logs
            document:
              Version: "2012-10-17"
              Statement:
                - Effect: Allow
                  Action: ["logs:PutLogEvents", "logs:GetLogEvents", "logs:CreateLogStream"]
                  Resource: "arn:aws:logs:*:123456789012:log-group:jenkins:*"
`

// jenkinsPolicy is the session policy the Jenkins plugin hands an agent
// (shared/reference/clients.md §1.4).
const jenkinsPolicy = `{"Version": "2012-10-17", "Statement": [
 {"Effect": "Allow", "Action": ["logs:PutLogEvents", "logs:GetLogEvents"],
  "Resource": ["arn:aws:logs:*:*:log-group:jenkins:log-stream:folder/job@agent1"]}]}`

// TestLeastPrivilege runs the JEP-210 flow on the real server: the controller
// assumes a role with the plugin's session policy and the agent's temporary
// credentials reach exactly its own stream.
func TestLeastPrivilege(t *testing.T) {
	logs := &syncBuffer{}
	s := harness.Start(t, harness.WithIAM(testIAM), debugLog(logs))
	ctx := context.Background()
	jenkins := creds("AKIAJENKINSTEST00001", "jenkins-secret-0123456789")
	controller := s.ClientAs(jenkins, "us-east-1")
	harness.CreateGroup(t, controller, "jenkins", "folder/job@master", "folder/job@agent1", "folder/job@agent2")
	_, err := controller.DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("jenkins")})
	wantErr(t, err, "AccessDeniedException",
		"User: arn:aws:iam::123456789012:user/jenkins is not authorized to perform: logs:DeleteLogGroup on resource: arn:aws:logs:us-east-1:123456789012:log-group:jenkins:log-stream: with an explicit deny in an identity-based policy")

	reader := s.ClientAs(creds("AKIAREADERTEST000001", "reader-secret-0123456789"), "us-east-1")
	if _, err := reader.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{}); err != nil {
		t.Fatal(err)
	}
	_, err = reader.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("jenkins"), LogStreamName: aws.String("folder/job@master"),
		LogEvents: []types.InputLogEvent{ev(now(), "x")}})
	wantErr(t, err, "AccessDeniedException",
		"User: arn:aws:iam::123456789012:user/reader is not authorized to perform: logs:PutLogEvents on resource: arn:aws:logs:us-east-1:123456789012:log-group:jenkins:log-stream:folder/job@master because no identity-based policy allows the logs:PutLogEvents action")

	out, err := s.STSClientAs(jenkins, "us-east-1").AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::123456789012:role/cloudwatch-sender"), RoleSessionName: aws.String("CloudWatchSender-4f1c"),
		Policy: aws.String(jenkinsPolicy)})
	if err != nil {
		t.Fatal(err)
	}
	cr := out.Credentials
	session := aws.Credentials{AccessKeyID: *cr.AccessKeyId, SecretAccessKey: *cr.SecretAccessKey, SessionToken: *cr.SessionToken}
	agent := s.ClientAs(session, "us-east-1")
	if _, err := agent.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("jenkins"), LogStreamName: aws.String("folder/job@agent1"),
		LogEvents: []types.InputLogEvent{ev(now(), `{"message":"hello","build":"42","node":"7"}`)}}); err != nil {
		t.Fatalf("agent writes its own stream: %v", err)
	}
	if _, err := agent.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("jenkins"), LogStreamName: aws.String("folder/job@agent1")}); err != nil {
		t.Fatalf("agent reads its own stream: %v", err)
	}
	for name, call := range map[string]func() error{
		"put to another agent's stream": func() error {
			_, err := agent.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("jenkins"), LogStreamName: aws.String("folder/job@agent2"),
				LogEvents: []types.InputLogEvent{ev(now(), "x")}})
			return err
		},
		"read the controller's stream": func() error {
			_, err := agent.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("jenkins"), LogStreamName: aws.String("folder/job@master")})
			return err
		},
		"create a stream (role allows, session policy does not)": func() error {
			_, err := agent.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("jenkins"), LogStreamName: aws.String("x")})
			return err
		},
		"filter the group": func() error {
			_, err := agent.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("jenkins")})
			return err
		},
		"describe groups": func() error {
			_, err := agent.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
			return err
		},
	} {
		if err := call(); err == nil {
			t.Errorf("%s: allowed", name)
		} else {
			wantErr(t, err, "AccessDeniedException", "")
		}
	}
	// A tampered session token is refused.
	tampered := session
	tampered.SessionToken += "x"
	bad := s.ClientAs(tampered, "us-east-1")
	_, err = bad.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("jenkins"), LogStreamName: aws.String("folder/job@agent1")})
	wantErr(t, err, "UnrecognizedClientException", "")

	// No secret key or session token ever reaches the server's log.
	text := logs.String()
	for _, secret := range []string{"jenkins-secret-0123456789", "reader-secret-0123456789", *cr.SecretAccessKey, *cr.SessionToken} {
		if strings.Contains(text, secret) {
			t.Fatalf("a secret reached the server log")
		}
	}

	// SIGHUP reload: a broken file is refused and the old identities stay;
	// a good one takes effect (the reader is gone).
	os.WriteFile(s.IAMFile, []byte("accounts: [ {id: nope} ]"), 0o600)
	if err := s.ReloadIdentities(); err == nil {
		t.Fatal("a broken IAM file was accepted")
	}
	if _, err := reader.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{}); err != nil {
		t.Fatalf("after a refused reload: %v", err)
	}
	os.WriteFile(s.IAMFile, []byte(strings.Replace(testIAM, "AKIAREADERTEST000001", "AKIAREADERTEST000002", 1)), 0o600)
	if err := s.ReloadIdentities(); err != nil {
		t.Fatal(err)
	}
	_, err = reader.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
	wantErr(t, err, "UnrecognizedClientException", "")
}
