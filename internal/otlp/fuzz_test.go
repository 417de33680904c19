package otlp_test

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/cairnlog/cairn/internal/otlp"
)

func fuzzDecode(t *testing.T, b []byte, kind string) {
	req, err := otlp.Decode(b, kind)
	if err != nil {
		return
	}
	for _, e := range otlp.Events(req, 1) {
		if !json.Valid([]byte(e.Message)) || !utf8.ValidString(e.Message) {
			t.Fatalf("event %q is not valid JSON", e.Message)
		}
		if e.TimestampMs < 0 {
			t.Fatalf("timestamp %d", e.TimestampMs)
		}
	}
}

// FuzzDecodeProtobuf: any bytes decode or fail cleanly, and what decodes
// becomes valid JSON events.
func FuzzDecodeProtobuf(f *testing.F) {
	f.Add(protoSeed())
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) { fuzzDecode(t, b, "protobuf") })
}

// FuzzDecodeJSON: the same for OTLP/JSON.
func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"resourceLogs":[{"resource":{"attributes":[{"key":"a","value":{"stringValue":"b"}}]},"scopeLogs":[{"scope":{"name":"s"},` +
		`"logRecords":[{"timeUnixNano":"1741900000000000000","body":{"kvlistValue":{"values":[{"key":"k","value":{"doubleValue":1.5}}]}},` +
		`"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}]}]}]}`))
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"arrayValue":{"values":[{"bytesValue":"AAE="}]}}}]}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) { fuzzDecode(t, b, "json") })
}
