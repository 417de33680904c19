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
// stream, already validated and in chronological order). It leaves by three
// roads, each for its own kind of reader:
//
//   - Read returns events in the global order (timestamp, arrival) that
//     GetLogEvents and FilterLogEvents need, one bounded page at a time
//     (a ReadRequest in, a Page out).
//   - Scan pushes every matching event of one or many groups, block by block,
//     to a callback; the engine skips blocks the request's time range, stream
//     set and the filter's required literals rule out, decodes the rest in
//     parallel and holds only a bounded number of blocks at once. Logs
//     Insights, exports and bulk reads sit on it.
//   - ReadFeed returns a group's blocks in commit order after a feed position
//     (a Seq). The engine keeps a high-water mark that never passes a sequence
//     still being committed, so a follower that resumes from the last Seq it
//     saw never misses an event. Subscription filters, metric filters and
//     cross-node live tail follow it, keeping their place in a durable Cursor
//     advanced only after their destination acknowledged.
//
// Subscribe tells listeners (the Live Tail hub, feed followers) that a group
// grew, after the events are durable. Resources (metric filters, subscription
// filters, destinations, policies, query definitions, export tasks...) are
// opaque records the control plane keeps per account and region, or per log
// group, with the same durability as events.
package store

import (
	"context"
	"errors"
	"fmt"
	"math"
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
	ErrNoSpace        = errors.New("no space left for writes")
	ErrCursorNotFound = errors.New("cursor not found")
	// ErrResourceNotFound: no resource record with that key.
	ErrResourceNotFound = errors.New("resource not found")
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

	// Resources is the engine's version of the group's resource records,
	// and of its account's, as they were when GetGroup read this Group
	// (ResourceCache); zero from an engine without one, and from every
	// other method.
	Resources ResourceVersion
}

// ResourceVersion is an engine's version of a group's resource records and
// its account's. Its fields mean what the engine that set them says
// (the PostgreSQL engine: the group's row id and two generations);
// callers only hand it back, in the Group given to GetResourceAsOf. The
// zero value is no version: reads under it go to the store.
type ResourceVersion struct {
	ID, Group, Account int64
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

// StreamListing orders and resumes ListStreamsOrdered.
type StreamListing struct {
	// Prefix keeps only names that start with it (in time order the engine
	// filters as it walks, so a rare prefix there costs a long walk; the
	// service refuses that combination, as AWS does).
	Prefix string
	// ByLastEventTime orders by (LastEventTimestamp, Name) instead of Name;
	// streams without events have LastEventTimestamp 0 and come first.
	// The Stream fn receives then carries the timestamp it was ordered by,
	// which may trail an Append still finishing: pass it back in After.
	ByLastEventTime bool
	Descending      bool
	After           *StreamKey // nil: from the start of the order
}

// StreamKey is a stream's place in a listing: its name, and in
// ByLastEventTime order its last event timestamp too.
type StreamKey struct {
	LastEventTime int64
	Name          string
}

// Event is one log event as it enters the store.
type Event struct {
	Timestamp int64
	Message   string
}

// Position is a point in a log group's global event order: events sort by
// timestamp, then by arrival (Seq, which engines hand out as appends arrive,
// unique per append and increasing; ReadFeed's high-water mark makes it a
// commit order), then by their index within the request. Every stored event has a unique
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

// Prev is the position just before p in the order Less defines (no event
// sits between them): a read that starts after Prev(p) includes p.
func (p Position) Prev() Position {
	switch {
	case p.Index > 0:
		p.Index--
	case p.Seq > 0:
		p.Seq, p.Index = p.Seq-1, math.MaxUint32
	default:
		p.Time, p.Seq, p.Index = p.Time-1, math.MaxUint64, math.MaxUint32
	}
	return p
}

// Next is the position just after p in the order Less defines.
func (p Position) Next() Position {
	switch {
	case p.Index < math.MaxUint32:
		p.Index++
	case p.Seq < math.MaxUint64:
		p.Seq, p.Index = p.Seq+1, 0
	default:
		p.Time, p.Seq, p.Index = p.Time+1, 0, 0
	}
	return p
}

// ID is the 56-digit decimal event ID FilterLogEvents returns (AWS's are 56
// digits too): 19 digits of timestamp, 20 of sequence, 17 of index.
func (p Position) ID() string { return string(p.AppendID(make([]byte, 0, 56))) }

// AppendID appends ID's digits to dst, without fmt (a FilterLogEvents page
// formats up to 10,000 of them).
func (p Position) AppendID(dst []byte) []byte {
	if p.Time < 0 { // no stored event has one; keep fmt's spelling all the same
		return fmt.Appendf(dst, "%019d%020d%017d", p.Time, p.Seq, p.Index)
	}
	dst = appendDigits(dst, uint64(p.Time), 19)
	dst = appendDigits(dst, p.Seq, 20)
	return appendDigits(dst, uint64(p.Index), 17)
}

// appendDigits appends v in decimal, zero-padded to at least width digits.
func appendDigits(dst []byte, v uint64, width int) []byte {
	var b [20]byte
	i := len(b)
	for v >= 10 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	i--
	b[i] = byte('0' + v)
	for n := len(b) - i; n < width; n++ {
		dst = append(dst, '0')
	}
	return append(dst, b[i:]...)
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

// LiteralMatcher is a Matcher that can say it matches exactly the
// messages containing one literal, byte for byte: an engine may then decide
// a match from what it knows of a message without rendering it (the
// embedded engine's merged blocks, from the literal text of the message's
// template).
type LiteralMatcher interface {
	Matcher
	// Literal returns the literal; ok is false when the matcher is more
	// than a search for it.
	Literal() (lit string, ok bool)
}

// ReadRequest asks Read for one page of a log group's events in global order.
type ReadRequest struct {
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
	// Next is where the next page starts (pass it as ReadRequest.After); nil when the
	// read reached the end of its range.
	Next *Position
	// Scanned counts what the read examined, for statistics.
	ScannedEvents int64
	ScannedBytes  int64
	SkippedBlocks int64
	// SkippedEvents and SkippedBytes estimate what the skipped blocks
	// held inside the read's range (0 when the engine does not know).
	SkippedEvents, SkippedBytes int64
}

// AppendResult reports what Append stored.
type AppendResult struct {
	Seq uint64 // the arrival sequence of this request's events
}

// ResourceRecord is one resource record for RecordAppender.AppendWith.
type ResourceRecord struct {
	Key   ResourceKey
	Value []byte
}

// RecordAppender is an engine that can write resource records of the group
// appended to in the same durable commit as an Append (the embedded engine):
// one fsync and one write-ahead-log record a batch where an Append and a
// PutResource after it cost two, and the records become visible with the
// events, never after them. An engine without it is given the records
// after the Append, by PutResource (logs.IngestBatch.WithRecords).
type RecordAppender interface {
	// AppendWith is Append, and also stores what records returns, called
	// once with the append's feed sequence (AppendResult.Seq) before the
	// commit: each record's Key is of the group appended to (its Scope and
	// Group those of the append). An error from records fails the append,
	// and nothing of it is stored.
	AppendWith(ctx context.Context, scope Scope, group, stream string, events []Event, ingestionTime int64,
		records func(seq uint64) ([]ResourceRecord, error)) (AppendResult, error)
}

// ResourceCache is an engine that can answer a resource read from what it
// read before, without asking its database, when nothing of the record's
// kind changed since (the PostgreSQL engine, whose every GetResource is a
// round trip to the database other nodes write too).
type ResourceCache interface {
	// GetResourceAsOf is GetResource of k, a record of group g or of g's
	// account and region, answered as of g (a Group GetGroup returned) or
	// later: every write of k's kind committed before GetGroup read g is
	// seen. The ingest path reads its group first, so the records it reads
	// this way are as fresh as the request.
	GetResourceAsOf(ctx context.Context, g Group, k ResourceKey) ([]byte, error)
}

// GetResourceAsOf reads k with st's ResourceCache if it has one, else with
// GetResource.
func GetResourceAsOf(ctx context.Context, st Store, g Group, k ResourceKey) ([]byte, error) {
	if c, ok := st.(ResourceCache); ok {
		return c.GetResourceAsOf(ctx, g, k)
	}
	return st.GetResource(ctx, k)
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
	// ListStreamsOrdered calls fn for the group's streams in l's order,
	// starting strictly after l.After, until fn returns false. A page costs
	// the engine the page, not the group's size (DescribeLogStreams on a
	// group of a million streams).
	ListStreamsOrdered(ctx context.Context, scope Scope, group string, l StreamListing, fn func(Stream) bool) error

	// Append stores events (chronological, at least one) for one stream with
	// the given ingestion time, durably, before returning.
	Append(ctx context.Context, scope Scope, group, stream string, events []Event, ingestionTime int64) (AppendResult, error)

	// Read returns one page of events in (timestamp, arrival) order.
	Read(ctx context.Context, r ReadRequest) (Page, error)

	// Scan calls fn with the matching events of r's groups, one block at a
	// time, until fn returns false, ctx ends or every block was seen. See
	// ScanRequest for the order. fn runs in the caller's goroutine; blocks
	// are decoded ahead of it on the engine's workers, which are all stopped
	// before Scan returns. An error from ctx is returned as is.
	Scan(ctx context.Context, r ScanRequest, fn func(ScanBlock) bool) (ScanStats, error)

	// ReadFeed returns the group's blocks committed after feed position r.After,
	// in commit order (ascending Seq). Next is where the following call starts:
	// it never passes a sequence still being committed, so no event is ever
	// skipped by a follower that resumes from Next.
	ReadFeed(ctx context.Context, r FeedRequest) (FeedPage, error)

	// Subscribe registers fn to be told of every Append once it is durable,
	// with the group's high-water mark already past the append (a ReadFeed
	// started once fn is called sees it): in the appending goroutine, or,
	// when a lower sequence was still committing, in the goroutine of the
	// append that moved the mark past it (before that Append returns). fn must
	// not block. The returned function unregisters fn; fn is not called after
	// it returns.
	Subscribe(fn func(Appended)) (unsubscribe func())

	// Cursors are named feed positions kept with a group's data (synced like
	// events) and deleted with it. SetCursor creates or moves one; callers
	// move it only after the consumer acknowledged everything up to pos.
	GetCursor(ctx context.Context, scope Scope, group, name string) (pos uint64, err error)
	SetCursor(ctx context.Context, scope Scope, group, name string, pos uint64) error
	DeleteCursor(ctx context.Context, scope Scope, group, name string) error

	// Resources are opaque records keyed by ResourceKey. A key with a Group
	// lives and dies with that log group (ErrGroupNotFound when it is
	// missing); one without belongs to the account and region. Put creates or
	// replaces and returns once the record is durable.
	PutResource(ctx context.Context, k ResourceKey, value []byte) error
	GetResource(ctx context.Context, k ResourceKey) ([]byte, error)
	DeleteResource(ctx context.Context, k ResourceKey) error
	// ListResources calls fn for k.Kind's records in k.Scope (and k.Group)
	// whose name starts with prefix and sorts after `after`, in ascending byte
	// order, until fn returns false. k.Name is ignored.
	ListResources(ctx context.Context, k ResourceKey, prefix, after string, fn func(name string, value []byte) bool) error

	Close() error
}

// ScanRequest selects what Scan delivers. Groups are scanned one after the
// other, in the order given; within a group blocks come in storage order
// (ascending first timestamp, then arrival), and within a block events come
// in their order in the block (chronological). That is not the global
// (timestamp, arrival) order of Read: blocks overlap in time. Consumers that
// need a total order sort or merge (a query's sort stage).
type ScanRequest struct {
	Scope  Scope
	Groups []string // at least one; a missing group is ErrGroupNotFound

	// Streams selects streams by exact name in every group; StreamPrefix by
	// prefix. Both empty: every stream.
	Streams      []string
	StreamPrefix string

	// Start is inclusive, End exclusive; End 0 means no upper bound. The
	// group's retention narrows the range as it does for Read.
	Start, End int64

	Filter Matcher // nil: every event

	// NoMessages asks for timestamps, streams and positions only: events
	// come with an empty Message, and an engine may skip decompressing
	// messages (Insights' stats count() by bin(5m) reads no message).
	// With a Filter, the engine still delivers only the matching events,
	// without their messages: a query whose only use of the message is a
	// filter the store applies exactly (filter @message like "ERROR" |
	// stats count()). Engines may ignore it and deliver messages all the
	// same.
	NoMessages bool

	// Counted, with NoMessages and Filter nil, lets the caller take whole
	// blocks from their summaries: for a block whose events all lie in
	// [Start, End), the engine asks Counted(first, last timestamp) and, when
	// it answers true, delivers the block undecoded as a ScanBlock with
	// Events nil and Summary set (Insights' stats count() by bin(5m) counts
	// a block that lies inside one bin without reading it). Called from the
	// engine's own goroutines: it must be quick and safe for concurrent use.
	// Engines may ignore it and deliver events all the same.
	Counted func(first, last int64) bool
}

// ScanBlock is the matching events of one stored block (one Append).
type ScanBlock struct {
	Group string
	// Events: at least one, all of one stream, in Position order. All of one
	// Seq, except from a block the embedded engine's re-compaction merged
	// from several appends, where each event keeps its own append's Seq.
	Events []StoredEvent // empty when Summary is set
	// Summary is set (and Events nil) for a block delivered undecoded
	// because ScanRequest.Counted accepted it.
	Summary *BlockSummary
}

// BlockSummary is what a block's summary says of it: Count events of
// Stream, timestamps First to Last (inclusive), Bytes of messages.
type BlockSummary struct {
	Stream        string
	First, Last   int64
	Count         int64
	Bytes         int64
	IngestionTime int64
}

// ScanStats counts what a Scan examined.
type ScanStats struct {
	Blocks        int64 // blocks decoded
	SkippedBlocks int64 // blocks ruled out by their summary without decoding
	ScannedEvents int64
	ScannedBytes  int64
	// SkippedEvents and SkippedBytes estimate the events and message bytes
	// inside the scan's time range of the blocks its filter ruled out by
	// summary (Insights' estimatedRecordsSkipped/estimatedBytesSkipped);
	// 0 when the engine does not know.
	SkippedEvents, SkippedBytes int64
}

// FeedRequest asks ReadFeed for a group's blocks after a feed position.
type FeedRequest struct {
	Scope Scope
	Group string
	After uint64 // 0: from the beginning of the feed
	// Limit bounds the page in events. Pages hold whole blocks: at least one
	// when any is ready, and no more once Limit events are in.
	Limit int
	// Buf, when its capacity is not 0, is an earlier page's Events the
	// caller no longer reads: the page is written into its array (from
	// Buf[:0]) instead of a new one, so a reader that follows the feed
	// does not allocate and grow a page each time. An engine may ignore it.
	Buf []StoredEvent
}

// FeedPage is one page of a group's feed.
type FeedPage struct {
	// Events, in commit order, Pos.Seq ascending, are the caller's: an
	// array of its own (Buf's, or a new one), never the engine's memory,
	// so it may reuse or clear them.
	Events []StoredEvent
	// Next is the feed position to resume from: the Seq of the last block
	// returned, or, when the page reached the high-water mark, the mark
	// itself (nothing at or below it remains to be read).
	Next uint64
}

// Appended is what Subscribe's listeners are told: one Append's events, durable.
type Appended struct {
	Scope  Scope
	Group  string
	Stream string
	// Events: Pos.Seq is the append's feed position. The slice is shared
	// (with the other listeners, and the embedded engine's ReadFeed serves
	// recent blocks from it): read it, never modify it.
	Events []StoredEvent
}

// ResourceKey names a resource record. Kind and Name are free-form (no NUL
// byte): the control plane picks kinds such as "metricFilter" or
// "destination" and names unique within a kind.
type ResourceKey struct {
	Scope Scope
	Group string // "" for an account-and-region resource
	Kind  string
	Name  string
}

// ReadStamp is what ReadVersioner answers: equal stamps from the same
// engine mean the group's readable events did not change between them.
type ReadStamp [2]uint64

// ReadVersioner is an optional interface of engines that can tell when a
// Read's answer has not changed, so that a page prepared ahead of its
// request (package readahead) may be served instead of reading again.
//
// ReadVersion(q) returns ok only when no change to q's group is in flight
// and q's answer does not depend on the clock (the group's retention does
// not narrow q's range). If ReadVersion(q) returned (s, true), then Read(q)
// ran, and a later ReadVersion(q) returns (s, true) again, every Read(q)
// started between the two calls returns the same page: an Append, a
// DeleteStream, a DeleteGroup, a retention change, an expiry or a
// re-compaction of the group begun or finished between them changes the
// stamp. Engines shared by several processes (PostgreSQL) do not implement it.
type ReadVersioner interface {
	ReadVersion(q ReadRequest) (ReadStamp, bool)
}
