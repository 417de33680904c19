package logs

import (
	"context"
	"strings"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/store"
)

type ListLogGroupsInput struct {
	LogGroupNamePattern   string   `json:"logGroupNamePattern"`
	LogGroupClass         string   `json:"logGroupClass"`
	IncludeLinkedAccounts bool     `json:"includeLinkedAccounts"`
	AccountIdentifiers    []string `json:"accountIdentifiers"`
	NextToken             string   `json:"nextToken"`
	Limit                 int      `json:"limit"`
	DataSources           []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"dataSources"`
	FieldIndexNames []string `json:"fieldIndexNames"`
	LogGroupTags    []struct {
		Key    string   `json:"key"`
		Values []string `json:"values"`
	} `json:"logGroupTags"`
}

// LogGroupSummary is ListLogGroups' item: the ARN without ":*", and no
// other detail (recorded).
type LogGroupSummary struct {
	LogGroupName  string `json:"logGroupName"`
	LogGroupArn   string `json:"logGroupArn"`
	LogGroupClass string `json:"logGroupClass"`
}

type ListLogGroupsOutput struct {
	LogGroups []LogGroupSummary `json:"logGroups"`
	NextToken string            `json:"nextToken,omitempty"`
}

// ListLogGroups lists the groups in name order, filtered by every filter
// given (ANDed): logGroupNamePattern's up to five '|' alternatives, each a
// case-sensitive substring or, after '^', a prefix; logGroupClass;
// logGroupTags (each key present, with one of its values when values are
// given; a value may start or end with '*' and start with '!' to negate).
// Cairn's groups have no data sources (those are AWS's vended sources) and
// carry no field indexes until index policies exist, so a dataSources or
// fieldIndexNames filter matches no group.
func (s *Service) ListLogGroups(ctx context.Context, c caller.Caller, in *ListLogGroupsInput) (*ListLogGroupsOutput, error) {
	scope := scopeOf(c)
	if err := c.Authorize("logs:ListLogGroups", groupResource(scope, "")); err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit == 0 {
		limit = 50
	}
	after, err := DecodePageToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	var alts []string
	if in.LogGroupNamePattern != "" {
		alts = strings.Split(in.LogGroupNamePattern, "|")
	}
	out := &ListLogGroupsOutput{LogGroups: []LogGroupSummary{}}
	if len(in.DataSources) > 0 || len(in.FieldIndexNames) > 0 {
		return out, nil
	}
	more, last := false, ""
	err = s.st.ListGroups(ctx, scope, "", after, func(g store.Group) bool {
		class := g.Class
		if class == "" {
			class = "STANDARD"
		}
		if in.LogGroupClass != "" && class != in.LogGroupClass || len(alts) > 0 && !matchAlternatives(alts, g.Name) {
			return true
		}
		for _, tf := range in.LogGroupTags {
			if !matchTagFilter(g.Tags, tf.Key, tf.Values) {
				return true
			}
		}
		if len(out.LogGroups) == limit {
			more = true
			return false
		}
		out.LogGroups = append(out.LogGroups, LogGroupSummary{LogGroupName: g.Name, LogGroupArn: GroupARN(g.Scope, g.Name), LogGroupClass: class})
		last = g.Name
		return true
	})
	if err != nil {
		return nil, storeErr(err)
	}
	if more {
		out.NextToken = EncodePageToken(last)
	}
	return out, nil
}

func matchAlternatives(alts []string, name string) bool {
	for _, a := range alts {
		if p, ok := strings.CutPrefix(a, "^"); ok {
			if strings.HasPrefix(name, p) {
				return true
			}
		} else if strings.Contains(name, a) {
			return true
		}
	}
	return false
}

func matchTagFilter(tags map[string]string, key string, values []string) bool {
	v, ok := tags[key]
	if !ok {
		return false
	}
	if len(values) == 0 {
		return true
	}
	for _, want := range values {
		neg := strings.HasPrefix(want, "!")
		want = strings.TrimPrefix(want, "!")
		pre, suf := strings.HasPrefix(want, "*"), strings.HasSuffix(want, "*") && len(want) > 1
		core := strings.TrimSuffix(strings.TrimPrefix(want, "*"), "*")
		var m bool
		switch {
		case pre && suf:
			m = strings.Contains(v, core)
		case pre:
			m = strings.HasSuffix(v, core)
		case suf:
			m = strings.HasPrefix(v, core)
		default:
			m = v == core
		}
		if m != neg {
			return true
		}
	}
	return false
}
