package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/server"
)

// TestBackupDuringWrites: `cairn backup` of a server that is being written
// to; every event acknowledged before the backup began is in the copy, and
// the copy starts as a data directory and serves them.
func TestBackupDuringWrites(t *testing.T) {
	s := harness.Start(t)
	ctx := context.Background()
	c := s.Client()
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("g")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	var acked atomic.Int64 // events acknowledged so far, numbered 1..acked
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := int64(1); ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			_, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"),
				LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String(fmt.Sprintf("event %d", n))}}})
			if err != nil {
				t.Errorf("put %d: %v", n, err)
				return
			}
			acked.Store(n)
		}
	}()
	harness.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		if acked.Load() < 50 {
			return errors.New("writer not started")
		}
		return nil
	})
	vars := map[string]string{"AWS_ENDPOINT_URL": s.URL(), "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": s.Creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY": s.Creds.SecretAccessKey}
	for k, v := range vars {
		t.Setenv(k, v)
	}
	before := acked.Load()
	dir := filepath.Join(t.TempDir(), "backup")
	env := envOf(vars)
	if code := Run(env, []string{"backup", "--to", dir}); code != 0 {
		t.Fatalf("backup: exit %d: %s", code, env.Stderr.(*bytes.Buffer))
	}
	after := acked.Load()
	close(stop)
	wg.Wait()
	// A second backup into the same directory is refused.
	env = envOf(vars)
	if code := Run(env, []string{"backup", "--to", dir}); code != 1 || !strings.Contains(env.Stderr.(*bytes.Buffer).String(), "exists already") {
		t.Fatalf("backup into an existing directory: exit %d: %s", code, env.Stderr.(*bytes.Buffer))
	}
	// Modes: the directory 0700, every file 0600 (the credentials too).
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("backup directory: %v %v", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	sawCreds := false
	for _, e := range entries {
		fi, _ := e.Info()
		if fi.Mode().IsRegular() && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %04o", e.Name(), fi.Mode().Perm())
		}
		sawCreds = sawCreds || e.Name() == "credentials"
	}
	if !sawCreds {
		t.Fatalf("the credentials file is not in the backup: %v", entries)
	}
	// The copy opens as a data directory of its own, with the same root key.
	s.Stop()
	copySrv := harness.Start(t, harness.InDir(dir))
	if copySrv.Creds != s.Creds {
		t.Fatal("the copy's root credentials differ")
	}
	got := map[string]bool{}
	p := cwl.NewGetLogEventsPaginator(copySrv.Client(), &cwl.GetLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Events) == 0 {
			break
		}
		for _, e := range out.Events {
			got[*e.Message] = true
		}
	}
	for n := int64(1); n <= before; n++ {
		if !got[fmt.Sprintf("event %d", n)] {
			t.Fatalf("event %d, acknowledged before the backup, is not in the copy (%d events there)", n, len(got))
		}
	}
	if int64(len(got)) > after+1 {
		t.Fatalf("the copy holds %d events; only %d were acknowledged when the backup ended", len(got), after)
	}
	t.Logf("acknowledged before the backup %d, in the copy %d, acknowledged when it ended %d", before, len(got), after)
}

// TestBackupRefusals: the admin endpoint needs a signed request by a caller
// allowed cairn:Backup.
func TestBackupRefusals(t *testing.T) {
	s := harness.Start(t)
	vars := map[string]string{"AWS_ENDPOINT_URL": s.URL(), "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": s.Creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY": "wrong-secret"}
	for k, v := range vars {
		t.Setenv(k, v)
	}
	env := envOf(vars)
	dir := filepath.Join(t.TempDir(), "b")
	if code := Run(env, []string{"backup", "--to", dir}); code != 1 || !strings.Contains(env.Stderr.(*bytes.Buffer).String(), "InvalidSignatureException") {
		t.Fatalf("backup with a wrong secret: exit %d: %s", code, env.Stderr.(*bytes.Buffer))
	}
	if _, err := os.Stat(dir); err == nil {
		t.Fatal("a refused backup wrote the directory")
	}
}

// TestLogFormatJSON: --log-format json writes one JSON object a line,
// including the debug request line.
func TestLogFormatJSON(t *testing.T) {
	cfg, level, err := serverSettings(envOf(map[string]string{"CAIRN_LOG_FORMAT": "json"}), []string{"--log-level", "debug"})
	if err != nil || cfg.LogFormat != "json" || level != "debug" {
		t.Fatalf("settings %q %q %v", cfg.LogFormat, level, err)
	}
	if _, _, err := serverSettings(envOf(nil), []string{"--log-format", "xml"}); err == nil {
		t.Fatal("--log-format xml accepted")
	}
	var buf syncBuf
	s := harness.Start(t, harness.Configure(func(c *server.Config) { c.Logger = slog.New(logHandler("json", &buf, slog.LevelDebug)) }))
	if _, err := s.Client().DescribeLogGroups(context.Background(), &cwl.DescribeLogGroupsInput{}); err != nil {
		t.Fatal(err)
	}
	harness.CheckFor(t, 5*time.Second, 10*time.Millisecond, func() error {
		sc := bufio.NewScanner(strings.NewReader(buf.String()))
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				return fmt.Errorf("not a JSON line: %q", sc.Text())
			}
			if m["msg"] == "request" && m["op"] == "DescribeLogGroups" && m["level"] == "DEBUG" && m["status"] == float64(200) &&
				strings.HasSuffix(fmt.Sprint(m["principal"]), ":root") {
				return nil
			}
		}
		return errors.New("no JSON request line yet")
	})
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

const credsIAM = `
accounts:
  - id: "123456789012"
    root:
      accessKeys:
        - id: AKIAROOTTEST00000001
          secret: "root-secret-0123456789"
    roles:
      - name: ci
        trustPolicy:
          Version: "2012-10-17"
          Statement:
            - Effect: Allow
              Principal:
                AWS: "arn:aws:iam::123456789012:root"
              Action: sts:AssumeRole
        policies:
          - name: logs
            document:
              Version: "2012-10-17"
              Statement:
                - Effect: Allow
                  Action: ["logs:*"]
                  Resource: "*"
`

// TestCredsCredentialProcess: `cairn creds --format process` as the
// credential_process of an AWS profile. The server's clock runs 14m55s
// behind (within SigV4's 15-minute skew), so AssumeRole's shortest session
// (900 s) expires about 5 s after it is issued: the AWS CLI v2 writes with
// the profile, a write outside the stream prefix is AccessDenied, and
// `cairn run` keeps shipping across the expiry because the SDK runs the
// process again (counted in a file).
func TestCredsCredentialProcess(t *testing.T) {
	if _, err := os.Stat("/usr/bin/aws"); err != nil {
		t.Fatalf("the AWS CLI v2 is needed at /usr/bin/aws: %v (scripts/test.sh installs it)", err)
	}
	behind := func() time.Time { return time.Now().Add(-(14*time.Minute + 55*time.Second)) }
	s := harness.Start(t, harness.WithIAM(credsIAM), harness.WithClock(behind), harness.Configure(func(c *server.Config) { c.AccountID = "123456789012" }))
	ctx := context.Background()
	admin := s.ClientAs(aws.Credentials{AccessKeyID: "AKIAROOTTEST00000001", SecretAccessKey: "root-secret-0123456789"}, "us-east-1")
	if _, err := admin.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("ci")}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	count := filepath.Join(dir, "invocations")
	script := filepath.Join(dir, "creds.sh")
	os.WriteFile(script, []byte(fmt.Sprintf("#!/bin/sh\necho x >> %s\nCAIRN_TEST_AS_CAIRN=1 exec %s creds --profile controller --endpoint %s --role arn:aws:iam::123456789012:role/ci --group ci --stream-prefix build- --duration 15m --format process\n",
		count, self, s.URL())), 0o700)
	cfgFile, credFile := filepath.Join(dir, "config"), filepath.Join(dir, "credentials")
	os.WriteFile(cfgFile, []byte("[profile ci]\nregion = us-east-1\ncredential_process = "+script+"\n[profile controller]\nregion = us-east-1\n"), 0o600)
	os.WriteFile(credFile, []byte("[controller]\naws_access_key_id = AKIAROOTTEST00000001\naws_secret_access_key = root-secret-0123456789\n"), 0o600)
	awsEnv := []string{"AWS_CONFIG_FILE=" + cfgFile, "AWS_SHARED_CREDENTIALS_FILE=" + credFile, "AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true", "HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	awsCLI := func(args ...string) (string, error) {
		cmd := exec.Command("/usr/bin/aws", append([]string{"--profile", "ci", "--endpoint-url", s.URL(), "--output", "json", "logs"}, args...)...)
		cmd.Env = awsEnv
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := awsCLI("create-log-stream", "--log-group-name", "ci", "--log-stream-name", "build-1"); err != nil {
		t.Fatalf("aws create-log-stream in the prefix: %v\n%s", err, out)
	}
	ts := fmt.Sprint(time.Now().UnixMilli())
	if out, err := awsCLI("put-log-events", "--log-group-name", "ci", "--log-stream-name", "build-1", "--log-events", "timestamp="+ts+",message=from-aws-cli"); err != nil {
		t.Fatalf("aws put-log-events in the prefix: %v\n%s", err, out)
	}
	if _, err := admin.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("ci"), LogStreamName: aws.String("deploy")}); err != nil {
		t.Fatal(err)
	}
	out, err := awsCLI("put-log-events", "--log-group-name", "ci", "--log-stream-name", "deploy", "--log-events", "timestamp="+ts+",message=x")
	if err == nil || !strings.Contains(out, "AccessDeniedException") {
		t.Fatalf("aws put-log-events outside the prefix: %v\n%s", err, out)
	}

	// cairn run across the expiry: the command prints until the process
	// has been run again (the SDK refreshed), then a few lines more.
	for _, kv := range awsEnv[:4] {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_PROFILE", "ci")
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	os.Remove(count)
	env := envOf(map[string]string{"AWS_PROFILE": "ci", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": s.URL(), "AWS_REGION": "us-east-1"})
	cmd := fmt.Sprintf(`i=0; while [ "$(wc -l < %s 2>/dev/null || echo 0)" -lt 2 ] && [ $i -lt 300 ]; do i=$((i+1)); echo "line $i"; sleep 0.1; done; for j in 1 2 3; do i=$((i+1)); echo "line $i"; sleep 0.2; done; echo "total $i"`, count)
	if code := Run(env, []string{"run", "--group", "ci", "--stream", "build-7", "--", "sh", "-c", cmd}); code != 0 {
		t.Fatalf("cairn run: exit %d\n%s", code, env.Stderr.(*bytes.Buffer))
	}
	raw, _ := os.ReadFile(count)
	if n := strings.Count(string(raw), "x"); n < 2 {
		t.Fatalf("credential_process ran %d times during the run; the credentials were not refreshed", n)
	}
	printed := env.Stdout.(*bytes.Buffer).String()
	var total int
	fmt.Sscanf(printed[strings.LastIndex(printed, "total "):], "total %d", &total)
	got := map[string]bool{}
	p := cwl.NewGetLogEventsPaginator(admin, &cwl.GetLogEventsInput{LogGroupName: aws.String("ci"), LogStreamName: aws.String("build-7"), StartFromHead: aws.Bool(true)})
	for p.HasMorePages() {
		o, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(o.Events) == 0 {
			break
		}
		for _, e := range o.Events {
			got[*e.Message] = true
		}
	}
	for i := 1; i <= total; i++ {
		if !got[fmt.Sprintf("line %d", i)] {
			t.Fatalf("line %d of %d was not shipped (%d stored)", i, total, len(got))
		}
	}
	t.Logf("%d lines shipped; credential_process ran %d times", total, strings.Count(string(raw), "x"))
}
