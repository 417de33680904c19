package logs

import (
	stdjson "encoding/json"
	"math/rand"
	"strconv"
	"testing"

	json "github.com/goccy/go-json"

	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
)

var encodeTricky = []string{"", "plain", `"quoted" \back\`, "tab\tnl\ncr\r\x00\x1f", "<a&b>", "\u2028\u2029", "日本🎉", "\xff\xfe", "a\xe2\x80"}

// TestOutputsEncodeAsMarshal holds the read outputs' own encoders to
// json.Marshal's bytes (goccy/go-json, which writeJSON used for them, and
// encoding/json), empty and nil slices and absent tokens included.
func TestOutputsEncodeAsMarshal(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	str := func() string {
		return encodeTricky[rng.Intn(len(encodeTricky))] + encodeTricky[rng.Intn(len(encodeTricky))]
	}
	check := func(v interface{ AppendJSON([]byte) []byte }) {
		t.Helper()
		got := string(v.AppendJSON([]byte{}))
		goccy, err1 := json.Marshal(v)
		std, err2 := stdjson.Marshal(v)
		if err1 != nil || err2 != nil || got != string(goccy) || got != string(std) {
			t.Fatalf("got %s\ngoccy %s\nencoding/json %s", got, goccy, std)
		}
	}
	check(&GetLogEventsOutput{})
	check(&FilterLogEventsOutput{})
	check((*GetLogEventsOutput)(nil))
	check((*FilterLogEventsOutput)(nil))
	for i := 0; i < 204; i++ {
		n := rng.Intn(5)
		if i >= 200 { // pages appendEvents encodes on every core
			n = parallelEvents + rng.Intn(3*parallelEvents)
		}
		g := &GetLogEventsOutput{Events: make([]OutputLogEvent, n), NextForwardToken: str(), NextBackwardToken: str()}
		f := &FilterLogEventsOutput{Events: make([]FilteredLogEvent, n), SearchedLogStreams: []SearchedLogStream{}}
		if rng.Intn(2) == 0 {
			f.NextToken = str()
		}
		if rng.Intn(3) == 0 {
			f.SearchedLogStreams = append(f.SearchedLogStreams, SearchedLogStream{str(), rng.Intn(2) == 0}, SearchedLogStream{str(), true})
		}
		for j := 0; j < n; j++ {
			ts, ing := rng.Int63()>>uint(rng.Intn(63)), rng.Int63()>>uint(rng.Intn(63))
			if rng.Intn(10) == 0 {
				ts = -ts
			}
			g.Events[j] = OutputLogEvent{Timestamp: ts, Message: str(), IngestionTime: ing}
			f.Events[j] = FilteredLogEvent{LogStreamName: str(), Timestamp: ts, Message: str(), IngestionTime: ing, EventID: str()}
		}
		check(g)
		check(f)
	}
}

// TestEventIDs checks the page-at-once IDs against Position.ID.
func TestEventIDs(t *testing.T) {
	if eventIDs(nil) != nil {
		t.Fatal("IDs of no events")
	}
	evs := []store.StoredEvent{{Pos: store.Position{Time: 1, Seq: 2, Index: 3}}, {Pos: store.Position{Time: 1 << 50, Seq: 1 << 60, Index: 1 << 31}}, {}}
	for i, id := range eventIDs(evs) {
		if id != evs[i].Pos.ID() {
			t.Fatalf("event %d: %s, want %s", i, id, evs[i].Pos.ID())
		}
	}
}

// TestIDDigits holds the cached digits to Position.ID across changes of
// each part, in any order, extremes included.
func TestIDDigits(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	var d idDigits
	var ts, ing intDigits
	var stream streamName
	times := []int64{0, 1, 999, 1000, 1001, 1_700_000_000_123, 1_700_000_000_999, 1_700_000_001_000, 1<<63 - 1}
	for i := 0; i < 5000; i++ {
		p := store.Position{Time: times[rng.Intn(len(times))] + int64(rng.Intn(3)), Seq: uint64(rng.Intn(3)), Index: uint32(rng.Intn(1200))}
		if p.Time < 0 {
			p.Time = 1<<63 - 1
		}
		switch rng.Intn(20) {
		case 0:
			p.Seq = 1<<64 - 1
		case 1:
			p.Index = 1<<32 - 1
		}
		if got := string(d.append(nil, p)); got != p.ID() {
			t.Fatalf("%+v: %s, want %s", p, got, p.ID())
		}
		v := p.Time
		if rng.Intn(10) == 0 {
			v = -v
		}
		if got, want := string(ts.append(nil, v)), strconv.FormatInt(v, 10); got != want {
			t.Fatalf("int %d: %s", v, got)
		}
		if got, want := string(ing.append([]byte("x"), v)), "x"+strconv.FormatInt(v, 10); got != want {
			t.Fatalf("int %d: %s", v, got)
		}
		name := encodeTricky[rng.Intn(len(encodeTricky))]
		if got, want := string(stream.append(nil, name)), string(protocol.AppendJSONString(nil, name)); got != want {
			t.Fatalf("stream %q: %s, want %s", name, got, want)
		}
	}
}

// TestAllDigits checks the word-at-a-time digit test against the
// byte-by-byte one on every byte value at every position.
func TestAllDigits(t *testing.T) {
	base := []byte("0123456789012345678901")
	for n := 0; n <= len(base); n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				b := append([]byte(nil), base[:n]...)
				b[pos] = byte(c)
				want := c >= '0' && c <= '9'
				if got := allDigits(string(b)); got != want {
					t.Fatalf("allDigits(%q) = %v", b, got)
				}
			}
		}
	}
}
