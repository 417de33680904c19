package server

import (
	"testing"

	"github.com/cairnlog/cairn/internal/store/embedded"
)

// TestEngineCacheMiB: Config.CacheMiB reaches the embedded engine's block
// cache; 0 leaves its default.
func TestEngineCacheMiB(t *testing.T) {
	for _, c := range []struct {
		mib  int
		want int64
	}{{0, 16 << 20}, {48, 48 << 20}} {
		eng, err := openEngine(Config{DataDir: t.TempDir(), CacheMiB: c.mib}, func(error) {})
		if err != nil {
			t.Fatal(err)
		}
		got := eng.(*embedded.Engine).CacheSize()
		eng.Close()
		if got != c.want {
			t.Errorf("CacheMiB %d: cache %d bytes, want %d", c.mib, got, c.want)
		}
	}
}
