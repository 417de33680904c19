package otlp_test

import (
	"os"
	"testing"

	"github.com/cairnlog/cairn/internal/leakcheck"
)

// TestMain fails the run if a goroutine of Cairn's (the server's, its
// engine's, its transport's) outlives the tests: every Close must wait for
// what it started.
func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m, "cairnlog/cairn/internal/")) }
