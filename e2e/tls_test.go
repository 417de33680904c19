package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// httpClient is a client for the server's own endpoints: plain, or trusting
// the self-signed certificate in its data directory.
func (s *server) httpClient() *http.Client {
	if !strings.HasPrefix(s.url, "https://") {
		return http.DefaultClient
	}
	pem, err := os.ReadFile(filepath.Join(s.dir, "tls-cert.pem"))
	if err != nil {
		s.tb.Fatalf("server serves HTTPS without a self-signed certificate in its data directory: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// waitLog polls the server's output for a line containing want.
func (s *server) waitLog(want string) string {
	s.tb.Helper()
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(s.out.String(), "\n") {
			if strings.Contains(line, want) {
				return line
			}
		}
		select {
		case <-s.exited:
			s.tb.Fatalf("cairn exited while the test waited for %q", want)
		case <-time.After(20 * time.Millisecond):
		}
	}
	s.tb.Fatalf("cairn did not log %q within %v", want, startTimeout)
	return ""
}

// TestAWSCLIOverTLS runs the real AWS CLI against a SigV4 server with a
// self-signed certificate, trusted through AWS_CA_BUNDLE as the server's log
// line says; without it the CLI refuses the certificate. SIGHUP reloads the
// pair, and plain HTTP off loopback is refused at start.
func TestAWSCLIOverTLS(t *testing.T) {
	t.Parallel()
	srv := startServerArgs(t, t.TempDir(), "--auth", "sigv4", "--tls-self-signed")
	if !strings.HasPrefix(srv.url, "https://127.0.0.1:") {
		t.Fatalf("endpoint %q, want https://", srv.url)
	}
	cert := filepath.Join(srv.dir, "tls-cert.pem")
	hint := srv.waitLog("self-signed certificate")
	if !strings.Contains(hint, "AWS_CA_BUNDLE="+cert) || !strings.Contains(hint, "--ca-file "+cert) || len(logField(hint, "sha256")) != 95 {
		t.Fatalf("trust hint: %s", hint)
	}
	env := []string{"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(srv.dir, "credentials"), "AWS_CA_BUNDLE=" + cert}
	if out, errOut, err := awsEnv(t, env, "--endpoint-url", srv.url, "logs", "create-log-group", "--log-group-name", "tls"); err != nil {
		t.Fatalf("create-log-group over TLS: %v\n%s%s", err, out, errOut)
	}
	out, errOut, err := awsEnv(t, env, "--endpoint-url", srv.url, "logs", "describe-log-groups")
	var groups struct {
		LogGroups []struct{ LogGroupName string }
	}
	if err != nil || json.Unmarshal([]byte(out), &groups) != nil || len(groups.LogGroups) != 1 || groups.LogGroups[0].LogGroupName != "tls" {
		t.Fatalf("describe-log-groups over TLS: %v\n%s%s", err, out, errOut)
	}
	_, errOut, err = awsEnv(t, env[:1], "--endpoint-url", srv.url, "logs", "describe-log-groups")
	if err == nil || !strings.Contains(errOut, "CERTIFICATE_VERIFY_FAILED") {
		t.Fatalf("without AWS_CA_BUNDLE: %v\n%s", err, errOut)
	}

	if err := srv.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	srv.waitLog("TLS certificate reloaded")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	refused := exec.CommandContext(ctx, cairnBin, "server", "--listen", "0.0.0.0:0", "--data", filepath.Join(dir, "data"))
	refused.Env = cleanEnv()
	b, err := refused.CombinedOutput()
	if err == nil || !strings.Contains(string(b), "refusing plain HTTP") {
		t.Fatalf("plain HTTP on 0.0.0.0: %v\n%s", err, b)
	}
}
