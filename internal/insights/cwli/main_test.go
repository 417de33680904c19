package cwli

import (
	"os"
	"testing"

	"github.com/cairnlog/cairn/internal/leakcheck"
)

// TestMain fails the run if a goroutine outlives the tests: the package
// starts none; the concurrency test's goroutines must all end.
func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m, "cairnlog/cairn/internal/")) }
