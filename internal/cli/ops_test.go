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
	"github.com/aws/smithy-go"

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
func (s *syncBuf) String() string             { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

var _ = smithy.GenericAPIError{}
var _ = exec.Command
