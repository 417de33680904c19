package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// What a newcomer hit (issue 17), each pinned by a test.

// TestAgentExampleRunsAsWritten: the documented example loads with no
// environment variables and no secret files present.
func TestAgentExampleRunsAsWritten(t *testing.T) {
	raw, err := os.ReadFile("../../docs/agent-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var file agentFile
	if err := decodeYAMLFile("agent-example.yaml", raw, &file); err != nil {
		t.Fatal(err)
	}
	if _, err := buildMasker(envOf(nil), file.Mask.Env, file.Mask.Files, file.Mask.Regexes); err != nil {
		t.Fatalf("the example needs something that is not there: %v", err)
	}
	if len(file.Inputs) == 0 || file.StateDir == "" || filepath.IsAbs(file.StateDir) {
		t.Fatalf("the example should follow a relative glob into a relative state dir: %+v", file)
	}
}

// TestUnknownConfigKey: a wrong key names the key, its line and the valid
// keys, not a Go type.
func TestUnknownConfigKey(t *testing.T) {
	raw := []byte("inputs:\n  - files: [x]\n    group: g\n    strem: s\n")
	var file agentFile
	err := decodeYAMLFile("a.yaml", raw, &file)
	if err == nil {
		t.Fatal("unknown key accepted")
	}
	msg := err.Error()
	if !strings.Contains(msg, `line 4: unknown key "strem"`) || !strings.Contains(msg, "stream") || strings.Contains(msg, "struct {") {
		t.Fatalf("message %q", msg)
	}
}

// TestMaskEnvUnset: masking a variable that is not set is refused.
func TestMaskEnvUnset(t *testing.T) {
	env := envOf(nil)
	if code := Run(env, []string{"run", "--mask-env", "NO_SUCH_TOKEN", "--", "true"}); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if msg := env.Stderr.(*bytes.Buffer).String(); !strings.Contains(msg, "NO_SUCH_TOKEN is not set") {
		t.Fatalf("stderr %q", msg)
	}
}

// TestLogsUsageErrors: usage errors exit 2 before any call is made, and a
// command's -h lists only its own flags.
func TestLogsUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"logs", "get", "g", "s", "--head", "1", "--tail", "1"},
		{"logs", "tail", "g", "--head", "3"},
		{"logs", "get", "g"},
		{"logs", "nosuch"},
	} {
		env := envOf(nil)
		if code := Run(env, args); code != 2 {
			t.Errorf("%q: exit %d, want 2; stderr %s", args, code, env.Stderr.(*bytes.Buffer).String())
		}
	}
	env := envOf(nil)
	if code := Run(env, []string{"logs", "streams", "-h"}); code != 0 {
		t.Fatalf("streams -h: exit %d", code)
	}
	help := env.Stderr.(*bytes.Buffer).String()
	if !strings.Contains(help, "usage: cairn logs streams GROUP") || !strings.Contains(help, "--order") || strings.Contains(help, "--follow") {
		t.Fatalf("streams -h:\n%s", help)
	}
	env = envOf(nil)
	Run(env, []string{"logs", "--help"})
	if top := env.Stderr.(*bytes.Buffer).String(); !strings.Contains(top, "--no-live-tail") || !strings.Contains(top, "--poll-interval") {
		t.Fatalf("logs --help:\n%s", top)
	}
}

// TestEnvCommand: `cairn env` prints lines a shell can eval, with an
// absolute credentials path and both region variables.
func TestEnvCommand(t *testing.T) {
	dir := t.TempDir()
	env := envOf(nil)
	if code := Run(env, []string{"env", "--data", dir, "--listen", "127.0.0.1:4999"}); code != 0 {
		t.Fatalf("exit %d: %s", code, env.Stderr.(*bytes.Buffer).String())
	}
	out := env.Stdout.(*bytes.Buffer).String()
	for _, want := range []string{
		"export AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "credentials") + "\n",
		"export AWS_REGION=us-east-1\n", "export AWS_DEFAULT_REGION=us-east-1\n",
		"export AWS_ENDPOINT_URL_CLOUDWATCH_LOGS=http://127.0.0.1:4999",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if !filepath.IsAbs(dir) {
		t.Fatal("temp dir not absolute")
	}
}

// TestVersion: --version and version print the same line.
func TestVersion(t *testing.T) {
	a, b := envOf(nil), envOf(nil)
	if Run(a, []string{"--version"}) != 0 || Run(b, []string{"version"}) != 0 {
		t.Fatal("version failed")
	}
	if x, y := a.Stdout.(*bytes.Buffer).String(), b.Stdout.(*bytes.Buffer).String(); x != y || !strings.HasPrefix(x, "cairn ") {
		t.Fatalf("%q vs %q", x, y)
	}
}

// TestNewcomerDefaults: the agent's default state directory is ignored by
// git, and a bare `cairn bench` does not send ten million events.
func TestNewcomerDefaults(t *testing.T) {
	gi, err := os.ReadFile("../../.gitignore")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(gi), "/cairn-agent-state/") {
		t.Fatalf(".gitignore lacks the agent's default state directory:\n%s", gi)
	}
	env := envOf(nil)
	Run(env, []string{"bench", "-h"})
	help := env.Stderr.(*bytes.Buffer).String()
	if !strings.Contains(help, "(default 1000000)") {
		t.Fatalf("bench's default event count is not 1,000,000:\n%s", help)
	}
}
