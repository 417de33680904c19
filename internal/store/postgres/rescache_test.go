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
