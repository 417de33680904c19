// Package lookuptable is the family of CloudWatch Logs lookup tables
// (Create/Describe/Get/Update/DeleteLookupTable): CSV tables that the Logs
// Insights `lookup` command joins events against.
//
// A table is one store resource record of the account and region (kind
// "lookupTable", named by the table's name) holding its CSV body as given
// and its metadata. Create and Update parse the body (csv.go: a header row,
// then rows as wide as it, UTF-8, at most 10 MB) so a table that would fail
// every query is refused up front; a body may also come from a finished
// query's results (queryId), read from the query manager. Load hands the
// parsed table to the query language when a query names it (package
// logs/insights wires it into cwli.Options.Lookup).
package lookuptable

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/insights/cwli"
	"github.com/cairnlog/cairn/internal/insights/run"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
)

const kind = "lookupTable"

// Results reads a query's results (run.Manager.Results).
type Results func(scope store.Scope, id string) (run.Snapshot, error)

// Config configures a Service.
type Config struct {
	Store store.Store
	// Results reads a query's results for a table made from a queryId;
	// nil: such a request is refused as for an unknown query.
	Results Results
	Now     func() time.Time
}

// Service implements the lookup table operations.
type Service struct {
	st      store.Store
	results Results
	now     func() time.Time
	// mu serialises Create's exists-then-put so two callers cannot both
	// create one name.
	mu sync.Mutex
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{st: cfg.Store, results: cfg.Results, now: cfg.Now}
}

// Register adds the family's operations to t.
func (s *Service) Register(t *protocol.Table) {
	t.Add("CreateLookupTable", protocol.Decoded(s.Create))
	t.Add("DescribeLookupTables", protocol.Decoded(s.Describe))
	t.Add("GetLookupTable", protocol.Decoded(s.Get))
	t.Add("UpdateLookupTable", protocol.Decoded(s.Update))
	t.Add("DeleteLookupTable", protocol.Decoded(s.Delete))
}

// record is the stored table.
type record struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Body        string            `json:"body"`
	KmsKeyID    string            `json:"kmsKeyId,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Columns     []string          `json:"columns"`
	Records     int64             `json:"records"`
	Created     int64             `json:"created"`
	Updated     int64             `json:"updated"`
}

// TaggableKinds maps the ARN resource type of lookup tables to their record
// kind, for TagResource/UntagResource/ListTagsForResource (logs.Service.Taggable):
// the record keeps the tags in its top-level "tags" member.
func TaggableKinds() map[string]string { return map[string]string{"lookup-table": kind} }

// ARN is a table's ARN: AWS's lookup-table resource type in the account and
// region (arn:aws:logs:REGION:ACCOUNT:lookup-table:NAME).
func ARN(scope store.Scope, name string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:lookup-table:%s", scope.Region, scope.Account, name)
}

// nameOf is the table name an ARN of scope names; "" when it names none.
func nameOf(scope store.Scope, arn string) string {
	n, ok := strings.CutPrefix(arn, ARN(scope, ""))
	if !ok || !validName(n) {
		return ""
	}
	return n
}

func validName(n string) bool {
	if n == "" || len(n) > 256 {
		return false
	}
	for _, r := range n {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func key(scope store.Scope, name string) store.ResourceKey {
	return store.ResourceKey{Scope: scope, Kind: kind, Name: name}
}

func (s *Service) load(ctx context.Context, scope store.Scope, arn string) (*record, error) {
	name := nameOf(scope, arn)
	if name == "" {
		return nil, awserr.LookupTableNotFound(arn)
	}
	b, err := s.st.GetResource(ctx, key(scope, name))
	if errors.Is(err, store.ErrResourceNotFound) {
		return nil, awserr.LookupTableNotFound(arn)
	}
	if err != nil {
		return nil, logs.StoreError(err)
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Load returns the parsed table name of scope, for the lookup command.
func (s *Service) Load(ctx context.Context, scope store.Scope, name string) (*cwli.LookupTable, error) {
	b, err := s.st.GetResource(ctx, key(scope, name))
	if errors.Is(err, store.ErrResourceNotFound) {
		return nil, fmt.Errorf("lookup table %s does not exist", name)
	}
	if err != nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return Parse(r.Body)
}

// body is the CSV of a request: tableBody or the results of queryId, exactly
// one (the model: "You must specify either tableBody or queryId, but not
// both").
func (s *Service) body(scope store.Scope, body, queryID *string) (string, *cwli.LookupTable, error) {
	if (body == nil) == (queryID == nil) {
		return "", nil, awserr.InvalidParameterMessage("You must specify either tableBody or queryId, but not both.")
	}
	var text string
	if body != nil {
		text = *body
	} else {
		if s.results == nil {
			return "", nil, awserr.InvalidParameterMessage("Query " + *queryID + " does not exist.")
		}
		snap, err := s.results(scope, *queryID)
		if err != nil {
			return "", nil, err
		}
		// "a completed or cancelled CloudWatch Logs query"
		if snap.Status != run.Complete && snap.Status != run.Cancelled {
			return "", nil, awserr.InvalidParameterMessage("Query " + *queryID + " is " + snap.Status + "; a lookup table is made from a completed or cancelled query.")
		}
		text, err = resultsCSV(snap.Result.Rows)
		if err != nil {
			return "", nil, awserr.InvalidParameterMessage(err.Error())
		}
	}
	t, err := Parse(text)
	if err != nil {
		return "", nil, awserr.InvalidParameterMessage("Invalid table body: " + err.Error() + ".")
	}
	return text, t, nil
}

// resultsCSV is a query's rows as a table: the columns in the order they
// first appear (@ptr, the pointer to the event, is not data), a missing
// value empty.
func resultsCSV(rows [][]run.Field) (string, error) {
	var cols []string
	at := map[string]int{}
	for _, r := range rows {
		for _, f := range r {
			if _, ok := at[f.Field]; !ok && f.Field != "@ptr" {
				at[f.Field] = len(cols)
				cols = append(cols, f.Field)
			}
		}
	}
	if len(cols) == 0 {
		return "", errors.New("the query has no results to make a table of")
	}
	out := make([][]string, 0, len(rows))
	for _, r := range rows {
		row := make([]string, len(cols))
		for _, f := range r {
			if i, ok := at[f.Field]; ok {
				row[i] = f.Value
			}
		}
		out = append(out, row)
	}
	s, err := Format(cols, out)
	if err == nil && len(s) > MaxBody {
		return "", errors.New("the query's results exceed 10 MB")
	}
	return s, err
}

type CreateInput struct {
	LookupTableName string            `json:"lookupTableName"`
	Description     *string           `json:"description"`
	TableBody       *string           `json:"tableBody"`
	QueryID         *string           `json:"queryId"`
	KmsKeyID        *string           `json:"kmsKeyId"`
	Tags            map[string]string `json:"tags"`
}

type CreateOutput struct {
	LookupTableArn string `json:"lookupTableArn"`
	CreatedAt      int64  `json:"createdAt"`
}

// Create stores a new table.
func (s *Service) Create(ctx context.Context, c caller.Caller, in *CreateInput) (*CreateOutput, error) {
	scope := logs.Scope(c)
	arn := ARN(scope, in.LookupTableName)
	if err := c.Authorize("logs:CreateLookupTable", arn); err != nil {
		return nil, err
	}
	text, t, err := s.body(scope, in.TableBody, in.QueryID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.st.GetResource(ctx, key(scope, in.LookupTableName)); err == nil {
		return nil, awserr.LookupTableExists(in.LookupTableName)
	} else if !errors.Is(err, store.ErrResourceNotFound) {
		return nil, logs.StoreError(err)
	}
	now := s.now().UnixMilli()
	r := record{Name: in.LookupTableName, Description: deref(in.Description), Body: text, KmsKeyID: deref(in.KmsKeyID), Tags: in.Tags,
		Columns: t.Columns, Records: int64(len(t.Rows)), Created: now, Updated: now}
	if err := s.put(ctx, scope, &r); err != nil {
		return nil, err
	}
	return &CreateOutput{LookupTableArn: arn, CreatedAt: now}, nil
}

func (s *Service) put(ctx context.Context, scope store.Scope, r *record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := s.st.PutResource(ctx, key(scope, r.Name), b); err != nil {
		return logs.StoreError(err)
	}
	return nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Table is the model's LookupTable (DescribeLookupTables).
type Table struct {
	LookupTableArn  string   `json:"lookupTableArn"`
	LookupTableName string   `json:"lookupTableName"`
	Description     *string  `json:"description,omitempty"`
	TableFields     []string `json:"tableFields"`
	RecordsCount    int64    `json:"recordsCount"`
	SizeBytes       int64    `json:"sizeBytes"`
	LastUpdatedTime int64    `json:"lastUpdatedTime"`
	KmsKeyID        *string  `json:"kmsKeyId,omitempty"`
}

type DescribeInput struct {
	LookupTableNamePrefix *string `json:"lookupTableNamePrefix"`
	MaxResults            *int32  `json:"maxResults"`
	NextToken             *string `json:"nextToken"`
}

type DescribeOutput struct {
	LookupTables []Table `json:"lookupTables"`
	NextToken    *string `json:"nextToken,omitempty"`
}

// defaultPage is DescribeLookupTables' page when maxResults is not given:
// the model's maximum (100); AWS documents no other default.
const defaultPage = 100

// Describe lists the tables by name, those starting with the prefix when
// one is given. The token is the last name of the page (base64).
func (s *Service) Describe(ctx context.Context, c caller.Caller, in *DescribeInput) (*DescribeOutput, error) {
	if err := c.Authorize("logs:DescribeLookupTables", "*"); err != nil {
		return nil, err
	}
	scope := logs.Scope(c)
	limit := defaultPage
	if in.MaxResults != nil && *in.MaxResults > 0 {
		limit = int(*in.MaxResults)
	}
	after := ""
	if in.NextToken != nil {
		b, err := base64.RawURLEncoding.DecodeString(*in.NextToken)
		if err != nil || !validName(string(b)) {
			return nil, awserr.InvalidParameterMessage("The specified nextToken is not valid.")
		}
		after = string(b)
	}
	out := &DescribeOutput{LookupTables: []Table{}}
	var last string
	more := false
	var decodeErr error
	err := s.st.ListResources(ctx, key(scope, ""), deref(in.LookupTableNamePrefix), after, func(name string, v []byte) bool {
		if len(out.LookupTables) == limit {
			more = true
			return false
		}
		var r record
		if err := json.Unmarshal(v, &r); err != nil {
			decodeErr = err
			return false
		}
		out.LookupTables = append(out.LookupTables, Table{LookupTableArn: ARN(scope, r.Name), LookupTableName: r.Name,
			Description: opt(r.Description), TableFields: slices.Clone(r.Columns), RecordsCount: r.Records, SizeBytes: int64(len(r.Body)),
			LastUpdatedTime: r.Updated, KmsKeyID: opt(r.KmsKeyID)})
		last = name
		return true
	})
	if err != nil {
		return nil, logs.StoreError(err)
	}
	if decodeErr != nil {
		return nil, decodeErr
	}
	if more {
		t := base64.RawURLEncoding.EncodeToString([]byte(last))
		out.NextToken = &t
	}
	return out, nil
}

type ARNInput struct {
	LookupTableArn string `json:"lookupTableArn"`
}

type GetOutput struct {
	LookupTableArn  string  `json:"lookupTableArn"`
	LookupTableName string  `json:"lookupTableName"`
	Description     *string `json:"description,omitempty"`
	TableBody       string  `json:"tableBody"`
	SizeBytes       int64   `json:"sizeBytes"`
	LastUpdatedTime int64   `json:"lastUpdatedTime"`
	KmsKeyID        *string `json:"kmsKeyId,omitempty"`
}

// Get returns a table with its body.
func (s *Service) Get(ctx context.Context, c caller.Caller, in *ARNInput) (*GetOutput, error) {
	if err := c.Authorize("logs:GetLookupTable", in.LookupTableArn); err != nil {
		return nil, err
	}
	r, err := s.load(ctx, logs.Scope(c), in.LookupTableArn)
	if err != nil {
		return nil, err
	}
	return &GetOutput{LookupTableArn: in.LookupTableArn, LookupTableName: r.Name, Description: opt(r.Description), TableBody: r.Body,
		SizeBytes: int64(len(r.Body)), LastUpdatedTime: r.Updated, KmsKeyID: opt(r.KmsKeyID)}, nil
}

type UpdateInput struct {
	LookupTableArn string  `json:"lookupTableArn"`
	Description    *string `json:"description"`
	TableBody      *string `json:"tableBody"`
	QueryID        *string `json:"queryId"`
	KmsKeyID       *string `json:"kmsKeyId"`
}

type UpdateOutput struct {
	LookupTableArn  string `json:"lookupTableArn"`
	LastUpdatedTime int64  `json:"lastUpdatedTime"`
}

// Update replaces a table's body (the whole CSV: AWS's UpdateLookupTable
// "replaces the entire content"), and its description and key when given.
func (s *Service) Update(ctx context.Context, c caller.Caller, in *UpdateInput) (*UpdateOutput, error) {
	if err := c.Authorize("logs:UpdateLookupTable", in.LookupTableArn); err != nil {
		return nil, err
	}
	scope := logs.Scope(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.load(ctx, scope, in.LookupTableArn)
	if err != nil {
		return nil, err
	}
	text, t, err := s.body(scope, in.TableBody, in.QueryID)
	if err != nil {
		return nil, err
	}
	r.Body, r.Columns, r.Records = text, t.Columns, int64(len(t.Rows))
	if in.Description != nil {
		r.Description = *in.Description
	}
	if in.KmsKeyID != nil {
		r.KmsKeyID = *in.KmsKeyID
	}
	r.Updated = s.now().UnixMilli()
	if err := s.put(ctx, scope, r); err != nil {
		return nil, err
	}
	return &UpdateOutput{LookupTableArn: in.LookupTableArn, LastUpdatedTime: r.Updated}, nil
}

// Delete removes a table; queries that name it then fail.
func (s *Service) Delete(ctx context.Context, c caller.Caller, in *ARNInput) (*struct{}, error) {
	if err := c.Authorize("logs:DeleteLookupTable", in.LookupTableArn); err != nil {
		return nil, err
	}
	scope := logs.Scope(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.load(ctx, scope, in.LookupTableArn)
	if err != nil {
		return nil, err
	}
	if err := s.st.DeleteResource(ctx, key(scope, r.Name)); err != nil {
		return nil, logs.StoreError(err)
	}
	return &struct{}{}, nil
}

// Put creates or replaces a table from rows (a scheduled query's lookup
// table destination), returning its ARN. No rows empty an existing table
// (its header kept); they cannot make a new one, which needs a header.
func (s *Service) Put(ctx context.Context, scope store.Scope, name, description string, rows [][]run.Field) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UnixMilli()
	r := record{Name: name, Description: description, Created: now}
	exists := false
	if b, err := s.st.GetResource(ctx, key(scope, name)); err == nil {
		if err := json.Unmarshal(b, &r); err != nil {
			return "", err
		}
		exists = true
		if description != "" {
			r.Description = description
		}
	} else if !errors.Is(err, store.ErrResourceNotFound) {
		return "", err
	}
	var text string
	var err error
	if len(rows) == 0 && exists {
		text, err = Format(r.Columns, nil)
	} else {
		text, err = resultsCSV(rows)
	}
	if err != nil {
		return "", err
	}
	t, err := Parse(text)
	if err != nil {
		return "", err
	}
	r.Body, r.Columns, r.Records, r.Updated = text, t.Columns, int64(len(t.Rows)), now
	if err := s.put(ctx, scope, &r); err != nil {
		return "", err
	}
	return ARN(scope, name), nil
}
