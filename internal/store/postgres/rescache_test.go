package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/cairnlog/cairn/internal/pgtest"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

// TestResourceCache: two engines on one database. B reads a group's record
// and an account's record of a cached kind as of a Group it just read; A
// puts, replaces and deletes them, and B's next read as of a Group read
// after each write sees it. That the answers come from B's cache is shown
// by changing the rows behind the engines' back (no generation moved): B
// keeps answering what it read, until a write through A moves the
// generation. A Group without a version, a kind not cached and a
// re-created group all read the database.
func TestResourceCache(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	const kind = "policy"
	open := func() *Engine {
		e, err := Open(Config{URL: url, CachedKinds: []string{kind}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return e
	}
	a, b := open(), open()
	ctx := context.Background()
	scope := store.Scope{Account: "000000000000", Region: "us-east-1"}
	storetest.Setup(t, a, scope, "g", "s")
	gk := store.ResourceKey{Scope: scope, Group: "g", Kind: kind, Name: "p"}
	ak := store.ResourceKey{Scope: scope, Kind: kind, Name: "p"}

	// read reads k through B as of the group as B reads it now.
	read := func(k store.ResourceKey) string {
		t.Helper()
		g, err := b.GetGroup(ctx, scope, "g")
		if err != nil {
			t.Fatal(err)
		}
		v, err := b.GetResourceAsOf(ctx, g, k)
		if errors.Is(err, store.ErrResourceNotFound) {
			return "<none>"
		}
		if err != nil {
			t.Fatal(err)
		}
		return string(v)
	}
	behind := func(sql string, args ...any) {
		t.Helper()
		if _, err := a.pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []store.ResourceKey{gk, ak} {
		what := "group record"
		if k.Group == "" {
			what = "account record"
		}
		if got := read(k); got != "<none>" {
			t.Fatalf("%s before any put: %q", what, got)
		}
		if err := a.PutResource(ctx, k, []byte("v1")); err != nil {
			t.Fatal(err)
		}
		if got := read(k); got != "v1" {
			t.Fatalf("%s put through A, read through B: %q", what, got)
		}
		// From the cache: a change behind the engines' back is not seen.
		behind(`UPDATE cairn_resources SET value = 'behind' WHERE kind = $1`, []byte(kind))
		if got := read(k); got != "v1" {
			t.Fatalf("%s: B read the database (%q), not its cache", what, got)
		}
		if err := a.PutResource(ctx, k, []byte("v2")); err != nil {
			t.Fatal(err)
		}
		if got := read(k); got != "v2" {
			t.Fatalf("%s replaced through A, read through B: %q", what, got)
		}
		if err := a.DeleteResource(ctx, k); err != nil {
			t.Fatal(err)
		}
		if got := read(k); got != "<none>" {
			t.Fatalf("%s deleted through A, read through B: %q", what, got)
		}
		if err := a.DeleteResource(ctx, k); !errors.Is(err, store.ErrResourceNotFound) {
			t.Fatalf("%s deleted twice: %v", what, err)
		}
	}

	// No version (a Group not from GetGroup), and a kind not cached: the
	// database, every time.
	if err := a.PutResource(ctx, gk, []byte("v3")); err != nil {
		t.Fatal(err)
	}
	if got := read(gk); got != "v3" {
		t.Fatal(got)
	}
	behind(`UPDATE cairn_resources SET value = 'behind' WHERE kind = $1`, []byte(kind))
	if v, err := b.GetResourceAsOf(ctx, store.Group{Scope: scope, Name: "g"}, gk); err != nil || string(v) != "behind" {
		t.Fatalf("no version: %q %v", v, err)
	}
	other := store.ResourceKey{Scope: scope, Group: "g", Kind: "other", Name: "p"}
	if err := a.PutResource(ctx, other, []byte("o1")); err != nil {
		t.Fatal(err)
	}
	if got := read(other); got != "o1" {
		t.Fatal(got)
	}
	behind(`UPDATE cairn_resources SET value = 'o2' WHERE kind = 'other'`)
	if got := read(other); got != "o2" {
		t.Fatalf("a kind not cached was answered from the cache: %q", got)
	}

	// The group deleted and created again: its records went with it.
	if err := a.DeleteGroup(ctx, scope, "g"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetResourceAsOf(ctx, store.Group{Scope: scope, Name: "g", Resources: store.ResourceVersion{ID: 1}}, gk); !errors.Is(err, store.ErrGroupNotFound) {
		t.Fatalf("the group deleted: %v", err)
	}
	storetest.Setup(t, a, scope, "g")
	if got := read(gk); got != "<none>" {
		t.Fatalf("the group created again: %q", got)
	}
	if err := a.PutResource(ctx, store.ResourceKey{Scope: scope, Group: "missing", Kind: kind, Name: "p"}, nil); !errors.Is(err, store.ErrGroupNotFound) {
		t.Fatalf("put on a missing group: %v", err)
	}
	if err := a.DeleteResource(ctx, store.ResourceKey{Scope: scope, Group: "missing", Kind: kind, Name: "p"}); !errors.Is(err, store.ErrGroupNotFound) {
		t.Fatalf("delete on a missing group: %v", err)
	}
}

// TestResourceCacheBounds: the cache's own limits, without a database. It
// starts over once it holds resCacheMax entries or resCacheBytes, never
// keeps an entry larger than a sixteenth of resCacheBytes, and a read at an
// older generation does not replace one kept at a newer.
func TestResourceCacheBounds(t *testing.T) {
	var c resCache
	key := func(i int) resCacheKey {
		return resCacheKey{account: "a", region: "r", gid: int64(i), kind: "k", name: "n"}
	}
	for i := 0; i < resCacheMax; i++ {
		c.store(key(i), resCached{gen: 1, value: []byte("v"), found: true})
	}
	if len(c.entries) != resCacheMax {
		t.Fatalf("%d entries after %d stores", len(c.entries), resCacheMax)
	}
	c.store(key(resCacheMax), resCached{gen: 1, value: []byte("v"), found: true})
	if len(c.entries) != 1 {
		t.Fatalf("%d entries past resCacheMax, want a fresh start with one", len(c.entries))
	}
	if _, ok := c.load(key(0), 1); ok {
		t.Fatal("an entry from before the start over is still served")
	}
	if _, ok := c.load(key(resCacheMax), 1); !ok {
		t.Fatal("the entry stored last is not served")
	}

	big := make([]byte, resCacheBytes/16)
	c.store(key(1), resCached{gen: 1, value: big, found: true})
	if _, ok := c.load(key(1), 1); ok {
		t.Fatal("an entry of a sixteenth of resCacheBytes is kept")
	}
	// Bytes: entries just under the size bound fill resCacheBytes and
	// the next one starts the cache over.
	c = resCache{}
	mid := make([]byte, resCacheBytes/16-256)
	n := 0
	for ; c.bytes+len(mid)+256 <= resCacheBytes; n++ {
		c.store(key(n), resCached{gen: 1, value: mid, found: true})
	}
	if c.bytes > resCacheBytes || len(c.entries) != n {
		t.Fatalf("%d bytes in %d entries after %d stores", c.bytes, len(c.entries), n)
	}
	c.store(key(n), resCached{gen: 1, value: mid, found: true})
	if len(c.entries) != 1 || c.bytes > resCacheBytes/16 {
		t.Fatalf("past resCacheBytes: %d entries, %d bytes; want a fresh start with one", len(c.entries), c.bytes)
	}

	c.store(key(7), resCached{gen: 5, value: []byte("new"), found: true})
	c.store(key(7), resCached{gen: 4, value: []byte("old"), found: true})
	if e, ok := c.load(key(7), 5); !ok || string(e.value) != "new" {
		t.Fatalf("an older read replaced a newer: %+v %v", e, ok)
	}
	if _, ok := c.load(key(7), 4); ok {
		t.Fatal("served at a generation it was not read at")
	}
}
