// Package server assembles a running Cairn server: the storage engine, the
// logs service, the wire protocol and the HTTP listener, and stops them in
// reverse order.
//
// A request flows: net/http → protocol.Handler (framing, auth, errors) →
// logs.Service (CloudWatch semantics) → store.Store (the embedded engine).
// Requests that are not API calls (GET /health) are served here.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/cairnlog/cairn/internal/awsmodel"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

// Config configures a Server. Package cli fills it from flags, environment
// and the config file.
type Config struct {
	Listen    string // host:port; port 0 picks a free one
	DataDir   string
	AccountID string
	Auth      string // "off" (any credentials) or "sigv4"
	Logger    *slog.Logger
	// Now is the clock; nil means time.Now (tests move it).
	Now func() time.Time
}

// Server is a running Cairn server.
type Server struct {
	cfg    Config
	log    *slog.Logger
	engine *embedded.Engine
	http   *http.Server
	ln     net.Listener
	done   chan error
}

// Start opens the data directory, binds the listener and serves in the
// background until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "000000000000"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	switch cfg.Auth {
	case "off":
		if err := requireLoopback(cfg.Listen); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("auth mode %q is not available yet; use --auth off", cfg.Auth)
	}
	model, err := awsmodel.Load()
	if err != nil {
		return nil, err
	}
	engine, err := embedded.Open(embedded.Config{Dir: cfg.DataDir, Now: cfg.Now, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	svc := logs.New(logs.Config{
		Store:   engine,
		Compile: func(expr string) (logs.Pattern, error) { return pattern.Compile(expr) },
		Now:     cfg.Now,
		Logger:  cfg.Logger,
	})
	ops := svc.Operations()
	handler := protocol.New(protocol.Config{
		Model:      model,
		Operations: ops,
		Auth:       offAuth{account: cfg.AccountID},
		Logger:     cfg.Logger,
		Extra:      http.HandlerFunc(serveExtra),
	})
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		engine.Close()
		return nil, err
	}
	s := &Server{
		cfg:    cfg,
		log:    cfg.Logger,
		engine: engine,
		ln:     ln,
		done:   make(chan error, 1),
		http: &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 30 * time.Second,
			IdleTimeout:       5 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
		},
	}
	go func() { s.done <- s.http.Serve(ln) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the endpoint URL clients use.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Engine exposes the storage engine (benchmarks read its disk usage).
func (s *Server) Engine() *embedded.Engine { return s.engine }

// Close stops accepting requests, lets in-flight ones finish (until ctx is
// done), then closes the engine. It is safe to call more than once.
func (s *Server) Close(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		s.http.Close()
	}
	if serveErr := <-s.done; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	s.done <- http.ErrServerClosed // later Close calls do not block
	return errors.Join(err, s.engine.Close())
}

func serveExtra(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/health", "/healthz":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status":"ok"}`)
	default:
		http.NotFound(w, r)
	}
}

// requireLoopback refuses a non-loopback listen address: with --auth off
// anyone who can reach the port can read and write every log.
func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("refusing to listen on %q with --auth off: it accepts any credentials, so it only binds loopback addresses", addr)
}

// offAuth accepts any credentials (or none): the caller acts in the
// configured account, in the region its signature names.
type offAuth struct{ account string }

func (a offAuth) Authenticate(r *http.Request, body []byte) (protocol.Identity, error) {
	return protocol.Identity{Account: a.account, Region: protocol.RegionFromRequest(r)}, nil
}
