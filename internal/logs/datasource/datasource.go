// Package datasource is the family of operations over log data sources and
// large log objects: ListAggregateLogGroupSummaries, GetLogFields and
// GetLogObject.
//
// A data source (name and type, e.g. amazon_vpc/flow) is the category AWS
// gives a log group that an AWS service vends into, or that a CloudWatch
// pipeline writes with a declared source. Neither exists behind Cairn: its
// groups are written by clients through PutLogEvents, syslog and OTLP, none
// of which carries a data source, so no group has one (ListLogGroups'
// dataSources filter matches none, for the same reason). The operations
// validate their input as AWS does and answer from that fact:
// ListAggregateLogGroupSummaries has no data source to group by and lists
// no summary; GetLogFields of any data source is ResourceNotFoundException.
//
// A large log object (LLO) is the part of an oversized field that AWS's OTLP
// endpoint splits off an event over 1 MB, leaving an @ptr.$[…] field that
// GetLogObject streams back. Cairn's OTLP door and PutLogEvents refuse an
// event over 1 MB instead of splitting it, so no LLO and no pointer to one
// exists: GetLogObject answers ResourceNotFoundException before any stream
// starts (docs/control-plane.md).
package datasource

import (
	"context"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/protocol"
)

// Service implements the family's operations.
type Service struct{}

// New returns a Service.
func New() *Service { return &Service{} }

// Register adds the family's operations to t. ListAggregateLogGroupSummaries
// lists ValidationException among its model errors, so its model violations
// answer with it; the other two list only InvalidParameterException.
func (s *Service) Register(t *protocol.Table) {
	t.Add("ListAggregateLogGroupSummaries", protocol.DecodedValidation(s.ListAggregateLogGroupSummaries))
	t.Add("GetLogFields", protocol.Decoded(s.GetLogFields))
	t.Add("GetLogObject", protocol.Decoded(s.GetLogObject))
}

type DataSourceFilter struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

type ListAggregateLogGroupSummariesInput struct {
	AccountIdentifiers    []string           `json:"accountIdentifiers"`
	IncludeLinkedAccounts bool               `json:"includeLinkedAccounts"`
	LogGroupClass         string             `json:"logGroupClass"`
	LogGroupNamePattern   string             `json:"logGroupNamePattern"`
	DataSources           []DataSourceFilter `json:"dataSources"`
	GroupBy               string             `json:"groupBy"`
	NextToken             string             `json:"nextToken"`
	Limit                 int                `json:"limit"`
}

type GroupingIdentifier struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type AggregateLogGroupSummary struct {
	LogGroupCount       int                  `json:"logGroupCount"`
	GroupingIdentifiers []GroupingIdentifier `json:"groupingIdentifiers"`
}

type ListAggregateLogGroupSummariesOutput struct {
	AggregateLogGroupSummaries []AggregateLogGroupSummary `json:"aggregateLogGroupSummaries"`
	NextToken                  string                     `json:"nextToken,omitempty"`
}

// ListAggregateLogGroupSummaries counts log groups per data source; no
// Cairn group has one (package doc), so the answer lists no summary. A
// nextToken, which it never hands out, is refused as any invalid token is.
func (s *Service) ListAggregateLogGroupSummaries(ctx context.Context, c caller.Caller, in *ListAggregateLogGroupSummariesInput) (*ListAggregateLogGroupSummariesOutput, error) {
	if err := c.Authorize("logs:ListAggregateLogGroupSummaries", logs.GroupResource(logs.Scope(c), "")); err != nil {
		return nil, err
	}
	if _, err := logs.DecodePageToken(in.NextToken); err != nil {
		return nil, err
	}
	return &ListAggregateLogGroupSummariesOutput{AggregateLogGroupSummaries: []AggregateLogGroupSummary{}}, nil
}

type GetLogFieldsInput struct {
	DataSourceName string `json:"dataSourceName"`
	DataSourceType string `json:"dataSourceType"`
}

// GetLogFields discovers a data source's fields; none exists here.
func (s *Service) GetLogFields(ctx context.Context, c caller.Caller, in *GetLogFieldsInput) (*struct{}, error) {
	if err := c.Authorize("logs:GetLogFields", "*"); err != nil {
		return nil, err
	}
	return nil, awserr.DataSourceNotFound(in.DataSourceName, in.DataSourceType)
}

type GetLogObjectInput struct {
	Unmask           bool   `json:"unmask"`
	LogObjectPointer string `json:"logObjectPointer"`
}

// GetLogObject streams a large log object back; none exists here. A caller
// asking for the unmasked object needs logs:Unmask as well, as for
// GetLogEvents, and is refused without it before the lookup.
func (s *Service) GetLogObject(ctx context.Context, c caller.Caller, in *GetLogObjectInput) (*struct{}, error) {
	if err := c.Authorize("logs:GetLogObject", "*"); err != nil {
		return nil, err
	}
	if in.Unmask {
		if err := c.Authorize("logs:Unmask", "*"); err != nil {
			return nil, err
		}
	}
	return nil, awserr.LogObjectNotFound()
}
