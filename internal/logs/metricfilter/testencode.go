package metricfilter

import (
	"context"
	"io"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/protocol"
)

// TestMetricFilterOutput is TestMetricFilter's answer: the matching
// messages, whose extractedValues the encoder computes as it writes them.
// It goes to the wire as a protocol.Streamer (the body is written in chunks
// of about streamChunk bytes, never held whole) and to json.Marshal through
// MarshalJSON, with the same bytes.
type TestMetricFilterOutput struct {
	Matches []MetricFilterMatchRecord
	pattern logs.Pattern
	enc     *matchEncoder // the one that matched, whose scratch Stream reuses
}

// MetricFilterMatchRecord is one matching message: the wire's
// MetricFilterMatchRecord less its extractedValues, which are extracted
// again when it is encoded (a record holds no map and no values).
type MetricFilterMatchRecord struct {
	EventNumber  int64
	EventMessage string
}

// streamChunk is how much of the answer is written at a time: large enough
// that writes are few, small beside the request's own 8 MB.
const streamChunk = 64 << 10

// ContentType implements protocol.Streamer.
func (o *TestMetricFilterOutput) ContentType() string { return "application/x-amz-json-1.1" }

// Stream implements protocol.Streamer: the JSON object json.Marshal writes
// for the answer (MarshalJSON), in chunks.
func (o *TestMetricFilterOutput) Stream(ctx context.Context, w io.Writer, _ func()) error {
	e := o.enc
	if e == nil {
		e = newMatchEncoder(o.pattern)
	}
	e.w, e.buf, e.err = w, make([]byte, 0, streamChunk+streamChunk/4), nil
	e.encode(ctx, o.Matches)
	return e.finish()
}

// MarshalJSON is the answer as one JSON object, byte for byte what
// json.Marshal writes for the wire shape ({"matches":[{"eventNumber",
// "eventMessage","extractedValues":{...}}]}, map keys sorted).
func (o *TestMetricFilterOutput) MarshalJSON() ([]byte, error) {
	e := newMatchEncoder(o.pattern)
	e.encode(context.Background(), o.Matches)
	return e.buf, e.err
}

// valuesExtractor is implemented by *pattern.Pattern (event.go's).
var _ valuesExtractor = (*pattern.Pattern)(nil)

// matchEncoder writes match records into buf, and buf to w whenever it
// holds streamChunk bytes (w nil: buf keeps everything). Its scratch (the
// values of one message, their keys and their order) is reused from one
// message to the next, so what it holds is bounded by the largest message's
// fields, not by the answer.
type matchEncoder struct {
	p   logs.Pattern
	vx  valuesExtractor // nil: other Pattern implementations, through Extract's map
	vm  viewMatcher     // when set, vx extracts through view (its split is reused)
	w   io.Writer
	buf []byte
	err error // the first write error; nothing is written after it

	view  pattern.View
	vals  pattern.Values
	keys  []byte  // the keys of vals, one after the other
	ends  []int32 // key i is keys[ends[i-1]:ends[i]]
	order []int32 // indices into vals, sorted by key
	mkeys []string
}

func newMatchEncoder(p logs.Pattern) *matchEncoder {
	e := &matchEncoder{p: p}
	e.vx, _ = p.(valuesExtractor)
	e.vm, _ = p.(viewMatcher)
	return e
}

// match reports whether msg matches, through the encoder's view when the
// pattern has one: a space-delimited pattern's split of each message then
// reuses the last one's memory, and so does the extraction that follows.
func (e *matchEncoder) match(msg string) bool {
	if e.vm == nil {
		return e.p.Match(msg)
	}
	e.view.Reset(msg)
	return e.vm.MatchView(&e.view)
}

func (e *matchEncoder) encode(ctx context.Context, ms []MetricFilterMatchRecord) {
	e.buf = append(e.buf, `{"matches":[`...)
	for i := range ms {
		if e.err == nil {
			e.err = ctx.Err()
		}
		if e.err != nil {
			return
		}
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.record(&ms[i])
	}
	e.buf = append(e.buf, "]}"...)
}

func (e *matchEncoder) finish() error {
	if e.err == nil && len(e.buf) > 0 {
		_, e.err = e.w.Write(e.buf)
		e.buf = e.buf[:0]
	}
	return e.err
}

// spill writes buf out once it holds a chunk.
func (e *matchEncoder) spill() {
	if e.w == nil || len(e.buf) < streamChunk || e.err != nil {
		return
	}
	_, e.err = e.w.Write(e.buf)
	e.buf = e.buf[:0]
}

func (e *matchEncoder) record(m *MetricFilterMatchRecord) {
	e.buf = append(e.buf, `{"eventNumber":`...)
	e.buf = strconv.AppendInt(e.buf, m.EventNumber, 10)
	e.buf = append(e.buf, `,"eventMessage":`...)
	e.spill()
	e.buf = protocol.AppendJSONString(e.buf, m.EventMessage)
	e.spill()
	e.buf = append(e.buf, `,"extractedValues":{`...)
	if e.vx != nil {
		e.values(m.EventMessage)
	} else {
		e.mapValues(m.EventMessage)
	}
	e.buf = append(e.buf, "}}"...)
	e.spill()
}

func (e *matchEncoder) key(ks string, i int32) string {
	start := int32(0)
	if i > 0 {
		start = e.ends[i-1]
	}
	return ks[start:e.ends[i]]
}

// values writes the values of msg as a JSON object's members: sorted by
// key, and a key set twice with its last value, as json.Marshal writes the
// map Extract returns.
func (e *matchEncoder) values(msg string) {
	v := &e.vals
	var ok bool
	if e.vm != nil {
		e.view.Reset(msg)
		ok = e.vm.ExtractValuesView(&e.view, v)
	} else {
		ok = e.vx.ExtractValues(msg, v)
	}
	if !ok {
		return // cannot happen: msg matched
	}
	n := v.Len()
	e.keys, e.ends, e.order = e.keys[:0], e.ends[:0], e.order[:0]
	for i := range n {
		e.keys = v.AppendKey(e.keys, i)
		e.ends = append(e.ends, int32(len(e.keys)))
		e.order = append(e.order, int32(i))
	}
	// The keys as one string, sharing keys' memory (which is not written
	// again before the next message): a copy was the encoder's largest
	// allocation.
	ks := unsafe.String(unsafe.SliceData(e.keys), len(e.keys))
	slices.SortStableFunc(e.order, func(a, b int32) int { return strings.Compare(e.key(ks, a), e.key(ks, b)) })
	first := true
	for j, i := range e.order {
		if j+1 < n && e.key(ks, i) == e.key(ks, e.order[j+1]) {
			continue // a later value of the same key follows
		}
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		e.buf = protocol.AppendJSONString(e.buf, e.key(ks, i))
		e.buf = append(e.buf, ':')
		e.buf = protocol.AppendJSONString(e.buf, v.Text(int(i)))
		e.spill()
	}
}

// mapValues is values for a Pattern that extracts only into a map.
func (e *matchEncoder) mapValues(msg string) {
	_, m := e.p.Extract(msg)
	e.mkeys = e.mkeys[:0]
	for k := range m {
		e.mkeys = append(e.mkeys, k)
	}
	slices.Sort(e.mkeys)
	for j, k := range e.mkeys {
		if j > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = protocol.AppendJSONString(e.buf, k)
		e.buf = append(e.buf, ':')
		e.buf = protocol.AppendJSONString(e.buf, m[k])
		e.spill()
	}
}
