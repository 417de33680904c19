package embedded

// The engine's side of the disk: private file modes, free space, and
// background errors.
//
// A full disk must not cost acknowledged events, and must not turn into a
// busy loop. Pebble retries a failed flush at once and forever (and makes Open
// wait for the flush of the replayed WAL), so the engine keeps it from getting
// there: Open refuses to start when the free space cannot hold the WAL it
// would replay, writes that grow the database are refused while the free
// space is under Config.MinFreeBytes (reads and deletes go on), and a
// background error that does happen is logged at a limited rate and retried
// after a pause, not at once.

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairnlog/cairn/internal/store"
)

// privateFS makes every file it creates 0600 and every directory 0700,
// whatever the umask. Pebble's disk FS creates files with mode 0666 (less the
// umask) and has no setting for it, and removes a file it finds in the way,
// so the mode is set on the open descriptor right after creation. In that
// instant the file is only reachable through the data directory, which is
// 0700. It wraps the real disk only (it needs descriptors).
type privateFS struct{ vfs.FS }

func (p privateFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	return private(p.FS.Create(name, category))
}

func (p privateFS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	return private(p.FS.OpenReadWrite(name, category, opts...))
}

func (p privateFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	return private(p.FS.ReuseForWrite(oldname, newname, category))
}

// Lock creates the LOCK file, which holds nothing, but is a data file too.
func (p privateFS) Lock(name string) (io.Closer, error) {
	c, err := p.FS.Lock(name)
	if err == nil {
		if err = os.Chmod(name, 0o600); err != nil {
			c.Close()
			return nil, fmt.Errorf("make data file private: %w", err)
		}
	}
	return c, err
}

func (p privateFS) MkdirAll(dir string, _ os.FileMode) error { return p.FS.MkdirAll(dir, 0o700) }

func (p privateFS) Unwrap() vfs.FS { return p.FS }

func private(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return f, err
	}
	if err := syscall.Fchmod(int(f.Fd()), 0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("make data file private: %w", err)
	}
	return f, nil
}

// tightenDir makes the data directory 0700 and every file in it 0600, and
// logs what it changed: an older version, or a directory made by hand, may
// have left them readable by others.
func (e *Engine) tightenDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("data directory %s has mode %04o and cannot be made 0700: %w", dir, perm, err)
		}
		e.log.Warn("data directory was accessible by other users; changed its mode to 0700",
			"dir", dir, "mode", fmt.Sprintf("%04o", perm))
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	var tightened []string
	for _, de := range entries {
		if !de.Type().IsRegular() {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue // removed meanwhile
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(filepath.Join(dir, de.Name()), 0o600); err != nil {
				return fmt.Errorf("data file %s has mode %04o and cannot be made 0600: %w",
					filepath.Join(dir, de.Name()), fi.Mode().Perm(), err)
			}
			tightened = append(tightened, de.Name())
		}
	}
	if len(tightened) > 0 {
		e.log.Warn("data files were accessible by other users; changed their mode to 0600",
			"dir", dir, "files", len(tightened), "first", tightened[0])
	}
	return nil
}

// defaultMinFree is kept free on top of one memtable: room for the MANIFEST,
// the OPTIONS file and a compaction's first output.
const defaultMinFree = 16 << 20

// spaceCheckEvery bounds how often writes ask the file system for its free
// space (a statfs); a disk-full error from the file system forces a check.
const spaceCheckEvery = 100 * time.Millisecond

// space tracks whether the data directory has room for writes.
type space struct {
	fs  vfs.FS
	dir string
	min uint64

	mu      sync.Mutex   // serialises checks and the state changes they log
	checked atomic.Int64 // when the disk was last asked (Unix ns)
	written atomic.Int64 // bytes committed since then
	full    atomic.Bool
	avail   atomic.Uint64
}

// errNoSpace describes a refused write; it wraps store.ErrNoSpace.
func (s *space) errNoSpace() error {
	return fmt.Errorf("%w: data directory %s has %s free, under the %s kept free so that data already written can be flushed",
		store.ErrNoSpace, s.dir, mib(s.avail.Load()), mib(s.min))
}

// writable reports store.ErrNoSpace while the free space is under the
// minimum. It asks the disk every spaceCheckEvery, and sooner once an eighth
// of the minimum was written since, so a fast writer cannot run through the
// reserve between two checks.
func (e *Engine) writable() error {
	s := &e.space
	if now := time.Now().UnixNano(); now-s.checked.Load() >= int64(spaceCheckEvery) || uint64(s.written.Load()) >= s.min/8 {
		e.checkSpace(now, true)
	}
	if s.full.Load() {
		return s.errNoSpace()
	}
	return nil
}

// checkSpace asks the file system for the free space (unless ifDue and
// another writer just did) and logs a change between full and not full, once
// each way.
func (e *Engine) checkSpace(now int64, ifDue bool) {
	s := &e.space
	s.mu.Lock()
	defer s.mu.Unlock()
	if ifDue && now-s.checked.Load() < int64(spaceCheckEvery) && uint64(s.written.Load()) < s.min/8 {
		return // another writer checked meanwhile
	}
	s.checked.Store(now)
	s.written.Store(0)
	du, err := s.fs.GetDiskUsage(s.dir)
	if err != nil {
		// Memory file systems cannot say; a real disk that cannot is
		// treated as having room, and a write that fails says otherwise.
		return
	}
	s.avail.Store(du.AvailBytes)
	full := du.AvailBytes < s.min
	switch {
	case full && !s.full.Load():
		e.log.Error("data directory is nearly full; refusing writes (reads go on) until space is freed",
			"dir", s.dir, "free", mib(du.AvailBytes), "needed", mib(s.min))
	case !full && s.full.Load():
		e.log.Info("data directory has room again; accepting writes", "dir", s.dir, "free", mib(du.AvailBytes))
	}
	s.full.Store(full)
}

// onDiskFull runs when a file operation failed with ENOSPC: the next write
// checks the disk at once.
func (e *Engine) onDiskFull() { e.space.checked.Store(0) }

// preflight refuses to open a database whose WAL cannot be replayed into the
// free space: Pebble would wait forever for the flush at the end of the
// replay. The estimate counts every WAL file, including ones kept for reuse,
// so it errs towards refusing; the message says how much is needed.
func preflight(fsys vfs.FS, dir string) error {
	du, err := fsys.GetDiskUsage(dir)
	if err != nil {
		return nil // a file system that cannot say (memory); Open will tell
	}
	names, err := fsys.List(dir)
	if err != nil {
		return nil // a new directory
	}
	var wal, manifest uint64
	for _, n := range names {
		fi, err := fsys.Stat(fsys.PathJoin(dir, n))
		if err != nil {
			continue
		}
		switch {
		case strings.HasSuffix(n, ".log"):
			wal += uint64(fi.Size())
		case strings.HasPrefix(n, "MANIFEST-"):
			manifest = max(manifest, uint64(fi.Size()))
		}
	}
	// A start rewrites the MANIFEST, writes an OPTIONS file and a new WAL,
	// and flushes what the WAL held; 1 MiB covers the small files.
	need := wal + manifest + 1<<20
	if du.AvailBytes < need {
		return fmt.Errorf("%w: data directory %s has %s free; opening it needs about %s (%s of write-ahead log to recover): free some space or move the directory to a larger disk",
			store.ErrNoSpace, dir, mib(du.AvailBytes), mib(need), mib(wal))
	}
	return nil
}

// backgroundError is Pebble's report of a failed flush or compaction. Pebble
// retries a failed flush immediately, so on a full disk this is called in a
// tight loop: it logs at most one line per interval (with how many it held
// back) and pauses the retrying goroutine.
func (e *Engine) backgroundError(err error) {
	if vfs.IsNoSpaceError(err) {
		e.onDiskFull()
	}
	if n, ok := e.bgLog.allow(time.Now()); ok {
		args := []any{"err", err}
		if n > 0 {
			args = append(args, "repeated", n)
		}
		e.log.Error("storage background error; retrying", args...)
	}
	t := time.NewTimer(backgroundRetryPause)
	defer t.Stop()
	select {
	case <-t.C:
	case <-e.closing:
	}
}

// backgroundRetryPause is how long a failed flush or compaction waits before
// Pebble retries it. It holds Pebble's lock meanwhile, which only delays
// writes, and writes are refused anyway while the disk is full.
const backgroundRetryPause = time.Second

// rateLimit lets one event through per interval and counts the rest.
type rateLimit struct {
	every time.Duration

	mu         sync.Mutex
	last       time.Time // guarded by mu
	suppressed int       // guarded by mu
}

// allow reports whether to log now, and how many events were held back
// since the last one logged.
func (r *rateLimit) allow(now time.Time) (held int, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.last.IsZero() && now.Sub(r.last) < r.every {
		r.suppressed++
		return 0, false
	}
	held, r.suppressed, r.last = r.suppressed, 0, now
	return held, true
}

func mib(n uint64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
