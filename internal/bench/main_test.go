package bench_test

import (
	"os"
	"testing"

	"github.com/cairnlog/cairn/internal/leakcheck"
)

// The load generator's writers and the server a test runs against must all
// end with their test.
func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m, "github.com/cairnlog/cairn/")) }
