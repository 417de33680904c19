package pattern

import (
	"syscall"
	"testing"
)

// BenchmarkSplitHead: the first 7 fields of the bench lines (a
// space-delimited filter's head), split as a View does; the JSON lines
// have their first space far in.
func BenchmarkSplitHead(b *testing.B) {
	for _, c := range []struct {
		name  string
		lines []string
	}{{"access", benchAccess}, {"app", benchApp}, {"json", benchJSON}} {
		b.Run(c.name, func(b *testing.B) {
			var fs fieldSplit
			cpu0 := threadCPU()
			for i := 0; i < b.N; i++ {
				for _, l := range c.lines {
					fs.fields, fs.next, fs.tabs = fs.fields[:0], 0, 0
					fs.get(l, 7)
				}
			}
			b.ReportMetric(float64(threadCPU()-cpu0)/float64(b.N*len(c.lines)), "cpu-ns/line")
		})
	}
}

// threadCPU is the calling thread's user+system CPU time in ns (the
// benchmark's loop stays on one thread: it does not block).
func threadCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_THREAD, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
