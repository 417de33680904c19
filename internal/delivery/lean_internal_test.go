package delivery

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/store"
)

// leanPage is a feed page with what build must get right: whole blocks of
// two streams, a block whose events start past index 0 (no shared
// encoding: its record has no pieces), a stream whose second block is
// older than its first (its record is sorted, so its pieces are dropped),
// ingestion times out of order, and messages JSON must escape.
func leanPage() []store.StoredEvent {
	g := bench.NewLineGen(3)
	odd := []string{`a "quoted" \ word`, "tab\there\nnewline", "ünïcödé \u2028 line", "\x00\x1f ctl", ""}
	var page []store.StoredEvent
	add := func(stream string, seq uint64, from, n int, t0 int64) {
		for i := from; i < from+n; i++ {
			p := store.Position{Time: t0 + int64(i/5), Seq: seq, Index: uint32(i)}
			msg := g.Line()
			if i%37 == 0 {
				msg = odd[(i/37)%len(odd)]
			}
			page = append(page, store.StoredEvent{Stream: stream, Timestamp: p.Time, IngestionTime: 1764700000000 - int64(i%11)*3 + int64(seq),
				Message: msg, Pos: p})
		}
	}
	add("a", 10, 0, 900, 1764600000000)
	add("b", 11, 0, 700, 1764600000000)
	add("a", 12, 0, 900, 1764600001000)
	add("c", 13, 5, 300, 1764600000000) // a partial block
	add("d", 14, 0, 400, 1764600005000) // d's blocks out of order:
	add("d", 15, 0, 400, 1764600000000) // the second is older
	add("b", 16, 0, 2000, 1764600002000)
	return page
}

// groupOf is two match-all followers of one group with the given sinks.
func groupOf(a, b Sink) (*follower, *follower) {
	m := &Manager{byGroup: map[groupKey][]*follower{}}
	first := &follower{m: m, f: Filter{Name: "first", Group: "g"}, sink: a}
	second := &follower{m: m, f: Filter{Name: "second", Group: "g"}, sink: b}
	m.byGroup[groupKey{group: "g"}] = []*follower{first, second}
	return first, second
}

// TestLeanRecords: the records build makes without Events (a group's
// followers to sinks that send the payload alone) have the same JSON, the
// same gzip payload after gunzip, the same count, first and last ids and
// oldest ingestion, and, made on demand, the same events as the records
// of followers whose sinks get Events; and so do their halves (split).
func TestLeanRecords(t *testing.T) {
	page := leanPage()
	lf, ls := groupOf(&fileSink{}, &natsSink{})
	ef, es := groupOf(nil, nil)
	pool := &gzipPool{level: DefaultGzipLevel}
	leanSeen, piecesSeen := 0, 0
	for k, c := range []struct{ lean, eager *follower }{{lf, ef}, {ls, es}} {
		lean, eager := c.lean.build(page), c.eager.build(page)
		if len(lean) != len(eager) {
			t.Fatalf("follower %d: %d lean records, %d eager", k, len(lean), len(eager))
		}
		for i, r := range lean {
			e := eager[i]
			if r.Events == nil {
				leanSeen++
			}
			if r.pieces != nil {
				piecesSeen++
			}
			compareRecords(t, fmt.Sprintf("follower %d record %d", k, i), r, e, pool)
			// Halves, as split makes them for a record over the limit
			// (both measured by their JSON: the eager follower's size).
			lim := Limits{RecordBytes: len(eventJSON(e)) / 2}
			lh := c.eager.split(context.Background(), r, lim, nil)
			eh := c.eager.split(context.Background(), e, lim, nil)
			if len(lh) != len(eh) || len(lh) < 2 {
				t.Fatalf("follower %d record %d: split in %d lean, %d eager", k, i, len(lh), len(eh))
			}
			for h := range lh {
				compareRecords(t, fmt.Sprintf("follower %d record %d half %d", k, i, h), lh[h], eh[h], pool)
			}
		}
	}
	if leanSeen < 4 || piecesSeen < 4 {
		t.Fatalf("%d lean records, %d with pieces: the test does not test the lean path", leanSeen, piecesSeen)
	}
}

func compareRecords(t *testing.T, what string, r, e *Record, pool *gzipPool) {
	t.Helper()
	want := eventJSON(e)
	if !bytes.Equal(r.JSON(), want) || !bytes.Equal(e.JSON(), want) {
		t.Fatalf("%s: JSON differs:\n%.300s\nwant\n%.300s", what, r.JSON(), want)
	}
	zr, err := gzip.NewReader(bytes.NewReader(r.gzip(pool)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s: gunzipped payload differs (%v)", what, err)
	}
	if r.count() != len(e.Events) || r.oldestIngestion() != e.oldestIngestion() {
		t.Fatalf("%s: %d events, oldest %d; want %d, %d", what, r.count(), r.oldestIngestion(), len(e.Events), e.oldestIngestion())
	}
	rf, rl := r.edgeIDs()
	if ef, el := e.edgeIDs(); rf != ef || rl != el {
		t.Fatalf("%s: first and last ids %s %s, want %s %s", what, rf, rl, ef, el)
	}
	evs := r.events()
	if len(evs) != len(e.Events) {
		t.Fatalf("%s: %d events made, want %d", what, len(evs), len(e.Events))
	}
	for x, ev := range evs {
		w := e.Events[x]
		if ev.ID != w.ID || ev.Timestamp != w.Timestamp || ev.Message != w.Message || ev.Ingestion != w.Ingestion {
			t.Fatalf("%s: event %d is %+v, want %+v", what, x, ev, w)
		}
	}
}

// TestFileSinkLines: the file sink's lines are the records' JSON, in
// order, whether written from shared blocks (large spans go straight to
// the file, after the buffered head before them), from a record's own
// JSON, or a control record's; across two Sends into one file.
func TestFileSinkLines(t *testing.T) {
	path := t.TempDir() + "/out.ndjson"
	s, err := newFileSink(path)
	if err != nil {
		t.Fatal(err)
	}
	lf, ls := groupOf(s, &natsSink{})
	ls.build(leanPage()) // the other follower made the shared blocks
	recs := lf.build(leanPage())
	recs = append(recs, newControl("file", 1764600000000))
	direct := 0
	for _, r := range recs {
		for _, p := range r.pieces {
			if len(p.blk.span(p.from, p.to)) >= directBytes {
				direct++
			}
		}
	}
	if direct < 2 {
		t.Fatalf("%d spans of %d bytes or more: the test does not test the direct write", direct, directBytes)
	}
	var want []byte
	for _, r := range recs {
		want = append(append(want, eventJSON(r)...), '\n')
	}
	ctx := context.Background()
	if err := s.Send(ctx, store.Scope{}, recs[:2]); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, store.Scope{}, recs[2:]); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the file holds %d bytes, want %d:\n%.400s\nwant\n%.400s", len(got), len(want), got, want)
	}
}

// TestFileSinkCutsTornLine: a file a crash left ending in part of a line
// (a Send in flight, never acknowledged) is cut back to its last whole
// line when the sink opens it, so the records sent again start a line of
// their own instead of gluing onto the fragment, where no reader could
// parse them (the subscription kill test lost the batch in flight so).
func TestFileSinkCutsTornLine(t *testing.T) {
	for _, before := range []string{"", `{"whole":1}` + "\n", `{"whole":1}` + "\n" + `{"messageType":"DATA_MES`, `{"messageTy`} {
		path := t.TempDir() + "/out.ndjson"
		if err := os.WriteFile(path, []byte(before), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := newFileSink(path)
		if err != nil {
			t.Fatal(err)
		}
		recs := []*Record{newControl("file", 1764600000000)}
		if err := s.Send(context.Background(), store.Scope{}, recs); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		kept := before[:strings.LastIndexByte(before, '\n')+1]
		want := kept + string(eventJSON(recs[0])) + "\n"
		if string(got) != want {
			t.Fatalf("file began %q; after a Send it holds\n%q\nwant\n%q", before, got, want)
		}
	}
}
