package logs

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/store"
)

const maxTags = 50

type TagResourceInput struct {
	ResourceArn string            `json:"resourceArn"`
	Tags        map[string]string `json:"tags"`
}

type UntagResourceInput struct {
	ResourceArn string   `json:"resourceArn"`
	TagKeys     []string `json:"tagKeys"`
}

type ListTagsForResourceInput struct {
	ResourceArn string `json:"resourceArn"`
}

type ListTagsForResourceOutput struct {
	Tags map[string]string `json:"tags"`
}

type TagLogGroupInput struct {
	LogGroupName string            `json:"logGroupName"`
	Tags         map[string]string `json:"tags"`
}

type UntagLogGroupInput struct {
	LogGroupName string   `json:"logGroupName"`
	Tags         []string `json:"tags"`
}

type ListTagsLogGroupInput struct {
	LogGroupName string `json:"logGroupName"`
}

type ListTagsLogGroupOutput struct {
	Tags map[string]string `json:"tags"`
}

// target is what a tagging ARN names: a log group (group), or a record of
// another family (kind and name, see Taggable).
type target struct {
	arn, group, kind, name string
}

// tagTarget resolves a tagging ARN in the caller's scope: a log group's, or
// arn:aws:logs:REGION:ACCOUNT:TYPE:NAME for a TYPE registered with
// Taggable. Any other logs ARN names nothing Cairn has (ResourceNotFound);
// a string that is not a logs ARN is refused as AWS refuses it.
func (s *Service) tagTarget(c caller.Caller, arn string) (target, error) {
	if scope, name, ok := parseGroupARN(arn); ok {
		if scope != scopeOf(c) {
			return target{}, awserr.ResourceMissing()
		}
		return target{arn: GroupARN(scope, name), group: name}, nil
	}
	if !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":logs:") {
		return target{}, awserr.InvalidResourceARN(arn)
	}
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) != 7 || parts[3] != scopeOf(c).Region || parts[4] != scopeOf(c).Account {
		return target{}, awserr.ResourceMissing()
	}
	kind, ok := s.taggable[parts[5]]
	if !ok || parts[6] == "" {
		return target{}, awserr.ResourceMissing()
	}
	return target{arn: arn, kind: kind, name: parts[6]}, nil
}

// Taggable makes the records of kind (account-level store records keyed by
// name, each a JSON object keeping its tags in a top-level "tags" member, as
// every family's records do) the targets of TagResource, UntagResource and
// ListTagsForResource for ARNs arn:aws:logs:REGION:ACCOUNT:arnType:NAME. The
// server calls it for each family's taggable resources (delivery sources,
// delivery destinations, deliveries, destinations, anomaly detectors) before
// it serves.
func (s *Service) Taggable(arnType, kind string) {
	if s.taggable == nil {
		s.taggable = map[string]string{}
	}
	s.taggable[arnType] = kind
}

// recordTags reads (and with update, rewrites) the "tags" member of a
// family's record, leaving every other member as it is. tagMu serialises
// Cairn's tag updates with each other; a family's own replacing write of the
// same record at the same instant can still win, as the last writer.
func (s *Service) recordTags(ctx context.Context, scope store.Scope, t target, update func(map[string]string) (map[string]string, error)) (map[string]string, error) {
	if update != nil {
		s.tagMu.Lock()
		defer s.tagMu.Unlock()
	}
	k := store.ResourceKey{Scope: scope, Kind: t.kind, Name: t.name}
	b, err := s.st.GetResource(ctx, k)
	if errors.Is(err, store.ErrResourceNotFound) {
		return nil, awserr.ResourceMissing()
	}
	if err != nil {
		return nil, storeErr(err)
	}
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, err
	}
	tags := map[string]string{}
	if raw, ok := rec["tags"]; ok {
		if err := json.Unmarshal(raw, &tags); err != nil {
			return nil, err
		}
		if tags == nil {
			tags = map[string]string{}
		}
	}
	if update == nil {
		return tags, nil
	}
	if tags, err = update(tags); err != nil {
		return nil, err
	}
	raw, err := json.Marshal(tags)
	if err != nil {
		return nil, err
	}
	rec["tags"] = raw
	if b, err = json.Marshal(rec); err != nil {
		return nil, err
	}
	return tags, storeErr(s.st.PutResource(ctx, k, b))
}

func (s *Service) tagResource(ctx context.Context, c caller.Caller, action string, t target, add map[string]string, remove []string) error {
	if t.kind == "" {
		return s.tag(ctx, c, action, t.group, add, remove)
	}
	if err := c.Authorize(action, t.arn); err != nil {
		return err
	}
	_, err := s.recordTags(ctx, scopeOf(c), t, func(tags map[string]string) (map[string]string, error) {
		for k, v := range add {
			tags[k] = v
		}
		for _, k := range remove {
			delete(tags, k)
		}
		if len(tags) > maxTags {
			return nil, awserr.TagLimit(maxTags, t.arn)
		}
		return tags, nil
	})
	return err
}

func (s *Service) tag(ctx context.Context, c caller.Caller, action, group string, add map[string]string, remove []string) error {
	scope := scopeOf(c)
	if err := c.Authorize(action, GroupARN(scope, group)); err != nil {
		return err
	}
	return storeErr(s.st.UpdateGroup(ctx, scope, group, func(g *store.Group) error {
		tags := g.Tags
		if tags == nil {
			tags = map[string]string{}
		}
		for k, v := range add {
			tags[k] = v
		}
		for _, k := range remove {
			delete(tags, k)
		}
		if len(tags) > maxTags {
			return awserr.TagLimit(maxTags, GroupARN(scope, group))
		}
		g.Tags = tags
		return nil
	}))
}

func (s *Service) listTags(ctx context.Context, c caller.Caller, action, group string) (map[string]string, error) {
	scope := scopeOf(c)
	if err := c.Authorize(action, GroupARN(scope, group)); err != nil {
		return nil, err
	}
	g, err := s.st.GetGroup(ctx, scope, group)
	if err != nil {
		return nil, storeErr(err)
	}
	if g.Tags == nil {
		return map[string]string{}, nil
	}
	return g.Tags, nil
}

func (s *Service) TagResource(ctx context.Context, c caller.Caller, in *TagResourceInput) (*struct{}, error) {
	t, err := s.tagTarget(c, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return nil, s.tagResource(ctx, c, "logs:TagResource", t, in.Tags, nil)
}

func (s *Service) UntagResource(ctx context.Context, c caller.Caller, in *UntagResourceInput) (*struct{}, error) {
	t, err := s.tagTarget(c, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return nil, s.tagResource(ctx, c, "logs:UntagResource", t, nil, in.TagKeys)
}

func (s *Service) ListTagsForResource(ctx context.Context, c caller.Caller, in *ListTagsForResourceInput) (*ListTagsForResourceOutput, error) {
	t, err := s.tagTarget(c, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	var tags map[string]string
	if t.kind == "" {
		tags, err = s.listTags(ctx, c, "logs:ListTagsForResource", t.group)
	} else if err = c.Authorize("logs:ListTagsForResource", t.arn); err == nil {
		tags, err = s.recordTags(ctx, scopeOf(c), t, nil)
	}
	if err != nil {
		return nil, err
	}
	return &ListTagsForResourceOutput{Tags: tags}, nil
}

func (s *Service) TagLogGroup(ctx context.Context, c caller.Caller, in *TagLogGroupInput) (*struct{}, error) {
	return nil, s.tag(ctx, c, "logs:TagLogGroup", in.LogGroupName, in.Tags, nil)
}

func (s *Service) UntagLogGroup(ctx context.Context, c caller.Caller, in *UntagLogGroupInput) (*struct{}, error) {
	return nil, s.tag(ctx, c, "logs:UntagLogGroup", in.LogGroupName, nil, in.Tags)
}

func (s *Service) ListTagsLogGroup(ctx context.Context, c caller.Caller, in *ListTagsLogGroupInput) (*ListTagsLogGroupOutput, error) {
	tags, err := s.listTags(ctx, c, "logs:ListTagsLogGroup", in.LogGroupName)
	if err != nil {
		return nil, err
	}
	return &ListTagsLogGroupOutput{Tags: tags}, nil
}
