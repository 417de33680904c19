package insights

import (
	"context"
	"encoding/base64"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/insights/cwli"
	"github.com/cairnlog/cairn/internal/insights/run"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/store"
)

const langCWLI = "CWLI"

type StartQueryInput struct {
	QueryLanguage       *string  `json:"queryLanguage"`
	LogGroupName        *string  `json:"logGroupName"`
	LogGroupNames       []string `json:"logGroupNames"`
	LogGroupIdentifiers []string `json:"logGroupIdentifiers"`
	StartTime           int64    `json:"startTime"`
	EndTime             int64    `json:"endTime"`
	QueryString         string   `json:"queryString"`
	Limit               *int32   `json:"limit"`
}

type StartQueryOutput struct {
	QueryID string `json:"queryId"`
}

// StartQuery compiles and starts a query; it answers at once with the
// query's id while the query runs in the background.
func (s *Service) StartQuery(ctx context.Context, c caller.Caller, in *StartQueryInput) (*StartQueryOutput, error) {
	if in.QueryLanguage != nil && *in.QueryLanguage != langCWLI {
		return nil, awserr.QueryLanguageUnsupported(*in.QueryLanguage)
	}
	plan, err := s.lang.Compile(in.QueryString)
	if err != nil {
		return nil, err
	}
	if in.EndTime < in.StartTime {
		return nil, awserr.QueryEndBeforeStart()
	}
	scope := logs.Scope(c)
	given := 0
	if in.LogGroupName != nil {
		given++
	}
	if len(in.LogGroupNames) > 0 {
		given++
	}
	if len(in.LogGroupIdentifiers) > 0 {
		given++
	}
	src := plan.Source()
	// Exactly one of the three, or none and a SOURCE command (the model's
	// StartQuery documentation). Both a parameter and SOURCE is refused
	// too: which one would win is not documented.
	if !(given == 1 && src == nil) && !(given == 0 && src != nil) {
		return nil, awserr.QueryGroupsRequired()
	}
	var names []string
	switch {
	case in.LogGroupName != nil:
		names = []string{*in.LogGroupName}
	case len(in.LogGroupNames) > 0:
		names = in.LogGroupNames
	case len(in.LogGroupIdentifiers) > 0:
		for _, id := range in.LogGroupIdentifiers {
			if strings.HasSuffix(id, "*") {
				return nil, awserr.QueryGroupARNWildcard(id)
			}
			// Grafana's cross-account mode sends the ARN DescribeLogGroups
			// gave it with the "*" cut off ("…:log-group:name:"), which
			// AWS accepts (pkg/cloudwatch/log_actions.go: "due to a bug
			// in the startQuery api, we remove * from the arn").
			if strings.HasPrefix(id, "arn:") {
				id = strings.TrimSuffix(id, ":")
			}
			n, err := logs.ResolveGroup(scope, "", id, nil)
			if err != nil {
				return nil, err
			}
			names = append(names, n)
		}
	default:
		if names, err = s.sourceGroups(ctx, scope, src); err != nil {
			return nil, err
		}
	}
	names = dedupe(names)
	if len(names) > maxQueryGroups && given > 0 {
		return nil, awserr.QueryTooManyGroups(maxQueryGroups)
	}
	if len(names) > maxSourceGroups {
		return nil, awserr.QueryTooManyGroups(maxSourceGroups)
	}
	for _, n := range names {
		if err := c.Authorize("logs:StartQuery", logs.GroupResource(scope, n)); err != nil {
			return nil, err
		}
		// unmask reveals what data protection masked: AWS requires
		// logs:Unmask for it, on each group the query reads.
		if plan.Unmask() {
			if err := c.Authorize("logs:Unmask", logs.GroupResource(scope, n)); err != nil {
				return nil, err
			}
		}
	}
	for _, n := range names {
		if _, err := s.st.GetGroup(ctx, scope, n); err != nil {
			if err == store.ErrGroupNotFound {
				return nil, awserr.QueryGroupNotFound(n, scope.Account, c.RequestID)
			}
			return nil, logs.StoreError(err)
		}
	}
	if len(names) == 0 {
		// A SOURCE prefix that selects nothing: AWS has no documented
		// answer; a query over no group would silently return nothing.
		return nil, awserr.QueryGroupsRequired()
	}
	key, err := s.pointerKey(ctx, scope)
	if err != nil {
		return nil, err
	}
	// The window in ms, both ends inclusive: AWS runs [start*1000,
	// end*1000+999] (DescribeQueries shows START=<s>000 END=<e>999).
	start, end := secondsToMs(in.StartTime), secondsToMs(in.EndTime)
	if end <= math.MaxInt64-999 {
		end += 999
	}
	// SOURCE's START= and END= are the query's own statement of its
	// window (the form DescribeQueries shows it in, so that string run
	// again selects the same events): given, they replace the API's
	// startTime and endTime; relative ones count from now.
	if src != nil {
		now := s.now().UnixMilli()
		if src.HasStart {
			start = windowEnd(src.Start, src.StartRelative, now)
		}
		if src.HasEnd {
			end = windowEnd(src.End, src.EndRelative, now)
		}
		if end < start {
			return nil, awserr.QueryEndBeforeStart()
		}
	}
	limit := 0
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	unm := s.unmasker(plan, scope)
	exec := plan.Start(RunOptions{Start: start, End: end, Limit: limit, MaxMemory: s.maxMemory, Shared: s.shared, Now: s.now().UnixMilli(), Parallel: s.parallel,
		Ptr:     func(group string, ev store.StoredEvent) string { return encodePointer(key, scope, group, ev) },
		LogName: func(group string) string { return scope.Account + ":" + group },
		Lookup:  s.lookupFunc(ctx, scope), Unmask: unm.fn()})
	exec = unm.wrap(exec)
	id, err := s.runs.Start(run.Spec{Scope: scope, Owner: c.Identity.ARN, QueryString: rewritten(in, names, src != nil, start, end),
		Language: langCWLI, Groups: names, Start: start, End: end, Filter: plan.Filter(), Streams: plan.Streams(), Exec: exec, Newest: plan.Newest(limit),
		NoMessages: !plan.NeedMessage()})
	if err != nil {
		if err == run.ErrClosed {
			return nil, awserr.Internal()
		}
		return nil, err
	}
	return &StartQueryOutput{QueryID: id}, nil
}

// windowEnd is a SOURCE START= or END= in ms: v itself, or now+v when
// relative, clamped to ≥ 0.
func windowEnd(v int64, relative bool, now int64) int64 {
	if relative {
		v = now + v
	}
	return max(v, 0)
}

// sourceGroups are the groups a SOURCE command selects: its exact names,
// and with logGroups(…) every group of the caller's account matching a
// name prefix (or any), of a selected class (STANDARD when none is
// named, AWS's default), when the account is among accountIdentifiers
// (or none are given). At most maxSourceGroups.
func (s *Service) sourceGroups(ctx context.Context, scope store.Scope, src *Source) ([]string, error) {
	names := slices.Clone(src.Names)
	if !src.Selector {
		return names, nil
	}
	if len(src.Accounts) > 0 && !slices.Contains(src.Accounts, scope.Account) {
		// Another account's groups are visible only through cross-account
		// observability links, which Cairn does not have.
		return names, nil
	}
	classes := src.Classes
	if len(classes) == 0 {
		classes = []string{"STANDARD"}
	}
	prefixes := src.Prefixes
	if len(prefixes) == 0 {
		prefixes = []string{""}
	}
	for _, prefix := range prefixes {
		err := s.st.ListGroups(ctx, scope, prefix, "", func(g store.Group) bool {
			class := g.Class
			if class == "" {
				class = "STANDARD"
			}
			if slices.Contains(classes, class) {
				names = append(names, g.Name)
			}
			return len(names) <= maxSourceGroups
		})
		if err != nil {
			return nil, logs.StoreError(err)
		}
	}
	return names, nil
}

func secondsToMs(s int64) int64 {
	if s > math.MaxInt64/1000 {
		return math.MaxInt64 / 1000 * 1000
	}
	return s * 1000
}

// rewritten is the query as DescribeQueries shows it: AWS prefixes
// API-started queries with SOURCE "<group>" START=<ms> END=<ms> (reference
// insights.md §6.1, LocalStack's recording of real AWS). A query with its
// own SOURCE keeps its text.
func rewritten(in *StartQueryInput, names []string, hasSource bool, start, end int64) string {
	if hasSource {
		return in.QueryString
	}
	var b strings.Builder
	b.WriteString("SOURCE ")
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(n))
	}
	b.WriteString(" START=")
	b.WriteString(strconv.FormatInt(start, 10))
	b.WriteString(" END=")
	b.WriteString(strconv.FormatInt(end, 10))
	b.WriteString(" | ")
	b.WriteString(in.QueryString)
	return b.String()
}

func dedupe(xs []string) []string {
	seen := make(map[string]bool, len(xs))
	out := xs[:0:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

type GetQueryResultsInput struct {
	QueryID   string  `json:"queryId"`
	NextToken *string `json:"nextToken"`
	MaxItems  *int32  `json:"maxItems"`
}

type ResultField struct {
	Field string `json:"field"`
	Value string `json:"value"`
}

type QueryStatistics struct {
	RecordsMatched          float64  `json:"recordsMatched"`
	RecordsScanned          float64  `json:"recordsScanned"`
	EstimatedRecordsSkipped *float64 `json:"estimatedRecordsSkipped,omitempty"`
	BytesScanned            float64  `json:"bytesScanned"`
	EstimatedBytesSkipped   *float64 `json:"estimatedBytesSkipped,omitempty"`
	LogGroupsScanned        *float64 `json:"logGroupsScanned,omitempty"`
}

type GetQueryResultsOutput struct {
	QueryLanguage string          `json:"queryLanguage"`
	Results       [][]ResultField `json:"results"`
	Statistics    QueryStatistics `json:"statistics"`
	Status        string          `json:"status"`
	NextToken     *string         `json:"nextToken,omitempty"`

	// results, when set, is Results already encoded (the JSON array), from
	// the page cache: AppendJSON writes it instead of Results.
	results []byte
}

// GetQueryResults returns the latest rows of a query: partial while it is
// Scheduled or Running, final after, in pages of up to 10,000 rows.
func (s *Service) GetQueryResults(ctx context.Context, c caller.Caller, in *GetQueryResultsInput) (*GetQueryResultsOutput, error) {
	if err := c.Authorize("logs:GetQueryResults", "*"); err != nil {
		return nil, err
	}
	snap, err := s.runs.Results(logs.Scope(c), in.QueryID)
	if err != nil {
		return nil, err
	}
	page := maxPage
	// maxItems 0 is in the model's range but AWS does not say what it
	// means; Cairn reads it as "not given".
	if in.MaxItems != nil && *in.MaxItems > 0 {
		page = int(*in.MaxItems)
	}
	from := 0
	if in.NextToken != nil {
		from, err = parseOffset(in.QueryID, *in.NextToken)
		if err != nil {
			return nil, err
		}
	}
	rows := snap.Result.Rows
	if from > len(rows) {
		from = len(rows)
	}
	to := min(from+page, len(rows))
	out := &GetQueryResultsOutput{
		QueryLanguage: snap.Language,
		Results:       make([][]ResultField, 0, to-from),
		Status:        snap.Status,
		Statistics: QueryStatistics{RecordsMatched: snap.Result.RecordsMatched, RecordsScanned: snap.Result.RecordsScanned,
			BytesScanned: snap.Result.BytesScanned},
	}
	// The estimates appear only when something was skipped (AWS: "If the
	// query involved log groups that have field index policies, the
	// estimated number of skipped log events and … bytes … are included").
	// Cairn skips blocks by their summaries for any literal the query's
	// filter requires, with or without an index policy; what those blocks
	// held in the window is the estimate.
	if r := snap.Result; r.RecordsSkipped > 0 {
		out.Statistics.EstimatedRecordsSkipped, out.Statistics.EstimatedBytesSkipped = &r.RecordsSkipped, &r.BytesSkipped
	}
	// Clients poll while the query runs (cairn bench every 5 ms, Grafana
	// and the console every second or so) and the rows change only with a
	// new snapshot: the page is encoded once per snapshot.
	key := pageKey{id: in.QueryID, gen: snap.Generation, from: from, to: to}
	if b, ok := s.page.get(key); ok {
		out.results = b
	} else {
		for _, r := range rows[from:to] {
			row := make([]ResultField, len(r))
			for i, f := range r {
				row[i] = ResultField{Field: f.Field, Value: f.Value}
			}
			out.Results = append(out.Results, row)
		}
		s.page.put(key, appendResults(nil, out.Results))
	}
	if to < len(rows) {
		t := offsetToken(in.QueryID, to)
		out.NextToken = &t
	}
	return out, nil
}

// offsetToken names the row a page starts at, for one query.
func offsetToken(id string, offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("r1:" + strconv.Itoa(offset) + ":" + id))
}

func parseOffset(id, tok string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, awserr.InvalidToken()
	}
	parts := strings.SplitN(string(b), ":", 3)
	if len(parts) != 3 || parts[0] != "r1" || parts[2] != id {
		return 0, awserr.InvalidToken()
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil || n < 0 || n > 100000 {
		return 0, awserr.InvalidToken()
	}
	return n, nil
}

type StopQueryInput struct {
	QueryID string `json:"queryId"`
}

type StopQueryOutput struct {
	Success bool `json:"success"`
}

// StopQuery cancels a running query; on a finished one it is AWS's
// InvalidParameterException.
func (s *Service) StopQuery(ctx context.Context, c caller.Caller, in *StopQueryInput) (*StopQueryOutput, error) {
	if err := c.Authorize("logs:StopQuery", "*"); err != nil {
		return nil, err
	}
	if err := s.runs.Stop(logs.Scope(c), in.QueryID); err != nil {
		return nil, err
	}
	return &StopQueryOutput{Success: true}, nil
}

type DescribeQueriesInput struct {
	LogGroupName  *string `json:"logGroupName"`
	Status        *string `json:"status"`
	MaxResults    *int32  `json:"maxResults"`
	NextToken     *string `json:"nextToken"`
	QueryLanguage *string `json:"queryLanguage"`
}

type QueryInfo struct {
	QueryLanguage string `json:"queryLanguage"`
	QueryID       string `json:"queryId"`
	QueryString   string `json:"queryString"`
	Status        string `json:"status"`
	CreateTime    int64  `json:"createTime"`
	LogGroupName  string `json:"logGroupName,omitempty"`
}

type DescribeQueriesOutput struct {
	Queries   []QueryInfo `json:"queries"`
	NextToken *string     `json:"nextToken,omitempty"`
}

// DescribeQueries lists the account's recent queries, newest first. Like
// AWS's 2026 answers (LocalStack's recording) it leaves out queryDuration,
// bytesScanned and userIdentity.
func (s *Service) DescribeQueries(ctx context.Context, c caller.Caller, in *DescribeQueriesInput) (*DescribeQueriesOutput, error) {
	if err := c.Authorize("logs:DescribeQueries", "*"); err != nil {
		return nil, err
	}
	f := run.Filter{}
	if in.LogGroupName != nil {
		f.Group = *in.LogGroupName
	}
	if in.Status != nil {
		f.Status = *in.Status
	}
	if in.QueryLanguage != nil {
		f.Language = *in.QueryLanguage
	}
	list := s.runs.List(logs.Scope(c), f)
	max := 1000
	if in.MaxResults != nil {
		max = int(*in.MaxResults)
	}
	from := 0
	if in.NextToken != nil {
		after, err := parseListToken(*in.NextToken)
		if err != nil {
			return nil, err
		}
		for from < len(list) && !listAfter(list[from], after) {
			from++
		}
	}
	out := &DescribeQueriesOutput{Queries: []QueryInfo{}}
	for i := from; i < len(list) && len(out.Queries) < max; i++ {
		q := list[i]
		out.Queries = append(out.Queries, QueryInfo{QueryLanguage: q.Language, QueryID: q.ID, QueryString: q.QueryString,
			Status: q.Status, CreateTime: q.CreateTime, LogGroupName: q.Group})
		if len(out.Queries) == max && i+1 < len(list) {
			t := listToken(q)
			out.NextToken = &t
		}
	}
	return out, nil
}

type listPos struct {
	createTime int64
	id         string
}

func listToken(q run.Info) string {
	return base64.RawURLEncoding.EncodeToString([]byte("q1:" + strconv.FormatInt(q.CreateTime, 10) + ":" + q.ID))
}

func parseListToken(tok string) (listPos, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return listPos{}, awserr.InvalidToken()
	}
	parts := strings.SplitN(string(b), ":", 3)
	if len(parts) != 3 || parts[0] != "q1" {
		return listPos{}, awserr.InvalidToken()
	}
	t, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return listPos{}, awserr.InvalidToken()
	}
	return listPos{t, parts[2]}, nil
}

// listAfter: q comes after p in List's order (createTime desc, id asc).
func listAfter(q run.Info, p listPos) bool {
	if q.CreateTime != p.createTime {
		return q.CreateTime < p.createTime
	}
	return q.ID > p.id
}

type ListLogGroupsForQueryInput struct {
	QueryID    string  `json:"queryId"`
	NextToken  *string `json:"nextToken"`
	MaxResults *int32  `json:"maxResults"`
}

type ListLogGroupsForQueryOutput struct {
	LogGroupIdentifiers []string `json:"logGroupIdentifiers"`
	NextToken           *string  `json:"nextToken,omitempty"`
}

// ListLogGroupsForQuery lists the ARNs of the groups a query scans (the ones
// its SOURCE prefixes selected, for instance).
func (s *Service) ListLogGroupsForQuery(ctx context.Context, c caller.Caller, in *ListLogGroupsForQueryInput) (*ListLogGroupsForQueryOutput, error) {
	if err := c.Authorize("logs:ListLogGroupsForQuery", "*"); err != nil {
		return nil, err
	}
	scope := logs.Scope(c)
	snap, err := s.runs.Results(scope, in.QueryID)
	if err != nil {
		return nil, err
	}
	max := 50
	if in.MaxResults != nil {
		max = int(*in.MaxResults)
	}
	from := 0
	if in.NextToken != nil {
		from, err = parseOffset(in.QueryID, *in.NextToken)
		if err != nil || from > len(snap.Groups) {
			return nil, awserr.InvalidToken()
		}
	}
	to := min(from+max, len(snap.Groups))
	out := &ListLogGroupsForQueryOutput{LogGroupIdentifiers: []string{}}
	for _, g := range snap.Groups[from:to] {
		// The group's ARN without AWS's ":*" suffix: the form
		// logGroupIdentifiers take.
		out.LogGroupIdentifiers = append(out.LogGroupIdentifiers, logs.GroupARN(scope, g))
	}
	if to < len(snap.Groups) {
		t := offsetToken(in.QueryID, to)
		out.NextToken = &t
	}
	return out, nil
}

// lookupFunc loads the lookup tables of scope for one query; nil when the
// server has none configured (the language then fails a lookup query).
func (s *Service) lookupFunc(ctx context.Context, scope store.Scope) func(string) (*cwli.LookupTable, error) {
	if s.lookup == nil {
		return nil
	}
	return func(name string) (*cwli.LookupTable, error) { return s.lookup(ctx, scope, name) }
}
