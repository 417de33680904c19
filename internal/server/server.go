// Package server assembles a running Cairn server and does nothing else: the
// security (auth.Security), the storage engine, the families of operations,
// their background workers, the wire protocol and the HTTP listener, stopped
// in reverse order.
//
// A request flows: net/http → the protocol handler (framing, auth → a
// caller.Caller, quotas, errors) → the operation's family (logs for the
// core, one package per family under logs/; CloudWatch semantics) →
// store.Store (the embedded engine, or PostgreSQL when Config.Store names
// one). Every family registers its operations on one protocol.Table here.
// Requests that are not API calls go to the extra mux: /health and
// /healthz, /metrics, /v1/logs (package otlp), the delivery stats, the
// backup endpoint, and the console (with its build-log routes). Cairn's own
// writers (the audit trail, syslog, subscription delivery into a log group,
// findings) store through the core service, gated as the AWS service
// principal each acts as (policygate.Enforcer; servicewriters.go).
//
// Start is the order of assembly; its steps live beside it: assembly.go
// (the engine, security, listener and the Server made of them), engine.go
// (which engine Config.Store opens), families.go (the API families without
// background work), workers.go (the families with background work and every
// worker the server owns), routes.go (the non-API routes, the protocol
// handler, the console), transport.go (TLS and the profiler's own loopback
// listener), metrics.go (the server's own /metrics families), backup.go (the
// online snapshot behind `cairn backup`).
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/cairnlog/cairn/internal/auth"
	"github.com/cairnlog/cairn/internal/delivery"
	"github.com/cairnlog/cairn/internal/iamshare"
	"github.com/cairnlog/cairn/internal/logs/export"
	"github.com/cairnlog/cairn/internal/metrics"
	"github.com/cairnlog/cairn/internal/quota"
	"github.com/cairnlog/cairn/internal/tail"
)

// Config configures a Server. Package cli fills it from flags, environment
// and the config file.
type Config struct {
	Listen    string // host:port; port 0 picks a free one
	DataDir   string
	AccountID string
	Auth      string // "sigv4" (default) or "off" (any credentials; loopback only)
	// IAMFile holds accounts, users, keys, roles and policies; empty means a
	// root key generated on first start in DataDir/credentials.
	IAMFile string
	Logger  *slog.Logger
	// Now is the clock; nil means time.Now (tests move it).
	Now func() time.Time
	// Store is the storage engine: "" or "embedded" (in DataDir), or a
	// postgres:// URL (the PostgreSQL engine; DataDir still holds the
	// credentials and keys).
	Store string
	// Blocks moves old blocks of the PostgreSQL engine to object storage
	// (nil: they stay in PostgreSQL).
	Blocks *BlocksConfig
	// Compression is the codec of blocks as appended: "s2", or zstd at
	// "fastest" or "default" (see embedded.Config).
	Compression string
	// RecompactInterval is how often the embedded engine's re-compaction
	// worker runs (embedded.Config; 0: its default, negative: never).
	RecompactInterval time.Duration
	// RecompactAge is how long blocks stay as appended before that worker
	// may merge them (embedded.Config; 0: DefaultRecompactAge; negative:
	// no wait).
	RecompactAge time.Duration
	// NoReadAhead turns off FilterLogEvents' read-ahead of the next page
	// (package readahead; embedded engine only).
	NoReadAhead bool
	// CacheMiB is the embedded engine's block cache (embedded.Config's
	// CacheSize) in MiB; 0: its default.
	CacheMiB int
	// MemoryLimitMiB is the Go soft memory limit the command sets for the
	// process before Start (0: its default); the server itself does not
	// read it.
	MemoryLimitMiB int
	// LiveTailMaxSession ends Live Tail sessions after this long with
	// SessionTimeoutException (AWS: 3 h); 0 means never.
	LiveTailMaxSession time.Duration
	// BodyTimeout and BodyBudget bound request bodies (see protocol.Config;
	// 0 means protocol's defaults: 30 s, 256 MiB).
	BodyTimeout time.Duration
	BodyBudget  int64
	// StreamWriteTimeout bounds how long a Live Tail stream waits for its
	// client to take one write (0: protocol's default, 30 s).
	StreamWriteTimeout time.Duration
	// LiveTailMaxSessions bounds each account's concurrent Live Tail
	// sessions (LimitExceededException beyond it); 0 means AWS's quota, 15.
	LiveTailMaxSessions int
	// Pprof serves Go's profiler under /debug/pprof/ (off by default: a
	// profile can reveal log contents) on PprofListen, a loopback address
	// of its own (default DefaultPprofListen; see transport).
	Pprof       bool
	PprofListen string
	// TLSCertFile and TLSKeyFile are a PEM certificate (chain) and key to
	// serve HTTPS with, re-read by ReloadTLS; TLSSelfSigned generates a
	// pair in DataDir instead. Neither: plain HTTP.
	TLSCertFile, TLSKeyFile string
	TLSSelfSigned           bool
	// InsecureHTTP allows SigV4 over plain HTTP on a non-loopback address
	// (TLS terminated in front of Cairn); without it such a start fails.
	InsecureHTTP bool
	// InsightsConcurrentQueries bounds each account's running Logs Insights
	// queries (LimitExceededException beyond it); 0 means AWS's quota, 100.
	InsightsConcurrentQueries int
	// ScheduledQueryTick is how often (wall time) the scheduled query worker
	// looks for due runs; 0: every second.
	ScheduledQueryTick time.Duration
	// Quotas enforces AWS's per-account TPS quotas (docs/quotas.md); nil,
	// the default, enforces none. Its clock defaults to Now.
	Quotas *quota.Config
	// MetricsToken, when set, is the bearer token GET /metrics requires
	// from every peer; unset, /metrics answers loopback peers only.
	MetricsToken string
	// MetricFilterSaveInterval is how often metric-filter counters are
	// persisted while events arrive (0: 1 s; see metricfilter.CounterConfig).
	MetricFilterSaveInterval time.Duration
	// Export is where export tasks write (S3 API or a directory); none
	// configured refuses every bucket as AWS refuses one it cannot write.
	Export export.SinkConfig
	// ExportChunkBytes is the uncompressed size of one exported object
	// (0: export.DefaultChunkBytes).
	ExportChunkBytes int
	// Sinks says what each subscription destination ARN is (package
	// delivery); an ARN without one is accepted and its events wait.
	Sinks map[string]delivery.SinkConfig
	// SyslogListen is the address of the syslog listener (TCP and UDP; see
	// package logs/syslogconfig); "" runs none. Syslog carries no
	// credentials, so a non-loopback address needs SyslogRemote as well.
	// SyslogEndpointID is the listener's VPC endpoint ID (default
	// syslogconfig.DefaultEndpointID) and SyslogRegion its region (default
	// us-east-1); it belongs to AccountID.
	SyslogListen     string
	SyslogRemote     bool
	SyslogEndpointID string
	SyslogRegion     string
	// AuditLogGroup, when set, receives a CloudTrail record of every API
	// call (package audit), in AccountID and us-east-1; AuditDataEvents
	// adds PutLogEvents and the reads of log data.
	// LogFormat is how package cli formats Logger's output ("text" or
	// "json"); the server only reports it.
	LogFormat       string
	AuditLogGroup   string
	AuditDataEvents bool
	// AuditFlushInterval batches audit records (0: audit's default, 1 s).
	AuditFlushInterval time.Duration
}

// Server is a running Cairn server.
type Server struct {
	cfg    Config
	log    *slog.Logger
	engine Engine
	http   *http.Server
	ln     net.Listener
	done   chan error
	tail   *tail.Hub
	sec    *auth.Security
	tr     *transport
	failed chan error // the storage engine failed; the process should exit

	syslogAddr  string
	workers     func() error // closes the background work (see Start)
	metrics     *metrics.Registry
	delivery    *delivery.Manager
	workersOnce sync.Once
	iamSync     *iamshare.Sync // nil unless the IAM file is shared
}

// closeWorkers stops the server's background work, once.
func (s *Server) closeWorkers() (err error) {
	s.workersOnce.Do(func() { err = s.workers() })
	return err
}

// Start opens the data directory, binds the listener and serves in the
// background until Close. It reads as the order of assembly; each step is
// a method of assembly in the file named beside it, and a step that fails
// closes what the earlier ones started (abort).
func Start(cfg Config) (*Server, error) {
	a := newAssembly(withDefaults(cfg))
	for _, step := range []func() error{
		a.open,             // assembly.go: transport, engine, security, Live Tail hub, metrics
		a.registerFamilies, // families.go: the API families without background work
		a.startWorkers,     // workers.go: the families with background work, and the workers
		a.mountRoutes,      // routes.go: the non-API routes, the protocol handler, the console
		a.listen,           // assembly.go: bind the listener
	} {
		if err := step(); err != nil {
			a.abort()
			return nil, err
		}
	}
	return a.serve(), nil
}

// Delivery is the subscription delivery manager (its Stats feed
// /cairn/subscriptions and the metrics).
func (s *Server) Delivery() *delivery.Manager { return s.delivery }

// SyslogAddr is the syslog listener's address (TCP and UDP), or "".
func (s *Server) SyslogAddr() string { return s.syslogAddr }

// Failed delivers the storage engine's failure (a WAL write or sync that
// could not complete). The server then refuses every request; the process
// should exit so that a restart recovers from the WAL.
func (s *Server) Failed() <-chan error { return s.failed }

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the endpoint URL clients use.
func (s *Server) URL() string { return s.tr.scheme() + "://" + s.Addr() }

// Engine exposes the storage engine (benchmarks read its disk usage).
func (s *Server) Engine() Engine { return s.engine }

// TailStats reports the Live Tail hub's open sessions and the events and
// message bytes queued in them for their clients, for tests and operators
// (a later metric can report it).
func (s *Server) TailStats() (sessions, bufferedEvents int, bufferedBytes int64) {
	bufferedEvents, bufferedBytes = s.tail.Buffered()
	return s.tail.Sessions(), bufferedEvents, bufferedBytes
}

// Metrics is the server's Prometheus registry (GET /metrics): packages
// assembled later, and tests, register collectors on it.
func (s *Server) Metrics() *metrics.Registry { return s.metrics }

// Close stops accepting requests, lets in-flight ones finish (until ctx is
// done), then closes the engine. It is safe to call more than once.
func (s *Server) Close(ctx context.Context) error {
	// Live Tail streams last as long as their clients; end them first so
	// Shutdown does not wait them out.
	s.tail.Close()
	err := s.http.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		s.http.Close()
	}
	if serveErr := <-s.done; serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	s.done <- http.ErrServerClosed // later Close calls do not block
	return errors.Join(err, s.tr.close(ctx), s.closeWorkers(), s.engine.Close())
}

// ReloadIdentities re-reads the IAM file (SIGHUP); on a shared store it
// also publishes it to every node. On error the identities in force stay.
func (s *Server) ReloadIdentities() error {
	if s.iamSync != nil {
		return s.iamSync.Publish()
	}
	return s.sec.Reload()
}

// IAMVersion is the cluster IAM document's version in force here (0 when
// the IAM file is not shared).
func (s *Server) IAMVersion() int64 {
	if s.iamSync == nil {
		return 0
	}
	return s.iamSync.Version()
}

// CredentialsFile is the generated root credentials file, or "" when the
// server uses an IAM file or runs with auth off; created says whether this
// start created it.
func (s *Server) CredentialsFile() (path string, created bool) {
	return s.sec.CredentialsFile()
}
