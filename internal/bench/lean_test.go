package bench

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// refPage is encoding/json's reading of a FilterLogEvents answer, with
// exact member names (encoding/json matches struct fields case-blind): the
// independent decoder the lean one is checked against.
type refEvent struct {
	Stream, Message string
	Time            int64
}

func refPage(body []byte) (events []refEvent, next string, ok bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return nil, "", false
	}
	if raw, has := top["nextToken"]; has && json.Unmarshal(raw, &next) != nil {
		return nil, "", false
	}
	var evs []map[string]json.RawMessage
	if raw, has := top["events"]; has && json.Unmarshal(raw, &evs) != nil {
		return nil, "", false
	}
	for _, m := range evs {
		var e refEvent
		var id string
		for k, dst := range map[string]any{"logStreamName": &e.Stream, "message": &e.Message, "timestamp": &e.Time, "eventId": &id} {
			if raw, has := m[k]; has && json.Unmarshal(raw, dst) != nil {
				return nil, "", false
			}
		}
		events = append(events, e)
	}
	return events, next, true
}

func leanPage(body []byte) (events []leanEvent, msgs []string, next string, err error) {
	var sc jsonScanner
	next, err = decodeFilterPage(&sc, body, func(e *leanEvent) error {
		events = append(events, leanEvent{Time: e.Time, Stream: []byte(string(e.Stream))})
		msgs = append(msgs, string(e.Message))
		return nil
	})
	return events, msgs, next, err
}

func TestDecodeFilterPage(t *testing.T) {
	body := `{"events":[{"logStreamName":"s\u00e91","timestamp":1700000000123,"message":"a \"quoted\" \\ line\twith\u2028 \ud83d\ude00 and \ud800 lone","ingestionTime":1700000000200,"eventId":"0001"},` +
		` {"logStreamName":"s2","timestamp":-5,"message":"plain","ingestionTime":1,"eventId":"x","extra":{"a":[1,2.5e3,true,null,"x"]}}],` +
		`"searchedLogStreams":[{"logStreamName":"s","searchedCompletely":false}],"nextToken":"tok/1"}`
	evs, msgs, next, err := leanPage([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if next != "tok/1" || len(evs) != 2 {
		t.Fatalf("next %q, %d events", next, len(evs))
	}
	if string(evs[0].Stream) != "sé1" || evs[0].Time != 1700000000123 || msgs[0] != "a \"quoted\" \\ line\twith\u2028 😀 and \uFFFD lone" {
		t.Fatalf("event 0: %q %d %q", evs[0].Stream, evs[0].Time, msgs[0])
	}
	if string(evs[1].Stream) != "s2" || evs[1].Time != -5 || msgs[1] != "plain" {
		t.Fatalf("event 1: %q %d %q", evs[1].Stream, evs[1].Time, msgs[1])
	}
	for _, bad := range []string{``, `{`, `{"events":[}`, `{"events":[{"timestamp":"x"}]}`, `{"events":[],}`, `{"nextToken":"a\x01"}`,
		`{"events":[{"message":"\q"}]}`, `{} x`, `{"events":[],"events":[]}`, `{"nextToken":"a","nextToken":"b"}`, `{"events":[{"eventId":""}]}`, strings.Repeat("[", 100)} {
		if _, _, _, err := leanPage([]byte(bad)); err == nil {
			t.Errorf("%q decoded without an error", bad)
		}
	}
}

func TestDecodeVLLine(t *testing.T) {
	var sc jsonScanner
	var ev leanEvent
	line := `{"_time":"2026-12-01T14:11:01.667123Z","stream":"s\"3","_msg":"GET /x \"ok\""}`
	if err := decodeVLLine(&sc, []byte(line), &ev); err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 12, 1, 14, 11, 1, 667_000_000, time.UTC).UnixMilli()
	if ev.Time != want || string(ev.Stream) != `s"3` || string(ev.Message) != `GET /x "ok"` {
		t.Fatalf("%d %q %q", ev.Time, ev.Stream, ev.Message)
	}
	if err := decodeVLLine(&sc, []byte(`{"_msg":"x"}`), &ev); err == nil {
		t.Fatal("a line without _time decoded")
	}
}

// FuzzDecodeFilterPage: on any input the lean decoder returns or fails,
// never panics; on a document encoding/json reads as a page (valid UTF-8,
// so both decoders see the same text), it finds the same events.
func FuzzDecodeFilterPage(f *testing.F) {
	f.Add([]byte(`{"events":[{"logStreamName":"s","timestamp":1,"message":"m\n\u0041","ingestionTime":2,"eventId":"e"}],"nextToken":"t"}`))
	f.Add([]byte(`{"events":null,"searchedLogStreams":[]}`))
	f.Add([]byte(`{"events":[{"message":"\ud83d\ude00\udc00\ud800\u0041"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, msgs, next, err := leanPage(body)
		if err != nil || !utf8.Valid(body) {
			return
		}
		want, wantNext, ok := refPage(body)
		if !ok {
			return // the lean decoder is laxer in places; nothing to compare
		}
		if next != wantNext || len(evs) != len(want) {
			t.Fatalf("next %q, %d events; encoding/json: %q, %d", next, len(evs), wantNext, len(want))
		}
		for i, e := range want {
			if string(evs[i].Stream) != e.Stream || evs[i].Time != e.Time || msgs[i] != e.Message {
				t.Fatalf("event %d: %q %d %q; encoding/json: %q %d %q", i, evs[i].Stream, evs[i].Time, msgs[i], e.Stream, e.Time, e.Message)
			}
		}
	})
}

func TestTailToken(t *testing.T) {
	for body, want := range map[string]string{
		`{"events":[],"searchedLogStreams":[],"nextToken":"abc-_="}`:                "abc-_=",
		`{"events":[{"message":"x\",\"nextToken\":\"no"}],"searchedLogStreams":[]}`: "",
		`{"events":[],"nextToken":"a\"b"}`:                                          "",
		`{"events":[]}`:                                                             "",
	} {
		got, ok := tailToken([]byte(body))
		if got != want || ok != (want != "") {
			t.Errorf("tailToken(%s) = %q, %v; want %q", body, got, ok, want)
		}
	}
}
