// Package transformer is the log-transformer family of CloudWatch Logs
// operations (PutTransformer, GetTransformer, DeleteTransformer,
// TestTransformer) and the ingest stage that applies a group's transformer
// to every event PutLogEvents stores.
//
// A group-level transformer is a store resource record of the group (kind
// "transformer"), deleted with it. At ingest, Stage looks up the group's
// effective transformer (its own, else Config.AccountLevel: the
// TRANSFORMER_POLICY account policy the lead wires in), compiles it once
// (package transform; compiled configurations are cached by their text) and
// transforms each event of the batch.
//
// What is stored follows AWS's documentation (CloudWatch-Logs-Transformation:
// "Both original and transformed logs are stored in CloudWatch Logs with the
// same retention policy"; "The GetLogEvents and FilterLogEvents actions
// return only the original versions of the log events, before they were
// transformed"; Insights, field indexes, and metric and subscription filters
// created with applyOnTransformedLogs read the transformed version). So the
// batch's events are stored unchanged, and the transformed versions are kept
// beside them once the append is durable (AfterStore), as one resource
// record of the group per append (kind "transformed", named by the append's
// feed sequence). Transformed returns them by sequence for the consumers
// that want the transformed view (Insights, applyOnTransformedLogs filters),
// which read blocks by sequence anyway (Scan, ReadFeed); Transforms tells
// Insights which groups to read that way. Live Tail, like GetLogEvents and
// FilterLogEvents, shows the original: AWS documents the transformed
// versions only for queries and the applyOnTransformedLogs filters.
package transformer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/expiry"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/transform"
)

// Resource kinds this family keeps.
const (
	kindTransformer = "transformer"
	kindTransformed = "transformed"
	recordName      = "transformer"
)

// Config configures a Service.
type Config struct {
	Store store.Store
	Now   func() time.Time
	// AccountLevel returns the account-level transformer configuration that
	// applies to group (a TRANSFORMER_POLICY account policy's processors),
	// or nil when none does. nil: no account-level transformers. A
	// group-level transformer always wins over it (PutTransformer docs).
	AccountLevel func(ctx context.Context, scope store.Scope, group string) ([]transform.Processor, error)
}

// Service implements the transformer operations and the ingest stage.
type Service struct {
	st           store.Store
	now          func() time.Time
	accountLevel func(ctx context.Context, scope store.Scope, group string) ([]transform.Processor, error)

	mu    sync.Mutex
	cache map[string]*transform.Transformer // by configuration JSON

	// In-flight appends whose transformed record is not written yet (see
	// Transformed): by ticket, the group; changed is closed and replaced
	// whenever one ends.
	// expiry deletes transformed records whose events expired (Expiry).
	expiry *expiry.Sweeper

	pmu     sync.Mutex
	ticket  uint64
	pending map[uint64]pendingKey
	changed chan struct{}
}

type pendingKey struct {
	scope store.Scope
	group string
}

// maxCached bounds the compiled-configuration cache; past it the cache is
// emptied (configurations change rarely; a recompile is cheap).
const maxCached = 1024

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{st: cfg.Store, now: cfg.Now, accountLevel: cfg.AccountLevel, cache: map[string]*transform.Transformer{},
		pending: map[uint64]pendingKey{}, changed: make(chan struct{}), expiry: expiry.New(cfg.Store, kindTransformed, nil)}
}

// Expiry is the sweeper that deletes the transformed versions of appends
// gone from the feed (retention, deleted streams): the server runs it as a
// worker (Start, Close); tests call its Sweep.
func (s *Service) Expiry() *expiry.Sweeper { return s.expiry }

// Register adds the family's operations to t.
func (s *Service) Register(t *protocol.Table) {
	t.Add("PutTransformer", protocol.Decoded(s.PutTransformer))
	t.Add("GetTransformer", protocol.Decoded(s.GetTransformer))
	t.Add("DeleteTransformer", protocol.Decoded(s.DeleteTransformer))
	t.Add("TestTransformer", protocol.Decoded(s.TestTransformer))
}

// record is the stored group-level transformer.
type record struct {
	CreationTime     int64                 `json:"creationTime"`
	LastModifiedTime int64                 `json:"lastModifiedTime"`
	Config           []transform.Processor `json:"transformerConfig"`
}

type PutTransformerInput struct {
	LogGroupIdentifier string                `json:"logGroupIdentifier"`
	TransformerConfig  []transform.Processor `json:"transformerConfig"`
}

type GroupInput struct {
	LogGroupIdentifier string `json:"logGroupIdentifier"`
}

type GetTransformerOutput struct {
	LogGroupIdentifier string                `json:"logGroupIdentifier"`
	CreationTime       int64                 `json:"creationTime"`
	LastModifiedTime   int64                 `json:"lastModifiedTime"`
	TransformerConfig  []transform.Processor `json:"transformerConfig"`
}

type TestTransformerInput struct {
	TransformerConfig []transform.Processor `json:"transformerConfig"`
	LogEventMessages  []string              `json:"logEventMessages"`
}

type TransformedLogRecord struct {
	EventNumber             int64  `json:"eventNumber"`
	EventMessage            string `json:"eventMessage"`
	TransformedEventMessage string `json:"transformedEventMessage"`
}

type TestTransformerOutput struct {
	TransformedLogs []TransformedLogRecord `json:"transformedLogs"`
}

// compile checks and compiles a configuration with AWS's error.
func (s *Service) compile(procs []transform.Processor) (*transform.Transformer, error) {
	t, err := transform.Compile(procs)
	var ce *transform.ConfigError
	if errors.As(err, &ce) {
		return nil, awserr.InvalidTransformer(ce.Message)
	}
	return t, err
}

// group resolves a logGroupIdentifier (name or ARN) and authorizes action.
func (s *Service) group(ctx context.Context, c caller.Caller, action, identifier string) (store.Scope, store.Group, error) {
	scope := logs.Scope(c)
	name, err := logs.ResolveGroup(scope, "", identifier, nil)
	if err != nil {
		return scope, store.Group{}, err
	}
	if err := c.Authorize(action, logs.GroupResource(scope, name)); err != nil {
		return scope, store.Group{}, err
	}
	g, err := s.st.GetGroup(ctx, scope, name)
	if err != nil {
		return scope, g, logs.StoreError(err)
	}
	return scope, g, nil
}

func key(scope store.Scope, group string) store.ResourceKey {
	return store.ResourceKey{Scope: scope, Group: group, Kind: kindTransformer, Name: recordName}
}

// PutTransformer creates or replaces a group's transformer; creationTime is
// kept on a replace.
func (s *Service) PutTransformer(ctx context.Context, c caller.Caller, in *PutTransformerInput) (*struct{}, error) {
	scope, g, err := s.group(ctx, c, "logs:PutTransformer", in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if _, err := s.compile(in.TransformerConfig); err != nil {
		return nil, err
	}
	if g.Class != "" && g.Class != "STANDARD" {
		return nil, awserr.TransformerClass()
	}
	now := s.now().UnixMilli()
	rec := record{CreationTime: now, LastModifiedTime: now, Config: in.TransformerConfig}
	if old, err := s.load(ctx, scope, g.Name); err == nil {
		rec.CreationTime = old.CreationTime
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	if err := s.st.PutResource(ctx, key(scope, g.Name), b); err != nil {
		return nil, logs.StoreError(err)
	}
	return &struct{}{}, nil
}

func (s *Service) load(ctx context.Context, scope store.Scope, group string) (record, error) {
	var rec record
	b, err := s.st.GetResource(ctx, key(scope, group))
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("transformer record of %s: %w", group, err)
	}
	return rec, nil
}

// GetTransformer returns the group-level transformer only (account-level ones
// are DescribeAccountPolicies').
func (s *Service) GetTransformer(ctx context.Context, c caller.Caller, in *GroupInput) (*GetTransformerOutput, error) {
	scope, g, err := s.group(ctx, c, "logs:GetTransformer", in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	rec, err := s.load(ctx, scope, g.Name)
	if errors.Is(err, store.ErrResourceNotFound) {
		return nil, awserr.TransformerNotFound()
	}
	if err != nil {
		return nil, logs.StoreError(err)
	}
	// "The ARN of the log group that you specified" (model): the group's
	// ARN, whichever form the caller used.
	return &GetTransformerOutput{LogGroupIdentifier: logs.GroupARN(scope, g.Name), CreationTime: rec.CreationTime,
		LastModifiedTime: rec.LastModifiedTime, TransformerConfig: rec.Config}, nil
}

// DeleteTransformer removes the group's transformer; transformation stops at
// once (an account-level one, if any applies, takes over).
func (s *Service) DeleteTransformer(ctx context.Context, c caller.Caller, in *GroupInput) (*struct{}, error) {
	scope, g, err := s.group(ctx, c, "logs:DeleteTransformer", in.LogGroupIdentifier)
	if err != nil {
		return nil, err
	}
	if _, err := s.st.GetResource(ctx, key(scope, g.Name)); errors.Is(err, store.ErrResourceNotFound) {
		return nil, awserr.TransformerNotFound()
	} else if err != nil {
		return nil, logs.StoreError(err)
	}
	if err := s.st.DeleteResource(ctx, key(scope, g.Name)); err != nil {
		return nil, logs.StoreError(err)
	}
	return &struct{}{}, nil
}

// TestTransformer runs a configuration over sample messages, validating it
// exactly as PutTransformer does. A message a processor fails on is still
// answered, with what was built and @transformationError. There is no log
// group: copyValue's metadata keys read the caller's account and region and
// empty group and stream names.
func (s *Service) TestTransformer(ctx context.Context, c caller.Caller, in *TestTransformerInput) (*TestTransformerOutput, error) {
	if err := c.Authorize("logs:TestTransformer", "*"); err != nil {
		return nil, err
	}
	t, err := s.compile(in.TransformerConfig)
	if err != nil {
		return nil, err
	}
	out := &TestTransformerOutput{TransformedLogs: make([]TransformedLogRecord, 0, len(in.LogEventMessages))}
	meta := transform.Metadata{AccountID: c.Account, Region: c.Region}
	for i, m := range in.LogEventMessages {
		b, _ := t.Apply(m, meta)
		out.TransformedLogs = append(out.TransformedLogs, TransformedLogRecord{EventNumber: int64(i + 1), EventMessage: m,
			TransformedEventMessage: string(b)})
	}
	return out, nil
}

// Effective returns the compiled transformer that applies to group, or nil:
// the group's own, else the account-level one.
func (s *Service) Effective(ctx context.Context, scope store.Scope, group string) (*transform.Transformer, error) {
	var procs []transform.Processor
	raw, err := s.st.GetResource(ctx, key(scope, group))
	switch {
	case err == nil:
		if t := s.cached(string(raw)); t != nil {
			return t, nil
		}
		var rec record
		if err := json.Unmarshal(raw, &rec); err != nil {
			return nil, err
		}
		procs = rec.Config
	case errors.Is(err, store.ErrResourceNotFound):
		if s.accountLevel == nil {
			return nil, nil
		}
		if procs, err = s.accountLevel(ctx, scope, group); err != nil || procs == nil {
			return nil, err
		}
		b, _ := json.Marshal(procs)
		raw = b
		if t := s.cached(string(raw)); t != nil {
			return t, nil
		}
	default:
		return nil, err
	}
	t, err := transform.Compile(procs)
	if err != nil {
		return nil, err // stored configurations were checked when put
	}
	s.mu.Lock()
	if len(s.cache) >= maxCached {
		clear(s.cache)
	}
	s.cache[string(raw)] = t
	s.mu.Unlock()
	return t, nil
}

func (s *Service) cached(k string) *transform.Transformer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cache[k]
}

// Stage is the ingest stage: it transforms each event of a batch for a group
// with an effective transformer and keeps the transformed versions beside the
// stored (unchanged) events. Wire it in logs.Config.Ingest before data
// protection. The transformation itself runs once the batch is durable, on
// what was stored, so a message data protection masked is transformed
// masked: the transformed versions (read by applyOnTransformedLogs filters,
// which deliver and count them) never hold what masking removed.
func (s *Service) Stage() logs.IngestStage {
	return logs.IngestFunc(func(ctx context.Context, c caller.Caller, b *logs.IngestBatch) error {
		if b.Group.Class != "" && b.Group.Class != "STANDARD" {
			return nil // transformation is for the Standard class only
		}
		t, err := s.Effective(ctx, b.Scope, b.Group.Name)
		if err != nil || t == nil {
			return err
		}
		scope, group := b.Scope, b.Group.Name
		ticket := s.begin(scope, group)
		b.Finally(func() { s.end(ticket) })
		b.AfterStore(func(ctx context.Context, res store.AppendResult) error {
			meta := transform.Metadata{LogGroupName: group, LogStreamName: b.Stream, AccountID: scope.Account, Region: scope.Region}
			// One record per append: [len msg]... lengths as uvarints.
			// The transformed versions are about twice the messages' size
			// (parsed copies beside the keys), so that is the first guess.
			n := 0
			for _, e := range b.Events {
				n += len(e.Message)
			}
			buf, tmp := make([]byte, 0, 2*n+16*len(b.Events)), []byte(nil)
			for _, e := range b.Events {
				tmp, _ = t.AppendApply(tmp[:0], e.Message, meta)
				buf = appendUvarint(buf, uint64(len(tmp)))
				buf = append(buf, tmp...)
			}
			if err := s.expiry.Note(ctx, scope, group); err != nil {
				return err
			}
			return s.st.PutResource(ctx, transformedKey(scope, group, res.Seq), buf)
		})
		return nil
	})
}

// begin announces an append of group whose transformed record is coming.
func (s *Service) begin(scope store.Scope, group string) uint64 {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	s.ticket++
	s.pending[s.ticket] = pendingKey{scope, group}
	return s.ticket
}

// end retires a ticket (the record is written, or the request failed).
func (s *Service) end(ticket uint64) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	delete(s.pending, ticket)
	close(s.changed)
	s.changed = make(chan struct{})
}

// inFlight reports whether an append of group announced before ticket hi
// is still in flight, and a channel closed when one ends.
func (s *Service) inFlight(scope store.Scope, group string, hi uint64) (bool, <-chan struct{}) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	for t, k := range s.pending {
		if t <= hi && k.scope == scope && k.group == group {
			return true, s.changed
		}
	}
	return false, s.changed
}

func transformedKey(scope store.Scope, group string, seq uint64) store.ResourceKey {
	return store.ResourceKey{Scope: scope, Group: group, Kind: kindTransformed, Name: fmt.Sprintf("%020d", seq)}
}

// Transformed returns the transformed versions of the events of the
// append with feed sequence seq (StoredEvent.Pos.Seq), in the order of the
// append's events (Pos.Index), or nil when that append was not transformed.
//
// A follower of the feed can see an append before its transformed record is
// written (the record is written once the append is durable, and the feed
// shows it as soon as it is). So when the record is missing, Transformed
// waits for the group's appends in flight at the time of the call to finish
// (each is one resource write away), then looks again. An append whose
// server was killed between the two writes has no record: its events are
// read untransformed.
func (s *Service) Transformed(ctx context.Context, scope store.Scope, group string, seq uint64) ([]string, error) {
	s.pmu.Lock()
	hi := s.ticket
	s.pmu.Unlock()
	for {
		b, err := s.st.GetResource(ctx, transformedKey(scope, group, seq))
		if err == nil {
			return decodeTransformed(b, group, seq)
		}
		if !errors.Is(err, store.ErrResourceNotFound) {
			return nil, err
		}
		busy, changed := s.inFlight(scope, group, hi)
		if !busy {
			// Re-read: the last in-flight append may have written it
			// between the read above and the check.
			b, err := s.st.GetResource(ctx, transformedKey(scope, group, seq))
			if errors.Is(err, store.ErrResourceNotFound) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			return decodeTransformed(b, group, seq)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-changed:
		}
	}
}

// Transforms reports whether group has transformed versions kept, or an
// effective transformer that may write some (what a reader of transformed
// versions, Insights, needs to know before it reads the group).
func (s *Service) Transforms(ctx context.Context, scope store.Scope, group string) (bool, error) {
	if t, err := s.Effective(ctx, scope, group); err != nil || t != nil {
		return t != nil, err
	}
	found := false
	err := s.st.ListResources(ctx, store.ResourceKey{Scope: scope, Group: group, Kind: kindTransformed}, "", "", func(string, []byte) bool {
		found = true
		return false
	})
	if errors.Is(err, store.ErrGroupNotFound) {
		return false, nil
	}
	return found, err
}

func decodeTransformed(b []byte, group string, seq uint64) ([]string, error) {
	var out []string
	for len(b) > 0 {
		n, w := uvarint(b)
		if w <= 0 || uint64(len(b)-w) < n {
			return nil, fmt.Errorf("transformed record %d of %s is corrupt", seq, group)
		}
		out = append(out, string(b[w:w+int(n)]))
		b = b[w+int(n):]
	}
	return out, nil
}

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func uvarint(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b) && i < 10; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return v, i + 1
		}
	}
	return 0, -1
}

// Processor and Metadata are package transform's, re-exported for callers
// that wire account-level configurations (AccountLevel).
type (
	Processor = transform.Processor
	Metadata  = transform.Metadata
)
