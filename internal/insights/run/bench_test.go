package run_test

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/insights/cwli"
	"github.com/cairnlog/cairn/internal/insights/run"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

// BenchmarkShapes runs the query shapes through the manager over
// the embedded engine (no HTTP): CAIRN_BENCH_EVENTS events (default
// 1,000,000) of bench.LineGen lines in 1,000-event blocks over 16 streams.
// Run with -cpuprofile to see where a query spends its time.
// CAIRN_BENCH_MERGED=1 queries the steady state instead: the blocks merged
// by re-compaction (format 4), as data older than an hour is.
func BenchmarkShapes(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("CAIRN_BENCH_EVENTS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	merged := os.Getenv("CAIRN_BENCH_MERGED") == "1"
	cfg := embedded.Config{Dir: b.TempDir()}
	if merged {
		cfg.RecompactInterval = -1 // merged below, at once
	}
	e, err := embedded.Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g", CreationTime: 1})
	for s := 0; s < 16; s++ {
		e.CreateStream(ctx, scope, "g", store.Stream{Name: "s" + strconv.Itoa(s), CreationTime: 1})
	}
	gen := bench.NewLineGen(42)
	t0 := time.Now().Add(-time.Hour).UnixMilli() - int64(n)
	var bytes int64
	for i := 0; i < n; i += 1000 {
		evs := make([]store.Event, 0, 1000)
		for j := i; j < min(i+1000, n); j++ {
			m := gen.Line()
			bytes += int64(len(m))
			evs = append(evs, store.Event{Timestamp: t0 + int64(j), Message: m})
		}
		if _, err := e.Append(ctx, scope, "g", "s"+strconv.Itoa(i/1000%16), evs, t0+int64(i)); err != nil {
			b.Fatal(err)
		}
	}
	if merged {
		if _, err := e.RecompactSettled(); err != nil {
			b.Fatal(err)
		}
	}
	m := run.New(run.Config{Store: e})
	defer m.Close()
	for _, sh := range bench.InsightsShapes {
		q, err := cwli.Compile(sh.Query)
		if err != nil {
			b.Fatal(err)
		}
		// A query that reads no message runs timestamps-only, as
		// StartQuery runs it; "/with-messages" is the same query
		// decompressing every message, for the before/after ratio.
		modes := []bool{!q.Pushdown().NeedMessage}
		if modes[0] {
			modes = append(modes, false)
		}
		for _, noMsgs := range modes {
			name := sh.Name
			if !noMsgs && len(modes) == 2 {
				name += "/with-messages"
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(bytes)
				cpu0 := cpuNanos()
				defer func() {
					// CPU time (both cores, the process) is steadier than
					// wall time on a shared machine; MB/s per core of CPU
					cpu := float64(cpuNanos() - cpu0)
					b.ReportMetric(cpu/float64(int64(b.N)*int64(n)), "cpu-ns/event")
					b.ReportMetric(float64(bytes)*float64(b.N)/cpu*1e9/1e6, "cpu-MB/s")
				}()
				for i := 0; i < b.N; i++ {
					// as the server runs it: stats split over the cores
					x := q.Run(cwli.Options{Start: 0, End: 1 << 50, MaxMemory: 256 << 20, Parallel: min(runtime.GOMAXPROCS(0), 4)})
					id, err := m.Start(run.Spec{Scope: scope, Groups: []string{"g"}, Start: 0, End: 1 << 50, Filter: q.Pushdown().Filter, NoMessages: noMsgs, Exec: x})
					if err != nil {
						b.Fatal(err)
					}
					for {
						s, _ := m.Results(scope, id)
						if s.Status != run.Scheduled && s.Status != run.Running {
							if s.Status != run.Complete {
								b.Fatalf("%s", s.Status)
							}
							break
						}
						time.Sleep(time.Millisecond)
					}
				}
			})
		}
	}
}

// cpuNanos is the process's user+system CPU time.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
