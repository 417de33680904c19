// Package tail holds the live-tail hub: the fan-out of newly stored events to
// live sessions (StartLiveTail, the console, `cairn logs tail --follow`).
//
// Events enter through Hub.Publish, which the storage engine calls after each
// append is durable (store.Store.Subscribe), with one stream's batch. The
// hub hands each batch, by reference, to the sessions that select its log
// group and stream; with no sessions Publish is one atomic load. Events leave
// through Session.Take, which the session's reader calls when Session.Ready
// fires: it applies the session's filter pattern (in the reader's goroutine,
// not on the ingest path) and returns the matching events in arrival order,
// at most one update's worth per call.
//
// Each session buffers at most Config.MaxBufferedEvents events (AWS: 5,000,
// ten updates of 500) and Config.MaxBufferedBytes message bytes. A reader
// that falls behind (a client that stops reading blocks its writer) loses
// the oldest events, and its next Take reports that it did (AWS's
// "sampled"); a reader that keeps up loses nothing, however fast events
// arrive. Publish never blocks on a reader, so a session's memory is bounded
// whatever its client does. Each account may hold
// Config.MaxSessionsPerAccount sessions at once (AWS's quota: 15).
//
// The hub starts no goroutines. Session.Close and Hub.Close close the
// sessions' Done channels so their readers return.
package tail

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cairnlog/cairn/internal/store"
)

// MaxGroups is how many log groups one session may select, as on AWS.
const MaxGroups = 10

// Defaults for Config.
const (
	// DefaultMaxBufferedEvents is AWS's bound: "CloudWatch Logs buffers up
	// to 10 LiveTailSessionUpdate events or 5000 log events, after which it
	// starts dropping the oldest events" (StartLiveTail API reference).
	DefaultMaxBufferedEvents = 5_000
	// DefaultMaxBufferedBytes is Cairn's own bound (AWS states none): events
	// can be 1 MB each, and 5,000 of them would pin 5 GB per session. 8 MiB
	// holds the full 5,000 events while they average up to 1.6 KB.
	DefaultMaxBufferedBytes = 8 << 20
	// DefaultMaxSessionsPerAccount is AWS's quota of concurrent Live Tail
	// sessions per account (CloudWatch Logs quotas page).
	DefaultMaxSessionsPerAccount = 15
)

// Errors from Subscribe.
var (
	ErrClosed          = errors.New("tail: hub closed")
	ErrTooManySessions = errors.New("tail: too many live sessions")
	ErrInvalidFilter   = errors.New("tail: invalid session filter")
)

// Config configures a Hub.
type Config struct {
	// MaxBufferedEvents and MaxBufferedBytes bound what one session holds
	// between two Takes (defaults DefaultMaxBufferedEvents and
	// DefaultMaxBufferedBytes, counting message bytes). Before filtering:
	// the pattern runs in the reader.
	MaxBufferedEvents int
	MaxBufferedBytes  int64
	// MaxSessions bounds concurrent sessions on the hub; 0 means no bound.
	MaxSessions int
	// MaxSessionsPerAccount bounds the concurrent sessions of one account
	// (Scope.Account of the session's groups), in every region together:
	// a region is only a name in the client's signature, so counting per
	// region would let one account open unbounded sessions. 0 means
	// DefaultMaxSessionsPerAccount; negative, no bound.
	MaxSessionsPerAccount int
}

// Group names a log group.
type Group struct {
	Scope store.Scope
	Name  string
}

// Matcher decides whether a message belongs in a session (a compiled filter
// pattern). It must be safe for concurrent use.
type Matcher interface {
	Match(message string) bool
}

// Filter selects the events a session receives.
type Filter struct {
	// Groups are the log groups, 1 to MaxGroups, without duplicates.
	Groups []Group
	// Streams selects streams by exact name, Prefixes by name prefix; at most
	// one of them, and only with exactly one group. Both empty: all streams.
	Streams  []string
	Prefixes []string
	// Match filters messages; nil passes every event.
	Match Matcher
}

// Event is an event delivered to a session.
type Event struct {
	Group int // index into Filter.Groups
	store.StoredEvent
}

type groupKey struct {
	scope store.Scope
	name  string
}

type subscriber struct {
	s     *Session
	group int
}

// Hub fans events out to sessions. It is safe for concurrent use.
//
// Lock order: Hub.mu, then Session.mu.
type Hub struct {
	cfg Config
	// active counts open sessions, so that Publish costs one atomic load
	// when nobody is tailing.
	active atomic.Int64

	mu struct {
		sync.RWMutex
		byGroup   map[groupKey][]subscriber
		sessions  map[*Session]struct{}
		byAccount map[string]int // open sessions per account
		closed    bool
	}
}

// New returns a Hub.
func New(cfg Config) *Hub {
	if cfg.MaxBufferedEvents <= 0 {
		cfg.MaxBufferedEvents = DefaultMaxBufferedEvents
	}
	if cfg.MaxBufferedBytes <= 0 {
		cfg.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if cfg.MaxSessionsPerAccount == 0 {
		cfg.MaxSessionsPerAccount = DefaultMaxSessionsPerAccount
	}
	h := &Hub{cfg: cfg}
	h.mu.byGroup = make(map[groupKey][]subscriber)
	h.mu.sessions = make(map[*Session]struct{})
	h.mu.byAccount = make(map[string]int)
	return h
}

// Publish offers one stream's newly stored events to the sessions that
// select them. It never blocks on a session and keeps no copy of the events:
// callers must not modify the slice afterwards (the embedded engine builds a
// fresh one per append).
func (h *Hub) Publish(scope store.Scope, group, stream string, events []store.StoredEvent) {
	if h.active.Load() == 0 || len(events) == 0 {
		return
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	subs := h.mu.byGroup[groupKey{scope, group}]
	var size int64 = -1
	for _, sub := range subs {
		if !sub.s.wantsStream(stream) {
			continue
		}
		if size < 0 {
			size = messageBytes(events)
		}
		sub.s.offer(sub.group, events, size)
	}
}

func messageBytes(evs []store.StoredEvent) int64 {
	var n int64
	for i := range evs {
		n += int64(len(evs[i].Message))
	}
	return n
}

// Subscribe opens a session. The session receives events published from now
// on until it is closed. All its groups belong to one account, whose session
// quota it counts against: beyond it Subscribe returns ErrTooManySessions.
func (h *Hub) Subscribe(f Filter) (*Session, error) {
	if len(f.Groups) == 0 || len(f.Groups) > MaxGroups {
		return nil, ErrInvalidFilter
	}
	if (len(f.Streams) > 0 || len(f.Prefixes) > 0) && (len(f.Groups) != 1 || (len(f.Streams) > 0 && len(f.Prefixes) > 0)) {
		return nil, ErrInvalidFilter
	}
	seen := make(map[Group]bool, len(f.Groups))
	for _, g := range f.Groups {
		if seen[g] || g.Scope.Account != f.Groups[0].Scope.Account {
			return nil, ErrInvalidFilter
		}
		seen[g] = true
	}
	s := &Session{
		hub:      h,
		account:  f.Groups[0].Scope.Account,
		match:    f.Match,
		prefixes: f.Prefixes,
		groups:   f.Groups,
		ready:    make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	if len(f.Streams) > 0 {
		s.streams = make(map[string]struct{}, len(f.Streams))
		for _, n := range f.Streams {
			s.streams[n] = struct{}{}
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.mu.closed {
		return nil, ErrClosed
	}
	if h.cfg.MaxSessions > 0 && len(h.mu.sessions) >= h.cfg.MaxSessions {
		return nil, ErrTooManySessions
	}
	if n := h.cfg.MaxSessionsPerAccount; n > 0 && h.mu.byAccount[s.account] >= n {
		return nil, ErrTooManySessions
	}
	h.mu.byAccount[s.account]++
	for i, g := range f.Groups {
		k := groupKey{g.Scope, g.Name}
		h.mu.byGroup[k] = append(h.mu.byGroup[k], subscriber{s, i})
	}
	h.mu.sessions[s] = struct{}{}
	h.active.Add(1)
	return s, nil
}

// Sessions returns the number of open sessions.
func (h *Hub) Sessions() int { return int(h.active.Load()) }

// Buffered returns the events and message bytes queued in all open sessions,
// waiting for their readers.
func (h *Hub) Buffered() (events int, bytes int64) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.mu.sessions {
		s.mu.Lock()
		events, bytes = events+s.mu.events, bytes+s.mu.bytes
		s.mu.Unlock()
	}
	return events, bytes
}

// Close closes every session and refuses new ones. It is idempotent.
func (h *Hub) Close() {
	h.mu.Lock()
	h.mu.closed = true
	sessions := h.mu.sessions
	h.mu.sessions = make(map[*Session]struct{})
	clear(h.mu.byGroup)
	clear(h.mu.byAccount)
	h.active.Store(0)
	h.mu.Unlock()
	for s := range sessions {
		s.closeDone()
	}
}

// remove unregisters s, if it still is.
func (h *Hub) remove(s *Session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.mu.sessions[s]; !ok {
		return
	}
	delete(h.mu.sessions, s)
	h.active.Add(-1)
	if h.mu.byAccount[s.account]--; h.mu.byAccount[s.account] <= 0 {
		delete(h.mu.byAccount, s.account)
	}
	for _, g := range s.groups {
		k := groupKey{g.Scope, g.Name}
		subs := h.mu.byGroup[k]
		kept := subs[:0:0]
		for _, sub := range subs {
			if sub.s != s {
				kept = append(kept, sub)
			}
		}
		if len(kept) == 0 {
			delete(h.mu.byGroup, k)
		} else {
			h.mu.byGroup[k] = kept
		}
	}
}

// Session is one live-tail subscription. Take and Ready are for one reader;
// Close may be called from anywhere, more than once.
type Session struct {
	hub      *Hub
	account  string
	groups   []Group
	streams  map[string]struct{} // nil: no name selection
	prefixes []string
	match    Matcher

	ready     chan struct{} // capacity 1: "something was queued"
	done      chan struct{}
	closeOnce sync.Once

	mu struct {
		sync.Mutex
		queue   []batch
		events  int
		bytes   int64
		dropped int64 // events dropped since the last Take
	}
	dropped atomic.Int64 // events dropped over the session's life
}

type batch struct {
	group  int
	events []store.StoredEvent
	bytes  int64
}

func (s *Session) wantsStream(name string) bool {
	if s.streams != nil {
		_, ok := s.streams[name]
		return ok
	}
	if s.prefixes == nil {
		return true
	}
	for _, p := range s.prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// offer queues a batch, dropping the oldest queued batches (and, for a batch
// larger than the whole buffer, its oldest events) to stay within bounds.
func (s *Session) offer(group int, evs []store.StoredEvent, size int64) {
	maxE, maxB := s.hub.cfg.MaxBufferedEvents, s.hub.cfg.MaxBufferedBytes
	var dropped int64
	if len(evs) > maxE || size > maxB {
		for len(evs) > 0 && (len(evs) > maxE || size > maxB) {
			size -= int64(len(evs[0].Message))
			evs = evs[1:]
			dropped++
		}
	}
	s.mu.Lock()
	for len(s.mu.queue) > 0 && (s.mu.events+len(evs) > maxE || s.mu.bytes+size > maxB) {
		old := s.mu.queue[0]
		s.mu.queue[0] = batch{}
		s.mu.queue = s.mu.queue[1:]
		s.mu.events -= len(old.events)
		s.mu.bytes -= old.bytes
		dropped += int64(len(old.events))
	}
	if len(evs) > 0 {
		s.mu.queue = append(s.mu.queue, batch{group: group, events: evs, bytes: size})
		s.mu.events += len(evs)
		s.mu.bytes += size
	}
	s.mu.dropped += dropped
	s.mu.Unlock()
	if dropped > 0 {
		s.dropped.Add(dropped)
	}
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Ready receives a value when events may have been queued since the last
// Take.
func (s *Session) Ready() <-chan struct{} { return s.ready }

// Done is closed when the session is closed, by Close or by Hub.Close.
func (s *Session) Done() <-chan struct{} { return s.done }

// Take appends queued events that pass the session's filter to dst, in
// arrival order, and reports whether events were dropped since the previous
// Take because the reader fell behind. It appends at most maxEvents events
// and, beyond the first, at most maxBytes message bytes (0: no bound); what
// it leaves stays queued, and Ready fires again.
func (s *Session) Take(dst []Event, maxEvents int, maxBytes int64) (_ []Event, dropped bool) {
	s.mu.Lock()
	dropped = s.mu.dropped > 0
	s.mu.dropped = 0
	s.mu.Unlock()
	n, size := 0, int64(0)
	for (maxEvents <= 0 || n < maxEvents) && (maxBytes <= 0 || size < maxBytes) {
		// Pop no more than could still be taken, so that nothing popped
		// has to be put back: the pattern runs without the lock held.
		group, evs, more := s.pop(maxEvents-n, maxBytes-size, n == 0)
		if len(evs) == 0 && more {
			break // the next event would pass maxBytes
		}
		for i := range evs {
			if s.match == nil || s.match.Match(evs[i].Message) {
				dst = append(dst, Event{Group: group, StoredEvent: evs[i]})
				n++
				size += int64(len(evs[i].Message))
			}
		}
		if !more {
			return dst, dropped
		}
	}
	select {
	case s.ready <- struct{}{}: // more is queued
	default:
	}
	return dst, dropped
}

// pop removes up to maxEvents events (when positive) from the head of the
// queue, all of one batch, of at most maxBytes message bytes (when positive;
// first allows one event beyond it, so that any event can be taken). more
// reports whether events remain queued.
func (s *Session) pop(maxEvents int, maxBytes int64, first bool) (group int, evs []store.StoredEvent, more bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.mu.queue) == 0 {
		return 0, nil, false
	}
	b := &s.mu.queue[0]
	k, size := 0, int64(0)
	for k < len(b.events) && (maxEvents <= 0 || k < maxEvents) {
		m := int64(len(b.events[k].Message))
		if (k > 0 || !first) && maxBytes > 0 && size+m > maxBytes {
			break
		}
		k, size = k+1, size+m
	}
	group, evs = b.group, b.events[:k:k]
	if k == len(b.events) {
		s.mu.queue[0] = batch{}
		s.mu.queue = s.mu.queue[1:]
	} else {
		b.events, b.bytes = b.events[k:], b.bytes-size
	}
	s.mu.events -= k
	s.mu.bytes -= size
	return group, evs, len(s.mu.queue) > 0
}

// Dropped is the number of events the session has dropped so far.
func (s *Session) Dropped() int64 { return s.dropped.Load() }

// Close ends the session. It is idempotent.
func (s *Session) Close() {
	s.hub.remove(s)
	s.closeDone()
}

func (s *Session) closeDone() { s.closeOnce.Do(func() { close(s.done) }) }
