// Package leakcheck fails a test binary whose goroutines outlive its tests.
// A package's TestMain calls Main (or Check after its own setup) with
// substrings that identify its goroutines in a stack dump, typically its
// import path; goroutines still matching after a grace period are reported.
package leakcheck

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Grace is how long goroutines that are finishing may take.
const Grace = 5 * time.Second

// Main runs the tests and, when they pass, checks for leaks; it returns the
// exit code for os.Exit.
func Main(m *testing.M, match ...string) int {
	code := m.Run()
	if code == 0 {
		if err := Check(Grace, match...); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	return code
}

// Check waits up to timeout for every goroutine whose stack contains one of
// match to end, ignoring the test binary's main goroutine.
func Check(timeout time.Duration, match ...string) error {
	deadline := time.Now().Add(timeout)
	for {
		leaked := running(match)
		if len(leaked) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d goroutines leaked:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		time.Sleep(50 * time.Millisecond) // polling, bounded by the deadline
	}
}

func running(match []string) []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var leaked []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "leakcheck.") || strings.Contains(g, ".TestMain") || strings.Contains(g, ".runMain") {
			continue // the main goroutine, running the check
		}
		for _, m := range match {
			if strings.Contains(g, m) {
				leaked = append(leaked, g)
				break
			}
		}
	}
	return leaked
}
