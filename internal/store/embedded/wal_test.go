package embedded

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

// walBytes is the size of the Pebble WAL files (*.log) in dir.
func walBytes(t *testing.T, dir string) (n int64, files int) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range entries {
		if !strings.HasSuffix(d.Name(), ".log") {
			continue
		}
		fi, err := d.Info()
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
		files++
	}
	return n, files
}

// TestWALDoesNotStay: after writing many memtables' worth of events and a
// clean stop, the data directory holds at most one WAL segment (the live,
// empty one), not the recycled WALs Pebble would otherwise keep for reuse
// (MemTableStopWritesThreshold+1 of them, each up to a memtable). The data
// is still all there after reopening.
func TestWALDoesNotStay(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const memTable = 1 << 20
	cfg := Config{Dir: dir, MemTableSize: memTable, MinFreeBytes: 1}
	e, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Setup(t, e, scope, "g", "s")
	// Random hex does not compress much: 12 batches of 1 MiB of message
	// text pass through the WAL, a dozen memtables.
	const batches, perBatch = 12, 256
	base := time.Now().UnixMilli()
	raw := make([]byte, 2048)
	for b := 0; b < batches; b++ {
		evs := make([]store.Event, perBatch)
		for i := range evs {
			rand.Read(raw)
			evs[i] = store.Event{Timestamp: base + int64(b), Message: hex.EncodeToString(raw)}
		}
		if _, err := e.Append(ctx, scope, "g", "s", evs, base); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	// One segment is at most a memtable's worth plus Pebble's 10%
	// preallocation; after the final flush the live WAL is nearly empty.
	const oneSegment = memTable + memTable/10
	if n, files := walBytes(t, dir); n > oneSegment {
		t.Errorf("after a clean stop, %d WAL files hold %d bytes; want at most one segment (%d bytes)", files, n, oneSegment)
	}
	// The cleaner deletes; it must not move files to Pebble's archive.
	if _, err := os.Stat(filepath.Join(dir, "archive")); !os.IsNotExist(err) {
		t.Errorf("an archive directory exists (%v): obsolete files were archived, not deleted", err)
	}
	var sst int64
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".sst") {
			if fi, err := d.Info(); err == nil {
				sst += fi.Size()
			}
		}
		return nil
	})
	if sst < batches*perBatch*2048 {
		t.Errorf("sstables hold %d bytes, less than the %d bytes of random data written: the test wrote through too little", sst, batches*perBatch*2048)
	}

	e, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	got := 0
	q := store.ReadRequest{Group: scope, Name: "g", Limit: 10000}
	for {
		page, err := e.Read(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got += len(page.Events)
		if len(page.Events) == 0 || page.Next == nil {
			break
		}
		q.After = page.Next
	}
	if got != batches*perBatch {
		t.Fatalf("after reopening, %d events; want %d", got, batches*perBatch)
	}
}
