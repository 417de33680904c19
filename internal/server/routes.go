package server

import (
	"fmt"
	"net/http"

	"github.com/cairnlog/cairn/internal/console"
	"github.com/cairnlog/cairn/internal/metrics"
	"github.com/cairnlog/cairn/internal/otlp"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/quota"
)

// mountRoutes mounts the routes that are not API calls on extra (OTLP, metrics,
// subscription stats, backup), builds the protocol handler that serves the
// API and passes the rest to extra, and mounts the console, which calls
// the API through that handler.
func (a *assembly) mountRoutes() error {
	cfg := a.cfg
	a.extra.Handle("/v1/logs", otlp.New(otlp.Config{Auth: a.sec, Logs: a.core, Now: cfg.Now, Logger: cfg.Logger}))
	a.extra.Handle("GET /metrics", metrics.Handler(a.reg, metrics.Access{Token: cfg.MetricsToken}))
	a.extra.Handle("GET /cairn/subscriptions", a.deliver)
	// The backup endpoint needs the Server; no request arrives before it
	// is set (Serve starts after).
	a.extra.HandleFunc("POST "+BackupPath, func(w http.ResponseWriter, r *http.Request) { a.self.serveBackup(w, r) })
	handler := protocol.New(protocol.Config{
		Model:              a.model,
		Operations:         a.ops,
		Auth:               a.sec,
		Query:              a.sec,
		Logger:             cfg.Logger,
		BodyTimeout:        cfg.BodyTimeout,
		BodyBudget:         cfg.BodyBudget,
		StreamWriteTimeout: cfg.StreamWriteTimeout,
		Extra:              a.extra,
		Throttle:           throttle(cfg),
		Observe:            a.sm.observe,
		Audit:              a.auditor,
	})
	a.handler = handler
	// The console (/console/, and / redirects there) calls the API through
	// handler as its signed-in user.
	console.New(console.Config{API: handler, Auth: a.sec, Now: cfg.Now, Logger: cfg.Logger}).Mount(a.extra)
	return nil
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
