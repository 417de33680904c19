// Package scheduledquery is the family of CloudWatch Logs scheduled queries
// (Create/Get/List/Update/DeleteScheduledQuery, GetScheduledQueryHistory)
// and the server-owned worker that runs them.
//
// A scheduled query is one store resource record of the account and region
// (kind "scheduledQuery", named by its name), plus an index record in the
// zero scope (kind "scheduledQueryIndex", "ACCOUNT:REGION:NAME") so the
// worker finds every account's queries, and one record per run (kind
// "scheduledQueryRun", keyed by the query's internal id and the trigger
// time, newest first) that GetScheduledQueryHistory reads.
//
// The worker (Start) wakes every Tick of wall time, reads the server's clock
// (Config.Now, so a test's controllable clock makes a schedule fire without
// waiting) and runs each ENABLED query whose next time is due: it starts an
// Insights query through the Insights family (StartQuery, as a System
// caller allowed logs:StartQuery), waits for the query manager's final
// result, and writes the rows to the destinations the model has: an S3
// object (JSON lines) through the export sink configured in the config
// file's `export:` section, and/or a lookup table (package
// logs/lookuptable) replaced with the rows as CSV. Each run, and each
// destination's outcome, is recorded.
package scheduledquery

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/insights/cwli"
	"github.com/cairnlog/cairn/internal/insights/run"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/export"
	"github.com/cairnlog/cairn/internal/logs/insights"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
)

const (
	kind      = "scheduledQuery"
	indexKind = "scheduledQueryIndex"
	runKind   = "scheduledQueryRun"
	// maxQueries bounds an account's scheduled queries. AWS's quota is not
	// in the model or the reference; 1,000 is Cairn's bound, so the worker's
	// pass stays cheap (ServiceQuotaExceededException past it).
	maxQueries = 1000
	// maxRuns bounds the history kept per query (oldest runs go first):
	// AWS documents no retention; Cairn keeps the last 1,000 runs.
	maxRuns = 1000
	// defaultStartOffset is the lookback when startTimeOffset is not given:
	// AWS documents none; Cairn queries the last hour.
	defaultStartOffset = 3600
	defaultPage        = 100
)

// Starter starts an Insights query (insights.Service.StartQuery).
type Starter interface {
	StartQuery(ctx context.Context, c caller.Caller, in *insights.StartQueryInput) (*insights.StartQueryOutput, error)
}

// Tables writes a lookup table destination (lookuptable.Service.Put).
type Tables interface {
	Put(ctx context.Context, scope store.Scope, name, description string, rows [][]run.Field) (string, error)
}

// Config configures a Service.
type Config struct {
	Store   store.Store
	Queries Starter
	// Results reads a started query's state (run.Manager.Results).
	Results func(scope store.Scope, id string) (run.Snapshot, error)
	Tables  Tables
	// Sink is the S3 destination (export.NewSink); nil: S3 destinations'
	// runs fail with S3's error for a bucket that cannot be reached.
	Sink export.Sink
	Now  func() time.Time
	// Tick is how often (wall time) the worker looks for due queries; 0: 1s.
	Tick time.Duration
	// Logger reports the worker's store errors (a run it could not record);
	// nil: discarded.
	Logger *slog.Logger
}

// Service implements the scheduled query operations and runs them.
type Service struct {
	cfg Config
	mu  sync.Mutex // serialises writes of scheduled query records
}

// New returns a Service; Start starts its worker.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg}
}

// Register adds the family's operations to t. Their model errors list
// ValidationException, not InvalidParameterException, so a request failing
// the model's constraints gets ValidationException (DecodedValidation).
func (s *Service) Register(t *protocol.Table) {
	t.Add("CreateScheduledQuery", protocol.DecodedValidation(s.Create))
	t.Add("GetScheduledQuery", protocol.DecodedValidation(s.Get))
	t.Add("ListScheduledQueries", protocol.DecodedValidation(s.List))
	t.Add("UpdateScheduledQuery", protocol.DecodedValidation(s.Update))
	t.Add("DeleteScheduledQuery", protocol.DecodedValidation(s.Delete))
	t.Add("GetScheduledQueryHistory", protocol.DecodedValidation(s.History))
}

// Wire shapes, the model's.
type S3Configuration struct {
	DestinationIdentifier string  `json:"destinationIdentifier"`
	RoleArn               string  `json:"roleArn"`
	OwnerAccountID        *string `json:"ownerAccountId,omitempty"`
	KmsKeyID              *string `json:"kmsKeyId,omitempty"`
}

type LookupTableConfiguration struct {
	TableName   string            `json:"tableName"`
	RoleArn     string            `json:"roleArn"`
	Description *string           `json:"description,omitempty"`
	KmsKeyID    *string           `json:"kmsKeyId,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

type DestinationConfiguration struct {
	S3Configuration          *S3Configuration          `json:"s3Configuration,omitempty"`
	LookupTableConfiguration *LookupTableConfiguration `json:"lookupTableConfiguration,omitempty"`
}

// record is a stored scheduled query; its exported members are also
// GetScheduledQuery's answer.
type record struct {
	ID                       string                    `json:"-"`
	ScheduledQueryArn        string                    `json:"scheduledQueryArn"`
	Name                     string                    `json:"name"`
	Description              *string                   `json:"description,omitempty"`
	QueryLanguage            string                    `json:"queryLanguage"`
	QueryString              string                    `json:"queryString"`
	LogGroupIdentifiers      []string                  `json:"logGroupIdentifiers,omitempty"`
	ScheduleExpression       string                    `json:"scheduleExpression"`
	Timezone                 *string                   `json:"timezone,omitempty"`
	StartTimeOffset          *int64                    `json:"startTimeOffset,omitempty"`
	EndTimeOffset            *int64                    `json:"endTimeOffset,omitempty"`
	DestinationConfiguration *DestinationConfiguration `json:"destinationConfiguration,omitempty"`
	State                    string                    `json:"state"`
	ScheduleType             string                    `json:"scheduleType"`
	LastTriggeredTime        *int64                    `json:"lastTriggeredTime,omitempty"`
	LastExecutionStatus      *string                   `json:"lastExecutionStatus,omitempty"`
	ScheduleStartTime        *int64                    `json:"scheduleStartTime,omitempty"`
	ScheduleEndTime          *int64                    `json:"scheduleEndTime,omitempty"`
	ExecutionRoleArn         string                    `json:"executionRoleArn"`
	CreationTime             int64                     `json:"creationTime"`
	LastUpdatedTime          int64                     `json:"lastUpdatedTime"`
}

// stored is record plus what is kept but not shown.
type stored struct {
	record
	Key  string            `json:"id"`
	Tags map[string]string `json:"tags,omitempty"`
}

// TaggableKinds maps the ARN resource type of scheduled queries to their
// record kind, for TagResource/UntagResource/ListTagsForResource
// (logs.Service.Taggable): the record keeps the tags in its top-level "tags"
// member.
func TaggableKinds() map[string]string { return map[string]string{"scheduled-query": kind} }

// ARN is a scheduled query's ARN (arn:aws:logs:REGION:ACCOUNT:scheduled-query:NAME).
func ARN(scope store.Scope, name string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:scheduled-query:%s", scope.Region, scope.Account, name)
}

func key(scope store.Scope, name string) store.ResourceKey {
	return store.ResourceKey{Scope: scope, Kind: kind, Name: name}
}

func indexKey(scope store.Scope, name string) store.ResourceKey {
	return store.ResourceKey{Kind: indexKind, Name: scope.Account + ":" + scope.Region + ":" + name}
}

// nameOf turns an identifier (a name or this account's ARN) into a name.
func nameOf(scope store.Scope, id string) string {
	if n, ok := strings.CutPrefix(id, ARN(scope, "")); ok {
		return n
	}
	return id
}

func (s *Service) load(ctx context.Context, scope store.Scope, name string) (*stored, error) {
	b, err := s.cfg.Store.GetResource(ctx, key(scope, name))
	if errors.Is(err, store.ErrResourceNotFound) {
		return nil, awserr.ScheduledQueryNotFound(name)
	}
	if err != nil {
		return nil, logs.StoreError(err)
	}
	var r stored
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	r.ID = r.Key
	return &r, nil
}

func (s *Service) put(ctx context.Context, scope store.Scope, r *stored) error {
	r.Key = r.ID
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.PutResource(ctx, key(scope, r.Name), b); err != nil {
		return logs.StoreError(err)
	}
	return nil
}

// roleARN is an IAM role ARN: AWS assumes executionRoleArn and each
// destination's roleArn, so anything else cannot be a role.
var roleARN = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)

// Fields shared by Create and Update.
type spec struct {
	Description              *string                   `json:"description"`
	QueryLanguage            string                    `json:"queryLanguage"`
	QueryString              string                    `json:"queryString"`
	LogGroupIdentifiers      []string                  `json:"logGroupIdentifiers"`
	ScheduleExpression       string                    `json:"scheduleExpression"`
	Timezone                 *string                   `json:"timezone"`
	StartTimeOffset          *int64                    `json:"startTimeOffset"`
	EndTimeOffset            *int64                    `json:"endTimeOffset"`
	DestinationConfiguration *DestinationConfiguration `json:"destinationConfiguration"`
	ScheduleStartTime        *int64                    `json:"scheduleStartTime"`
	ScheduleEndTime          *int64                    `json:"scheduleEndTime"`
	ExecutionRoleArn         string                    `json:"executionRoleArn"`
	State                    *string                   `json:"state"`
}

// validate checks what the model cannot: the query compiles, the schedule
// and timezone parse, the offsets and times are ordered, the roles are
// role ARNs, the destinations are complete.
func (sp *spec) validate() error {
	if sp.QueryLanguage != "CWLI" {
		return awserr.ValidationMessage("Query language " + sp.QueryLanguage + " is not supported by Cairn: only CWLI queries can be scheduled.")
	}
	if _, err := cwli.Compile(sp.QueryString); err != nil {
		return awserr.ValidationMessage("Invalid query string: " + err.Error())
	}
	if _, err := parseSchedule(sp.ScheduleExpression); err != nil {
		return awserr.ValidationMessage("Invalid schedule expression: " + sp.ScheduleExpression +
			". Use cron(minutes hours day-of-month month day-of-week year) or rate(value unit).")
	}
	if sp.Timezone != nil {
		if _, err := time.LoadLocation(*sp.Timezone); err != nil || *sp.Timezone == "Local" {
			return awserr.ValidationMessage("Invalid timezone: " + *sp.Timezone + ".")
		}
	}
	if sp.StartTimeOffset != nil && *sp.StartTimeOffset < 0 {
		return awserr.ValidationMessage("startTimeOffset must not be negative.")
	}
	if sp.EndTimeOffset != nil {
		start := int64(defaultStartOffset)
		if sp.StartTimeOffset != nil {
			start = *sp.StartTimeOffset
		}
		// "Must be non-negative and less than StartTimeOffset."
		if *sp.EndTimeOffset < 0 || *sp.EndTimeOffset >= start {
			return awserr.ValidationMessage("endTimeOffset must be non-negative and less than startTimeOffset.")
		}
	}
	if sp.ScheduleStartTime != nil && sp.ScheduleEndTime != nil && *sp.ScheduleEndTime <= *sp.ScheduleStartTime {
		return awserr.ValidationMessage("scheduleEndTime must be after scheduleStartTime.")
	}
	if !roleARN.MatchString(sp.ExecutionRoleArn) {
		return awserr.ValidationMessage("Invalid executionRoleArn: " + sp.ExecutionRoleArn + " is not an IAM role ARN.")
	}
	if d := sp.DestinationConfiguration; d != nil {
		if d.S3Configuration == nil && d.LookupTableConfiguration == nil {
			return awserr.ValidationMessage("destinationConfiguration must have s3Configuration or lookupTableConfiguration.")
		}
		if c := d.S3Configuration; c != nil && !roleARN.MatchString(c.RoleArn) {
			return awserr.ValidationMessage("Invalid roleArn: " + c.RoleArn + " is not an IAM role ARN.")
		}
		if c := d.LookupTableConfiguration; c != nil && !roleARN.MatchString(c.RoleArn) {
			return awserr.ValidationMessage("Invalid roleArn: " + c.RoleArn + " is not an IAM role ARN.")
		}
	}
	return nil
}

// groupsExist refuses identifiers that name no group of the account, as
// StartQuery would at every run (the model lists ResourceNotFoundException
// for Create and Update). A group deleted later makes its runs InvalidQuery.
func (s *Service) groupsExist(ctx context.Context, scope store.Scope, ids []string) error {
	for _, id := range ids {
		name, err := logs.ResolveGroup(scope, "", strings.TrimSuffix(id, ":*"), nil)
		if err != nil {
			return err
		}
		if _, err := s.cfg.Store.GetGroup(ctx, scope, name); err != nil {
			if errors.Is(err, store.ErrGroupNotFound) {
				return awserr.GroupNotFound()
			}
			return logs.StoreError(err)
		}
	}
	return nil
}

func (sp *spec) apply(r *stored) {
	r.Description, r.QueryLanguage, r.QueryString, r.LogGroupIdentifiers = sp.Description, sp.QueryLanguage, sp.QueryString, sp.LogGroupIdentifiers
	r.ScheduleExpression, r.Timezone, r.StartTimeOffset, r.EndTimeOffset = sp.ScheduleExpression, sp.Timezone, sp.StartTimeOffset, sp.EndTimeOffset
	r.DestinationConfiguration, r.ScheduleStartTime, r.ScheduleEndTime = sp.DestinationConfiguration, sp.ScheduleStartTime, sp.ScheduleEndTime
	r.ExecutionRoleArn = sp.ExecutionRoleArn
	if sp.State != nil {
		r.State = *sp.State
	}
}

type CreateInput struct {
	Name string `json:"name"`
	spec
	Tags map[string]string `json:"tags"`
}

type CreateOutput struct {
	ScheduledQueryArn string `json:"scheduledQueryArn"`
	State             string `json:"state"`
}

// Create stores a scheduled query; an ENABLED one runs from now on.
func (s *Service) Create(ctx context.Context, c caller.Caller, in *CreateInput) (*CreateOutput, error) {
	scope := logs.Scope(c)
	arn := ARN(scope, in.Name)
	if err := c.Authorize("logs:CreateScheduledQuery", arn); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	if err := s.groupsExist(ctx, scope, in.LogGroupIdentifiers); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.cfg.Store.GetResource(ctx, key(scope, in.Name)); err == nil {
		return nil, awserr.ConflictMessage("A scheduled query named " + in.Name + " already exists.")
	} else if !errors.Is(err, store.ErrResourceNotFound) {
		return nil, logs.StoreError(err)
	}
	n := 0
	if err := s.cfg.Store.ListResources(ctx, key(scope, ""), "", "", func(string, []byte) bool { n++; return n < maxQueries }); err != nil {
		return nil, logs.StoreError(err)
	}
	if n >= maxQueries {
		return nil, awserr.QuotaExceeded(fmt.Sprintf("An account can have at most %d scheduled queries.", maxQueries))
	}
	now := s.cfg.Now().UnixMilli()
	r := &stored{record: record{ID: newID(), ScheduledQueryArn: arn, Name: in.Name, State: "ENABLED", ScheduleType: "CUSTOMER_MANAGED",
		CreationTime: now, LastUpdatedTime: now}, Tags: in.Tags}
	in.apply(r)
	if err := s.put(ctx, scope, r); err != nil {
		return nil, err
	}
	if err := s.cfg.Store.PutResource(ctx, indexKey(scope, in.Name), nil); err != nil {
		return nil, logs.StoreError(err)
	}
	return &CreateOutput{ScheduledQueryArn: arn, State: r.State}, nil
}

type IdentifierInput struct {
	Identifier string `json:"identifier"`
}

// Get returns a scheduled query.
func (s *Service) Get(ctx context.Context, c caller.Caller, in *IdentifierInput) (*record, error) {
	scope := logs.Scope(c)
	name := nameOf(scope, in.Identifier)
	if err := c.Authorize("logs:GetScheduledQuery", ARN(scope, name)); err != nil {
		return nil, err
	}
	r, err := s.load(ctx, scope, name)
	if err != nil {
		return nil, err
	}
	return &r.record, nil
}

type UpdateInput struct {
	Identifier string `json:"identifier"`
	spec
}

// Update replaces a scheduled query's definition (every member the request
// has; the model requires the query, schedule and role, as on Create).
func (s *Service) Update(ctx context.Context, c caller.Caller, in *UpdateInput) (*record, error) {
	scope := logs.Scope(c)
	name := nameOf(scope, in.Identifier)
	if err := c.Authorize("logs:UpdateScheduledQuery", ARN(scope, name)); err != nil {
		return nil, err
	}
	if err := in.validate(); err != nil {
		return nil, err
	}
	if err := s.groupsExist(ctx, scope, in.LogGroupIdentifiers); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.load(ctx, scope, name)
	if err != nil {
		return nil, err
	}
	in.apply(r)
	r.LastUpdatedTime = s.cfg.Now().UnixMilli()
	if err := s.put(ctx, scope, r); err != nil {
		return nil, err
	}
	return &r.record, nil
}

// Delete removes a scheduled query and its history.
func (s *Service) Delete(ctx context.Context, c caller.Caller, in *IdentifierInput) (*struct{}, error) {
	scope := logs.Scope(c)
	name := nameOf(scope, in.Identifier)
	if err := c.Authorize("logs:DeleteScheduledQuery", ARN(scope, name)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.load(ctx, scope, name)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Store.DeleteResource(ctx, key(scope, name)); err != nil {
		return nil, logs.StoreError(err)
	}
	if err := s.cfg.Store.DeleteResource(ctx, indexKey(scope, name)); err != nil && !errors.Is(err, store.ErrResourceNotFound) {
		return nil, logs.StoreError(err)
	}
	if err := s.trimRuns(ctx, scope, r.ID, 0); err != nil {
		return nil, logs.StoreError(err)
	}
	return &struct{}{}, nil
}

type ListInput struct {
	MaxResults   *int32  `json:"maxResults"`
	NextToken    *string `json:"nextToken"`
	State        *string `json:"state"`
	ScheduleType *string `json:"scheduleType"`
}

type Summary struct {
	ScheduledQueryArn        string                    `json:"scheduledQueryArn"`
	Name                     string                    `json:"name"`
	State                    string                    `json:"state"`
	ScheduleType             string                    `json:"scheduleType"`
	LastTriggeredTime        *int64                    `json:"lastTriggeredTime,omitempty"`
	LastExecutionStatus      *string                   `json:"lastExecutionStatus,omitempty"`
	ScheduleExpression       string                    `json:"scheduleExpression"`
	Timezone                 *string                   `json:"timezone,omitempty"`
	DestinationConfiguration *DestinationConfiguration `json:"destinationConfiguration,omitempty"`
	CreationTime             int64                     `json:"creationTime"`
	LastUpdatedTime          int64                     `json:"lastUpdatedTime"`
}

type ListOutput struct {
	NextToken        *string   `json:"nextToken,omitempty"`
	ScheduledQueries []Summary `json:"scheduledQueries"`
}

func decodeToken(tok *string) (string, error) {
	if tok == nil {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*tok)
	if err != nil || len(b) == 0 {
		return "", awserr.ValidationMessage("The specified nextToken is not valid.")
	}
	return string(b), nil
}

func encodeToken(s string) *string {
	t := base64.RawURLEncoding.EncodeToString([]byte(s))
	return &t
}

// List lists the account's scheduled queries by name.
func (s *Service) List(ctx context.Context, c caller.Caller, in *ListInput) (*ListOutput, error) {
	if err := c.Authorize("logs:ListScheduledQueries", "*"); err != nil {
		return nil, err
	}
	scope := logs.Scope(c)
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := defaultPage
	if in.MaxResults != nil {
		limit = int(*in.MaxResults)
	}
	out := &ListOutput{ScheduledQueries: []Summary{}}
	var last string
	var decodeErr error
	err = s.cfg.Store.ListResources(ctx, key(scope, ""), "", after, func(name string, v []byte) bool {
		if len(out.ScheduledQueries) == limit {
			out.NextToken = encodeToken(last)
			return false
		}
		var r stored
		if decodeErr = json.Unmarshal(v, &r); decodeErr != nil {
			return false
		}
		last = name
		if in.State != nil && r.State != *in.State || in.ScheduleType != nil && r.ScheduleType != *in.ScheduleType {
			return true
		}
		out.ScheduledQueries = append(out.ScheduledQueries, Summary{ScheduledQueryArn: r.ScheduledQueryArn, Name: r.Name, State: r.State,
			ScheduleType: r.ScheduleType, LastTriggeredTime: r.LastTriggeredTime, LastExecutionStatus: r.LastExecutionStatus,
			ScheduleExpression: r.ScheduleExpression, Timezone: r.Timezone, DestinationConfiguration: r.DestinationConfiguration,
			CreationTime: r.CreationTime, LastUpdatedTime: r.LastUpdatedTime})
		return true
	})
	if err != nil {
		return nil, logs.StoreError(err)
	}
	return out, decodeErr
}

// Run history.

type Destination struct {
	DestinationType       string  `json:"destinationType"`
	DestinationIdentifier string  `json:"destinationIdentifier"`
	Status                string  `json:"status"`
	ProcessedIdentifier   *string `json:"processedIdentifier,omitempty"`
	ErrorMessage          *string `json:"errorMessage,omitempty"`
}

type TriggerRecord struct {
	QueryID            *string       `json:"queryId,omitempty"`
	ExecutionStatus    string        `json:"executionStatus"`
	TriggeredTimestamp int64         `json:"triggeredTimestamp"`
	ErrorMessage       *string       `json:"errorMessage,omitempty"`
	Destinations       []Destination `json:"destinations,omitempty"`
}

type HistoryInput struct {
	Identifier        string   `json:"identifier"`
	StartTime         int64    `json:"startTime"`
	EndTime           int64    `json:"endTime"`
	ExecutionStatuses []string `json:"executionStatuses"`
	MaxResults        *int32   `json:"maxResults"`
	NextToken         *string  `json:"nextToken"`
}

type HistoryOutput struct {
	Name              string          `json:"name"`
	ScheduledQueryArn string          `json:"scheduledQueryArn"`
	TriggerHistory    []TriggerRecord `json:"triggerHistory"`
	NextToken         *string         `json:"nextToken,omitempty"`
}

// runName orders a query's runs newest first.
func runName(id string, at int64) string {
	return fmt.Sprintf("%s:%020d", id, uint64(1<<63-1)-uint64(at))
}

// History returns the runs triggered in [startTime, endTime] (ms), newest
// first, those of the given statuses when some are given.
func (s *Service) History(ctx context.Context, c caller.Caller, in *HistoryInput) (*HistoryOutput, error) {
	scope := logs.Scope(c)
	name := nameOf(scope, in.Identifier)
	if err := c.Authorize("logs:GetScheduledQueryHistory", ARN(scope, name)); err != nil {
		return nil, err
	}
	if in.EndTime < in.StartTime {
		return nil, awserr.ValidationMessage("endTime must not be before startTime.")
	}
	r, err := s.load(ctx, scope, name)
	if err != nil {
		return nil, err
	}
	after, err := decodeToken(in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := defaultPage
	if in.MaxResults != nil {
		limit = int(*in.MaxResults)
	}
	out := &HistoryOutput{Name: r.Name, ScheduledQueryArn: r.ScheduledQueryArn, TriggerHistory: []TriggerRecord{}}
	var last string
	var decodeErr error
	err = s.cfg.Store.ListResources(ctx, store.ResourceKey{Scope: scope, Kind: runKind}, r.ID+":", after, func(n string, v []byte) bool {
		if len(out.TriggerHistory) == limit {
			out.NextToken = encodeToken(last)
			return false
		}
		var tr TriggerRecord
		if decodeErr = json.Unmarshal(v, &tr); decodeErr != nil {
			return false
		}
		last = n
		if tr.TriggeredTimestamp < in.StartTime {
			return false // newest first: every later record is older
		}
		if tr.TriggeredTimestamp > in.EndTime || len(in.ExecutionStatuses) > 0 && !contains(in.ExecutionStatuses, tr.ExecutionStatus) {
			return true
		}
		out.TriggerHistory = append(out.TriggerHistory, tr)
		return true
	})
	if err != nil {
		return nil, logs.StoreError(err)
	}
	return out, decodeErr
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// trimRuns deletes a query's runs beyond the newest keep.
func (s *Service) trimRuns(ctx context.Context, scope store.Scope, id string, keep int) error {
	var old []string
	n := 0
	err := s.cfg.Store.ListResources(ctx, store.ResourceKey{Scope: scope, Kind: runKind}, id+":", "", func(name string, _ []byte) bool {
		n++
		if n > keep {
			old = append(old, name)
		}
		return true
	})
	if err != nil {
		return err
	}
	for _, name := range old {
		if err := s.cfg.Store.DeleteResource(ctx, store.ResourceKey{Scope: scope, Kind: runKind, Name: name}); err != nil &&
			!errors.Is(err, store.ErrResourceNotFound) {
			return err
		}
	}
	return nil
}

func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b[:])
}
