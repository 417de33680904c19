// Package insights is the Logs Insights family of CloudWatch Logs
// operations: StartQuery, GetQueryResults, StopQuery, DescribeQueries,
// ListLogGroupsForQuery, GetLogRecord, GetLogGroupFields, the query
// definitions (Put/Describe/DeleteQueryDefinition) and the field index
// policies (Put/Describe/DeleteIndexPolicy, DescribeFieldIndexes).
//
// A query flows: StartQuery validates the request as AWS does, compiles the
// text with the Language (package insights/cwli, adapted in cwli.go),
// resolves and authorizes its log groups (logs:StartQuery on each) and hands
// a started executor to the query manager (package insights/run), which
// scans the store in the background. GetQueryResults reads the manager's
// latest snapshot and pages it. Result rows carry @ptr, an opaque pointer
// (pointer.go) that GetLogRecord turns back into the event, after checking
// it was not altered and that the caller may read the group it names.
// Query definitions and index policies are store resource records.
//
// Like every family it registers typed functions with the protocol's Table
// and shares the caller, the group resolution and the error table with
// package logs.
package insights

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/cairnlog/cairn/internal/insights/cwli"
	"github.com/cairnlog/cairn/internal/insights/run"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
)

// Language is the query language the family runs: CWLI (cwli.go adapts
// package insights/cwli to it).
type Language interface {
	// Compile compiles a query; a query that does not compile is an
	// awserr MalformedQueryException with its queryCompileError.
	Compile(text string) (Plan, error)
	// Discover lists the fields an event has (GetLogGroupFields).
	Discover(ev store.StoredEvent) []string
	// Record returns an event's fields and values (GetLogRecord).
	Record(group string, ev store.StoredEvent) (map[string]string, error)
}

// Plan is a compiled query.
type Plan interface {
	// Filter is the engine filter the query pushes down (nil: none).
	Filter() store.Matcher
	// Source is the query's SOURCE command, nil without one.
	Source() *Source
	// Streams are the only streams whose events can match (nil: any; an
	// empty non-nil list: none).
	Streams() []string
	// Newest is N when the query keeps only its N newest events (see
	// run.Spec.Newest), given the StartQuery limit (0: none); 0 otherwise.
	Newest(limit int) int
	// NeedMessage is false when the query reads no message text.
	NeedMessage() bool
	// Unmask: the query reads masked events' originals (logs:Unmask).
	Unmask() bool
	// Start starts an executor.
	Start(o RunOptions) run.Exec
}

// Source is what a query's SOURCE command selects (reference insights.md
// §2; AWS's CWL_QuerySyntax-Source page).
type Source struct {
	// Names are exact group names (the form DescribeQueries shows an
	// API-started query in: SOURCE "g" START=… END=… | …).
	Names []string
	// Selector is set by logGroups(…): the groups whose names start with
	// one of Prefixes (none: every group), of one of Accounts (none: the
	// caller's; Cairn has no cross-account observability, so only the
	// caller's own account can select anything), of one of Classes (none:
	// STANDARD, AWS's default).
	Selector                    bool
	Prefixes, Accounts, Classes []string
	// Start and End, when Has*, are the window's ends in ms: absolute, or
	// with *Relative an offset from the query's start (START=-3600s).
	HasStart, HasEnd           bool
	Start, End                 int64
	StartRelative, EndRelative bool
}

// RunOptions are what an executor needs beyond the query.
type RunOptions struct {
	Start, End int64 // ms, both inclusive
	Limit      int   // the StartQuery limit; 0: the query's own
	Ptr        func(group string, ev store.StoredEvent) string
	LogName    func(group string) string // @log: "account:group"
	MaxMemory  int64
	Now        int64 // ms, the query's start (now())
	Parallel   int   // goroutines a stats query may use in AddBlock
	// Shared is the memory all running queries may hold in all.
	Shared *cwli.Budget
	// Lookup loads a lookup table the query's lookup command names.
	Lookup func(name string) (*cwli.LookupTable, error)
	// Unmask returns a masked event's original (unmask); nil: none.
	Unmask func(group string, ev store.StoredEvent) (string, bool)
}

// Limits as on AWS (reference insights.md §6.1, §9).
const (
	maxQueryGroups   = 50
	maxSourceGroups  = 10000 // groups a SOURCE prefix may select (Cairn's bound)
	maxPage          = 10000 // rows per GetQueryResults page
	fieldsSample     = 10000 // events GetLogGroupFields examines
	fieldsWindow     = 8 * time.Minute
	fieldsDefault    = 15 * time.Minute
	maxDefinitions   = 1000 // query definitions per account and region
	defaultMaxMemory = 256 << 20
)

// Config configures a Service.
type Config struct {
	Store store.Store
	// Language is the query language; nil: CWLI.
	Language Language
	Manager  *run.Manager
	Now      func() time.Time
	// MaxMemory bounds one query's executor state (0: 256 MiB); past it the
	// query ends Failed.
	MaxMemory int64
	// SharedMemory bounds the executor state of all running queries
	// together (0: 256 MiB, the same as one query's bound: one query may
	// use it all, ten at once share it); past it the query that asked for
	// more ends Failed.
	SharedMemory int64
	// Lookup loads a lookup table of scope (package logs/lookuptable);
	// nil: a query with lookup fails.
	Lookup func(ctx context.Context, scope store.Scope, name string) (*cwli.LookupTable, error)
	// Originals returns the originals data protection kept for the masked
	// events of one append (by Pos.Index; nil when none), for the unmask
	// command and function (package logs/dataprotection's Originals); nil:
	// nothing is ever masked, so unmask shows events as stored.
	Originals func(ctx context.Context, scope store.Scope, group string, seq uint64) (func(index uint32, stored string) (string, bool), error)
}

// Service implements the Insights operations.
type Service struct {
	st        store.Store
	lang      Language
	runs      *run.Manager
	now       func() time.Time
	maxMemory int64
	shared    *cwli.Budget
	parallel  int
	lookup    func(ctx context.Context, scope store.Scope, name string) (*cwli.LookupTable, error)
	originals func(ctx context.Context, scope store.Scope, group string, seq uint64) (func(index uint32, stored string) (string, bool), error)

	keysMu sync.Mutex
	keys   map[store.Scope][]byte // pointer keys by scope, loaded once (pointer.go)

	page pageCache // the last GetQueryResults page encoded (encode.go)
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Language == nil {
		cfg.Language = CWLI()
	}
	if cfg.MaxMemory <= 0 {
		cfg.MaxMemory = defaultMaxMemory
	}
	if cfg.SharedMemory <= 0 {
		cfg.SharedMemory = defaultMaxMemory
	}
	// A stats query may split its blocks over the cores (the language's
	// Options.Parallel); more lanes than cores would only add merging.
	parallel := min(runtime.GOMAXPROCS(0), 4)
	return &Service{st: cfg.Store, lang: cfg.Language, runs: cfg.Manager, now: cfg.Now, maxMemory: cfg.MaxMemory, shared: &cwli.Budget{Limit: cfg.SharedMemory}, parallel: parallel,
		lookup: cfg.Lookup, originals: cfg.Originals, keys: map[store.Scope][]byte{}}
}

// Register adds the family's operations to t.
func (s *Service) Register(t *protocol.Table) {
	t.Add("StartQuery", protocol.Decoded(s.StartQuery))
	t.Add("GetQueryResults", protocol.Decoded(s.GetQueryResults))
	t.Add("StopQuery", protocol.Decoded(s.StopQuery))
	t.Add("DescribeQueries", protocol.Decoded(s.DescribeQueries))
	t.Add("ListLogGroupsForQuery", protocol.Decoded(s.ListLogGroupsForQuery))
	t.Add("GetLogRecord", protocol.Decoded(s.GetLogRecord))
	t.Add("GetLogGroupFields", protocol.Decoded(s.GetLogGroupFields))
	t.Add("PutQueryDefinition", protocol.Decoded(s.PutQueryDefinition))
	t.Add("DescribeQueryDefinitions", protocol.Decoded(s.DescribeQueryDefinitions))
	t.Add("DeleteQueryDefinition", protocol.Decoded(s.DeleteQueryDefinition))
	t.Add("PutIndexPolicy", protocol.Decoded(s.PutIndexPolicy))
	t.Add("DescribeIndexPolicies", protocol.Decoded(s.DescribeIndexPolicies))
	t.Add("DeleteIndexPolicy", protocol.Decoded(s.DeleteIndexPolicy))
	t.Add("DescribeFieldIndexes", protocol.Decoded(s.DescribeFieldIndexes))
}
