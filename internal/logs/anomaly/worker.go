package anomaly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/drain"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/uuid"
)

// Anomaly is AWS's Anomaly shape (the stored record too).
type Anomaly struct {
	AnomalyID                 string           `json:"anomalyId"`
	PatternID                 string           `json:"patternId"`
	AnomalyDetectorArn        string           `json:"anomalyDetectorArn"`
	PatternString             string           `json:"patternString"`
	PatternRegex              string           `json:"patternRegex,omitempty"`
	Priority                  string           `json:"priority,omitempty"`
	FirstSeen                 int64            `json:"firstSeen"`
	LastSeen                  int64            `json:"lastSeen"`
	Description               string           `json:"description"`
	Active                    bool             `json:"active"`
	State                     string           `json:"state"`
	Histogram                 map[string]int64 `json:"histogram"`
	LogSamples                []LogEvent       `json:"logSamples"`
	PatternTokens             []PatternToken   `json:"patternTokens"`
	LogGroupArnList           []string         `json:"logGroupArnList"`
	Suppressed                bool             `json:"suppressed"`
	SuppressedDate            int64            `json:"suppressedDate"`
	SuppressedUntil           int64            `json:"suppressedUntil"`
	IsPatternLevelSuppression bool             `json:"isPatternLevelSuppression"`
	// Cairn's own, not on the wire: the number of the evaluation that last
	// wrote the anomaly (an evaluation run again after a crash skips what
	// it had written).
	Eval int64 `json:"cairnEval,omitempty"`
}

type LogEvent struct {
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
}

type PatternToken struct {
	DynamicTokenPosition int              `json:"dynamicTokenPosition"`
	IsDynamic            bool             `json:"isDynamic"`
	TokenString          string           `json:"tokenString"`
	Enumerations         map[string]int64 `json:"enumerations"`
	InferredTokenName    string           `json:"inferredTokenName,omitempty"`
}

const maxSamples = 10

// state is a detector's learning, in memory. Everything but window and
// sweepAt is also the detector's state record (saved), written with each
// evaluation; window is rebuilt after a restart by reading the feed again
// from the record's position.
type state struct {
	miner    *drain.Miner
	baseline map[int]*stat // cluster → running count statistics
	window   map[int]*windowStat
	filter   logs.Pattern
	pos      uint64 // feed position observed up to
	evals    int64  // evaluations done
	evalAt   int64  // when the last one ran (ms)
	trained  bool
	// sweepAt is when the next anomaly reaches its visibility time (ms; 0:
	// not known yet, read the anomalies; math.MaxInt64: none will). Atomic:
	// UpdateAnomaly clears it.
	sweepAt atomic.Int64
}

type stat struct {
	mean    float64
	windows int
}

type windowStat struct {
	count   int64
	samples []LogEvent
	values  []map[string]int64 // per dynamic position: value → count
}

func anomalyKey(scope store.Scope, detector, id string) store.ResourceKey {
	return store.ResourceKey{Scope: scope, Kind: kindAnomaly, Name: detector + "/" + id}
}

// Start runs the worker until Close.
func (s *Service) Start() {
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	s.lease = store.NewLease(s.st, "anomaly/detectors", s.kick)
	go s.run()
}

// Close stops the worker and waits for it.
func (s *Service) Close() error {
	if s.stop == nil {
		return nil
	}
	close(s.stop)
	<-s.done
	s.lease.Close()
	return nil
}

func (s *Service) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Service) run() {
	defer close(s.done)
	t := time.NewTicker(s.poll)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-s.stop; cancel() }()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.wake:
		}
		if !s.lease.Held() {
			// Another node of a shared engine detects; what this one
			// learnt goes stale, and is loaded again from the state
			// records if the lease comes back.
			s.mu.Lock()
			clear(s.states)
			s.mu.Unlock()
			continue
		}
		// The step's writes (cursors, anomalies) carry the holding's fence:
		// refused if this node was paused past the lease and another took
		// over (store.Fence).
		if err := s.Step(store.WithFence(ctx, s.lease.Fence())); err != nil && ctx.Err() == nil {
			s.log.Warn("anomaly detection", "err", err)
		}
	}
}

// Step runs every detector once: read the feed, evaluate when due.
func (s *Service) Step(ctx context.Context) error {
	var names []string
	if err := s.st.ListResources(ctx, store.ResourceKey{Scope: indexScope, Kind: kindIndex}, "", "", func(n string, _ []byte) bool {
		names = append(names, n)
		return true
	}); err != nil {
		return err
	}
	var errs error
	for _, n := range names {
		parts := strings.SplitN(n, "/", 3)
		if len(parts) != 3 {
			continue
		}
		errs = errors.Join(errs, s.stepOne(ctx, store.Scope{Account: parts[0], Region: parts[1]}, parts[2]))
	}
	return errs
}

func stateKey(scope store.Scope, id string) store.ResourceKey {
	return store.ResourceKey{Scope: scope, Kind: kindState, Name: id}
}

// newState is an untrained detector's state, at feed position pos.
func (s *Service) newState(d *Detector, pos uint64) *state {
	st := &state{miner: drain.New(drain.Config{}), baseline: map[int]*stat{}, window: map[int]*windowStat{}, pos: pos}
	if d.FilterPattern != nil && *d.FilterPattern != "" && s.compile != nil {
		st.filter, _ = s.compile(*d.FilterPattern)
	}
	return st
}

// loadState reads a detector's state record. Without one (a new detector,
// or data of a Cairn that kept learning in memory) the detector trains from
// its old feed cursor, if any; a record that does not decode (damaged, or of
// a newer Cairn) is logged and the detector trains again from there too,
// never reporting every pattern as new.
func (s *Service) loadState(ctx context.Context, scope store.Scope, group, id string, d *Detector) (*state, error) {
	b, err := s.st.GetResource(ctx, stateKey(scope, id))
	switch {
	case errors.Is(err, store.ErrResourceNotFound):
	case err != nil:
		return nil, err
	default:
		sv, derr := decodeState(b)
		if derr == nil {
			st := s.newState(d, sv.Pos)
			st.miner = drain.Restore(drain.Config{}, sv.Drain)
			for cid, b := range sv.Baseline {
				st.baseline[cid] = &stat{mean: b.mean, windows: b.windows}
			}
			st.evals, st.evalAt, st.trained = sv.Evals, sv.EvalAt, sv.Trained
			return st, nil
		}
		s.log.Warn("anomaly detector state ignored: the detector trains again", "detector", d.AnomalyDetectorArn, "err", derr)
	}
	pos, err := s.st.GetCursor(ctx, scope, group, cursorName(id))
	if errors.Is(err, store.ErrCursorNotFound) {
		pos, err = 0, nil
	}
	if err != nil {
		return nil, err
	}
	st := s.newState(d, pos)
	st.evals = d.Evals
	return st, nil
}

// saveState writes st's learning as the detector's state record.
func (s *Service) saveState(ctx context.Context, scope store.Scope, id string, d *Detector, st *state) error {
	sv := &saved{Evals: st.evals, EvalAt: st.evalAt, Pos: st.pos, Trained: st.trained, Drain: st.miner.State(), Baseline: map[int]stat{}}
	for _, c := range sv.Drain.Clusters {
		if b := st.baseline[c.ID]; b != nil {
			sv.Baseline[c.ID] = *b
		}
	}
	// Baselines of evicted clusters are of no use (IDs are never reused).
	for cid := range st.baseline {
		if _, ok := st.miner.Template(cid); !ok {
			delete(st.baseline, cid)
		}
	}
	b, dropped := encodeState(sv)
	if dropped > 0 {
		s.log.Warn("anomaly detector state over its size budget: least recently seen patterns not kept", "detector", d.AnomalyDetectorArn,
			"dropped", dropped)
	}
	return s.st.PutResource(ctx, stateKey(scope, id), b)
}

func (s *Service) stepOne(ctx context.Context, scope store.Scope, id string) error {
	d, err := s.load(ctx, scope, id)
	if err != nil {
		if awserr.Is(err, awserr.ResourceNotFound) {
			return nil
		}
		return err
	}
	if d.AnomalyDetectorStatus == "PAUSED" || len(d.LogGroupArnList) == 0 {
		return nil
	}
	group, err := logs.ResolveGroup(scope, "", d.LogGroupArnList[0], nil)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	st := s.states[id]
	s.mu.Unlock()
	if st == nil {
		if st, err = s.loadState(ctx, scope, group, id, d); err != nil {
			if errors.Is(err, store.ErrGroupNotFound) {
				return nil
			}
			return err
		}
		if err := s.reconcile(ctx, scope, id, d, st); err != nil {
			return err
		}
		s.mu.Lock()
		s.states[id] = st
		s.mu.Unlock()
	}
	// Any failure past here leaves st ahead of its record or half
	// evaluated: forget it, and the next step loads the record again.
	if err := s.advance(ctx, scope, group, id, d, st); err != nil {
		s.mu.Lock()
		if s.states[id] == st {
			delete(s.states, id)
		}
		s.mu.Unlock()
		if errors.Is(err, store.ErrGroupNotFound) {
			return nil
		}
		return err
	}
	return nil
}

// reconcile brings the detector record in line with a state just loaded:
// the record may lag one evaluation (a crash between the state record's
// write and its own), or the state may be untrained again (no record, or
// one ignored).
func (s *Service) reconcile(ctx context.Context, scope store.Scope, id string, d *Detector, st *state) error {
	changed := false
	if st.evals > d.Evals {
		d.Evals, d.NextEval, changed = st.evals, time.UnixMilli(st.evalAt).Add(d.frequency()).UnixMilli(), true
	}
	if d.Trained != st.trained {
		d.Trained, changed = st.trained, true
		if d.AnomalyDetectorStatus != "PAUSED" {
			d.AnomalyDetectorStatus = map[bool]string{true: "ANALYZING", false: "TRAINING"}[st.trained]
		}
	}
	if !changed {
		return nil
	}
	return s.progress(ctx, scope, id, func(r *Detector) {
		r.Evals, r.NextEval, r.Trained, r.AnomalyDetectorStatus = d.Evals, d.NextEval, d.Trained, d.AnomalyDetectorStatus
	})
}

// progress writes the worker's fields of a detector record: fn changes the
// record as it is now (not the copy the step began with, which an
// UpdateLogAnomalyDetector may have changed since).
func (s *Service) progress(ctx context.Context, scope store.Scope, id string, fn func(*Detector)) error {
	s.detMu.Lock()
	defer s.detMu.Unlock()
	r, err := s.load(ctx, scope, id)
	if err != nil {
		if awserr.Is(err, awserr.ResourceNotFound) {
			return nil // deleted meanwhile
		}
		return err
	}
	paused := r.AnomalyDetectorStatus == "PAUSED"
	fn(r)
	if paused {
		r.AnomalyDetectorStatus = "PAUSED"
	}
	return s.save(ctx, scope, id, r)
}

// advance learns from the feed, baselines anomalies past their visibility
// time and evaluates when due.
//
// The order of an evaluation's writes: the anomalies first (each tagged
// with the evaluation's number), then the state record (learning and feed
// position together, one write), then the detector record. A kill -9 before
// the state record leaves the previous one: after the restart the detector
// reads the same events again from its position and runs the same
// evaluation again (same number, the same cluster IDs from the same
// restored miner), and skips the anomalies already tagged with that number,
// so nothing is reported twice and nothing is lost. Writing the state first
// would lose the anomalies of an evaluation killed after it. A kill -9
// before the detector record leaves that record one evaluation behind,
// which reconcile completes from the state record.
func (s *Service) advance(ctx context.Context, scope store.Scope, group, id string, d *Detector, st *state) error {
	for {
		page, err := s.st.ReadFeed(ctx, store.FeedRequest{Scope: scope, Group: group, After: st.pos, Limit: 5000})
		if err != nil {
			return err
		}
		for _, e := range page.Events {
			if st.filter != nil && !st.filter.Match(e.Message) {
				continue
			}
			st.observe(e)
		}
		done := page.Next == st.pos || len(page.Events) == 0
		st.pos = page.Next
		if done {
			break
		}
	}
	now := s.now()
	if err := s.sweep(ctx, scope, id, d, st, now); err != nil {
		return err
	}
	if now.UnixMilli() < d.NextEval {
		return nil
	}
	if err := s.evaluate(ctx, scope, id, d, st, now, st.evals+1); err != nil {
		return err
	}
	st.evals++
	st.evalAt = now.UnixMilli()
	st.trained = true
	if err := s.saveState(ctx, scope, id, d, st); err != nil {
		return err
	}
	return s.progress(ctx, scope, id, func(r *Detector) {
		r.NextEval, r.Evals, r.Trained, r.AnomalyDetectorStatus = now.Add(r.frequency()).UnixMilli(), st.evals, true, "ANALYZING"
	})
}

// sweep baselines the detector's anomalies whose anomalyVisibilityTime has
// passed since they were first seen (AWS: "After this time period has
// elapsed for an anomaly, it will be automatically baselined and the anomaly
// detector will treat new occurrences of a similar anomaly as normal"): the
// state Baseline, which report then leaves alone. A suppressed anomaly is
// left to its suppression: an infinite one is never baselined, a limited one
// once both its suppression and its visibility time are over. It reads the
// anomalies only when one is due (st.sweepAt).
func (s *Service) sweep(ctx context.Context, scope store.Scope, id string, d *Detector, st *state, now time.Time) error {
	ms := now.UnixMilli()
	if at := st.sweepAt.Load(); at != 0 && ms < at {
		return nil
	}
	visibility := time.Duration(d.AnomalyVisibilityTime) * 24 * time.Hour
	var due []*Anomaly
	next := int64(math.MaxInt64)
	var bad error
	err := s.st.ListResources(ctx, store.ResourceKey{Scope: scope, Kind: kindAnomaly}, id+"/", "", func(_ string, v []byte) bool {
		var a Anomaly
		if bad = json.Unmarshal(v, &a); bad != nil {
			return false
		}
		at, ok := baselineAt(&a, visibility)
		switch {
		case !ok:
		case at <= ms:
			due = append(due, &a)
		case at < next:
			next = at
		}
		return true
	})
	if err = errors.Join(err, bad); err != nil {
		return err
	}
	for _, a := range due {
		a.State, a.Suppressed, a.SuppressedUntil, a.IsPatternLevelSuppression = "Baseline", false, 0, false
		if err := s.putAnomaly(ctx, scope, id, a); err != nil {
			return err
		}
	}
	st.sweepAt.Store(next)
	return nil
}

// baselineAt is when a is baselined automatically (false: never, or
// already).
func baselineAt(a *Anomaly, visibility time.Duration) (int64, bool) {
	if a.State == "Baseline" || a.Suppressed && a.SuppressedUntil == 0 {
		return 0, false
	}
	at := a.FirstSeen + visibility.Milliseconds()
	if a.Suppressed && a.SuppressedUntil > at {
		at = a.SuppressedUntil
	}
	return at, true
}

func (st *state) observe(e store.StoredEvent) {
	cid := st.miner.Add(e.Message)
	w := st.window[cid]
	if w == nil {
		w = &windowStat{}
		st.window[cid] = w
	}
	w.count++
	if len(w.samples) < maxSamples {
		w.samples = append(w.samples, LogEvent{Timestamp: e.Timestamp, Message: e.Message})
	}
	// Enumerations of dynamic token values, bounded per position.
	toks := drain.Tokenize(e.Message, 200)
	raw := splitRaw(e.Message)
	for i, tok := range toks {
		if i >= 64 || i >= len(raw) {
			break
		}
		for len(w.values) <= i {
			w.values = append(w.values, nil)
		}
		_ = tok // every position: a static token may turn dynamic later in the window
		if w.values[i] == nil {
			w.values[i] = map[string]int64{}
		}
		if _, ok := w.values[i][raw[i]]; ok || len(w.values[i]) < 20 {
			w.values[i][raw[i]]++
		}
	}
}

// evaluate closes the window: training, or anomalies.
// Anomalies it writes carry the evaluation's number, eval.
func (s *Service) evaluate(ctx context.Context, scope store.Scope, id string, d *Detector, st *state, now time.Time, eval int64) error {
	defer func() { st.window = map[int]*windowStat{} }()
	for cid, w := range st.window {
		b := st.baseline[cid]
		var description, priority string
		switch {
		case !st.trained:
		case b == nil:
			description = "New pattern detected."
			priority = "MEDIUM"
		case b.windows >= 1 && float64(w.count) > 3*b.mean && float64(w.count)-b.mean >= 10:
			description = fmt.Sprintf("Count of pattern deviated expected by: %.2f%%", (float64(w.count)-b.mean)/b.mean*100)
			priority = "LOW"
		}
		if b == nil {
			b = &stat{}
			st.baseline[cid] = b
		}
		b.mean = (b.mean*float64(b.windows) + float64(w.count)) / float64(b.windows+1)
		b.windows++
		if description == "" {
			continue
		}
		tmpl, ok := st.miner.Template(cid)
		if !ok {
			continue
		}
		if severe(tmpl.String()) {
			priority = "HIGH"
		}
		if err := s.report(ctx, scope, id, d, st, cid, tmpl, w, description, priority, now, eval); err != nil {
			return err
		}
	}
	return nil
}

func severe(s string) bool {
	u := strings.ToUpper(s)
	return strings.Contains(u, "ERROR") || strings.Contains(u, "FATAL") || strings.Contains(u, "CRITICAL") || strings.Contains(u, "EXCEPTION")
}

// report creates the pattern's anomaly or updates its active one (unless it
// is suppressed or baselined).
func (s *Service) report(ctx context.Context, scope store.Scope, id string, d *Detector, st *state, cid int, tmpl drain.Template, w *windowStat,
	description, priority string, now time.Time, eval int64) error {
	pid := patternID(d.AnomalyDetectorArn, cid)
	var existing *Anomaly
	var bad error
	err := s.st.ListResources(ctx, store.ResourceKey{Scope: scope, Kind: kindAnomaly}, id+"/", "", func(_ string, v []byte) bool {
		var a Anomaly
		if bad = json.Unmarshal(v, &a); bad != nil {
			return false
		}
		if a.PatternID == pid {
			existing = &a
			return false
		}
		return true
	})
	if err = errors.Join(err, bad); err != nil {
		return err
	}
	ms := now.UnixMilli()
	visibility := time.Duration(d.AnomalyVisibilityTime) * 24 * time.Hour
	if existing != nil {
		if existing.Eval >= eval { // written by this evaluation before a restart
			return nil
		}
		if existing.Suppressed && (existing.SuppressedUntil == 0 || existing.SuppressedUntil > ms) || existing.State == "Baseline" {
			return nil
		}
		if existing.Suppressed { // the suppression ended
			existing.Suppressed, existing.State, existing.IsPatternLevelSuppression = false, "Active", false
		}
		existing.LastSeen, existing.Active, existing.Description = ms, true, description
		existing.Histogram[strconv.FormatInt(ms, 10)] = w.count
		existing.LogSamples = w.samples
		existing.Eval = eval
		st.dueAt(existing, visibility)
		return s.putAnomaly(ctx, scope, id, existing)
	}
	a := &Anomaly{AnomalyID: uuid.New(), PatternID: pid, AnomalyDetectorArn: d.AnomalyDetectorArn, PatternString: tmpl.String(),
		PatternRegex: regexOf(tmpl), Priority: priority, FirstSeen: ms, LastSeen: ms, Description: description, Active: true,
		State: "Active", Histogram: map[string]int64{strconv.FormatInt(ms, 10): w.count}, LogSamples: w.samples,
		PatternTokens: tokensOf(tmpl, w), LogGroupArnList: d.LogGroupArnList, Eval: eval}
	st.dueAt(a, visibility)
	return s.putAnomaly(ctx, scope, id, a)
}

// dueAt moves st.sweepAt to a's visibility time if that is sooner.
func (st *state) dueAt(a *Anomaly, visibility time.Duration) {
	if at, ok := baselineAt(a, visibility); ok {
		if cur := st.sweepAt.Load(); cur != 0 && at < cur {
			st.sweepAt.CompareAndSwap(cur, at)
		}
	}
}

func (s *Service) putAnomaly(ctx context.Context, scope store.Scope, detector string, a *Anomaly) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return s.st.PutResource(ctx, anomalyKey(scope, detector, a.AnomalyID), b)
}

// regexOf is AWS's patternRegex form: literals quoted \Q...\E, each dynamic
// token .* .
func regexOf(t drain.Template) string {
	var b strings.Builder
	lit := ""
	flush := func() {
		if lit != "" {
			b.WriteString(`\Q` + strings.ReplaceAll(lit, `\E`, `\E\\E\Q`) + `\E`)
			lit = ""
		}
	}
	for _, tok := range t.Tokens {
		if tok.Dynamic {
			flush()
			b.WriteString(".*")
			continue
		}
		lit += tok.Text
	}
	flush()
	return b.String()
}

func tokensOf(t drain.Template, w *windowStat) []PatternToken {
	var out []PatternToken
	pos := 0
	for i, tok := range t.Tokens {
		pt := PatternToken{TokenString: tok.Text, Enumerations: map[string]int64{}}
		if tok.Dynamic {
			pos++
			pt.IsDynamic, pt.DynamicTokenPosition = true, pos
			if i < len(w.values) && w.values[i] != nil {
				pt.Enumerations = w.values[i]
			}
			if tok.Type != drain.TypeVariable && tok.Type != "" {
				pt.InferredTokenName = tok.Type + "-" + strconv.Itoa(pos)
			}
		}
		out = append(out, pt)
	}
	return out
}

type ListAnomaliesInput struct {
	AnomalyDetectorArn string `json:"anomalyDetectorArn"`
	SuppressionState   string `json:"suppressionState"`
	Limit              int    `json:"limit"`
	NextToken          string `json:"nextToken"`
}

type ListAnomaliesOutput struct {
	Anomalies []*Anomaly `json:"anomalies"`
	NextToken string     `json:"nextToken,omitempty"`
}

// ListAnomalies lists a detector's anomalies (all the account's without an
// ARN).
func (s *Service) ListAnomalies(ctx context.Context, c caller.Caller, in *ListAnomaliesInput) (*ListAnomaliesOutput, error) {
	scope := logs.Scope(c)
	prefix := ""
	if in.AnomalyDetectorArn != "" {
		_, id, _, err := s.resolve(ctx, c, "logs:ListAnomalies", in.AnomalyDetectorArn)
		if err != nil {
			return nil, err
		}
		prefix = id + "/"
	} else if err := c.Authorize("logs:ListAnomalies", "*"); err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit == 0 {
		limit = 50
	}
	out := &ListAnomaliesOutput{Anomalies: []*Anomaly{}}
	var bad error
	last := ""
	err := s.st.ListResources(ctx, store.ResourceKey{Scope: scope, Kind: kindAnomaly}, prefix, in.NextToken, func(name string, v []byte) bool {
		var a Anomaly
		if bad = json.Unmarshal(v, &a); bad != nil {
			return false
		}
		if (in.SuppressionState == "SUPPRESSED") != a.Suppressed && in.SuppressionState != "" {
			return true
		}
		if len(out.Anomalies) == limit {
			out.NextToken = last
			return false
		}
		a.Eval = 0
		out.Anomalies = append(out.Anomalies, &a)
		last = name
		return true
	})
	if err = errors.Join(err, bad); err != nil {
		return nil, logs.StoreError(err)
	}
	return out, nil
}

type UpdateAnomalyInput struct {
	AnomalyDetectorArn string `json:"anomalyDetectorArn"`
	AnomalyID          string `json:"anomalyId"`
	PatternID          string `json:"patternId"`
	SuppressionType    string `json:"suppressionType"`
	SuppressionPeriod  *struct {
		Value           int    `json:"value"`
		SuppressionUnit string `json:"suppressionUnit"`
	} `json:"suppressionPeriod"`
	Baseline *bool `json:"baseline"`
}

// UpdateAnomaly suppresses (LIMITED for suppressionPeriod, INFINITE), ends a
// suppression (neither given), or baselines an anomaly or every anomaly of a
// pattern.
func (s *Service) UpdateAnomaly(ctx context.Context, c caller.Caller, in *UpdateAnomalyInput) (*struct{}, error) {
	scope, id, _, err := s.resolve(ctx, c, "logs:UpdateAnomaly", in.AnomalyDetectorArn)
	if err != nil {
		return nil, err
	}
	switch {
	case in.AnomalyID != "" && in.PatternID != "":
		return nil, awserr.InvalidAnomalyRequest("Specify either anomalyId or patternId, not both.")
	case in.AnomalyID == "" && in.PatternID == "":
		return nil, awserr.InvalidAnomalyRequest("Specify anomalyId or patternId.")
	}
	var until int64
	now := s.now().UnixMilli()
	switch in.SuppressionType {
	case "LIMITED":
		if in.SuppressionPeriod == nil || in.SuppressionPeriod.Value <= 0 || in.SuppressionPeriod.SuppressionUnit == "" {
			return nil, awserr.InvalidAnomalyRequest("A LIMITED suppression needs a suppressionPeriod with a positive value and a suppressionUnit.")
		}
		unit := map[string]time.Duration{"SECONDS": time.Second, "MINUTES": time.Minute, "HOURS": time.Hour}[in.SuppressionPeriod.SuppressionUnit]
		until = now + (time.Duration(in.SuppressionPeriod.Value) * unit).Milliseconds()
	case "INFINITE":
		until = 0
	case "":
		if in.SuppressionPeriod != nil {
			return nil, awserr.InvalidAnomalyRequest("suppressionPeriod needs a suppressionType.")
		}
	}
	var hits []*Anomaly
	var bad error
	err = s.st.ListResources(ctx, store.ResourceKey{Scope: scope, Kind: kindAnomaly}, id+"/", "", func(_ string, v []byte) bool {
		var a Anomaly
		if bad = json.Unmarshal(v, &a); bad != nil {
			return false
		}
		if a.AnomalyID == in.AnomalyID || a.PatternID == in.PatternID {
			hits = append(hits, &a)
		}
		return true
	})
	if err = errors.Join(err, bad); err != nil {
		return nil, logs.StoreError(err)
	}
	if len(hits) == 0 {
		return nil, awserr.AnomalyNotFound()
	}
	s.mu.Lock()
	if st := s.states[id]; st != nil {
		st.sweepAt.Store(0) // a suppression changed: read the visibility times again
	}
	s.mu.Unlock()
	for _, a := range hits {
		switch {
		case in.SuppressionType != "":
			a.Suppressed, a.State, a.SuppressedDate, a.SuppressedUntil = true, "Suppressed", now, until
			a.IsPatternLevelSuppression = in.PatternID != ""
		case in.Baseline == nil || !*in.Baseline:
			a.Suppressed, a.State, a.SuppressedUntil, a.IsPatternLevelSuppression = false, "Active", 0, false
		}
		if in.Baseline != nil && *in.Baseline {
			a.State = "Baseline"
		}
		if err := s.putAnomaly(ctx, scope, id, a); err != nil {
			return nil, logs.StoreError(err)
		}
	}
	return &struct{}{}, nil
}

// splitRaw splits like drain.Tokenize without masking (token texts).
func splitRaw(msg string) []string {
	toks := drain.Tokenize(msg, 200)
	out := make([]string, 0, len(toks))
	rest := msg
	for _, t := range toks {
		if !t.Dynamic {
			out = append(out, t.Text)
			rest = strings.TrimPrefix(rest, t.Text)
			continue
		}
		// a masked word: up to the next separator-run boundary the next
		// static token starts at
		n := wordLen(rest)
		out = append(out, rest[:n])
		rest = rest[n:]
	}
	return out
}

var wordRE = regexp.MustCompile(`^(?:[^ \t\n\r,;="'()\[\]{}<>|.:]|[.:][^ \t\n\r,;="'()\[\]{}<>|.:])+`)

func wordLen(s string) int {
	if loc := wordRE.FindStringIndex(s); loc != nil && loc[1] > 0 {
		return loc[1]
	}
	return len(s)
}
