package embedded

import (
	"os"
	"testing"

	"github.com/cairnlog/cairn/internal/leakcheck"
)

// TestMain fails the package when a janitor, a read's prefetcher or a scan's
// workers outlive the tests.
func TestMain(m *testing.M) {
	os.Exit(leakcheck.Main(m, "github.com/cairnlog/cairn/internal/store/"))
}
