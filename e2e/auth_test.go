package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const e2eIAM = `
accounts:
  - id: "123456789012"
    users:
      - name: jenkins
        accessKeys:
          - id: AKIAJENKINSE2E00001
            secret: "jenkins-e2e-secret-0123456789"
        policies:
          - name: all
            document:
              Version: "2012-10-17"
              Statement:
                - {Effect: Allow, Action: ["logs:*", "sts:AssumeRole", "sts:GetFederationToken"], Resource: "*"}
    roles:
      - name: cloudwatch-sender
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            - {Effect: Allow, Principal: {AWS: "arn:aws:iam::123456789012:user/jenkins"}, Action: sts:AssumeRole}
        policies:
          - name: logs
            document:
              Version: "2012-10-17"
              Statement:
                - {Effect: Allow, Action: ["logs:*"], Resource: "*"}
`

// awsEnv runs /usr/bin/aws with exactly the given credentials environment.
func awsEnv(tb testing.TB, env []string, args ...string) (string, string, error) {
	tb.Helper()
	if _, err := os.Stat(awsCLI); err != nil {
		tb.Fatalf("AWS CLI v2 not found at %s (%v): %s", awsCLI, err, installHint)
	}
	dir := tb.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, awsCLI, append([]string{"--output", "json"}, args...)...)
	cmd.Env = append(append(cleanEnv(), "AWS_DEFAULT_REGION=us-east-1", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "config"), "HOME="+dir), env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

// TestAWSCLIWithSigV4 drives the AWS CLI v2 against a server that verifies
// every signature: the generated root key, IAM users, STS AssumeRole with the
// Jenkins plugin's session policy, and the refusals, each with its AWS code.
func TestAWSCLIWithSigV4(t *testing.T) {
	t.Parallel()
	// Default: a root key generated on first start, used through the shared
	// credentials file exactly as the server's log line says.
	root := startServerArgs(t, t.TempDir(), "--auth", "sigv4")
	creds := filepath.Join(root.dir, "credentials")
	if out, errOut, err := awsEnv(t, []string{"AWS_SHARED_CREDENTIALS_FILE=" + creds}, "--endpoint-url", root.url, "logs", "create-log-group", "--log-group-name", "g"); err != nil {
		t.Fatalf("root key: %v\n%s%s", err, out, errOut)
	}
	if _, errOut, err := awsEnv(t, []string{"AWS_ACCESS_KEY_ID=AKIAWRONGKEY0000001", "AWS_SECRET_ACCESS_KEY=nope"}, "--endpoint-url", root.url,
		"logs", "describe-log-groups"); err == nil || !strings.Contains(errOut, "(UnrecognizedClientException)") {
		t.Fatalf("unknown key: %v %s", err, errOut)
	}

	iamFile := filepath.Join(t.TempDir(), "iam.yaml")
	if err := os.WriteFile(iamFile, []byte(e2eIAM), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServerArgs(t, t.TempDir(), "--auth", "sigv4", "--iam", iamFile)
	jenkins := []string{"AWS_ACCESS_KEY_ID=AKIAJENKINSE2E00001", "AWS_SECRET_ACCESS_KEY=jenkins-e2e-secret-0123456789"}
	run := func(env []string, args ...string) string {
		t.Helper()
		out, errOut, err := awsEnv(t, env, args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, errOut)
		}
		return out
	}
	fails := func(code string, env []string, args ...string) {
		t.Helper()
		_, errOut, err := awsEnv(t, env, args...)
		if err == nil || !strings.Contains(errOut, "("+code+")") {
			t.Fatalf("aws %s: want %s, got %v\n%s", strings.Join(args, " "), code, err, errOut)
		}
	}
	logs := func(args ...string) []string { return append([]string{"--endpoint-url", srv.url, "logs"}, args...) }
	sts := func(args ...string) []string { return append([]string{"--endpoint-url", srv.url, "sts"}, args...) }

	run(jenkins, logs("create-log-group", "--log-group-name", "jenkins")...)
	run(jenkins, logs("create-log-stream", "--log-group-name", "jenkins", "--log-stream-name", "job@agent1")...)
	run(jenkins, logs("create-log-stream", "--log-group-name", "jenkins", "--log-stream-name", "job@agent2")...)
	var id struct{ Arn, Account string }
	json.Unmarshal([]byte(run(jenkins, sts("get-caller-identity")...)), &id)
	if id.Arn != "arn:aws:iam::123456789012:user/jenkins" || id.Account != "123456789012" {
		t.Fatalf("caller identity %+v", id)
	}
	fails("InvalidSignatureException", []string{"AWS_ACCESS_KEY_ID=AKIAJENKINSE2E00001", "AWS_SECRET_ACCESS_KEY=wrong-secret"}, logs("describe-log-groups")...)

	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:PutLogEvents","logs:GetLogEvents"],` +
		`"Resource":["arn:aws:logs:*:*:log-group:jenkins:log-stream:job@agent1"]}]}`
	var assumed struct {
		Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken string }
	}
	json.Unmarshal([]byte(run(jenkins, sts("assume-role", "--role-arn", "arn:aws:iam::123456789012:role/cloudwatch-sender",
		"--role-session-name", "CloudWatchSender-e2e", "--policy", policy)...)), &assumed)
	cr := assumed.Credentials
	if !strings.HasPrefix(cr.AccessKeyId, "ASIA") || cr.SessionToken == "" {
		t.Fatalf("assume-role credentials %+v", cr)
	}
	agent := []string{"AWS_ACCESS_KEY_ID=" + cr.AccessKeyId, "AWS_SECRET_ACCESS_KEY=" + cr.SecretAccessKey, "AWS_SESSION_TOKEN=" + cr.SessionToken}
	event := `[{"timestamp":` + strconv.FormatInt(time.Now().UnixMilli(), 10) + `,"message":"{\"message\":\"built\",\"build\":\"42\"}"}]`
	run(agent, logs("put-log-events", "--log-group-name", "jenkins", "--log-stream-name", "job@agent1", "--log-events", event)...)
	run(agent, logs("get-log-events", "--log-group-name", "jenkins", "--log-stream-name", "job@agent1")...)
	fails("AccessDeniedException", agent, logs("put-log-events", "--log-group-name", "jenkins", "--log-stream-name", "job@agent2", "--log-events", event)...)
	fails("AccessDeniedException", agent, logs("describe-log-groups")...)
	fails("UnrecognizedClientException", append(agent[:2:2], "AWS_SESSION_TOKEN="+cr.SessionToken[:len(cr.SessionToken)-4]+"AAAA"), logs("get-log-events",
		"--log-group-name", "jenkins", "--log-stream-name", "job@agent1")...)
	// The controller reads the agent's line back with the plugin's JSON pattern.
	var got struct{ Events []struct{ Message string } }
	json.Unmarshal([]byte(run(jenkins, logs("filter-log-events", "--log-group-name", "jenkins", "--log-stream-name-prefix", "job@",
		"--filter-pattern", `{$.build = "42"}`)...)), &got)
	if len(got.Events) != 1 {
		t.Fatalf("filter after agent write: %+v", got)
	}
}
