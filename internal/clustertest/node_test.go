package clustertest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/jackc/pgx/v5"

	"github.com/cairnlog/cairn/internal/iam"
)

// node is one `cairn server` process.
type node struct {
	t    testing.TB
	cmd  *exec.Cmd
	dir  string
	url  string
	mu   sync.Mutex
	logs strings.Builder
	done chan struct{}
}

// startNode starts `cairn server` on a fresh data directory and the store
// url, with extra arguments, and waits until it logs its endpoint. The
// test's cleanup kills it if it still runs.
func startNode(t testing.TB, store string, extra ...string) *node {
	t.Helper()
	n := &node{t: t, dir: filepath.Join(t.TempDir(), "data"), done: make(chan struct{})}
	args := append([]string{"server", "--listen", "127.0.0.1:0", "--data", n.dir, "--store", store}, extra...)
	n.cmd = exec.Command(os.Args[0], args...)
	n.cmd.Env = append(os.Environ(), nodeEnv+"=1")
	// A test binary that dies takes its nodes along.
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pr, pw := io.Pipe()
	n.cmd.Stdout, n.cmd.Stderr = pw, pw
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	endpoint := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			n.mu.Lock()
			n.logs.WriteString(line + "\n")
			n.mu.Unlock()
			if i := strings.Index(line, " endpoint="); i >= 0 && strings.Contains(line, "cairn listening") {
				f := strings.Fields(line[i+1:])[0]
				select {
				case endpoint <- strings.TrimPrefix(f, "endpoint="):
				default:
				}
			}
		}
	}()
	go func() {
		n.cmd.Wait()
		pw.Close()
		close(n.done)
	}()
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			t.Logf("node %s output:\n%s", n.url, n.output())
		}
	})
	select {
	case n.url = <-endpoint:
	case <-n.done:
		t.Fatalf("cairn server exited before it was ready:\n%s", n.output())
	case <-time.After(60 * time.Second):
		t.Fatalf("cairn server did not start:\n%s", n.output())
	}
	return n
}

func (n *node) output() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.logs.String()
}

// kill sends SIGKILL and waits for the process to be gone.
func (n *node) kill() {
	select {
	case <-n.done:
		return
	default:
	}
	n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
}

// client is a CloudWatch Logs client of the node with its root key,
// without retries (the test sees every answer).
func (n *node) client() *cwl.Client {
	n.t.Helper()
	key, secret, err := iam.ReadCredentials(filepath.Join(n.dir, iam.CredentialsFileName))
	if err != nil {
		n.t.Fatal(err)
	}
	return cwl.New(cwl.Options{Region: "us-east-1", BaseEndpoint: aws.String(n.url), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, "")})
}

// leases reads the lease table: name → holder.
func leases(t testing.TB, url string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT name, holder FROM cairn_leases WHERE expires > clock_timestamp()`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var name []byte
		var holder string
		if err := rows.Scan(&name, &holder); err != nil {
			t.Fatal(err)
		}
		out[string(name)] = holder
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func describe(m map[string]string) string {
	var b strings.Builder
	for k, v := range m {
		fmt.Fprintf(&b, "%q→%s ", k, v)
	}
	return b.String()
}
