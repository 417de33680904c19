package cwli

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/store"
)

// benchEvents is a generated corpus in blocks of 1,000 events, one event
// every 10 ms: access-log lines, app lines (1% ERROR), JSON events.
func benchEvents(n int, kind string) []store.ScanBlock {
	r := rand.New(rand.NewPCG(1, 2))
	var blocks []store.ScanBlock
	var cur []store.StoredEvent
	users := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}
	for i := 0; i < n; i++ {
		ts := int64(1_700_000_000_000 + i*10)
		var msg string
		switch kind {
		case "json":
			msg = fmt.Sprintf(`{"level":"info","user":"%s","latency":%d,"path":"/api/v1/items/%d","status":200,"msg":"request served"}`,
				users[r.IntN(len(users))], r.IntN(500), r.IntN(10000))
		case "access":
			msg = fmt.Sprintf(`10.0.%d.%d - - [14/Nov/2023:22:13:20 +0000] "GET /api/v1/items/%d HTTP/1.1" %d %d "-" "curl/8.0"`,
				r.IntN(256), r.IntN(256), r.IntN(10000), []int{200, 200, 200, 404, 500}[r.IntN(5)], r.IntN(100000))
		default:
			level := "INFO"
			if r.IntN(100) == 0 {
				level = "ERROR"
			}
			msg = fmt.Sprintf("2023-11-14T22:13:20.%03dZ %s [worker-%d] processed job %d in %d ms for tenant t-%d with status ok",
				i%1000, level, r.IntN(16), i, r.IntN(900), r.IntN(50))
		}
		cur = append(cur, store.StoredEvent{Stream: "s", Timestamp: ts, IngestionTime: ts, Message: msg,
			Pos: store.Position{Time: ts, Seq: uint64(len(blocks)), Index: uint32(len(cur))}})
		if len(cur) == 1000 {
			blocks = append(blocks, store.ScanBlock{Group: "g", Events: cur})
			cur = nil
		}
	}
	if cur != nil {
		blocks = append(blocks, store.ScanBlock{Group: "g", Events: cur})
	}
	return blocks
}

func benchQuery(b *testing.B, q string, blocks []store.ScanBlock, pushdown bool) {
	benchQueryOpts(b, q, blocks, pushdown, Options{StoreStats: true})
}

func benchQueryOpts(b *testing.B, q string, blocks []store.ScanBlock, pushdown bool, opts Options) {
	cq, err := Compile(q)
	if err != nil {
		b.Fatal(err)
	}
	var events, bytes int64
	for _, bl := range blocks {
		events += int64(len(bl.Events))
		for _, e := range bl.Events {
			bytes += int64(len(e.Message))
		}
	}
	m := cq.Pushdown().Filter
	b.SetBytes(bytes)
	b.ReportAllocs()
	cpu0 := cpuNanos()
	b.ResetTimer()
	var kept []store.StoredEvent
	for i := 0; i < b.N; i++ {
		x := cq.Run(opts)
		for _, bl := range blocks {
			if pushdown && m != nil {
				// what the store's workers do with the pushdown matcher
				kept = kept[:0]
				for _, e := range bl.Events {
					if m.Match(e.Message) {
						kept = append(kept, e)
					}
				}
				if len(kept) == 0 {
					continue
				}
				bl = store.ScanBlock{Group: bl.Group, Events: kept}
			}
			if !x.AddBlock("g", bl) {
				break
			}
		}
		if _, err := x.Finish(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu := float64(cpuNanos() - cpu0)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*events), "ns/event")
	// CPU time is steadier than wall time on a shared machine
	b.ReportMetric(cpu/float64(int64(b.N)*events), "cpu-ns/event")
	b.ReportMetric(float64(bytes)*float64(b.N)/cpu*1e9/1e6, "cpu-MB/s")
}

const benchN = 1_000_000

func BenchmarkCountByBin(b *testing.B) {
	benchQuery(b, `stats count() by bin(5m)`, benchEvents(benchN, "app"), false)
}

func BenchmarkFilterRegexCountByBin(b *testing.B) {
	benchQuery(b, `filter @message like /ERROR/ | stats count() by bin(1h)`, benchEvents(benchN, "app"), true)
}

func BenchmarkSortDescLimit20(b *testing.B) {
	benchQuery(b, `fields @timestamp, @message | sort @timestamp desc | limit 20`, benchEvents(benchN, "app"), false)
}

func BenchmarkJSONAvgByUser(b *testing.B) {
	benchQuery(b, `stats avg(latency) by user`, benchEvents(benchN, "json"), false)
}

func BenchmarkParseAccess(b *testing.B) {
	benchQuery(b, `parse @message '* - - [*] "* * *" * *' as ip, ts, method, path, proto, status, size | stats count() by status`, benchEvents(benchN, "access"), false)
}

func BenchmarkDefaultQuery(b *testing.B) {
	benchQuery(b, `filter @message like "tenant t-7 "`, benchEvents(benchN, "app"), true)
}

// cpuNanos is the process's user+system CPU time.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func BenchmarkJSONAvgByUserParallel2(b *testing.B) {
	benchQueryOpts(b, `stats avg(latency) by user`, benchEvents(benchN, "json"), false, Options{StoreStats: true, Parallel: 2})
}

func BenchmarkParseAccessParallel2(b *testing.B) {
	benchQueryOpts(b, `parse @message '* - - [*] "* * *" * *' as ip, ts, method, path, proto, status, size | stats count() by status`, benchEvents(benchN, "access"), false, Options{StoreStats: true, Parallel: 2})
}

// BenchmarkStatsMillionKeys: stats count() by k over 1,000,000 distinct
// keys (8 hex digits, as the generator's request ids), one lane; reports
// the heap the groups hold, in bytes per key (runtime.ReadMemStats after a
// GC, the executor still alive), and what MaxMemory was charged.
func BenchmarkStatsMillionKeys(b *testing.B) {
	const keys = 1_000_000
	var blocks []store.ScanBlock
	for i := 0; i < keys; i += 1000 {
		evs := make([]store.StoredEvent, 0, 1000)
		for j := i; j < i+1000; j++ {
			evs = append(evs, store.StoredEvent{Stream: "s", Timestamp: int64(j), Message: fmt.Sprintf(`{"req":"%08x","latency_ms":%d}`, uint32(j)*2654435761, j%3000)})
		}
		blocks = append(blocks, store.ScanBlock{Group: "g", Events: evs})
	}
	q, err := Compile("stats count(), avg(latency_ms) by req")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		x := q.Run(Options{StoreStats: true})
		for _, bl := range blocks {
			x.AddBlock("g", bl)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/keys, "heap-bytes/key")
		b.ReportMetric(float64(x.mem)/keys, "charged-bytes/key")
		res, err := x.Finish()
		if err != nil || len(res.Rows) != DefaultLimit {
			b.Fatal(err, len(res.Rows))
		}
	}
}

// benchLines is n lines of the bench generator (cairn bench's corpus: 40%
// access lines, 35% app lines, 25% JSON objects) in 1,000-event blocks.
func benchLines(n int) []store.ScanBlock {
	gen := bench.NewLineGen(42)
	var blocks []store.ScanBlock
	for i := 0; i < n; i += 1000 {
		evs := make([]store.StoredEvent, 0, 1000)
		for j := i; j < min(i+1000, n); j++ {
			ts := int64(1_700_000_000_000 + j)
			evs = append(evs, store.StoredEvent{Stream: "s", Timestamp: ts, IngestionTime: ts, Message: gen.Line(),
				Pos: store.Position{Time: ts, Seq: uint64(len(blocks)), Index: uint32(len(evs))}})
		}
		blocks = append(blocks, store.ScanBlock{Group: "g", Events: evs})
	}
	return blocks
}

// BenchmarkBenchJSON is cairn bench's JSON shape over its corpus, the
// pushdown filter applied as the store's decode workers apply it: the
// executor's and the filter's CPU without the store's decoding. Run with
// -cpu=1.
func BenchmarkBenchJSON(b *testing.B) {
	benchQuery(b, `filter ispresent(latency_ms) | stats avg(latency_ms) as a by user`, benchLines(benchN), true)
}

// BenchmarkBenchERROR is cairn bench's substring count over its corpus.
func BenchmarkBenchERROR(b *testing.B) {
	benchQuery(b, `filter @message like "ERROR" | stats count() as n`, benchLines(benchN), true)
}
