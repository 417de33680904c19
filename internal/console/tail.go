package console

import (
	"encoding/binary"
	"encoding/json"
	"io"

	"github.com/cairnlog/cairn/internal/eventstream"
)

// tailRelay turns Live Tail's event stream (AWS's binary event-stream
// framing, as the API writes it) into newline-delimited JSON a browser reads
// with fetch: one {"event": type, "data": payload} line per frame, or
// {"exception": type, "data": payload}. The frames come from our own
// encoder, so a frame that does not parse is a bug, answered as an error
// that ends the stream.
type tailRelay struct {
	w   io.Writer
	buf []byte
	out []byte
}

func newTailRelay(w io.Writer) *tailRelay { return &tailRelay{w: w} }

// maxRelayFrame bounds the bytes held for one frame (Live Tail frames are
// far smaller; eventstream's own limit is 16 MiB).
const maxRelayFrame = 16 << 20

type relayLine struct {
	Event     string          `json:"event,omitempty"`
	Exception string          `json:"exception,omitempty"`
	Data      json.RawMessage `json:"data"`
}

func (t *tailRelay) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	t.out = t.out[:0]
	for len(t.buf) >= 4 {
		total := int(binary.BigEndian.Uint32(t.buf))
		if total > maxRelayFrame {
			return 0, eventstream.ErrTooLarge
		}
		if len(t.buf) < total {
			break
		}
		m, err := eventstream.Parse(t.buf[:total])
		if err != nil {
			return 0, err
		}
		t.buf = t.buf[total:]
		line := relayLine{Data: json.RawMessage(m.Payload)}
		if !json.Valid(m.Payload) {
			line.Data = json.RawMessage("null")
		}
		switch m.Header(":message-type") {
		case "exception":
			line.Exception = m.Header(":exception-type")
		default:
			line.Event = m.Header(":event-type")
		}
		b, err := json.Marshal(line)
		if err != nil {
			return 0, err
		}
		t.out = append(append(t.out, b...), '\n')
	}
	if len(t.buf) == 0 {
		t.buf = t.buf[:0:0] // release a large frame's memory
	}
	if len(t.out) > 0 {
		if _, err := t.w.Write(t.out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}
