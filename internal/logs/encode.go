package logs

import (
	"runtime"
	"slices"
	"strconv"
	"sync"
	"unsafe"

	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
)

// The read operations' outputs encode themselves (protocol.Appender): a page
// holds up to 10,000 events and reflection-driven encoding was most of a
// page's CPU. The bytes are json.Marshal's for the same struct, member
// order and all (encode_test.go compares them), so clients see no change.

// AppendJSON implements protocol.Appender.
func (o *GetLogEventsOutput) AppendJSON(dst []byte) []byte {
	if o == nil {
		return append(dst, "null"...)
	}
	size := 100
	for i := range o.Events {
		size += len(o.Events[i].Message) + 64
	}
	dst = slices.Grow(dst, size) // one allocation when the pool had no buffer
	dst = append(dst, `{"events":`...)
	dst = appendEvents(dst, o.Events, func(dst []byte, evs []OutputLogEvent) []byte {
		var ts, ing intDigits
		for i := range evs {
			e := &evs[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"timestamp":`...)
			dst = ts.append(dst, e.Timestamp)
			dst = append(dst, `,"message":`...)
			dst = protocol.AppendJSONString(dst, e.Message)
			dst = append(dst, `,"ingestionTime":`...)
			dst = ing.append(dst, e.IngestionTime)
			dst = append(dst, '}')
		}
		return dst
	})
	dst = append(dst, `,"nextForwardToken":`...)
	dst = protocol.AppendJSONString(dst, o.NextForwardToken)
	dst = append(dst, `,"nextBackwardToken":`...)
	dst = protocol.AppendJSONString(dst, o.NextBackwardToken)
	return append(dst, '}')
}

// AppendJSON implements protocol.Appender.
func (o *FilterLogEventsOutput) AppendJSON(dst []byte) []byte {
	if o == nil {
		return append(dst, "null"...)
	}
	size := 100 + len(o.NextToken)
	for i := range o.Events {
		size += len(o.Events[i].Message) + len(o.Events[i].LogStreamName) + 160
	}
	dst = slices.Grow(dst, size) // one allocation when the pool had no buffer
	dst = append(dst, `{"events":`...)
	dst = appendEvents(dst, o.Events, func(dst []byte, evs []FilteredLogEvent) []byte {
		var ts, ing intDigits
		var stream streamName
		for i := range evs {
			e := &evs[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"logStreamName":`...)
			dst = stream.append(dst, e.LogStreamName)
			dst = append(dst, `,"timestamp":`...)
			dst = ts.append(dst, e.Timestamp)
			dst = append(dst, `,"message":`...)
			dst = protocol.AppendJSONString(dst, e.Message)
			dst = append(dst, `,"ingestionTime":`...)
			dst = ing.append(dst, e.IngestionTime)
			dst = append(dst, `,"eventId":`...)
			dst = appendID(dst, e.EventID)
			dst = append(dst, '}')
		}
		return dst
	})
	dst = append(dst, `,"searchedLogStreams":`...)
	dst = appendArray(dst, o.SearchedLogStreams, func(dst []byte, s *SearchedLogStream) []byte {
		dst = append(dst, `{"logStreamName":`...)
		dst = protocol.AppendJSONString(dst, s.LogStreamName)
		dst = append(dst, `,"searchedCompletely":`...)
		dst = strconv.AppendBool(dst, s.SearchedCompletely)
		return append(dst, '}')
	})
	if o.NextToken != "" {
		dst = append(dst, `,"nextToken":`...)
		dst = protocol.AppendJSONString(dst, o.NextToken)
	}
	return append(dst, '}')
}

// parallelEvents is the page size from which appendEvents encodes on every
// core: below it the goroutines cost more than they save.
const parallelEvents = 2048

// appendEvents writes evs as a JSON array (null for a nil slice, as
// json.Marshal does); encode appends a run of events, comma-separated.
// A large page is cut into one run per core, encoded at once, and joined
// in order: the reader that asked for it is waiting, and a page's
// encoding was the largest part of its CPU.
func appendEvents[T any](dst []byte, evs []T, encode func([]byte, []T) []byte) []byte {
	if evs == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	parts := min(runtime.GOMAXPROCS(0), len(evs)/(parallelEvents/2))
	if parts < 2 {
		dst = encode(dst, evs)
		return append(dst, ']')
	}
	runs := make([][]byte, parts)
	per := (len(evs) + parts - 1) / parts
	// Each run's buffer is sized from the room the caller made in dst for
	// the whole page (its estimate), by the run's share of the events: a
	// run grown from nothing doubled its way up to ~0.5 MB, copying and
	// allocating at each step (growslice was a third of the encoding's CPU
	// in BenchmarkTimeRangeRead).
	room := cap(dst) - len(dst)
	var wg sync.WaitGroup
	for p := 1; p < parts; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lo, hi := p*per, min((p+1)*per, len(evs))
			runs[p] = encode(make([]byte, 0, room/len(evs)*(hi-lo)+512), evs[lo:hi])
		}()
	}
	dst = encode(dst, evs[:per])
	wg.Wait()
	for _, r := range runs[1:] {
		dst = append(dst, ',')
		dst = append(dst, r...)
	}
	return append(dst, ']')
}

// appendArray writes elems as a JSON array (null for a nil slice, as
// json.Marshal does), each element by one.
func appendArray[T any](dst []byte, elems []T, one func([]byte, *T) []byte) []byte {
	if elems == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i := range elems {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = one(dst, &elems[i])
	}
	return append(dst, ']')
}

// eventIDs formats the events' IDs into one string and slices it: two
// allocations for a page instead of one (and a fmt call) per event.
// Consecutive events mostly share their timestamp's leading digits and
// their block's sequence, so each part is formatted only when it changes
// (idDigits).
func eventIDs(evs []store.StoredEvent) []string {
	if len(evs) == 0 {
		return nil
	}
	buf := make([]byte, 0, 56*len(evs))
	var d idDigits
	for _, e := range evs {
		buf = d.append(buf, e.Pos)
	}
	if len(buf) != 56*len(evs) {
		panic("BUG: an event ID is not 56 digits")
	}
	all := unsafe.String(unsafe.SliceData(buf), len(buf)) // buf is never written again
	ids := make([]string, len(evs))
	for i := range ids {
		ids[i] = all[56*i : 56*i+56]
	}
	return ids
}

// idDigits appends store.Position.ID's 56 digits (19 of time, 20 of
// sequence, 17 of index), keeping the digits of the time above its last
// three and of the sequence from the previous call, to reuse them while
// they do not change (a page's events are a few ms apart, a block's share
// its sequence).
type idDigits struct {
	time         [16]byte // the time's digits above the last three
	seq          [20]byte
	lastT        int64 // time / 1000
	lastS        uint64
	haveT, haveS bool
}

func (d *idDigits) append(dst []byte, p store.Position) []byte {
	if p.Time < 0 {
		return p.AppendID(dst) // no stored event has one
	}
	if high := p.Time / 1000; !d.haveT || high != d.lastT {
		fixedDigits(d.time[:], uint64(high))
		d.lastT, d.haveT = high, true
	}
	if !d.haveS || p.Seq != d.lastS {
		fixedDigits(d.seq[:], p.Seq)
		d.lastS, d.haveS = p.Seq, true
	}
	low := p.Time % 1000
	dst = append(dst, d.time[:]...)
	dst = append(dst, byte('0'+low/100), byte('0'+low/10%10), byte('0'+low%10))
	dst = append(dst, d.seq[:]...)
	// The index is small: zeros, then its few digits from the right.
	dst = append(dst, "00000000000000000"...)
	for i, v := len(dst)-1, p.Index; v > 0; i, v = i-1, v/10 {
		dst[i] = byte('0' + v%10)
	}
	return dst
}

// fixedDigits writes v in decimal into b, zero-padded to len(b) digits
// (v must fit).
func fixedDigits(b []byte, v uint64) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
}

// intDigits appends integers, reusing the digits above the last three from
// the previous call: a page's timestamps and ingestion times mostly share
// them (a few ms apart), so most numbers cost three digits.
type intDigits struct {
	high  int64 // v / 1000 of the cached digits
	valid bool
	buf   [20]byte
	n     int
}

func (d *intDigits) append(dst []byte, v int64) []byte {
	if v < 1000 {
		return strconv.AppendInt(dst, v, 10)
	}
	high := v / 1000
	if !d.valid || high != d.high {
		d.n = len(strconv.AppendInt(d.buf[:0], high, 10))
		d.high, d.valid = high, true
	}
	dst = append(dst, d.buf[:d.n]...)
	low := v % 1000
	return append(dst, byte('0'+low/100), byte('0'+low/10%10), byte('0'+low%10))
}

// streamName appends a stream name as a JSON string, escaping it once for
// the run of events of the same stream (the string is compared first by
// length, then by bytes: the same string data compares at once).
type streamName struct {
	name    string
	escaped []byte
}

func (s *streamName) append(dst []byte, name string) []byte {
	if s.escaped == nil || name != s.name {
		s.name, s.escaped = name, protocol.AppendJSONString(s.escaped[:0], name)
	}
	return append(dst, s.escaped...)
}

// appendID appends an event ID as a JSON string: Cairn's IDs are digits,
// which need no escaping (checked eight bytes a step); anything else goes
// through the escaper.
func appendID(dst []byte, id string) []byte {
	if !allDigits(id) {
		return protocol.AppendJSONString(dst, id)
	}
	dst = append(dst, '"')
	dst = append(dst, id...)
	return append(dst, '"')
}

// allDigits reports whether s is only ASCII digits. A byte is a digit when
// its high nibble is 3 and adding 6 to it keeps it so (0x3A–0x3F carry into
// 0x40–0x45); once the nibble test passed every byte is at most 0x3F, so
// the adds cannot carry from one byte into the next.
func allDigits(s string) bool {
	const nibbles, three, six = 0xF0F0F0F0F0F0F0F0, 0x3030303030303030, 0x0606060606060606
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if x&nibbles != three || (x+six)&nibbles != three {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
