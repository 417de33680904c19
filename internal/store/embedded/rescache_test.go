package embedded

import (
	"context"
	"errors"
	"fmt"
	"runtime"
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

// TestResourceCacheDomains: a write forgets only the records of its own
// kind (and group): data protection writes an originals record after every
// batch, which must not send the next batch's policy lookups to Pebble; a
// write of the same kind, another name, is still seen by a List of the
// kind; a group's deletion forgets every kind. The hits are counted on the
// cache itself (an entry served is one Pebble did not read).
func TestResourceCacheDomains(t *testing.T) {
	ctx := context.Background()
	e := openMem(t, vfs.NewMem())
	defer e.Close()
	storetest.Setup(t, e, scope, "g", "s")
	policy := store.ResourceKey{Scope: scope, Group: "g", Kind: "dataProtectionPolicy", Name: "policy"}
	tr := store.ResourceKey{Scope: scope, Group: "g", Kind: "transformer", Name: "t"}
	acct := store.ResourceKey{Scope: scope, Kind: "accountPolicy", Name: "p"}
	for _, k := range []store.ResourceKey{policy, acct} {
		if err := e.PutResource(ctx, k, []byte("v1")); err != nil {
			t.Fatal(err)
		}
	}
	read := func(when string) {
		t.Helper()
		if v, err := e.GetResource(ctx, policy); err != nil || string(v) != "v1" {
			t.Fatalf("%s: policy %q, %v", when, v, err)
		}
		if _, err := e.GetResource(ctx, tr); !errors.Is(err, store.ErrResourceNotFound) {
			t.Fatalf("%s: transformer %v, want not found", when, err)
		}
		if l := listAll(t, e, acct, ""); len(l) != 1 || l[0] != "p=v1" {
			t.Fatalf("%s: account policies %v", when, l)
		}
	}
	cached := func(k store.ResourceKey, list bool) bool {
		t.Helper()
		var p []byte
		var err error
		if k.Group != "" {
			g, gerr := e.liveGroup(k.Scope, k.Group)
			if gerr != nil {
				t.Fatal(gerr)
			}
			p, err = resourcePrefix(k, g)
		} else {
			p, err = resourcePrefix(k, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		ck := "g" + string(p) + k.Name
		if list {
			ck = "l" + string(p)
		}
		_, _, ok := e.res.load(p, ck)
		return ok
	}
	read("first read")
	for i := range 5 {
		orig := store.ResourceKey{Scope: scope, Group: "g", Kind: "dataProtectionOriginals", Name: fmt.Sprintf("%020d", i)}
		if err := e.PutResource(ctx, orig, []byte("sealed")); err != nil {
			t.Fatal(err)
		}
		if !cached(policy, false) || !cached(tr, false) || !cached(acct, true) {
			t.Fatalf("after originals record %d: policy %v, transformer %v, account list %v cached; want all three",
				i, cached(policy, false), cached(tr, false), cached(acct, true))
		}
		read(fmt.Sprintf("after originals record %d", i))
	}
	// Writes of the same kind are seen at once, by Get and List.
	if err := e.PutResource(ctx, acct, []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if cached(acct, true) {
		t.Fatal("the account's list is still served after a put of its kind")
	}
	other := store.ResourceKey{Scope: scope, Kind: "accountPolicy", Name: "q"}
	if err := e.PutResource(ctx, other, []byte("w")); err != nil {
		t.Fatal(err)
	}
	if l := listAll(t, e, acct, ""); len(l) != 2 || l[0] != "p=v2" || l[1] != "q=w" {
		t.Fatalf("account policies after two puts: %v", l)
	}
	if !cached(policy, false) {
		t.Fatal("the group's policy was forgotten by a write of the account's kind")
	}
	if err := e.PutResource(ctx, policy, []byte("v3")); err != nil {
		t.Fatal(err)
	}
	if v, err := e.GetResource(ctx, policy); err != nil || string(v) != "v3" {
		t.Fatalf("policy after its put: %q, %v", v, err)
	}
	// A group's deletion forgets every kind, and a new group of the name
	// starts without records.
	if err := e.DeleteGroup(ctx, scope, "g"); err != nil {
		t.Fatal(err)
	}
	if cached(acct, true) {
		t.Fatal("an entry is still served after a group's deletion")
	}
	if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"}); err != nil {
		t.Fatal(err)
	}
	if v, err := e.GetResource(ctx, policy); !errors.Is(err, store.ErrResourceNotFound) {
		t.Fatalf("re-created group: %q, %v, want not found", v, err)
	}
}

// TestResourceCacheDomainsConcurrent: as TestResourceCacheConcurrent, with
// a writer of another kind of the same group putting records all the time
// (the originals of every batch) and the domain stamps overflowing
// resCacheMax (each write of a fresh account-level kind is a new domain):
// readers never see a version older than the last put that returned.
func TestResourceCacheDomainsConcurrent(t *testing.T) {
	ctx := context.Background()
	e := openMem(t, vfs.NewMem())
	defer e.Close()
	storetest.Setup(t, e, scope, "g", "s")
	keys := []store.ResourceKey{
		{Scope: scope, Group: "g", Kind: "dataProtectionPolicy", Name: "policy"},
		{Scope: scope, Kind: "accountPolicy", Name: "p"},
	}
	const versions = 200
	var done [2]atomic.Int64
	var noise atomic.Int64 // records the noise writer has put
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // the noise: other kinds, every one a domain
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k := store.ResourceKey{Scope: scope, Group: "g", Kind: "dataProtectionOriginals", Name: strconv.Itoa(i)}
			if i%2 == 1 {
				k = store.ResourceKey{Scope: scope, Kind: "k" + strconv.Itoa(i), Name: "x"}
			}
			if err := e.PutResource(ctx, k, []byte("x")); err != nil {
				errc <- err
				return
			}
			noise.Add(1)
		}
	}()
	var readers sync.WaitGroup
	for r := range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			k, d := keys[r%2], &done[r%2]
			for d.Load() < versions {
				floor := d.Load()
				var got int64
				if r < 2 {
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
					errc <- fmt.Errorf("reader %d read version %d of %v after version %d was put", r, got, k.Kind, floor)
					return
				}
			}
		}()
	}
	for v := int64(1); v <= versions; v++ {
		// 60 noise records a version: 12,000 in all, the domain stamps
		// overflow resCacheMax about once every 136 versions.
		for noise.Load() < 60*v && len(errc) == 0 {
			runtime.Gosched()
		}
		for i, k := range keys {
			if err := e.PutResource(ctx, k, []byte(strconv.FormatInt(v, 10))); err != nil {
				t.Fatal(err)
			}
			done[i].Store(v)
		}
	}
	readers.Wait()
	close(stop)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
}

// TestResourceCacheStampsOverflow: past resCacheMax domains the stamps are
// dropped; an entry read before its domain's last write, or a read begun
// before it, must stay stale after the drop.
func TestResourceCacheStampsOverflow(t *testing.T) {
	a := []byte("r\x00\x00\x00\x00\x00\x00\x00\x01transformer\x00")
	c := newResCache()
	at, _, _ := c.load(a, "k")
	c.store(a, at, "k", resEntry{value: []byte("v1"), found: true})
	if _, e, ok := c.load(a, "k"); !ok || string(e.value) != "v1" {
		t.Fatalf("stored entry not served: %v %q", ok, e.value)
	}
	inflight, _, _ := c.load(a, "k2") // a read that goes to Pebble
	c.begin(a)
	c.end(a)
	for i := range resCacheMax + 1 {
		d := []byte(fmt.Sprintf("R\x00\x00kind%d\x00", i))
		c.begin(d)
		c.end(d)
	}
	if _, e, ok := c.load(a, "k"); ok {
		t.Fatalf("an entry read before its domain's write is served after the stamps overflowed: %q", e.value)
	}
	c.store(a, inflight, "k2", resEntry{value: []byte("old"), found: true})
	if _, e, ok := c.load(a, "k2"); ok {
		t.Fatalf("a read begun before its domain's write stored its answer after the stamps overflowed: %q", e.value)
	}
	at, _, _ = c.load(a, "k")
	c.store(a, at, "k", resEntry{value: []byte("v2"), found: true})
	if _, e, ok := c.load(a, "k"); !ok || string(e.value) != "v2" {
		t.Fatalf("after the overflow nothing is cached any more: %v %q", ok, e.value)
	}
	if len(c.stamp) > resCacheMax {
		t.Fatalf("%d domain stamps kept, want at most %d", len(c.stamp), resCacheMax)
	}
}

// TestResourceCacheStamps: each half of the protocol, one step at a time:
// an entry read before a write began is not served once it has begun; one
// read while it was in flight is not served once it has ended; a read that
// began before a write stores nothing after it; a write of another domain
// changes none of this, and a range deletion (beginAll) counts for all.
func TestResourceCacheStamps(t *testing.T) {
	a, b := []byte("r\x00\x00\x00\x00\x00\x00\x00\x01transformer\x00"), []byte("r\x00\x00\x00\x00\x00\x00\x00\x01dataProtectionOriginals\x00")
	v := func(s string) resEntry { return resEntry{value: []byte(s), found: true} }
	put := func(c *resCache, key, val string) {
		at, _, _ := c.load(a, key)
		c.store(a, at, key, v(val))
	}
	served := func(c *resCache, key string) bool { _, _, ok := c.load(a, key); return ok }

	c := newResCache()
	put(c, "k", "v1")
	c.begin(b)
	c.end(b)
	if !served(c, "k") {
		t.Fatal("a write of another domain made the entry stale")
	}
	c.begin(a)
	if served(c, "k") {
		t.Fatal("an entry read before a write began is served while it is in flight")
	}
	put(c, "k", "during")
	c.end(a)
	if served(c, "k") {
		t.Fatal("an entry read while a write was in flight is served after it ended")
	}
	at, _, _ := c.load(a, "k")
	c.begin(a)
	c.end(a)
	c.store(a, at, "k", v("old"))
	if served(c, "k") {
		t.Fatal("a read begun before a write stored its answer after the write")
	}
	put(c, "k", "v2")
	c.beginAll()
	if served(c, "k") {
		t.Fatal("an entry is served while a range deletion is in flight")
	}
	put(c, "k", "during")
	c.endAll()
	if served(c, "k") {
		t.Fatal("an entry read during a range deletion is served after it")
	}
	put(c, "k", "v3")
	if _, e, ok := c.load(a, "k"); !ok || string(e.value) != "v3" {
		t.Fatalf("nothing served after the writes: %v %q", ok, e.value)
	}
}

// TestAppendWith: the records AppendWith is given go into the append's
// commit: readable after it (also where the resource cache had the key's
// absence), keyed as the caller chose from the append's sequence; an error
// from records, or a record of another group, fails the append and stores
// nothing of it.
func TestAppendWith(t *testing.T) {
	ctx := context.Background()
	e := openMem(t, vfs.NewMem())
	defer e.Close()
	storetest.Setup(t, e, scope, "g", "s")
	storetest.Setup(t, e, scope, "h", "s")
	key := func(seq uint64) store.ResourceKey {
		return store.ResourceKey{Scope: scope, Group: "g", Kind: "dataProtectionOriginals", Name: fmt.Sprintf("%020d", seq)}
	}
	evs := []store.Event{{Timestamp: 1000, Message: "a"}, {Timestamp: 1001, Message: "b"}}
	var seen uint64
	res, err := e.AppendWith(ctx, scope, "g", "s", evs, 2000, func(seq uint64) ([]store.ResourceRecord, error) {
		seen = seq
		if _, err := e.GetResource(ctx, key(seq)); !errors.Is(err, store.ErrResourceNotFound) { // cached: absent
			t.Errorf("before the commit: %v", err)
		}
		return []store.ResourceRecord{{Key: key(seq), Value: []byte("sealed")}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != res.Seq {
		t.Fatalf("records was given seq %d, the append has %d", seen, res.Seq)
	}
	if v, err := e.GetResource(ctx, key(res.Seq)); err != nil || string(v) != "sealed" {
		t.Fatalf("record after AppendWith: %q, %v", v, err)
	}
	count := func() int {
		t.Helper()
		page, err := e.Read(ctx, store.ReadRequest{Group: scope, Name: "g", Streams: []string{"s"}, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Events)
	}
	if n := count(); n != 2 {
		t.Fatalf("%d events after AppendWith, want 2", n)
	}
	boom := errors.New("boom")
	if _, err := e.AppendWith(ctx, scope, "g", "s", evs, 2000, func(seq uint64) ([]store.ResourceRecord, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("records' error: %v, want boom", err)
	}
	other := store.ResourceKey{Scope: scope, Group: "h", Kind: "dataProtectionOriginals", Name: "x"}
	if _, err := e.AppendWith(ctx, scope, "g", "s", evs, 2000, func(seq uint64) ([]store.ResourceRecord, error) {
		return []store.ResourceRecord{{Key: key(seq), Value: []byte("v")}, {Key: other, Value: []byte("v")}}, nil
	}); err == nil {
		t.Fatal("a record of another group was accepted")
	}
	if n := count(); n != 2 {
		t.Fatalf("%d events after two failed appends, want 2", n)
	}
	if _, err := e.GetResource(ctx, other); !errors.Is(err, store.ErrResourceNotFound) {
		t.Fatalf("the other group's record: %v, want not found", err)
	}
	var names []string
	if err := e.ListResources(ctx, key(0), "", "", func(n string, _ []byte) bool { names = append(names, n); return true }); err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 {
		t.Fatalf("originals records %q, want the first append's only", names)
	}
}
