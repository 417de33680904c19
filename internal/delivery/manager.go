package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/cairnlog/cairn/internal/store"
)

// Source lists the filters to deliver. The subscription-filter family is
// one; account-level subscription policies are another.
type Source interface {
	Filters(ctx context.Context) ([]Filter, error)
}

// Config configures a Manager.
type Config struct {
	Store store.Store
	// Sinks maps a destination ARN (Kinesis stream, Firehose delivery
	// stream, Lambda function or logs destination) to its sink.
	Sinks  map[string]SinkConfig
	Logger *slog.Logger
	Now    func() time.Time
	// RetryWindow is how long a retryable failure is retried, measured from
	// the batch's oldest ingestion time (AWS: 24 h, the default).
	RetryWindow time.Duration
	// MinBackoff and MaxBackoff bound the waits between retries (defaults
	// 100 ms and 30 s).
	MinBackoff, MaxBackoff time.Duration
	// ErrorGroup is the log group, in the filter's account, that receives
	// what could not be delivered (default /cairn/subscription-failures).
	// Writing there is not checked against resource policies: it is
	// Cairn's own last resort, with no AWS principal behind it, and a
	// refusal there would either lose the events or stall the filter
	// (docs/control-plane.md).
	ErrorGroup string
	// CheckGroupWrite, when set, is asked before the log_group sink writes
	// into group/stream of target (the sink ARN's account): action is
	// logs:PutLogEvents, or logs:CreateLogStream when the stream must be
	// created, and sourceGroup the filter's log group in source. A non-nil
	// answer (no resource policy lets
	// CloudWatch Logs' subscription delivery, logs.amazonaws.com, write
	// there) is a retryable failure: retried with backoff within
	// RetryWindow, then recorded in ErrorGroup like any other.
	CheckGroupWrite func(ctx context.Context, target, source store.Scope, sourceGroup, action, group, stream string) error
	// PageEvents bounds the events a follower reads at once (default 10,000).
	PageEvents int
	// Transformed returns the transformed versions of the events of the
	// append at feed sequence seq, by Pos.Index, or nil when it was not
	// transformed (the transformer family's Transformed). Filters with
	// Transformed set read through it; nil: they see the stored events.
	Transformed func(ctx context.Context, scope store.Scope, group string, seq uint64) (func(store.StoredEvent) (string, bool), error)
}

// Manager runs one follower per filter of its sources.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	sinks   map[string]Sink
	sources []Source

	shared sharedBlocks // blocks encoded by one follower of a group for the other

	mu        sync.RWMutex
	followers map[key]*follower
	byGroup   map[groupKey][]*follower
	control   map[key]bool // filters created since their follower last looked

	reload      chan struct{}
	ctx         context.Context
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	unsubscribe func()
	started     bool
}

type groupKey struct {
	scope store.Scope
	group string
}

// New builds a Manager and its sinks (a sink that cannot be built is a
// configuration error).
func New(cfg Config) (*Manager, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RetryWindow <= 0 {
		cfg.RetryWindow = 24 * time.Hour
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.ErrorGroup == "" {
		cfg.ErrorGroup = "/cairn/subscription-failures"
	}
	if cfg.PageEvents <= 0 {
		cfg.PageEvents = 10_000
	}
	m := &Manager{cfg: cfg, log: cfg.Logger, sinks: map[string]Sink{}, followers: map[key]*follower{},
		byGroup: map[groupKey][]*follower{}, control: map[key]bool{}, reload: make(chan struct{}, 1)}
	arns := make([]string, 0, len(cfg.Sinks))
	for arn := range cfg.Sinks {
		arns = append(arns, arn)
	}
	sort.Strings(arns)
	for _, arn := range arns {
		s, err := buildSink(arn, cfg.Sinks[arn], cfg.Store, cfg.CheckGroupWrite)
		if err != nil {
			m.closeSinks()
			return nil, err
		}
		m.sinks[arn] = s
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m, nil
}

// AddSource adds a source of filters; call before Start.
func (m *Manager) AddSource(s Source) { m.sources = append(m.sources, s) }

// Start loads the filters, starts their followers and follows changes.
func (m *Manager) Start() error {
	m.unsubscribe = m.cfg.Store.Subscribe(m.appended)
	m.started = true
	if err := m.sync(); err != nil {
		m.log.Warn("subscription delivery: loading filters", "err", err)
		m.Changed() // try again in the loop
	}
	m.wg.Add(1)
	go m.loop()
	return nil
}

// Changed asks for the filters to be reloaded (a Put or Delete of a filter
// or destination); it does not block.
func (m *Manager) Changed() {
	select {
	case m.reload <- struct{}{}:
	default:
	}
}

// Created tells the manager a filter was created: its follower sends a
// CONTROL_MESSAGE before any data, as AWS does.
func (m *Manager) Created(f Filter) {
	m.mu.Lock()
	m.control[f.key()] = true
	m.mu.Unlock()
	m.Changed()
}

func (m *Manager) loop() {
	defer m.wg.Done()
	// On a shared engine a filter may be put through another node (whose
	// Changed reaches only its own manager): every node reloads every few
	// seconds, so each runs a follower (waiting for its lease) per filter
	// and takes over when the holder dies.
	var poll <-chan time.Time
	if _, shared := m.cfg.Store.(store.Leaser); shared {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		poll = t.C
	}
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-poll:
			m.Changed()
		case <-m.reload:
			if err := m.sync(); err != nil {
				m.log.Warn("subscription delivery: reloading filters", "err", err)
				select {
				case <-m.ctx.Done():
					return
				case <-time.After(time.Second):
					m.Changed()
				}
			}
		}
	}
}

// sync makes the running followers those of the sources' filters.
func (m *Manager) sync() error {
	var want []Filter
	for _, s := range m.sources {
		fs, err := s.Filters(m.ctx)
		if err != nil {
			return err
		}
		want = append(want, fs...)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	keep := map[key]bool{}
	for i := range want {
		f := want[i]
		k := f.key()
		keep[k] = true
		if old, ok := m.followers[k]; ok {
			if old.f.same(&f) {
				continue
			}
			m.stopLocked(old)
		}
		m.startLocked(f)
	}
	for k, fl := range m.followers {
		if !keep[k] {
			m.stopLocked(fl)
		}
	}
	return nil
}

// sinkFor is the sink of a filter: its target's, else its destination ARN's.
func (m *Manager) sinkFor(f *Filter) (Sink, string) {
	if s, ok := m.sinks[f.TargetARN]; ok && f.TargetARN != "" {
		return s, f.TargetARN
	}
	if s, ok := m.sinks[f.DestinationARN]; ok {
		return s, f.DestinationARN
	}
	return nil, ""
}

func (m *Manager) startLocked(f Filter) {
	ctx, cancel := context.WithCancel(m.ctx)
	fl := &follower{m: m, f: f, wake: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	fl.sink, fl.sinkARN = m.sinkFor(&f)
	m.followers[f.key()] = fl
	gk := groupKey{f.Scope, f.Group}
	m.byGroup[gk] = append(m.byGroup[gk], fl)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(fl.done)
		fl.run(ctx)
	}()
}

func (m *Manager) stopLocked(fl *follower) {
	fl.cancel()
	delete(m.followers, fl.f.key())
	gk := groupKey{fl.f.Scope, fl.f.Group}
	list := m.byGroup[gk]
	for i, x := range list {
		if x == fl {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(m.byGroup, gk)
	} else {
		m.byGroup[gk] = list
	}
}

// appended wakes the followers of a group that grew (store.Subscribe: must
// not block).
func (m *Manager) appended(a store.Appended) {
	m.mu.RLock()
	for _, fl := range m.byGroup[groupKey{a.Scope, a.Group}] {
		select {
		case fl.wake <- struct{}{}:
		default:
		}
	}
	m.mu.RUnlock()
}

// takeControl reports (once) whether a control message is due for k.
func (m *Manager) takeControl(k key) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.control[k] {
		delete(m.control, k)
		return true
	}
	return false
}

// Close stops every follower (a batch in flight is abandoned; its events
// are read again from the cursor on the next start) and closes the sinks.
func (m *Manager) Close() error {
	if m.unsubscribe != nil {
		m.unsubscribe()
	}
	m.cancel()
	m.wg.Wait()
	return m.closeSinks()
}

func (m *Manager) closeSinks() error {
	var err error
	for _, s := range m.sinks {
		err = errors.Join(err, s.Close())
	}
	return err
}

// FilterStats is one follower's state, for /cairn/subscriptions and metrics.
type FilterStats struct {
	Account        string `json:"account"`
	Region         string `json:"region"`
	LogGroup       string `json:"logGroupName"`
	FilterName     string `json:"filterName"`
	DestinationARN string `json:"destinationArn"`
	// SinkARN is the configured ARN delivery uses; "" while none is
	// configured (Waiting).
	SinkARN          string  `json:"sinkArn,omitempty"`
	Waiting          bool    `json:"waitingForSink"`
	Cursor           uint64  `json:"cursor"`
	DeliveredEvents  uint64  `json:"deliveredEvents"`
	DeliveredRecords uint64  `json:"deliveredRecords"`
	DeliveredBytes   uint64  `json:"deliveredBytes"`
	Retries          uint64  `json:"retries"`
	FailedEvents     uint64  `json:"failedEvents"`
	FailedRecords    uint64  `json:"failedRecords"`
	LagSeconds       float64 `json:"lagSeconds"`
	LastError        string  `json:"lastError,omitempty"`
}

// Stats reports every follower, ordered by account, region, group, filter.
// The metrics endpoint reads it through this method.
func (m *Manager) Stats() []FilterStats {
	m.mu.RLock()
	list := make([]*follower, 0, len(m.followers))
	for _, fl := range m.followers {
		list = append(list, fl)
	}
	m.mu.RUnlock()
	now := m.cfg.Now().UnixMilli()
	out := make([]FilterStats, 0, len(list))
	for _, fl := range list {
		out = append(out, fl.stats(now))
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return fmt.Sprint(a.Account, a.Region, a.LogGroup, "\x00", a.FilterName) < fmt.Sprint(b.Account, b.Region, b.LogGroup, "\x00", b.FilterName)
	})
	return out
}

// ServeHTTP answers GET /cairn/subscriptions with Stats as JSON. It shows
// names and counts, never event contents; the server mounts it on its
// non-API mux.
func (m *Manager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(struct {
		Filters []FilterStats `json:"filters"`
	}{m.Stats()})
}

// StartPosition is the feed position a new filter starts from: past every
// block committed so far (AWS delivers only what is ingested after the
// filter exists). ReadFeed answers only pages after a position, so the
// group's last block is found by bisection on "is there a block after x"
// (one block decoded per probe, at most 64 probes), and the answer's Next
// after it is the high-water mark or that block, whichever is later: it never
// passes a sequence still being committed, so nothing appended once the
// caller returns is missed.
func StartPosition(ctx context.Context, st store.Store, scope store.Scope, group string) (uint64, error) {
	probe := func(x uint64) (bool, uint64, error) {
		p, err := st.ReadFeed(ctx, store.FeedRequest{Scope: scope, Group: group, After: x, Limit: 1})
		return len(p.Events) > 0, p.Next, err
	}
	lo, hi := uint64(0), uint64(1<<63)
	for lo < hi { // the least x with no block after it
		mid := lo + (hi-lo)/2
		ok, _, err := probe(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	// Blocks of deleted streams do not show in a page, so the bisection can
	// land short of the end; read on from there (little is left).
	pos := lo
	for {
		p, err := st.ReadFeed(ctx, store.FeedRequest{Scope: scope, Group: group, After: pos, Limit: 10_000})
		if err != nil {
			return 0, err
		}
		if len(p.Events) == 0 {
			return p.Next, nil
		}
		pos = p.Next
	}
}

// groupFollowers is how many filters of the group are followed here.
func (m *Manager) groupFollowers(scope store.Scope, group string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.byGroup[groupKey{scope, group}])
}
