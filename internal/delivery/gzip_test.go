package delivery

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// TestGzipLevels: every configured level yields a payload the standard
// library's gzip reader (an independent decoder) turns back into the same
// JSON, and a level outside 0–9 is a configuration error.
func TestGzipLevels(t *testing.T) {
	for _, lvl := range []int{0, 1, 6, 9} {
		r := &Record{Owner: "000000000000", Group: "g", Stream: "s", Filters: []string{"f"},
			Events: []Event{{ID: strings.Repeat("1", 56), Timestamp: 1, Message: strings.Repeat("héllo wörld ", 300)}}}
		zr, err := gzip.NewReader(bytes.NewReader(r.gzip(&gzipPool{level: lvl})))
		if err != nil {
			t.Fatalf("level %d: %v", lvl, err)
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("level %d: %v", lvl, err)
		}
		var p struct {
			MessageType string
			LogEvents   []struct{ Message string }
		}
		if err := json.Unmarshal(raw, &p); err != nil || p.MessageType != "DATA_MESSAGE" || len(p.LogEvents) != 1 ||
			p.LogEvents[0].Message != strings.Repeat("héllo wörld ", 300) {
			t.Fatalf("level %d: decoded %q (%v)", lvl, raw, err)
		}
	}
	for _, lvl := range []int{-1, 10} {
		if _, err := buildSink("arn:aws:firehose:us-east-1:000000000000:deliverystream/x",
			SinkConfig{File: &FileConfig{Path: t.TempDir() + "/f"}, GzipLevel: &lvl}, nil, nil); err == nil || !strings.Contains(err.Error(), "gzip_level") {
			t.Fatalf("gzip_level %d accepted (%v)", lvl, err)
		}
	}
}
