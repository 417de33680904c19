package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/cairnlog/cairn/internal/tlsconf"
)

// DefaultPprofListen is where the profiler listens when Config.Pprof is set
// and Config.PprofListen is empty (Go's usual profiler port).
const DefaultPprofListen = "127.0.0.1:6060"

// TLSInfo says how the server serves HTTPS, for the start-up log.
type TLSInfo struct {
	Enabled    bool
	CertFile   string
	SelfSigned bool
	// Created says this start generated the self-signed pair.
	Created bool
	// Fingerprint is the SHA-256 of the certificate in force.
	Fingerprint string
}

// transport is what the server puts between its listener and the API
// handler: TLS (the certificate, reloadable), and the profiler on a
// listener of its own.
//
// The profiler gets its own loopback listener instead of a path on the API
// listener, because the API listener may be reachable from the network
// and everything that reaches it through a local reverse proxy (a common
// way to add TLS) comes from a loopback address, so a remote-address check
// on the API listener would let the whole network in. A separate
// loopback-only port is reachable only from this machine, and the
// profiler's long responses (a 30 s CPU profile) stay out of the API
// server's timeouts.
type transport struct {
	cert       *tlsconf.Certificate // nil: plain HTTP
	selfSigned bool
	created    bool
	pprofLn    net.Listener // nil: no profiler
	pprof      *http.Server
	pprofDone  chan error
}

// newTransport checks the listen addresses and loads (or generates) the
// certificate. It binds nothing.
func newTransport(cfg Config) (*transport, error) {
	t := &transport{}
	if cfg.TLSSelfSigned && (cfg.TLSCertFile != "" || cfg.TLSKeyFile != "") {
		return nil, errors.New("give either a TLS certificate and key or self-signed, not both")
	}
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return nil, errors.New("a TLS certificate needs its key, and a key its certificate")
	}
	if cfg.Pprof {
		if err := tlsconf.CheckProfilerListen(pprofListen(cfg)); err != nil {
			return nil, err
		}
	}
	switch {
	case cfg.TLSSelfSigned:
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		ss, err := tlsconf.EnsureSelfSigned(cfg.DataDir, selfSignedHosts(cfg.Listen), cfg.Now())
		if err != nil {
			return nil, fmt.Errorf("self-signed TLS certificate: %w", err)
		}
		if t.cert, err = tlsconf.Load(ss.CertFile, ss.KeyFile); err != nil {
			return nil, err
		}
		t.selfSigned, t.created = true, ss.Created
	case cfg.TLSCertFile != "":
		var err error
		if t.cert, err = tlsconf.Load(cfg.TLSCertFile, cfg.TLSKeyFile); err != nil {
			return nil, err
		}
	case cfg.Auth == "sigv4":
		// Auth off is held to loopback already (auth.CheckListenAddr).
		if err := tlsconf.CheckPlainHTTP(cfg.Listen, cfg.InsecureHTTP); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// selfSignedHosts is what a self-signed certificate must name besides
// loopback: the listen host, or the machine's name when the server listens
// on every interface.
func selfSignedHosts(listen string) []string {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return nil
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if name, err := os.Hostname(); err == nil {
			return []string{name}
		}
		return nil
	}
	return []string{host}
}

func pprofListen(cfg Config) string {
	if cfg.PprofListen != "" {
		return cfg.PprofListen
	}
	return DefaultPprofListen
}

// listen binds the profiler's listener (when enabled) and the API listener,
// wrapped in TLS when a certificate is set. On error nothing stays open.
func (t *transport) listen(cfg Config) (net.Listener, error) {
	if cfg.Pprof {
		ln, err := net.Listen("tcp", pprofListen(cfg))
		if err != nil {
			return nil, fmt.Errorf("profiler: %w", err)
		}
		t.pprofLn = ln
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		if t.pprofLn != nil {
			t.pprofLn.Close()
		}
		return nil, err
	}
	if t.cert != nil {
		ln = tls.NewListener(ln, t.cert.ServerConfig())
	}
	return ln, nil
}

// servePprof starts the profiler on its listener; close stops it.
func (t *transport) servePprof(log *slog.Logger) {
	if t.pprofLn == nil {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	t.pprof = &http.Server{
		Handler:           LoopbackOnly(mux),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	t.pprofDone = make(chan error, 1)
	go func() { t.pprofDone <- t.pprof.Serve(t.pprofLn) }()
}

// LoopbackOnly answers 403 to requests whose peer is not a loopback
// address. The profiler's listener is loopback-bound already; this keeps
// it private should it ever be reached otherwise (a listener handed over
// by a supervisor, a changed default).
func LoopbackOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !tlsconf.IsLoopbackRemote(r.RemoteAddr) {
			http.Error(w, "the profiler answers loopback clients only", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// close stops the profiler.
func (t *transport) close(ctx context.Context) error {
	if t.pprof == nil {
		return nil
	}
	err := t.pprof.Shutdown(ctx)
	if err != nil {
		t.pprof.Close()
	}
	if serveErr := <-t.pprofDone; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	t.pprofDone <- http.ErrServerClosed // later calls do not block
	return err
}

func (t *transport) scheme() string {
	if t.cert != nil {
		return "https"
	}
	return "http"
}

func (t *transport) info() TLSInfo {
	if t.cert == nil {
		return TLSInfo{}
	}
	return TLSInfo{Enabled: true, CertFile: t.cert.CertFile(), SelfSigned: t.selfSigned, Created: t.created, Fingerprint: t.cert.Fingerprint()}
}

// ReloadTLS re-reads the certificate and key (SIGHUP); new handshakes use
// the new pair. A pair that does not load is refused and the one in force
// stays. Without TLS it does nothing.
func (s *Server) ReloadTLS() error {
	if s.tr.cert == nil {
		return nil
	}
	return s.tr.cert.Reload()
}

// TLS says how the server serves HTTPS.
func (s *Server) TLS() TLSInfo { return s.tr.info() }

// PprofAddr is the profiler's address, or "" when it is off.
func (s *Server) PprofAddr() string {
	if s.tr.pprofLn == nil {
		return ""
	}
	return s.tr.pprofLn.Addr().String()
}
