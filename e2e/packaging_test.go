package e2e

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/iam"
)

// The packaging of issue 17: the container image, the systemd unit and the
// shell completions, each tried with the real tool.

// TestDockerImage builds the image of packaging/Dockerfile from the static
// binary TestMain built, runs it with its default command (HTTPS with a
// self-signed certificate, data in /data, an unprivileged user) and talks
// to it with the SDK. It needs a Docker engine: scripts/test.sh starts one
// when none answers.
func TestDockerImage(t *testing.T) {
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Fatalf("no Docker engine answers (scripts/test.sh starts one): %v\n%s", err, out)
	}
	buildDir := t.TempDir()
	if err := os.Mkdir(filepath.Join(buildDir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(cairnBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(buildDir, "cairn"), raw, 0o755); err != nil {
		t.Fatal(err)
	}
	suffix := make([]byte, 4)
	rand.Read(suffix)
	tag := "cairn-e2e:" + hex.EncodeToString(suffix)
	docker := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("docker", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	docker("build", "-q", "-t", tag, "-f", "../packaging/Dockerfile", buildDir)
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })
	if user := docker("image", "inspect", "--format", "{{.Config.User}}", tag); user != "65532:65532" {
		t.Fatalf("image runs as %q, want the unprivileged 65532:65532", user)
	}

	// The default command, on a free port of the host's network (the test
	// engine may run without a bridge).
	port := freePort(t)
	cmd := docker("image", "inspect", "--format", "{{json .Config.Cmd}}", tag)
	if !strings.Contains(cmd, `"--tls-self-signed"`) || !strings.Contains(cmd, `"0.0.0.0:4588"`) {
		t.Fatalf("default command %s: want HTTPS on all addresses", cmd)
	}
	id := docker("run", "-d", "--network", "host", tag, "server", "--data", "/data", "--listen", "0.0.0.0:"+strconv.Itoa(port), "--tls-self-signed")
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", id).Run() })

	// The certificate and the root key are generated in /data on first start.
	certFile, credFile := filepath.Join(t.TempDir(), "tls-cert.pem"), filepath.Join(t.TempDir(), "credentials")
	deadline := time.Now().Add(startTimeout)
	for {
		errCert := exec.Command("docker", "cp", id+":/data/tls-cert.pem", certFile).Run()
		errCred := exec.Command("docker", "cp", id+":/data/credentials", credFile).Run()
		if errCert == nil && errCred == nil {
			break
		}
		if time.Now().After(deadline) {
			logs, _ := exec.Command("docker", "logs", id).CombinedOutput()
			t.Fatalf("no certificate or credentials in /data: %v, %v\n%s", errCert, errCred, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("tls-cert.pem holds no certificate")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	url := "https://127.0.0.1:" + strconv.Itoa(port)
	for {
		resp, err := hc.Get(url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("container does not answer /health over HTTPS: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	key, secret, err := iam.ReadCredentials(credFile)
	if err != nil {
		t.Fatal(err)
	}
	c := cloudwatchlogs.New(cloudwatchlogs.Options{Region: defaultRegion, BaseEndpoint: aws.String(url), HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""), RetryMaxAttempts: 1})
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("docker")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("docker"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("docker"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(time.Now().UnixMilli()), Message: aws.String("from the container")}}}); err != nil {
		t.Fatal(err)
	}
	// A stop flushes; the event is there after a restart of the container.
	docker("stop", "-t", "30", id)
	docker("start", id)
	for {
		out, err := c.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("docker"), LogStreamName: aws.String("s")})
		if err == nil {
			if len(out.Events) != 1 || aws.ToString(out.Events[0].Message) != "from the container" {
				t.Fatalf("after a restart: %+v", out.Events)
			}
			break
		}
		if time.Now().After(deadline.Add(startTimeout)) {
			t.Fatalf("after a restart: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSystemdUnit checks packaging/cairn.service with systemd's own
// analyzer: it must verify, and its exposure score (0 best, 10 worst) must
// stay at most 2.0.
func TestSystemdUnit(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Fatalf("systemd-analyze is needed (Debian's systemd package): %v", err)
	}
	raw, err := os.ReadFile("../packaging/cairn.service")
	if err != nil {
		t.Fatal(err)
	}
	// verify wants the ExecStart binary to exist.
	unit := filepath.Join(t.TempDir(), "cairn.service")
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(raw), "/usr/local/bin/cairn", cairnBin)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("systemd-analyze", "verify", unit).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err := exec.Command("systemd-analyze", "security", "--offline=true", "--threshold=20", unit).CombinedOutput()
	if err != nil {
		t.Fatalf("exposure above 2.0: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Overall exposure level") {
		t.Fatalf("no exposure level in:\n%s", out)
	}
}

// TestCompletions loads each shell's completion script into that shell and
// asks it for a completion.
func TestCompletions(t *testing.T) {
	script := func(shell string) string {
		t.Helper()
		out, err := exec.Command(cairnBin, "completion", shell).Output()
		if err != nil {
			t.Fatalf("cairn completion %s: %v", shell, err)
		}
		f := filepath.Join(t.TempDir(), "cairn."+shell)
		if err := os.WriteFile(f, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if _, err := exec.LookPath(sh); err != nil {
			t.Fatalf("%s is needed to test its completion (scripts/test.sh installs it): %v", sh, err)
		}
	}
	bash := script("bash")
	out, err := exec.Command("bash", "-c", `source "$1"; COMP_WORDS=(cairn logs tail --fo); COMP_CWORD=3; _cairn; echo "${COMPREPLY[*]}"`, "_", bash).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--follow") {
		t.Fatalf("bash completion of 'cairn logs tail --fo': %v %q", err, out)
	}
	out, err = exec.Command("bash", "-c", `source "$1"; COMP_WORDS=(cairn ru); COMP_CWORD=1; _cairn; echo "${COMPREPLY[*]}"`, "_", bash).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "run" {
		t.Fatalf("bash completion of 'cairn ru': %v %q", err, out)
	}
	if out, err := exec.Command("zsh", "-n", script("zsh")).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	fish := script("fish")
	out, err = exec.Command("fish", "-c", `source $argv[1]; complete -C "cairn run --allow"`, fish).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--allow-log-loss") {
		t.Fatalf("fish completion of 'cairn run --allow': %v %q", err, out)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
