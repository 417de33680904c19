package insights

import (
	"context"
	"encoding/base64"
	"errors"
	"sort"
	"strings"

	json "github.com/goccy/go-json"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/uuid"
)

// Query definitions are saved queries, one store resource record each
// (kind queryDefinition, named by id) in the account and region.
const definitionKind = "queryDefinition"

type QueryParameter struct {
	Name         string  `json:"name"`
	DefaultValue *string `json:"defaultValue,omitempty"`
	Description  *string `json:"description,omitempty"`
}

type QueryDefinition struct {
	QueryLanguage     string           `json:"queryLanguage"`
	QueryDefinitionID string           `json:"queryDefinitionId"`
	Name              string           `json:"name"`
	QueryString       string           `json:"queryString"`
	LastModified      int64            `json:"lastModified"`
	LogGroupNames     []string         `json:"logGroupNames,omitempty"`
	Parameters        []QueryParameter `json:"parameters,omitempty"`
}

type PutQueryDefinitionInput struct {
	QueryLanguage     *string          `json:"queryLanguage"`
	Name              string           `json:"name"`
	QueryDefinitionID *string          `json:"queryDefinitionId"`
	LogGroupNames     []string         `json:"logGroupNames"`
	QueryString       string           `json:"queryString"`
	ClientToken       *string          `json:"clientToken"`
	Parameters        []QueryParameter `json:"parameters"`
}

type PutQueryDefinitionOutput struct {
	QueryDefinitionID string `json:"queryDefinitionId"`
}

// PutQueryDefinition creates a definition, or replaces every member of an
// existing one (AWS: "No current values are retained"). The query text is
// stored as given, not compiled: definitions hold {{parameter}}
// placeholders that only make a query once substituted, and AWS saves
// them unchecked too (the console compiles when it runs one).
func (s *Service) PutQueryDefinition(ctx context.Context, c caller.Caller, in *PutQueryDefinitionInput) (*PutQueryDefinitionOutput, error) {
	if err := c.Authorize("logs:PutQueryDefinition", "*"); err != nil {
		return nil, err
	}
	scope := logs.Scope(c)
	lang := langCWLI
	if in.QueryLanguage != nil {
		lang = *in.QueryLanguage
	}
	id := ""
	if in.QueryDefinitionID != nil {
		id = *in.QueryDefinitionID
		if _, err := s.st.GetResource(ctx, definitionKey(scope, id)); err != nil {
			if errors.Is(err, store.ErrResourceNotFound) {
				return nil, awserr.QueryDefinitionNotFound()
			}
			return nil, logs.StoreError(err)
		}
	} else {
		n := 0
		if err := s.st.ListResources(ctx, definitionKey(scope, ""), "", "", func(string, []byte) bool { n++; return n < maxDefinitions }); err != nil {
			return nil, logs.StoreError(err)
		}
		if n >= maxDefinitions {
			return nil, awserr.ResourceLimitExceeded()
		}
		id = newDefinitionID()
	}
	d := QueryDefinition{QueryLanguage: lang, QueryDefinitionID: id, Name: in.Name, QueryString: in.QueryString,
		LastModified: s.now().UnixMilli(), LogGroupNames: in.LogGroupNames, Parameters: in.Parameters}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	if err := s.st.PutResource(ctx, definitionKey(scope, id), b); err != nil {
		return nil, logs.StoreError(err)
	}
	return &PutQueryDefinitionOutput{QueryDefinitionID: id}, nil
}

func definitionKey(scope store.Scope, id string) store.ResourceKey {
	return store.ResourceKey{Scope: scope, Kind: definitionKind, Name: id}
}

// newDefinitionID is a UUID, the form of AWS's definition ids.
func newDefinitionID() string { return uuid.New() }

type DescribeQueryDefinitionsInput struct {
	QueryLanguage             *string `json:"queryLanguage"`
	QueryDefinitionNamePrefix *string `json:"queryDefinitionNamePrefix"`
	MaxResults                *int32  `json:"maxResults"`
	NextToken                 *string `json:"nextToken"`
}

type DescribeQueryDefinitionsOutput struct {
	QueryDefinitions []QueryDefinition `json:"queryDefinitions"`
	NextToken        *string           `json:"nextToken,omitempty"`
}

// DescribeQueryDefinitions lists the account's definitions by name (then
// id), those whose name starts with the prefix when one is given.
func (s *Service) DescribeQueryDefinitions(ctx context.Context, c caller.Caller, in *DescribeQueryDefinitionsInput) (*DescribeQueryDefinitionsOutput, error) {
	if err := c.Authorize("logs:DescribeQueryDefinitions", "*"); err != nil {
		return nil, err
	}
	scope := logs.Scope(c)
	var all []QueryDefinition
	var bad error
	err := s.st.ListResources(ctx, definitionKey(scope, ""), "", "", func(_ string, v []byte) bool {
		var d QueryDefinition
		if err := json.Unmarshal(v, &d); err != nil {
			bad = err
			return false
		}
		all = append(all, d)
		return true
	})
	if err != nil {
		return nil, logs.StoreError(err)
	}
	if bad != nil {
		return nil, bad
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Name != all[j].Name {
			return all[i].Name < all[j].Name
		}
		return all[i].QueryDefinitionID < all[j].QueryDefinitionID
	})
	after := ""
	if in.NextToken != nil {
		b, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		if err != nil || !strings.HasPrefix(string(b), "d1\x00") {
			return nil, awserr.InvalidToken()
		}
		after = string(b[3:])
	}
	max := 1000
	if in.MaxResults != nil {
		max = int(*in.MaxResults)
	}
	out := &DescribeQueryDefinitionsOutput{QueryDefinitions: []QueryDefinition{}}
	for i, d := range all {
		if in.QueryDefinitionNamePrefix != nil && !strings.HasPrefix(d.Name, *in.QueryDefinitionNamePrefix) {
			continue
		}
		if in.QueryLanguage != nil && d.QueryLanguage != *in.QueryLanguage {
			continue
		}
		if after != "" && d.Name+"\x00"+d.QueryDefinitionID <= after {
			continue
		}
		if len(out.QueryDefinitions) == max {
			_ = i
			t := base64.RawURLEncoding.EncodeToString([]byte("d1\x00" + last(out.QueryDefinitions)))
			out.NextToken = &t
			break
		}
		out.QueryDefinitions = append(out.QueryDefinitions, d)
	}
	return out, nil
}

func last(ds []QueryDefinition) string {
	d := ds[len(ds)-1]
	return d.Name + "\x00" + d.QueryDefinitionID
}

type DeleteQueryDefinitionInput struct {
	QueryDefinitionID string `json:"queryDefinitionId"`
}

type DeleteQueryDefinitionOutput struct {
	Success bool `json:"success"`
}

// DeleteQueryDefinition deletes a definition; an unknown id is
// ResourceNotFoundException.
func (s *Service) DeleteQueryDefinition(ctx context.Context, c caller.Caller, in *DeleteQueryDefinitionInput) (*DeleteQueryDefinitionOutput, error) {
	if err := c.Authorize("logs:DeleteQueryDefinition", "*"); err != nil {
		return nil, err
	}
	k := definitionKey(logs.Scope(c), in.QueryDefinitionID)
	if _, err := s.st.GetResource(ctx, k); err != nil {
		if errors.Is(err, store.ErrResourceNotFound) {
			return nil, awserr.QueryDefinitionNotFound()
		}
		return nil, logs.StoreError(err)
	}
	if err := s.st.DeleteResource(ctx, k); err != nil && !errors.Is(err, store.ErrResourceNotFound) {
		return nil, logs.StoreError(err)
	}
	return &DeleteQueryDefinitionOutput{Success: true}, nil
}
