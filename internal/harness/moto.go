package harness

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"
)

// StartMoto runs moto's server (python3 -m moto.server: S3 and the other AWS
// APIs it emulates, the S3-compatible store the export and scheduled-query
// tests write to) on a free loopback port, waits until it answers, and stops
// it when the test ends. It fails, never skips, without moto. It returns the
// endpoint URL.
func StartMoto(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", port)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start moto (python3 -m moto.server): %v", err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	u := "http://127.0.0.1:" + port
	CheckFor(tb, 30*time.Second, 100*time.Millisecond, func() error {
		resp, err := http.Get(u + "/moto-api/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	return u
}
