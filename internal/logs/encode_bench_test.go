package logs

import (
	"fmt"
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/store"
)

// BenchmarkFilterPage builds and encodes one full FilterLogEvents page of
// the bench's lines (7,700 events: the 1 MB limit), as the handler does:
// event IDs, the output's events, AppendJSON into a reused buffer.
func BenchmarkFilterPage(b *testing.B) {
	evs, size := benchPageEvents()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		out := &FilterLogEventsOutput{Events: make([]FilteredLogEvent, len(evs)), SearchedLogStreams: []SearchedLogStream{}}
		ids := eventIDs(evs)
		for i, e := range evs {
			out.Events[i] = FilteredLogEvent{LogStreamName: e.Stream, Timestamp: e.Timestamp, Message: e.Message, IngestionTime: e.IngestionTime, EventID: ids[i]}
		}
		buf = out.AppendJSON(buf[:0])
	}
}

// benchPageEvents is one full FilterLogEvents page of the bench's lines
// (7,700 events: the 1 MB limit) and the bytes of its messages.
func benchPageEvents() ([]store.StoredEvent, int) {
	gen := bench.NewLineGen(1)
	evs := make([]store.StoredEvent, 7700)
	size := 0
	for i := range evs {
		p := store.Position{Time: 1_764_600_000_000 + int64(i/3), Seq: uint64(1000 + i/1000), Index: uint32(i % 1000)}
		evs[i] = store.StoredEvent{Stream: fmt.Sprintf("s%d", i/1000), Timestamp: p.Time, IngestionTime: 1_764_600_100_000, Message: gen.Line(), Pos: p}
		size += len(evs[i].Message)
	}
	return evs, size
}
