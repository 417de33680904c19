package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/server"
)

// TestServerTLSSettings: the TLS settings follow flags > env > file, and
// contradictory ones are refused.
func TestServerTLSSettings(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cairn.yaml")
	os.WriteFile(file, []byte("tls_cert: /file/cert.pem\ntls_key: /file/key.pem\ninsecure_http: true\npprof_listen: 127.0.0.1:7777\n"), 0o600)
	f := func(vars map[string]string, args []string, check func(server.Config)) {
		t.Helper()
		cfg, _, err := serverSettings(envOf(vars), args)
		if err != nil {
			t.Fatal(err)
		}
		check(cfg)
	}
	f(nil, nil, func(c server.Config) {
		if c.TLSCertFile != "" || c.TLSKeyFile != "" || c.TLSSelfSigned || c.InsecureHTTP || c.PprofListen != "" {
			t.Fatalf("defaults: %+v", c)
		}
	})
	f(map[string]string{"CAIRN_CONFIG": file}, nil, func(c server.Config) {
		if c.TLSCertFile != "/file/cert.pem" || c.TLSKeyFile != "/file/key.pem" || !c.InsecureHTTP || c.PprofListen != "127.0.0.1:7777" {
			t.Fatalf("config file: %+v", c)
		}
	})
	f(map[string]string{"CAIRN_CONFIG": file, "CAIRN_TLS_CERT": "/env/cert.pem", "CAIRN_INSECURE_HTTP": "0"}, []string{"--tls-key", "/flag/key.pem"},
		func(c server.Config) {
			if c.TLSCertFile != "/env/cert.pem" || c.TLSKeyFile != "/flag/key.pem" || c.InsecureHTTP {
				t.Fatalf("precedence: %+v", c)
			}
		})
	f(map[string]string{"CAIRN_TLS_SELF_SIGNED": "1", "CAIRN_INSECURE_HTTP": "true"}, []string{"--insecure-http=false"}, func(c server.Config) {
		if !c.TLSSelfSigned || c.InsecureHTTP {
			t.Fatalf("booleans: %+v", c)
		}
	})
	for _, bad := range []struct {
		vars map[string]string
		args []string
	}{
		{nil, []string{"--tls-cert", "c.pem"}},
		{nil, []string{"--tls-key", "k.pem"}},
		{nil, []string{"--tls-self-signed", "--tls-cert", "c.pem", "--tls-key", "k.pem"}},
		{map[string]string{"CAIRN_TLS_SELF_SIGNED": "yes please"}, nil},
	} {
		if _, _, err := serverSettings(envOf(bad.vars), bad.args); err == nil {
			t.Errorf("%v %v accepted", bad.vars, bad.args)
		}
	}
}

// TestLogsCAFile runs `cairn logs groups` in-process against a real HTTPS
// server with a self-signed certificate: it works with --ca-file or
// AWS_CA_BUNDLE, fails without, and a CA file without a certificate is
// refused with a clear error.
func TestLogsCAFile(t *testing.T) {
	s := harness.Start(t, harness.Configure(func(c *server.Config) { c.TLSSelfSigned = true }))
	vars := map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": s.Creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY": s.Creds.SecretAccessKey,
		"AWS_CONFIG_FILE": filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(t.TempDir(), "none"),
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1", "AWS_CA_BUNDLE": ""}
	for k, v := range vars {
		t.Setenv(k, v) // the SDK's config loader reads the process environment
	}
	run := func(extra map[string]string, args ...string) (int, string, string) {
		t.Helper()
		env := map[string]string{}
		for k, v := range vars {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
			t.Setenv(k, v)
		}
		e := envOf(env)
		code := Run(e, append([]string{"logs"}, args...))
		return code, e.Stdout.(*bytes.Buffer).String(), e.Stderr.(*bytes.Buffer).String()
	}
	cert := s.TLS().CertFile

	// Create a group to list, through `cairn run`, trusting the file.
	if code, _, errOut := run(nil); code != 2 {
		t.Fatalf("logs without a command: %d %s", code, errOut)
	}
	env := envOf(vars)
	if code := Run(env, []string{"run", "--endpoint", s.URL(), "--ca-file", cert, "--group", "tls-group", "--", "echo", "over TLS"}); code != 0 {
		t.Fatalf("run --ca-file: exit %d: %s", code, env.Stderr.(*bytes.Buffer).String())
	}

	code, out, errOut := run(nil, "groups", "--endpoint", s.URL(), "--ca-file", cert)
	if code != 0 || !strings.Contains(out, "tls-group") {
		t.Fatalf("groups --ca-file: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	code, out, errOut = run(map[string]string{"AWS_CA_BUNDLE": cert}, "groups", "--endpoint", s.URL())
	if code != 0 || !strings.Contains(out, "tls-group") {
		t.Fatalf("groups with AWS_CA_BUNDLE: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	t.Setenv("AWS_CA_BUNDLE", "")
	code, _, errOut = run(nil, "groups", "--endpoint", s.URL())
	if code == 0 || !strings.Contains(errOut, "certificate") {
		t.Fatalf("groups without a CA file: exit %d, stderr: %s", code, errOut)
	}
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	os.WriteFile(notPEM, []byte("hello\n"), 0o600)
	code, _, errOut = run(nil, "groups", "--endpoint", s.URL(), "--ca-file", notPEM)
	if code == 0 || !strings.Contains(errOut, "no PEM certificate") {
		t.Fatalf("groups --ca-file not-a-pem: exit %d, stderr: %s", code, errOut)
	}
	// The agent's config file key feeds the same check.
	agentCfg := filepath.Join(t.TempDir(), "agent.yaml")
	os.WriteFile(agentCfg, []byte("endpoint: "+s.URL()+"\nca_file: "+notPEM+"\nstate_dir: "+t.TempDir()+"\n"), 0o600)
	env = envOf(vars)
	if code := Run(env, []string{"agent", "--config", agentCfg}); code != 1 || !strings.Contains(env.Stderr.(*bytes.Buffer).String(), "no PEM certificate") {
		t.Fatalf("agent with ca_file not-a-pem: exit %d, stderr: %s", code, env.Stderr.(*bytes.Buffer).String())
	}
}
