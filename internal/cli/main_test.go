package cli

import (
	"os"
	"testing"

	"github.com/cairnlog/cairn/internal/leakcheck"
)

// TestMain fails the run if a goroutine of Cairn's outlives the tests: the
// commands run in-process (`cairn run` ships through the agent) against an
// in-process server, and each must stop all it started.
func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m, "cairnlog/cairn/internal/")) }
