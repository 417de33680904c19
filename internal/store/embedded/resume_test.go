package embedded

import (
	"context"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairnlog/cairn/internal/store"
)

// TestPagesResumeWithoutRedecoding pages through 40 blocks whose time ranges
// overlap (8 streams, a block every 30 ms spanning ~1 s) with small pages,
// forward and backward, over the group and one stream, and checks that each
// block is decompressed at most once however many pages stop inside it: a
// nextToken resumes from the blocks the last page left, not from storage.
func TestPagesResumeWithoutRedecoding(t *testing.T) {
	e, err := Open(Config{Dir: "/db", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	fill(t, e, 40_000, 8)
	for _, c := range []struct {
		name     string
		streams  []string
		backward bool
		events   int
		blocks   int64
	}{
		{"group forward", nil, false, 40_000, 40},
		{"group backward", nil, true, 40_000, 40},
		{"stream forward", []string{"s0"}, false, 5_000, 5},
		{"stream backward", []string{"s0"}, true, 5_000, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := e.decodes.Load()
			q := store.ReadRequest{Group: scope, Name: "g", Streams: c.streams, Backward: c.backward, Limit: 700}
			n, pages := 0, 0
			var last *store.Position
			for {
				p, err := e.Read(context.Background(), q)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, ev := range p.Events {
					if last != nil && (ev.Pos.Less(*last) != c.backward || ev.Pos == *last) {
						t.Fatalf("event %d out of order: %+v after %+v", n, ev.Pos, *last)
					}
					pos := ev.Pos
					last = &pos
					n++
				}
				if p.Next == nil {
					break
				}
				q.After = p.Next
			}
			decoded := e.decodes.Load() - before
			t.Logf("%d events in %d pages, %d blocks decompressed", n, pages, decoded)
			if n != c.events || pages < c.events/700 {
				t.Fatalf("read %d events in %d pages, want %d", n, pages, c.events)
			}
			if decoded > c.blocks {
				t.Fatalf("%d blocks decompressed for %d blocks: pages re-read what the previous page had open", decoded, c.blocks)
			}
		})
	}
}
