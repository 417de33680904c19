// Package store is the contract between the logs service and a storage engine.
//
// The service (package logs) owns CloudWatch Logs semantics: validation, limits,
// tokens, error codes. An engine owns bytes on disk: it keeps log groups, log
// streams and events, answers ordered reads, and never knows about HTTP or AWS
// error codes. Two engines implement Store: the embedded one (package
// store/embedded, on Pebble) and, later, PostgreSQL; package store/storetest is
// the conformance suite both must pass.
//
// Data enters through Append (one PutLogEvents request's accepted events for one
// stream, already validated and in chronological order) and leaves through Read,
// which returns events in the global order (timestamp, arrival) that
// GetLogEvents and FilterLogEvents need, one bounded page at a time.
package store

import (
	"context"
	"errors"
	"fmt"
)

// Errors engines return. The service maps them to AWS errors.
var (
	ErrGroupNotFound  = errors.New("log group not found")
	ErrStreamNotFound = errors.New("log stream not found")
	ErrGroupExists    = errors.New("log group already exists")
	ErrStreamExists   = errors.New("log stream already exists")
	ErrClosed         = errors.New("store closed")
	// ErrNoSpace refuses a write while the engine's disk is (nearly) full;
	// reads and deletes still work.
	ErrNoSpace = errors.New("no space left for writes")
)

// Scope is where a resource lives: AWS keeps log groups per account and region.
type Scope struct {
	Account string
	Region  string
}

// Group is a log group. Stats fields are maintained by the engine.
type Group struct {
	Scope
	Name               string
	CreationTime       int64 // ms since epoch
	RetentionDays      int32 // 0: never expire
	Class              string
	KMSKeyID           string
	Tags               map[string]string
	DeletionProtection bool

	StoredBytes int64 // engine-maintained
}

// Stream is a log stream. Times are ms since epoch; 0 means "none yet".
type Stream struct {
	Name                string
	CreationTime        int64
	FirstEventTimestamp int64
	LastEventTimestamp  int64
	LastIngestionTime   int64
	StoredBytes         int64
}

// Event is one log event as it enters the store.
type Event struct {
	Timestamp int64
	Message   string
}

// Position is a point in a log group's global event order: events sort by
// timestamp, then by arrival (Seq, which engines hand out in commit order),
// then by their index within the request. Every stored event has a unique
// Position that never changes, so it doubles as the event's ID and as a
// pagination cursor.
type Position struct {
	Time  int64
	Seq   uint64
	Index uint32
}

// Less orders positions.
func (p Position) Less(q Position) bool {
	if p.Time != q.Time {
		return p.Time < q.Time
	}
	if p.Seq != q.Seq {
		return p.Seq < q.Seq
	}
	return p.Index < q.Index
}

// ID is the 56-digit decimal event ID FilterLogEvents returns (AWS's are 56
// digits too): 19 digits of timestamp, 20 of sequence, 17 of index.
func (p Position) ID() string {
	return fmt.Sprintf("%019d%020d%017d", p.Time, p.Seq, p.Index)
}

// ParseID is the inverse of ID.
func ParseID(s string) (Position, bool) {
	if len(s) != 56 {
		return Position{}, false
	}
	var p Position
	var t, seq, idx uint64
	for i, c := range []byte(s) {
		if c < '0' || c > '9' {
			return Position{}, false
		}
		d := uint64(c - '0')
		switch {
		case i < 19:
			t = t*10 + d
		case i < 39:
			if seq > (1<<64-1-d)/10 {
				return Position{}, false
			}
			seq = seq*10 + d
		default:
			idx = idx*10 + d
		}
	}
	if t > 1<<63-1 || idx > 1<<32-1 {
		return Position{}, false
	}
	p.Time, p.Seq, p.Index = int64(t), seq, uint32(idx)
	return p, true
}

// StoredEvent is an event as it leaves the store.
type StoredEvent struct {
	Stream        string
	Timestamp     int64
	IngestionTime int64
	Message       string
	Pos           Position
}

// Matcher decides whether a message matches a filter. It is satisfied by
// *pattern.Pattern; the store only needs the predicate and the literals every
// match contains (used to skip blocks whose summaries prove a literal absent).
type Matcher interface {
	Match(message string) bool
	// Required returns literals every matching message contains.
	Required() []string
	// RequiredUnlessEscaped returns literals every matching message that has
	// no backslash contains (JSON patterns: keys and values may be escaped).
	RequiredUnlessEscaped() []string
}

// Query is one page's worth of reading from a log group.
type Query struct {
	Group Scope
	Name  string

	// Streams selects streams by exact name; StreamPrefix by prefix. Both
	// empty: every stream of the group. (The service rejects both set.)
	Streams      []string
	StreamPrefix string

	// Start is inclusive, End exclusive; End 0 means no upper bound.
	Start, End int64

	// After resumes a previous page: only events strictly after it (forward)
	// or strictly before it (Backward) are returned.
	After    *Position
	Backward bool

	Filter Matcher // nil: every event

	Limit    int // events per page, ≥ 1
	MaxBytes int // page budget: Σ(len(message)+26); one event always fits

	// ScanBudget bounds the raw message bytes examined for one page, so that a
	// filter that matches nothing returns an empty page with a cursor instead
	// of scanning the whole group at once. 0: no bound.
	ScanBudget int64
}

// Page is the result of a Read.
type Page struct {
	Events []StoredEvent
	// Next is where the next page starts (pass it as Query.After); nil when the
	// read reached the end of its range.
	Next *Position
	// Scanned counts what the read examined, for statistics.
	ScannedEvents int64
	ScannedBytes  int64
	SkippedBlocks int64
}

// AppendResult reports what Append stored.
type AppendResult struct {
	Seq uint64 // the arrival sequence of this request's events
}

// Store is what the logs service needs from an engine. All methods are safe for
// concurrent use. Append returns only after the events are durable.
type Store interface {
	CreateGroup(ctx context.Context, g Group) error
	DeleteGroup(ctx context.Context, scope Scope, name string) error
	GetGroup(ctx context.Context, scope Scope, name string) (Group, error)
	// UpdateGroup applies fn to the group's settings atomically. fn must not
	// change Name or Scope.
	UpdateGroup(ctx context.Context, scope Scope, name string, fn func(*Group) error) error
	// ListGroups calls fn for groups whose name starts with prefix and sorts
	// after `after`, in ascending byte order, until fn returns false.
	ListGroups(ctx context.Context, scope Scope, prefix, after string, fn func(Group) bool) error

	CreateStream(ctx context.Context, scope Scope, group string, s Stream) error
	DeleteStream(ctx context.Context, scope Scope, group, stream string) error
	GetStream(ctx context.Context, scope Scope, group, stream string) (Stream, error)
	// ListStreams calls fn for streams whose name starts with prefix and sorts
	// after `after`, in ascending byte order, until fn returns false.
	ListStreams(ctx context.Context, scope Scope, group, prefix, after string, fn func(Stream) bool) error

	// Append stores events (chronological, at least one) for one stream with
	// the given ingestion time, durably, before returning.
	Append(ctx context.Context, scope Scope, group, stream string, events []Event, ingestionTime int64) (AppendResult, error)

	// Read returns one page of events in (timestamp, arrival) order.
	Read(ctx context.Context, q Query) (Page, error)

	Close() error
}
