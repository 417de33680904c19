package embedded

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

// TestWriteFailure injects a failing disk under the engine: an Append whose
// WAL write or sync fails must not be acknowledged, and everything
// acknowledged before must be intact after reopening on a healthy disk.
func TestWriteFailure(t *testing.T) {
	ctx := context.Background()
	mem := vfs.NewCrashableMem()
	var failing atomic.Bool
	fs := errorfs.Wrap(mem, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if failing.Load() && op.Kind.ReadOrWrite() == errorfs.OpIsWrite && strings.HasSuffix(op.Path, ".log") {
			return errorfs.ErrInjected
		}
		return nil
	}))
	var fatal atomic.Value
	e, err := Open(Config{Dir: "/db", FS: fs, OnFatal: func(err error) { fatal.Store(err) }})
	if err != nil {
		t.Fatal(err)
	}
	storetest.Setup(t, e, scope, "g", "s")
	now := time.Now().UnixMilli()
	acked := 0
	for i := 0; i < 20; i++ {
		if _, err := e.Append(ctx, scope, "g", "s", []store.Event{{Timestamp: now + int64(i), Message: fmt.Sprintf("before %d", i)}}, now); err != nil {
			t.Fatal(err)
		}
		acked++
	}
	failing.Store(true)
	// Pebble treats a failed WAL write as fatal: the append fails, the
	// engine refuses everything after, and the server is told (it exits).
	if _, err := e.Append(ctx, scope, "g", "s", []store.Event{{Timestamp: now + 100, Message: "during failure"}}, now); err == nil {
		t.Fatal("an append on a failing disk was acknowledged")
	} else {
		t.Logf("append on a failing disk: %v", err)
	}
	if fatal.Load() == nil {
		t.Fatal("OnFatal was not called")
	}
	failing.Store(false)
	if _, err := e.Append(ctx, scope, "g", "s", []store.Event{{Timestamp: now + 101, Message: "after failure"}}, now); err == nil {
		t.Fatal("a failed engine accepted an append")
	}
	if _, err := e.Read(ctx, store.ReadRequest{Group: scope, Name: "g", Limit: 10}); err == nil {
		t.Fatal("a failed engine answered a read")
	}
	if err := e.Close(); err == nil {
		t.Fatal("closing a failed engine reported no error")
	}
	// Reopen on the healthy disk (the process would restart): everything
	// acknowledged is there, in order, exactly once.
	mem2 := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
	e2, err := Open(Config{Dir: "/db", FS: mem2})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	p, err := e2.Read(ctx, store.ReadRequest{Group: scope, Name: "g", Limit: 1000, Streams: []string{"s"}})
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, ev := range p.Events {
		if strings.HasPrefix(ev.Message, "before ") {
			if ev.Message != fmt.Sprintf("before %d", got) {
				t.Fatalf("event %d is %q", got, ev.Message)
			}
			got++
		}
	}
	if got != acked {
		t.Fatalf("%d of %d acknowledged events after the failure", got, acked)
	}
}

// TestCrashLosesNothingAcked simulates power loss: the file system keeps only
// what was synced. Every acknowledged append survives.
func TestCrashLosesNothingAcked(t *testing.T) {
	ctx := context.Background()
	mem := vfs.NewCrashableMem()
	e, err := Open(Config{Dir: "/db", FS: mem})
	if err != nil {
		t.Fatal(err)
	}
	storetest.Setup(t, e, scope, "g", "s")
	now := time.Now().UnixMilli()
	for i := 0; i < 50; i++ {
		if _, err := e.Append(ctx, scope, "g", "s", []store.Event{{Timestamp: now + int64(i), Message: fmt.Sprintf("e%d", i)}}, now); err != nil {
			t.Fatal(err)
		}
	}
	crashed := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: rand.New(rand.NewPCG(1, 2))})
	e2, err := Open(Config{Dir: "/db", FS: crashed})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	p, err := e2.Read(ctx, store.ReadRequest{Group: scope, Name: "g", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Events) != 50 {
		t.Fatalf("%d of 50 acknowledged events after a crash", len(p.Events))
	}
	e.Close()
}
