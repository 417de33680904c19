package bench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func testWorkload() *Workload {
	return &Workload{Seed: 42, Events: 20_500, BatchSize: 1000, Groups: 4, Streams: 64, Prefix: "t",
		RareEvery: 4000, FirstMs: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC).UnixMilli()}
}

func TestWorkloadIsDeterministicAndDistinct(t *testing.T) {
	w := testWorkload()
	if got := w.Requests(); got != 21 {
		t.Fatalf("requests = %d, want 21", got)
	}
	seen := map[string]bool{}
	last := w.FirstMs - 1
	var total int
	for n := int64(0); n < w.Requests(); n++ {
		a, b := w.Batch(n), w.Batch(n)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("batch %d differs between two calls", n)
		}
		if a.Group != w.Group(int(n%64)%4) || a.Stream != w.StreamName(int(n%64)) {
			t.Fatalf("batch %d goes to %s/%s", n, a.Group, a.Stream)
		}
		for _, e := range a.Events {
			if e.Timestamp < last {
				t.Fatalf("batch %d: timestamps go back from %d to %d", n, last, e.Timestamp)
			}
			last = e.Timestamp
			seen[e.Message] = true
		}
		total += len(a.Events)
	}
	if total != 20_500 || len(w.Batch(20).Events) != 500 {
		t.Fatalf("%d events in all, last batch %d; want 20,500 and 500", total, len(w.Batch(20).Events))
	}
	// Random ids make a repeated line all but impossible.
	if len(seen) < total-10 {
		t.Fatalf("only %d distinct lines of %d", len(seen), total)
	}
	// About 1 ms an event across the run.
	if span := last - w.FirstMs; span < 15_000 || span > 21_000 {
		t.Fatalf("20,500 events span %d ms", span)
	}
	other := *w
	other.Seed = 7
	if reflect.DeepEqual(w.Batch(3), other.Batch(3)) {
		t.Fatal("another seed gives the same batch")
	}
}

func TestRareTokenGoesToTheFirstGroup(t *testing.T) {
	w := testWorkload()
	planted := 0
	for n := int64(0); n < w.Requests(); n++ {
		b := w.Batch(n)
		for _, e := range b.Events {
			if strings.Contains(e.Message, RareToken) {
				planted++
				if b.Group != w.Group(0) {
					t.Fatalf("needle in %s", b.Group)
				}
			}
		}
	}
	// One per 4,000 events over 20,500 events: slots 0–4 (the last slot's
	// needle lands in batch 18, inside the run).
	if planted != 5 {
		t.Fatalf("%d needles planted, want 5", planted)
	}
}

func TestStatsRange(t *testing.T) {
	st := &Stats{Group0Times: []int64{1, 2, 2, 3, 4, 5, 6, 6, 7, 8}}
	from, to, n := st.RangeOf(4)
	if from != 3 || to != 6+0 || n != 3 {
		// middle start index 3 (value 3), end index 7 (value 6): [3, 6) holds 3, 4, 5.
		t.Fatalf("RangeOf(4) = [%d, %d) with %d events", from, to, n)
	}
	from, to, n = st.RangeOf(100)
	if from != 1 || to != 9 || n != 10 {
		t.Fatalf("RangeOf(100) = [%d, %d) with %d events, want the whole [1, 9) with 10", from, to, n)
	}
}

// tricky holds every kind of character the encoders must escape.
var tricky = []Event{
	{Timestamp: 1764590400001, Message: `plain line`},
	{Timestamp: 1764590400002, Message: `quote " backslash \ slash / tab	newline
cr` + "\r ctrl \x01\x1f del \x7f"},
	{Timestamp: 1764590400003, Message: "utf-8 é ✓ 🪨 and bad \xff\xfe bytes"}, // each bad byte becomes U+FFFD
	{Timestamp: 1764590400004, Message: `{"json":"inside","n":1} <html>&amp;`},
}

func TestAppendPutLogEventsRoundTrips(t *testing.T) {
	b := Batch{Group: "g/\"1\"", Stream: "s\\1", Events: tricky}
	var got struct {
		LogGroupName  string
		LogStreamName string
		LogEvents     []struct {
			Timestamp int64
			Message   string
		}
	}
	raw := AppendPutLogEvents(nil, b)
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	want, _ := json.Marshal(map[string]any{"g": b.Group, "s": b.Stream})
	if g, _ := json.Marshal(map[string]any{"g": got.LogGroupName, "s": got.LogStreamName}); string(g) != string(want) {
		t.Fatalf("names %s, want %s", g, want)
	}
	if len(got.LogEvents) != len(tricky) {
		t.Fatalf("%d events", len(got.LogEvents))
	}
	for i, e := range got.LogEvents {
		if e.Timestamp != tricky[i].Timestamp || e.Message != valid(tricky[i].Message) {
			t.Errorf("event %d = %d %q, want %d %q", i, e.Timestamp, e.Message, tricky[i].Timestamp, tricky[i].Message)
		}
	}
	// Bytes that are valid UTF-8 pass through unescaped, as a client sends them.
	if !bytes.Contains(raw, []byte("é ✓ 🪨")) || !bytes.Contains(raw, []byte("<html>&amp;")) {
		t.Errorf("text escaped needlessly: %s", raw)
	}
}

func TestAppendJSONLinesRoundTrips(t *testing.T) {
	b := Batch{Group: "bench-g0", Stream: "s3", Events: tricky}
	raw := AppendJSONLines(nil, b)
	if bytes.Count(raw, []byte("\n")) != len(tricky) {
		t.Fatalf("want one line an event, got:\n%s", raw)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	i := 0
	for sc.Scan() {
		var got map[string]string
		if err := json.Unmarshal(sc.Bytes(), &got); err != nil {
			t.Fatalf("line %d: %v in %s", i, err, sc.Bytes())
		}
		wantTime := time.UnixMilli(tricky[i].Timestamp).UTC().Format("2006-01-02T15:04:05.000Z")
		want := map[string]string{"_time": wantTime, "group": "bench-g0", "stream": "s3", "_msg": valid(tricky[i].Message)}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("line %d = %v, want %v", i, got, want)
		}
		i++
	}
	if !strings.HasPrefix(string(raw), `{"_time":"2025-12-01T12:00:00.001Z","group":"bench-g0","stream":"s3","_msg":"plain line"}`+"\n") {
		t.Errorf("first line: %s", raw[:bytes.IndexByte(raw, '\n')+1])
	}
}

// Both encoders carry the same events: what the two systems receive differs
// only in framing.
func TestEncodersCarryTheSameEvents(t *testing.T) {
	w := testWorkload()
	b := w.Batch(5)
	var cw struct {
		LogEvents []Event `json:"logEvents"`
	}
	if err := json.Unmarshal(AppendPutLogEvents(nil, b), &cw); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(AppendJSONLines(nil, b)))
	for i := 0; sc.Scan(); i++ {
		var vl struct {
			Time string `json:"_time"`
			Msg  string `json:"_msg"`
		}
		if err := json.Unmarshal(sc.Bytes(), &vl); err != nil {
			t.Fatal(err)
		}
		ts, err := time.Parse(time.RFC3339Nano, vl.Time)
		if err != nil {
			t.Fatal(err)
		}
		if vl.Msg != cw.LogEvents[i].Message || ts.UnixMilli() != cw.LogEvents[i].Timestamp || vl.Msg != b.Events[i].Message {
			t.Fatalf("event %d differs: %q at %s vs %q at %d", i, vl.Msg, vl.Time, cw.LogEvents[i].Message, cw.LogEvents[i].Timestamp)
		}
	}
}

// valid is s with each invalid byte replaced by U+FFFD, as encoding/json does.
func valid(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r) // ranging over a string yields U+FFFD for each bad byte
	}
	return b.String()
}
