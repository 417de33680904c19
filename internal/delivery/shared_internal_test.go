package delivery

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cairnlog/cairn/internal/store"
)

// TestSharedEncodingSameBytes: a record whose events come encoded from a
// sharedBlocks entry is byte for byte the record encoded event by event,
// and both decode (encoding/json, independent of the encoder) to the
// events themselves; a block evicted past the bound is gone.
func TestSharedEncodingSameBytes(t *testing.T) {
	msgs := []string{`{"level":"info","msg":"a \"quoted\" word"}`, "tab\there", "ünïcödé \u2028 line", "\x00\x1f ctl", `back\slash`, ""}
	var evs []store.StoredEvent
	var ids []string
	for i, m := range msgs {
		p := store.Position{Time: 1700000000000 + int64(i), Seq: 42, Index: uint32(i)}
		evs = append(evs, store.StoredEvent{Stream: "s", Timestamp: p.Time, Message: m, Pos: p})
		ids = append(ids, string(p.AppendID(nil)))
	}
	blk := encodeBlock(evs)
	plain := &Record{Owner: "1", Group: "g", Stream: "s", Filters: []string{"f"}}
	sharedRec := &Record{Owner: "1", Group: "g", Stream: "s", Filters: []string{"f"}}
	for i, e := range evs {
		plain.Events = append(plain.Events, Event{ID: ids[i], Timestamp: e.Timestamp, Message: e.Message})
		enc, ok := blk.event(e.Pos.Index)
		if !ok {
			t.Fatalf("event %d not in the block", i)
		}
		sharedRec.Events = append(sharedRec.Events, Event{ID: ids[i], Timestamp: e.Timestamp, Message: e.Message, encoded: enc})
	}
	if !bytes.Equal(plain.JSON(), sharedRec.JSON()) {
		t.Fatalf("shared encoding differs:\n%s\n%s", plain.JSON(), sharedRec.JSON())
	}
	var p struct {
		LogEvents []struct {
			ID        string `json:"id"`
			Timestamp int64  `json:"timestamp"`
			Message   string `json:"message"`
		} `json:"logEvents"`
	}
	if err := json.Unmarshal(sharedRec.JSON(), &p); err != nil || len(p.LogEvents) != len(msgs) {
		t.Fatalf("decoded %d events (%v)", len(p.LogEvents), err)
	}
	for i, e := range p.LogEvents {
		if e.ID != ids[i] || e.Timestamp != evs[i].Timestamp || e.Message != msgs[i] {
			t.Fatalf("event %d decoded as %+v", i, e)
		}
	}
	if _, ok := blk.event(uint32(len(msgs))); ok {
		t.Fatal("an index past the block found an event")
	}

	var s sharedBlocks
	big := &encodedBlock{buf: make([]byte, maxSharedBytes/2+1), ends: []int{maxSharedBytes/2 + 1}}
	s.put(sharedKey{group: "g", seq: 1}, big)
	s.put(sharedKey{group: "g", seq: 2}, big)
	if s.get(sharedKey{group: "g", seq: 1}) != nil || s.get(sharedKey{group: "g", seq: 2}) == nil {
		t.Fatal("the oldest block was not evicted past the bound, or the newest was")
	}
}

// TestBuildIDs: the ids build gives events are store.Position.ID's, for
// runs of one timestamp and append (where build reuses the digits before)
// and across changes of either.
func TestBuildIDs(t *testing.T) {
	var evs []store.StoredEvent
	for i := 0; i < 50; i++ {
		p := store.Position{Time: 1700000000000 + int64(i/7), Seq: uint64(3 + i/20), Index: uint32(i * 977)}
		evs = append(evs, store.StoredEvent{Stream: "s", Timestamp: p.Time, Message: "m", Pos: p})
	}
	// Alone, and as a group's two match-all followers, the second taking
	// the ids of the blocks the first encoded (whole blocks: indices from
	// 0) and building the others' itself.
	whole := make([]store.StoredEvent, len(evs))
	for i, e := range evs {
		e.Pos.Index = uint32(i % 20)
		whole[i] = e
	}
	m := &Manager{byGroup: map[groupKey][]*follower{}}
	first := &follower{m: m, f: Filter{Name: "f", Group: "g"}}
	second := &follower{m: m, f: Filter{Name: "f2", Group: "g"}}
	m.byGroup[groupKey{group: "g"}] = []*follower{first, second}
	for _, c := range []struct {
		fl  *follower
		evs []store.StoredEvent
	}{
		{&follower{m: &Manager{}, f: Filter{Name: "f", Group: "g"}}, evs},
		// first's second page writes over the scratch its first page's
		// ids were built in: the blocks it shared must keep their own.
		{first, whole[:30]}, {first, whole[40:]}, {second, whole}, {second, evs},
	} {
		var got []string
		for _, r := range c.fl.build(c.evs) {
			if !bytes.Equal(r.JSON(), eventJSON(r)) {
				t.Fatalf("the record's JSON differs from its events':\n%s\n%s", r.JSON(), eventJSON(r))
			}
			for _, e := range r.Events {
				got = append(got, e.ID)
			}
		}
		if len(got) != len(c.evs) {
			t.Fatalf("%d events built of %d", len(got), len(c.evs))
		}
		for i, e := range c.evs {
			if want := fmt.Sprintf("%019d%020d%017d", e.Pos.Time, e.Pos.Seq, e.Pos.Index); got[i] != want {
				t.Fatalf("event %d: id %s, want %s", i, got[i], want)
			}
		}
		// The shared blocks keep their events' ids whatever a follower
		// builds next (the other follower reads them at any time).
		for _, e := range whole {
			blk := m.shared.get(sharedKey{group: "g", seq: e.Pos.Seq})
			if blk == nil {
				continue
			}
			enc, ok := blk.event(e.Pos.Index)
			if !ok {
				continue
			}
			var got struct{ ID string }
			if err := json.Unmarshal(enc, &got); err != nil || got.ID != fmt.Sprintf("%019d%020d%017d", e.Pos.Time, e.Pos.Seq, e.Pos.Index) {
				t.Fatalf("shared block %d, event %d: id %q (%v)", e.Pos.Seq, e.Pos.Index, got.ID, err)
			}
		}
	}
}

// TestSharedBoundCountsSegments: a shared block's deflated segments count
// in the sharing bound. Blocks whose encodings alone fit under it, each
// given a segment as a gzip follower would (incompressible bytes, so a
// segment is as large as its block), must push the oldest out; and the
// bytes the cache counts are what its entries hold.
func TestSharedBoundCountsSegments(t *testing.T) {
	var s sharedBlocks
	pool := &gzipPool{level: 1}
	rnd := make([]byte, maxSharedBytes/3)
	rand.NewChaCha8([32]byte{1}).Read(rnd) // random: deflate cannot shrink it
	for seq := uint64(1); seq <= 2; seq++ {
		b := &encodedBlock{buf: append([]byte(nil), rnd...), ends: []int{len(rnd)}}
		k := sharedKey{group: "g", seq: seq}
		s.put(k, b)
		if seg := b.segment(pool, 0, 1); len(seg.data) < len(rnd)/2 {
			t.Fatalf("the test's bytes deflated to %d of %d: not a bound test", len(seg.data), len(rnd))
		}
	}
	held := 0
	for seq := uint64(1); seq <= 2; seq++ {
		if b := s.get(sharedKey{group: "g", seq: seq}); b != nil {
			held += b.size()
			for _, sg := range b.seg {
				if sg != nil {
					held += cap(sg.data)
				}
			}
		}
	}
	if held > maxSharedBytes {
		t.Fatalf("the cache holds %d bytes of blocks and segments, over the %d bound", held, maxSharedBytes)
	}
	if s.get(sharedKey{group: "g", seq: 1}) != nil || s.get(sharedKey{group: "g", seq: 2}) == nil {
		t.Fatal("the oldest block was not evicted once segments passed the bound, or the newest was")
	}
	if s.bytes != held {
		t.Fatalf("the cache counts %d bytes, its entries hold %d", s.bytes, held)
	}
}

// TestWriteJSONFromPieces: what the file sink writes from a record's
// pieces, and the size it reports, are the record's JSON encoded event by
// event, for records of whole blocks, of parts of blocks (a split), with a
// head longer than writeJSON's stack buffer, and without pieces.
func TestWriteJSONFromPieces(t *testing.T) {
	recs := sharedPage(t, 6, 2)
	long := *recs[1]
	long.Group = strings.Repeat(`g"\`, 200)
	long.Stream = strings.Repeat("s\u2028", 100)
	recs = append(recs, &long)
	var fl follower
	for _, r := range recs[:1] {
		recs = fl.split(context.Background(), r, Limits{RecordBytes: len(eventJSON(r)) / 3}, recs)
	}
	plain := *recs[0]
	plain.pieces = nil
	recs = append(recs, &plain)
	pieced := 0
	for i, r := range recs {
		if r.pieces != nil {
			pieced++
		}
		want := eventJSON(r)
		if n := r.jsonSize(); n != len(want) {
			t.Fatalf("record %d: size %d, its JSON is %d bytes", i, n, len(want))
		}
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		r.writeJSON(w)
		w.Flush()
		if !bytes.Equal(out.Bytes(), want) {
			t.Fatalf("record %d: wrote\n%.300s\nwant\n%.300s", i, out.Bytes(), want)
		}
	}
	if pieced < 3 {
		t.Fatalf("only %d records had pieces: the test does not test the direct path", pieced)
	}
}

// FuzzWriteJSON: for any messages, stream and group names, cut into blocks
// anywhere, the file sink's direct write and size of each record built by
// a group's second follower (records of shared pieces) are the record's
// JSON encoded event by event.
func FuzzWriteJSON(f *testing.F) {
	f.Add("g", "s", []byte("a\x00b \"q\"\x00\x00\\ \u2028 c"), []byte{1, 2, 0, 5})
	f.Add(strings.Repeat("é", 300), "x", []byte("one"), []byte{})
	f.Fuzz(func(t *testing.T, group, stream string, msgs, cuts []byte) {
		if len(msgs) > 50_000 || len(cuts) > 64 {
			return
		}
		parts := bytes.Split(msgs, []byte{0})
		var page []store.StoredEvent
		seq, idx, c := uint64(7), uint32(0), 0
		for i, m := range parts {
			if c < len(cuts) && int(cuts[c]) == i%256 {
				seq, idx = seq+1, 0 // a new block
				c++
			}
			p := store.Position{Time: 1764600000000 + int64(i/3), Seq: seq, Index: idx}
			idx++
			page = append(page, store.StoredEvent{Stream: stream, Timestamp: p.Time, IngestionTime: p.Time, Message: string(m), Pos: p})
		}
		m := &Manager{byGroup: map[groupKey][]*follower{}}
		first := &follower{m: m, f: Filter{Name: "a", Group: group}}
		second := &follower{m: m, f: Filter{Name: "b", Group: group}}
		m.byGroup[groupKey{group: group}] = []*follower{first, second}
		first.build(page)
		for _, r := range second.build(page) {
			want := eventJSON(r)
			if n := r.jsonSize(); n != len(want) {
				t.Fatalf("size %d, the JSON is %d bytes", n, len(want))
			}
			var out bytes.Buffer
			w := bufio.NewWriter(&out)
			r.writeJSON(w)
			w.Flush()
			if !bytes.Equal(out.Bytes(), want) {
				t.Fatalf("wrote\n%q\nwant\n%q", out.Bytes(), want)
			}
		}
	})
}
