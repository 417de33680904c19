package metricfilter

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/awsmodel"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
)

// MaxFiltersPerGroup is AWS's quota of metric filters per log group.
const MaxFiltersPerGroup = 100

// Resource kinds of this family besides logs.MetricFilterKind.
const (
	// indexKind records, account-less, every group that has (or had)
	// filters, named account/region/group, so the Counter finds them all at
	// start; an entry whose group has no filters any more is removed by it.
	indexKind = "metricFilterGroup"
	// stateKind is a group's counters with the feed position they include
	// (one record, name stateName).
	stateKind = "metricFilterState"
	stateName = "counters"
)

func indexName(s store.Scope, group string) string { return s.Account + "/" + s.Region + "/" + group }

func parseIndexName(n string) (store.Scope, string, bool) {
	acct, rest, ok1 := strings.Cut(n, "/")
	region, group, ok2 := strings.Cut(rest, "/")
	return store.Scope{Account: acct, Region: region}, group, ok1 && ok2 && group != ""
}

// MetricTransformation is the wire shape (and the stored one).
type MetricTransformation struct {
	MetricName      string            `json:"metricName"`
	MetricNamespace string            `json:"metricNamespace"`
	MetricValue     string            `json:"metricValue"`
	DefaultValue    *Double           `json:"defaultValue,omitempty"`
	Dimensions      map[string]string `json:"dimensions,omitempty"`
	Unit            string            `json:"unit,omitempty"`
}

// MetricFilter is the wire shape of DescribeMetricFilters' items, and the
// stored record.
type MetricFilter struct {
	FilterName                string                 `json:"filterName"`
	FilterPattern             string                 `json:"filterPattern"`
	MetricTransformations     []MetricTransformation `json:"metricTransformations"`
	CreationTime              int64                  `json:"creationTime"`
	LogGroupName              string                 `json:"logGroupName"`
	ApplyOnTransformedLogs    bool                   `json:"applyOnTransformedLogs"`
	FieldSelectionCriteria    string                 `json:"fieldSelectionCriteria,omitempty"`
	EmitSystemFieldDimensions []string               `json:"emitSystemFieldDimensions,omitempty"`
	// Stored is kept in the record and never sent (Describe clears it).
	Stored *storedFilter `json:"stored,omitempty"`
}

// storedFilter is what the Counter needs of a filter beyond its wire shape,
// because a replacement keeps creationTime (PutMetricFilter): Since is when
// the current definition was put (ms; events ingested before it are not
// counted by it), and Revision tells one definition from the next (the
// Counter's counters start again when it changes). A record without it
// (put before it existed) has both equal to its creationTime, as before.
type storedFilter struct {
	Since    int64 `json:"since"`
	Revision int64 `json:"revision"`
}

// since and revision read Stored, or creationTime for a record without it.
func (f MetricFilter) since() int64 {
	if f.Stored != nil {
		return f.Stored.Since
	}
	return f.CreationTime
}

func (f MetricFilter) revision() int64 {
	if f.Stored != nil {
		return f.Stored.Revision
	}
	return f.CreationTime
}

// PutMetricFilterInput: required members are pointers so that a missing one
// is told from an empty one, as the model's "must not be null" needs.
type PutMetricFilterInput struct {
	LogGroupName              *string                     `json:"logGroupName"`
	FilterName                *string                     `json:"filterName"`
	FilterPattern             *string                     `json:"filterPattern"`
	MetricTransformations     []MetricTransformationInput `json:"metricTransformations"`
	ApplyOnTransformedLogs    *bool                       `json:"applyOnTransformedLogs"`
	FieldSelectionCriteria    *string                     `json:"fieldSelectionCriteria"`
	EmitSystemFieldDimensions []string                    `json:"emitSystemFieldDimensions"`
}

type MetricTransformationInput struct {
	MetricName      *string           `json:"metricName"`
	MetricNamespace *string           `json:"metricNamespace"`
	MetricValue     *string           `json:"metricValue"`
	DefaultValue    *float64          `json:"defaultValue"`
	Dimensions      map[string]string `json:"dimensions"`
	Unit            *string           `json:"unit"`
}

// putOperation decodes PutMetricFilter and validates it by hand with the
// model's shapes, because AWS departs from its model here in two recorded
// ways (reference §1, §4.1): a ':' in metricNamespace is accepted although
// the model's pattern forbids it, and two transformations are reported in
// Java's toString form.
func (s *Service) putOperation() protocol.Operation {
	return func(ctx context.Context, c *protocol.Call) (any, error) {
		in := new(PutMetricFilterInput)
		if err := c.DecodeUnchecked(in); err != nil {
			return nil, err
		}
		if err := validatePut(c.Model(), in); err != nil {
			return nil, err
		}
		if _, err := s.PutMetricFilter(ctx, c.Caller, in); err != nil {
			return nil, err
		}
		return struct{}{}, nil
	}
}

func validatePut(m *awsmodel.Model, in *PutMetricFilterInput) error {
	if in.LogGroupName != nil && logs.GroupNameTooLong(*in.LogGroupName) {
		return awserr.GroupOrStreamNameTooLong()
	}
	var vs []awserr.Violation
	var err error
	str := func(shape, path string, v *string) {
		if err != nil {
			return
		}
		if v == nil {
			vs = append(vs, awserr.Violation{Value: "null", Member: path, Constraint: "Member must not be null"})
			return
		}
		vs, err = m.AppendViolations(vs, shape, path, *v)
	}
	str("LogGroupName", "logGroupName", in.LogGroupName)
	str("FilterName", "filterName", in.FilterName)
	str("FilterPattern", "filterPattern", in.FilterPattern)
	switch n := len(in.MetricTransformations); {
	case in.MetricTransformations == nil:
		vs = append(vs, awserr.Violation{Value: "null", Member: "metricTransformations", Constraint: "Member must not be null"})
	case n == 0:
		vs = append(vs, awserr.Violation{Value: "'[]'", Member: "metricTransformations", Constraint: "Member must have length greater than or equal to 1"})
	case n > 1:
		vs = append(vs, awserr.Violation{Value: "'" + javaList(in.MetricTransformations) + "'", Member: "metricTransformations", Constraint: "Member must have length less than or equal to 1"})
	}
	for i, t := range in.MetricTransformations {
		p := "metricTransformations." + itoa(i+1) + ".member."
		str("MetricName", p+"metricName", t.MetricName)
		// AWS accepts ':' in a namespace (recorded, reference §4.1); the
		// model's other rules hold.
		if t.MetricNamespace == nil {
			str("", p+"metricNamespace", nil)
		} else if ns := *t.MetricNamespace; len([]rune(ns)) > 255 {
			vs = append(vs, awserr.Violation{Value: "'" + ns + "'", Member: p + "metricNamespace", Constraint: "Member must have length less than or equal to 255"})
		} else if strings.ContainsAny(ns, "*$") {
			vs = append(vs, awserr.Violation{Value: "'" + ns + "'", Member: p + "metricNamespace", Constraint: "Member must satisfy regular expression pattern: [^:*$]*"})
		}
		str("MetricValue", p+"metricValue", t.MetricValue)
		if t.Unit != nil {
			str("StandardUnit", p+"unit", t.Unit)
		}
		if t.Dimensions != nil && err == nil {
			dm := make(map[string]any, len(t.Dimensions))
			for k, v := range t.Dimensions {
				dm[k] = v
			}
			vs, err = m.AppendViolations(vs, "Dimensions", p+"dimensions", dm)
		}
	}
	if in.FieldSelectionCriteria != nil {
		str("FieldSelectionCriteria", "fieldSelectionCriteria", in.FieldSelectionCriteria)
	}
	if err != nil {
		return err
	}
	if len(vs) > 0 {
		return awserr.InvalidParameters(vs...)
	}
	return nil
}

// javaList renders transformations as AWS's Java service prints them in a
// length violation (recorded, reference §1).
func javaList(ts []MetricTransformationInput) string {
	s := func(p *string) string {
		if p == nil {
			return "null"
		}
		return *p
	}
	parts := make([]string, len(ts))
	for i, t := range ts {
		def, unit, dims := "null", s(t.Unit), "null"
		if t.DefaultValue != nil {
			def = formatDouble(*t.DefaultValue)
		}
		if t.Dimensions != nil {
			keys := make([]string, 0, len(t.Dimensions))
			for k := range t.Dimensions {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			kv := make([]string, len(keys))
			for j, k := range keys {
				kv[j] = k + "=" + t.Dimensions[k]
			}
			dims = "{" + strings.Join(kv, ", ") + "}"
		}
		parts[i] = "MetricTransformation(metricName=" + s(t.MetricName) + ", metricNamespace=" + s(t.MetricNamespace) +
			", metricValue=" + s(t.MetricValue) + ", defaultValue=" + def + ", unit=" + unit + ", dimensions=" + dims + ")"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// describeOperation validates DescribeMetricFilters by hand for the same
// reason as putOperation: a namespace with ':' that Put accepted must be
// found again (recorded, reference §4.1).
func (s *Service) describeOperation() protocol.Operation {
	return func(ctx context.Context, c *protocol.Call) (any, error) {
		in := new(DescribeMetricFiltersInput)
		if err := c.DecodeUnchecked(in); err != nil {
			return nil, err
		}
		// Which members were sent, empty or not: the model's minimum length
		// of 1 refuses a member sent as "" (AWS answers {"nextToken":""}
		// with "Value '' at 'nextToken' failed to satisfy constraint: Member
		// must have length greater than or equal to 1", fluent-plugin-
		// cloudwatch-logs#116), which the strings of in cannot tell from an
		// absent one.
		var sent struct {
			LogGroupName     *string `json:"logGroupName"`
			FilterNamePrefix *string `json:"filterNamePrefix"`
			NextToken        *string `json:"nextToken"`
		}
		if err := c.DecodeUnchecked(&sent); err != nil {
			return nil, err
		}
		if logs.GroupNameTooLong(in.LogGroupName) {
			return nil, awserr.GroupOrStreamNameTooLong()
		}
		m := c.Model()
		var vs []awserr.Violation
		var err error
		check := func(shape, path string, v any) {
			if err == nil {
				vs, err = m.AppendViolations(vs, shape, path, v)
			}
		}
		if sent.LogGroupName != nil {
			check("LogGroupName", "logGroupName", in.LogGroupName)
		}
		if sent.FilterNamePrefix != nil {
			check("FilterName", "filterNamePrefix", in.FilterNamePrefix)
		}
		if sent.NextToken != nil {
			check("NextToken", "nextToken", in.NextToken)
		}
		if in.Limit != nil {
			check("DescribeLimit", "limit", float64(*in.Limit))
		}
		if in.MetricName != "" {
			check("MetricName", "metricName", in.MetricName)
		}
		if ns := in.MetricNamespace; len([]rune(ns)) > 255 {
			vs = append(vs, awserr.Violation{Value: "'" + ns + "'", Member: "metricNamespace", Constraint: "Member must have length less than or equal to 255"})
		} else if strings.ContainsAny(ns, "*$") {
			vs = append(vs, awserr.Violation{Value: "'" + ns + "'", Member: "metricNamespace", Constraint: "Member must satisfy regular expression pattern: [^:*$]*"})
		}
		if err != nil {
			return nil, err
		}
		if len(vs) > 0 {
			return nil, awserr.InvalidParameters(vs...)
		}
		return s.DescribeMetricFilters(ctx, c.Caller, in)
	}
}

// PutMetricFilter creates or replaces a filter (validated already by the
// model's rules: putOperation). A new name past MaxFiltersPerGroup is
// LimitExceededException; a replacement at the limit is not (reference §1).
func (s *Service) PutMetricFilter(ctx context.Context, c caller.Caller, in *PutMetricFilterInput) (*struct{}, error) {
	scope := logs.Scope(c)
	group, name := deref(in.LogGroupName), deref(in.FilterName)
	if err := c.Authorize("logs:PutMetricFilter", logs.GroupResource(scope, group)); err != nil {
		return nil, err
	}
	// Checked first, as PutSubscriptionFilter checks its emitSystemFields:
	// a value outside the member's documented set is a fault of the value,
	// before any rule that combines members (dimensions with defaultValue,
	// dimensions with a term pattern, at most 3 of them: compileFilter).
	for _, sf := range in.EmitSystemFieldDimensions {
		if !slices.Contains(SystemFields, sf) {
			return nil, awserr.InvalidSystemField("emitSystemFieldDimensions", in.EmitSystemFieldDimensions, SystemFields)
		}
	}
	if len(in.MetricTransformations) != 1 {
		return nil, awserr.InvalidParameters(awserr.Violation{Value: "null", Member: "metricTransformations", Constraint: "Member must not be null"})
	}
	t := in.MetricTransformations[0]
	now := s.now().UnixMilli()
	f := MetricFilter{
		FilterName:    name,
		FilterPattern: deref(in.FilterPattern),
		MetricTransformations: []MetricTransformation{{
			MetricName: deref(t.MetricName), MetricNamespace: deref(t.MetricNamespace), MetricValue: deref(t.MetricValue),
			DefaultValue: (*Double)(t.DefaultValue), Dimensions: t.Dimensions, Unit: deref(t.Unit),
		}},
		CreationTime:              now,
		LogGroupName:              group,
		ApplyOnTransformedLogs:    in.ApplyOnTransformedLogs != nil && *in.ApplyOnTransformedLogs,
		FieldSelectionCriteria:    deref(in.FieldSelectionCriteria),
		EmitSystemFieldDimensions: in.EmitSystemFieldDimensions,
		Stored:                    &storedFilter{Since: now, Revision: now},
	}
	if len(f.MetricTransformations[0].Dimensions) == 0 {
		f.MetricTransformations[0].Dimensions = nil
	}
	cf, err := compileFilter(s.compile, f)
	if err != nil {
		return nil, err
	}
	s.putMu.Lock()
	defer s.putMu.Unlock()
	k := store.ResourceKey{Scope: scope, Group: group, Kind: logs.MetricFilterKind, Name: name}
	exists, n := false, 0
	err = s.st.ListResources(ctx, k, "", "", func(n2 string, _ []byte) bool {
		n++
		exists = exists || n2 == name
		return true
	})
	if err != nil {
		return nil, logs.StoreError(err)
	}
	if !exists && n >= MaxFiltersPerGroup {
		return nil, awserr.ResourceLimitExceeded()
	}
	if err := logs.CheckRegexFilters(ctx, s.st, s.compile, scope, group, logs.MetricFilterKind, name, cf.pattern); err != nil {
		return nil, err
	}
	if exists {
		// A replacement keeps the filter's creationTime. No source records
		// AWS's answer (reference §16, open question 4); Cairn decides so because
		// the Put updates one resource, named as before, and its other
		// create-or-update operations (PutSubscriptionFilter, PutDestination)
		// keep it too, so the three families answer alike.
		raw, err := s.st.GetResource(ctx, k)
		if err != nil {
			return nil, logs.StoreError(err)
		}
		var old MetricFilter
		if json.Unmarshal(raw, &old) == nil && old.CreationTime != 0 {
			f.CreationTime = old.CreationTime
			// A new revision even within the old one's millisecond, so the
			// Counter never takes the new definition for the old.
			f.Stored.Revision = max(now, old.revision()+1)
		}
	}
	val, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	// The index first: a crash between the two leaves an index entry the
	// Counter drops, never a filter it does not know of.
	if err := s.st.PutResource(ctx, store.ResourceKey{Kind: indexKind, Name: indexName(scope, group)}, nil); err != nil {
		return nil, logs.StoreError(err)
	}
	if err := s.st.PutResource(ctx, k, val); err != nil {
		return nil, logs.StoreError(err)
	}
	if s.counter != nil {
		s.counter.Changed(scope, group)
	}
	return nil, nil
}

type DescribeMetricFiltersInput struct {
	LogGroupName     string `json:"logGroupName"`
	FilterNamePrefix string `json:"filterNamePrefix"`
	NextToken        string `json:"nextToken"`
	Limit            *int   `json:"limit"`
	MetricName       string `json:"metricName"`
	MetricNamespace  string `json:"metricNamespace"`
}

type DescribeMetricFiltersOutput struct {
	MetricFilters []MetricFilter `json:"metricFilters"`
	NextToken     string         `json:"nextToken,omitempty"`
}

// DescribeMetricFilters lists filters in ASCII order of filterName (then log
// group), of one group or, without logGroupName, of every group of the
// account and region: AWS applies filterNamePrefix without a group too
// (recorded, reference §4.2). metricName and metricNamespace go together.
func (s *Service) DescribeMetricFilters(ctx context.Context, c caller.Caller, in *DescribeMetricFiltersInput) (*DescribeMetricFiltersOutput, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:DescribeMetricFilters", logs.GroupResource(scope, in.LogGroupName)); err != nil {
		return nil, err
	}
	if (in.MetricName == "") != (in.MetricNamespace == "") {
		return nil, awserr.MetricNameWithoutNamespace()
	}
	limit := 50
	if in.Limit != nil {
		limit = *in.Limit
	}
	var after *pageKey
	if in.NextToken != "" {
		k, ok := decodePageToken(in.NextToken)
		if !ok {
			return nil, awserr.InvalidToken()
		}
		after = &k
	}
	groups := []string{in.LogGroupName}
	if in.LogGroupName == "" {
		groups = nil
		pfx := indexName(scope, "")
		err := s.st.ListResources(ctx, store.ResourceKey{Kind: indexKind}, pfx, "", func(n string, _ []byte) bool {
			groups = append(groups, strings.TrimPrefix(n, pfx))
			return true
		})
		if err != nil {
			return nil, logs.StoreError(err)
		}
	}
	var all []MetricFilter
	for _, g := range groups {
		err := s.st.ListResources(ctx, store.ResourceKey{Scope: scope, Group: g, Kind: logs.MetricFilterKind}, in.FilterNamePrefix, "", func(_ string, v []byte) bool {
			var f MetricFilter
			if json.Unmarshal(v, &f) != nil || len(f.MetricTransformations) != 1 {
				return true
			}
			t := f.MetricTransformations[0]
			if in.MetricName != "" && (t.MetricName != in.MetricName || t.MetricNamespace != in.MetricNamespace) {
				return true
			}
			if after != nil && !after.less(pageKey{f.FilterName, f.LogGroupName}) {
				return true
			}
			f.Stored = nil
			all = append(all, f)
			return true
		})
		if errors.Is(err, store.ErrGroupNotFound) && in.LogGroupName == "" {
			continue // an index entry the Counter has not dropped yet
		}
		if err != nil {
			return nil, logs.StoreError(err)
		}
	}
	slices.SortFunc(all, func(a, b MetricFilter) int {
		if c := strings.Compare(a.FilterName, b.FilterName); c != 0 {
			return c
		}
		return strings.Compare(a.LogGroupName, b.LogGroupName)
	})
	out := &DescribeMetricFiltersOutput{MetricFilters: []MetricFilter{}}
	if len(all) > limit {
		last := all[limit-1]
		out.NextToken = encodePageToken(pageKey{last.FilterName, last.LogGroupName})
		all = all[:limit]
	}
	out.MetricFilters = append(out.MetricFilters, all...)
	return out, nil
}

type DeleteMetricFilterInput struct {
	LogGroupName string `json:"logGroupName"`
	FilterName   string `json:"filterName"`
}

// DeleteMetricFilter removes a filter; its metrics leave /metrics with it.
func (s *Service) DeleteMetricFilter(ctx context.Context, c caller.Caller, in *DeleteMetricFilterInput) (*struct{}, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:DeleteMetricFilter", logs.GroupResource(scope, in.LogGroupName)); err != nil {
		return nil, err
	}
	s.putMu.Lock()
	defer s.putMu.Unlock()
	k := store.ResourceKey{Scope: scope, Group: in.LogGroupName, Kind: logs.MetricFilterKind, Name: in.FilterName}
	if _, err := s.st.GetResource(ctx, k); err != nil {
		if errors.Is(err, store.ErrResourceNotFound) {
			return nil, awserr.MetricFilterNotFound()
		}
		return nil, logs.StoreError(err)
	}
	if err := s.st.DeleteResource(ctx, k); err != nil {
		return nil, logs.StoreError(err)
	}
	if s.counter != nil {
		s.counter.Changed(scope, in.LogGroupName)
	}
	return nil, nil
}

// pageKey is where a DescribeMetricFilters page ended.
type pageKey struct{ Filter, Group string }

func (k pageKey) less(o pageKey) bool {
	if k.Filter != o.Filter {
		return k.Filter < o.Filter
	}
	return k.Group < o.Group
}

// Tokens are base64 of "mf1\x00filter\x00group": opaque to clients, and
// refused unless they have that form.
func encodePageToken(k pageKey) string {
	return base64.RawURLEncoding.EncodeToString([]byte("mf1\x00" + k.Filter + "\x00" + k.Group))
}

func decodePageToken(t string) (pageKey, bool) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return pageKey{}, false
	}
	parts := strings.Split(string(b), "\x00")
	if len(parts) != 3 || parts[0] != "mf1" {
		return pageKey{}, false
	}
	return pageKey{parts[1], parts[2]}, true
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
