// Package resourcepolicy is the family of CloudWatch Logs resource policies:
// PutResourcePolicy, DescribeResourcePolicies and DeleteResourcePolicy, and
// the judgement of a service principal's request by them (Permits, Allows)
// with the one write Cairn makes on its own (Ensure, a group policy for a
// writer that nothing allows yet, as AWS's vended-log infrastructure does).
//
// A policy is a store resource record of the account and region (kind
// "resourcePolicy"): account-scoped policies under "A/"+policyName, at most
// MaxAccountPolicies of them; a log group's policy (resourceArn given) under
// "R/"+group name, one per group, with a revisionId that every later Put or
// Delete must quote. Put validates the document (document.go) and stores it
// verbatim with its normalised form, which Describe answers as AWS does.
//
// Data flows: API calls → Put/Delete (serialised by Service.mu) → store
// records; Permits reads every account policy and the group's, and package
// iam evaluates each against the request (principal, action, ARN,
// aws:SourceAccount, aws:SourceArn and other keys). AWS enforces resource
// policies only for AWS service principals, and so does Cairn, for the work
// it does itself as one: package logs/policygate holds the Enforcer that
// Cairn's own writers pass through, which asks Permits. Callers that are IAM
// identities are never judged by these policies (AWS: "will not be
// enforced").
package resourcepolicy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/iam"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
)

// MaxAccountPolicies is AWS's limit of account-scoped policies per region.
const MaxAccountPolicies = 10

const kind = "resourcePolicy"

// Config configures a Service.
type Config struct {
	Store store.Store
	Now   func() time.Time
}

// Service implements the resource-policy operations.
type Service struct {
	st  store.Store
	now func() time.Time

	// mu serialises the writes of policies (PutResourcePolicy,
	// DeleteResourcePolicy, Ensure), so that a write decided on
	// what was read is not overtaken; gen, guarded by mu, counts them, so
	// that Ensure, which checks without holding mu (a check reads every
	// account policy), writes only if no policy changed since it checked.
	mu  sync.Mutex
	gen uint64

	// ensureHook, set by tests only, runs in Ensure between its
	// checks and its write (where a user's PutResourcePolicy may land).
	ensureHook func()
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{st: cfg.Store, now: cfg.Now}
}

// Register adds the family's operations to t.
func (s *Service) Register(t *protocol.Table) {
	t.Add("PutResourcePolicy", protocol.Decoded(s.PutResourcePolicy))
	t.Add("DescribeResourcePolicies", protocol.Decoded(s.DescribeResourcePolicies))
	t.Add("DeleteResourcePolicy", protocol.Decoded(s.DeleteResourcePolicy))
}

// ResourcePolicy is the wire shape.
type ResourcePolicy struct {
	PolicyName      string `json:"policyName,omitempty"`
	PolicyDocument  string `json:"policyDocument,omitempty"`
	LastUpdatedTime int64  `json:"lastUpdatedTime"`
	PolicyScope     string `json:"policyScope"`
	ResourceArn     string `json:"resourceArn,omitempty"`
	RevisionID      string `json:"revisionId,omitempty"`
}

// record is what the store keeps.
type record struct {
	ResourcePolicy
	Normalised string `json:"normalised"`
}

type PutResourcePolicyInput struct {
	PolicyName         string  `json:"policyName"`
	PolicyDocument     *string `json:"policyDocument"`
	ResourceArn        string  `json:"resourceArn"`
	ExpectedRevisionID string  `json:"expectedRevisionId"`
}

type PutResourcePolicyOutput struct {
	ResourcePolicy *ResourcePolicy `json:"resourcePolicy"`
	RevisionID     string          `json:"revisionId,omitempty"`
}

func (s *Service) PutResourcePolicy(ctx context.Context, c caller.Caller, in *PutResourcePolicyInput) (*PutResourcePolicyOutput, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:PutResourcePolicy", s.resource(scope, in.ResourceArn)); err != nil {
		return nil, err
	}
	if in.PolicyDocument == nil {
		// The model marks it optional; the documentation says "required".
		return nil, awserr.InvalidParameters(awserr.Violation{Value: "null", Member: "policyDocument", Constraint: "Member must not be null"})
	}
	norm, err := parseDocument(*in.PolicyDocument)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	now := s.now().UnixMilli()
	if in.ResourceArn == "" {
		if in.PolicyName == "" {
			return nil, awserr.PolicyNameRequired()
		}
		key := s.key(scope, "A/"+in.PolicyName)
		if _, err := s.st.GetResource(ctx, key); errors.Is(err, store.ErrResourceNotFound) {
			// Limits count new names only: replacing a policy at the limit
			// succeeds (recorded).
			n := 0
			if err := s.st.ListResources(ctx, key, "A/", "", func(string, []byte) bool { n++; return true }); err != nil {
				return nil, logs.StoreError(err)
			}
			if n >= MaxAccountPolicies {
				return nil, awserr.ResourceLimitExceeded()
			}
		} else if err != nil {
			return nil, logs.StoreError(err)
		}
		rec := record{ResourcePolicy: ResourcePolicy{PolicyName: in.PolicyName, PolicyDocument: *in.PolicyDocument,
			LastUpdatedTime: now, PolicyScope: "ACCOUNT"}, Normalised: norm}
		if err := s.put(ctx, key, rec); err != nil {
			return nil, err
		}
		return &PutResourcePolicyOutput{ResourcePolicy: &rec.ResourcePolicy}, nil
	}
	group, err := s.group(ctx, scope, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	key := s.key(scope, "R/"+group)
	old, err := s.get(ctx, key)
	switch {
	case errors.Is(err, store.ErrResourceNotFound):
		if in.ExpectedRevisionID != "" {
			return nil, awserr.RevisionMismatch()
		}
	case err != nil:
		return nil, err
	case in.ExpectedRevisionID != old.RevisionID:
		return nil, awserr.RevisionMismatch()
	}
	rec := record{ResourcePolicy: ResourcePolicy{PolicyName: in.PolicyName, PolicyDocument: *in.PolicyDocument,
		LastUpdatedTime: now, PolicyScope: "RESOURCE", ResourceArn: in.ResourceArn, RevisionID: newRevision()}, Normalised: norm}
	if err := s.put(ctx, key, rec); err != nil {
		return nil, err
	}
	return &PutResourcePolicyOutput{ResourcePolicy: &rec.ResourcePolicy, RevisionID: rec.RevisionID}, nil
}

type DescribeResourcePoliciesInput struct {
	NextToken   string `json:"nextToken"`
	Limit       int    `json:"limit"`
	ResourceArn string `json:"resourceArn"`
	PolicyScope string `json:"policyScope"`
}

type DescribeResourcePoliciesOutput struct {
	ResourcePolicies []ResourcePolicy `json:"resourcePolicies"`
	NextToken        string           `json:"nextToken,omitempty"`
}

// DescribeResourcePolicies lists the account's policies (policyScope
// ACCOUNT, the default) or one group's (RESOURCE with resourceArn; RESOURCE
// alone lists every group's), with their documents normalised, in name order.
func (s *Service) DescribeResourcePolicies(ctx context.Context, c caller.Caller, in *DescribeResourcePoliciesInput) (*DescribeResourcePoliciesOutput, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:DescribeResourcePolicies", s.resource(scope, in.ResourceArn)); err != nil {
		return nil, err
	}
	prefix := "A/"
	if in.PolicyScope == "RESOURCE" || in.ResourceArn != "" {
		prefix = "R/"
		if in.ResourceArn != "" {
			g, err := s.group(ctx, scope, in.ResourceArn)
			if err != nil {
				return nil, err
			}
			prefix = "R/" + g
		}
	}
	limit := in.Limit
	if limit == 0 {
		limit = 50
	}
	after, err := logs.DecodePageToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &DescribeResourcePoliciesOutput{ResourcePolicies: []ResourcePolicy{}}
	var last string
	more := false
	err = s.st.ListResources(ctx, s.key(scope, ""), prefix, after, func(name string, v []byte) bool {
		if in.ResourceArn != "" && name != prefix {
			return true
		}
		var rec record
		if json.Unmarshal(v, &rec) != nil {
			return true
		}
		if len(out.ResourcePolicies) == limit {
			more = true
			return false
		}
		p := rec.ResourcePolicy
		p.PolicyDocument = rec.Normalised
		out.ResourcePolicies = append(out.ResourcePolicies, p)
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

type DeleteResourcePolicyInput struct {
	PolicyName         string `json:"policyName"`
	ResourceArn        string `json:"resourceArn"`
	ExpectedRevisionID string `json:"expectedRevisionId"`
}

func (s *Service) DeleteResourcePolicy(ctx context.Context, c caller.Caller, in *DeleteResourcePolicyInput) (*struct{}, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:DeleteResourcePolicy", s.resource(scope, in.ResourceArn)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	if in.ResourceArn == "" {
		if in.PolicyName == "" {
			return nil, awserr.PolicyNameRequired()
		}
		key := s.key(scope, "A/"+in.PolicyName)
		if _, err := s.get(ctx, key); errors.Is(err, store.ErrResourceNotFound) {
			return nil, awserr.PolicyNotFound(in.PolicyName)
		} else if err != nil {
			return nil, err
		}
		return nil, logs.StoreError(s.st.DeleteResource(ctx, key))
	}
	group, err := s.group(ctx, scope, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	key := s.key(scope, "R/"+group)
	old, err := s.get(ctx, key)
	if errors.Is(err, store.ErrResourceNotFound) {
		return nil, awserr.ResourcePolicyNotFound(in.ResourceArn)
	} else if err != nil {
		return nil, err
	}
	if in.ExpectedRevisionID != old.RevisionID {
		return nil, awserr.RevisionMismatch()
	}
	return nil, logs.StoreError(s.st.DeleteResource(ctx, key))
}

// Allows reports whether the resource policies of scope let servicePrincipal
// (an AWS service name such as "delivery.logs.amazonaws.com") perform action
// on resourceArn (a log group or stream ARN of scope): some account policy,
// or the policy of the group resourceArn names, allows it and none denies it.
// aws:SourceAccount is scope's account, the only source Cairn's own work has.
// A store failure allows nothing.
func (s *Service) Allows(ctx context.Context, scope store.Scope, servicePrincipal, action, resourceArn string) bool {
	return s.Permits(ctx, scope, Principal{Service: servicePrincipal}, action, resourceArn)
}

// Principal is one of Cairn's own writers as a resource policy sees it.
type Principal struct {
	// Writer names the writer in metrics and the server log ("audit").
	Writer string
	// Service is the service principal ("cloudtrail.amazonaws.com").
	Service string
	// SourceArn is aws:SourceArn ("" leaves the key out of the request).
	SourceArn string
	// Keys are other condition keys of the request, by lower-case name
	// ("aws:sourcevpce").
	Keys map[string]string
}

// Permits is Allows for p, whose aws:SourceArn and other keys are the
// request's condition keys beside aws:SourceAccount.
func (s *Service) Permits(ctx context.Context, scope store.Scope, p Principal, action, resourceArn string) bool {
	keys := map[string][]string{"aws:sourceaccount": {scope.Account}}
	if p.SourceArn != "" {
		keys["aws:sourcearn"] = []string{p.SourceArn}
	}
	for k, v := range p.Keys {
		keys[strings.ToLower(k)] = []string{v}
	}
	ic := &iam.Context{Action: action, Resource: resourceArn, ServicePrincipal: p.Service, Region: scope.Region,
		Time: s.now(), Keys: keys}
	allowed, denied := false, false
	judge := func(doc string) {
		p, err := iam.Parse([]byte(doc), iam.TrustPolicy)
		if err != nil {
			return
		}
		switch p.Evaluate(ic) {
		case iam.Allowed:
			allowed = true
		case iam.Denied:
			denied = true
		}
	}
	err := s.st.ListResources(ctx, s.key(scope, ""), "A/", "", func(_ string, v []byte) bool {
		var rec record
		if json.Unmarshal(v, &rec) == nil {
			judge(rec.PolicyDocument)
		}
		return true
	})
	if err != nil {
		return false
	}
	if group, ok := GroupOf(scope, resourceArn); ok {
		rec, err := s.get(ctx, s.key(scope, "R/"+group))
		if err == nil {
			judge(rec.PolicyDocument)
		} else if !errors.Is(err, store.ErrResourceNotFound) {
			return false
		}
	}
	return allowed && !denied
}

// GroupOf is the group a log group or stream ARN of scope names.
func GroupOf(scope store.Scope, arn string) (string, bool) {
	prefix := logs.GroupARN(scope, "")
	if !strings.HasPrefix(arn, prefix) {
		return "", false
	}
	rest := strings.TrimPrefix(arn, prefix)
	if i := strings.Index(rest, ":"); i >= 0 {
		rest = rest[:i]
	}
	return rest, rest != ""
}

// group resolves a policy's resourceArn to a group of scope that exists.
func (s *Service) group(ctx context.Context, scope store.Scope, arn string) (string, error) {
	if !strings.HasPrefix(arn, "arn:") {
		return "", awserr.PolicyResourceARN(arn)
	}
	name, err := logs.ResolveGroup(scope, "", arn, nil)
	if err != nil {
		if awserr.Is(err, awserr.InvalidParameter) {
			return "", awserr.PolicyResourceARN(arn)
		}
		return "", err
	}
	if _, err := s.st.GetGroup(ctx, scope, name); err != nil {
		return "", logs.StoreError(err)
	}
	return name, nil
}

// resource is the ARN IAM judges the call on: the group's for a resource
// policy, "*" for the account's (AWS's resource type list has none for them).
func (s *Service) resource(scope store.Scope, arn string) string {
	if arn != "" {
		return arn
	}
	return "*"
}

func (s *Service) key(scope store.Scope, name string) store.ResourceKey {
	return store.ResourceKey{Scope: scope, Kind: kind, Name: name}
}

func (s *Service) get(ctx context.Context, k store.ResourceKey) (record, error) {
	var rec record
	v, err := s.st.GetResource(ctx, k)
	if errors.Is(err, store.ErrResourceNotFound) {
		return rec, err
	}
	if err != nil {
		return rec, logs.StoreError(err)
	}
	if err := json.Unmarshal(v, &rec); err != nil {
		return rec, err
	}
	return rec, nil
}

func (s *Service) put(ctx context.Context, k store.ResourceKey, rec record) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	return logs.StoreError(s.st.PutResource(ctx, k, v))
}

// newRevision is an opaque revision id: 32 hex digits, random so that a
// revision id of a deleted and re-created policy never matches the old one.
func newRevision() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
