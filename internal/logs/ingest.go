package logs

import (
	"context"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/store"
)

// Ingest-time processing (transformers, data protection) plugs in here.
//
// PutLogEvents validates a request, drops the events AWS rejects (too old,
// expired, too new), and hands what remains to each IngestStage in the order
// Config.Ingest lists them, then appends the batch. A stage rewrites the
// batch in place (a masked message, a transformed event) or refuses the whole
// request with an AWS error; what it leaves in Events is what is stored,
// indexed, tailed, delivered and counted. A stage that must keep something
// beside the stored events (a data protection policy's unmasked originals)
// registers WithRecords, whose resource records (keyed by the append's feed
// sequence) are written in the append's own commit where the engine can
// (store.RecordAppender), by PutResource right after it elsewhere; and a
// stage registers AfterStore for what runs once the append is durable, with
// its feed sequence. An error in either fails the request (the client
// retries, and the events may then be stored twice, as on any failed
// PutLogEvents).

// IngestBatch is one PutLogEvents request's accepted events for one stream,
// on their way to the store.
type IngestBatch struct {
	Scope         store.Scope
	Group         store.Group // the group as it is now (name, class, settings)
	Stream        string
	IngestionTime int64 // ms since epoch; the same for every event
	// Events are chronological. A stage may change messages; it must keep
	// timestamps and the order (the store's order and eventIds rest on them).
	// Events may be the caller's own slice (PutLogEvents passes its input's
	// events without a copy), so a stage that changes messages writes them
	// into a copy it assigns to Events, never into the slice it was given.
	Events []store.Event

	records []func(seq uint64) ([]store.ResourceRecord, error)
	after   []func(context.Context, store.AppendResult) error
	finally []func()
}

// WithRecords registers fn, which returns resource records of the batch's
// group to store with the batch, given its feed sequence: in the same commit
// as the events on an engine that can (store.RecordAppender), else by
// PutResource once they are durable, before the AfterStore functions.
func (b *IngestBatch) WithRecords(fn func(seq uint64) ([]store.ResourceRecord, error)) {
	b.records = append(b.records, fn)
}

// Finally registers fn to run when the request's handling of the batch ends,
// stored or not (a stage that announced work in progress ends it there).
func (b *IngestBatch) Finally(fn func()) { b.finally = append(b.finally, fn) }

// AfterStore registers fn to run once the batch is durable.
func (b *IngestBatch) AfterStore(fn func(ctx context.Context, res store.AppendResult) error) {
	b.after = append(b.after, fn)
}

// IngestStage processes a batch before it is stored. c is the writer.
type IngestStage interface {
	Ingest(ctx context.Context, c caller.Caller, b *IngestBatch) error
}

// IngestFunc adapts a function to IngestStage.
type IngestFunc func(ctx context.Context, c caller.Caller, b *IngestBatch) error

// Ingest implements IngestStage.
func (f IngestFunc) Ingest(ctx context.Context, c caller.Caller, b *IngestBatch) error {
	return f(ctx, c, b)
}

// ingest runs the stages over batch, appends it, and runs the AfterStore
// functions. With no stages it is a plain Append.
func (s *Service) ingest(ctx context.Context, c caller.Caller, scope store.Scope, g store.Group, stream string, batch []store.Event, now int64) (store.AppendResult, error) {
	if len(s.stages) == 0 {
		return s.st.Append(ctx, scope, g.Name, stream, batch, now)
	}
	b := &IngestBatch{Scope: scope, Group: g, Stream: stream, IngestionTime: now, Events: batch}
	defer func() {
		for _, fn := range b.finally {
			fn()
		}
	}()
	for _, st := range s.stages {
		if err := st.Ingest(ctx, c, b); err != nil {
			return store.AppendResult{}, err
		}
	}
	res, err := s.appendBatch(ctx, b, now)
	if err != nil {
		return res, err
	}
	for _, fn := range b.after {
		if err := fn(ctx, res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// appendBatch appends b's events and the records its stages registered.
func (s *Service) appendBatch(ctx context.Context, b *IngestBatch, now int64) (store.AppendResult, error) {
	if len(b.records) == 0 {
		return s.st.Append(ctx, b.Scope, b.Group.Name, b.Stream, b.Events, now)
	}
	all := func(seq uint64) ([]store.ResourceRecord, error) {
		var recs []store.ResourceRecord
		for _, fn := range b.records {
			r, err := fn(seq)
			if err != nil {
				return nil, err
			}
			recs = append(recs, r...)
		}
		return recs, nil
	}
	if ra, ok := s.st.(store.RecordAppender); ok {
		return ra.AppendWith(ctx, b.Scope, b.Group.Name, b.Stream, b.Events, now, all)
	}
	res, err := s.st.Append(ctx, b.Scope, b.Group.Name, b.Stream, b.Events, now)
	if err != nil {
		return res, err
	}
	recs, err := all(res.Seq)
	if err != nil {
		return res, err
	}
	for _, r := range recs {
		if err := s.st.PutResource(ctx, r.Key, r.Value); err != nil {
			return res, err
		}
	}
	return res, nil
}

// Unmasker swaps the unmasked originals back into events read with
// unmask=true (GetLogEvents, FilterLogEvents), once the caller was allowed
// logs:Unmask on the group. It replaces Message in place where an original
// is kept and leaves every other event as it is. Data protection provides
// it (Config.Unmasker); without one nothing was masked, so there is nothing
// to swap.
type Unmasker interface {
	Unmask(ctx context.Context, scope store.Scope, group string, events []store.StoredEvent) error
}

// unmask authorizes logs:Unmask and swaps the originals into evs.
func (s *Service) unmask(ctx context.Context, c caller.Caller, scope store.Scope, group string, evs []store.StoredEvent) error {
	if s.unmasker == nil || len(evs) == 0 {
		return nil
	}
	return s.unmasker.Unmask(ctx, scope, group, evs)
}
