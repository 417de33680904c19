package embedded

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

// listAll returns name=value pairs of k.Kind's records under prefix.
func listAll(t *testing.T, e *Engine, k store.ResourceKey, prefix string) []string {
	t.Helper()
	var got []string
	if err := e.ListResources(context.Background(), k, prefix, "", func(name string, v []byte) bool {
		got = append(got, name+"="+string(v))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestResourceCacheSeesWrites: reads served from the resource cache follow
// every write at once: puts, deletes, a group's deletion and re-creation, and
// a caller that changes the bytes it was given.
func TestResourceCacheSeesWrites(t *testing.T) {
	ctx := context.Background()
	e := openMem(t, vfs.NewMem())
	defer e.Close()
	storetest.Setup(t, e, scope, "g", "s")
	acct := store.ResourceKey{Scope: scope, Kind: "accountPolicy", Name: "p"}
	grp := store.ResourceKey{Scope: scope, Group: "g", Kind: "transformer", Name: "t"}
	for _, k := range []store.ResourceKey{acct, grp} {
		for range 2 { // the second read comes from the cache
			if _, err := e.GetResource(ctx, k); !errors.Is(err, store.ErrResourceNotFound) {
				t.Fatalf("%v before any put: %v, want not found", k, err)
			}
			if got := listAll(t, e, k, ""); len(got) != 0 {
				t.Fatalf("%v listed before any put: %v", k, got)
			}
		}
		for _, v := range []string{"v1", "v2"} {
			if err := e.PutResource(ctx, k, []byte(v)); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				got, err := e.GetResource(ctx, k)
				if err != nil || string(got) != v {
					t.Fatalf("%v after put %s: %q, %v", k, v, got, err)
				}
				got[0] = 'X' // the caller's copy: the next read must not see it
				if l := listAll(t, e, k, ""); len(l) != 1 || l[0] != k.Name+"="+v {
					t.Fatalf("%v listed after put %s: %v", k, v, l)
				}
				if l := listAll(t, e, k, "q"); len(l) != 0 {
					t.Fatalf("%v listed under prefix q: %v", k, l)
				}
			}
		}
		if err := e.DeleteResource(ctx, k); err != nil {
			t.Fatal(err)
		}
		if _, err := e.GetResource(ctx, k); !errors.Is(err, store.ErrResourceNotFound) {
			t.Fatalf("%v after delete: %v, want not found", k, err)
		}
		if got := listAll(t, e, k, ""); len(got) != 0 {
			t.Fatalf("%v listed after delete: %v", k, got)
		}
	}
	// A group's records go with the group, and a group of the same name
	// created again starts without them.
	if err := e.PutResource(ctx, grp, []byte("old")); err != nil {
		t.Fatal(err)
	}
	if got, err := e.GetResource(ctx, grp); err != nil || string(got) != "old" {
		t.Fatalf("before the group's deletion: %q, %v", got, err)
	}
	listAll(t, e, grp, "")
	if err := e.DeleteGroup(ctx, scope, "g"); err != nil {
		t.Fatal(err)
	}
	if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.GetResource(ctx, grp); !errors.Is(err, store.ErrResourceNotFound) {
		t.Fatalf("re-created group: %q, %v, want not found", got, err)
	}
	if got := listAll(t, e, grp, ""); len(got) != 0 {
		t.Fatalf("re-created group lists %v", got)
	}
	// A list longer than the cache keeps is read whole, every time.
	for i := range resListMax + 5 {
		if err := e.PutResource(ctx, store.ResourceKey{Scope: scope, Kind: "many", Name: fmt.Sprintf("n%03d", i)}, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if got := listAll(t, e, store.ResourceKey{Scope: scope, Kind: "many"}, ""); len(got) != resListMax+5 {
			t.Fatalf("long list: %d records, want %d", len(got), resListMax+5)
		}
	}
}

// TestResourceCacheConcurrent: while one goroutine writes versions 1, 2, 3...
// of a record, readers (Get and List) never see a version older than the
// last put that returned before their read began.
func TestResourceCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	e := openMem(t, vfs.NewMem())
	defer e.Close()
	k := store.ResourceKey{Scope: scope, Kind: "accountPolicy", Name: "p"}
	const versions = 300
	var done atomic.Int64 // the last version whose PutResource returned
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done.Load() < versions {
				floor := done.Load()
				var got int64
				if r%2 == 0 {
					v, err := e.GetResource(ctx, k)
					if err == nil {
						got, _ = strconv.ParseInt(string(v), 10, 64)
					} else if !errors.Is(err, store.ErrResourceNotFound) {
						errc <- err
						return
					}
				} else {
					err := e.ListResources(ctx, k, "", "", func(_ string, v []byte) bool {
						got, _ = strconv.ParseInt(string(v), 10, 64)
						return true
					})
					if err != nil {
						errc <- err
						return
					}
				}
				if got < floor {
					errc <- fmt.Errorf("reader %d read version %d after version %d was put", r, got, floor)
					return
				}
			}
		}()
	}
	for v := int64(1); v <= versions; v++ {
		if err := e.PutResource(ctx, k, []byte(strconv.FormatInt(v, 10))); err != nil {
			t.Fatal(err)
		}
		done.Store(v)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
}

// TestResourceCacheBytesBounded: the cache's bound is on the bytes it
// holds, not only on its entries: 600 records of 32 KiB each (a data
// protection policy may be 30 KiB, one per group read on every
// PutLogEvents) read once each must not all stay in memory (19 MiB; 4,096
// of them would be 128 MiB). The bound is 16 MiB (resCacheBytes).
func TestResourceCacheBytesBounded(t *testing.T) {
	ctx := context.Background()
	e := openMem(t, vfs.NewMem())
	defer e.Close()
	value := make([]byte, 32<<10)
	for i := range 600 {
		k := store.ResourceKey{Scope: scope, Kind: "dataProtectionPolicy", Name: strconv.Itoa(i)}
		if err := e.PutResource(ctx, k, value); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 600 {
		k := store.ResourceKey{Scope: scope, Kind: "dataProtectionPolicy", Name: strconv.Itoa(i)}
		if v, err := e.GetResource(ctx, k); err != nil || len(v) != len(value) {
			t.Fatalf("record %d: %d bytes, %v", i, len(v), err)
		}
	}
	e.res.mu.Lock()
	held := 0
	for k, en := range e.res.entries {
		held += len(k) + len(en.value)
		for j := range en.names {
			held += len(en.names[j]) + len(en.vals[j])
		}
	}
	n := len(e.res.entries)
	e.res.mu.Unlock()
	if held > 16<<20 {
		t.Fatalf("the resource cache holds %d bytes in %d entries; want at most %d", held, n, 16<<20)
	}
	if n == 0 {
		t.Fatal("nothing cached: the bound must not turn the cache off")
	}
}
