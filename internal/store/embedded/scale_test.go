package embedded

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairnlog/cairn/internal/store"
)

// TestMetadataScale measures metadata at CI scale: one group with
// CAIRN_META_STREAMS streams (default 1,000,000) named like a Jenkins
// site's job/build streams, and CAIRN_META_GROUPS more groups (default
// 100,000) of one stream each. It reports Open time, heap per idle stream,
// ListStreams page latency by prefix and by last event time, and the
// CreateStream and first-Append rates. It runs only with CAIRN_META_SCALE=1:
//
//	CAIRN_META_SCALE=1 go test -run TestMetadataScale -v ./internal/store/embedded/
//
// The data set is written as raw keys (the records the engine itself writes)
// in unsynced batches, so the setup takes seconds instead of a million
// fsyncs; everything measured goes through the Engine's API.
func TestMetadataScale(t *testing.T) {
	if os.Getenv("CAIRN_META_SCALE") == "" {
		t.Skip("set CAIRN_META_SCALE=1 to run")
	}
	nStreams := envInt("CAIRN_META_STREAMS", 1_000_000)
	nGroups := envInt("CAIRN_META_GROUPS", 100_000)
	dir := t.TempDir()
	ctx := context.Background()
	base := time.Now().UnixMilli() - 30*86_400_000

	e, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "jenkins"}); err != nil {
		t.Fatal(err)
	}
	big, err := e.lookup(scope, "jenkins")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	id := uint64(1 << 40) // far above the engine's own sequence numbers
	b := e.db.NewBatch()
	flush := func(force bool) {
		if force || b.Len() > 4<<20 {
			if err := b.Commit(pebble.NoSync); err != nil {
				t.Fatal(err)
			}
			b = e.db.NewBatch()
		}
	}
	for i := 0; i < nStreams; i++ {
		id++
		rec := streamRecord{sid: id, created: base}
		if i%10 != 0 { // one stream in ten is idle (no events)
			rec.first = base + int64(i%86_400)*1000
			rec.last = rec.first + int64((i*7919)%1_000_000)
			rec.lastIngest = rec.last
			rec.storedBytes = 100
		}
		b.Set(streamKey(big.id, ciStream(i)), rec.encode(), nil)
		flush(false)
	}
	for i := 0; i < nGroups; i++ {
		id++
		gid := id
		v, _ := json.Marshal(groupRecord{ID: gid, CreationTime: base, RetentionDays: 30})
		b.Set(groupKey(scope.Account, scope.Region, fmt.Sprintf("/ci/site-%06d", i)), v, nil)
		b.Set(groupStatsKey(gid), groupStats{}.encode(), nil)
		id++
		b.Set(streamKey(gid, "main"), streamRecord{sid: id, created: base}.encode(), nil)
		flush(false)
	}
	b.Set([]byte{tagSeq}, beAppend(nil, id+1), nil)
	flush(true)
	b.Close()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("setup: %d streams in one group, %d groups, written in %v", nStreams, nGroups, time.Since(t0).Round(time.Millisecond))

	heapBefore := heapInUse()
	t0, c0 := time.Now(), cpuTime()
	e, err = Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	t.Logf("Open: %v wall, %v CPU", time.Since(t0).Round(time.Millisecond), (cpuTime() - c0).Round(time.Millisecond))
	t.Logf("heap after Open: %.1f MiB", float64(heapInUse()-heapBefore)/(1<<20))

	// The first operation on the big group (lazy loading, if any).
	t0, c0 = time.Now(), cpuTime()
	if _, err := e.GetStream(ctx, scope, "jenkins", ciStream(0)); err != nil {
		t.Fatal(err)
	}
	t.Logf("first GetStream on the big group (loads its streams): %v wall, %v CPU", time.Since(t0).Round(time.Millisecond), (cpuTime() - c0).Round(time.Millisecond))
	heap := heapInUse() - heapBefore
	total := nStreams + nGroups
	t.Logf("heap with every group's streams loaded: %.1f MiB, %d bytes per stream (%d streams, %d groups)",
		float64(heap)/(1<<20), heap/uint64(total), total, nGroups+1)

	measure := func(name string, n int, fn func(i int)) {
		d := make([]time.Duration, n)
		for i := range d {
			t0 := time.Now()
			fn(i)
			d[i] = time.Since(t0)
		}
		slices.Sort(d)
		t.Logf("%s: median %v, p90 %v, max %v (%d pages)", name, d[n/2].Round(time.Microsecond),
			d[n*9/10].Round(time.Microsecond), d[n-1].Round(time.Microsecond), n)
	}
	page := func(prefix, after string) int {
		n := 0
		err := e.ListStreams(ctx, scope, "jenkins", prefix, after, func(store.Stream) bool { n++; return n <= 50 })
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	measure("ListStreams page of 50, by name, no prefix", 20, func(i int) { page("", "") })
	measure("ListStreams page of 50, by prefix job-042/", 20, func(i int) {
		if page("job-042/", "") == 0 {
			t.Fatal("no streams for the prefix")
		}
	})
	measure("ListStreams page of 50, by prefix, 10th page", 20, func(i int) { page("job-042/", "job-042/build-00500") })
	measureByTime(t, e, measure)

	// CreateStream: serially (one caller), then from 16 callers at once.
	t0 = time.Now()
	const serial = 200
	for i := 0; i < serial; i++ {
		if err := e.CreateStream(ctx, scope, "jenkins", store.Stream{Name: fmt.Sprintf("new/serial-%d", i), CreationTime: base}); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("CreateStream, 1 caller: %.0f/s", serial/time.Since(t0).Seconds())
	const writers, each = 16, 100
	t0 = time.Now()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Go(func() {
			for i := 0; i < each; i++ {
				if err := e.CreateStream(ctx, scope, "jenkins", store.Stream{Name: fmt.Sprintf("new/par-%d-%d", w, i), CreationTime: base}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	t.Logf("CreateStream, %d callers: %.0f/s", writers, writers*each/time.Since(t0).Seconds())

	// The first Append to each new stream (100 events each), 16 callers.
	evs := make([]store.Event, 100)
	for i := range evs {
		evs[i] = store.Event{Timestamp: base + int64(i), Message: "build step " + strconv.Itoa(i) + " finished"}
	}
	t0 = time.Now()
	for w := 0; w < writers; w++ {
		wg.Go(func() {
			for i := 0; i < each; i++ {
				if _, err := e.Append(ctx, scope, "jenkins", fmt.Sprintf("new/par-%d-%d", w, i), evs, base); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	t.Logf("first Append to a new stream, %d callers: %.0f appends/s", writers, writers*each/time.Since(t0).Seconds())
	runtime.KeepAlive(e)
}

// ciStream names the i-th stream as a CI server would: a job, a build.
func ciStream(i int) string { return fmt.Sprintf("job-%03d/build-%05d", i%1000, i/1000) }

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// cpuTime is the process's user and system CPU time (the machine is shared:
// wall time alone says little).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// measureByTime times pages in last-event-time order, newest first: the
// first page, and the 20th, resumed from the 19th's last key.
func measureByTime(t *testing.T, e *Engine, measure func(string, int, func(int))) {
	ctx := context.Background()
	page := func(after *store.StreamKey) (last store.StreamKey) {
		n := 0
		l := store.StreamListing{ByLastEventTime: true, Descending: true, After: after}
		err := e.ListStreamsOrdered(ctx, scope, "jenkins", l, func(s store.Stream) bool {
			n++
			last = store.StreamKey{LastEventTime: s.LastEventTimestamp, Name: s.Name}
			return n < 50
		})
		if err != nil || n != 50 {
			t.Fatalf("page of %d: %v", n, err)
		}
		return last
	}
	t0 := time.Now()
	k := page(nil)
	t.Logf("first listing by last event time (builds the group's time index): %v", time.Since(t0).Round(time.Microsecond))
	measure("ListStreamsOrdered by last event time, descending, page of 50", 20, func(int) { page(nil) })
	for i := 0; i < 18; i++ {
		k = page(&k)
	}
	measure("ListStreamsOrdered by last event time, descending, 20th page", 20, func(int) { page(&k) })
	heap := heapInUse()
	t.Logf("heap with the time index built: %.1f MiB", float64(heap)/(1<<20))
}
