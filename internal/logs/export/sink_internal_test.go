package export

import (
	"path/filepath"
	"testing"
)

// TestDirSinkKeysAreNames: a key's "." and ".." segments (a log stream
// named ".." or "../<task>/<stream>") stay inside the key's own place
// instead of resolving onto another object of the bucket. Before, the
// stream ".." of task T wrote P/000000.gz and "../U/s" wrote task U's
// P/U/s/000000.gz.
func TestDirSinkKeysAreNames(t *testing.T) {
	d := dirSink{root: "/r"}
	for key, want := range map[string]string{
		"exportedlogs/T/s/000000.gz":         "/r/b/exportedlogs/T/s/000000.gz",
		"exportedlogs/T/../000000.gz":        "/r/b/exportedlogs/T/%2E%2E/000000.gz",
		"exportedlogs/T/../U/s/000000.gz":    "/r/b/exportedlogs/T/%2E%2E/U/s/000000.gz",
		"exportedlogs/T/./000000.gz":         "/r/b/exportedlogs/T/%2E/000000.gz",
		"../../../../etc/T/s/000000.gz":      "/r/b/%2E%2E/%2E%2E/%2E%2E/%2E%2E/etc/T/s/000000.gz",
		"exportedlogs/T/a/../../b/000000.gz": "/r/b/exportedlogs/T/a/%2E%2E/%2E%2E/b/000000.gz",
		"exportedlogs/T/..x/000000.gz":       "/r/b/exportedlogs/T/..x/000000.gz",
		"..x/T/s/000000.gz":                  "/r/b/..x/T/s/000000.gz",
	} {
		got, ok := d.path("b", key)
		if !ok || got != filepath.FromSlash(want) {
			t.Errorf("path(b, %q) = %q, %v; want %q", key, got, ok, want)
		}
	}
	for _, b := range []string{"", ".", "..", "a/b", `a\\b`} {
		if _, ok := d.path(b, "k"); ok {
			t.Errorf("bucket %q accepted", b)
		}
	}
}
