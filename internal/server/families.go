package server

import (
	"context"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/accountpolicy"
	"github.com/cairnlog/cairn/internal/logs/anomaly"
	"github.com/cairnlog/cairn/internal/logs/bearer"
	"github.com/cairnlog/cairn/internal/logs/dataprotection"
	"github.com/cairnlog/cairn/internal/logs/datasource"
	"github.com/cairnlog/cairn/internal/logs/importtask"
	"github.com/cairnlog/cairn/internal/logs/integration"
	"github.com/cairnlog/cairn/internal/logs/livetail"
	"github.com/cairnlog/cairn/internal/logs/lookuptable"
	"github.com/cairnlog/cairn/internal/logs/policygate"
	"github.com/cairnlog/cairn/internal/logs/resourcepolicy"
	"github.com/cairnlog/cairn/internal/logs/scheduledquery"
	"github.com/cairnlog/cairn/internal/logs/storagetier"
	"github.com/cairnlog/cairn/internal/logs/subscription"
	"github.com/cairnlog/cairn/internal/logs/transformer"
	"github.com/cairnlog/cairn/internal/logs/vended"
	"github.com/cairnlog/cairn/internal/readahead"
	"github.com/cairnlog/cairn/internal/store"
)

// registerFamilies registers the API families that have no background work of
// their own on the operation table (those that have are in workers.go), in
// the order they build on each other: account policies, transformers and
// data protection (the core's ingest stages) before the core, the core
// before the families whose resources it tags.
func (a *assembly) registerFamilies() error {
	cfg, engine, ops, compile := a.cfg, a.engine, a.ops, a.compile
	// Account policies of every type; the enforcing families look theirs up
	// with accounts.Effective.
	// a.protect (made below, once the enforcer exists) adds the findings
	// destination's resource policy when a DATA_PROTECTION_POLICY account
	// policy is stored; no request is served before it is set.
	a.accounts = accountpolicy.New(accountpolicy.Config{Store: engine, Compile: compile, Now: cfg.Now, Logger: cfg.Logger,
		Documents: map[string]func(string) error{accountpolicy.Transformer: transformer.CheckAccountDocument},
		Stored: map[string]func(context.Context, caller.Caller, string){accountpolicy.DataProtection: func(ctx context.Context, c caller.Caller, doc string) {
			a.protect.AccountPolicyStored(ctx, c, doc)
		}}})
	a.accounts.Register(ops)
	// Transformers run first at ingest (before data protection); a group
	// without its own transformer uses the account's TRANSFORMER_POLICY.
	a.transformers = transformer.New(transformer.Config{Store: engine, Now: cfg.Now, AccountLevel: transformer.AccountLevel(a.accounts)})
	a.transformers.Register(ops)
	// Data protection masks at ingest (the last stage) and keeps the
	// originals, encrypted with DataDir/unmask.key, for logs:Unmask.
	unmaskKey, err := dataprotection.LoadKey(cfg.DataDir)
	if err != nil {
		return err
	}
	// Resource policies, and the check Cairn's own writers (audit, syslog,
	// subscription log groups, findings) make as service principals.
	policies := resourcepolicy.New(resourcepolicy.Config{Store: engine, Now: cfg.Now})
	a.enforce = policygate.New(policies, cfg.Logger)
	a.reg.Register(a.enforce)
	a.protect, err = dataprotection.New(dataprotection.Config{Store: engine, Accounts: a.accounts, Now: cfg.Now, Logger: cfg.Logger,
		Key: unmaskKey, Enforcer: a.enforce})
	if err != nil {
		return err
	}
	a.protect.Register(ops)
	// FilterLogEvents prepares the next page on a worker of its own while
	// the client reads the current one (the embedded engine only: it needs
	// the engine's read stamps); stopped with the other workers.
	var ahead *readahead.Cache[*logs.FilterLogEventsOutput]
	if _, ok := engine.(store.ReadVersioner); ok && !cfg.NoReadAhead {
		ahead = readahead.New[*logs.FilterLogEventsOutput](readahead.Config{})
		a.workers = append(a.workers, ahead)
	}
	a.core = logs.New(logs.Config{Store: engine, Compile: compile, Now: cfg.Now, Logger: cfg.Logger, Model: a.model,
		Ingest: []logs.IngestStage{a.transformers.Stage(), a.protect}, Unmasker: a.protect, ReadAhead: ahead})
	a.core.Register(ops)
	// Tags on the other families' taggable resources (their ARNs).
	for _, kinds := range []map[string]string{vended.TaggableKinds(), subscription.TaggableKinds(), anomaly.TaggableKinds(),
		lookuptable.TaggableKinds(), scheduledquery.TaggableKinds()} {
		for arnType, kind := range kinds {
			a.core.Taggable(arnType, kind)
		}
	}
	livetail.New(livetail.Config{Store: engine, Hub: a.hub, Compile: compile, MaxSession: cfg.LiveTailMaxSession}).Register(ops)
	policies.Register(ops)
	vended.New(vended.Config{Store: engine, Enforcer: a.enforce}).Register(ops)
	storagetier.New(storagetier.Config{Store: engine, Now: cfg.Now}).Register(ops)
	integration.New(integration.Config{Store: engine}).Register(ops)
	importtask.New().Register(ops)
	datasource.New().Register(ops)
	a.subs = subscription.New(subscription.Config{Store: engine, Compile: compile, Now: cfg.Now, Logger: cfg.Logger})
	a.subs.Register(ops)
	bt := bearer.New(engine)
	bt.Register(ops)
	a.sec.SetBearerCheck(bt.Enabled)
	return nil
}
