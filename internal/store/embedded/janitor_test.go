package embedded

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairnlog/cairn/internal/store"
)

// TestExpireCostsWhatExpires: in a group of many streams where only a few
// hold expired blocks, a sweep writes keys for those few (two range
// deletions for the group's blocks, an index and a feed deletion per expired
// block, a stats merge per touched stream), not one per stream; a second
// sweep writes nothing; reads, storedBytes (in memory and after a reopen),
// and the index and feed keys stay consistent.
func TestExpireCostsWhatExpires(t *testing.T) {
	n := 20_000
	if testing.Short() {
		n = 2_000
	}
	const expired = 5
	ctx := context.Background()
	now := time.Now().UnixMilli()
	clock := atomic64{v: now}
	fs := vfs.NewMem()
	cfg := Config{Dir: "/db", FS: fs, Now: func() time.Time { return time.UnixMilli(clock.v) }, JanitorInterval: time.Hour}
	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { e.Close() }()
	if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g", RetentionDays: 1}); err != nil {
		t.Fatal(err)
	}
	name := func(i int) string { return fmt.Sprintf("job-%05d", i) }
	old := now - 3*86_400_000
	for i := 0; i < n; i++ {
		if err := e.CreateStream(ctx, scope, "g", store.Stream{Name: name(i)}); err != nil {
			t.Fatal(err)
		}
		if i%(n/expired) == 0 { // expired streams: an old block, then a recent one
			if _, err := e.Append(ctx, scope, "g", name(i), []store.Event{{Timestamp: old, Message: "old " + name(i)}}, old); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.Append(ctx, scope, "g", name(i), []store.Event{{Timestamp: now, Message: "new " + name(i)}}, now); err != nil {
			t.Fatal(err)
		}
	}
	g, err := e.lookup(scope, "g")
	if err != nil {
		t.Fatal(err)
	}

	st, err := e.expire(expireChunk)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d streams, %d expired: %+v", n, expired, st)
	if st.blocks != expired || st.groups != 1 {
		t.Fatalf("dropped %d blocks in %d groups, want %d in 1", st.blocks, st.groups, expired)
	}
	if st.rangeDeletes != 2 || st.pointDeletes != 2*expired || st.merges != expired+1 {
		t.Fatalf("sweep wrote %+v, want 2 range deletions, %d point deletions, %d merges", st, 2*expired, expired+1)
	}
	if st, err := e.expire(expireChunk); err != nil || st != (sweepStats{}) {
		t.Fatalf("second sweep wrote %+v (err %v), want nothing", st, err)
	}
	for _, tag := range []byte{tagSummary, tagBlock, tagIndex, tagFeed} {
		if k := countKeys(t, e, u64key(tag, g.id)); k != n {
			t.Fatalf("%d keys with tag %q after expiry, want %d", k, tag, n)
		}
	}
	checkStoredBytes(t, e, g)
	p, err := e.Read(ctx, store.ReadRequest{Group: scope, Name: "g", Limit: n + 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Events) != n {
		t.Fatalf("read %d events after expiry, want %d", len(p.Events), n)
	}

	// The stats merges persisted: a reopened engine agrees.
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if e, err = Open(cfg); err != nil {
		t.Fatal(err)
	}
	if g, err = e.lookup(scope, "g"); err != nil {
		t.Fatal(err)
	}
	checkStoredBytes(t, e, g)
}

// TestExpireInChunks: expiry in chunks smaller than what expires drops every
// expired block and keeps the accounting exact.
func TestExpireInChunks(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UnixMilli()
	clock := atomic64{v: now}
	e := openClock(t, &clock)
	defer e.Close()
	streams := []string{"a", "b", "c"}
	e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g", RetentionDays: 1})
	for _, s := range streams {
		e.CreateStream(ctx, scope, "g", store.Stream{Name: s})
	}
	for i := 0; i < 7; i++ {
		ts := now - 5*86_400_000 + int64(i)*1000
		e.Append(ctx, scope, "g", streams[i%3], []store.Event{{Timestamp: ts, Message: "old"}}, ts)
	}
	e.Append(ctx, scope, "g", "a", []store.Event{{Timestamp: now, Message: "new"}}, now)
	g, _ := e.lookup(scope, "g")
	st, err := e.expire(2)
	if err != nil {
		t.Fatal(err)
	}
	if st.blocks != 7 || st.rangeDeletes != 8 {
		t.Fatalf("chunked expiry: %+v, want 7 blocks in 4 chunks", st)
	}
	for _, tag := range []byte{tagSummary, tagBlock, tagIndex, tagFeed} {
		if k := countKeys(t, e, u64key(tag, g.id)); k != 1 {
			t.Fatalf("%d keys with tag %q after expiry, want 1", k, tag)
		}
	}
	checkStoredBytes(t, e, g)
}

// checkStoredBytes compares g's storedBytes, and each stream's, with what
// its remaining blocks occupy (payload plus summary, as Append counts it).
func checkStoredBytes(t *testing.T, e *Engine, g *group) {
	t.Helper()
	want := map[uint64]int64{}
	var total int64
	err := e.scan(u64key(tagSummary, g.id), func(k, v []byte) error {
		sum, err := decodeSummary(k, v)
		if err != nil {
			return err
		}
		payload, closer, err := e.db.Get(blockKey(tagBlock, g.id, sum.minTs, sum.seq))
		if err != nil {
			return err
		}
		defer closer.Close()
		want[sum.sid] += int64(len(payload) + len(v))
		total += int64(len(payload) + len(v))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := g.storedBytes.Load(); got != total {
		t.Fatalf("group storedBytes %d, blocks occupy %d", got, total)
	}
	g.mu.RLock()
	defer g.mu.RUnlock()
	for id, s := range g.byID {
		if got := s.storedBytes.Load(); got != want[id] {
			t.Fatalf("stream %s storedBytes %d, its blocks occupy %d", s.name, got, want[id])
		}
	}
}
