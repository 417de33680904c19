package delivery

import (
	"strconv"
	"sync"

	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
)

// A group may have two subscription filters (AWS's limit), and when both
// deliver every event of the group's stored messages, the logEvents of
// their records are the same bytes: each event's {"id","timestamp",
// "message"} object. The first follower to read a block encodes its
// events once into a sharedBlocks entry; the other copies them from there
// instead of escaping every message again. Entries are immutable once
// published (a block's events never change: re-compaction keeps ids and
// messages), and the cache keeps the most recent blocks up to a byte
// bound, so a follower far behind the other encodes for itself.

// maxSharedBytes bounds the encoded blocks kept for a group's other
// follower (~28 blocks of 1,000 standard lines with their ids), with
// their deflated segments (gzipjoin.go: ~a fifth of a block's encoding at
// level 1, one per gzip level the group's sinks use), counted as each is
// made (sharedBlocks.grew).
const maxSharedBytes = 8 << 20

type sharedKey struct {
	scope store.Scope
	group string
	seq   uint64
}

// encodedBlock is one block's events, encoded and separated by commas, as
// they stand in a record's logEvents: event i's object is
// buf[start(i):ends[i]] (start(0) = 0, start(i) = ends[i-1]+1), by
// Pos.Index, so a run of consecutive events is one contiguous span.
type encodedBlock struct {
	buf  []byte
	ends []int

	// seg holds the whole block's span deflated, once per level a gzip
	// sink of the group asked for (deflateSegment): the group's other
	// gzip follower joins the same bytes into its own record instead of
	// compressing the block again. segMu is held while one is made, so
	// two followers do not compress the same block side by side.
	segMu sync.Mutex
	seg   []*deflateSegment

	// cache and key are where the block is shared (set by put under the
	// cache's lock, before any other follower can get the block; never
	// changed after), so a segment made later is counted in the cache's
	// bound; nil: a block of one follower's records alone.
	cache *sharedBlocks
	key   sharedKey
}

func (b *encodedBlock) start(i int) int {
	if i == 0 {
		return 0
	}
	return b.ends[i-1] + 1
}

func (b *encodedBlock) event(i uint32) ([]byte, bool) {
	if int(i) >= len(b.ends) {
		return nil, false
	}
	end := b.ends[i]
	return b.buf[b.start(int(i)):end:end], true
}

// span is events from..to-1 with their separating commas.
func (b *encodedBlock) span(from, to int) []byte {
	return b.buf[b.start(from):b.ends[to-1]]
}

type sharedBlocks struct {
	mu    sync.Mutex
	m     map[sharedKey]sharedEntry
	order []sharedKey // oldest first
	bytes int         // the sum of the entries' sizes
}

// sharedEntry is a cached block and the bytes counted for it: its size
// when put, and each segment's as it was made.
type sharedEntry struct {
	blk  *encodedBlock
	size int
}

func (s *sharedBlocks) get(k sharedKey) *encodedBlock {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[k].blk
}

func (s *sharedBlocks) put(k sharedKey, b *encodedBlock) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[sharedKey]sharedEntry{}
	}
	if _, ok := s.m[k]; ok {
		return
	}
	b.cache, b.key = s, k
	n := b.size()
	s.m[k] = sharedEntry{b, n}
	s.order = append(s.order, k)
	s.bytes += n
	s.evict()
}

// grew counts n more bytes (a segment just made) for b, while b is still
// the entry of its key (an evicted block's segment is its records' alone).
func (s *sharedBlocks) grew(b *encodedBlock, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[b.key]
	if !ok || e.blk != b {
		return
	}
	e.size += n
	s.m[b.key] = e
	s.bytes += n
	s.evict()
}

// evict drops the oldest entries while the bound is passed (the newest
// stays: the follower that made it is about to use it).
func (s *sharedBlocks) evict() {
	for s.bytes > maxSharedBytes && len(s.order) > 1 {
		old := s.order[0]
		s.order = s.order[1:]
		s.bytes -= s.m[old].size
		delete(s.m, old)
	}
}

// size is what the block holds alive: its encoding and its events' ends.
func (b *encodedBlock) size() int { return cap(b.buf) + cap(b.ends)*8 }

// encodeBlock encodes the events of one block (events, all of one append,
// in Pos.Index order from 0), each with the id its position spells
// (store.Position.AppendID), written straight into the block's bytes.
func encodeBlock(events []store.StoredEvent) *encodedBlock {
	n := 0
	for i := range events {
		n += 64 + idLen + len(events[i].Message)*9/8
	}
	b := &encodedBlock{buf: make([]byte, 0, n), ends: make([]int, len(events))}
	var prev []byte // the id of the event before, where it stands in buf
	for i := range events {
		if i > 0 {
			b.buf = append(b.buf, ',')
		}
		b.buf = append(b.buf, `{"id":"`...)
		at := len(b.buf)
		var q store.Position
		if i > 0 {
			q = events[i-1].Pos
		}
		b.buf = appendID(b.buf, events[i].Pos, q, prev, i > 0)
		prev = b.buf[at:]
		b.buf = appendEventRest(b.buf, events[i].Timestamp, events[i].Message)
		b.ends[i] = len(b.buf)
	}
	return b
}

// idLen is the length of every event id (store.Position.AppendID: 19
// digits of the time, or a sign and 18, 20 of the sequence and 17 of the
// index, none of which a value of its type can pass).
const idLen = 56

// appendID appends p's id (store.Position.AppendID); prev, when ok, is
// the id of the position q before: with the same time and append (most of
// a block) its first 39 digits are p's, and only the index's 17 are
// spelt.
func appendID(dst []byte, p, q store.Position, prev []byte, ok bool) []byte {
	if ok && p.Time >= 0 && p.Time == q.Time && p.Seq == q.Seq && len(prev) >= idLen {
		start := len(dst)
		dst = append(dst, prev[:idLen-17]...)
		dst = appendIndexDigits(dst, p.Index)
		if len(dst)-start == idLen {
			return dst
		}
		dst = dst[:start] // an index past 17 digits: cannot be, but spell it as AppendID does
	}
	return p.AppendID(dst)
}

// appendEvent is one element of a payload's logEvents.
func appendEvent(b []byte, id string, ts int64, msg string) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, id...)
	return appendEventRest(b, ts, msg)
}

// appendEventFields is an element of logEvents with its extractedFields
// object, after the message as in AWS's payloads.
func appendEventFields(b []byte, id string, ts int64, msg string, fields []byte) []byte {
	b = appendEvent(b, id, ts, msg)
	b = append(b[:len(b)-1], `,"extractedFields":`...)
	b = append(b, fields...)
	return append(b, '}')
}

// appendEventRest is an element of logEvents after its id.
func appendEventRest(b []byte, ts int64, msg string) []byte {
	b = append(b, `","timestamp":`...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, `,"message":`...)
	b = protocol.AppendJSONString(b, msg)
	return append(b, '}')
}
