// Package tail holds the live-tail hub: the fan-out of newly stored events to
// live sessions (StartLiveTail, the console, `cairn logs tail --follow`).
//
// Events enter through Hub.Publish, which the storage engine calls after each
// append is durable (store.Store.Subscribe), with one stream's batch. The
// hub hands each batch, by reference, to the sessions that select its log
// group and stream; with no sessions Publish is one atomic load. Events leave
// through Session.Take, which the session's reader calls when Session.Ready
// fires: it applies the session's filter pattern (in the reader's goroutine,
// not on the ingest path) and returns the matching events in arrival order.
//
// Each session buffers at most Config.MaxBufferedEvents events and
// Config.MaxBufferedBytes message bytes between Takes. A reader that falls
// behind loses the oldest batches, and its next Take reports that it did
// (AWS's "sampled"); a reader that keeps up loses nothing, however fast
// events arrive. Publish never blocks on a reader.
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
	DefaultMaxBufferedEvents = 100_000
	DefaultMaxBufferedBytes  = 64 << 20
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
	// MaxSessions bounds concurrent sessions; 0 means no bound.
	MaxSessions int
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
		byGroup  map[groupKey][]subscriber
		sessions map[*Session]struct{}
		closed   bool
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
	h := &Hub{cfg: cfg}
	h.mu.byGroup = make(map[groupKey][]subscriber)
	h.mu.sessions = make(map[*Session]struct{})
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
// on until it is closed.
func (h *Hub) Subscribe(f Filter) (*Session, error) {
	if len(f.Groups) == 0 || len(f.Groups) > MaxGroups {
		return nil, ErrInvalidFilter
	}
	if (len(f.Streams) > 0 || len(f.Prefixes) > 0) && (len(f.Groups) != 1 || (len(f.Streams) > 0 && len(f.Prefixes) > 0)) {
		return nil, ErrInvalidFilter
	}
	seen := make(map[Group]bool, len(f.Groups))
	for _, g := range f.Groups {
		if seen[g] {
			return nil, ErrInvalidFilter
		}
		seen[g] = true
	}
	s := &Session{
		hub:      h,
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

// Close closes every session and refuses new ones. It is idempotent.
func (h *Hub) Close() {
	h.mu.Lock()
	h.mu.closed = true
	sessions := h.mu.sessions
	h.mu.sessions = make(map[*Session]struct{})
	clear(h.mu.byGroup)
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

// Take appends the queued events that pass the session's filter to dst, in
// arrival order, and reports whether events were dropped since the previous
// Take because the reader fell behind.
func (s *Session) Take(dst []Event) (_ []Event, dropped bool) {
	s.mu.Lock()
	q := s.mu.queue
	dropped = s.mu.dropped > 0
	s.mu.queue, s.mu.events, s.mu.bytes, s.mu.dropped = nil, 0, 0, 0
	s.mu.Unlock()
	for _, b := range q {
		for i := range b.events {
			if s.match == nil || s.match.Match(b.events[i].Message) {
				dst = append(dst, Event{Group: b.group, StoredEvent: b.events[i]})
			}
		}
	}
	return dst, dropped
}

// Dropped is the number of events the session has dropped so far.
func (s *Session) Dropped() int64 { return s.dropped.Load() }

// Close ends the session. It is idempotent.
func (s *Session) Close() {
	s.hub.remove(s)
	s.closeDone()
}

func (s *Session) closeDone() { s.closeOnce.Do(func() { close(s.done) }) }
