package migrate

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/cairnlog/cairn/internal/pgtest"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
	"github.com/cairnlog/cairn/internal/store/postgres"
)

// TestMigrate: an embedded engine with groups in two scopes, streams,
// interleaved appends, account and group resources and a cursor, copied
// into a fresh PostgreSQL database: every event reads back with the same
// eventId (position), message and stream, the feed positions are the same
// (the cursor still points into it), and an append after the migration
// comes after every imported block.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	src, err := embedded.Open(embedded.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	scopes := []store.Scope{{Account: "000000000000", Region: "us-east-1"}, {Account: "111111111111", Region: "eu-west-1"}}
	for _, sc := range scopes {
		for _, g := range []string{"/app/a", "/app/b"} {
			if err := src.CreateGroup(ctx, store.Group{Scope: sc, Name: g, CreationTime: 1000, RetentionDays: 0, Class: "STANDARD", Tags: map[string]string{"team": "x"}}); err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"web", "db"} {
				if err := src.CreateStream(ctx, sc, g, store.Stream{Name: s, CreationTime: 2000}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	base := int64(1_700_000_000_000)
	for i := 0; i < 30; i++ {
		sc, g, s := scopes[i%2], []string{"/app/a", "/app/b"}[i/2%2], []string{"web", "db"}[i/4%2]
		var evs []store.Event
		for j := 0; j <= i%5; j++ {
			evs = append(evs, store.Event{Timestamp: base + int64(i*10+j), Message: fmt.Sprintf("event %d.%d", i, j)})
		}
		if _, err := src.Append(ctx, sc, g, s, evs, base+int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.PutResource(ctx, store.ResourceKey{Scope: scopes[0], Kind: "policy", Name: "p1"}, []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := src.PutResource(ctx, store.ResourceKey{Scope: scopes[1], Group: "/app/b", Kind: "subscriptionFilter", Name: "f"}, []byte("filter")); err != nil {
		t.Fatal(err)
	}
	feed, err := src.ReadFeed(ctx, store.FeedRequest{Scope: scopes[1], Group: "/app/b", Limit: 1})
	if err != nil || len(feed.Events) == 0 {
		t.Fatal(feed, err)
	}
	if err := src.SetCursor(ctx, scopes[1], "/app/b", "sub/f", feed.Next); err != nil {
		t.Fatal(err)
	}

	pg := pgtest.Start(t)
	dst, err := postgres.Open(postgres.Config{URL: pg.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	st, err := Run(ctx, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Stats{Groups: 4, Streams: 8, Blocks: 30, Events: 90, Resources: 2, Cursors: 1}); st != want {
		t.Fatalf("copied %+v, want %+v", st, want)
	}
	type ev struct {
		id, stream, msg string
		ts, ingestion   int64
	}
	all := func(e store.Store, sc store.Scope, g string) []ev {
		t.Helper()
		var out []ev
		var after *store.Position
		for {
			p, err := e.Read(ctx, store.ReadRequest{Group: sc, Name: g, After: after, Limit: 7, MaxBytes: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range p.Events {
				out = append(out, ev{string(x.Pos.AppendID(nil)), x.Stream, x.Message, x.Timestamp, x.IngestionTime})
			}
			if p.Next == nil {
				return out
			}
			after = p.Next
		}
	}
	total := 0
	for _, sc := range scopes {
		for _, g := range []string{"/app/a", "/app/b"} {
			want, got := all(src, sc, g), all(dst, sc, g)
			if len(want) == 0 || !slices.Equal(got, want) {
				t.Fatalf("%v %s: read back %v, want %v", sc, g, got, want)
			}
			total += len(got)
			gs, _ := src.GetGroup(ctx, sc, g)
			gd, err := dst.GetGroup(ctx, sc, g)
			if err != nil || gd.CreationTime != gs.CreationTime || gd.Class != gs.Class || gd.Tags["team"] != "x" {
				t.Fatalf("group %s: %+v %v, want %+v", g, gd, err, gs)
			}
		}
	}
	if total != 90 {
		t.Fatalf("%d events read back, want 90", total)
	}
	if v, err := dst.GetResource(ctx, store.ResourceKey{Scope: scopes[0], Kind: "policy", Name: "p1"}); err != nil || string(v) != `{"a":1}` {
		t.Fatalf("account resource: %q %v", v, err)
	}
	if v, err := dst.GetResource(ctx, store.ResourceKey{Scope: scopes[1], Group: "/app/b", Kind: "subscriptionFilter", Name: "f"}); err != nil || string(v) != "filter" {
		t.Fatalf("group resource: %q %v", v, err)
	}
	pos, err := dst.GetCursor(ctx, scopes[1], "/app/b", "sub/f")
	if err != nil || pos != feed.Next {
		t.Fatalf("cursor %d %v, want %d", pos, err, feed.Next)
	}
	// The feed after the cursor is the same blocks in both.
	fs, _ := src.ReadFeed(ctx, store.FeedRequest{Scope: scopes[1], Group: "/app/b", After: pos, Limit: 1000})
	fd, err := dst.ReadFeed(ctx, store.FeedRequest{Scope: scopes[1], Group: "/app/b", After: pos, Limit: 1000})
	// (Next may differ: the embedded engine's mark is its global sequence,
	// PostgreSQL's the group's last block; both are past the same blocks.)
	if err != nil || len(fd.Events) != len(fs.Events) || len(fd.Events) == 0 || fd.Events[len(fd.Events)-1].Pos != fs.Events[len(fs.Events)-1].Pos {
		t.Fatalf("feed after the cursor: %d events to %d, want %d to %d (%v)", len(fd.Events), fd.Next, len(fs.Events), fs.Next, err)
	}
	r, err := dst.Append(ctx, scopes[0], "/app/a", "web", []store.Event{{Timestamp: base + 1000, Message: "after"}}, base+1000)
	if err != nil {
		t.Fatal(err)
	}
	if r.Seq <= fs.Next {
		t.Fatalf("the first append after the migration has seq %d, not past the source's feed mark %d", r.Seq, fs.Next)
	}
	for _, sc := range scopes {
		for _, g := range []string{"/app/a", "/app/b"} {
			f, _ := dst.ReadFeed(ctx, store.FeedRequest{Scope: sc, Group: g, Limit: 1000})
			for _, e := range f.Events {
				if e.Message != "after" && e.Pos.Seq >= r.Seq {
					t.Fatalf("an imported block has seq %d, not below the new append's %d", e.Pos.Seq, r.Seq)
				}
			}
		}
	}
}
