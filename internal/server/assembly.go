package server

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/cairnlog/cairn/internal/auth"
	"github.com/cairnlog/cairn/internal/awsmodel"
	"github.com/cairnlog/cairn/internal/delivery"
	"github.com/cairnlog/cairn/internal/iamshare"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/accountpolicy"
	"github.com/cairnlog/cairn/internal/logs/dataprotection"
	"github.com/cairnlog/cairn/internal/logs/export"
	"github.com/cairnlog/cairn/internal/logs/policygate"
	"github.com/cairnlog/cairn/internal/logs/subscription"
	"github.com/cairnlog/cairn/internal/logs/transformer"
	"github.com/cairnlog/cairn/internal/metrics"
	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/tail"
)

// assembly is a server being put together by Start: what one step hands
// on to the next (the engine, the operation table, the families that
// others are built on, the workers started so far).
type assembly struct {
	cfg     Config
	model   *awsmodel.Model
	tr      *transport
	failed  chan error // the storage engine failed (Server.Failed)
	engine  Engine
	sec     *auth.Security
	hub     *tail.Hub
	reg     *metrics.Registry
	sm      *serverMetrics
	ops     *protocol.Table
	compile func(string) (logs.Pattern, error)
	// extra serves the routes that are not API calls (health, metrics,
	// OTLP, the console); they share the API's listener.
	extra *http.ServeMux
	// workers is the background work the server owns, in the order it
	// started; Close (or abort) closes it in reverse.
	workers []io.Closer

	// Families other steps build on.
	accounts     *accountpolicy.Service
	transformers *transformer.Service
	enforce      *policygate.Enforcer
	protect      *dataprotection.Service
	core         *logs.Service
	subs         *subscription.Service
	sink         export.Sink
	deliver      *delivery.Manager
	iamSync      *iamshare.Sync // nil unless the IAM file is shared
	auditor      protocol.Auditor
	syslogAddr   string

	handler http.Handler
	ln      net.Listener
	// self is the Server once serve made it; the backup route needs it
	// (no request arrives before: Serve starts after).
	self *Server
}

// withDefaults fills what Config leaves unset.
func withDefaults(cfg Config) Config {
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
	return cfg
}

func newAssembly(cfg Config) *assembly {
	return &assembly{
		cfg:     cfg,
		failed:  make(chan error, 1),
		ops:     protocol.NewTable(),
		compile: func(expr string) (logs.Pattern, error) { return pattern.Compile(expr) },
		extra:   extraHandler(),
	}
}

// open builds the transport, the storage engine and the security, then the
// Live Tail hub and the metrics registry that follow the engine's appends.
func (a *assembly) open() error {
	cfg := a.cfg
	// The transport first: a refused listen address fails the start before
	// anything is written to the data directory.
	tr, err := newTransport(cfg)
	if err != nil {
		return err
	}
	a.tr = tr
	if a.model, err = awsmodel.Load(); err != nil {
		return err
	}
	// An engine that nodes share (PostgreSQL) opens before the security,
	// which keeps the cluster's root key and STS key in it; the embedded
	// one after, so that a refused configuration writes nothing.
	var shared auth.SharedSecrets
	if isShared(cfg.Store) {
		if err = a.openEngine(); err != nil {
			return err
		}
		shared, _ = a.engine.(auth.SharedSecrets)
	}
	a.sec, err = auth.NewSecurity(auth.SecurityConfig{Mode: auth.Mode(cfg.Auth), Listen: cfg.Listen, DataDir: cfg.DataDir,
		AccountID: cfg.AccountID, IAMFile: cfg.IAMFile, Now: cfg.Now, Shared: shared})
	if err != nil {
		return err
	}
	a.hub = tail.New(tail.Config{MaxSessionsPerAccount: cfg.LiveTailMaxSessions})
	if a.engine == nil {
		if err = a.openEngine(); err != nil {
			return err
		}
	}
	hub := a.hub
	a.engine.Subscribe(func(x store.Appended) { hub.Publish(x.Scope, x.Group, x.Stream, x.Events) }) // Live Tail; ends with the engine
	// The Prometheus registry: the server's own metrics here, other
	// packages register their collectors on it (metrics.Collector).
	a.reg = metrics.NewRegistry()
	a.sm = newServerMetrics(a.reg, a.engine, a.hub)
	a.reg.Register(engineCollector(a.engine))
	a.engine.Subscribe(a.sm.appended)
	return nil
}

// openEngine opens the configured engine into a.engine only when it opened:
// a failed Open returns a typed nil pointer, which in the Engine interface
// would not compare equal to nil, and abort would then close it.
func (a *assembly) openEngine() error {
	e, err := openEngine(a.cfg, func(err error) { a.failed <- err })
	if err != nil {
		return err
	}
	a.engine = e
	return nil
}

// listen binds the API's listener, last: nothing is served before every
// family and route is in place.
func (a *assembly) listen() (err error) {
	a.ln, err = a.tr.listen(a.cfg)
	return err
}

// abort undoes a start that failed: the workers started so far, in
// reverse, then the engine when it is open.
func (a *assembly) abort() {
	a.closeWorkers()
	if a.engine != nil {
		a.engine.Close()
	}
}

// closeWorkers closes the workers in reverse order of their start.
func (a *assembly) closeWorkers() error {
	var err error
	for i := len(a.workers) - 1; i >= 0; i-- {
		err = errors.Join(err, a.workers[i].Close())
	}
	return err
}

// serve makes the Server of a finished assembly and starts serving.
func (a *assembly) serve() *Server {
	cfg := a.cfg
	s := &Server{
		cfg:        cfg,
		log:        cfg.Logger,
		engine:     a.engine,
		ln:         a.ln,
		done:       make(chan error, 1),
		sec:        a.sec,
		tr:         a.tr,
		tail:       a.hub,
		failed:     a.failed,
		workers:    a.closeWorkers,
		metrics:    a.reg,
		delivery:   a.deliver,
		syslogAddr: a.syslogAddr,
		iamSync:    a.iamSync,
		// Headers must arrive within 10 s (slowloris); the body's own
		// deadline is set by protocol once the headers are read, and cleared
		// when it has arrived. There is no ReadTimeout or WriteTimeout: both
		// would cut Live Tail, a small request whose response streams for
		// hours.
		http: &http.Server{
			Handler:           a.handler,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       5 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug),
		},
	}
	a.self = s
	go func() { s.done <- s.http.Serve(a.ln) }()
	a.tr.servePprof(cfg.Logger)
	return s
}
