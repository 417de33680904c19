// Package harness is the one way Cairn's black-box tests start a server.
//
// Start runs the real server, assembled exactly as `cairn server` assembles it
// (server.Start), on 127.0.0.1:0 with its own temporary data directory, SigV4
// on and the root key it generates, and stops it when the test ends. The
// returned Server hands out its URL, its root credentials and ready
// aws-sdk-go-v2 clients with the project's SDK settings (package awsclient);
// Call, Sign and Do send the hand-made requests an SDK would never send.
// Restart stops and starts it again on the same address and data. CheckFor
// polls a condition with a deadline, so no test synchronises with
// time.Sleep. Options adjust the server: WithIAM/WithIAMFile, WithClock,
// InDir, WithStore (PostgreSQL), AuthOff, Configure for any other
// server.Config field. fixtures.go holds the set-ups test packages share
// (IAM documents of a few users and accounts: WithUsers, WithAccounts; a
// group with streams: CreateGroup; events by message: PutMessages; the wait
// for a query: WaitQuery; an exact AWS error: WantErr; a clock tests move:
// Clock). StartMoto runs moto's server (the S3-compatible store the export
// and scheduled-query tests write to), and SyncBuffer is a log sink a test reads
// while the server writes to it.
//
// Data flows one way: a test calls Start with options that adjust the
// server.Config, talks to the server through the clients, and the server's
// state leaves only through the API (or, for white-box checks, Dir).
package harness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cairnlog/cairn/internal/awsclient"
	"github.com/cairnlog/cairn/internal/iam"
	"github.com/cairnlog/cairn/internal/server"
)

// DefaultRegion is the region clients sign for unless told otherwise.
const DefaultRegion = "us-east-1"

// Target is the X-Amz-Target prefix of CloudWatch Logs operations.
const Target = "Logs_20140328."

// settings is what options adjust: the configuration, and the test (for
// files an option writes).
type settings struct {
	cfg server.Config
	tb  testing.TB
}

// Option adjusts the server's configuration before it starts.
type Option func(*settings)

// AuthOff runs the server with --auth off (any credentials accepted).
func AuthOff() Option { return func(s *settings) { s.cfg.Auth = "off" } }

// WithIAMFile runs the server on an IAM file instead of a generated root key.
func WithIAMFile(path string) Option { return func(s *settings) { s.cfg.IAMFile = path } }

// WithIAM runs the server on an IAM file holding yaml, written (mode 0600)
// to a temporary directory; Server.IAMFile is its path, for reload tests.
func WithIAM(yaml string) Option {
	return func(s *settings) {
		s.cfg.IAMFile = filepath.Join(s.tb.TempDir(), "iam.yaml")
		if err := os.WriteFile(s.cfg.IAMFile, []byte(yaml), 0o600); err != nil {
			s.tb.Fatalf("write IAM file: %v", err)
		}
	}
}

// WithClock gives the server a clock tests can move.
func WithClock(now func() time.Time) Option { return func(s *settings) { s.cfg.Now = now } }

// InDir uses dir as the data directory (to restart on the same data).
func InDir(dir string) Option { return func(s *settings) { s.cfg.DataDir = dir } }

// WithStore runs the server on the storage engine url names (a
// postgres:// URL: the PostgreSQL engine; see server.Config.Store).
func WithStore(url string) Option { return func(s *settings) { s.cfg.Store = url } }

// Configure applies any other change to the configuration.
func Configure(fn func(*server.Config)) Option { return func(s *settings) { fn(&s.cfg) } }

// Server is a running server and what a test needs to reach it.
type Server struct {
	*server.Server
	// Dir is the data directory.
	Dir string
	// IAMFile is the IAM file the server reads, "" for the generated root key.
	IAMFile string
	// Creds are the root credentials (the generated key; with auth off or an
	// IAM file, a placeholder key the server accepts only with auth off).
	Creds aws.Credentials

	tb      testing.TB
	cfg     server.Config
	stopped bool
	// http carries the raw requests of Do and the clients' calls; its idle
	// connections are closed at Stop, so none outlives the test.
	http *http.Client
}

// Start starts a server and registers its stop with tb.Cleanup.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	st := settings{cfg: server.Config{Listen: "127.0.0.1:0", Auth: "sigv4"}, tb: tb}
	for _, o := range opts {
		o(&st)
	}
	if st.cfg.DataDir == "" {
		// Not yet there, as on a first `cairn server`: the server creates it.
		st.cfg.DataDir = filepath.Join(tb.TempDir(), "data")
	}
	s, err := server.Start(st.cfg)
	if err != nil {
		tb.Fatalf("start server: %v", err)
	}
	h := &Server{Server: s, Dir: st.cfg.DataDir, IAMFile: st.cfg.IAMFile, tb: tb, cfg: st.cfg,
		Creds: aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}}
	tb.Cleanup(h.Stop)
	h.http = &http.Client{Transport: h.transport()}
	if path, _ := s.CredentialsFile(); path != "" {
		key, secret, err := iam.ReadCredentials(path)
		if err != nil {
			tb.Fatalf("read root credentials: %v", err)
		}
		h.Creds = aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}
	} else if st.cfg.IAMFile == "" && st.cfg.Auth == "sigv4" {
		tb.Fatalf("BUG: server has neither an IAM file nor a root credentials file (%s)", filepath.Join(st.cfg.DataDir, iam.CredentialsFileName))
	}
	return h
}

// transport trusts the server's certificate (and only it) when it serves
// HTTPS.
func (s *Server) transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if info := s.TLS(); info.Enabled {
		pem, err := os.ReadFile(info.CertFile)
		if err != nil {
			s.tb.Fatalf("read the server's certificate: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			s.tb.Fatalf("%s holds no certificate", info.CertFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return tr
}

// Stop stops the server; calling it again does nothing.
func (s *Server) Stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	s.http.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		s.tb.Errorf("stop server: %v", err)
	}
}

// Restart stops the server (unless it is stopped) and starts it again with
// the same configuration on the same address and data directory, so clients
// made before reach the new one. The port may linger for a moment after the
// stop; Restart retries the bind for a few seconds.
func (s *Server) Restart() {
	s.tb.Helper()
	addr := s.Addr()
	s.Stop()
	cfg := s.cfg
	cfg.Listen = addr
	CheckFor(s.tb, 10*time.Second, 50*time.Millisecond, func() error {
		srv, err := server.Start(cfg)
		if err == nil {
			s.Server, s.stopped = srv, false
		}
		return err
	})
}

// HTTPClient is the client the server's SDK clients and Do use (it trusts
// the server's certificate when there is one).
func (s *Server) HTTPClient() *http.Client { return s.http }

// Client returns a CloudWatch Logs client signed with the root credentials
// for DefaultRegion, without retries (a test sees the first answer), with
// the settings Cairn's own tools use (buffered request bodies, and no
// "stream-" host prefix, so StartLiveTail reaches 127.0.0.1). opts adjust it
// further.
func (s *Server) Client(opts ...func(*cwl.Options)) *cwl.Client {
	return s.ClientAs(s.Creds, DefaultRegion, append([]func(*cwl.Options){awsclient.NoHostPrefix}, opts...)...)
}

// ClientAs returns a client signed with creds for region, with buffered
// request bodies but otherwise as the SDK comes (StartLiveTail gets the
// SDK's "stream-" host prefix unless opts include awsclient.NoHostPrefix).
func (s *Server) ClientAs(creds aws.Credentials, region string, opts ...func(*cwl.Options)) *cwl.Client {
	o := cwl.Options{
		Region:       region,
		BaseEndpoint: aws.String(s.URL()),
		Credentials:  credentials.StaticCredentialsProvider{Value: creds},
		Retryer:      aws.NopRetryer{},
		HTTPClient:   awsclient.BufferedBodies{Next: s.http},
	}
	return cwl.New(o, opts...)
}

// Over is a client option that sends the client's requests through hc (a
// test's own dialer or transport) with buffered request bodies, as the
// harness's clients do. Setting cwl.Options.HTTPClient directly would drop
// the buffering, and with it, under load, the connection of a Live Tail
// stream (see package awsclient, aws/aws-sdk-go-v2#2737).
func Over(hc awsclient.Doer) func(*cwl.Options) {
	return func(o *cwl.Options) { o.HTTPClient = awsclient.BufferedBodies{Next: hc} }
}

// STSClientAs returns an STS client (same endpoint) signed with creds for
// region, without retries.
func (s *Server) STSClientAs(creds aws.Credentials, region string, opts ...func(*sts.Options)) *sts.Client {
	o := sts.Options{
		Region:       region,
		BaseEndpoint: aws.String(s.URL()),
		Credentials:  credentials.StaticCredentialsProvider{Value: creds},
		Retryer:      aws.NopRetryer{},
		HTTPClient:   s.http,
	}
	return sts.New(o, opts...)
}

// Reply is the server's answer to a hand-made request.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
	// Code and Message are an error's __type and message (the JSON
	// protocol) or its Code and Message (STS's XML ErrorResponse).
	Code, Message string
}

// String shows an error's code and message, or the status and the start of
// the body.
func (r Reply) String() string {
	if r.Code != "" {
		return fmt.Sprintf("%d %s %q", r.Status, r.Code, r.Message)
	}
	b := r.Body
	if len(b) > 300 {
		b = b[:300]
	}
	return fmt.Sprintf("%d %q", r.Status, b)
}

// Request builds an unsigned CloudWatch Logs request for op (no
// X-Amz-Target when op is "") with body, bound to tb's context.
func (s *Server) Request(tb testing.TB, op string, body []byte) *http.Request {
	tb.Helper()
	req, err := http.NewRequestWithContext(tb.Context(), http.MethodPost, s.URL()+"/", bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	if op != "" {
		req.Header.Set("X-Amz-Target", Target+op)
	}
	return req
}

// Sign signs req over body for the logs service in DefaultRegion at time at,
// with the SDK's own signer, as every SDK does: every header present is
// signed, X-Amz-Target included.
func Sign(tb testing.TB, req *http.Request, creds aws.Credentials, body []byte, at time.Time) {
	tb.Helper()
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "logs", DefaultRegion, at); err != nil {
		tb.Fatal(err)
	}
}

// Call sends op with body, and header's "Name: value" lines, signed with the
// root credentials now, and returns the answer.
func (s *Server) Call(tb testing.TB, op string, body []byte, header ...string) Reply {
	tb.Helper()
	return s.CallAs(tb, s.Creds, op, body, header...)
}

// CallAs is Call signed with creds.
func (s *Server) CallAs(tb testing.TB, creds aws.Credentials, op string, body []byte, header ...string) Reply {
	tb.Helper()
	req := s.Request(tb, op, body)
	for _, h := range header {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(k, strings.TrimSpace(v))
	}
	Sign(tb, req, creds, body, time.Now())
	return s.Do(tb, req)
}

// Do sends req and reads the whole answer.
func (s *Server) Do(tb testing.TB, req *http.Request) Reply {
	tb.Helper()
	resp, err := s.http.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.Header.Get("X-Amz-Target"), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read response: %v", err)
	}
	return ParseReply(resp.StatusCode, resp.Header, body)
}

// ParseReply reads an answer's error code and message, in either shape.
func ParseReply(status int, header http.Header, body []byte) Reply {
	r := Reply{Status: status, Header: header, Body: body}
	if status < 300 {
		return r
	}
	if strings.HasPrefix(header.Get("Content-Type"), "text/xml") {
		var x struct {
			Error struct{ Code, Message string }
		}
		if xml.Unmarshal(body, &x) == nil {
			r.Code, r.Message = x.Error.Code, x.Error.Message
		}
		return r
	}
	var j struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &j) == nil {
		r.Code, r.Message = j.Type, j.Message
	}
	return r
}

// CheckFor calls fn every interval until it returns nil, and fails the test
// with fn's last error when timeout passes first.
func CheckFor(tb testing.TB, timeout, interval time.Duration, fn func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("condition not met within %v: %v", timeout, err)
		}
		time.Sleep(interval) // polling, bounded by the deadline
	}
}
