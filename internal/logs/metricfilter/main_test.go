package metricfilter_test

import (
	"os"
	"testing"

	"github.com/cairnlog/cairn/internal/leakcheck"
)

// TestMain fails the run if a goroutine of Cairn's (the Counter's, the
// server's) outlives the tests.
func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m, "github.com/cairnlog/cairn/")) }
