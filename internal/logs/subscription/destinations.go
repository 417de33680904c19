package subscription

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/delivery"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/fieldselect"
	"github.com/cairnlog/cairn/internal/store"
)

// destinationRecord is a destination as stored; Destination is its wire shape.
type destinationRecord struct {
	Destination
	Tags map[string]string `json:"tags,omitempty"`
}

type Destination struct {
	DestinationName string `json:"destinationName"`
	TargetArn       string `json:"targetArn"`
	RoleArn         string `json:"roleArn"`
	AccessPolicy    string `json:"accessPolicy,omitempty"`
	Arn             string `json:"arn"`
	CreationTime    int64  `json:"creationTime"`
}

func destinationARN(scope store.Scope, name string) string {
	// The partition of the region, as logs.GroupARN spells it.
	arn := logs.GroupARN(scope, "x")
	return strings.TrimSuffix(arn, "log-group:x") + "destination:" + name
}

func (s *Service) getDestination(ctx context.Context, scope store.Scope, name string) (destinationRecord, error) {
	var d destinationRecord
	raw, err := s.store.GetResource(ctx, store.ResourceKey{Scope: scope, Kind: kindDestination, Name: name})
	if err != nil {
		return d, err
	}
	return d, json.Unmarshal(raw, &d)
}

func (s *Service) putDestination(ctx context.Context, scope store.Scope, d destinationRecord) error {
	raw, _ := json.Marshal(d)
	return s.store.PutResource(ctx, store.ResourceKey{Scope: scope, Kind: kindDestination, Name: d.DestinationName}, raw)
}

type PutDestinationInput struct {
	DestinationName string            `json:"destinationName"`
	TargetArn       string            `json:"targetArn"`
	RoleArn         string            `json:"roleArn"`
	Tags            map[string]string `json:"tags"`
}

type PutDestinationOutput struct {
	Destination Destination `json:"destination"`
}

// PutDestination creates or updates a destination. A second Put keeps the
// ARN [AWS], the creation time and the access policy (reference §3: keep
// both). The target must be a Kinesis stream or a Firehose delivery stream:
// the only targets a destination has (the model's documentation).
func (s *Service) PutDestination(ctx context.Context, c caller.Caller, in *PutDestinationInput) (*PutDestinationOutput, error) {
	scope := logs.Scope(c)
	arn := destinationARN(scope, in.DestinationName)
	if err := c.Authorize("logs:PutDestination", arn); err != nil {
		return nil, err
	}
	switch v, res := delivery.Vendor(in.TargetArn), delivery.ARNResource(in.TargetArn); {
	case v == "kinesis" && strings.HasPrefix(res, "stream/"), v == "firehose" && strings.HasPrefix(res, "deliverystream/"):
	default:
		return nil, awserr.InvalidTargetARN(in.TargetArn)
	}
	if len(in.Tags) > 50 {
		return nil, awserr.TagLimit(50, in.DestinationName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.getDestination(ctx, scope, in.DestinationName)
	switch {
	case errors.Is(err, store.ErrResourceNotFound):
		d = destinationRecord{Destination: Destination{DestinationName: in.DestinationName, Arn: arn, CreationTime: s.now().UnixMilli()}}
	case err != nil:
		return nil, logs.StoreError(err)
	}
	d.TargetArn, d.RoleArn = in.TargetArn, in.RoleArn
	if in.Tags != nil {
		d.Tags = in.Tags
	}
	if err := s.putDestination(ctx, scope, d); err != nil {
		return nil, logs.StoreError(err)
	}
	if s.notify != nil {
		s.notify.Changed()
	}
	return &PutDestinationOutput{Destination: d.Destination}, nil
}

type DescribeDestinationsInput struct {
	DestinationNamePrefix string `json:"DestinationNamePrefix"`
	NextToken             string `json:"nextToken"`
	Limit                 int    `json:"limit"`
}

type DescribeDestinationsOutput struct {
	Destinations []Destination `json:"destinations"`
	NextToken    string        `json:"nextToken,omitempty"`
}

// DescribeDestinations lists the account's destinations in ASCII order;
// nextToken is a logs.EncodePageToken of the last name answered, and any
// other token is refused as DescribeSubscriptionFilters refuses it.
func (s *Service) DescribeDestinations(ctx context.Context, c caller.Caller, in *DescribeDestinationsInput) (*DescribeDestinationsOutput, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:DescribeDestinations", "*"); err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit == 0 {
		limit = 50
	}
	after, err := logs.DecodePageToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &DescribeDestinationsOutput{Destinations: []Destination{}}
	var last string
	more := false
	var bad error
	err = s.store.ListResources(ctx, store.ResourceKey{Scope: scope, Kind: kindDestination}, in.DestinationNamePrefix, after,
		func(name string, v []byte) bool {
			if len(out.Destinations) == limit {
				more = true
				return false
			}
			var d destinationRecord
			if err := json.Unmarshal(v, &d); err != nil {
				bad = fmt.Errorf("destination record %q: %w", name, err)
				return false
			}
			out.Destinations = append(out.Destinations, d.Destination)
			last = name
			return true
		})
	if err = errors.Join(err, bad); err != nil {
		return nil, logs.StoreError(err)
	}
	if more {
		out.NextToken = logs.EncodePageToken(last)
	}
	return out, nil
}

type DeleteDestinationInput struct {
	DestinationName string `json:"destinationName"`
}

// DeleteDestination removes a destination. Filters of other accounts that
// target it keep their events at their cursors (AWS: "eventually
// disabled"); they are not deleted, since they are the other account's.
func (s *Service) DeleteDestination(ctx context.Context, c caller.Caller, in *DeleteDestinationInput) (*struct{}, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:DeleteDestination", destinationARN(scope, in.DestinationName)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := store.ResourceKey{Scope: scope, Kind: kindDestination, Name: in.DestinationName}
	if _, err := s.store.GetResource(ctx, k); errors.Is(err, store.ErrResourceNotFound) {
		return nil, awserr.DestinationNotFound()
	} else if err != nil {
		return nil, logs.StoreError(err)
	}
	if err := s.store.DeleteResource(ctx, k); err != nil {
		return nil, logs.StoreError(err)
	}
	if s.notify != nil {
		s.notify.Changed()
	}
	return nil, nil
}

type PutDestinationPolicyInput struct {
	DestinationName string `json:"destinationName"`
	AccessPolicy    string `json:"accessPolicy"`
	ForceUpdate     bool   `json:"forceUpdate"`
}

// maxAccessPolicyBytes is accessPolicy's documented limit: "This can be up
// to 5120 bytes" (the model's documentation of the member; the model itself
// gives only min 1). AWS enforces a limit — a destination policy that listed
// 315 accounts one by one hit it (aws-samples/aws-secure-environment-accelerator
// #899) — but its text is unrecorded, so the refusal is Cairn's, and the
// count is in UTF-8 bytes, as the documentation says.
const maxAccessPolicyBytes = 5120

// PutDestinationPolicy stores the access policy verbatim (Terraform compares
// by JSON equivalence; AWS's normalisation is unrecorded). The document must
// be a JSON object of at most 5120 bytes. Its statements are not checked:
// AWS accepted a principal Cairn's IAM engine cannot evaluate (reference
// §3), which says AWS does not run IAM's grammar here, so a document it may
// take ("{}" included, no source refusing it) is not refused; such a policy
// allows nobody (policyAllows fails closed). It is enforced by
// PutSubscriptionFilter of other accounts.
func (s *Service) PutDestinationPolicy(ctx context.Context, c caller.Caller, in *PutDestinationPolicyInput) (*struct{}, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:PutDestinationPolicy", destinationARN(scope, in.DestinationName)); err != nil {
		return nil, err
	}
	if len(in.AccessPolicy) > maxAccessPolicyBytes {
		return nil, awserr.InvalidAccessPolicy(fmt.Sprintf("it is %d bytes long; it can be up to %d bytes", len(in.AccessPolicy), maxAccessPolicyBytes))
	}
	var doc map[string]json.RawMessage
	// "null" decodes without error into a nil map: not an object either.
	if err := json.Unmarshal([]byte(in.AccessPolicy), &doc); err != nil || doc == nil {
		return nil, awserr.InvalidAccessPolicy("it is not a JSON object")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.getDestination(ctx, scope, in.DestinationName)
	if errors.Is(err, store.ErrResourceNotFound) {
		return nil, awserr.DestinationNotFound()
	} else if err != nil {
		return nil, logs.StoreError(err)
	}
	d.AccessPolicy = in.AccessPolicy
	if err := s.putDestination(ctx, scope, d); err != nil {
		return nil, logs.StoreError(err)
	}
	return nil, nil
}

// Filters lists every subscription filter of every account, with its
// pattern compiled and its target resolved: the delivery manager's Source.
// An index record whose group or filter is gone (the group was deleted) is
// removed.
func (s *Service) Filters(ctx context.Context) ([]delivery.Filter, error) {
	type ref struct {
		scope         store.Scope
		group, filter string
		name          string
	}
	var refs []ref
	err := s.store.ListResources(ctx, store.ResourceKey{Scope: indexScope, Kind: kindIndex}, "", "", func(name string, _ []byte) bool {
		p := strings.SplitN(name, ":", 4)
		if len(p) == 4 {
			refs = append(refs, ref{store.Scope{Account: p[0], Region: p[1]}, p[2], p[3], name})
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	var out []delivery.Filter
	for _, r := range refs {
		rec, err := s.getFilter(ctx, store.ResourceKey{Scope: r.scope, Group: r.group, Kind: kindFilter, Name: r.filter})
		if errors.Is(err, store.ErrResourceNotFound) || errors.Is(err, store.ErrGroupNotFound) {
			s.store.DeleteResource(ctx, store.ResourceKey{Scope: indexScope, Kind: kindIndex, Name: r.name})
			continue
		}
		if err != nil {
			return nil, err
		}
		p, err := s.compile(rec.FilterPattern)
		if err != nil {
			// Stored filters compiled when put; one that no longer does
			// (a later build bounds what it accepts, as MaxRegexProgram
			// did) is skipped, not an error that stops every account's
			// delivery (the manager's reload fails as a whole).
			s.log.Warn("subscription filters: a stored filter does not compile; skipped", "group", r.group, "filter", r.filter, "err", err)
			continue
		}
		out = append(out, s.deliveryFilter(r.scope, rec, p))
	}
	slices.SortFunc(out, func(a, b delivery.Filter) int { return strings.Compare(a.Group+":"+a.Name, b.Group+":"+b.Name) })
	return out, nil
}

// deliveryFilter is rec as delivery sees it; a logs destination's target is
// looked up now (TargetARN stays "" while the destination is missing: the
// events wait at the cursor).
func (s *Service) deliveryFilter(scope store.Scope, rec filterRecord, p logs.Pattern) delivery.Filter {
	f := delivery.Filter{Scope: scope, Group: rec.LogGroupName, Name: rec.FilterName, Cursor: cursorPrefix + rec.FilterName,
		PatternText: rec.FilterPattern, DestinationARN: rec.DestinationArn, TargetARN: rec.DestinationArn,
		RoleARN: rec.RoleArn, Distribution: rec.Distribution, Transformed: rec.ApplyOnTransformedLogs}
	if p != nil {
		f.Pattern = p
	}
	f.Fields = delivery.NewFields(f.Pattern, rec.EmitSystemFields, scope, rec.LogGroupName)
	// Criteria that select none of the group's events (fieldselect.Group)
	// let the filter process none: its follower still advances, delivering
	// nothing. PatternText says so, so that a change of criteria is a
	// changed filter to the delivery manager. Criteria that do not parse
	// can only be a filter's put before PutSubscriptionFilter checked
	// them; it keeps delivering as it did then.
	if crit, err := fieldselect.Parse(rec.FieldSelectionCriteria); err == nil && !crit.Selects(fieldselect.Group(scope.Account, scope.Region)) {
		f.Pattern, f.PatternText = selectsNothing{}, rec.FilterPattern+"\x00fieldSelectionCriteria selects nothing"
	}
	f.TargetARN = s.Target(context.Background(), rec.DestinationArn)
	return f
}

// selectsNothing is the Matcher of a filter whose fieldSelectionCriteria
// select none of its group's events.
type selectsNothing struct{}

func (selectsNothing) Match(string) bool { return false }
func (selectsNothing) MatchesAll() bool  { return false }

// TaggableKinds are the ARN resource types of the family's records that
// TagResource, UntagResource and ListTagsForResource reach, with their store
// kinds (logs.Service.Taggable): a destination keeps its tags in "tags".
func TaggableKinds() map[string]string {
	return map[string]string{"destination": kindDestination}
}

// Target is where records for a destination ARN go: the ARN itself, or for
// a logs destination its target ("" while the destination is missing: the
// events wait at the cursor). The account-policy source resolves through it.
func (s *Service) Target(ctx context.Context, arn string) string {
	if delivery.Vendor(arn) != "logs" {
		return arn
	}
	res := delivery.ARNResource(arn)
	dscope := store.Scope{Account: delivery.ARNAccount(arn), Region: delivery.ARNRegion(arn)}
	if d, err := s.getDestination(ctx, dscope, strings.TrimPrefix(res, "destination:")); err == nil {
		return d.TargetArn
	}
	return ""
}
