// Package policygate is the gate Cairn's own writers pass before they write
// into a log group as an AWS service principal: the Enforcer, which asks the
// resource policies (package logs/resourcepolicy) whether they allow the
// write, counts and warns about each refusal, and wraps a writer so that
// every PutLogEvents and CreateLogStream it makes is checked first.
//
// Data flows: a writer (the audit trail, the syslog writer, subscription
// delivery into a log group, data protection findings) → Enforcer.Check or
// Enforcer.Writer (its Principal: service, aws:SourceArn, other condition
// keys) → resourcepolicy.Service.Permits → allowed: the write goes on to the
// core logs service; refused: a *RefusedError to the writer (each writer's
// package says what it then does), cairn_resource_policy_refused_writes_total
// counts it, and the server log warns once per group and writer until a
// write is allowed again. At configuration time (a vended-log delivery, a
// findings destination, the audit group) Ensure and EnsureDelivery add the
// group policy AWS's infrastructure adds (resourcepolicy.Service.Ensure). A
// policy is never judged for IAM callers: only for these writes, as on AWS.
package policygate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/resourcepolicy"
	"github.com/cairnlog/cairn/internal/metrics"
	"github.com/cairnlog/cairn/internal/store"
)

// The writes Cairn makes into log groups on its own behalf, and the AWS
// service principal each acts as (docs/control-plane.md has the table with
// the evidence; each writer's package says what it does when refused):
//
//   - the audit trail (package audit) as cloudtrail.amazonaws.com, the
//     principal CloudTrail's CloudWatch Logs role trusts, with aws:SourceArn
//     the trail's ARN (AuditTrailARN) and the actions of CloudTrail's
//     documented role policy: logs:CreateLogStream and logs:PutLogEvents on
//     the group's streams;
//   - the syslog writer (package logs/syslogconfig) as
//     syslog.logs.amazonaws.com, with aws:sourceVpce the listener's VPC
//     endpoint ID (AWS's syslog ingestion scenario: the user adds that
//     policy to the group before PutSyslogConfiguration);
//   - subscription delivery into a log group (package delivery's log_group
//     sink) as logs.amazonaws.com, the principal CloudWatch Logs delivers
//     subscription data as (the trust and permission policies AWS documents
//     for Kinesis, Firehose and Lambda destinations), with aws:SourceArn the
//     source log group's ARN;
//   - data protection audit findings (package logs/dataprotection) as
//     delivery.logs.amazonaws.com, the vended-log delivery principal AWS
//     documents for findings destinations.
const (
	AuditPrincipal        = "cloudtrail.amazonaws.com"
	SyslogPrincipal       = "syslog.logs.amazonaws.com"
	SubscriptionPrincipal = "logs.amazonaws.com"
	DeliveryPrincipal     = "delivery.logs.amazonaws.com"
)

// AuditTrailName is the name of the trail Cairn's audit writer is: its ARN
// (AuditTrailARN) is the aws:SourceArn of the audit writes.
const AuditTrailName = "cairn-audit"

// AuditTrailARN is the ARN of Cairn's audit trail in account and region.
func AuditTrailARN(account, region string) string {
	return fmt.Sprintf("arn:%s:cloudtrail:%s:%s:trail/%s", partitionOf(region), region, account, AuditTrailName)
}

func partitionOf(region string) string {
	// logs.GroupARN knows the partitions; take it from there.
	arn := logs.GroupARN(store.Scope{Region: region}, "")
	return strings.SplitN(arn, ":", 3)[1]
}

// Principal is one of Cairn's own writers as a resource policy sees it
// (the policies judge it; it is defined beside them).
type Principal = resourcepolicy.Principal

// RefusedError is a write no resource policy allows. It is not permanent:
// the write succeeds once a policy allows it.
type RefusedError struct {
	Principal, Action, Resource string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("no resource policy allows %s to perform %s on %s", e.Principal, e.Action, e.Resource)
}

// IsRefused reports whether err is (or wraps) a RefusedError.
func IsRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}

// Enforcer is the check every Cairn writer makes before it writes into a
// log group as a service principal: it asks Service.Allows, counts each
// refused attempt (cairn_resource_policy_refused_writes_total, by writer and
// principal) and warns in the server log once per group and writer until a
// write is allowed again (then it says so, once).
type Enforcer struct {
	svc *resourcepolicy.Service
	log *slog.Logger

	mu      sync.Mutex
	refused map[[2]string]uint64 // by writer and principal
	warned  map[warnKey]bool     // groups refused since last allowed
}

type warnKey struct {
	scope         store.Scope
	group, writer string
}

// New returns an Enforcer over svc's policies.
func New(svc *resourcepolicy.Service, log *slog.Logger) *Enforcer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Enforcer{svc: svc, log: log, refused: map[[2]string]uint64{}, warned: map[warnKey]bool{}}
}

// Check reports nil when the policies of scope let p perform action on
// resourceArn (a log group or stream ARN of scope), else a *RefusedError,
// counted and warned about.
func (e *Enforcer) Check(ctx context.Context, scope store.Scope, p Principal, action, resourceArn string) error {
	group, _ := resourcepolicy.GroupOf(scope, resourceArn)
	k := warnKey{scope: scope, group: group, writer: p.Writer}
	if e.svc.Permits(ctx, scope, p, action, resourceArn) {
		e.mu.Lock()
		was := e.warned[k]
		delete(e.warned, k)
		e.mu.Unlock()
		if was {
			e.log.Info("a resource policy allows Cairn's writer again; writing resumes", "writer", p.Writer,
				"principal", p.Service, "account", scope.Account, "region", scope.Region, "logGroup", group)
		}
		return nil
	}
	e.mu.Lock()
	e.refused[[2]string{p.Writer, p.Service}]++
	first := !e.warned[k]
	e.warned[k] = true
	e.mu.Unlock()
	if first {
		e.log.Warn("no resource policy allows Cairn's writer to write into this log group; writes are refused until one does (docs/control-plane.md)",
			"writer", p.Writer, "principal", p.Service, "action", action, "account", scope.Account, "region", scope.Region,
			"logGroup", group, "sourceArn", p.SourceArn)
	}
	return &RefusedError{Principal: p.Service, Action: action, Resource: resourceArn}
}

// Allowed reports, without counting or warning, whether p may perform
// action on resourceArn now (for a configuration-time hint).
func (e *Enforcer) Allowed(ctx context.Context, scope store.Scope, p Principal, action, resourceArn string) bool {
	return e.svc.Permits(ctx, scope, p, action, resourceArn)
}

// Refused is how many attempts of writer were refused so far.
func (e *Enforcer) Refused(writer string) uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var n uint64
	for k, v := range e.refused {
		if k[0] == writer {
			n += v
		}
	}
	return n
}

// Collect implements metrics.Collector.
func (e *Enforcer) Collect(emit func(metrics.Family)) {
	e.mu.Lock()
	keys := make([][2]string, 0, len(e.refused))
	for k := range e.refused {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return strings.Compare(a[0]+" "+a[1], b[0]+" "+b[1]) })
	samples := make([]metrics.Sample, 0, len(keys))
	for _, k := range keys {
		samples = append(samples, metrics.Sample{Labels: []metrics.Label{{Name: "writer", Value: k[0]}, {Name: "principal", Value: k[1]}},
			Value: float64(e.refused[k])})
	}
	e.mu.Unlock()
	emit(metrics.Family{Name: "cairn_resource_policy_refused_writes_total", Type: metrics.Counter, Samples: samples,
		Help: "Write attempts by Cairn's own writers (audit, syslog, subscription, findings) into a log group that no resource policy allowed; a retried write counts again."})
}

// Writer wraps w so that its writes are checked as p: PutLogEvents for
// logs:PutLogEvents and CreateLogStream for logs:CreateLogStream, on the
// stream's ARN in the caller's scope.
func (e *Enforcer) Writer(w logs.Writer, p Principal) logs.Writer {
	return &gated{w: w, e: e, p: p}
}

type gated struct {
	w logs.Writer
	e *Enforcer
	p Principal
}

func (g *gated) PutLogEvents(ctx context.Context, c caller.Caller, in *logs.PutLogEventsInput) (*logs.PutLogEventsOutput, error) {
	scope := logs.Scope(c)
	if err := g.e.Check(ctx, scope, g.p, "logs:PutLogEvents", logs.StreamARN(scope, deref(in.LogGroupName), deref(in.LogStreamName))); err != nil {
		return nil, err
	}
	return g.w.PutLogEvents(ctx, c, in)
}

func (g *gated) CreateLogStream(ctx context.Context, c caller.Caller, in *logs.CreateLogStreamInput) (*struct{}, error) {
	scope := logs.Scope(c)
	if err := g.e.Check(ctx, scope, g.p, "logs:CreateLogStream", logs.StreamARN(scope, in.LogGroupName, in.LogStreamName)); err != nil {
		return nil, err
	}
	return g.w.CreateLogStream(ctx, c, in)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Ensure gives group the policy doc when nothing allows p there yet and the
// group has no policy of its own (resourcepolicy.Service.Ensure).
func (e *Enforcer) Ensure(ctx context.Context, scope store.Scope, group string, p Principal, doc string) (bool, error) {
	return e.svc.Ensure(ctx, scope, group, p, doc)
}

// AccountSourceArn is "arn:aws:logs:REGION:ACCOUNT:*", the aws:SourceArn
// AWS's log delivery policies allow (any source of the account).
func AccountSourceArn(scope store.Scope) string {
	return "arn:" + partitionOf(scope.Region) + ":logs:" + scope.Region + ":" + scope.Account + ":*"
}

// DeliveryWriter is AWS's log delivery service (vended logs, data
// protection findings) writing for sources of scope's account; writer
// names it in metrics.
func DeliveryWriter(scope store.Scope, writer string) Principal {
	return Principal{Writer: writer, Service: DeliveryPrincipal, SourceArn: AccountSourceArn(scope)}
}

// EnsureDelivery is what AWS's delivery infrastructure does when c
// configures a delivery into group: when c may put resource policies (AWS
// asks for logs:PutResourcePolicy, logs:DescribeResourcePolicies and
// logs:DescribeLogGroups) and nothing allows delivery.logs.amazonaws.com
// there yet, the group gets AWS's AWSLogDeliveryWrite20150319 policy (Ensure);
// the addition is logged. Without those permissions AWS leaves the policy to
// the user, and so does Cairn.
func (e *Enforcer) EnsureDelivery(ctx context.Context, c caller.Caller, group, writer string) {
	scope := logs.Scope(c)
	for _, a := range []string{"logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"} {
		if c.Authorize(a, logs.GroupResource(scope, group)) != nil {
			return
		}
	}
	p := DeliveryWriter(scope, writer)
	added, err := e.Ensure(ctx, scope, group, p, resourcepolicy.WriterPolicy(scope, group, p, "AWSLogDeliveryWrite20150319"))
	switch {
	case err != nil:
		e.log.Warn("could not add the log group's resource policy for delivery.logs.amazonaws.com", "writer", writer,
			"account", scope.Account, "region", scope.Region, "logGroup", group, "err", err)
	case added:
		e.log.Info("added a resource policy letting delivery.logs.amazonaws.com write into the log group, as AWS does when a delivery is configured",
			"writer", writer, "account", scope.Account, "region", scope.Region, "logGroup", group)
	}
}
