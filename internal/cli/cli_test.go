package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/server"
)

func envOf(vars map[string]string) Env {
	return Env{Stdin: strings.NewReader(""), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{},
		Getenv: func(k string) string { return vars[k] }}
}

// TestServerSettings: flags win over CAIRN_* variables, which win over the
// config file, which wins over the defaults; bad values are refused.
func TestServerSettings(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cairn.yaml")
	os.WriteFile(file, []byte("listen: 127.0.0.1:7000\ndata: /from/file\naccount_id: \"111111111111\"\ncompression: default\n"), 0o600)
	f := func(vars map[string]string, args []string, check func(server.Config)) {
		t.Helper()
		cfg, _, err := serverSettings(envOf(vars), args)
		if err != nil {
			t.Fatal(err)
		}
		check(cfg)
	}
	f(nil, nil, func(c server.Config) {
		if c.Listen != DefaultListen || c.DataDir != "cairn-data" || c.AccountID != "000000000000" || c.Auth != "sigv4" || c.Compression != "fastest" || c.RecompactInterval != 0 || c.RecompactAge != 0 {
			t.Fatalf("defaults: %+v", c)
		}
	})
	f(nil, []string{"--recompact-age", "30m", "--recompact-interval", "-1s"}, func(c server.Config) {
		if c.RecompactAge != 30*time.Minute || c.RecompactInterval != -time.Second {
			t.Fatalf("re-compaction flags: %+v", c)
		}
	})
	f(map[string]string{"CAIRN_RECOMPACT_AGE": "-1s", "CAIRN_RECOMPACT_INTERVAL": "1m"}, nil, func(c server.Config) {
		if c.RecompactAge != -time.Second || c.RecompactInterval != time.Minute {
			t.Fatalf("re-compaction variables: %+v", c)
		}
	})
	f(map[string]string{"CAIRN_CONFIG": file}, nil, func(c server.Config) {
		if c.Listen != "127.0.0.1:7000" || c.DataDir != "/from/file" || c.AccountID != "111111111111" || c.Compression != "default" {
			t.Fatalf("config file: %+v", c)
		}
	})
	f(map[string]string{"CAIRN_CONFIG": file, "CAIRN_DATA": "/from/env"}, []string{"--listen", "127.0.0.1:7001"}, func(c server.Config) {
		if c.Listen != "127.0.0.1:7001" || c.DataDir != "/from/env" {
			t.Fatalf("precedence: %+v", c)
		}
	})
	for _, bad := range [][]string{{"--auth", "maybe"}, {"--account-id", "12"}, {"--compression", "max"}, {"stray"}} {
		if _, _, err := serverSettings(envOf(nil), bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	os.WriteFile(file, []byte("listen: x\nunknown_key: 1\n"), 0o600)
	if _, _, err := serverSettings(envOf(map[string]string{"CAIRN_CONFIG": file}), nil); err == nil {
		t.Error("a config file with an unknown key was accepted")
	}
}

// TestRunShipsAndExits runs `cairn run` in-process against a real server:
// the command's exit status comes back, and its lines are stored.
func TestRunShipsAndExits(t *testing.T) {
	s := harness.Start(t)
	vars := map[string]string{"AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": s.URL(), "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": s.Creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY": s.Creds.SecretAccessKey}
	for k, v := range vars {
		t.Setenv(k, v) // the SDK's config loader reads the process environment
	}
	env := envOf(vars)
	code := Run(env, []string{"run", "--group", "ci", "--stream", "build-1", "--json", "--meta", "build=1", "--",
		"sh", "-c", "echo first; echo second >&2; printf last; exit 3"})
	if code != 3 {
		t.Fatalf("exit status %d, want 3; stderr: %s", code, env.Stderr.(*bytes.Buffer).String())
	}
	if out := env.Stdout.(*bytes.Buffer).String(); !strings.Contains(out, "first") || !strings.Contains(out, "last") {
		t.Fatalf("echoed stdout %q", out)
	}
	out, err := s.Client().FilterLogEvents(context.Background(), &cwl.FilterLogEventsInput{LogGroupName: aws.String("ci"), FilterPattern: aws.String(`{$.build = "1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range out.Events {
		got = append(got, *e.Message)
	}
	all := strings.Join(got, "\n")
	if len(got) != 3 || !strings.Contains(all, `"message":"first"`) || !strings.Contains(all, `"message":"last"`) || !strings.Contains(all, `"stream":"stderr"`) {
		t.Fatalf("stored events:\n%s", all)
	}
	if code := Run(envOf(nil), []string{"run"}); code != 2 {
		t.Fatalf("run without a command: exit %d, want 2", code)
	}
	if code := Run(envOf(nil), []string{"nosuch"}); code != 2 {
		t.Fatalf("unknown command: exit %d, want 2", code)
	}
}
