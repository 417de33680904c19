// Package testdisk gives tests a small, real file system to fill: a tmpfs
// mounted for one test (and unmounted after it) and a filler file that leaves
// a chosen number of bytes free. The engine's and the binary's disk-full tests
// both use it; it has no other users.
package testdisk

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Mount mounts a tmpfs of size bytes for the test and unmounts it when the
// test ends. Mounting needs root: without it the test is skipped, and says
// so; as root a refused mount fails the test.
func Mount(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: mounting a small tmpfs to fill needs root, and this test runs as uid", os.Geteuid())
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Fatalf("mount a %d-byte tmpfs on %s as root: %v", size, dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			// Still busy (a failed test left files open): detach it so
			// that it goes once they are closed, and say so.
			t.Errorf("unmount %s: %v", dir, err)
			syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
	return dir
}

// Fill writes dir/filler until about leave bytes are free on dir's file
// system, and returns the filler's path (remove it to give the space back).
func Fill(t *testing.T, dir string, leave uint64) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	avail := st.Bavail * uint64(st.Bsize)
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for n := uint64(0); avail > leave && n < avail-leave; n += uint64(len(chunk)) {
		if _, err := f.Write(chunk[:min(uint64(len(chunk)), avail-leave-n)]); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			t.Fatal(err)
		}
	}
	return path
}
