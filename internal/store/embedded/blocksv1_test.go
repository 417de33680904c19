package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/store"
)

// testdata/blocks-v1 is a data directory written by the engine in its first
// block format (one zstd frame per Append: count, layout, timestamp deltas,
// messages; commit 4493cbe), before the columnar format, with manifest.json
// holding every event in Read order with its eventId. It was made with
//
//	CAIRN_WRITE_BLOCKSV1=$PWD/internal/store/embedded/testdata/blocks-v1 \
//	  go test -run TestWriteBlocksV1 ./internal/store/embedded/
//
// on that commit. TestOpenBlocksV1 opens a copy and reads everything back.
//
// testdata/blocks-v2 is the same workload written by the engine in format 2
// (columnar; Append still writes it, re-compaction writes format 3), made
// with the same command, CAIRN_WRITE_BLOCKSV1=$PWD/.../testdata/blocks-v2,
// on the commit that added re-compaction (the worker off while writing).
// TestOpenBlocksV2 reads it back. Both tests then re-compact a copy and read
// every event back again with its eventId, and once more after a restart.

// testdata/blocks-v3 is testdata/blocks-v2 re-compacted by the engine
// of commit 5e61cd5 into merged blocks of format 3 (before format 4 added
// the seek index), made with
//
//	CAIRN_WRITE_BLOCKSV3=$PWD/internal/store/embedded/testdata/blocks-v3 \
//	  go test -run TestWriteBlocksV3 ./internal/store/embedded/
//
// on that commit; its manifest is blocks-v2's (re-compaction keeps every
// eventId). TestOpenBlocksV3 reads it back.
//
// testdata/blocks-v4 is the same, made with the same command
// (CAIRN_WRITE_BLOCKSV3=$PWD/.../testdata/blocks-v4) on commit 6581029,
// whose worker wrote format 4 (format 3 and the seek index; what it still
// writes), so a later format cannot lose it. TestOpenBlocksV4 reads it
// back.

// TestWriteBlocksV3 writes the directory (only when asked to).
func TestWriteBlocksV3(t *testing.T) {
	dir := os.Getenv("CAIRN_WRITE_BLOCKSV3")
	if dir == "" {
		t.Skip("set CAIRN_WRITE_BLOCKSV3 to a new directory to write it")
	}
	src := filepath.Join("testdata", "blocks-v2")
	copyDir(t, filepath.Join(src, "data"), filepath.Join(dir, "data"))
	e, err := Open(Config{Dir: filepath.Join(dir, "data"), RecompactInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.RecompactSettled(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(src, "manifest.json"))
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// blocksV1Groups are the groups of the directory and what each exercises.
var blocksV1Groups = []string{
	"lines",   // messages without '\n': the newline layout
	"lengths", // some messages hold '\n' or '\\': the lengths layout, the backslash flag
	"big",     // 1,200-event blocks of generated lines, several streams interleaved in time
}

type blocksManifest struct {
	Events map[string][]oldEvent `json:"events"`
}

// TestWriteBlocksV1 writes the directory (only when asked to).
func TestWriteBlocksV1(t *testing.T) {
	dir := os.Getenv("CAIRN_WRITE_BLOCKSV1")
	if dir == "" {
		t.Skip("set CAIRN_WRITE_BLOCKSV1 to a new directory to write it")
	}
	ctx := context.Background()
	e, err := Open(Config{Dir: filepath.Join(dir, "data"), RecompactInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	base := int64(1_760_000_000_000)
	rng := rand.New(rand.NewPCG(7, 7))
	gen := bench.NewLineGen(3)
	for gi, g := range blocksV1Groups {
		if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: g, CreationTime: base}); err != nil {
			t.Fatal(err)
		}
		for si := 0; si < 3; si++ {
			if err := e.CreateStream(ctx, scope, g, store.Stream{Name: fmt.Sprint("s", si), CreationTime: base}); err != nil {
				t.Fatal(err)
			}
		}
		appends, size := 6, 50
		if g == "big" {
			appends, size = 2, 1200
		}
		for a := 0; a < appends; a++ {
			for si := 0; si < 3; si++ {
				evs := make([]store.Event, size)
				ts := base + int64(gi)*1_000_000 + int64(a)*20
				for i := range evs {
					ts += int64(rng.IntN(3)) // repeats: several events a millisecond
					m := gen.Line()
					switch {
					case g == "lines" && i%17 == 0:
						m = fmt.Sprintf("ünïcødé %d %s", i, m)
					case g == "lengths" && i%7 == 0:
						m = "first line\nsecond line " + m
					case g == "lengths" && i%11 == 0:
						m = `C:\path\to\` + m
					case g == "lengths" && i%13 == 0:
						m = ""
					}
					evs[i] = store.Event{Timestamp: ts, Message: m}
				}
				if _, err := e.Append(ctx, scope, g, fmt.Sprint("s", si), evs, base+int64(a)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	m := readAllBlocks(t, e)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readAllBlocks reads every event of every group, forward, in pages.
func readAllBlocks(t *testing.T, e *Engine) blocksManifest {
	t.Helper()
	m := blocksManifest{Events: map[string][]oldEvent{}}
	for _, g := range blocksV1Groups {
		m.Events[g] = readAllEvents(t, e, store.ReadRequest{Group: scope, Name: g, Limit: 997, MaxBytes: 1 << 20})
	}
	return m
}

func readAllEvents(t *testing.T, e *Engine, q store.ReadRequest) []oldEvent {
	t.Helper()
	evs := []oldEvent{}
	for {
		p, err := e.Read(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range p.Events {
			evs = append(evs, oldEvent{Stream: ev.Stream, Message: ev.Message, ID: ev.Pos.ID(), Timestamp: ev.Timestamp})
		}
		if p.Next == nil {
			return evs
		}
		q.After = p.Next
	}
}

// TestOpenBlocksV1: every event of a directory written in the first block
// format reads back with its eventId, forward and backward, through a
// filter and through Scan; and the directory takes new appends.
func TestOpenBlocksV1(t *testing.T) { testOpenBlocks(t, "blocks-v1", 1) }

// TestOpenBlocksV2 is TestOpenBlocksV1 on format 2 blocks.
func TestOpenBlocksV2(t *testing.T) { testOpenBlocks(t, "blocks-v2", blockFormat2) }

// TestOpenBlocksV3 is TestOpenBlocksV1 on merged blocks of format 3.
func TestOpenBlocksV3(t *testing.T) { testOpenBlocks(t, "blocks-v3", blockFormat3) }

// TestOpenBlocksV4 is TestOpenBlocksV1 on merged blocks of format 4.
func TestOpenBlocksV4(t *testing.T) { testOpenBlocks(t, "blocks-v4", blockFormat4) }

func testOpenBlocks(t *testing.T, name string, format byte) {
	src := filepath.Join("testdata", name)
	b, err := os.ReadFile(filepath.Join(src, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want blocksManifest
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if n := len(want.Events["big"]); n != 2*3*1200 {
		t.Fatalf("manifest: %d events in big", n)
	}
	dir := filepath.Join(t.TempDir(), "data")
	copyDir(t, filepath.Join(src, "data"), dir)
	e, err := Open(Config{Dir: dir, RecompactInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { e.Close() }()
	if got := firstByteOfBlocks(t, e); len(got) != 1 || !got[format] {
		t.Fatalf("%s holds blocks of formats %v, want only %d", name, got, format)
	}
	checkBlocksV1(t, e, want)
	// Re-compacted into format 4, every event reads back the same, and
	// again after a restart.
	st, err := e.RecompactNow()
	if err != nil || st.Merges == 0 && !mergedFormat(format) { // merged blocks are merged already
		t.Fatalf("recompaction: %+v %v", st, err)
	}
	if got := firstByteOfBlocks(t, e); !got[blockFormat4] && !(mergedFormat(format) && got[format]) {
		t.Fatalf("after recompaction: formats %v", got)
	}
	checkBlocksV1(t, e, want)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if e, err = Open(Config{Dir: dir, RecompactInterval: -1}); err != nil {
		t.Fatal(err)
	}
	checkBlocksV1(t, e, want)
	// New blocks beside the old ones.
	ctx := context.Background()
	extra := []store.Event{{Timestamp: 1_770_000_000_000, Message: "new\nblock"}, {Timestamp: 1_770_000_000_001, Message: "new"}}
	if _, err := e.Append(ctx, scope, "lengths", "s1", extra, 1); err != nil {
		t.Fatal(err)
	}
	got := readAllEvents(t, e, store.ReadRequest{Group: scope, Name: "lengths", Limit: 500, MaxBytes: 1 << 20})
	if len(got) != len(want.Events["lengths"])+2 || !slices.Equal(got[:len(got)-2], want.Events["lengths"]) ||
		got[len(got)-2].Message != "new\nblock" || got[len(got)-1].Message != "new" {
		t.Fatalf("after an append: %d events", len(got))
	}
}

func mergedFormat(f byte) bool { return f == blockFormat3 || f == blockFormat4 }

func checkBlocksV1(t *testing.T, e *Engine, want blocksManifest) {
	t.Helper()
	ctx := context.Background()
	got := readAllBlocks(t, e)
	for _, g := range blocksV1Groups {
		w := want.Events[g]
		if !slices.Equal(got.Events[g], w) {
			t.Fatalf("%s: events differ: got %d, want %d", g, len(got.Events[g]), len(w))
		}
		back := readAllEvents(t, e, store.ReadRequest{Group: scope, Name: g, Limit: 1500, MaxBytes: 1 << 20, Backward: true})
		slices.Reverse(back)
		if !slices.Equal(back, w) {
			t.Fatalf("%s backward: events differ: got %d, want %d", g, len(back), len(w))
		}
		// A filter and a time range: the expected events come from the
		// manifest, selected here by hand.
		from, to := w[len(w)/4].Timestamp, w[3*len(w)/4].Timestamp
		var sel []oldEvent
		for _, ev := range w {
			if ev.Timestamp >= from && ev.Timestamp < to && strings.Contains(ev.Message, "GET") {
				sel = append(sel, ev)
			}
		}
		f := readAllEvents(t, e, store.ReadRequest{Group: scope, Name: g, Limit: 100, MaxBytes: 1 << 20, Start: from, End: to, Filter: substr("GET")})
		if len(sel) == 0 || !slices.Equal(f, sel) {
			t.Fatalf("%s filtered: got %d events, want %d", g, len(f), len(sel))
		}
		// Scan sees every event once, with its id.
		ids := map[string]string{}
		_, err := e.Scan(ctx, store.ScanRequest{Scope: scope, Groups: []string{g}}, func(b store.ScanBlock) bool {
			for _, ev := range b.Events {
				ids[ev.Pos.ID()] = ev.Message
			}
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != len(w) {
			t.Fatalf("%s scan: %d events, want %d", g, len(ids), len(w))
		}
		for _, ev := range w {
			if ids[ev.ID] != ev.Message {
				t.Fatalf("%s scan: event %s: %q, want %q", g, ev.ID, ids[ev.ID], ev.Message)
			}
		}
	}
}

// firstByteOfBlocks is the set of leading bytes of every payload (0x28: a
// format-1 zstd frame).
func firstByteOfBlocks(t *testing.T, e *Engine) map[byte]bool {
	t.Helper()
	seen := map[byte]bool{}
	err := e.scan([]byte{tagBlock}, func(_, v []byte) error {
		if v[0] == zstdMagic0 {
			seen[1] = true
		} else {
			seen[v[0]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return seen
}
