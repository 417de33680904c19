package cli

import (
	"os"
	"testing"

	"github.com/cairnlog/cairn/internal/leakcheck"
)

// TestMain fails the run if a goroutine of Cairn's outlives the tests: the
// commands run in-process (`cairn run` ships through the agent) against an
// in-process server, and each must stop all it started.
//
// With CAIRN_TEST_AS_CAIRN=1 the test binary is `cairn` itself (its
// arguments are the command line): tests use it as the credential_process
// of an AWS profile without building the binary.
func TestMain(m *testing.M) {
	if os.Getenv("CAIRN_TEST_AS_CAIRN") == "1" {
		os.Exit(Main(os.Args[1:]))
	}
	os.Exit(leakcheck.Main(m, "cairnlog/cairn/internal/"))
}
