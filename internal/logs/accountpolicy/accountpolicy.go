// Package accountpolicy is the account-policy family of CloudWatch Logs
// operations: PutAccountPolicy, DescribeAccountPolicies and
// DeleteAccountPolicy, for every policy type of the model
// (DATA_PROTECTION_POLICY, SUBSCRIPTION_FILTER_POLICY, FIELD_INDEX_POLICY,
// TRANSFORMER_POLICY, METRIC_EXTRACTION_POLICY), and the lookup the families
// that enforce them use: Effective(scope, type, group) returns the account
// policies of a type whose selection criteria select a log group.
//
// Data flows: Put validates the request as AWS does (the type's document
// form, its selectionCriteria syntax, its count and overlap limits), then
// writes one store resource record; Describe and Delete read and remove
// them; Effective lists a type's records and evaluates their criteria.
//
// Record format: an account-and-region resource (store.ResourceKey without a
// Group), Kind "accountPolicy", Name "<policyType>/<policyName>", value the
// JSON of Policy (policyName, policyDocument verbatim, policyType, scope,
// selectionCriteria verbatim, lastUpdatedTime in ms, accountId). The type
// comes first in the name so that one type's policies are listed by prefix.
//
// Document checks per type (AWS documents the forms, not its error texts;
// Cairn's texts say which rule is broken):
//   - DATA_PROTECTION_POLICY: dataprotect.Parse, the same as
//     PutDataProtectionPolicy. No selectionCriteria. One per account.
//   - SUBSCRIPTION_FILTER_POLICY: {DestinationArn*, RoleArn, FilterPattern,
//     Distribution "Random"|"ByLogStream"}; RoleArn required for Kinesis and
//     Firehose destinations; the filter pattern must compile. Criteria only
//     `LogGroupName NOT IN [...]`. One per account.
//   - TRANSFORMER_POLICY: {"transformerConfig": [1–20 processors]}, each
//     processor an object with one of the model's 23 processor names (deep
//     checks: Config.Documents). Criteria only `LogGroupNamePrefix IN [...]`.
//     One unscoped, ≤ 20 prefix-scoped with no overlapping prefixes.
//   - FIELD_INDEX_POLICY: {"Fields": [...], "FieldsV2": {name: {"type":
//     "FIELD_INDEX"|"FACET"}}}, at least one field, no name in both.
//     Criteria `LogGroupNamePrefix IN [...]` or `DataSourceName = "x" AND
//     DataSourceType = "y"`. One unscoped, ≤ 20 prefix-scoped (no overlap),
//     ≤ 20 data-source-scoped (no duplicate pair).
//   - METRIC_EXTRACTION_POLICY: {"EmbeddedMetricFormat": {"Status":
//     "Enabled"|"Disabled"}} (aws-cdk's integration test). Criteria
//     LogGroupName / LogGroupNamePrefix, IN / NOT IN, ≤ 50 values. One
//     unscoped or ≤ 5 scoped, at most one NOT IN.
package accountpolicy

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/dataprotect"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
)

// Policy types (the model's PolicyType enum).
const (
	DataProtection     = "DATA_PROTECTION_POLICY"
	SubscriptionFilter = "SUBSCRIPTION_FILTER_POLICY"
	FieldIndex         = "FIELD_INDEX_POLICY"
	Transformer        = "TRANSFORMER_POLICY"
	MetricExtraction   = "METRIC_EXTRACTION_POLICY"
)

const kind = logs.AccountPolicyKind

// Policy is one account policy, as stored and as AWS's AccountPolicy shape.
type Policy struct {
	PolicyName        string `json:"policyName"`
	PolicyDocument    string `json:"policyDocument"`
	LastUpdatedTime   int64  `json:"lastUpdatedTime"`
	PolicyType        string `json:"policyType"`
	Scope             string `json:"scope"`
	SelectionCriteria string `json:"selectionCriteria,omitempty"`
	AccountID         string `json:"accountId"`
}

// Selection parses the policy's stored criteria (valid when stored).
func (p Policy) Selection() Selection {
	s, _ := parseSelection(p.SelectionCriteria)
	return s
}

// Config configures a Service.
type Config struct {
	Store   store.Store
	Compile func(expr string) (logs.Pattern, error) // subscription filter patterns
	Now     func() time.Time
	// Documents adds a type's deep document check, run after this package's
	// own (e.g. the transformer family's processor validation for
	// TRANSFORMER_POLICY). It returns the AWS error a client gets.
	Documents map[string]func(doc string) error
	// Stored adds what a type's enforcing family does once a policy of it
	// is stored, as the caller (e.g. data protection adding the findings
	// destination's resource policy, as for PutDataProtectionPolicy).
	Stored map[string]func(ctx context.Context, c caller.Caller, doc string)
	// Logger reports stored subscription policies that no longer compile;
	// nil: none.
	Logger *slog.Logger
}

// Service implements the account-policy operations.
type Service struct {
	st      store.Store
	compile func(string) (logs.Pattern, error)
	now     func() time.Time
	docs    map[string]func(string) error
	stored  map[string]func(context.Context, caller.Caller, string)
	log     *slog.Logger
	// mu serialises Puts so that the count and overlap limits, which read
	// the other policies, hold under concurrent Puts.
	mu sync.Mutex
	// subs is the subscription-policy delivery source, told of changes.
	subs atomic.Pointer[Subscriptions]
	// cached holds, by scope and type, the policies last listed and the
	// generation read before they were (generation.go).
	cacheMu sync.Mutex
	cached  map[genCacheKey]genCached
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{st: cfg.Store, compile: cfg.Compile, now: cfg.Now, docs: cfg.Documents, stored: cfg.Stored, log: cfg.Logger}
}

// Register adds the family's operations to t.
func (s *Service) Register(t *protocol.Table) {
	t.Add("PutAccountPolicy", protocol.Decoded(s.PutAccountPolicy))
	t.Add("DescribeAccountPolicies", protocol.Decoded(s.DescribeAccountPolicies))
	t.Add("DeleteAccountPolicy", protocol.Decoded(s.DeleteAccountPolicy))
}

// typeActions are the type's own IAM actions (put, read, delete) a caller
// needs beside the account-policy action (reference §3.2, "IAM pairs").
var typeActions = map[string][3]string{
	DataProtection:     {"logs:PutDataProtectionPolicy", "logs:GetDataProtectionPolicy", "logs:DeleteDataProtectionPolicy"},
	SubscriptionFilter: {"logs:PutSubscriptionFilter", "logs:DescribeSubscriptionFilters", "logs:DeleteSubscriptionFilter"},
	FieldIndex:         {"logs:PutIndexPolicy", "logs:DescribeIndexPolicies", "logs:DeleteIndexPolicy"},
	Transformer:        {"logs:PutTransformer", "logs:GetTransformer", "logs:DeleteTransformer"},
	MetricExtraction:   {"logs:PutMetricExtractionPolicy", "logs:GetMetricExtractionPolicy", "logs:DeleteMetricExtractionPolicy"},
}

type PutAccountPolicyInput struct {
	PolicyName        string  `json:"policyName"`
	PolicyDocument    string  `json:"policyDocument"`
	PolicyType        string  `json:"policyType"`
	Scope             *string `json:"scope"`
	SelectionCriteria *string `json:"selectionCriteria"`
}

type PutAccountPolicyOutput struct {
	AccountPolicy Policy `json:"accountPolicy"`
}

// PutAccountPolicy creates or replaces (same name and type) an account policy.
func (s *Service) PutAccountPolicy(ctx context.Context, c caller.Caller, in *PutAccountPolicyInput) (*PutAccountPolicyOutput, error) {
	if err := authorize(c, "logs:PutAccountPolicy", in.PolicyType, 0); err != nil {
		return nil, err
	}
	if strings.HasPrefix(in.PolicyName, "aws/") {
		return nil, awserr.AccountPolicyReservedName()
	}
	if in.PolicyName == "" {
		// The model gives PolicyName no length bounds; an empty name is
		// refused in the classic operations' Coral wording for a member
		// under its minimum length (reference §1), not as a policy document
		// fault, which it is not.
		return nil, awserr.Constraint("", "policyName", "Member must have length greater than or equal to 1")
	}
	if n := len([]rune(in.PolicyDocument)); n > dataprotect.MaxDocumentChars {
		return nil, awserr.InvalidPolicyDocument("the policy document must be at most 30720 characters")
	}
	criteria := ""
	if in.SelectionCriteria != nil {
		criteria = *in.SelectionCriteria
	}
	sel, why := parseSelection(criteria)
	if why != "" {
		return nil, awserr.InvalidSelectionCriteria(why)
	}
	if err := checkSelection(in.PolicyType, sel, criteria); err != nil {
		return nil, err
	}
	if err := s.checkDocument(in.PolicyType, in.PolicyDocument); err != nil {
		return nil, err
	}
	scope := logs.Scope(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	others, err := s.list(ctx, scope, in.PolicyType)
	if err != nil {
		return nil, err
	}
	others = slices.DeleteFunc(others, func(p Policy) bool { return p.PolicyName == in.PolicyName })
	if err := checkLimits(in.PolicyType, sel, others); err != nil {
		return nil, err
	}
	p := Policy{PolicyName: in.PolicyName, PolicyDocument: in.PolicyDocument, LastUpdatedTime: s.now().UnixMilli(),
		PolicyType: in.PolicyType, Scope: "ALL", SelectionCriteria: criteria, AccountID: c.Account}
	v, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	if err := s.st.PutResource(ctx, key(scope, in.PolicyType, in.PolicyName), v); err != nil {
		return nil, logs.StoreError(err)
	}
	if err := s.bump(ctx, scope, in.PolicyType); err != nil {
		return nil, err
	}
	if in.PolicyType == SubscriptionFilter {
		if err := s.subscriptionPut(ctx, scope); err != nil {
			return nil, err
		}
	}
	if f := s.stored[in.PolicyType]; f != nil {
		f(ctx, c, in.PolicyDocument)
	}
	return &PutAccountPolicyOutput{AccountPolicy: p}, nil
}

type DescribeAccountPoliciesInput struct {
	PolicyType         string   `json:"policyType"`
	PolicyName         string   `json:"policyName"`
	AccountIdentifiers []string `json:"accountIdentifiers"`
	NextToken          string   `json:"nextToken"`
}

type DescribeAccountPoliciesOutput struct {
	AccountPolicies []Policy `json:"accountPolicies"`
	NextToken       string   `json:"nextToken,omitempty"`
}

// DescribeAccountPolicies lists the account's policies of a type (by name:
// that one, or ResourceNotFoundException). A type has at most 41 policies,
// so one page holds them all and no nextToken is ever issued; a token
// therefore cannot be one of ours. accountIdentifiers is for monitoring
// accounts (cross-account observability, which Cairn has not): the caller's
// own account is the only one it can name.
func (s *Service) DescribeAccountPolicies(ctx context.Context, c caller.Caller, in *DescribeAccountPoliciesInput) (*DescribeAccountPoliciesOutput, error) {
	if err := authorize(c, "logs:DescribeAccountPolicies", in.PolicyType, 1); err != nil {
		return nil, err
	}
	if in.NextToken != "" {
		return nil, awserr.InvalidToken()
	}
	out := &DescribeAccountPoliciesOutput{AccountPolicies: []Policy{}}
	if len(in.AccountIdentifiers) > 0 && !slices.Contains(in.AccountIdentifiers, c.Account) {
		return out, nil
	}
	all, err := s.list(ctx, logs.Scope(c), in.PolicyType)
	if err != nil {
		return nil, err
	}
	for _, p := range all {
		if in.PolicyName == "" || p.PolicyName == in.PolicyName {
			out.AccountPolicies = append(out.AccountPolicies, p)
		}
	}
	if in.PolicyName != "" && len(out.AccountPolicies) == 0 {
		return nil, awserr.AccountPolicyNotFound(in.PolicyName)
	}
	return out, nil
}

type DeleteAccountPolicyInput struct {
	PolicyName string `json:"policyName"`
	PolicyType string `json:"policyType"`
}

type DeleteAccountPolicyOutput struct{}

// DeleteAccountPolicy removes one policy; an unknown one is
// ResourceNotFoundException.
func (s *Service) DeleteAccountPolicy(ctx context.Context, c caller.Caller, in *DeleteAccountPolicyInput) (*DeleteAccountPolicyOutput, error) {
	if err := authorize(c, "logs:DeleteAccountPolicy", in.PolicyType, 2); err != nil {
		return nil, err
	}
	k := key(logs.Scope(c), in.PolicyType, in.PolicyName)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.st.GetResource(ctx, k); errors.Is(err, store.ErrResourceNotFound) {
		return nil, awserr.AccountPolicyNotFound(in.PolicyName)
	} else if err != nil {
		return nil, logs.StoreError(err)
	}
	if err := s.st.DeleteResource(ctx, k); err != nil {
		return nil, logs.StoreError(err)
	}
	if err := s.bump(ctx, k.Scope, in.PolicyType); err != nil {
		return nil, err
	}
	if in.PolicyType == SubscriptionFilter {
		if err := s.subscriptionDeleted(ctx, k.Scope, in.PolicyName); err != nil {
			return nil, err
		}
	}
	return &DeleteAccountPolicyOutput{}, nil
}

// Effective returns the account policies of policyType whose selection
// criteria select the log group named group, the most specific first:
// exact names (LogGroupName IN), then prefixes (longest first), then
// exclusions (NOT IN), then the unscoped policy. Data-source-scoped field
// index policies select no group by name and are not returned (List has
// them). Enforcing families call this on their hot path: it reads the
// type's generation record, and lists and decodes the type's records (at
// most 41) only when another Put or Delete has been made since the last
// listing, on any node (generation.go).
func (s *Service) Effective(ctx context.Context, scope store.Scope, policyType, group string) ([]Policy, error) {
	return s.EffectiveFor(ctx, store.Group{Scope: scope, Name: group}, policyType)
}

// EffectiveFor is Effective for group g as the ingest path read it
// (store.GetResourceAsOf): on an engine with a resource cache the
// generation record is then read from the cache while no Put or Delete of
// the type was made since, on any node.
func (s *Service) EffectiveFor(ctx context.Context, g store.Group, policyType string) ([]Policy, error) {
	group := g.Name
	all, err := s.listCached(ctx, g, policyType)
	if err != nil {
		return nil, err
	}
	var out []Policy
	rank := map[string]int{}
	for _, p := range all {
		sel := p.Selection()
		if !sel.Selects(group) {
			continue
		}
		r := 0
		switch {
		case sel.Field == "LogGroupName" && !sel.Not:
			r = 1 << 20
		case sel.Field == "LogGroupNamePrefix" && !sel.Not:
			for _, v := range sel.Values {
				if strings.HasPrefix(group, v) {
					r = max(r, 1+len(v))
				}
			}
		case sel.Not:
			r = -1
		default:
			r = -2
		}
		rank[p.PolicyName] = r
		out = append(out, p)
	}
	slices.SortStableFunc(out, func(a, b Policy) int { return rank[b.PolicyName] - rank[a.PolicyName] })
	return out, nil
}

// List returns every account policy of policyType in scope, by name.
func (s *Service) List(ctx context.Context, scope store.Scope, policyType string) ([]Policy, error) {
	return s.list(ctx, scope, policyType)
}

func (s *Service) list(ctx context.Context, scope store.Scope, policyType string) ([]Policy, error) {
	var out []Policy
	var bad error
	err := s.st.ListResources(ctx, store.ResourceKey{Scope: scope, Kind: kind}, policyType+"/", "", func(name string, v []byte) bool {
		var p Policy
		if err := json.Unmarshal(v, &p); err != nil {
			bad = err
			return false
		}
		out = append(out, p)
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return nil, logs.StoreError(err)
	}
	return out, nil
}

func key(scope store.Scope, policyType, name string) store.ResourceKey {
	return store.ResourceKey{Scope: scope, Kind: kind, Name: policyType + "/" + name}
}

// authorize checks the account-policy action and the type's own action
// (which: 0 put, 1 read, 2 delete). Account policies have no ARN of their
// own: both are evaluated on "*".
func authorize(c caller.Caller, action, policyType string, which int) error {
	if err := c.Authorize(action, "*"); err != nil {
		return err
	}
	if a, ok := typeActions[policyType]; ok {
		return c.Authorize(a[which], "*")
	}
	return nil
}
