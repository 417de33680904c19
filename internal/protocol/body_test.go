package protocol_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/awsmodel"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/protocol"
)

// precheckAuth refuses requests without an "Authorization: ok" header before
// their body is read, and counts the bodies Authenticate saw.
type precheckAuth struct{ bodies atomic.Int64 }

func (a *precheckAuth) Precheck(r *http.Request) error {
	if r.Header.Get("Authorization") != "ok" {
		return awserr.MissingToken()
	}
	return nil
}

func (a *precheckAuth) Authenticate(r *http.Request, body []byte) (caller.Caller, error) {
	a.bodies.Add(1)
	return caller.Caller{Account: "000000000000", Region: "us-east-1", Authorizer: caller.AllowAll}, nil
}

// serve runs a real http.Server on 127.0.0.1:0 with the handler and stops it
// when the test ends.
func serve(t *testing.T, cfg protocol.Config) string {
	t.Helper()
	model, err := awsmodel.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Model = model
	if cfg.Operations == nil {
		cfg.Operations = protocol.NewTable()
		cfg.Operations.Add("CreateLogGroup", func(ctx context.Context, c *protocol.Call) (any, error) {
			var in struct {
				LogGroupName *string `json:"logGroupName"`
			}
			return struct{}{}, c.Decode(&in)
		})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: protocol.New(cfg), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return ln.Addr().String()
}

// slowConn opens a connection and sends the headers of a CreateLogGroup
// declaring length bytes of body, and the first bytes of it.
func slowConn(t *testing.T, addr string, length int, auth string, first string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second)) // a hung server fails the test instead of hanging it
	fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: Logs_20140328.CreateLogGroup\r\n"+
		"Authorization: %s\r\nContent-Length: %d\r\n\r\n%s", auth, length, first)
	return c
}

// answer reads one response from c: its status, __type, and whether the
// server closes the connection after it.
func answer(t *testing.T, c net.Conn) (int, string, bool) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	typ := ""
	if i := bytes.Index(body, []byte(`"__type":"`)); i >= 0 {
		typ = string(body[i+10:])
		typ = typ[:strings.IndexByte(typ, '"')]
	}
	return resp.StatusCode, typ, resp.Close
}

// TestPrecheckBeforeBody: a request the authenticator refuses from its
// headers is answered without its body being read (none was sent), and its
// connection is closed rather than drained.
func TestPrecheckBeforeBody(t *testing.T) {
	a := &precheckAuth{}
	addr := serve(t, protocol.Config{Auth: a})
	c := slowConn(t, addr, 8<<20, "forged", "")
	status, typ, closed := answer(t, c)
	if status != 403 || typ != "MissingAuthenticationTokenException" || !closed {
		t.Fatalf("got %d %s closed=%v", status, typ, closed)
	}
	if n := a.bodies.Load(); n != 0 {
		t.Fatalf("Authenticate saw %d bodies", n)
	}
	// A request that passes Precheck is served.
	c = slowConn(t, addr, len(`{"logGroupName":"g"}`), "ok", `{"logGroupName":"g"}`)
	if status, typ, _ := answer(t, c); status != 200 {
		t.Fatalf("got %d %s", status, typ)
	}
}

// TestSlowBodyTimesOut: a body that stops arriving is refused with
// RequestTimeoutException once the body deadline passes, and the connection
// is closed.
func TestSlowBodyTimesOut(t *testing.T) {
	addr := serve(t, protocol.Config{BodyTimeout: 200 * time.Millisecond})
	c := slowConn(t, addr, 1<<20, "", `{"logGroupName":"`)
	status, typ, closed := answer(t, c)
	if status != 408 || typ != "RequestTimeoutException" || !closed {
		t.Fatalf("got %d %s closed=%v", status, typ, closed)
	}
}

// TestBodyBudget: when the bodies being received hold the whole budget, a new
// body waits, then is refused with ServiceUnavailableException; once a body
// ends, new ones are served again.
func TestBodyBudget(t *testing.T) {
	const holders = 4
	addr := serve(t, protocol.Config{BodyBudget: holders * 16 << 10, BodyWait: 50 * time.Millisecond})
	var held []net.Conn
	for range holders {
		held = append(held, slowConn(t, addr, 8<<20, "", `{"logGroupName":"`))
	}
	body := `{"logGroupName":"g"}`
	try := func() (int, string) {
		c := slowConn(t, addr, len(body), "", body)
		defer c.Close()
		status, typ, _ := answer(t, c)
		return status, typ
	}
	// The holders reach the server in their own time: poll until the budget
	// is spent.
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, typ := try()
		if status == 500 && typ == "ServiceUnavailableException" {
			break
		}
		if status != 200 || time.Now().After(deadline) {
			t.Fatalf("budget never spent: %d %s", status, typ)
		}
	}
	held[0].Close()
	for {
		status, typ := try()
		if status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("budget not given back: %d %s", status, typ)
		}
	}
}

// TestStreamOutlivesBodyDeadline: the body deadline ends with the body; a
// streamed response (Live Tail) goes on after it.
func TestStreamOutlivesBodyDeadline(t *testing.T) {
	const timeout = 100 * time.Millisecond
	ops := protocol.NewTable()
	ops.Add("StartLiveTail", func(ctx context.Context, c *protocol.Call) (any, error) { return lateStream{wait: 5 * timeout}, nil })
	addr := serve(t, protocol.Config{Operations: ops, BodyTimeout: timeout})
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", strings.NewReader(`{"logGroupIdentifiers":["g"]}`))
	req.Header.Set("X-Amz-Target", "Logs_20140328.StartLiveTail")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil || string(got) != "early late " {
		t.Fatalf("stream gave %q, %v", got, err)
	}
}

// lateStream writes "early", then "late" once wait has passed, then ends; a
// cancelled context (the stream cut) ends it without "late".
type lateStream struct{ wait time.Duration }

func (lateStream) ContentType() string { return "text/plain" }

func (s lateStream) Stream(ctx context.Context, w io.Writer, flush func()) error {
	io.WriteString(w, "early ")
	flush()
	timer := time.NewTimer(s.wait)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
		return errors.New("cut")
	}
	io.WriteString(w, "late ")
	return nil
}

// TestBodyLimits: the body limit holds for declared and chunked bodies and
// for what gzip expands to.
func TestBodyLimits(t *testing.T) {
	addr := serve(t, protocol.Config{MaxBody: 100 << 10})
	big := `{"logGroupName":"` + strings.Repeat("a", 200<<10) + `"}`
	f := func(body io.Reader, length int64, wantStatus int, wantType string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", body)
		req.ContentLength = length
		req.Header.Set("X-Amz-Target", "Logs_20140328.CreateLogGroup")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != wantStatus || !bytes.Contains(data, []byte(wantType)) {
			t.Fatalf("got %d %s, want %d %s", resp.StatusCode, data, wantStatus, wantType)
		}
	}
	f(strings.NewReader(big), int64(len(big)), 413, "RequestEntityTooLargeException")
	f(io.MultiReader(strings.NewReader(big)), -1, 413, "RequestEntityTooLargeException") // chunked
	// A body that grows past the first chunk several times arrives whole.
	ok := `{"logGroupName":"g","kmsKeyId":"` + strings.Repeat("k", 90<<10) + `"}`
	f(io.MultiReader(strings.NewReader(ok)), -1, 400, "InvalidParameterException") // kmsKeyId is too long: the whole body was read
	f(strings.NewReader(`{"logGroupName":"g"}`), -1, 200, "")
}
