package eventstream

import "io"

// ContentType is the media type of an event-stream response body.
const ContentType = "application/vnd.amazon.eventstream"

// Writer writes an AWS event-stream response the way the SDKs read one: every
// message is an event or an exception with a JSON payload, named by its
// headers. It is how any streaming operation (Live Tail today; the console,
// GetLogObject) turns its payloads into frames, so they all stream the same
// way. Flush pushes what was written to the client; the protocol layer gives
// it the response's flush.
type Writer struct {
	enc   *Encoder
	flush func()
}

// NewWriter returns a Writer that writes frames to w and flushes them with
// flush (nil: frames go out when w sends them).
func NewWriter(w io.Writer, flush func()) *Writer {
	if flush == nil {
		flush = func() {}
	}
	return &Writer{enc: NewEncoder(w), flush: flush}
}

// Event writes one event message: ":message-type" event, ":event-type" typ
// (the member of the stream's union, e.g. "sessionUpdate"), JSON payload.
// The initial-response event an SDK expects first is Event("initial-response",
// []byte("{}")).
func (w *Writer) Event(typ string, payload []byte) error {
	return w.enc.Encode(Message{
		Headers: []Header{
			String(":message-type", "event"),
			String(":event-type", typ),
			String(":content-type", "application/json"),
		},
		Payload: payload,
	})
}

// Exception writes a modelled exception that ends the stream: ":message-type"
// exception, ":exception-type" typ (e.g. "SessionTimeoutException"), and a
// JSON payload, {"message": ...} for AWS's exceptions.
func (w *Writer) Exception(typ string, payload []byte) error {
	return w.enc.Encode(Message{
		Headers: []Header{
			String(":message-type", "exception"),
			String(":exception-type", typ),
			String(":content-type", "application/json"),
		},
		Payload: payload,
	})
}

// Flush sends the frames written so far to the client.
func (w *Writer) Flush() { w.flush() }
