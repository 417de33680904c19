// Package harness is the one way Cairn's black-box tests start a server.
//
// Start runs the real server, assembled exactly as `cairn server` assembles it
// (server.Start), on 127.0.0.1:0 with its own temporary data directory, SigV4
// on and the root key it generates, and stops it when the test ends. The
// returned Server hands out its URL, its root credentials and ready
// aws-sdk-go-v2 clients with the project's SDK settings (package awsclient).
// CheckFor polls a condition with a deadline, so no test synchronises with
// time.Sleep.
//
// Data flows one way: a test calls Start with options that adjust the
// server.Config, talks to the server through the clients, and the server's
// state leaves only through the API (or, for white-box checks, Dir).
package harness

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/awsclient"
	"github.com/cairnlog/cairn/internal/iam"
	"github.com/cairnlog/cairn/internal/server"
)

// DefaultRegion is the region clients sign for unless told otherwise.
const DefaultRegion = "us-east-1"

// Option adjusts the server's configuration before it starts.
type Option func(*server.Config)

// AuthOff runs the server with --auth off (any credentials accepted).
func AuthOff() Option { return func(c *server.Config) { c.Auth = "off" } }

// WithIAMFile runs the server on an IAM file instead of a generated root key.
func WithIAMFile(path string) Option { return func(c *server.Config) { c.IAMFile = path } }

// WithClock gives the server a clock tests can move.
func WithClock(now func() time.Time) Option { return func(c *server.Config) { c.Now = now } }

// InDir uses dir as the data directory (to restart on the same data).
func InDir(dir string) Option { return func(c *server.Config) { c.DataDir = dir } }

// Configure applies any other change to the configuration.
func Configure(fn func(*server.Config)) Option { return Option(fn) }

// Server is a running server and what a test needs to reach it.
type Server struct {
	*server.Server
	// Dir is the data directory.
	Dir string
	// Creds are the root credentials (the generated key; with auth off or an
	// IAM file, a placeholder key the server accepts only with auth off).
	Creds aws.Credentials

	tb testing.TB
}

// Start starts a server and registers its stop with tb.Cleanup.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	cfg := server.Config{Listen: "127.0.0.1:0", Auth: "sigv4"}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.DataDir == "" {
		cfg.DataDir = tb.TempDir()
	}
	s, err := server.Start(cfg)
	if err != nil {
		tb.Fatalf("start server: %v", err)
	}
	h := &Server{Server: s, Dir: cfg.DataDir, tb: tb,
		Creds: aws.Credentials{AccessKeyID: "AKIDTEST", SecretAccessKey: "secret"}}
	tb.Cleanup(h.Stop)
	if path, _ := s.CredentialsFile(); path != "" {
		key, secret, err := iam.ReadCredentials(path)
		if err != nil {
			tb.Fatalf("read root credentials: %v", err)
		}
		h.Creds = aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}
	} else if cfg.IAMFile == "" && cfg.Auth == "sigv4" {
		tb.Fatalf("BUG: server has neither an IAM file nor a root credentials file (%s)", filepath.Join(cfg.DataDir, iam.CredentialsFileName))
	}
	return h
}

// Stop stops the server; calling it again does nothing.
func (s *Server) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		s.tb.Errorf("stop server: %v", err)
	}
}

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
		HTTPClient:   awsclient.HTTPClient(),
	}
	return cwl.New(o, opts...)
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
