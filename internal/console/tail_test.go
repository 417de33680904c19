package console

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cairnlog/cairn/internal/eventstream"
)

func frame(t testing.TB, typ string, exception bool, payload string) []byte {
	h := []eventstream.Header{eventstream.String(":message-type", "event"), eventstream.String(":event-type", typ)}
	if exception {
		h = []eventstream.Header{eventstream.String(":message-type", "exception"), eventstream.String(":exception-type", typ)}
	}
	b, err := eventstream.AppendMessage(nil, eventstream.Message{Headers: h, Payload: []byte(payload)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTailRelay(t *testing.T) {
	var stream []byte
	stream = append(stream, frame(t, "sessionStart", false, `{"sessionId":"x"}`)...)
	stream = append(stream, frame(t, "sessionUpdate", false, `{"sessionResults":[{"message":"a\nb"}]}`)...)
	stream = append(stream, frame(t, "SessionTimeoutException", true, `{"message":"done"}`)...)
	want := `{"event":"sessionStart","data":{"sessionId":"x"}}` + "\n" +
		`{"event":"sessionUpdate","data":{"sessionResults":[{"message":"a\nb"}]}}` + "\n" +
		`{"exception":"SessionTimeoutException","data":{"message":"done"}}` + "\n"
	// Whole, and one byte at a time: frames split across writes.
	for _, step := range []int{len(stream), 1, 7} {
		var out bytes.Buffer
		r := newTailRelay(&out)
		for i := 0; i < len(stream); i += step {
			if _, err := r.Write(stream[i:min(len(stream), i+step)]); err != nil {
				t.Fatal(err)
			}
		}
		if out.String() != want {
			t.Fatalf("step %d:\n%s\nwant\n%s", step, out.String(), want)
		}
	}
	// A frame whose length claims more than the bound is refused, not
	// buffered.
	var out bytes.Buffer
	if _, err := newTailRelay(&out).Write([]byte{0x7f, 0xff, 0xff, 0xff}); err == nil {
		t.Fatal("a 2 GiB frame length was accepted")
	}
}

// FuzzTailRelay feeds arbitrary bytes in arbitrary pieces: the relay never
// panics, and every line it writes is one JSON object.
func FuzzTailRelay(f *testing.F) {
	f.Add(frame(f, "sessionUpdate", false, `{"a":1}`), uint8(3))
	f.Add(append(frame(f, "x", true, `not json`), 0, 0, 0), uint8(1))
	f.Add([]byte{0, 0, 0, 16, 0, 0, 0, 0}, uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		n := int(step%32) + 1
		var out bytes.Buffer
		r := newTailRelay(&out)
		for i := 0; i < len(data); i += n {
			if _, err := r.Write(data[i:min(len(data), i+n)]); err != nil {
				break
			}
		}
		for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
			if l == "" {
				continue
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
		}
	})
}
