package delivery

import (
	"bytes"
	"encoding/base64"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"

	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
)

// Event is one delivered log event.
type Event struct {
	ID        string // the 56-digit event ID FilterLogEvents reports
	Timestamp int64
	Message   string
	// Ingestion is when the event was stored (ms): the 24-hour retry window
	// and the lag are measured from it. Not part of the payload.
	Ingestion int64
	// encoded is the event's logEvents element when another follower of
	// the group encoded it already (sharedBlocks); nil: encode it here.
	encoded []byte
	// fields is the event's extractedFields object (Filter.Fields), nil
	// when it has none.
	fields []byte
}

// Record is one payload: the events of one log stream (DATA_MESSAGE), or a
// CONTROL_MESSAGE.
type Record struct {
	Control     bool
	Owner       string
	Group       string
	Stream      string
	Filters     []string
	PolicyLevel string
	Events      []Event
	// PartitionKey is the Kinesis partition key (ByLogStream: the stream;
	// Random: random).
	PartitionKey string

	// A lean record (build, for a sink that sends the payload alone:
	// payloadOnly) has no Events: n events, the oldest ingested at oldest,
	// the first and last with ids firstID and lastID, all of them in page
	// (the feed page's events it was built from, valid while the follower
	// delivers it) at runs, and its payload in pieces. events() makes its
	// Events from the page when a slower path needs them (a split, a
	// failure).
	n               int
	oldest          int64
	firstID, lastID string
	page            []store.StoredEvent
	runs            []pageRun
	// What build tracks of a record while it adds events: its estimated
	// size, the last event's timestamp, whether one came before an
	// earlier's, whether one had no shared block.
	bsize               int
	lastTS              int64
	unsorted, pieceless bool

	// pieces, when set, are the record's events as runs of shared encoded
	// blocks, in order (build sets them; split and a re-sort drop them):
	// the JSON copies each run at once, and the gzip joins the runs'
	// segments deflated once for the group (gzipjoin.go).
	pieces []piece

	json, gz []byte
	// jsonN is the JSON's length once jsonSize measured it from the
	// pieces without building it (0: not measured).
	jsonN int
	// spare are buffers of an earlier record, acknowledged and released,
	// for json and gz to reuse (follower.release): a record of 1,000
	// events is ~220 KB of JSON, which allocating afresh zeroes every time.
	spareJSON, spareGz []byte
}

// pageRun is the run of a lean record's events from..to-1 of its page.
type pageRun struct{ from, to int }

// count is the number of the record's events.
func (r *Record) count() int {
	if r.Events == nil {
		return r.n
	}
	return len(r.Events)
}

// events are the record's events: Events, made first from the page for a
// lean record.
func (r *Record) events() []Event {
	if r.Events == nil && r.n > 0 {
		r.Events = make([]Event, 0, r.n)
		r.Events = appendPageEvents(r.Events, r.page, r.runs, nil)
	}
	return r.Events
}

// oldestIngestion is the earliest ingestion time of the record's events.
func (r *Record) oldestIngestion() int64 {
	if r.Events == nil {
		return r.oldest
	}
	oldest := int64(0)
	for _, e := range r.Events {
		if oldest == 0 || e.Ingestion < oldest {
			oldest = e.Ingestion
		}
	}
	return oldest
}

// edgeIDs are the ids of the record's first and last events.
func (r *Record) edgeIDs() (string, string) {
	if r.Events == nil {
		return r.firstID, r.lastID
	}
	if len(r.Events) == 0 {
		return "", ""
	}
	return r.Events[0].ID, r.Events[len(r.Events)-1].ID
}

// appendPageEvents appends the Event of each page event in runs, in
// order, with its id (one string for them all) and, where shared (by page
// index; nil: none) has its block, its encoding there.
func appendPageEvents(dst []Event, page []store.StoredEvent, runs []pageRun, shared []*encodedBlock) []Event {
	n := 0
	for _, ru := range runs {
		n += ru.to - ru.from
	}
	buf := make([]byte, 0, n*idLen)
	for _, ru := range runs {
		for i := ru.from; i < ru.to; i++ {
			at := len(buf)
			var q store.Position
			var prev []byte
			if i > ru.from {
				q, prev = page[i-1].Pos, buf[at-idLen:at]
			}
			buf = appendID(buf, page[i].Pos, q, prev, i > ru.from)
			if len(buf)-at != idLen { // cannot be (idLen), but keep every id its own length
				buf = buf[:at]
				return appendPageEventsEach(dst, page, runs, shared)
			}
		}
	}
	ids := string(buf)
	off := 0
	for _, ru := range runs {
		for i := ru.from; i < ru.to; i++ {
			e := &page[i]
			ev := Event{ID: ids[off : off+idLen], Timestamp: e.Timestamp, Message: e.Message, Ingestion: e.IngestionTime}
			off += idLen
			if shared != nil && shared[i] != nil {
				ev.encoded, _ = shared[i].event(e.Pos.Index)
			}
			dst = append(dst, ev)
		}
	}
	return dst
}

// appendPageEventsEach is appendPageEvents with a string per id.
func appendPageEventsEach(dst []Event, page []store.StoredEvent, runs []pageRun, shared []*encodedBlock) []Event {
	for _, ru := range runs {
		for i := ru.from; i < ru.to; i++ {
			e := &page[i]
			ev := Event{ID: string(e.Pos.AppendID(nil)), Timestamp: e.Timestamp, Message: e.Message, Ingestion: e.IngestionTime}
			if shared != nil && shared[i] != nil {
				ev.encoded, _ = shared[i].event(e.Pos.Index)
			}
			dst = append(dst, ev)
		}
	}
	return dst
}

// piece is the run of a record's events from..to-1 of an encoded block.
type piece struct {
	blk      *encodedBlock
	from, to int
}

// controlText is what a CONTROL_MESSAGE says for each vendor (reference
// §2.3; Lambda's text is unsettled in the sources, Cairn uses the longer).
func controlText(vendor string) string {
	switch vendor {
	case "kinesis":
		return "CWL CONTROL MESSAGE: Checking health of destination Kinesis stream."
	case "firehose":
		return "CWL CONTROL MESSAGE: Checking health of destination Firehose."
	case "lambda":
		return "CWL CONTROL MESSAGE: Checking health of destination Lambda function."
	}
	return "CWL CONTROL MESSAGE: Checking health of destination."
}

// newControl is the record AWS sends when a filter is created: owner
// "CloudwatchLogs", empty group and stream, no filters, one event without id.
func newControl(vendor string, now int64) *Record {
	return &Record{Control: true, Owner: "CloudwatchLogs", Filters: []string{}, PartitionKey: "CloudwatchLogs",
		Events: []Event{{Timestamp: now, Message: controlText(vendor), Ingestion: now}}}
}

// JSON is the record's payload before compression, keys in AWS's order.
func (r *Record) JSON() []byte {
	if r.json != nil {
		return r.json
	}
	// Room for the escapes a message may need (JSON lines quote their
	// keys, each quote escaped), so the buffer is not grown and copied.
	n := 200 + len(r.Group) + len(r.Stream)
	if r.pieces != nil {
		n = r.jsonSize()
	} else {
		for i := range r.Events {
			n += 64 + len(r.Events[i].ID) + len(r.Events[i].Message)*9/8 + len(r.Events[i].fields)
		}
	}
	b := r.spareJSON[:0]
	if cap(b) < n {
		b = make([]byte, 0, n)
	}
	r.spareJSON = nil
	b = r.appendHead(b)
	if r.pieces != nil {
		for i, p := range r.pieces {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, p.blk.span(p.from, p.to)...)
		}
	} else {
		for i := range r.Events {
			e := &r.Events[i]
			if i > 0 {
				b = append(b, ',')
			}
			switch {
			case e.encoded != nil:
				b = append(b, e.encoded...)
			case e.fields != nil:
				b = appendEventFields(b, e.ID, e.Timestamp, e.Message, e.fields)
			default:
				b = appendEvent(b, e.ID, e.Timestamp, e.Message)
			}
		}
	}
	b = append(b, "]}"...)
	r.json = b
	return b
}

// jsonSize is len(r.JSON()), measured from the record's pieces when it
// has them, so a sink that writes the pieces where they stand
// (writeJSON) does not build the JSON to learn its size.
func (r *Record) jsonSize() int {
	if r.json != nil || r.pieces == nil {
		return len(r.JSON())
	}
	if r.jsonN == 0 {
		var head [512]byte
		n := len(r.appendHead(head[:0])) + len("]}")
		for i, p := range r.pieces {
			if i > 0 {
				n++ // the comma between runs
			}
			n += p.blk.ends[p.to-1] - p.blk.start(p.from)
		}
		r.jsonN = n
	}
	return r.jsonN
}

// writeJSON writes r.JSON() to w: from the pieces where they stand (the
// shared blocks' bytes, no copy into a record's buffer), or the JSON. The
// first error ends it.
func (r *Record) writeJSON(w io.Writer) error {
	if r.json != nil || r.pieces == nil {
		_, err := w.Write(r.JSON())
		return err
	}
	var head [512]byte
	if _, err := w.Write(r.appendHead(head[:0])); err != nil {
		return err
	}
	for i, p := range r.pieces {
		if i > 0 {
			if _, err := w.Write(comma); err != nil {
				return err
			}
		}
		if _, err := w.Write(p.blk.span(p.from, p.to)); err != nil {
			return err
		}
	}
	_, err := w.Write(closing)
	return err
}

var (
	comma   = []byte(",")
	closing = []byte("]}")
)

// appendHead is the payload up to its first event: every key but the
// events' own, in AWS's order, and the opening of logEvents.
func (r *Record) appendHead(b []byte) []byte {
	if r.Control {
		b = append(b, `{"messageType":"CONTROL_MESSAGE","owner":`...)
	} else {
		b = append(b, `{"messageType":"DATA_MESSAGE","owner":`...)
	}
	b = protocol.AppendJSONString(b, r.Owner)
	b = append(b, `,"logGroup":`...)
	b = protocol.AppendJSONString(b, r.Group)
	b = append(b, `,"logStream":`...)
	b = protocol.AppendJSONString(b, r.Stream)
	b = append(b, `,"subscriptionFilters":[`...)
	for i, f := range r.Filters {
		if i > 0 {
			b = append(b, ',')
		}
		b = protocol.AppendJSONString(b, f)
	}
	b = append(b, ']')
	if r.PolicyLevel != "" {
		b = append(b, `,"policyLevel":`...)
		b = protocol.AppendJSONString(b, r.PolicyLevel)
	}
	return append(b, `,"logEvents":[`...)
}

// gzipPool keeps compressors of one level between records; each sink has
// its own.
type gzipPool struct {
	level int
	p     sync.Pool // *gzip.Writer
	fp    sync.Pool // *flate.Writer, for segments (gzipjoin.go)
}

// Gzip is the payload as every AWS target receives it: gzip of JSON, at the
// sink's level (SinkConfig.GzipLevel: AWS documents the format, "compressed
// with the GZIP format", not a level).
func (r *Record) gzip(pool *gzipPool) []byte {
	if r.gz != nil {
		return r.gz
	}
	if r.pieces != nil && pool.level >= 0 && pool.level <= 9 { // the levels a sink may have (gzip_level)
		r.gz = r.gzipJoined(pool)
		return r.gz
	}
	js := r.JSON()
	buf := bytes.NewBuffer(r.spareGz[:0])
	r.spareGz = nil
	if pool.level == 0 {
		buf.Grow(len(js) + len(js)/16000*5 + 64) // stored blocks: the JSON and 5 bytes a block
	} else {
		buf.Grow(len(js)/4 + 64)
	}
	w, _ := pool.p.Get().(*gzip.Writer)
	if w == nil {
		w, _ = gzip.NewWriterLevel(buf, pool.level)
	} else {
		w.Reset(buf)
	}
	w.Write(js)
	w.Close()
	pool.p.Put(w)
	r.gz = buf.Bytes()
	return r.gz
}

// lambdaEvent is Lambda's form of a payload: {"awslogs":{"data":base64}}.
func lambdaEvent(gz []byte) []byte {
	b := make([]byte, 0, base64.StdEncoding.EncodedLen(len(gz))+24)
	b = append(b, `{"awslogs":{"data":"`...)
	b = base64.StdEncoding.AppendEncode(b, gz)
	return append(b, `"}}`...)
}

// eventJSONSize estimates a record's JSON size for one more event (its
// share of the payload), so records are cut before the target's limit.
func eventJSONSize(e *Event) int {
	n := eventSize(len(e.ID), len(e.Message))
	if e.fields != nil {
		n += len(`,"extractedFields":`) + len(e.fields)
	}
	return n
}

// eventSize is eventJSONSize of an event of an id and message so long.
func eventSize(idN, msgN int) int { return 60 + idN + msgN*6/5 }
