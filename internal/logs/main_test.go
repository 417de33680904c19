package logs_test

import (
	"os"
	"testing"
	"time"

	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/leakcheck"
)

func TestMain(m *testing.M) {
	os.Exit(leakcheck.Main(m, "github.com/cairnlog/cairn/"))
}

// server is the real server (harness.Start); Live Tail's tests, which need
// the hub and a session limit, have their own in logs/livetail.
type server struct{ *harness.Server }

func startServer(tb testing.TB, _ time.Duration) *server {
	tb.Helper()
	return &server{harness.Start(tb)}
}

func (s *server) client() *cwl.Client { return s.Client() }
