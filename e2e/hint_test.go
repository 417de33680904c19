package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCredentialsHintPastes runs the command the server prints on its first
// start ("…; try: AWS_SHARED_CREDENTIALS_FILE=… aws --endpoint-url …"), as
// a user pasting it into a shell in another directory would: it must work
// there (an absolute path, a region) with the AWS CLI v2.
func TestCredentialsHintPastes(t *testing.T) {
	t.Parallel()
	srv := startServerArgs(t, t.TempDir(), "--auth", "sigv4")
	line := srv.waitLog("; try: ")
	_, cmd, ok := strings.Cut(line, "; try: ")
	if !ok {
		t.Fatalf("no hint in %q", line)
	}
	// slog's text handler quotes the message: the command ends at the
	// closing quote, and holds no quote of its own.
	cmd, _, _ = strings.Cut(cmd, `"`)
	if !strings.Contains(cmd, "AWS_SHARED_CREDENTIALS_FILE=/") || !strings.Contains(cmd, "AWS_DEFAULT_REGION=") {
		t.Fatalf("hint %q: want an absolute credentials path and a region", cmd)
	}
	// The AWS CLI v2 of the test command, whatever else is on PATH.
	cmd = strings.Replace(cmd, " aws --endpoint-url", " /usr/bin/aws --endpoint-url", 1)
	run := exec.Command("bash", "-c", cmd)
	run.Dir = t.TempDir()
	run.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}
	out, err := run.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"logGroups"`) {
		t.Fatalf("pasted hint %q: %v\n%s", cmd, err, out)
	}
}
