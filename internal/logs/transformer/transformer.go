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
// batch's events are stored unchanged, and once the append is durable
// (AfterStore) one resource record of the group per append (kind
// "transformed", named by the append's feed sequence) names the
// configuration that applied to it. Transformed returns the versions by
// sequence for the consumers that want the transformed view (Insights,
// applyOnTransformedLogs filters), which read blocks by sequence anyway
// (Scan, ReadFeed), computing each from the stored message when asked
// (lazyRecord says why); Transforms tells Insights which groups to read
// that way. Live Tail, like GetLogEvents and
// FilterLogEvents, shows the original: AWS documents the transformed
// versions only for queries and the applyOnTransformedLogs filters.
package transformer

import (
	"context"
	"encoding/binary"
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

// Kind is the kind of a group's transformer record: an engine with a
// resource cache caches it (the ingest stage reads it every batch).
const Kind = kindTransformer

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
	// g is the group as the batch read it (store.GetResourceAsOf).
	AccountLevel func(ctx context.Context, g store.Group) ([]transform.Processor, error)
}

// Service implements the transformer operations and the ingest stage.
type Service struct {
	st           store.Store
	now          func() time.Time
	accountLevel func(ctx context.Context, g store.Group) ([]transform.Processor, error)

	mu    sync.Mutex
	cache map[string]compiled // by configuration JSON (the stored record, or the processors)

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
	return &Service{st: cfg.Store, now: cfg.Now, accountLevel: cfg.AccountLevel, cache: map[string]compiled{},
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
	t, _, err := s.effective(ctx, store.Group{Scope: scope, Name: group})
	return t, err
}

// compiled is a cache entry: the transformer and its configuration as the
// JSON of its processors (what a transformed record names).
type compiled struct {
	t     *transform.Transformer
	procs string
}

// effective is Effective with the configuration's processors as JSON, for
// group g as the batch read it (its records read as of g:
// store.GetResourceAsOf).
func (s *Service) effective(ctx context.Context, g store.Group) (*transform.Transformer, string, error) {
	var procs []transform.Processor
	raw, err := store.GetResourceAsOf(ctx, s.st, g, key(g.Scope, g.Name))
	switch {
	case err == nil:
		if c, ok := s.cached(string(raw)); ok {
			return c.t, c.procs, nil
		}
		var rec record
		if err := json.Unmarshal(raw, &rec); err != nil {
			return nil, "", err
		}
		procs = rec.Config
	case errors.Is(err, store.ErrResourceNotFound):
		if s.accountLevel == nil {
			return nil, "", nil
		}
		if procs, err = s.accountLevel(ctx, g); err != nil || procs == nil {
			return nil, "", err
		}
		b, _ := json.Marshal(procs)
		raw = b
		if c, ok := s.cached(string(raw)); ok {
			return c.t, c.procs, nil
		}
	default:
		return nil, "", err
	}
	t, err := transform.Compile(procs)
	if err != nil {
		return nil, "", err // stored configurations were checked when put
	}
	b, err := json.Marshal(procs)
	if err != nil {
		return nil, "", err
	}
	c := compiled{t: t, procs: string(b)}
	s.mu.Lock()
	if len(s.cache) >= maxCached {
		clear(s.cache)
	}
	s.cache[string(raw)] = c
	s.cache[c.procs] = c // what Transformed looks up
	s.mu.Unlock()
	return t, c.procs, nil
}

func (s *Service) cached(k string) (compiled, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cache[k]
	return c, ok
}

// compiledFor returns the compiled transformer of a transformed record's
// configuration (the JSON of its processors).
func (s *Service) compiledFor(procs string) (*transform.Transformer, error) {
	if c, ok := s.cached(procs); ok {
		return c.t, nil
	}
	var ps []transform.Processor
	if err := json.Unmarshal([]byte(procs), &ps); err != nil {
		return nil, err
	}
	t, err := transform.Compile(ps)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if len(s.cache) >= maxCached {
		clear(s.cache)
	}
	s.cache[procs] = compiled{t: t, procs: procs}
	s.mu.Unlock()
	return t, nil
}

// Stage is the ingest stage: for a batch of a group with an effective
// transformer it records, once the batch is durable, which configuration
// transforms the append's (unchanged, stored) events. Wire it in
// logs.Config.Ingest before data protection. The transformation itself
// runs on what was stored (Transformed), so a message data protection
// masked is transformed masked: the transformed versions (read by
// applyOnTransformedLogs filters, which deliver and count them) never hold
// what masking removed.
func (s *Service) Stage() logs.IngestStage {
	return logs.IngestFunc(func(ctx context.Context, c caller.Caller, b *logs.IngestBatch) error {
		if b.Group.Class != "" && b.Group.Class != "STANDARD" {
			return nil // transformation is for the Standard class only
		}
		t, procs, err := s.effective(ctx, b.Group)
		if err != nil || t == nil {
			return err
		}
		scope, group := b.Scope, b.Group.Name
		ticket := s.begin(scope, group)
		b.Finally(func() { s.end(ticket) })
		n := len(b.Events)
		b.AfterStore(func(ctx context.Context, res store.AppendResult) error {
			if err := s.expiry.Note(ctx, scope, group); err != nil {
				return err
			}
			return s.st.PutResource(ctx, transformedKey(scope, group, res.Seq), lazyRecord(n, procs))
		})
		return nil
	})
}

// The transformed record of an append. A transformed version is a
// function of the stored message, the event's metadata (group, stream,
// account, region) and the configuration, and of nothing else (no
// processor reads a clock or a random source): so rather than the versions
// themselves, about twice the messages' size, written (and compacted) at
// ingest, the record names the configuration that applied when the append
// was ingested, and Transformed computes each version from the stored
// message when a reader asks. What readers see is the same; ingest no
// longer pays for the transformation (a change of the group's transformer
// later does not change the versions of appends already stored, as the
// record keeps the configuration).
//
// Formats: lazy (this one): a 0 byte, the append's event count (uvarint),
// the JSON of the processors. Eager (what earlier versions wrote, still
// read): for each event, uvarint length and the transformed JSON; its
// first byte is never 0 (a JSON object is at least two bytes).
func lazyRecord(n int, procs string) []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(procs))
	b = append(b, 0)
	b = appendUvarint(b, uint64(n))
	return append(b, procs...)
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

// Versions gives the transformed version of an event of one append (an
// event of that append: its Pos.Seq is the append's), and false when the
// event has none. It is for one goroutine: a lazy record's versions are
// computed in a buffer it reuses.
type Versions = func(ev store.StoredEvent) (string, bool)

// Transformed returns the transformed versions of the events of the
// append with feed sequence seq (StoredEvent.Pos.Seq), or nil when that
// append was not transformed.
//
// A follower of the feed can see an append before its transformed record is
// written (the record is written once the append is durable, and the feed
// shows it as soon as it is). So when the record is missing, Transformed
// waits for the group's appends in flight at the time of the call to finish
// (each is one resource write away), then looks again. An append whose
// server was killed between the two writes has no record: its events are
// read untransformed.
func (s *Service) Transformed(ctx context.Context, scope store.Scope, group string, seq uint64) (Versions, error) {
	s.pmu.Lock()
	hi := s.ticket
	s.pmu.Unlock()
	for {
		b, err := s.st.GetResource(ctx, transformedKey(scope, group, seq))
		if err == nil {
			return s.versions(b, scope, group, seq)
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
			return s.versions(b, scope, group, seq)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-changed:
		}
	}
}

// versions decodes a transformed record (lazyRecord says its formats).
func (s *Service) versions(b []byte, scope store.Scope, group string, seq uint64) (Versions, error) {
	if len(b) == 0 || b[0] != 0 {
		out, err := decodeTransformed(b, group, seq)
		if err != nil {
			return nil, err
		}
		return func(ev store.StoredEvent) (string, bool) {
			if k := int(ev.Pos.Index); k < len(out) {
				return out[k], true
			}
			return "", false
		}, nil
	}
	n, w := uvarint(b[1:])
	if w <= 0 {
		return nil, fmt.Errorf("transformed record %d of %s is corrupt", seq, group)
	}
	t, err := s.compiledFor(string(b[1+w:]))
	if err != nil {
		return nil, fmt.Errorf("transformed record %d of %s: %w", seq, group, err)
	}
	meta := transform.Metadata{LogGroupName: group, AccountID: scope.Account, Region: scope.Region}
	var buf []byte
	return func(ev store.StoredEvent) (string, bool) {
		if uint64(ev.Pos.Index) >= n {
			return "", false
		}
		meta.LogStreamName = ev.Stream
		buf, _ = t.AppendApply(buf[:0], ev.Message, meta)
		return string(buf), true
	}, nil
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
