// Package server assembles a running Cairn server and does nothing else: the
// security (auth.Security), the storage engine, the families of operations,
// the wire protocol and the HTTP listener, stopped in reverse order.
//
// A request flows: net/http → protocol.Handler (framing, auth → a
// caller.Caller, errors) → the operation's family (logs for the core,
// logs/livetail, logs/metricfilter; CloudWatch semantics) → store.Store (the
// embedded engine). Each family registers its operations on one
// protocol.Table here. Requests that are not API calls (GET /health) are
// served here.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/cairnlog/cairn/internal/audit"
	"github.com/cairnlog/cairn/internal/auth"
	"github.com/cairnlog/cairn/internal/awsmodel"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/console"
	"github.com/cairnlog/cairn/internal/delivery"
	"github.com/cairnlog/cairn/internal/iamshare"
	"github.com/cairnlog/cairn/internal/ingest"
	"github.com/cairnlog/cairn/internal/ingest/otlp"
	"github.com/cairnlog/cairn/internal/ingest/syslog"
	"github.com/cairnlog/cairn/internal/insights/run"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/accountpolicy"
	"github.com/cairnlog/cairn/internal/logs/anomaly"
	"github.com/cairnlog/cairn/internal/logs/bearer"
	"github.com/cairnlog/cairn/internal/logs/dataprotection"
	"github.com/cairnlog/cairn/internal/logs/datasource"
	"github.com/cairnlog/cairn/internal/logs/expiry"
	"github.com/cairnlog/cairn/internal/logs/export"
	"github.com/cairnlog/cairn/internal/logs/importtask"
	"github.com/cairnlog/cairn/internal/logs/insights"
	"github.com/cairnlog/cairn/internal/logs/integration"
	"github.com/cairnlog/cairn/internal/logs/livetail"
	"github.com/cairnlog/cairn/internal/logs/lookuptable"
	"github.com/cairnlog/cairn/internal/logs/metricfilter"
	"github.com/cairnlog/cairn/internal/logs/resourcepolicy"
	"github.com/cairnlog/cairn/internal/logs/scheduledquery"
	"github.com/cairnlog/cairn/internal/logs/storagetier"
	"github.com/cairnlog/cairn/internal/logs/subscription"
	"github.com/cairnlog/cairn/internal/logs/syslogconfig"
	"github.com/cairnlog/cairn/internal/logs/transformer"
	"github.com/cairnlog/cairn/internal/logs/vended"
	"github.com/cairnlog/cairn/internal/metrics"
	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/quota"
	"github.com/cairnlog/cairn/internal/store"
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
	if cfg.Auth == "" {
		cfg.Auth = "sigv4"
	}
	// The transport first: a refused listen address fails the start before
	// anything is written to the data directory.
	tr, err := newTransport(cfg)
	if err != nil {
		return nil, err
	}
	model, err := awsmodel.Load()
	if err != nil {
		return nil, err
	}
	failed := make(chan error, 1)
	// An engine that nodes share (PostgreSQL) opens before the security,
	// which keeps the cluster's root key and STS key in it; the embedded
	// one after, so that a refused configuration writes nothing.
	var engine Engine
	var shared auth.SharedSecrets
	if isShared(cfg.Store) {
		if engine, err = openEngine(cfg, func(err error) { failed <- err }); err != nil {
			return nil, err
		}
		shared, _ = engine.(auth.SharedSecrets)
	}
	sec, err := auth.NewSecurity(auth.SecurityConfig{Mode: auth.Mode(cfg.Auth), Listen: cfg.Listen, DataDir: cfg.DataDir,
		AccountID: cfg.AccountID, IAMFile: cfg.IAMFile, Now: cfg.Now, Shared: shared})
	if err != nil {
		if engine != nil {
			engine.Close()
		}
		return nil, err
	}
	hub := tail.New(tail.Config{MaxSessionsPerAccount: cfg.LiveTailMaxSessions})
	if engine == nil {
		if engine, err = openEngine(cfg, func(err error) { failed <- err }); err != nil {
			return nil, err
		}
	}
	engine.Subscribe(func(a store.Appended) { hub.Publish(a.Scope, a.Group, a.Stream, a.Events) }) // Live Tail; ends with the engine
	// The Prometheus registry: the server's own metrics here, other
	// packages register their collectors on it (metrics.Collector).
	reg := metrics.NewRegistry()
	sm := newServerMetrics(reg, engine, hub)
	reg.Register(engineCollector(engine))
	engine.Subscribe(sm.appended)
	compile := func(expr string) (logs.Pattern, error) { return pattern.Compile(expr) }
	ops := protocol.NewTable()
	// Account policies of every type; the enforcing families look theirs up
	// with accounts.Effective.
	// protect (data protection, made below once the enforcer exists) adds
	// the findings destination's resource policy when an account policy
	// is stored; no request is served before it is set.
	var protect *dataprotection.Service
	accounts := accountpolicy.New(accountpolicy.Config{Store: engine, Compile: compile, Now: cfg.Now,
		Documents: map[string]func(string) error{accountpolicy.Transformer: transformer.CheckAccountDocument},
		Stored: map[string]func(context.Context, caller.Caller, string){accountpolicy.DataProtection: func(ctx context.Context, c caller.Caller, doc string) {
			protect.AccountPolicyStored(ctx, c, doc)
		}}})
	accounts.Register(ops)
	// Transformers run first at ingest (before data protection); a group
	// without its own transformer uses the account's TRANSFORMER_POLICY.
	transformers := transformer.New(transformer.Config{Store: engine, Now: cfg.Now, AccountLevel: transformer.AccountLevel(accounts)})
	transformers.Register(ops)
	// Data protection masks at ingest (the last stage) and keeps the
	// originals, encrypted with DataDir/unmask.key, for logs:Unmask.
	unmaskKey, err := dataprotection.LoadKey(cfg.DataDir)
	if err != nil {
		engine.Close()
		return nil, err
	}
	// Resource policies, and the check Cairn's own writers (audit, syslog,
	// subscription log groups, findings) make as service principals.
	policies := resourcepolicy.New(resourcepolicy.Config{Store: engine, Now: cfg.Now})
	enforce := resourcepolicy.NewEnforcer(policies, cfg.Logger)
	reg.Register(enforce)
	protect, err = dataprotection.New(dataprotection.Config{Store: engine, Accounts: accounts, Now: cfg.Now, Logger: cfg.Logger, Key: unmaskKey,
		Enforcer: enforce})
	if err != nil {
		engine.Close()
		return nil, err
	}
	protect.Register(ops)
	core := logs.New(logs.Config{Store: engine, Compile: compile, Now: cfg.Now, Logger: cfg.Logger, Model: model,
		Ingest: []logs.IngestStage{transformers.Stage(), protect}, Unmasker: protect})
	core.Register(ops)
	// Tags on the other families' taggable resources (their ARNs).
	for _, kinds := range []map[string]string{vended.TaggableKinds(), subscription.TaggableKinds(), anomaly.TaggableKinds(),
		lookuptable.TaggableKinds(), scheduledquery.TaggableKinds()} {
		for arnType, kind := range kinds {
			core.Taggable(arnType, kind)
		}
	}
	livetail.New(livetail.Config{Store: engine, Hub: hub, Compile: compile, MaxSession: cfg.LiveTailMaxSession}).Register(ops)
	policies.Register(ops)
	vended.New(vended.Config{Store: engine, Enforcer: enforce}).Register(ops)
	storagetier.New(storagetier.Config{Store: engine, Now: cfg.Now}).Register(ops)
	integration.New(integration.Config{Store: engine}).Register(ops)
	importtask.New().Register(ops)
	datasource.New().Register(ops)
	subs := subscription.New(subscription.Config{Store: engine, Compile: compile, Now: cfg.Now})
	subs.Register(ops)
	// Routes that are not API calls (health; metrics, OTLP, the console as
	// they come) share the API's listener. Families add theirs to extra.
	extra := extraHandler()
	bt := bearer.New(engine)
	bt.Register(ops)
	sec.SetBearerCheck(bt.Enabled)
	extra.Handle("/v1/logs", otlp.New(otlp.Config{Auth: sec, Logs: core, Now: cfg.Now, Logger: cfg.Logger}))
	// Background work (delivery, followers of the feed, query runners,
	// listeners) is started here, owned by the server, and closed by Close
	// in reverse order, after the HTTP server stopped and before the engine:
	// add each to workers as it starts, and on a failed start close what
	// already runs (closeAll).
	var workers []io.Closer
	closeAll := func() error {
		var err error
		for i := len(workers) - 1; i >= 0; i-- {
			err = errors.Join(err, workers[i].Close())
		}
		return err
	}
	// Per-append records (originals, transformed versions) expire with
	// their events: swept every few minutes (the janitor's reclaim of
	// expired blocks is what they follow).
	// An IAM file on a shared store is the cluster's (internal/iamshare).
	var iamSync *iamshare.Sync
	if st, ok := engine.(iamshare.Store); ok && cfg.IAMFile != "" && cfg.Auth != "off" {
		if iamSync, err = iamshare.Start(iamshare.Config{Store: st, File: cfg.IAMFile, Apply: sec.ReloadDocument, Logger: cfg.Logger}); err != nil {
			engine.Close()
			return nil, err
		}
		workers = append(workers, iamSync)
	}
	for _, sw := range []*expiry.Sweeper{protect.Expiry(), transformers.Expiry()} {
		sw.Start(5 * time.Minute)
		workers = append(workers, sw)
	}
	detectors := anomaly.New(anomaly.Config{Store: engine, Now: cfg.Now, Compile: compile, Logger: cfg.Logger})
	detectors.Register(ops)
	detectors.Start()
	workers = append(workers, detectors)
	counter, err := metricfilter.StartCounter(context.Background(), metricfilter.CounterConfig{Store: engine, Compile: compile,
		Logger: cfg.Logger, SaveInterval: cfg.MetricFilterSaveInterval, Transformed: transformers.Transformed})
	if err != nil {
		closeAll()
		engine.Close()
		return nil, err
	}
	workers = append(workers, counter)
	syslogAddr, err := startSyslog(cfg, engine, core, enforce, reg, ops, &workers)
	if err != nil {
		closeAll()
		engine.Close()
		return nil, err
	}
	// Subscription delivery: one follower per filter, told of changes by
	// the family it reads them from.
	deliver, err := delivery.New(delivery.Config{Store: engine, Sinks: cfg.Sinks, Logger: cfg.Logger, Now: cfg.Now,
		Transformed: transformers.Transformed, CheckGroupWrite: subscriptionCheck(enforce)})
	if err != nil {
		closeAll()
		engine.Close()
		return nil, err
	}
	reg.Register(counter)
	metricfilter.New(metricfilter.Config{Compile: compile, Store: engine, Now: cfg.Now, Counter: counter}).Register(ops)
	sink, err := export.NewSink(cfg.Export)
	if err != nil {
		closeAll()
		engine.Close()
		return nil, err
	}
	exports := export.New(export.Config{Store: engine, Sink: sink, Now: cfg.Now})
	exports.Register(ops)
	workers = append(workers, exports.StartRunner(export.RunnerConfig{Logger: cfg.Logger, ChunkBytes: cfg.ExportChunkBytes}))
	extra.Handle("GET /metrics", metrics.Handler(reg, metrics.Access{Token: cfg.MetricsToken}))
	deliver.AddSource(subs)
	subs.SetNotifier(deliver)
	// Account-level subscription policies are a second source of filters.
	policySubs := accounts.Subscriptions(subs.Target)
	deliver.AddSource(policySubs)
	policySubs.SetNotifier(deliver.Changed)
	policySubs.Start()
	workers = append(workers, policySubs)
	deliver.Start()
	workers = append(workers, deliver)
	reg.Register(deliver)
	extra.Handle("GET /cairn/subscriptions", deliver)
	// The backup endpoint needs the Server; no request arrives before it
	// is set (Serve starts after).
	var self *Server
	extra.HandleFunc("POST "+BackupPath, func(w http.ResponseWriter, r *http.Request) { self.serveBackup(w, r) })
	var auditor protocol.Auditor
	if cfg.AuditLogGroup != "" {
		ap := auditPrincipal(cfg.AccountID)
		aw, err := audit.Start(context.Background(), audit.Config{Logs: core, Writer: enforce.Writer(core, ap), Group: cfg.AuditLogGroup,
			Account: cfg.AccountID, Region: auditRegion, DataEvents: cfg.AuditDataEvents, FlushInterval: cfg.AuditFlushInterval, Now: cfg.Now,
			Logger: cfg.Logger})
		if err != nil {
			closeAll()
			engine.Close()
			return nil, fmt.Errorf("audit log group %q: %w", cfg.AuditLogGroup, err)
		}
		ensureAuditPolicy(enforce, cfg, ap)
		// Appended last, closed first: records of the last calls are
		// written while the engine is still open.
		workers = append(workers, aw)
		reg.Register(aw)
		auditor = aw
	}
	queries := run.New(run.Config{Store: engine, Now: cfg.Now, Concurrent: cfg.InsightsConcurrentQueries, Transformed: transformers})
	reg.Register(queryCollector(queries))
	workers = append(workers, queries) // cancels running queries before the engine closes
	tables := lookuptable.New(lookuptable.Config{Store: engine, Results: queries.Results, Now: cfg.Now})
	tables.Register(ops)
	iq := insights.New(insights.Config{Store: engine, Manager: queries, Now: cfg.Now, Lookup: tables.Load, Originals: protect.Originals})
	iq.Register(ops)
	sq := scheduledquery.New(scheduledquery.Config{Store: engine, Queries: iq, Results: queries.Results, Tables: tables, Sink: sink, Now: cfg.Now,
		Tick: cfg.ScheduledQueryTick, Logger: cfg.Logger})
	sq.Register(ops)
	workers = append(workers, sq.Start()) // closed before the query manager: a run in progress ends first
	handler := protocol.New(protocol.Config{
		Model:              model,
		Operations:         ops,
		Auth:               sec,
		Query:              sec,
		Logger:             cfg.Logger,
		BodyTimeout:        cfg.BodyTimeout,
		BodyBudget:         cfg.BodyBudget,
		StreamWriteTimeout: cfg.StreamWriteTimeout,
		Extra:              extra,
		Throttle:           throttle(cfg),
		Observe:            sm.observe,
		Audit:              auditor,
	})
	// The console (/console/, and / redirects there) calls the API through
	// handler as its signed-in user.
	console.New(console.Config{API: handler, Auth: sec, Now: cfg.Now, Logger: cfg.Logger}).Mount(extra)
	ln, err := tr.listen(cfg)
	if err != nil {
		closeAll()
		engine.Close()
		return nil, err
	}
	s := &Server{
		cfg:        cfg,
		log:        cfg.Logger,
		engine:     engine,
		ln:         ln,
		done:       make(chan error, 1),
		sec:        sec,
		tr:         tr,
		tail:       hub,
		failed:     failed,
		workers:    closeAll,
		metrics:    reg,
		delivery:   deliver,
		syslogAddr: syslogAddr,
		iamSync:    iamSync,
		// Headers must arrive within 10 s (slowloris); the body's own
		// deadline is set by protocol once the headers are read, and cleared
		// when it has arrived. There is no ReadTimeout or WriteTimeout: both
		// would cut Live Tail, a small request whose response streams for
		// hours.
		http: &http.Server{
			Handler:           handler,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       5 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
		},
	}
	self = s
	go func() { s.done <- s.http.Serve(ln) }()
	tr.servePprof(cfg.Logger)
	return s, nil
}

// Delivery is the subscription delivery manager (its Stats feed
// /cairn/subscriptions and the metrics).
func (s *Server) Delivery() *delivery.Manager { return s.delivery }

// startSyslog registers the syslog family and, when configured, starts its
// writer and listener as workers (the listener closes first: it is appended
// last). It answers the listener's address, or "".
func startSyslog(cfg Config, engine store.Store, core *logs.Service, enforce *resourcepolicy.Enforcer, reg *metrics.Registry, ops *protocol.Table,
	workers *[]io.Closer) (string, error) {
	var ep *syslogconfig.Endpoint
	if cfg.SyslogListen != "" {
		if err := syslogconfig.CheckListen(cfg.SyslogListen, cfg.SyslogRemote); err != nil {
			return "", err
		}
		ep = &syslogconfig.Endpoint{ID: cfg.SyslogEndpointID, Scope: store.Scope{Account: cfg.AccountID, Region: cfg.SyslogRegion}}
		if ep.ID == "" {
			ep.ID = syslogconfig.DefaultEndpointID
		}
		if ep.Scope.Region == "" {
			ep.Scope.Region = "us-east-1"
		}
	}
	// The writer acts as AWS's syslog service principal, whose documented
	// policy names the VPC endpoint as aws:sourceVpce.
	var w ingest.Writer = core
	var allowed func(ctx context.Context, scope store.Scope, group string) bool
	if ep != nil {
		p := resourcepolicy.Principal{Writer: "syslog", Service: resourcepolicy.SyslogPrincipal, Keys: map[string]string{"aws:sourcevpce": ep.ID}}
		w = enforce.Writer(core, p)
		allowed = func(ctx context.Context, scope store.Scope, group string) bool {
			return enforce.Allowed(ctx, scope, p, "logs:PutLogEvents", logs.StreamARN(scope, group, "*"))
		}
	}
	svc, err := syslogconfig.New(context.Background(), syslogconfig.Config{Store: engine, Logs: w, Endpoint: ep, Now: cfg.Now, Logger: cfg.Logger,
		Allowed: allowed})
	if err != nil {
		return "", err
	}
	svc.Register(ops)
	reg.Register(svc)
	if ep == nil {
		return "", nil
	}
	*workers = append(*workers, svc)
	l, err := syslog.Listen(syslog.Config{Addr: cfg.SyslogListen, Handle: svc.Handle, Now: cfg.Now, Logger: cfg.Logger})
	if err != nil {
		return "", fmt.Errorf("syslog listener: %w", err)
	}
	*workers = append(*workers, l)
	cfg.Logger.Info("syslog listening", "addr", l.Addr(), "vpcEndpointId", ep.ID, "account", ep.Scope.Account, "region", ep.Scope.Region)
	return l.Addr(), nil
}

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

// extraHandler serves what is not an API call: health. (The profiler has a
// listener of its own: see transport.)
func extraHandler() *http.ServeMux {
	mux := http.NewServeMux()
	health := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status":"ok"}`)
	}
	mux.HandleFunc("GET /health", health)
	mux.HandleFunc("GET /healthz", health)
	return mux
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

// throttle is the protocol's quota check, or nil when quotas are off.
func throttle(cfg Config) func(account, region, op string) error {
	if cfg.Quotas == nil {
		return nil
	}
	q := *cfg.Quotas
	if q.Now == nil {
		q.Now = cfg.Now
	}
	return quota.New(q).Allow
}
