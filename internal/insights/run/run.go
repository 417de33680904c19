// Package run owns the Logs Insights queries of a server while they run and
// for as long as their results are kept: the query manager behind
// StartQuery, GetQueryResults, StopQuery, DescribeQueries and
// ListLogGroupsForQuery (package logs/insights serves those operations).
//
// Data flows one way. The family compiles a query (package insights/cwli)
// and hands Start a Spec: the groups, the window, the engine filter the
// query pushes down and a started Exec. Start takes one of the account's
// concurrency slots (quota.Slots: LimitExceededException past AWS's 100) and
// runs the query on a goroutine the Manager owns: one store.Scan over the
// groups, every block given to the Exec, a Snapshot published now and then
// so GetQueryResults sees partial rows and growing statistics while the
// query is Running, then the final Result. Stop, the 60-minute timeout and
// Close cancel the scan's context; Close waits for every runner. The events
// of a group with a log transformer reach the Exec as their transformed
// versions (transformed.go, Config.Transformed).
//
// Finished queries stay in memory for AWS's 7 days, under a byte budget
// (oldest results go first when it is exceeded) and a count budget. A restart
// drops them: their ids then answer ResourceNotFoundException, which is what
// a client gets from AWS for an expired query too.
package run

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/insights/cwli"
	"github.com/cairnlog/cairn/internal/quota"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/uuid"
)

// Query states, the model's QueryStatus enum. Unknown is never reported:
// every query Cairn knows has one of the others.
const (
	Scheduled = "Scheduled"
	Running   = "Running"
	Complete  = "Complete"
	Failed    = "Failed"
	Cancelled = "Cancelled"
	Timeout   = "Timeout"
	Unknown   = "Unknown"
)

// AWS's limits (reference insights.md §6.1, §9).
const (
	DefaultConcurrent = 100              // concurrent queries per account and region
	DefaultTimeout    = 60 * time.Minute // a query's longest run
	DefaultRetention  = 7 * 24 * time.Hour
	// DefaultRetainedBytes bounds the rows of all finished queries kept in
	// memory; DefaultRetainedQueries their number. Past either, the oldest
	// finished queries are forgotten first.
	DefaultRetainedBytes   = 256 << 20
	DefaultRetainedQueries = 20000
)

// Field is one column of a result row; Result a query's rows and
// statistics, partial or final. They are the language's own types, so its
// rows reach GetQueryResults without a copy.
type (
	Field  = cwli.ResultField
	Result = cwli.Result
)

// Exec is a started query: a *cwli.Exec. The Manager calls it from the
// runner goroutine only.
type Exec interface {
	AddBlock(group string, b store.ScanBlock) (more bool)
	Snapshot() Result
	Finish() (Result, error)
}

// filterSkipper is an Exec that can leave the query's leading filters to
// the store (cwli.Exec.SkipPushedFilter): true means it did, and the scan
// may then deliver matching events without their messages.
type filterSkipper interface {
	SkipPushedFilter() bool
}

// counter is an Exec that can count whole blocks from their summaries
// (store.ScanRequest.Counted; nil: it cannot for this query).
type counter interface {
	Counted() func(first, last int64) bool
}

// Spec is a query to run.
type Spec struct {
	Scope store.Scope
	// Owner is the ARN of the identity that started it.
	Owner string
	// QueryString is the query as DescribeQueries shows it (AWS rewrites
	// API-started queries to SOURCE "g" START=… END=… | query).
	QueryString string
	Language    string
	Groups      []string // names, in scan order; at least one
	// Start and End are the window in ms, both inclusive.
	Start, End int64
	Filter     store.Matcher // nil: every event
	// Streams, when not nil, are the only streams to read (an empty,
	// non-nil list: no stream can match, so nothing is read).
	Streams []string
	// NoMessages says the query reads no message (store.ScanRequest's
	// NoMessages): the scan may leave messages compressed.
	NoMessages bool
	Exec       Exec
	// Newest, when positive, says the query keeps only its Newest first
	// events in @timestamp descending order (fields … | sort @timestamp desc
	// | limit 20, or no sort at all): the runner then reads each group
	// backward (store.Read) and stops once Newest events have matched,
	// instead of scanning the whole window.
	Newest int
}

// Info is what DescribeQueries reports of a query.
type Info struct {
	ID          string
	QueryString string
	Language    string
	Status      string
	CreateTime  int64 // ms
	Group       string
	Groups      []string
	Owner       string
	Duration    time.Duration
	Bytes       float64
}

// Snapshot is what GetQueryResults reports: the status and the latest rows.
type Snapshot struct {
	Info
	Result Result
	// Generation changes whenever Result's rows may have (a new partial
	// snapshot, the final result): a reader may keep what it made of the
	// rows (GetQueryResults keeps the encoded page) while it is the same.
	Generation uint64
}

// Config configures a Manager.
type Config struct {
	Store store.Store
	// Now is the clock of createTime and retention (the server's clock).
	Now             func() time.Time
	Concurrent      int           // per account and region; 0: DefaultConcurrent
	Timeout         time.Duration // 0: DefaultTimeout
	Retention       time.Duration // 0: DefaultRetention
	RetainedBytes   int64         // 0: DefaultRetainedBytes
	RetainedQueries int           // 0: DefaultRetainedQueries
	// SnapshotEvery is the least time between two partial snapshots of a
	// running query (wall time); 0: 100 ms, Grafana's first poll.
	SnapshotEvery time.Duration
	// Transformed gives the transformed versions of events, which queries
	// read where a group has them (transformed.go); nil: none.
	Transformed TransformedView
}

// Manager owns the queries. It is safe for concurrent use.
type Manager struct {
	cfg   Config
	slots *quota.Slots

	ctx    context.Context // ends at Close; parent of every query's context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu sync.Mutex
	// queries by id; guarded by mu. Every query's own fields that change
	// while it runs are guarded by mu too.
	queries  map[string]*query
	retained int64 // Σ bytes of finished queries' rows; guarded by mu
	closed   bool
	// ended counts finished queries by final status (for /metrics);
	// guarded by mu.
	ended map[string]int64
}

// Counts reports the queries running now, over every account, and the
// queries that ended so far by final status (Complete, Failed, Cancelled,
// Timeout): what /metrics shows of Logs Insights.
func (m *Manager) Counts() (running int, ended map[string]int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ended = make(map[string]int64, len(m.ended))
	for k, v := range m.ended {
		ended[k] = v
	}
	for _, q := range m.queries {
		if q.Status == Running || q.Status == Scheduled {
			running++
		}
	}
	return running, ended
}

type query struct {
	Info
	scope    store.Scope
	start    int64
	end      int64
	filter   store.Matcher
	streams  []string
	newest   int
	noMsgs   bool
	exec     Exec
	cancel   context.CancelFunc
	stopped  bool // StopQuery asked (the scan's end is then Cancelled)
	result   Result
	gen      uint64 // bumped with each new result
	bytes    int64  // of result.Rows once finished
	finished time.Time
	release  func()
}

// New returns a Manager; Close stops it.
func New(cfg Config) *Manager {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Concurrent <= 0 {
		cfg.Concurrent = DefaultConcurrent
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.RetainedBytes <= 0 {
		cfg.RetainedBytes = DefaultRetainedBytes
	}
	if cfg.RetainedQueries <= 0 {
		cfg.RetainedQueries = DefaultRetainedQueries
	}
	if cfg.SnapshotEvery <= 0 {
		cfg.SnapshotEvery = 100 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Manager{cfg: cfg, slots: quota.NewSlots(cfg.Concurrent), ctx: ctx, cancel: cancel, queries: map[string]*query{}, ended: map[string]int64{}}
}

// ErrClosed refuses Start on a closed Manager.
var ErrClosed = errors.New("query manager closed")

// Start registers spec as a Scheduled query and runs it in the background.
// LimitExceededException when the account already runs its quota.
func (m *Manager) Start(spec Spec) (string, error) {
	release, err := m.slots.Acquire(spec.Scope.Account, spec.Scope.Region)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.Timeout)
	group := ""
	if len(spec.Groups) > 0 {
		group = spec.Groups[0]
	}
	q := &query{
		Info: Info{ID: uuid.New(), QueryString: spec.QueryString, Language: spec.Language, Status: Scheduled,
			CreateTime: m.cfg.Now().UnixMilli(), Group: group, Groups: spec.Groups, Owner: spec.Owner},
		scope: spec.Scope, start: spec.Start, end: spec.End, filter: spec.Filter, streams: spec.Streams, newest: spec.Newest, noMsgs: spec.NoMessages, exec: spec.Exec,
		cancel: cancel, release: release,
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		cancel()
		release()
		return "", ErrClosed
	}
	m.expireLocked()
	m.queries[q.ID] = q
	m.wg.Add(1)
	m.mu.Unlock()
	go m.run(ctx, q)
	return q.ID, nil
}

// run scans q's groups into its Exec and records how it ended.
func (m *Manager) run(ctx context.Context, q *query) {
	defer m.wg.Done()
	defer q.release()
	defer q.cancel()
	began := time.Now()
	m.mu.Lock()
	if !q.stopped {
		q.Status = Running
	}
	m.mu.Unlock()
	every := m.cfg.SnapshotEvery
	last := began
	end := q.end + 1 // Scan's End is exclusive
	if q.end < 0 || end < q.end {
		end = 0
	}
	add := func(b store.ScanBlock) bool {
		more := q.exec.AddBlock(b.Group, b)
		if now := time.Now(); now.Sub(last) >= every {
			snap := q.exec.Snapshot()
			took := time.Since(now)
			last = time.Now()
			// A snapshot of a large sort or many groups costs; keep
			// them under a twentieth of the run (and 100 ms apart at least).
			if every < 20*took {
				every = 20 * took
			}
			m.mu.Lock()
			q.result = snap
			q.gen++
			m.mu.Unlock()
		}
		return more
	}
	var stats store.ScanStats
	add, filter, viewErr, err := m.transformedView(ctx, q, add)
	switch {
	case err != nil:
	case q.streams != nil && len(q.streams) == 0:
		// The query's filters rule out every stream.
	case q.newest > 0:
		stats, err = m.readNewest(ctx, q, end, filter, add)
	default:
		req := store.ScanRequest{Scope: q.scope, Groups: q.Groups, Streams: q.streams, Start: q.start, End: end,
			Filter: filter, NoMessages: q.noMsgs}
		if s, ok := q.exec.(filterSkipper); ok && !q.noMsgs && filter != nil && s.SkipPushedFilter() {
			// The store applies the query's only use of the message, its
			// leading filters, to every event: it delivers the matches
			// without their messages (the embedded engine decides a merged
			// block's matches from its templates, rendering none). Not
			// when a view of transformed events filters (filter nil here).
			req.NoMessages = true
		}
		if c, ok := q.exec.(counter); ok && q.noMsgs && filter == nil {
			req.Counted = c.Counted()
		}
		stats, err = m.cfg.Store.Scan(ctx, req, add)
	}
	if err == nil {
		err = viewErr()
	}
	var res Result
	status := Complete
	switch {
	case err == nil:
		res, err = q.exec.Finish()
		if err != nil {
			status = Failed
		}
	case errors.Is(err, context.DeadlineExceeded):
		status = Timeout
	case errors.Is(err, context.Canceled):
		status = Cancelled
	default:
		status = Failed
	}
	if status != Complete {
		// Keep what the query had found: AWS shows partial results of a
		// query that timed out or was stopped.
		res = q.exec.Snapshot()
	}
	if r, ok := q.exec.(interface{ Release() }); ok {
		r.Release() // its state is no longer needed: give back its memory
	}
	// The engine's statistics count what it examined, including events its
	// filter ruled out before the Exec saw them.
	res.RecordsScanned = max(res.RecordsScanned, float64(stats.ScannedEvents))
	res.BytesScanned = max(res.BytesScanned, float64(stats.ScannedBytes))
	res.RecordsSkipped, res.BytesSkipped = float64(stats.SkippedEvents), float64(stats.SkippedBytes)
	size := rowsBytes(res.Rows)
	m.mu.Lock()
	defer m.mu.Unlock()
	if q.stopped {
		// StopQuery already answered and showed Cancelled; a scan that
		// finished in the meantime does not undo that.
		status = Cancelled
	}
	q.Status = status
	m.ended[status]++
	q.result = res
	q.gen++
	q.exec = nil // the executor's state (groups, sort buffers) is no longer needed
	q.Duration = time.Since(began)
	q.Bytes = res.BytesScanned
	q.finished = m.cfg.Now()
	q.bytes = size
	m.retained += size
	m.expireLocked()
}

// readNewest feeds q's Exec each group's events newest first, a page at a
// time, until q.newest of them have matched (or the group's window is
// exhausted). The query keeps only the newest q.newest events overall, and
// those are among the union of every group's newest q.newest matches, so
// the result is the full scan's. RecordsMatched counts what passed the
// query's filters, so it tells when a group has given enough.
func (m *Manager) readNewest(ctx context.Context, q *query, end int64, filter store.Matcher, add func(store.ScanBlock) bool) (store.ScanStats, error) {
	var st store.ScanStats
	page := min(max(q.newest, 100), 10000)
	for _, g := range q.Groups {
		base := q.exec.Snapshot().RecordsMatched
		req := store.ReadRequest{Group: q.scope, Name: g, Streams: q.streams, Start: q.start, End: end, Backward: true, Filter: filter,
			Limit: page, MaxBytes: 16 << 20, ScanBudget: 256 << 20}
		for {
			if err := ctx.Err(); err != nil {
				return st, err
			}
			p, err := m.cfg.Store.Read(ctx, req)
			if err != nil {
				return st, err
			}
			st.ScannedEvents += p.ScannedEvents
			st.ScannedBytes += p.ScannedBytes
			st.SkippedBlocks += p.SkippedBlocks
			st.SkippedEvents += p.SkippedEvents
			st.SkippedBytes += p.SkippedBytes
			// A backward page is newest first; blocks go to the Exec
			// chronological, as Scan delivers them (its top-K walks a
			// block from the end that can still win).
			evs := p.Events
			if len(evs) > 1 && evs[len(evs)-1].Pos.Less(evs[0].Pos) {
				slices.Reverse(evs)
			}
			if len(evs) > 0 && !add(store.ScanBlock{Group: g, Events: evs}) {
				return st, nil
			}
			if p.Next == nil || q.exec.Snapshot().RecordsMatched-base >= float64(q.newest) {
				break
			}
			req.After = p.Next
		}
	}
	return st, nil
}

// rowsBytes estimates the memory rows hold.
func rowsBytes(rows [][]Field) int64 {
	n := int64(len(rows)) * 24
	for _, r := range rows {
		n += int64(len(r)) * 32
		for _, f := range r {
			n += int64(len(f.Field) + len(f.Value))
		}
	}
	return n
}

// expireLocked forgets finished queries past the retention, then the
// oldest finished ones while the budgets are exceeded.
func (m *Manager) expireLocked() {
	now := m.cfg.Now()
	var done []*query
	for id, q := range m.queries {
		if q.finished.IsZero() {
			continue
		}
		if now.Sub(q.finished) > m.cfg.Retention {
			m.forgetLocked(id, q)
			continue
		}
		done = append(done, q)
	}
	if m.retained <= m.cfg.RetainedBytes && len(m.queries) <= m.cfg.RetainedQueries {
		return
	}
	sort.Slice(done, func(i, j int) bool { return done[i].finished.Before(done[j].finished) })
	for _, q := range done {
		if m.retained <= m.cfg.RetainedBytes && len(m.queries) <= m.cfg.RetainedQueries {
			return
		}
		m.forgetLocked(q.ID, q)
	}
}

func (m *Manager) forgetLocked(id string, q *query) {
	delete(m.queries, id)
	m.retained -= q.bytes
}

// lookupLocked finds scope's query id: another account's query does not
// exist for the caller.
func (m *Manager) lookupLocked(scope store.Scope, id string) (*query, error) {
	q, ok := m.queries[id]
	if !ok || q.scope != scope || (!q.finished.IsZero() && m.cfg.Now().Sub(q.finished) > m.cfg.Retention) {
		return nil, awserr.QueryNotFound(id)
	}
	return q, nil
}

// Results reports query id's status and its latest (partial or final) rows.
func (m *Manager) Results(scope store.Scope, id string) (Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	q, err := m.lookupLocked(scope, id)
	if err != nil {
		return Snapshot{}, err
	}
	return Snapshot{Info: q.Info, Result: q.result, Generation: q.gen}, nil
}

// Stop cancels a Scheduled or Running query; a finished one answers
// InvalidParameterException, as AWS does.
func (m *Manager) Stop(scope store.Scope, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	q, err := m.lookupLocked(scope, id)
	if err != nil {
		return err
	}
	if !q.finished.IsZero() || q.stopped {
		return awserr.QueryNotRunning(id)
	}
	q.stopped = true
	q.Status = Cancelled
	q.cancel()
	return nil
}

// Filter selects queries for List.
type Filter struct {
	Group    string // "": any; else queries that scan this group
	Status   string
	Language string
}

// List returns scope's queries that pass f, newest first (ties by id).
func (m *Manager) List(scope store.Scope, f Filter) []Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expireLocked()
	var out []Info
	for _, q := range m.queries {
		if q.scope != scope {
			continue
		}
		if f.Status != "" && q.Status != f.Status {
			continue
		}
		if f.Language != "" && q.Language != f.Language {
			continue
		}
		if f.Group != "" && !contains(q.Groups, f.Group) {
			continue
		}
		out = append(out, q.Info)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].CreateTime != out[j].CreateTime {
			return out[i].CreateTime > out[j].CreateTime
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Running is how many queries scope runs now (tests, metrics).
func (m *Manager) Running(scope store.Scope) int { return m.slots.InUse(scope.Account, scope.Region) }

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Close cancels every running query and waits for their runners. Later
// Starts fail. It is safe to call more than once.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
	return nil
}
