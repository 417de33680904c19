package leakcheck_test

import (
	"strings"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/leakcheck"
)

func parked(started, stop chan struct{}) {
	close(started)
	<-stop
}

// TestCheck: a goroutine still running is reported; once it ends, nothing is.
func TestCheck(t *testing.T) {
	started, stop := make(chan struct{}), make(chan struct{})
	go parked(started, stop)
	<-started // a goroutine that has not run yet has no stack to find
	err := leakcheck.Check(100*time.Millisecond, "leakcheck_test.parked")
	if err == nil || !strings.Contains(err.Error(), "1 goroutines leaked") {
		t.Fatalf("a running goroutine was not reported: %v", err)
	}
	close(stop)
	if err := leakcheck.Check(time.Second, "leakcheck_test.parked"); err != nil {
		t.Fatalf("after it ended: %v", err)
	}
}
