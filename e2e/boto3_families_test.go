package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// recentBoto3 finds an interpreter whose boto3 is at least 1.34 (Debian's
// 1.26 lacks most of the newer operations): each python3 on PATH in order,
// asked for its real executable (a pyenv shim needs the caller's HOME, which
// the script run replaces) and its boto3 version.
func recentBoto3(tb testing.TB) (exe, version string) {
	tb.Helper()
	var seen []string
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		p := filepath.Join(dir, "python3")
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			continue
		}
		cx, cancel := context.WithTimeout(tb.Context(), 30*time.Second)
		out, err := exec.CommandContext(cx, p, "-c", "import sys, boto3; print(sys.executable, boto3.__version__)").Output()
		cancel()
		if err != nil {
			seen = append(seen, p+": no boto3")
			continue
		}
		f := strings.Fields(string(out))
		if len(f) != 2 {
			continue
		}
		v := strings.Split(f[1], ".")
		major, _ := strconv.Atoi(v[0])
		minor := 0
		if len(v) > 1 {
			minor, _ = strconv.Atoi(v[1])
		}
		if major > 1 || major == 1 && minor >= 34 {
			return f[0], f[1]
		}
		seen = append(seen, fmt.Sprintf("%s: boto3 %s", p, f[1]))
	}
	tb.Fatalf("no python3 on PATH has boto3 >= 1.34 (needed for the newer CloudWatch Logs operations; "+
		"install one with `pip install 'boto3>=1.34'`): %s", strings.Join(seen, "; "))
	return "", ""
}

// TestBoto3Families drives every operation family Cairn serves with a recent
// boto3 against the real binary under SigV4 with its generated root key: each
// family's happy path and one error, asserted in testdata/boto3_families.py
// (which prints every mismatch and exits 1).
func TestBoto3Families(t *testing.T) {
	t.Parallel()
	py, version := recentBoto3(t)
	srv := startServerArgs(t, t.TempDir(), "--auth", "sigv4")
	runBoto3Script(t, py, version, "boto3_families.py", srv.url, filepath.Join(srv.dir, "credentials"))
}

// runBoto3Script runs testdata/SCRIPT ENDPOINT with interpreter py and the
// shared credentials file creds (in a HOME of its own, no config file, no
// instance metadata), and fails the test with its output if it exits non-zero.
func runBoto3Script(t *testing.T, py, version, script, endpoint, creds string) {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("testdata", script))
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cx, py, path, endpoint)
	cmd.Env = append(cleanEnv(), "HOME="+home, "AWS_CONFIG_FILE="+filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+creds, "AWS_EC2_METADATA_DISABLED=true")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s (boto3 %s) %s: %v\n%s", py, version, path, err, out)
	}
	t.Logf("%s", out)
}
