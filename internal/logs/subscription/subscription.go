// Package subscription is the subscription-filter family of CloudWatch Logs
// operations: Put/Describe/DeleteSubscriptionFilter, and the cross-account
// destinations they may target (Put/Describe/DeleteDestination,
// PutDestinationPolicy).
//
// Filters are resource records of their log group (kind "subscriptionFilter",
// deleted with the group); destinations are account-and-region records (kind
// "destination"). A filter's delivery position is a store cursor of its group
// ("subscription:" + name), set when the filter is created at the feed's
// high-water mark (AWS delivers only what is ingested after the filter
// exists) and kept across updates. Because the engine lists resources per
// scope and group only, every filter also has an index record under the
// empty scope (kind "subscriptionFilterIndex"), which is how the delivery
// manager finds every filter of every account when the server starts.
//
// Data flows: a request → the checks in AWS's order (reference
// pipeline-and-control-plane.md §2.1) → records in the store → Notifier
// (the delivery manager) told to reload; the manager reads the filters back
// through Filters, this package being its delivery.Source.
package subscription

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/delivery"
	"github.com/cairnlog/cairn/internal/iam"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/fieldselect"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
)

// Resource kinds and the cursor prefix this family owns.
const (
	kindFilter      = logs.SubscriptionFilterKind
	kindIndex       = "subscriptionFilterIndex"
	kindDestination = "destination"
	cursorPrefix    = "subscription:"
	// maxFilters is AWS's per-group limit (reference §2.1 step 5).
	maxFilters = 2
)

// indexScope holds the index records: no account is empty.
var indexScope = store.Scope{}

// Notifier is told when filters or destinations changed (the delivery
// manager reloads) and when a filter was created (it sends the control
// message AWS sends). Nil: nobody is told.
type Notifier interface {
	Changed()
	Created(f delivery.Filter)
}

// Config configures a Service.
type Config struct {
	Store   store.Store
	Compile func(expr string) (logs.Pattern, error)
	Now     func() time.Time
	Notify  Notifier
	// Logger reports stored filters that no longer compile; nil: none.
	Logger *slog.Logger
}

// Service implements the family.
type Service struct {
	store   store.Store
	compile func(string) (logs.Pattern, error)
	now     func() time.Time
	notify  Notifier
	log     *slog.Logger
	// mu serialises changes to filters, so that two concurrent Puts of new
	// names cannot both pass the 2-per-group limit.
	mu sync.Mutex
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{store: cfg.Store, compile: cfg.Compile, now: cfg.Now, notify: cfg.Notify, log: cfg.Logger}
}

// SetNotifier sets who is told of changes (the delivery manager is built
// after the family: it reads filters through it).
func (s *Service) SetNotifier(n Notifier) { s.notify = n }

// Register adds the family's operations to t.
func (s *Service) Register(t *protocol.Table) {
	// An over-long logGroupName gets AWS's own text (logs.GroupNameFirst).
	t.Add("PutSubscriptionFilter", logs.GroupNameFirst(protocol.Decoded(s.PutSubscriptionFilter)))
	t.Add("DescribeSubscriptionFilters", logs.GroupNameFirst(protocol.Decoded(s.DescribeSubscriptionFilters)))
	t.Add("DeleteSubscriptionFilter", logs.GroupNameFirst(protocol.Decoded(s.DeleteSubscriptionFilter)))
	t.Add("PutDestination", protocol.Decoded(s.PutDestination))
	t.Add("DescribeDestinations", protocol.Decoded(s.DescribeDestinations))
	t.Add("DeleteDestination", protocol.Decoded(s.DeleteDestination))
	t.Add("PutDestinationPolicy", protocol.Decoded(s.PutDestinationPolicy))
}

// filterRecord is a filter as stored (and, being the wire shape, answered).
type filterRecord struct {
	FilterName             string   `json:"filterName"`
	LogGroupName           string   `json:"logGroupName"`
	FilterPattern          string   `json:"filterPattern"`
	DestinationArn         string   `json:"destinationArn"`
	RoleArn                string   `json:"roleArn,omitempty"`
	Distribution           string   `json:"distribution"`
	ApplyOnTransformedLogs bool     `json:"applyOnTransformedLogs"`
	FieldSelectionCriteria string   `json:"fieldSelectionCriteria,omitempty"`
	EmitSystemFields       []string `json:"emitSystemFields,omitempty"`
	CreationTime           int64    `json:"creationTime"`
}

type PutSubscriptionFilterInput struct {
	LogGroupName           string   `json:"logGroupName"`
	FilterName             string   `json:"filterName"`
	FilterPattern          string   `json:"filterPattern"`
	DestinationArn         string   `json:"destinationArn"`
	RoleArn                string   `json:"roleArn"`
	Distribution           string   `json:"distribution"`
	ApplyOnTransformedLogs bool     `json:"applyOnTransformedLogs"`
	FieldSelectionCriteria string   `json:"fieldSelectionCriteria"`
	EmitSystemFields       []string `json:"emitSystemFields"`
}

// systemFields are the values the model's documentation lists.
var systemFields = []string{"@aws.account", "@aws.region", "@source.log"}

// PutSubscriptionFilter creates or updates a filter. Checks run in AWS's
// order (reference §2.1): the model's constraints (Decoded), the destination
// ARN's rules, the log group, the 2-per-group limit. AWS then test-delivers
// to the target; Cairn does not, since an ARN with no sink configured must be
// accepted (a Terraform apply against a local Cairn must not fail), and
// sends the CONTROL_MESSAGE asynchronously instead.
func (s *Service) PutSubscriptionFilter(ctx context.Context, c caller.Caller, in *PutSubscriptionFilterInput) (*struct{}, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:PutSubscriptionFilter", logs.GroupResource(scope, in.LogGroupName)); err != nil {
		return nil, err
	}
	for _, f := range in.EmitSystemFields {
		if !slices.Contains(systemFields, f) {
			return nil, awserr.InvalidSystemField("emitSystemFields", in.EmitSystemFields, systemFields)
		}
	}
	// The same language and rules as PutMetricFilter's (package
	// logs/fieldselect), which the two operations document alike.
	if _, err := fieldselect.Parse(in.FieldSelectionCriteria); err != nil {
		return nil, awserr.InvalidFieldSelection(err.Error())
	}
	target, err := s.checkDestination(ctx, c, in.DestinationArn, in.RoleArn)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.store.GetGroup(ctx, scope, in.LogGroupName); err != nil {
		return nil, logs.StoreError(err)
	}
	fk := store.ResourceKey{Scope: scope, Group: in.LogGroupName, Kind: kindFilter, Name: in.FilterName}
	old, err := s.getFilter(ctx, fk)
	isNew := errors.Is(err, store.ErrResourceNotFound)
	if err != nil && !isNew {
		return nil, logs.StoreError(err)
	}
	if isNew {
		n := 0
		err := s.store.ListResources(ctx, fk, "", "", func(string, []byte) bool { n++; return true })
		if err != nil {
			return nil, logs.StoreError(err)
		}
		if n >= maxFilters {
			return nil, awserr.ResourceLimitExceeded()
		}
	}
	pat, err := logs.CompilePattern(s.compile, in.FilterPattern)
	if err != nil {
		return nil, err
	}
	if err := logs.CheckRegexFilters(ctx, s.store, s.compile, scope, in.LogGroupName, kindFilter, in.FilterName, pat); err != nil {
		return nil, err
	}
	rec := filterRecord{
		FilterName: in.FilterName, LogGroupName: in.LogGroupName, FilterPattern: in.FilterPattern,
		DestinationArn: in.DestinationArn, RoleArn: in.RoleArn, Distribution: in.Distribution,
		ApplyOnTransformedLogs: in.ApplyOnTransformedLogs, FieldSelectionCriteria: in.FieldSelectionCriteria,
		EmitSystemFields: in.EmitSystemFields, CreationTime: s.now().UnixMilli(),
	}
	if rec.Distribution == "" {
		rec.Distribution = "ByLogStream"
	}
	cursor := cursorPrefix + in.FilterName
	if isNew {
		// The cursor first: a filter record without its cursor would be
		// delivered from the start of the feed after a crash between the two.
		pos, err := delivery.StartPosition(ctx, s.store, scope, in.LogGroupName)
		if err != nil {
			return nil, logs.StoreError(err)
		}
		if err := s.store.SetCursor(ctx, scope, in.LogGroupName, cursor, pos); err != nil {
			return nil, logs.StoreError(err)
		}
	} else {
		rec.CreationTime = old.CreationTime // reference §2.1: unverified, keep it (PutMetricFilter does too)
	}
	raw, _ := json.Marshal(rec)
	if err := s.store.PutResource(ctx, fk, raw); err != nil {
		return nil, logs.StoreError(err)
	}
	if err := s.store.PutResource(ctx, indexKey(scope, in.LogGroupName, in.FilterName), []byte{}); err != nil {
		return nil, logs.StoreError(err)
	}
	if s.notify != nil {
		s.notify.Changed()
		if isNew {
			f := s.deliveryFilter(scope, rec, nil)
			f.TargetARN = target
			s.notify.Created(f)
		}
	}
	return nil, nil
}

// checkDestination applies the rules of the destination ARN's vendor
// (reference §2.1 step 3) and returns where records go (the ARN itself, or
// a logs destination's target).
func (s *Service) checkDestination(ctx context.Context, c caller.Caller, arn, role string) (string, error) {
	vendor := delivery.Vendor(arn)
	res := delivery.ARNResource(arn)
	acct := delivery.ARNAccount(arn)
	switch {
	case vendor == "kinesis" && strings.HasPrefix(res, "stream/") && len(res) > len("stream/"),
		vendor == "firehose" && strings.HasPrefix(res, "deliverystream/") && len(res) > len("deliverystream/"):
		if role == "" {
			return "", awserr.VendorNeedsRole(vendor)
		}
		if acct != c.Account {
			return "", awserr.CrossAccountTarget(vendor)
		}
		return arn, nil
	case vendor == "lambda" && strings.HasPrefix(res, "function:") && len(res) > len("function:"):
		// troposphere#413 (2016) saw AWS refuse a roleArn with Lambda; the
		// current documentation does not, and Terraform's examples pass
		// one, so Cairn accepts and ignores it.
		if acct != c.Account {
			return "", awserr.CrossAccountLambda()
		}
		return arn, nil
	case vendor == "logs" && strings.HasPrefix(res, "destination:") && len(res) > len("destination:"):
		dscope := store.Scope{Account: acct, Region: delivery.ARNRegion(arn)}
		d, err := s.getDestination(ctx, dscope, strings.TrimPrefix(res, "destination:"))
		if errors.Is(err, store.ErrResourceNotFound) {
			return "", awserr.DestinationNotFound()
		}
		if err != nil {
			return "", logs.StoreError(err)
		}
		if acct == c.Account {
			return d.TargetArn, nil
		}
		if strings.Contains(strings.ToLower(d.AccessPolicy), "aws:principalorgid") && role == "" {
			return "", awserr.OrgPolicyNeedsRole()
		}
		if !policyAllows(d.AccessPolicy, c, arn) {
			return "", awserr.DestinationDenied(c.Account, arn)
		}
		return d.TargetArn, nil
	case vendor != "" && vendor != "lambda" && vendor != "logs":
		// An ARN of another vendor (or a Kinesis or Firehose ARN that names
		// no stream): AWS asks for a roleArn first and, given one, refuses
		// the vendor, both recorded for a CloudFormation ARN
		// (aws-samples/aws-centralize-logs-using-cdk#2).
		if role == "" {
			return "", awserr.VendorNeedsRole(vendor)
		}
		return "", awserr.VendorUnsupported(vendor)
	}
	return "", awserr.InvalidDestinationARN(arn)
}

// policyAllows evaluates a destination's access policy for a caller of
// another account. A policy Cairn's IAM engine cannot parse (AWS accepted
// "AWS": "logs.amazonaws.com", which names no account) allows nobody:
// failing closed is the only safe reading of a document one cannot read.
func policyAllows(doc string, c caller.Caller, arn string) bool {
	if doc == "" {
		return false
	}
	p, err := iam.Parse([]byte(doc), iam.TrustPolicy)
	if err != nil {
		return false
	}
	return p.Evaluate(&iam.Context{Action: "logs:PutSubscriptionFilter", Resource: arn, PrincipalARN: c.Identity.ARN,
		CallerARN: c.Identity.ARN, PrincipalAccount: c.Account, UserID: c.Identity.UserID, Region: c.Region,
		SourceIP: c.SourceIP, Time: time.Now()}) == iam.Allowed
}

type DescribeSubscriptionFiltersInput struct {
	LogGroupName     string `json:"logGroupName"`
	FilterNamePrefix string `json:"filterNamePrefix"`
	NextToken        string `json:"nextToken"`
	Limit            int    `json:"limit"`
}

type DescribeSubscriptionFiltersOutput struct {
	SubscriptionFilters []json.RawMessage `json:"subscriptionFilters"`
	NextToken           string            `json:"nextToken,omitempty"`
}

// DescribeSubscriptionFilters lists a group's filters in ASCII order of name.
// nextToken resumes after the last name answered, in the self-checking form
// of every other listing (logs.EncodePageToken): a token this server did not
// issue is InvalidParameterException "The specified nextToken is invalid.",
// AWS's answer to a bad token (cloudwatch-logs-api.md §2.2), as Cairn's other Describe*
// operations answer it, where a bare name would have been taken silently.
func (s *Service) DescribeSubscriptionFilters(ctx context.Context, c caller.Caller, in *DescribeSubscriptionFiltersInput) (*DescribeSubscriptionFiltersOutput, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:DescribeSubscriptionFilters", logs.GroupResource(scope, in.LogGroupName)); err != nil {
		return nil, err
	}
	if _, err := s.store.GetGroup(ctx, scope, in.LogGroupName); err != nil {
		return nil, logs.StoreError(err)
	}
	limit := in.Limit
	if limit == 0 {
		limit = 50
	}
	after, err := logs.DecodePageToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &DescribeSubscriptionFiltersOutput{SubscriptionFilters: []json.RawMessage{}}
	k := store.ResourceKey{Scope: scope, Group: in.LogGroupName, Kind: kindFilter}
	var last string
	more := false
	err = s.store.ListResources(ctx, k, in.FilterNamePrefix, after, func(name string, v []byte) bool {
		if len(out.SubscriptionFilters) == limit {
			more = true
			return false
		}
		out.SubscriptionFilters = append(out.SubscriptionFilters, json.RawMessage(slices.Clone(v)))
		last = name
		return true
	})
	if err != nil {
		return nil, logs.StoreError(err)
	}
	if more {
		out.NextToken = logs.EncodePageToken(last)
	}
	return out, nil
}

type DeleteSubscriptionFilterInput struct {
	LogGroupName string `json:"logGroupName"`
	FilterName   string `json:"filterName"`
}

// DeleteSubscriptionFilter removes a filter, its index record and its
// cursor; its follower stops at the reload.
func (s *Service) DeleteSubscriptionFilter(ctx context.Context, c caller.Caller, in *DeleteSubscriptionFilterInput) (*struct{}, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:DeleteSubscriptionFilter", logs.GroupResource(scope, in.LogGroupName)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.store.GetGroup(ctx, scope, in.LogGroupName); err != nil {
		return nil, logs.StoreError(err)
	}
	fk := store.ResourceKey{Scope: scope, Group: in.LogGroupName, Kind: kindFilter, Name: in.FilterName}
	if _, err := s.store.GetResource(ctx, fk); errors.Is(err, store.ErrResourceNotFound) {
		return nil, awserr.SubscriptionFilterNotFound()
	} else if err != nil {
		return nil, logs.StoreError(err)
	}
	if err := s.store.DeleteResource(ctx, fk); err != nil {
		return nil, logs.StoreError(err)
	}
	if err := s.store.DeleteCursor(ctx, scope, in.LogGroupName, cursorPrefix+in.FilterName); err != nil && !errors.Is(err, store.ErrCursorNotFound) {
		return nil, logs.StoreError(err)
	}
	if err := s.store.DeleteResource(ctx, indexKey(scope, in.LogGroupName, in.FilterName)); err != nil && !errors.Is(err, store.ErrResourceNotFound) {
		return nil, logs.StoreError(err)
	}
	if s.notify != nil {
		s.notify.Changed()
	}
	return nil, nil
}

func (s *Service) getFilter(ctx context.Context, k store.ResourceKey) (filterRecord, error) {
	var r filterRecord
	raw, err := s.store.GetResource(ctx, k)
	if err != nil {
		return r, err
	}
	return r, json.Unmarshal(raw, &r)
}

// indexKey names a filter's index record: account, region, group and filter
// joined by ':', which neither an account, a region nor a group name holds
// (a filter name may not either: its pattern is [^:*]*).
func indexKey(scope store.Scope, group, filter string) store.ResourceKey {
	return store.ResourceKey{Scope: indexScope, Kind: kindIndex, Name: scope.Account + ":" + scope.Region + ":" + group + ":" + filter}
}
