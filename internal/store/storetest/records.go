package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/store"
)

// testCursors: cursors are kept per group and name, survive a reopen (with
// the feed they point into), and go with their group.
func testCursors(t *testing.T, open Opener) {
	ctx := context.Background()
	s, reopen := open(t)
	s.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"})
	s.CreateGroup(ctx, store.Group{Scope: scope, Name: "h"})
	s.CreateStream(ctx, scope, "g", store.Stream{Name: "a"})
	if err := s.SetCursor(ctx, scope, "nope", "c", 1); !errors.Is(err, store.ErrGroupNotFound) {
		t.Fatalf("cursor in a missing group: %v", err)
	}
	if _, err := s.GetCursor(ctx, scope, "g", "c"); !errors.Is(err, store.ErrCursorNotFound) {
		t.Fatalf("missing cursor: %v", err)
	}
	now := time.Now().UnixMilli()
	res, err := s.Append(ctx, scope, "g", "a", []store.Event{{Timestamp: now, Message: "one"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		group, name string
		pos         uint64
	}{{"g", "c", 5}, {"g", "c", res.Seq}, {"g", "d", 7}, {"h", "c", 9}} {
		if err := s.SetCursor(ctx, scope, c.group, c.name, c.pos); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = reopen(t)
	get := func(group, name string, want uint64) {
		t.Helper()
		if got, err := s.GetCursor(ctx, scope, group, name); err != nil || got != want {
			t.Fatalf("cursor %s/%s: %d %v, want %d", group, name, got, err, want)
		}
	}
	get("g", "c", res.Seq)
	get("g", "d", 7)
	get("h", "c", 9)
	// The feed survives too, and resumes where the cursor points.
	if evs, _ := readFeedAll(t, s, "g", 0, 10); len(evs) != 1 || evs[0].Pos.Seq != res.Seq {
		t.Fatalf("feed after reopen: %+v", evs)
	}
	res2, err := s.Append(ctx, scope, "g", "a", []store.Event{{Timestamp: now, Message: "two"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if res2.Seq <= res.Seq {
		t.Fatalf("sequence went back after reopen: %d then %d", res.Seq, res2.Seq)
	}
	if evs, _ := readFeedAll(t, s, "g", res.Seq, 10); len(evs) != 1 || evs[0].Message != "two" {
		t.Fatalf("feed after the cursor: %+v", evs)
	}
	if err := s.DeleteCursor(ctx, scope, "g", "d"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCursor(ctx, scope, "g", "d"); !errors.Is(err, store.ErrCursorNotFound) {
		t.Fatalf("deleting a deleted cursor: %v", err)
	}
	if err := s.DeleteGroup(ctx, scope, "g"); err != nil {
		t.Fatal(err)
	}
	s.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"})
	if _, err := s.GetCursor(ctx, scope, "g", "c"); !errors.Is(err, store.ErrCursorNotFound) {
		t.Fatalf("a re-created group has its predecessor's cursor: %v", err)
	}
	s.Close()
	s = reopen(t)
	defer s.Close()
	if _, err := s.GetCursor(ctx, scope, "g", "c"); !errors.Is(err, store.ErrCursorNotFound) {
		t.Fatalf("a deleted group's cursor is back after reopen: %v", err)
	}
	get("h", "c", 9)
}

// testResources: resource records per account and region or per group,
// listed by kind and prefix, durable, and deleted with their group.
func testResources(t *testing.T, open Opener) {
	ctx := context.Background()
	s, reopen := open(t)
	other := store.Scope{Account: scope.Account, Region: "eu-west-1"}
	acct := func(kind, name string) store.ResourceKey {
		return store.ResourceKey{Scope: scope, Kind: kind, Name: name}
	}
	grp := func(group, kind, name string) store.ResourceKey {
		return store.ResourceKey{Scope: scope, Group: group, Kind: kind, Name: name}
	}
	if err := s.PutResource(ctx, grp("g", "metricFilter", "m"), []byte("x")); !errors.Is(err, store.ErrGroupNotFound) {
		t.Fatalf("resource of a missing group: %v", err)
	}
	s.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"})
	s.CreateGroup(ctx, store.Group{Scope: scope, Name: "h"})
	put := func(k store.ResourceKey, v string) {
		t.Helper()
		if err := s.PutResource(ctx, k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	put(acct("destination", "d2"), "two")
	put(acct("destination", "d1"), "one")
	put(acct("destination", "e1"), "e")
	put(acct("destination", "d1"), "one!") // replaces
	put(acct("destinationPolicy", "d1"), "policy")
	put(store.ResourceKey{Scope: other, Kind: "destination", Name: "d9"}, "elsewhere")
	put(grp("g", "metricFilter", "m1"), "g-m1")
	put(grp("g", "metricFilter", "m2"), "g-m2")
	put(grp("h", "metricFilter", "m1"), "h-m1")

	s.Close()
	s = reopen(t)
	list := func(k store.ResourceKey, prefix, after string) []string {
		t.Helper()
		var out []string
		err := s.ListResources(ctx, k, prefix, after, func(name string, v []byte) bool {
			out = append(out, name+"="+string(v))
			return true
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	f := func(k store.ResourceKey, prefix, after string, want ...string) {
		t.Helper()
		if got := list(k, prefix, after); !slices.Equal(got, want) {
			t.Fatalf("list %+v %q after %q: %v, want %v", k, prefix, after, got, want)
		}
	}
	f(acct("destination", ""), "", "", "d1=one!", "d2=two", "e1=e")
	f(acct("destination", ""), "d", "", "d1=one!", "d2=two")
	f(acct("destination", ""), "d", "d1", "d2=two")
	f(acct("destination", ""), "", "d2", "e1=e")
	f(acct("destinationPolicy", ""), "", "", "d1=policy")
	f(store.ResourceKey{Scope: other, Kind: "destination"}, "", "", "d9=elsewhere")
	f(grp("g", "metricFilter", ""), "", "", "m1=g-m1", "m2=g-m2")
	f(grp("h", "metricFilter", ""), "", "", "m1=h-m1")
	if v, err := s.GetResource(ctx, acct("destination", "d1")); err != nil || string(v) != "one!" {
		t.Fatalf("get d1: %q %v", v, err)
	}
	if _, err := s.GetResource(ctx, acct("destination", "zz")); !errors.Is(err, store.ErrResourceNotFound) {
		t.Fatalf("missing resource: %v", err)
	}
	if err := s.DeleteResource(ctx, acct("destination", "d2")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteResource(ctx, acct("destination", "d2")); !errors.Is(err, store.ErrResourceNotFound) {
		t.Fatalf("deleting a deleted resource: %v", err)
	}
	if err := s.DeleteGroup(ctx, scope, "g"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetResource(ctx, grp("g", "metricFilter", "m1")); !errors.Is(err, store.ErrGroupNotFound) {
		t.Fatalf("a deleted group's resource: %v", err)
	}
	s.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"})
	f(grp("g", "metricFilter", ""), "", "")
	s.Close()
	s = reopen(t)
	defer s.Close()
	f(grp("g", "metricFilter", ""), "", "")
	f(grp("h", "metricFilter", ""), "", "", "m1=h-m1")
	f(acct("destination", ""), "", "", "d1=one!", "e1=e")
}
