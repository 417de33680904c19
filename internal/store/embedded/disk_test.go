package embedded

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/testdisk"
)

// logBuffer collects an engine's log lines; the engine logs from several
// goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer // guarded by mu
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) count(substr string) int { return strings.Count(l.String(), substr) }

func newLogger() (*slog.Logger, *logBuffer) {
	lb := &logBuffer{}
	return slog.New(slog.NewTextHandler(lb, nil)), lb
}

// checkModes fails unless dir is 0700 and every file in it 0600.
func checkModes(t *testing.T, dir string) {
	t.Helper()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory %s has mode %04o, want 0700", dir, fi.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, de := range entries {
		fi, err := de.Info()
		if errors.Is(err, fs.ErrNotExist) {
			// Pebble deletes an obsolete WAL in the background (WALs are
			// not recycled); a file gone between the listing and the stat
			// has no mode to check.
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("data file %s has mode %04o, want 0600", de.Name(), fi.Mode().Perm())
		}
		kinds[filepath.Ext(de.Name())] = true
	}
	for _, ext := range []string{".log", ".sst"} {
		if !kinds[ext] {
			t.Errorf("no %s file in %s: the check saw too little (%v)", ext, dir, kinds)
		}
	}
}

// withUmask runs the test with umask 0, so a file created with 0666 would
// really be 0666. The umask is the process's: these tests are not parallel.
func withUmask(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
}

func writeSome(t *testing.T, e *Engine, n int) {
	t.Helper()
	ctx := context.Background()
	if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"}); err != nil && !errors.Is(err, store.ErrGroupExists) {
		t.Fatal(err)
	}
	if err := e.CreateStream(ctx, scope, "g", store.Stream{Name: "s"}); err != nil && !errors.Is(err, store.ErrStreamExists) {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	for i := range n {
		if _, err := e.Append(ctx, scope, "g", "s", []store.Event{{Timestamp: now, Message: fmt.Sprintf("event %d", i)}}, now); err != nil {
			t.Fatal(err)
		}
	}
}

// TestModeFiles: every file the engine creates (WAL, tables, MANIFEST,
// OPTIONS, markers, LOCK) is 0600 and the directory 0700, even with umask 0.
func TestModeFiles(t *testing.T) {
	withUmask(t)
	dir := filepath.Join(t.TempDir(), "data")
	e, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	writeSome(t, e, 10)
	if err := e.Flush(); err != nil { // writes a table
		t.Fatal(err)
	}
	checkModes(t, dir)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	checkModes(t, dir)
}

// TestModeTightened: a data directory left readable by others (an older
// version, or made by hand) is made 0700 and its files 0600 at start, with a
// log line for each; the data is intact.
func TestModeTightened(t *testing.T) {
	withUmask(t)
	dir := filepath.Join(t.TempDir(), "data")
	e, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	writeSome(t, e, 10)
	e.Flush()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	// What the previous version left.
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if d.IsDir() {
			return os.Chmod(p, 0o755)
		}
		return os.Chmod(p, 0o644)
	})

	log, lines := newLogger()
	e, err = Open(Config{Dir: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	checkModes(t, dir)
	for _, want := range []string{
		`msg="data directory was accessible by other users; changed its mode to 0700" dir=` + dir + ` mode=0755`,
		`msg="data files were accessible by other users; changed their mode to 0600" dir=` + dir,
	} {
		if !strings.Contains(lines.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, lines)
		}
	}
	p, err := e.Read(context.Background(), store.ReadRequest{Group: scope, Name: "g", Limit: 100})
	if err != nil || len(p.Events) != 10 {
		t.Fatalf("after tightening: %d events, %v", len(p.Events), err)
	}
	// A second start has nothing to tighten and says nothing about it.
	e.Close()
	log, lines = newLogger()
	e, err = Open(Config{Dir: dir, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if n := lines.count("accessible by other users"); n != 0 {
		t.Errorf("a private directory was reported %d times:\n%s", n, lines)
	}
}

// randomMessages is incompressible text, so the disk fills as fast as the
// test writes.
func randomMessages(n, size int) []string {
	out := make([]string, n)
	b := make([]byte, size/2)
	for i := range out {
		rand.Read(b)
		out[i] = hex.EncodeToString(b)
	}
	return out
}

// TestDiskFull fills a real (tmpfs) disk under the engine and then brings the
// space back:
//   - running: once the free space is under the reserve, appends are refused
//     with store.ErrNoSpace (the engine does not fail), reads and deletes go on,
//     and the log says so once, not once per refused write;
//   - closing on the full disk does not hang;
//   - starting on the full disk fails at once with one message naming the
//     directory and the cause; with room to recover but not to write, it
//     starts with writes refused and reads working;
//   - once space is back, the start succeeds with every acknowledged event,
//     exactly once, and a running engine accepts writes again by itself.
func TestDiskFull(t *testing.T) {
	mnt := testdisk.Mount(t, 40<<20)
	dir := filepath.Join(mnt, "data")
	ctx := context.Background()
	cfg := func(log *slog.Logger) Config {
		return Config{Dir: dir, Logger: log, MemTableSize: 1 << 20, MinFreeBytes: 6 << 20,
			OnFatal: func(err error) { t.Errorf("the engine failed: %v", err) }}
	}
	log, lines := newLogger()
	e, err := Open(cfg(log))
	if err != nil {
		t.Fatal(err)
	}
	writeSome(t, e, 0)
	if err := e.CreateStream(ctx, scope, "g", store.Stream{Name: "doomed"}); err != nil {
		t.Fatal(err)
	}
	acked := map[string]int{}
	appendBatch := func(e *Engine, msgs []string) error {
		now := time.Now().UnixMilli()
		evs := make([]store.Event, len(msgs))
		for i, m := range msgs {
			evs[i] = store.Event{Timestamp: now, Message: m}
		}
		_, err := e.Append(ctx, scope, "g", "s", evs, now)
		if err == nil {
			for _, m := range msgs {
				acked[m]++
			}
		}
		return err
	}
	filler := testdisk.Fill(t, mnt, 12<<20)

	// Write until refused. 12 MiB free, 6 MiB kept: about 6 MiB of batches.
	var refused error
	for i := 0; i < 1000 && refused == nil; i++ {
		refused = appendBatch(e, randomMessages(32, 1024))
	}
	if !errors.Is(refused, store.ErrNoSpace) {
		t.Fatalf("writing to a filling disk ended with %v, want store.ErrNoSpace", refused)
	}
	if want := "data directory " + dir + " has "; !strings.Contains(refused.Error(), want) {
		t.Errorf("refusal %q does not name the directory", refused)
	}
	t.Logf("%d events acknowledged, then: %v", len(acked), refused)
	for range 500 {
		if err := appendBatch(e, randomMessages(1, 100)); !errors.Is(err, store.ErrNoSpace) {
			t.Fatalf("append on a full disk: %v, want store.ErrNoSpace", err)
		}
	}
	if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "new"}); !errors.Is(err, store.ErrNoSpace) {
		t.Errorf("CreateGroup on a full disk: %v, want store.ErrNoSpace", err)
	}
	if err := e.DeleteStream(ctx, scope, "g", "doomed"); err != nil {
		t.Errorf("DeleteStream on a full disk (it frees space): %v", err)
	}
	p, err := e.Read(ctx, store.ReadRequest{Group: scope, Name: "g", Limit: 10000})
	if err != nil || len(p.Events) != len(acked) {
		t.Errorf("read on a full disk: %d of %d events, %v", len(p.Events), len(acked), err)
	}
	if n := lines.count("refusing writes"); n != 1 {
		t.Errorf("the full disk was logged %d times, want once:\n%s", n, lines)
	}
	if n := strings.Count(lines.String(), "\n"); n > 5 {
		t.Errorf("%d log lines for one full disk:\n%s", n, lines)
	}
	if err := e.Close(); err != nil {
		t.Logf("close on a full disk: %v", err)
	}

	// Starting on the full disk: refused at once, one clear reason.
	testdisk.Fill(t, mnt, 0)
	log, lines = newLogger()
	if e, err := Open(cfg(log)); err == nil {
		e.Close()
		t.Fatal("the engine opened on a full disk")
	} else {
		t.Logf("open on a full disk: %v", err)
		if !errors.Is(err, store.ErrNoSpace) || !strings.Contains(err.Error(), "data directory "+dir+" has 0.0 MiB free") {
			t.Errorf("open on a full disk: %v, want store.ErrNoSpace naming %s", err, dir)
		}
	}

	// Room to recover but not to write: it starts, reads work, writes are
	// refused, and the log says why.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	// Opening removes obsolete files (WALs kept for reuse, compacted
	// tables), which may lift the free space over the reserve; top up and
	// open again until the start itself sees the disk nearly full.
	for try := 0; ; try++ {
		testdisk.Fill(t, mnt, 5<<20)
		log, lines = newLogger()
		e, err = Open(cfg(log))
		if err != nil {
			t.Fatalf("open with room to recover (5 MiB free of a 6 MiB reserve): %v", err)
		}
		if e.space.full.Load() || try == 3 {
			break
		}
		e.Close()
	}
	if err := appendBatch(e, randomMessages(1, 100)); !errors.Is(err, store.ErrNoSpace) {
		t.Errorf("append after a start on a nearly full disk: %v, want store.ErrNoSpace", err)
	}
	if p, err := e.Read(ctx, store.ReadRequest{Group: scope, Name: "g", Limit: 10000}); err != nil || len(p.Events) != len(acked) {
		t.Errorf("read after a start on a nearly full disk: %d of %d events, %v", len(p.Events), len(acked), err)
	}
	if !strings.Contains(lines.String(), "refusing writes") {
		t.Errorf("a start on a nearly full disk did not say writes are refused:\n%s", lines)
	}
	e.Close()

	// Space is back: everything acknowledged is there, once.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	log, lines = newLogger()
	e, err = Open(cfg(log))
	if err != nil {
		t.Fatalf("open after space came back: %v", err)
	}
	defer e.Close()
	got := map[string]int{}
	q := store.ReadRequest{Group: scope, Name: "g", Limit: 10000}
	for {
		p, err := e.Read(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range p.Events {
			got[ev.Message]++
		}
		if p.Next == nil {
			break
		}
		q.After = p.Next
	}
	for m, n := range acked {
		if got[m] != n {
			t.Fatalf("acknowledged event %.16s... read %d times", m, got[m])
		}
	}
	if len(got) != len(acked) {
		t.Errorf("read %d distinct events, %d acknowledged", len(got), len(acked))
	}

	// Full again while running, then freed: writes resume without a
	// restart. Another process filling the disk is seen within
	// spaceCheckEvery; the test has the engine look at once, since a WAL
	// write that hits a disk filled between two looks stops the engine (no
	// acknowledged event is lost: see docs/reliability.md).
	filler = testdisk.Fill(t, mnt, 3<<20)
	e.checkSpace(time.Now().UnixNano(), false)
	if err := appendBatch(e, randomMessages(1, 100)); !errors.Is(err, store.ErrNoSpace) {
		t.Fatalf("append with 3 MiB free of a 6 MiB reserve: %v, want store.ErrNoSpace", err)
	}
	os.Remove(filler)
	deadline := time.Now().Add(10 * time.Second)
	for err := appendBatch(e, randomMessages(1, 100)); err != nil; err = appendBatch(e, randomMessages(1, 100)) {
		if !errors.Is(err, store.ErrNoSpace) || time.Now().After(deadline) {
			t.Fatalf("append after space came back: %v", err)
		}
	}
	if !strings.Contains(lines.String(), "accepting writes") {
		t.Errorf("the return of space was not logged:\n%s", lines)
	}
}
