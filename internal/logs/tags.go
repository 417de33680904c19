package logs

import (
	"context"
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

// tagTarget resolves a tagging ARN to a log group in the caller's scope.
// Only log groups carry tags in Cairn today; other resource types do not exist.
func tagTarget(c caller.Caller, arn string) (string, error) {
	scope, name, ok := parseGroupARN(arn)
	if !ok {
		if strings.HasPrefix(arn, "arn:") && strings.Contains(arn, ":logs:") {
			return "", awserr.ResourceMissing()
		}
		return "", awserr.InvalidResourceARN(arn)
	}
	if scope != scopeOf(c) {
		return "", awserr.ResourceMissing()
	}
	return name, nil
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
	name, err := tagTarget(c, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return nil, s.tag(ctx, c, "logs:TagResource", name, in.Tags, nil)
}

func (s *Service) UntagResource(ctx context.Context, c caller.Caller, in *UntagResourceInput) (*struct{}, error) {
	name, err := tagTarget(c, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return nil, s.tag(ctx, c, "logs:UntagResource", name, nil, in.TagKeys)
}

func (s *Service) ListTagsForResource(ctx context.Context, c caller.Caller, in *ListTagsForResourceInput) (*ListTagsForResourceOutput, error) {
	name, err := tagTarget(c, in.ResourceArn)
	if err != nil {
		return nil, err
	}
	tags, err := s.listTags(ctx, c, "logs:ListTagsForResource", name)
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
