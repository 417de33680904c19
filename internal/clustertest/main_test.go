package clustertest

import (
	"os"
	"testing"

	"github.com/cairnlog/cairn/internal/cli"
	"github.com/cairnlog/cairn/internal/leakcheck"
)

// nodeEnv makes the test binary a `cairn` process (see the package doc).
const nodeEnv = "CAIRN_CLUSTERTEST_NODE"

func TestMain(m *testing.M) {
	if os.Getenv(nodeEnv) == "1" {
		os.Exit(cli.Main(os.Args[1:]))
	}
	os.Exit(leakcheck.Main(m, "github.com/cairnlog/cairn/", "github.com/jackc/"))
}
