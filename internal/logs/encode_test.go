package logs

import (
	stdjson "encoding/json"
	"math/rand"
	"testing"

	json "github.com/goccy/go-json"

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
	for i := 0; i < 200; i++ {
		n := rng.Intn(5)
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
