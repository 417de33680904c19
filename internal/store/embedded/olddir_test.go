package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cairnlog/cairn/internal/store"
)

// testdata/meta-v1 is a data directory written by the engine as it was
// before streams were loaded lazily and listed from ordered indexes (commit
// c81a668), with manifest.json saying what it holds. It was made with
//
//	git archive c81a668 | tar -x -C /tmp/old   # plus this file
//	CAIRN_WRITE_OLDDIR=$PWD/internal/store/embedded/testdata/meta-v1 \
//	  go test -run TestWriteOldDir ./internal/store/embedded/   # in /tmp/old
//
// TestOpenOldDir opens a copy and reads every stream and event back.

type oldManifest struct {
	Groups map[string][]store.Stream `json:"groups"`
	Events map[string][]oldEvent     `json:"events"` // by group, in Read order
}

type oldEvent struct {
	Stream, Message, ID string
	Timestamp           int64
}

// TestWriteOldDir writes the directory (only when asked to).
func TestWriteOldDir(t *testing.T) {
	dir := os.Getenv("CAIRN_WRITE_OLDDIR")
	if dir == "" {
		t.Skip("set CAIRN_WRITE_OLDDIR to a new directory to write it")
	}
	ctx := context.Background()
	e, err := Open(Config{Dir: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	base := int64(1_760_000_000_000)
	for gi, gname := range []string{"/ci/jenkins", "app", "empty"} {
		if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: gname, CreationTime: base, RetentionDays: 0}); err != nil {
			t.Fatal(err)
		}
		if gname == "empty" {
			continue
		}
		for si := 0; si < 12; si++ {
			name := fmt.Sprintf("job-%d/build-%02d", si%3, si)
			if si == 5 {
				name = "ünï/çødé " + name
			}
			if err := e.CreateStream(ctx, scope, gname, store.Stream{Name: name, CreationTime: base + int64(si)}); err != nil {
				t.Fatal(err)
			}
			if si%4 == 3 {
				continue // an idle stream
			}
			for a := 0; a < 3; a++ {
				evs := make([]store.Event, 5)
				for i := range evs {
					evs[i] = store.Event{Timestamp: base + int64(gi*1000+si*37+a*5+i), Message: fmt.Sprintf("%s %s append %d event %d", gname, name, a, i)}
				}
				if _, err := e.Append(ctx, scope, gname, name, evs, base+int64(10_000+si)); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := e.DeleteStream(ctx, scope, gname, "job-1/build-04"); err != nil {
			t.Fatal(err)
		}
	}
	m := readAllMeta(t, e)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(m, "", " ")
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readAllMeta lists every stream and reads every event of the groups.
func readAllMeta(t *testing.T, e *Engine) oldManifest {
	ctx := context.Background()
	m := oldManifest{Groups: map[string][]store.Stream{}, Events: map[string][]oldEvent{}}
	for _, g := range []string{"/ci/jenkins", "app", "empty"} {
		ss := []store.Stream{}
		if err := e.ListStreams(ctx, scope, g, "", "", func(s store.Stream) bool { ss = append(ss, s); return true }); err != nil {
			t.Fatal(err)
		}
		m.Groups[g] = ss
		q := store.ReadRequest{Group: scope, Name: g, Limit: 7, MaxBytes: 1 << 20}
		evs := []oldEvent{}
		for {
			p, err := e.Read(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, ev := range p.Events {
				evs = append(evs, oldEvent{Stream: ev.Stream, Message: ev.Message, ID: ev.Pos.ID(), Timestamp: ev.Timestamp})
			}
			if p.Next == nil {
				break
			}
			q.After = p.Next
		}
		m.Events[g] = evs
	}
	return m
}

// TestOpenOldDir: a directory written before lazy stream loading opens, and
// every stream (with its statistics) and every event (with its eventId)
// reads back; the new listings agree with it; and new streams and events
// can be added to it.
func TestOpenOldDir(t *testing.T) {
	src := filepath.Join("testdata", "meta-v1")
	b, err := os.ReadFile(filepath.Join(src, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want oldManifest
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "data")
	copyDir(t, filepath.Join(src, "data"), dir)
	e, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	got := readAllMeta(t, e)
	if len(want.Groups["app"]) != 11 || len(want.Events["app"]) != 8*3*5 {
		t.Fatalf("manifest: %d streams, %d events in app", len(want.Groups["app"]), len(want.Events["app"]))
	}
	for g, ss := range want.Groups {
		if !slices.Equal(got.Groups[g], ss) {
			t.Fatalf("%s streams:\n got %v\nwant %v", g, got.Groups[g], ss)
		}
		if !slices.Equal(got.Events[g], want.Events[g]) {
			t.Fatalf("%s events differ: got %d, want %d", g, len(got.Events[g]), len(want.Events[g]))
		}
	}
	// By last event time, newest first: the old records carry it.
	ctx := context.Background()
	var byTime []store.Stream
	err = e.ListStreamsOrdered(ctx, scope, "app", store.StreamListing{ByLastEventTime: true, Descending: true}, func(s store.Stream) bool {
		byTime = append(byTime, s)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	wantTime := slices.Clone(want.Groups["app"])
	slices.SortStableFunc(wantTime, func(a, b store.Stream) int {
		if a.LastEventTimestamp != b.LastEventTimestamp {
			return int(b.LastEventTimestamp - a.LastEventTimestamp)
		}
		return -strings.Compare(a.Name, b.Name)
	})
	if !slices.Equal(byTime, wantTime) {
		t.Fatalf("by time:\n got %v\nwant %v", byTime, wantTime)
	}
	if err := e.CreateStream(ctx, scope, "app", store.Stream{Name: "job-9/new"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Append(ctx, scope, "app", "job-9/new", []store.Event{{Timestamp: 1_770_000_000_000, Message: "new"}}, 1); err != nil {
		t.Fatal(err)
	}
	var first store.Stream
	e.ListStreamsOrdered(ctx, scope, "app", store.StreamListing{ByLastEventTime: true, Descending: true}, func(s store.Stream) bool {
		first = s
		return false
	})
	if first.Name != "job-9/new" || first.LastEventTimestamp != 1_770_000_000_000 {
		t.Fatalf("newest stream after an append: %+v", first)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o700); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, ent := range ents {
		if ent.IsDir() {
			continue
		}
		in, err := os.Open(filepath.Join(from, ent.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.OpenFile(filepath.Join(to, ent.Name()), os.O_CREATE|os.O_WRONLY, 0o600)
		if err == nil {
			_, err = io.Copy(out, in)
			err = errors.Join(err, out.Close())
		}
		in.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestCreateStreamConcurrent: creations that commit without the group's
// lock still create each name once, and a listing by time sees them all
// while appends move them.
func TestCreateStreamConcurrent(t *testing.T) {
	ctx := context.Background()
	e, err := Open(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"}); err != nil {
		t.Fatal(err)
	}
	e.ListStreamsOrdered(ctx, scope, "g", store.StreamListing{ByLastEventTime: true}, func(store.Stream) bool { return true })
	var wg sync.WaitGroup
	var created atomic.Int64
	for w := 0; w < 8; w++ {
		wg.Go(func() {
			for i := 0; i < 40; i++ {
				name := fmt.Sprint("s", i)
				err := e.CreateStream(ctx, scope, "g", store.Stream{Name: name})
				switch {
				case err == nil:
					created.Add(1)
				case !errors.Is(err, store.ErrStreamExists):
					t.Error(err)
				}
				if _, err := e.Append(ctx, scope, "g", name, []store.Event{{Timestamp: int64(1000 + w*100 + i), Message: "m"}}, 1); err != nil {
					t.Error(err) // the stream exists once some CreateStream returned
				}
			}
		})
	}
	wg.Wait()
	if created.Load() != 40 {
		t.Fatalf("%d creations succeeded, want 40", created.Load())
	}
	n := 0
	e.ListStreamsOrdered(ctx, scope, "g", store.StreamListing{ByLastEventTime: true}, func(store.Stream) bool { n++; return true })
	if n != 40 {
		t.Fatalf("listing by time: %d streams", n)
	}
}
