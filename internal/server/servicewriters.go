package server

import (
	"context"

	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/policygate"
	"github.com/cairnlog/cairn/internal/logs/resourcepolicy"
	"github.com/cairnlog/cairn/internal/store"
)

// Cairn's own writers as the service principals they act as
// (docs/control-plane.md): what Start gives the audit trail and the
// subscription delivery so their writes are judged by resource policies.

// auditRegion is the audit trail's home region (the audit writer's default).
const auditRegion = "us-east-1"

// auditPrincipal is the audit writer as a resource policy sees it:
// CloudTrail, with the trail's ARN as aws:SourceArn.
func auditPrincipal(account string) policygate.Principal {
	return policygate.Principal{Writer: "audit", Service: policygate.AuditPrincipal,
		SourceArn: policygate.AuditTrailARN(account, auditRegion)}
}

// ensureAuditPolicy gives the audit group the policy its writer needs when
// nothing allows it yet and the group has no policy of its own: configuring
// --audit-log-group is the operator's consent, as choosing CloudTrail's
// default role (CloudTrail_CloudWatchLogs_Role, created with its policy by
// the console) is on AWS. A user's later DeleteResourcePolicy is honoured
// until the next start; a group policy of the user's is never replaced.
func ensureAuditPolicy(enforce *policygate.Enforcer, cfg Config, ap policygate.Principal) {
	scope := store.Scope{Account: cfg.AccountID, Region: auditRegion}
	doc := resourcepolicy.WriterPolicy(scope, cfg.AuditLogGroup, ap, "CairnAuditTrailWrite")
	added, err := enforce.Ensure(context.Background(), scope, cfg.AuditLogGroup, ap, doc)
	switch {
	case err != nil:
		cfg.Logger.Warn("audit: could not add the audit log group's resource policy; records wait until one allows them", "group", cfg.AuditLogGroup, "err", err)
	case added:
		cfg.Logger.Info("audit: added a resource policy letting cloudtrail.amazonaws.com write the audit log group",
			"group", cfg.AuditLogGroup, "sourceArn", ap.SourceArn)
	}
}

// subscriptionCheck is delivery's CheckGroupWrite: the log_group sink writes
// as CloudWatch Logs' subscription delivery, logs.amazonaws.com, with the
// filter's log group as aws:SourceArn and its account as aws:SourceAccount
// (another account's, through a cross-account destination), judged by the
// target account's policies.
func subscriptionCheck(enforce *policygate.Enforcer) func(ctx context.Context, target, source store.Scope, sourceGroup, action, group, stream string) error {
	return func(ctx context.Context, target, source store.Scope, sourceGroup, action, group, stream string) error {
		p := policygate.Principal{Writer: "subscription", Service: policygate.SubscriptionPrincipal, SourceArn: logs.GroupARN(source, sourceGroup),
			Keys: map[string]string{"aws:sourceaccount": source.Account}}
		return enforce.Check(ctx, target, p, action, logs.StreamARN(target, group, stream))
	}
}
