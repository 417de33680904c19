package logs

import (
	"slices"
	"strconv"

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
	dst = appendArray(dst, o.Events, func(dst []byte, e *OutputLogEvent) []byte {
		dst = append(dst, `{"timestamp":`...)
		dst = strconv.AppendInt(dst, e.Timestamp, 10)
		dst = append(dst, `,"message":`...)
		dst = protocol.AppendJSONString(dst, e.Message)
		dst = append(dst, `,"ingestionTime":`...)
		dst = strconv.AppendInt(dst, e.IngestionTime, 10)
		return append(dst, '}')
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
	dst = appendArray(dst, o.Events, func(dst []byte, e *FilteredLogEvent) []byte {
		dst = append(dst, `{"logStreamName":`...)
		dst = protocol.AppendJSONString(dst, e.LogStreamName)
		dst = append(dst, `,"timestamp":`...)
		dst = strconv.AppendInt(dst, e.Timestamp, 10)
		dst = append(dst, `,"message":`...)
		dst = protocol.AppendJSONString(dst, e.Message)
		dst = append(dst, `,"ingestionTime":`...)
		dst = strconv.AppendInt(dst, e.IngestionTime, 10)
		dst = append(dst, `,"eventId":`...)
		dst = protocol.AppendJSONString(dst, e.EventID)
		return append(dst, '}')
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
func eventIDs(evs []store.StoredEvent) []string {
	if len(evs) == 0 {
		return nil
	}
	buf := make([]byte, 0, 56*len(evs))
	ends := make([]int, len(evs))
	for i, e := range evs {
		buf = e.Pos.AppendID(buf)
		ends[i] = len(buf)
	}
	all := string(buf)
	ids := make([]string, len(evs))
	start := 0
	for i, end := range ends {
		ids[i], start = all[start:end], end
	}
	return ids
}
