package bench

import (
	"cmp"
	"fmt"
	"github.com/cairnlog/cairn/internal/jsonenc"
	"slices"
	"strconv"
	"time"
)

// Event is one generated log event.
type Event struct {
	Timestamp int64 // Unix milliseconds
	Message   string
}

// Batch is one request's worth of events, all for one stream, in
// chronological order.
type Batch struct {
	Group, Stream string
	Events        []Event
}

// Workload is the deterministic sequence of batches a run sends. Batch n is
// a function of the seed and n alone, so two runs (Cairn, then VictoriaLogs,
// or the same system twice) send the same lines byte for byte with the same
// timestamps, and no run holds more than its own encoded request bodies.
//
// Every line is distinct (each batch has its own generator), so no store can
// gain from lines repeating a few thousand events apart. Timestamps advance
// about 1 ms an event across the whole run, as a real service's logs do, so
// a time-range read opens only the blocks of its range.
type Workload struct {
	Seed      int64
	Events    int64
	BatchSize int
	Groups    int
	Streams   int    // spread over the groups: stream i belongs to group i mod Groups
	Prefix    string // group name prefix, so runs do not collide
	RareEvery int64  // plant RareToken once per this many events, in the first group (0: never)
	FirstMs   int64  // timestamp of the first event
}

// Requests is the number of batches.
func (w *Workload) Requests() int64 {
	return (w.Events + int64(w.BatchSize) - 1) / int64(w.BatchSize)
}

// Group is the name of group i.
func (w *Workload) Group(i int) string { return fmt.Sprintf("%s-g%d", w.Prefix, i) }

// StreamName is the name of stream i (in group i mod Groups).
func (w *Workload) StreamName(i int) string { return "s" + strconv.Itoa(i) }

// batchSpanMs is how far the timestamps of consecutive batches start apart:
// one millisecond an event on average.
func (w *Workload) batchSpanMs() int64 { return int64(w.BatchSize) }

// hasRare tells whether batch n carries the rare token (at its middle
// event). Needles go to the first group, the one the queries search.
func (w *Workload) hasRare(n int64) bool {
	if w.RareEvery <= 0 {
		return false
	}
	inFirst := func(n int64) bool { return int(n%int64(w.Streams))%w.Groups == 0 }
	if !inFirst(n) {
		return false
	}
	// Slot k's needle goes to the first batch of the first group at or
	// after batch k·per + per/2: batch n has one when such a point lies
	// after the previous batch of the first group and no later than n.
	// (When per is smaller than the gap between the group's batches,
	// several slots share one needle.)
	per := max(w.RareEvery/int64(w.BatchSize), 1)
	points := func(n int64) int64 { // slot points ≤ n
		if n < per/2 {
			return 0
		}
		return (n-per/2)/per + 1
	}
	prev := n - 1
	for prev >= 0 && !inFirst(prev) {
		prev--
	}
	return points(n) > points(prev)
}

// batchLen is how many events batch n holds (the last may be short).
func (w *Workload) batchLen(n int64) int {
	return int(min(int64(w.BatchSize), w.Events-n*int64(w.BatchSize)))
}

// Batch returns batch n.
func (w *Workload) Batch(n int64) Batch {
	size := w.batchLen(n)
	s := int(n % int64(w.Streams))
	b := Batch{Group: w.Group(s % w.Groups), Stream: w.StreamName(s), Events: make([]Event, size)}
	gen := NewLineGen(w.Seed*1_000_003 + n)
	start := w.FirstMs + n*w.batchSpanMs()
	gen.clock = time.UnixMilli(start).UTC()
	rare := w.hasRare(n)
	ts := start
	for j := range b.Events {
		// Steps of 0–2 ms, bounded so a batch never runs into the next one.
		if step := int64(gen.rng.Intn(3)); ts+step < start+w.batchSpanMs() {
			ts += step
		}
		line := gen.Line()
		if rare && j == size/2 {
			line += " " + RareToken
		}
		b.Events[j] = Event{Timestamp: ts, Message: line}
	}
	return b
}

// Stats are what the queries need to know about the whole workload.
type Stats struct {
	Events       int64
	MessageBytes int64   // all messages
	Group0Bytes  int64   // messages of the first group, the one queries read
	Group0Times  []int64 // sorted timestamps of the first group's events
	RareMatches  int     // events with RareToken in the first group
	// CommonMatches and CommonBytes are the first group's events holding
	// CommonTerm and their message bytes: what a full scan must return.
	CommonMatches int
	CommonBytes   int64
	group0        []timedSize // the first group's events, by timestamp
}

type timedSize struct{ ts, size int64 }

// RangeBytes is how many events of the first group lie in [from, to) and
// their message bytes: what a time-range read must return.
func (s *Stats) RangeBytes(from, to int64) (events int, bytes int64) {
	lo, _ := slices.BinarySearchFunc(s.group0, from, func(e timedSize, t int64) int { return cmp.Compare(e.ts, t) })
	for _, e := range s.group0[lo:] {
		if e.ts >= to {
			break
		}
		events++
		bytes += e.size
	}
	return events, bytes
}

// RangeOf returns a time range [from, to) holding about n events of the
// first group, starting at its middle, and exactly how many it holds.
func (s *Stats) RangeOf(n int) (from, to int64, count int) {
	t := s.Group0Times
	if len(t) == 0 {
		return 0, 0, 0
	}
	i := max(0, len(t)/2-n/2)
	from = t[i]
	if i+n < len(t) {
		to = t[i+n]
	} else {
		to = t[len(t)-1] + 1
	}
	// Equal timestamps at either end make the count differ a little from n.
	lo, _ := slices.BinarySearch(t, from)
	hi, _ := slices.BinarySearch(t, to)
	return from, to, hi - lo
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD,
// as encoding/json does, so both encoders below carry the same text.
func appendJSONString(dst []byte, s string) []byte { return jsonenc.AppendString(dst, s) }

// AppendPutLogEvents appends the PutLogEvents request body for b.
func AppendPutLogEvents(dst []byte, b Batch) []byte {
	dst = append(dst, `{"logGroupName":`...)
	dst = appendJSONString(dst, b.Group)
	dst = append(dst, `,"logStreamName":`...)
	dst = appendJSONString(dst, b.Stream)
	dst = append(dst, `,"logEvents":[`...)
	for i, e := range b.Events {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"timestamp":`...)
		dst = strconv.AppendInt(dst, e.Timestamp, 10)
		dst = append(dst, `,"message":`...)
		dst = appendJSONString(dst, e.Message)
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// VLStreamFields are the fields that name a VictoriaLogs log stream: the
// group and stream of the CloudWatch Logs model, so both systems keep the
// same streams apart.
const VLStreamFields = "group,stream"

// AppendJSONLines appends b as VictoriaLogs JSON lines, one object per
// event: _time (RFC 3339, milliseconds, UTC), group, stream, _msg. This is
// what a log shipper sends; the group and stream repeat on every line
// because the format has no batch header (VictoriaLogs stores them once per
// stream).
func AppendJSONLines(dst []byte, b Batch) []byte {
	for _, e := range b.Events {
		dst = append(dst, `{"_time":"`...)
		dst = time.UnixMilli(e.Timestamp).UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z")
		dst = append(dst, `","group":`...)
		dst = appendJSONString(dst, b.Group)
		dst = append(dst, `,"stream":`...)
		dst = appendJSONString(dst, b.Stream)
		dst = append(dst, `,"_msg":`...)
		dst = appendJSONString(dst, e.Message)
		dst = append(dst, "}\n"...)
	}
	return dst
}
