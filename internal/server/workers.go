package server

import (
	"context"
	"fmt"
	"time"

	"github.com/cairnlog/cairn/internal/audit"
	"github.com/cairnlog/cairn/internal/delivery"
	"github.com/cairnlog/cairn/internal/iamshare"
	"github.com/cairnlog/cairn/internal/insights/run"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/anomaly"
	"github.com/cairnlog/cairn/internal/logs/expiry"
	"github.com/cairnlog/cairn/internal/logs/export"
	"github.com/cairnlog/cairn/internal/logs/insights"
	"github.com/cairnlog/cairn/internal/logs/lookuptable"
	"github.com/cairnlog/cairn/internal/logs/metricfilter"
	"github.com/cairnlog/cairn/internal/logs/policygate"
	"github.com/cairnlog/cairn/internal/logs/scheduledquery"
	"github.com/cairnlog/cairn/internal/logs/syslogconfig"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/syslog"
)

// startWorkers starts the background work (delivery, followers of the feed,
// query runners, listeners) and registers the families that own some.
// Each worker is owned by the server: appended to a.workers as it starts,
// and closed by Close in reverse order, after the HTTP server stopped and
// before the engine (on a failed start, by abort).
func (a *assembly) startWorkers() error {
	for _, start := range []func() error{
		a.startIAMSync,
		a.startExpiry,
		a.startAnomaly,
		a.startMetricFilters,
		a.startSyslog,
		a.startExports,
		a.startDelivery,
		a.startAudit,
		a.startQueries,
	} {
		if err := start(); err != nil {
			return err
		}
	}
	return nil
}

// startIAMSync shares the IAM file of a shared store with the cluster
// (internal/iamshare).
func (a *assembly) startIAMSync() error {
	cfg := a.cfg
	st, ok := a.engine.(iamshare.Store)
	if !ok || cfg.IAMFile == "" || cfg.Auth == "off" {
		return nil
	}
	var err error
	if a.iamSync, err = iamshare.Start(iamshare.Config{Store: st, File: cfg.IAMFile, Apply: a.sec.ReloadDocument, Logger: cfg.Logger}); err != nil {
		return err
	}
	a.workers = append(a.workers, a.iamSync)
	return nil
}

// startExpiry sweeps per-append records (originals, transformed versions),
// which expire with their events, every few minutes (the janitor's reclaim
// of expired blocks is what they follow).
func (a *assembly) startExpiry() error {
	for _, sw := range []*expiry.Sweeper{a.protect.Expiry(), a.transformers.Expiry()} {
		sw.Start(5 * time.Minute)
		a.workers = append(a.workers, sw)
	}
	return nil
}

// startAnomaly registers the anomaly detectors and starts their worker.
func (a *assembly) startAnomaly() error {
	detectors := anomaly.New(anomaly.Config{Store: a.engine, Now: a.cfg.Now, Compile: a.compile, Logger: a.cfg.Logger})
	detectors.Register(a.ops)
	detectors.Start()
	a.workers = append(a.workers, detectors)
	return nil
}

// startMetricFilters starts the metric-filter counter (a follower of the
// feed) and registers the family that configures it.
func (a *assembly) startMetricFilters() error {
	cfg := a.cfg
	counter, err := metricfilter.StartCounter(context.Background(), metricfilter.CounterConfig{Store: a.engine, Compile: a.compile,
		Logger: cfg.Logger, SaveInterval: cfg.MetricFilterSaveInterval, Transformed: a.transformers.Transformed})
	if err != nil {
		return err
	}
	a.workers = append(a.workers, counter)
	a.reg.Register(counter)
	metricfilter.New(metricfilter.Config{Compile: a.compile, Store: a.engine, Now: cfg.Now, Counter: counter}).Register(a.ops)
	return nil
}

// startSyslog registers the syslog family and, when configured, starts its
// writer and listener as workers (the listener closes first: it is appended
// last); a.syslogAddr is the listener's address, or "".
func (a *assembly) startSyslog() error {
	cfg, enforce, core := a.cfg, a.enforce, a.core
	var ep *syslogconfig.Endpoint
	if cfg.SyslogListen != "" {
		if err := syslogconfig.CheckListen(cfg.SyslogListen, cfg.SyslogRemote); err != nil {
			return err
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
	var w logs.Writer = core
	var allowed func(ctx context.Context, scope store.Scope, group string) bool
	if ep != nil {
		p := policygate.Principal{Writer: "syslog", Service: policygate.SyslogPrincipal, Keys: map[string]string{"aws:sourcevpce": ep.ID}}
		w = enforce.Writer(core, p)
		allowed = func(ctx context.Context, scope store.Scope, group string) bool {
			return enforce.Allowed(ctx, scope, p, "logs:PutLogEvents", logs.StreamARN(scope, group, "*"))
		}
	}
	svc, err := syslogconfig.New(context.Background(), syslogconfig.Config{Store: a.engine, Logs: w, Endpoint: ep, Now: cfg.Now, Logger: cfg.Logger,
		Allowed: allowed})
	if err != nil {
		return err
	}
	svc.Register(a.ops)
	a.reg.Register(svc)
	if ep == nil {
		return nil
	}
	a.workers = append(a.workers, svc)
	l, err := syslog.Listen(syslog.Config{Addr: cfg.SyslogListen, Handle: svc.Handle, Now: cfg.Now, Logger: cfg.Logger})
	if err != nil {
		return fmt.Errorf("syslog listener: %w", err)
	}
	a.workers = append(a.workers, l)
	cfg.Logger.Info("syslog listening", "addr", l.Addr(), "vpcEndpointId", ep.ID, "account", ep.Scope.Account, "region", ep.Scope.Region)
	a.syslogAddr = l.Addr()
	return nil
}

// startExports registers the export tasks and starts their runner; the
// sink is shared with scheduled queries.
func (a *assembly) startExports() error {
	cfg := a.cfg
	sink, err := export.NewSink(cfg.Export)
	if err != nil {
		return err
	}
	a.sink = sink
	exports := export.New(export.Config{Store: a.engine, Sink: sink, Now: cfg.Now})
	exports.Register(a.ops)
	a.workers = append(a.workers, exports.StartRunner(export.RunnerConfig{Logger: cfg.Logger, ChunkBytes: cfg.ExportChunkBytes}))
	return nil
}

// startDelivery starts subscription delivery: one follower per filter,
// told of changes by the family it reads them from (the subscription
// filters, and account-level subscription policies as a second source).
func (a *assembly) startDelivery() error {
	cfg := a.cfg
	deliver, err := delivery.New(delivery.Config{Store: a.engine, Sinks: cfg.Sinks, Logger: cfg.Logger, Now: cfg.Now,
		Transformed: a.transformers.Transformed, CheckGroupWrite: subscriptionCheck(a.enforce)})
	if err != nil {
		return err
	}
	a.deliver = deliver
	deliver.AddSource(a.subs)
	a.subs.SetNotifier(deliver)
	policySubs := a.accounts.Subscriptions(a.subs.Target)
	deliver.AddSource(policySubs)
	policySubs.SetNotifier(deliver.Changed)
	policySubs.Start()
	a.workers = append(a.workers, policySubs)
	deliver.Start()
	a.workers = append(a.workers, deliver)
	a.reg.Register(deliver)
	return nil
}

// startAudit starts the audit writer when an audit log group is set.
func (a *assembly) startAudit() error {
	cfg := a.cfg
	if cfg.AuditLogGroup == "" {
		return nil
	}
	ap := auditPrincipal(cfg.AccountID)
	aw, err := audit.Start(context.Background(), audit.Config{Logs: a.core, Writer: a.enforce.Writer(a.core, ap), Group: cfg.AuditLogGroup,
		Account: cfg.AccountID, Region: auditRegion, DataEvents: cfg.AuditDataEvents, FlushInterval: cfg.AuditFlushInterval, Now: cfg.Now,
		Logger: cfg.Logger})
	if err != nil {
		return fmt.Errorf("audit log group %q: %w", cfg.AuditLogGroup, err)
	}
	ensureAuditPolicy(a.enforce, cfg, ap)
	// Appended before the query workers, closed after them: records of the
	// last calls are written while the engine is still open.
	a.workers = append(a.workers, aw)
	a.reg.Register(aw)
	a.auditor = aw
	return nil
}

// startQueries makes the Logs Insights query manager and registers the
// families built on it: lookup tables, Insights, scheduled queries (whose
// runner it starts).
func (a *assembly) startQueries() error {
	cfg := a.cfg
	queries := run.New(run.Config{Store: a.engine, Now: cfg.Now, Concurrent: cfg.InsightsConcurrentQueries, Transformed: a.transformers})
	a.reg.Register(queryCollector(queries))
	a.workers = append(a.workers, queries) // cancels running queries before the engine closes
	tables := lookuptable.New(lookuptable.Config{Store: a.engine, Results: queries.Results, Now: cfg.Now})
	tables.Register(a.ops)
	iq := insights.New(insights.Config{Store: a.engine, Manager: queries, Now: cfg.Now, Lookup: tables.Load, Originals: a.protect.Originals})
	iq.Register(a.ops)
	sq := scheduledquery.New(scheduledquery.Config{Store: a.engine, Queries: iq, Results: queries.Results, Tables: tables, Sink: a.sink, Now: cfg.Now,
		Tick: cfg.ScheduledQueryTick, Logger: cfg.Logger})
	sq.Register(a.ops)
	a.workers = append(a.workers, sq.Start()) // closed before the query manager: a run in progress ends first
	return nil
}
