package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/server"
)

// fillRead writes n generated lines as 1,000-event PutLogEvents batches
// round-robin over 8 streams of group "g", timestamps advancing like the load
// generator's (so the streams' blocks interleave in time), and returns the
// first timestamp.
func fillRead(b *testing.B, s *harness.Server, n int) int64 {
	call := func(op string, in any) {
		body, _ := json.Marshal(in)
		if r := s.Call(b, op, body); r.Status != 200 {
			b.Fatalf("%s: %s", op, r)
		}
	}
	call("CreateLogGroup", map[string]any{"logGroupName": "g"})
	for i := 0; i < 8; i++ {
		call("CreateLogStream", map[string]any{"logGroupName": "g", "logStreamName": fmt.Sprintf("s%d", i)})
	}
	gen := bench.NewLineGen(1)
	start := time.Now().UnixMilli() - 3_600_000
	type ev struct {
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	}
	for i := 0; i < n/1000; i++ {
		evs := make([]ev, 1000)
		for j := range evs {
			evs[j] = ev{start + int64(i/8)*1000 + int64(j), gen.Line()}
		}
		call("PutLogEvents", map[string]any{"logGroupName": "g", "logStreamName": fmt.Sprintf("s%d", i%8), "logEvents": evs})
	}
	return start
}

// page counts a reply's events (by their "ingestionTime" members: no
// message can hold that quoted, unescaped) and finds its token, without
// decoding the messages: the figure is the server's, not the client's JSON
// decoder's.
func page(b *testing.B, r harness.Reply, tokenName string) (events int, token string) {
	if r.Status != 200 {
		b.Fatal(r)
	}
	events = bytes.Count(r.Body, []byte(`"ingestionTime":`))
	key := []byte(`"` + tokenName + `":"`)
	if i := bytes.LastIndex(r.Body, key); i >= 0 {
		rest := r.Body[i+len(key):]
		token = string(rest[:bytes.IndexByte(rest, '"')])
	}
	return events, token
}

// BenchmarkTimeRangeRead reads 100,000 events of a 300,000-event group
// through FilterLogEvents (a time range, no pattern, every page) and
// GetLogEvents (one stream's 38,000 events, startFromHead, every page), over HTTP with the
// real server; the client only counts events.
func BenchmarkTimeRangeRead(b *testing.B) {
	s := harness.Start(b)
	start := fillRead(b, s, 300_000)
	// 8 streams of 1,000 events per second of event time: 100,000 events
	// lie in [from, from+12.5 s).
	from := start + 10_000
	b.Run("FilterLogEvents", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			readRange(b, s, from)
		}
	})
	b.Run("GetLogEvents", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			n, token := 0, ""
			for {
				in := map[string]any{"logGroupName": "g", "logStreamName": "s0", "startFromHead": true}
				if token != "" {
					in["nextToken"] = token
				}
				body, _ := json.Marshal(in)
				k, next := page(b, s.Call(b, "GetLogEvents", body), "nextForwardToken")
				if k == 0 {
					break
				}
				n += k
				token = next
			}
			if n != 38_000 {
				b.Fatalf("read %d events", n)
			}
		}
	})
}

// BenchmarkTimeRangeReadMerged is BenchmarkTimeRangeRead's FilterLogEvents
// read once the re-compaction merged every block (no age: the worker runs
// every 100 ms and takes the blocks as soon as their streams are quiet):
// what a read of settled data costs through the real server.
func BenchmarkTimeRangeReadMerged(b *testing.B) {
	s := harness.Start(b, harness.Configure(func(c *server.Config) {
		c.RecompactInterval, c.RecompactAge = 100*time.Millisecond, -1
	}))
	start := fillRead(b, s, 300_000)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := s.HTTPClient().Get(s.URL() + "/metrics")
		if err != nil {
			b.Fatal(err)
		}
		m, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if bytes.Contains(m, []byte("\ncairn_store_recompact_settled 1\n")) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("re-compaction did not settle")
		}
		time.Sleep(100 * time.Millisecond) // polling a worker, not synchronising
	}
	from := start + 10_000
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		readRange(b, s, from)
	}
}

// readRange pages FilterLogEvents through the 100,000 events of
// [from, from+12.5 s) and fails unless it read every one.
func readRange(b *testing.B, s *harness.Server, from int64) {
	n, token := 0, ""
	for {
		in := map[string]any{"logGroupName": "g", "startTime": from, "endTime": from + 12_500 - 1}
		if token != "" {
			in["nextToken"] = token
		}
		body, _ := json.Marshal(in)
		k, next := page(b, s.Call(b, "FilterLogEvents", body), "nextToken")
		n += k
		if next == "" {
			break
		}
		token = next
	}
	if n != 100_000 {
		b.Fatalf("read %d events", n)
	}
}
