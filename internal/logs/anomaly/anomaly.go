// Package anomaly is the log anomaly detection family of CloudWatch Logs
// operations (Create/Get/List/Update/DeleteLogAnomalyDetector,
// ListAnomalies, UpdateAnomaly) and the background worker that runs the
// detectors.
//
// Detectors and the anomalies they report are store resource records of the
// account and region (kinds "anomalyDetector" and "anomaly"); an index
// record per detector under the empty scope lets the worker find every
// detector after a restart. Data flows: the worker (Start; owned by the
// server) wakes every Config.Poll, reads each active detector's log group
// from the commit-ordered feed after its durable cursor (store.ReadFeed,
// cursor "anomaly-detector/<id>"), keeps the events its filterPattern
// matches, and clusters their messages into patterns (package drain). When
// the detector's evaluationFrequency has passed on the server's clock
// (Config.Now, which tests move), it evaluates the window: the first
// evaluation is training (every pattern seen becomes the baseline; status
// TRAINING, then ANALYZING); later ones report a pattern never seen before
// and a pattern whose count departs from its baseline (more than three times
// its running mean, and at least 10 events more) as anomalies in AWS's
// Anomaly shape, and fold the window into the baseline.
//
// Learning survives a restart: each evaluation ends by writing the
// detector's state record (kind "anomalyDetectorState", state.go: the drain
// clusters, the baselines, training, the feed position), which a restarted
// worker, or a node taking over the lease, restores before it reads the feed
// again from that position; the order of an evaluation's writes is
// explained at advance. An anomaly is baselined automatically once
// anomalyVisibilityTime has passed since it was first seen (sweep).
package anomaly

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/uuid"
)

const (
	kindDetector = "anomalyDetector"
	kindAnomaly  = "anomaly"
	kindIndex    = "anomalyDetectorIndex"
	kindState    = "anomalyDetectorState"
	// defaultVisibility is anomalyVisibilityTime when the caller sets none
	// (AWS computes one; 21 days is what a public report shows, reference §4.1).
	defaultVisibility = 21
)

// indexScope holds the index of every detector (the worker's way to find
// them: resources are listed per scope).
var indexScope = store.Scope{}

// frequencies are evaluationFrequency's values.
var frequencies = map[string]time.Duration{"ONE_MIN": time.Minute, "FIVE_MIN": 5 * time.Minute, "TEN_MIN": 10 * time.Minute,
	"FIFTEEN_MIN": 15 * time.Minute, "THIRTY_MIN": 30 * time.Minute, "ONE_HOUR": time.Hour}

// defaultFrequency evaluates detectors created without an
// evaluationFrequency (AWS does not document its default; Get then omits the
// field, as AWS's TF provider expects of an unset one).
const defaultFrequency = 5 * time.Minute

// Config configures a Service.
type Config struct {
	Store   store.Store
	Now     func() time.Time
	Compile func(expr string) (logs.Pattern, error)
	Logger  *slog.Logger
	// Poll is how often the worker reads the feeds (default 1 s). Evaluation
	// follows Now, not Poll.
	Poll time.Duration
}

// Service implements the operations and the worker.
type Service struct {
	st      store.Store
	now     func() time.Time
	compile func(string) (logs.Pattern, error)
	log     *slog.Logger
	poll    time.Duration

	// detMu serialises a detector record's read-modify-writes between
	// UpdateLogAnomalyDetector and the worker (on this node).
	detMu  sync.Mutex
	mu     sync.Mutex
	states map[string]*state // by detector id

	stop chan struct{}
	done chan struct{}
	wake chan struct{}
	// lease: detectors run only on the node holding it (always on a
	// one-node engine). Learning is memory: a node taking over learns
	// afresh from the detectors' cursors.
	lease *store.Lease
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	return &Service{st: cfg.Store, now: cfg.Now, compile: cfg.Compile, log: cfg.Logger, poll: cfg.Poll,
		states: map[string]*state{}, wake: make(chan struct{}, 1)}
}

// Register adds the family's operations to t.
func (s *Service) Register(t *protocol.Table) {
	t.Add("CreateLogAnomalyDetector", protocol.Decoded(s.CreateLogAnomalyDetector))
	t.Add("GetLogAnomalyDetector", protocol.Decoded(s.GetLogAnomalyDetector))
	t.Add("ListLogAnomalyDetectors", protocol.Decoded(s.ListLogAnomalyDetectors))
	t.Add("UpdateLogAnomalyDetector", protocol.Decoded(s.UpdateLogAnomalyDetector))
	t.Add("DeleteLogAnomalyDetector", protocol.Decoded(s.DeleteLogAnomalyDetector))
	t.Add("ListAnomalies", protocol.Decoded(s.ListAnomalies))
	t.Add("UpdateAnomaly", protocol.Decoded(s.UpdateAnomaly))
}

// Detector is the stored detector and the wire AnomalyDetector shape.
type Detector struct {
	AnomalyDetectorArn    string            `json:"anomalyDetectorArn,omitempty"`
	DetectorName          string            `json:"detectorName,omitempty"`
	LogGroupArnList       []string          `json:"logGroupArnList"`
	EvaluationFrequency   string            `json:"evaluationFrequency,omitempty"`
	FilterPattern         *string           `json:"filterPattern,omitempty"`
	AnomalyDetectorStatus string            `json:"anomalyDetectorStatus"`
	KmsKeyID              string            `json:"kmsKeyId,omitempty"`
	CreationTimeStamp     int64             `json:"creationTimeStamp"`
	LastModifiedTimeStamp int64             `json:"lastModifiedTimeStamp"`
	AnomalyVisibilityTime int64             `json:"anomalyVisibilityTime"`
	Tags                  map[string]string `json:"tags,omitempty"`
	// Cairn's own: whether training completed, when it evaluates next, how
	// many evaluations this record has seen (behind the state record's
	// count after a crash between the two writes: the worker completes it).
	Trained  bool  `json:"cairnTrained,omitempty"`
	NextEval int64 `json:"cairnNextEval,omitempty"`
	Evals    int64 `json:"cairnEvals,omitempty"`
}

func (d *Detector) wire(withArn bool) *Detector {
	w := *d
	w.Tags, w.Trained, w.NextEval, w.Evals = nil, false, 0, 0
	if !withArn {
		w.AnomalyDetectorArn = ""
	}
	return &w
}

func (d *Detector) frequency() time.Duration {
	if f, ok := frequencies[d.EvaluationFrequency]; ok {
		return f
	}
	return defaultFrequency
}

func detectorKey(scope store.Scope, id string) store.ResourceKey {
	return store.ResourceKey{Scope: scope, Kind: kindDetector, Name: id}
}

func indexName(scope store.Scope, id string) string {
	return scope.Account + "/" + scope.Region + "/" + id
}

func detectorARN(scope store.Scope, id string) string {
	return "arn:aws:logs:" + scope.Region + ":" + scope.Account + ":anomaly-detector:" + id
}

// detectorID takes the id out of an ARN of the caller's scope.
func detectorID(scope store.Scope, arn string) (string, bool) {
	prefix := detectorARN(scope, "")
	if !strings.HasPrefix(arn, prefix) || len(arn) == len(prefix) {
		return "", false
	}
	return arn[len(prefix):], true
}

type CreateInput struct {
	LogGroupArnList       []string          `json:"logGroupArnList"`
	DetectorName          string            `json:"detectorName"`
	EvaluationFrequency   string            `json:"evaluationFrequency"`
	FilterPattern         *string           `json:"filterPattern"`
	KmsKeyID              string            `json:"kmsKeyId"`
	AnomalyVisibilityTime int64             `json:"anomalyVisibilityTime"`
	Tags                  map[string]string `json:"tags"`
}

type CreateOutput struct {
	AnomalyDetectorArn string `json:"anomalyDetectorArn"`
}

// groupsOf checks a logGroupArnList: exactly one group (AWS's
// documentation: "You can specify only one log group ARN"), existing.
func (s *Service) groupsOf(ctx context.Context, scope store.Scope, arns []string) ([]string, error) {
	if len(arns) != 1 {
		return nil, awserr.InvalidAnomalyRequest("logGroupArnList must contain exactly one log group ARN.")
	}
	var out []string
	for _, a := range arns {
		if !strings.HasPrefix(a, "arn:") {
			return nil, awserr.InvalidAnomalyRequest("logGroupArnList must contain log group ARNs.")
		}
		name, err := logs.ResolveGroup(scope, "", a, nil)
		if err != nil {
			return nil, err
		}
		if _, err := s.st.GetGroup(ctx, scope, name); err != nil {
			return nil, logs.StoreError(err)
		}
		out = append(out, name)
	}
	return out, nil
}

func (s *Service) checkPattern(p *string) error {
	if p == nil || *p == "" {
		return nil
	}
	_, err := logs.CompilePattern(s.compile, *p)
	return err
}

// CreateLogAnomalyDetector creates a detector for one log group.
func (s *Service) CreateLogAnomalyDetector(ctx context.Context, c caller.Caller, in *CreateInput) (*CreateOutput, error) {
	scope := logs.Scope(c)
	id := uuid.New()
	if err := c.Authorize("logs:CreateLogAnomalyDetector", detectorARN(scope, id)); err != nil {
		return nil, err
	}
	groups, err := s.groupsOf(ctx, scope, in.LogGroupArnList)
	if err != nil {
		return nil, err
	}
	if err := s.checkPattern(in.FilterPattern); err != nil {
		return nil, err
	}
	now := s.now()
	d := &Detector{AnomalyDetectorArn: detectorARN(scope, id), DetectorName: in.DetectorName,
		LogGroupArnList: []string{logs.GroupARN(scope, groups[0])}, EvaluationFrequency: in.EvaluationFrequency,
		FilterPattern: in.FilterPattern, AnomalyDetectorStatus: "TRAINING", KmsKeyID: in.KmsKeyID,
		CreationTimeStamp: now.UnixMilli(), LastModifiedTimeStamp: now.UnixMilli(), AnomalyVisibilityTime: in.AnomalyVisibilityTime,
		Tags: in.Tags}
	if d.AnomalyVisibilityTime == 0 {
		d.AnomalyVisibilityTime = defaultVisibility
	}
	d.NextEval = now.Add(d.frequency()).UnixMilli()
	if err := s.save(ctx, scope, id, d); err != nil {
		return nil, err
	}
	if err := s.st.PutResource(ctx, store.ResourceKey{Scope: indexScope, Kind: kindIndex, Name: indexName(scope, id)}, nil); err != nil {
		return nil, logs.StoreError(err)
	}
	s.kick()
	return &CreateOutput{AnomalyDetectorArn: d.AnomalyDetectorArn}, nil
}

func (s *Service) save(ctx context.Context, scope store.Scope, id string, d *Detector) error {
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return logs.StoreError(s.st.PutResource(ctx, detectorKey(scope, id), b))
}

func (s *Service) load(ctx context.Context, scope store.Scope, id string) (*Detector, error) {
	b, err := s.st.GetResource(ctx, detectorKey(scope, id))
	if errors.Is(err, store.ErrResourceNotFound) {
		return nil, awserr.DetectorNotFound()
	}
	if err != nil {
		return nil, logs.StoreError(err)
	}
	var d Detector
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// resolve authorizes action on arn and loads the detector.
func (s *Service) resolve(ctx context.Context, c caller.Caller, action, arn string) (store.Scope, string, *Detector, error) {
	scope := logs.Scope(c)
	if err := c.Authorize(action, arn); err != nil {
		return scope, "", nil, err
	}
	id, ok := detectorID(scope, arn)
	if !ok {
		return scope, "", nil, awserr.DetectorNotFound()
	}
	d, err := s.load(ctx, scope, id)
	return scope, id, d, err
}

type ArnInput struct {
	AnomalyDetectorArn string `json:"anomalyDetectorArn"`
}

// GetLogAnomalyDetector returns a detector (without its ARN, as AWS's
// response shape has none).
func (s *Service) GetLogAnomalyDetector(ctx context.Context, c caller.Caller, in *ArnInput) (*Detector, error) {
	_, _, d, err := s.resolve(ctx, c, "logs:GetLogAnomalyDetector", in.AnomalyDetectorArn)
	if err != nil {
		return nil, err
	}
	return d.wire(false), nil
}

type ListDetectorsInput struct {
	FilterLogGroupArn string `json:"filterLogGroupArn"`
	Limit             int    `json:"limit"`
	NextToken         string `json:"nextToken"`
}

type ListDetectorsOutput struct {
	AnomalyDetectors []*Detector `json:"anomalyDetectors"`
	NextToken        string      `json:"nextToken,omitempty"`
}

// ListLogAnomalyDetectors lists the account's detectors in id order.
func (s *Service) ListLogAnomalyDetectors(ctx context.Context, c caller.Caller, in *ListDetectorsInput) (*ListDetectorsOutput, error) {
	scope := logs.Scope(c)
	if err := c.Authorize("logs:ListLogAnomalyDetectors", "*"); err != nil {
		return nil, err
	}
	filter := strings.TrimSuffix(in.FilterLogGroupArn, ":*")
	limit := in.Limit
	if limit == 0 {
		limit = 50
	}
	out := &ListDetectorsOutput{AnomalyDetectors: []*Detector{}}
	var bad error
	err := s.st.ListResources(ctx, store.ResourceKey{Scope: scope, Kind: kindDetector}, "", in.NextToken, func(name string, v []byte) bool {
		var d Detector
		if bad = json.Unmarshal(v, &d); bad != nil {
			return false
		}
		if filter != "" && !containsGroup(d.LogGroupArnList, filter) {
			return true
		}
		if len(out.AnomalyDetectors) == limit {
			out.NextToken = out.AnomalyDetectors[limit-1].AnomalyDetectorArn[len(detectorARN(scope, "")):]
			return false
		}
		out.AnomalyDetectors = append(out.AnomalyDetectors, d.wire(true))
		return true
	})
	if err = errors.Join(err, bad); err != nil {
		return nil, logs.StoreError(err)
	}
	return out, nil
}

func containsGroup(list []string, arn string) bool {
	for _, a := range list {
		if strings.TrimSuffix(a, ":*") == arn {
			return true
		}
	}
	return false
}

type UpdateDetectorInput struct {
	AnomalyDetectorArn    string  `json:"anomalyDetectorArn"`
	EvaluationFrequency   string  `json:"evaluationFrequency"`
	FilterPattern         *string `json:"filterPattern"`
	AnomalyVisibilityTime int64   `json:"anomalyVisibilityTime"`
	Enabled               *bool   `json:"enabled"`
}

// UpdateLogAnomalyDetector changes a detector; enabled false pauses it
// (PAUSED), true resumes it (TRAINING until it has trained, then ANALYZING).
func (s *Service) UpdateLogAnomalyDetector(ctx context.Context, c caller.Caller, in *UpdateDetectorInput) (*struct{}, error) {
	s.detMu.Lock()
	defer s.detMu.Unlock()
	scope, id, d, err := s.resolve(ctx, c, "logs:UpdateLogAnomalyDetector", in.AnomalyDetectorArn)
	if err != nil {
		return nil, err
	}
	if err := s.checkPattern(in.FilterPattern); err != nil {
		return nil, err
	}
	if in.EvaluationFrequency != "" {
		d.EvaluationFrequency = in.EvaluationFrequency
	}
	if in.FilterPattern != nil {
		d.FilterPattern = in.FilterPattern
	}
	if in.AnomalyVisibilityTime != 0 {
		d.AnomalyVisibilityTime = in.AnomalyVisibilityTime
	}
	now := s.now()
	switch {
	case in.Enabled != nil && !*in.Enabled:
		d.AnomalyDetectorStatus = "PAUSED"
	case d.Trained:
		d.AnomalyDetectorStatus = "ANALYZING"
	default:
		d.AnomalyDetectorStatus = "TRAINING"
	}
	d.LastModifiedTimeStamp = now.UnixMilli()
	d.NextEval = now.Add(d.frequency()).UnixMilli()
	if err := s.save(ctx, scope, id, d); err != nil {
		return nil, err
	}
	s.mu.Lock()
	delete(s.states, id) // the filter or visibility may have changed: load the state again
	s.mu.Unlock()
	return &struct{}{}, nil
}

// DeleteLogAnomalyDetector deletes a detector, its anomalies and its cursor.
func (s *Service) DeleteLogAnomalyDetector(ctx context.Context, c caller.Caller, in *ArnInput) (*struct{}, error) {
	scope, id, d, err := s.resolve(ctx, c, "logs:DeleteLogAnomalyDetector", in.AnomalyDetectorArn)
	if err != nil {
		return nil, err
	}
	var names []string
	if err := s.st.ListResources(ctx, store.ResourceKey{Scope: scope, Kind: kindAnomaly}, id+"/", "", func(name string, _ []byte) bool {
		names = append(names, name)
		return true
	}); err != nil {
		return nil, logs.StoreError(err)
	}
	for _, n := range names {
		if err := s.st.DeleteResource(ctx, store.ResourceKey{Scope: scope, Kind: kindAnomaly, Name: n}); err != nil {
			return nil, logs.StoreError(err)
		}
	}
	for _, g := range d.LogGroupArnList {
		if name, err := logs.ResolveGroup(scope, "", g, nil); err == nil {
			s.st.DeleteCursor(ctx, scope, name, cursorName(id)) // the group may be gone, and the cursor with it
		}
	}
	if err := s.st.DeleteResource(ctx, stateKey(scope, id)); err != nil && !errors.Is(err, store.ErrResourceNotFound) {
		return nil, logs.StoreError(err)
	}
	if err := s.st.DeleteResource(ctx, detectorKey(scope, id)); err != nil {
		return nil, logs.StoreError(err)
	}
	if err := s.st.DeleteResource(ctx, store.ResourceKey{Scope: indexScope, Kind: kindIndex, Name: indexName(scope, id)}); err != nil {
		return nil, logs.StoreError(err)
	}
	s.mu.Lock()
	delete(s.states, id)
	s.mu.Unlock()
	return &struct{}{}, nil
}

func cursorName(id string) string { return "anomaly-detector/" + id }

// patternID is the 32-hex-digit id of a pattern of a detector.
func patternID(detector string, cluster int) string {
	h := md5.Sum([]byte(fmt.Sprintf("%s/%d", detector, cluster)))
	return hex.EncodeToString(h[:])
}

var _ = sort.Strings

// TaggableKinds are the ARN resource types of the family's records that
// TagResource, UntagResource and ListTagsForResource reach, with their store
// kinds (logs.Service.Taggable): a detector keeps its tags in "tags".
func TaggableKinds() map[string]string {
	return map[string]string{"anomaly-detector": kindDetector}
}
