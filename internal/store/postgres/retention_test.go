package postgres

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/pgtest"
	"github.com/cairnlog/cairn/internal/store"
)

// TestExpire: with a test clock, blocks wholly past their group's
// retention are deleted from cairn_blocks and their bytes come off the
// group and the stream; a block that still has a visible event, and a
// group without retention, keep theirs.
func TestExpire(t *testing.T) {
	pg := pgtest.Start(t)
	day := int64(86_400_000)
	var clock atomic.Int64
	clock.Store(100 * day)
	e, err := Open(Config{URL: pg.NewDatabase(t), Now: func() time.Time { return time.UnixMilli(clock.Load()) }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	scope := store.Scope{Account: "000000000000", Region: "us-east-1"}
	for _, g := range []struct {
		name string
		days int32
	}{{"keep", 0}, {"short", 1}} {
		if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: g.name, CreationTime: 1, RetentionDays: g.days}); err != nil {
			t.Fatal(err)
		}
		if err := e.CreateStream(ctx, scope, g.name, store.Stream{Name: "s", CreationTime: 1}); err != nil {
			t.Fatal(err)
		}
	}
	now := clock.Load()
	batches := [][]int64{{now - 3*day, now - 3*day + 5}, {now - 2*day}, {now - day - 10, now}, {now}}
	for _, g := range []string{"keep", "short"} {
		for _, b := range batches {
			var evs []store.Event
			for _, ts := range b {
				evs = append(evs, store.Event{Timestamp: ts, Message: "message"})
			}
			if _, err := e.Append(ctx, scope, g, "s", evs, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	bytes := func(g string) int64 {
		t.Helper()
		gr, err := e.GetGroup(ctx, scope, g)
		if err != nil {
			t.Fatal(err)
		}
		st, err := e.GetStream(ctx, scope, g, "s")
		if err != nil {
			t.Fatal(err)
		}
		if gr.StoredBytes != st.StoredBytes {
			t.Fatalf("group %s holds %d bytes, its only stream %d", g, gr.StoredBytes, st.StoredBytes)
		}
		return gr.StoredBytes
	}
	blocks := func(g string) (n int64, payload int64) {
		t.Helper()
		err := e.pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(length(payload) + length(grams) + $2), 0)::bigint
			FROM cairn_blocks b JOIN cairn_groups g USING (gid) WHERE g.name = $1`, []byte(g), rowOverhead).Scan(&n, &payload)
		if err != nil {
			t.Fatal(err)
		}
		return n, payload
	}
	if n, err := e.Expire(ctx); err != nil || n != 2 {
		t.Fatalf("Expire deleted %d blocks (%v), want 2 (the two batches wholly over a day old)", n, err)
	}
	if n, size := blocks("short"); n != 2 || size != bytes("short") {
		t.Fatalf("short: %d blocks of %d bytes left, stored bytes %d; want 2 blocks, the same bytes", n, size, bytes("short"))
	}
	if n, size := blocks("keep"); n != 4 || size != bytes("keep") {
		t.Fatalf("keep: %d blocks of %d bytes, stored bytes %d; want all 4", n, size, bytes("keep"))
	}
	if n, err := e.Expire(ctx); err != nil || n != 0 {
		t.Fatalf("a second pass deleted %d (%v)", n, err)
	}
	clock.Add(2 * day)
	if n, err := e.Expire(ctx); err != nil || n != 2 {
		t.Fatalf("two days later Expire deleted %d (%v), want the other 2", n, err)
	}
	if n, _ := blocks("short"); n != 0 || bytes("short") != 0 {
		t.Fatalf("short: %d blocks, %d bytes left", n, bytes("short"))
	}
	page, err := e.Read(ctx, store.ReadRequest{Group: scope, Name: "keep", Limit: 100, MaxBytes: 1 << 20})
	if err != nil || len(page.Events) != 6 {
		t.Fatalf("keep reads %d events (%v), want 6", len(page.Events), err)
	}
}
