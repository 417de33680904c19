package console_test

import (
	"os"
	"testing"

	"github.com/cairnlog/cairn/internal/leakcheck"
)

// TestMain fails the run if a goroutine of Cairn's outlives the tests.
func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m, "cairnlog/cairn/internal/")) }
