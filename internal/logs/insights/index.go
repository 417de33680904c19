package insights

import (
	"context"
	"errors"
	"fmt"

	json "github.com/goccy/go-json"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/store"
)

// A log group's field index policy is one store resource record with the
// group (kind indexPolicy), so it goes when the group goes. Cairn keeps,
// validates and reports the policy; a query does not need it to skip
// blocks: the language pushes `filter field = "value"` on a JSON field down
// as a literal every unescaped match contains, and the engine skips the
// blocks whose summaries prove it absent, indexed field or not
// (TestFieldFilterSkipsBlocks). filterIndex is accepted and scans like
// filter.
const (
	indexPolicyKind = "indexPolicy"
	indexPolicyName = "policy"
	maxIndexFields  = 20  // "As many as 20 fields can be included in the policy."
	maxIndexField   = 100 // "Each field name can include as many as 100 characters."
)

// defaultIndexes are the fields AWS indexes in every Standard-class group
// (PutIndexPolicy documentation; IndexCategory DEFAULT names @logStream).
var defaultIndexes = [...]string{"@logStream", "@aws.region", "@aws.account", "@source.log", "traceId"}

type storedPolicy struct {
	Document   string   `json:"document"`
	Fields     []string `json:"fields"`
	LastUpdate int64    `json:"lastUpdate"`
}

type IndexPolicy struct {
	LogGroupIdentifier string `json:"logGroupIdentifier"`
	LastUpdateTime     int64  `json:"lastUpdateTime"`
	PolicyDocument     string `json:"policyDocument"`
	Source             string `json:"source"`
}

type PutIndexPolicyInput struct {
	LogGroupIdentifier string `json:"logGroupIdentifier"`
	PolicyDocument     string `json:"policyDocument"`
}

type PutIndexPolicyOutput struct {
	IndexPolicy IndexPolicy `json:"indexPolicy"`
}

// parseIndexPolicy validates a policy document as AWS describes it:
// {"Fields": [...], "FieldsV2": {"name": {"type": "FIELD_INDEX"|"FACET"}}},
// names in the two mutually exclusive, at least one and at most 20 fields,
// each at most 100 characters.
func parseIndexPolicy(doc string) ([]string, error) {
	var p struct {
		Fields   []string `json:"Fields"`
		FieldsV2 map[string]struct {
			Type string `json:"type"`
		} `json:"FieldsV2"`
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return nil, awserr.InvalidIndexPolicy("the document is not a JSON object with Fields and FieldsV2")
	}
	seen := map[string]bool{}
	var fields []string
	add := func(f string) error {
		if f == "" || len([]rune(f)) > maxIndexField {
			return awserr.InvalidIndexPolicy(fmt.Sprintf("field names must have 1 to %d characters", maxIndexField))
		}
		if seen[f] {
			return awserr.InvalidIndexPolicy(fmt.Sprintf("field %s is listed more than once (names in Fields and FieldsV2 must be mutually exclusive)", f))
		}
		seen[f] = true
		fields = append(fields, f)
		return nil
	}
	for _, f := range p.Fields {
		if err := add(f); err != nil {
			return nil, err
		}
	}
	for f, spec := range p.FieldsV2 {
		if spec.Type != "FIELD_INDEX" && spec.Type != "FACET" {
			return nil, awserr.InvalidIndexPolicy(fmt.Sprintf("field %s has type %q; supported types are FIELD_INDEX and FACET", f, spec.Type))
		}
		if err := add(f); err != nil {
			return nil, err
		}
	}
	if len(fields) == 0 {
		return nil, awserr.InvalidIndexPolicy("the policy document must include at least one field index")
	}
	if len(fields) > maxIndexFields {
		return nil, awserr.InvalidIndexPolicy(fmt.Sprintf("as many as %d fields can be included in the policy", maxIndexFields))
	}
	return fields, nil
}

// PutIndexPolicy creates or replaces a group's field index policy.
func (s *Service) PutIndexPolicy(ctx context.Context, c caller.Caller, in *PutIndexPolicyInput) (*PutIndexPolicyOutput, error) {
	scope := logs.Scope(c)
	name, err := logs.ResolveGroup(scope, "", in.LogGroupIdentifier, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize("logs:PutIndexPolicy", logs.GroupResource(scope, name)); err != nil {
		return nil, err
	}
	fields, err := parseIndexPolicy(in.PolicyDocument)
	if err != nil {
		return nil, err
	}
	p := storedPolicy{Document: in.PolicyDocument, Fields: fields, LastUpdate: s.now().UnixMilli()}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	if err := s.st.PutResource(ctx, indexKey(scope, name), b); err != nil {
		return nil, logs.StoreError(err)
	}
	return &PutIndexPolicyOutput{IndexPolicy: indexPolicyOut(scope, name, p)}, nil
}

func indexKey(scope store.Scope, group string) store.ResourceKey {
	return store.ResourceKey{Scope: scope, Group: group, Kind: indexPolicyKind, Name: indexPolicyName}
}

func indexPolicyOut(scope store.Scope, group string, p storedPolicy) IndexPolicy {
	return IndexPolicy{LogGroupIdentifier: logs.GroupARN(scope, group), LastUpdateTime: p.LastUpdate, PolicyDocument: p.Document, Source: "LOG_GROUP"}
}

// policyOf reads a group's policy; ok is false when it has none.
func (s *Service) policyOf(ctx context.Context, scope store.Scope, group string) (p storedPolicy, ok bool, err error) {
	b, err := s.st.GetResource(ctx, indexKey(scope, group))
	switch {
	case errors.Is(err, store.ErrResourceNotFound):
		return p, false, nil
	case err != nil:
		return p, false, logs.StoreError(err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, false, err
	}
	return p, true, nil
}

type DescribeIndexPoliciesInput struct {
	LogGroupIdentifiers []string `json:"logGroupIdentifiers"`
	NextToken           *string  `json:"nextToken"`
}

type DescribeIndexPoliciesOutput struct {
	IndexPolicies []IndexPolicy `json:"indexPolicies"`
	NextToken     *string       `json:"nextToken,omitempty"`
}

// DescribeIndexPolicies returns the group's policy, or none.
func (s *Service) DescribeIndexPolicies(ctx context.Context, c caller.Caller, in *DescribeIndexPoliciesInput) (*DescribeIndexPoliciesOutput, error) {
	scope := logs.Scope(c)
	out := &DescribeIndexPoliciesOutput{IndexPolicies: []IndexPolicy{}}
	if in.NextToken != nil {
		// Every answer is one page: no token Cairn issued exists.
		return nil, awserr.InvalidToken()
	}
	for _, id := range in.LogGroupIdentifiers {
		name, err := logs.ResolveGroup(scope, "", id, nil)
		if err != nil {
			return nil, err
		}
		if err := c.Authorize("logs:DescribeIndexPolicies", logs.GroupResource(scope, name)); err != nil {
			return nil, err
		}
		if _, err := s.st.GetGroup(ctx, scope, name); err != nil {
			return nil, logs.StoreError(err)
		}
		p, ok, err := s.policyOf(ctx, scope, name)
		if err != nil {
			return nil, err
		}
		if ok {
			out.IndexPolicies = append(out.IndexPolicies, indexPolicyOut(scope, name, p))
		}
	}
	return out, nil
}

type DeleteIndexPolicyInput struct {
	LogGroupIdentifier string `json:"logGroupIdentifier"`
}

// DeleteIndexPolicy deletes the group's policy.
func (s *Service) DeleteIndexPolicy(ctx context.Context, c caller.Caller, in *DeleteIndexPolicyInput) (*struct{}, error) {
	scope := logs.Scope(c)
	name, err := logs.ResolveGroup(scope, "", in.LogGroupIdentifier, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Authorize("logs:DeleteIndexPolicy", logs.GroupResource(scope, name)); err != nil {
		return nil, err
	}
	if _, err := s.st.GetGroup(ctx, scope, name); err != nil {
		return nil, logs.StoreError(err)
	}
	_, ok, err := s.policyOf(ctx, scope, name)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, awserr.IndexPolicyNotFound()
	}
	if err := s.st.DeleteResource(ctx, indexKey(scope, name)); err != nil && !errors.Is(err, store.ErrResourceNotFound) {
		return nil, logs.StoreError(err)
	}
	return nil, nil
}

type DescribeFieldIndexesInput struct {
	LogGroupIdentifiers []string `json:"logGroupIdentifiers"`
	IndexCategories     []string `json:"indexCategories"`
	NextToken           *string  `json:"nextToken"`
}

type FieldIndex struct {
	LogGroupIdentifier string `json:"logGroupIdentifier"`
	FieldIndexName     string `json:"fieldIndexName"`
	LastScanTime       int64  `json:"lastScanTime"`
	Type               string `json:"type"`
	IndexCategory      string `json:"indexCategory"`
}

type DescribeFieldIndexesOutput struct {
	FieldIndexes []FieldIndex `json:"fieldIndexes"`
	NextToken    *string      `json:"nextToken,omitempty"`
}

// DescribeFieldIndexes lists each group's indexes: AWS's DEFAULT ones and
// the CUSTOM ones of its policy (the default categories are DEFAULT,
// CUSTOM and INACTIVE; Cairn has no AUTO or INACTIVE indexes). Cairn does
// not track the first and last event time of each index, so those members
// are left out; lastScanTime is the policy's last update.
func (s *Service) DescribeFieldIndexes(ctx context.Context, c caller.Caller, in *DescribeFieldIndexesInput) (*DescribeFieldIndexesOutput, error) {
	scope := logs.Scope(c)
	if in.NextToken != nil {
		return nil, awserr.InvalidToken()
	}
	want := map[string]bool{"DEFAULT": true, "CUSTOM": true, "INACTIVE": true}
	if len(in.IndexCategories) > 0 {
		want = map[string]bool{}
		for _, k := range in.IndexCategories {
			want[k] = true
		}
	}
	out := &DescribeFieldIndexesOutput{FieldIndexes: []FieldIndex{}}
	for _, id := range in.LogGroupIdentifiers {
		name, err := logs.ResolveGroup(scope, "", id, nil)
		if err != nil {
			return nil, err
		}
		if err := c.Authorize("logs:DescribeFieldIndexes", logs.GroupResource(scope, name)); err != nil {
			return nil, err
		}
		g, err := s.st.GetGroup(ctx, scope, name)
		if err != nil {
			return nil, logs.StoreError(err)
		}
		arn := logs.GroupARN(scope, name)
		if want["DEFAULT"] {
			for _, f := range defaultIndexes {
				out.FieldIndexes = append(out.FieldIndexes, FieldIndex{LogGroupIdentifier: arn, FieldIndexName: f, LastScanTime: g.CreationTime,
					Type: "FIELD_INDEX", IndexCategory: "DEFAULT"})
			}
		}
		p, ok, err := s.policyOf(ctx, scope, name)
		if err != nil {
			return nil, err
		}
		if ok && want["CUSTOM"] {
			for _, f := range p.Fields {
				out.FieldIndexes = append(out.FieldIndexes, FieldIndex{LogGroupIdentifier: arn, FieldIndexName: f, LastScanTime: p.LastUpdate,
					Type: policyFieldType(p.Document, f), IndexCategory: "CUSTOM"})
			}
		}
	}
	return out, nil
}

// policyFieldType is a field's type in the policy: FieldsV2's, else
// FIELD_INDEX.
func policyFieldType(doc, field string) string {
	var p struct {
		FieldsV2 map[string]struct {
			Type string `json:"type"`
		} `json:"FieldsV2"`
	}
	if json.Unmarshal([]byte(doc), &p) == nil {
		if t := p.FieldsV2[field].Type; t != "" {
			return t
		}
	}
	return "FIELD_INDEX"
}
