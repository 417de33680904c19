package postgres

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairnlog/cairn/internal/pgtest"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

var testDay = int64(dayMillis)

// partitionDays lists the days cairn_blocks has partitions for, checking
// that the registry and the catalogue agree.
func partitionDays(t *testing.T, pool *pgxpool.Pool) []int64 {
	t.Helper()
	ctx := context.Background()
	var reg, attached []int64
	rows, err := pool.Query(ctx, `SELECT day FROM cairn_partitions ORDER BY day`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d int64
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		reg = append(reg, d)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// The catalogue's children of cairn_blocks, by the bound PostgreSQL
	// records (not by our names).
	rows, err = pool.Query(ctx, `SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'cairn_blocks'::regclass`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		var lo, hi int64
		if _, err := fmt.Sscanf(b, "FOR VALUES FROM ('%d') TO ('%d')", &lo, &hi); err != nil {
			t.Fatalf("partition bound %q: %v", b, err)
		}
		if hi-lo != testDay || lo%testDay != 0 {
			t.Fatalf("partition bound %q is not one UTC day", b)
		}
		attached = append(attached, lo/testDay)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(attached)
	if !slices.Equal(reg, attached) {
		t.Fatalf("cairn_partitions lists days %v, the catalogue has partitions for %v", reg, attached)
	}
	return reg
}

// TestMigratePartitions: a database at schema version 5 (one unpartitioned
// cairn_blocks) with blocks on three days migrates on Open: one partition
// per day, every event read back in order with its position, the feed and
// the stored bytes unchanged, and appends go on after the old sequences.
func TestMigratePartitions(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := migrateTo(ctx, pool, 5); err != nil {
		t.Fatal(err)
	}
	scope := store.Scope{Account: "000000000000", Region: "us-east-1"}
	if _, err := pool.Exec(ctx, `INSERT INTO cairn_groups (account, region, name, creation_time, retention_days, class, kms_key_id, tags, deletion_protection)
		VALUES ($1, $2, 'g', 1, 0, 'STANDARD', '', '{}', false)`, scope.Account, scope.Region); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO cairn_streams (gid, name, creation_time) SELECT gid, 's', 1 FROM cairn_groups`); err != nil {
		t.Fatal(err)
	}
	c, err := newCodec()
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	// Blocks on days 10, 11 (two) and 40, written with version 5's append.
	type ev struct {
		ts  int64
		msg string
		seq int64
	}
	var want []ev
	for i, ts := range []int64{10*testDay + 5, 11*testDay + 1, 11*testDay + 7, 40 * testDay} {
		evs := []store.Event{{Timestamp: ts, Message: fmt.Sprintf("block %d first", i)}, {Timestamp: ts + 1, Message: fmt.Sprintf("block %d second", i)}}
		payload, raw := c.encode(evs)
		grams := buildGrams(evs)
		var seq int64
		var ignored string
		err := pool.QueryRow(ctx, appendSQL, scope.Account, scope.Region, []byte("g"), []byte("s"), ts, ts+1, int64(99), int64(len(payload)+len(grams)+rowOverhead),
			2, raw, int16(0), grams, payload, "old").Scan(&seq, &ignored)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			want = append(want, ev{e.Timestamp, e.Message, seq})
		}
	}
	var bytesBefore int64
	if err := pool.QueryRow(ctx, `SELECT stored_bytes FROM cairn_groups`).Scan(&bytesBefore); err != nil {
		t.Fatal(err)
	}

	now := 50*testDay + 3
	e, err := Open(Config{URL: url, Now: func() time.Time { return time.UnixMilli(now) }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var version int
	if err := pool.QueryRow(ctx, `SELECT version FROM cairn_schema_version`).Scan(&version); err != nil || version != len(schema) {
		t.Fatalf("schema version %d (%v), want %d", version, err, len(schema))
	}
	if got, wantDays := partitionDays(t, pool), []int64{10, 11, 40, 50, 51, 52}; !slices.Equal(got, wantDays) {
		t.Fatalf("partitions for days %v, want %v (the data's and today's two ahead)", got, wantDays)
	}
	var old bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('cairn_blocks_v5') IS NOT NULL`).Scan(&old); err != nil || old {
		t.Fatalf("the version-5 table is still there (%v)", err)
	}
	page, err := e.Read(ctx, store.ReadRequest{Group: scope, Name: "g", Limit: 100, MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var got []ev
	for _, x := range page.Events {
		got = append(got, ev{x.Timestamp, x.Message, int64(x.Pos.Seq)})
	}
	if !slices.Equal(got, want) {
		t.Fatalf("read back %v, want %v", got, want)
	}
	feed, err := e.ReadFeed(ctx, store.FeedRequest{Scope: scope, Group: "g", Limit: 100})
	if err != nil || len(feed.Events) != len(want) || feed.Next != uint64(want[len(want)-1].seq) {
		t.Fatalf("feed: %d events, next %d (%v); want %d, next %d", len(feed.Events), feed.Next, err, len(want), want[len(want)-1].seq)
	}
	g, err := e.GetGroup(ctx, scope, "g")
	if err != nil || g.StoredBytes != bytesBefore {
		t.Fatalf("stored bytes %d (%v), %d before the migration", g.StoredBytes, err, bytesBefore)
	}
	res, err := e.Append(ctx, scope, "g", "s", []store.Event{{Timestamp: now, Message: "after"}}, now)
	if err != nil || res.Seq <= uint64(want[len(want)-1].seq) {
		t.Fatalf("append after the migration: seq %d (%v), the old ones end at %d", res.Seq, err, want[len(want)-1].seq)
	}
}

// TestDropPartitions: with a test clock, a partition is dropped once every
// block in it is past its own group's retention; a partition that also
// holds a block of a group kept longer stays (the shorter group's row in it
// is deleted alone), and one with a block of a group without retention is
// never dropped. Stored bytes follow; a late write to a dropped day gets a
// new partition.
func TestDropPartitions(t *testing.T) {
	pg := pgtest.Start(t)
	var clock atomic.Int64
	clock.Store(100*testDay + testDay/2)
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
	}{{"short", 1}, {"long", 5}, {"forever", 0}} {
		if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: g.name, CreationTime: 1, RetentionDays: g.days}); err != nil {
			t.Fatal(err)
		}
		if err := e.CreateStream(ctx, scope, g.name, store.Stream{Name: "s", CreationTime: 1}); err != nil {
			t.Fatal(err)
		}
	}
	put := func(group string, day float64) {
		t.Helper()
		ts := int64(day * float64(testDay))
		if _, err := e.Append(ctx, scope, group, "s", []store.Event{{Timestamp: ts, Message: fmt.Sprintf("%s at day %v", group, day)}}, clock.Load()); err != nil {
			t.Fatal(err)
		}
	}
	put("short", 95.2)
	put("long", 95.8)
	put("long", 97.1)
	put("short", 99.7)
	put("forever", 96.4)
	blocks := func(g string) (n int64) {
		t.Helper()
		var size int64
		err := e.pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(length(payload) + length(grams) + $2), 0)::bigint
			FROM cairn_blocks b JOIN cairn_groups g USING (gid) WHERE g.name = $1`, []byte(g), rowOverhead).Scan(&n, &size)
		if err != nil {
			t.Fatal(err)
		}
		gr, err := e.GetGroup(ctx, scope, g)
		if err != nil {
			t.Fatal(err)
		}
		st, err := e.GetStream(ctx, scope, g, "s")
		if err != nil {
			t.Fatal(err)
		}
		if gr.StoredBytes != size || st.StoredBytes != size {
			t.Fatalf("%s: blocks of %d bytes, the group counts %d, the stream %d", g, size, gr.StoredBytes, st.StoredBytes)
		}
		return n
	}
	// Now is day 100.5: short keeps from 99.5, long from 95.5. Day 95
	// holds short's expired block and long's live one: it stays, short's
	// row is deleted. Nothing else is expired.
	if n, err := e.Expire(ctx); err != nil || n != 1 {
		t.Fatalf("Expire at day 100.5 deleted %d blocks (%v), want 1 (short's of day 95)", n, err)
	}
	if got, want := partitionDays(t, e.pool), []int64{95, 96, 97, 99, 100, 101, 102}; !slices.Equal(got, want) {
		t.Fatalf("partitions at day 100.5: %v, want %v", got, want)
	}
	if n1, n2, n3 := blocks("short"), blocks("long"), blocks("forever"); n1 != 1 || n2 != 2 || n3 != 1 {
		t.Fatalf("blocks left: short %d long %d forever %d; want 1 2 1", n1, n2, n3)
	}
	// Day 101.5: long keeps from 96.5, short from 100.5. Day 95 (long's
	// block) and day 99 (short's) are wholly expired and dropped, and the
	// empty day 100; day 96 is forever's, day 97 still long's.
	clock.Add(testDay)
	if n, err := e.Expire(ctx); err != nil || n != 2 {
		t.Fatalf("Expire at day 101.5 deleted %d blocks (%v), want 2", n, err)
	}
	if got, want := partitionDays(t, e.pool), []int64{96, 97, 101, 102}; !slices.Equal(got, want) {
		t.Fatalf("partitions at day 101.5: %v, want %v", got, want)
	}
	if n1, n2, n3 := blocks("short"), blocks("long"), blocks("forever"); n1 != 0 || n2 != 1 || n3 != 1 {
		t.Fatalf("blocks left: short %d long %d forever %d; want 0 1 1", n1, n2, n3)
	}
	// A year on, forever's day stays.
	clock.Add(365 * testDay)
	if _, err := e.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	if got := partitionDays(t, e.pool); !slices.Contains(got, 96) || slices.Contains(got, 97) {
		t.Fatalf("partitions a year on: %v, want day 96 (forever's) and not 97", got)
	}
	// A late write to a dropped day.
	put("forever", 95.9)
	if got := partitionDays(t, e.pool); !slices.Contains(got, 95) {
		t.Fatalf("partitions after a write to day 95: %v", got)
	}
	page, err := e.Read(ctx, store.ReadRequest{Group: scope, Name: "forever", Limit: 10, MaxBytes: 1 << 20})
	if err != nil || len(page.Events) != 2 || page.Events[0].Message != "forever at day 95.9" || page.Events[1].Message != "forever at day 96.4" {
		t.Fatalf("forever reads %+v (%v)", page.Events, err)
	}
}

// TestPartitionRace: two nodes on one database append at once to days no
// partition exists for yet; every append succeeds and each day gets one
// partition.
func TestPartitionRace(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	var nodes []*Engine
	for range 2 {
		e, err := Open(Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		nodes = append(nodes, e)
	}
	ctx := context.Background()
	scope := store.Scope{Account: "000000000000", Region: "us-east-1"}
	storetest.Setup(t, nodes[0], scope, "g", "s0", "s1", "s2", "s3")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range 8 {
				ts := int64(1000+d) * testDay // days 1000..1007, each written by every writer
				_, err := nodes[w%2].Append(ctx, scope, "g", fmt.Sprintf("s%d", w%4), []store.Event{{Timestamp: ts + int64(w), Message: "m"}}, 1)
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var n int64
	if err := nodes[0].pool.QueryRow(ctx, `SELECT count(*) FROM cairn_blocks`).Scan(&n); err != nil || n != 16*8 {
		t.Fatalf("%d blocks (%v), want %d", n, err, 16*8)
	}
	days := partitionDays(t, nodes[0].pool)
	for d := int64(1000); d < 1008; d++ {
		if !slices.Contains(days, d) {
			t.Fatalf("no partition for day %d: %v", d, days)
		}
	}
}
