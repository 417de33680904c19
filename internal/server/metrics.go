package server

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/cairnlog/cairn/internal/insights/run"
	"github.com/cairnlog/cairn/internal/metrics"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
	"github.com/cairnlog/cairn/internal/tail"
)

// serverMetrics are the server's own metrics (docs/metrics.md lists them):
// API calls by operation and error code with their latency, what the
// engine stored, its size on disk, Live Tail sessions, the Go runtime.
// Families of other packages (metric filters, deliveries, queries) are
// registered by those packages on the same Registry.
type serverMetrics struct {
	requests *metrics.CounterVec
	latency  *metrics.HistogramVec
	events   atomic.Uint64
	bytes    atomic.Uint64
	appends  atomic.Uint64
}

func newServerMetrics(reg *metrics.Registry, engine Engine, hub *tail.Hub) *serverMetrics {
	m := &serverMetrics{
		requests: metrics.NewCounterVec("cairn_api_requests_total",
			"API calls answered, by operation and AWS error code (error_code is empty on success).", "operation", "error_code"),
		latency: metrics.NewHistogramVec("cairn_api_request_duration_seconds",
			"Time from a call's arrival to its answer (for StartLiveTail, the whole session).", metrics.DefaultLatencyBuckets, "operation"),
	}
	reg.Register(m.requests)
	reg.Register(m.latency)
	reg.Register(metrics.CollectorFunc(func(emit func(metrics.Family)) {
		one := func(name, help string, t metrics.Type, v float64) {
			emit(metrics.Family{Name: name, Help: help, Type: t, Samples: []metrics.Sample{{Value: v}}})
		}
		one("cairn_ingested_events_total", "Log events stored (durable), from every account.", metrics.Counter, float64(m.events.Load()))
		one("cairn_ingested_bytes_total", "Message bytes of the log events stored (UTF-8).", metrics.Counter, float64(m.bytes.Load()))
		one("cairn_ingested_batches_total", "Appends stored: one per PutLogEvents request that stored events.", metrics.Counter, float64(m.appends.Load()))
		one("cairn_store_disk_bytes", "Bytes the storage engine uses on disk.", metrics.Gauge, float64(engine.DiskUsage()))
		events, bytes := hub.Buffered()
		one("cairn_live_tail_sessions", "Open Live Tail sessions.", metrics.Gauge, float64(hub.Sessions()))
		one("cairn_live_tail_buffered_events", "Events queued in Live Tail sessions for their clients.", metrics.Gauge, float64(events))
		one("cairn_live_tail_buffered_bytes", "Message bytes queued in Live Tail sessions.", metrics.Gauge, float64(bytes))
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		one("go_goroutines", "Goroutines that currently exist.", metrics.Gauge, float64(runtime.NumGoroutine()))
		one("go_memstats_heap_alloc_bytes", "Heap bytes allocated and still in use.", metrics.Gauge, float64(ms.HeapAlloc))
		one("go_memstats_sys_bytes", "Bytes obtained from the system.", metrics.Gauge, float64(ms.Sys))
	}))
	return m
}

// observe is the protocol's Observe hook.
func (m *serverMetrics) observe(op, code string, d time.Duration) {
	m.requests.Add(1, op, code)
	m.latency.Observe(d.Seconds(), op)
}

// appended counts a durable append (a store.Subscribe listener: no
// blocking, atomics only).
func (m *serverMetrics) appended(a store.Appended) {
	var n uint64
	for i := range a.Events {
		n += uint64(len(a.Events[i].Message))
	}
	m.events.Add(uint64(len(a.Events)))
	m.bytes.Add(n)
	m.appends.Add(1)
}

// lsmStats is what an engine built on an LSM tree reports (the embedded
// engine; PostgreSQL has its own monitoring).
type lsmStats interface{ LSMStats() embedded.LSMStats }

// recompactStats is the embedded engine's re-compaction worker.
type recompactStats interface {
	RecompactStats() embedded.RecompactStats
}

// engineCollector reports the embedded engine's compactions, flushes and
// write-ahead log, when the engine is the embedded one.
func engineCollector(engine Engine) metrics.Collector {
	return metrics.CollectorFunc(func(emit func(metrics.Family)) {
		e, ok := engine.(lsmStats)
		if !ok {
			return
		}
		s := e.LSMStats()
		one := func(name, help string, t metrics.Type, v float64) {
			emit(metrics.Family{Name: name, Help: help, Type: t, Samples: []metrics.Sample{{Value: v}}})
		}
		one("cairn_store_compactions_total", "Compactions the embedded engine's LSM (Pebble) ran since start.", metrics.Counter, float64(s.Compactions))
		one("cairn_store_flushes_total", "Memtable flushes to sstables since start.", metrics.Counter, float64(s.Flushes))
		one("cairn_store_compaction_debt_bytes", "Bytes compactions estimate they still have to rewrite.", metrics.Gauge, float64(s.CompactionDebtBytes))
		one("cairn_store_read_amplification", "Sstables a read may have to consult (L0 sublevels plus non-empty levels).", metrics.Gauge, float64(s.ReadAmplification))
		one("cairn_store_wal_files", "Live write-ahead log files.", metrics.Gauge, float64(s.WALFiles))
		one("cairn_store_wal_bytes", "Bytes of the live write-ahead log files on disk.", metrics.Gauge, float64(s.WALBytes))
		one("cairn_store_wal_written_bytes_total", "Logical bytes written to the write-ahead log since start.", metrics.Counter, float64(s.WALBytesIn))
		if rc, ok := engine.(recompactStats); ok && !rc.RecompactStats().Disabled {
			r := rc.RecompactStats()
			settled := 0.0
			if r.Settled {
				settled = 1
			}
			one("cairn_store_recompact_settled", "1 when the last re-compaction pass found nothing to merge, now or later, and nothing to reclaim.", metrics.Gauge, settled)
			one("cairn_store_recompact_passes_total", "Re-compaction passes finished since start.", metrics.Counter, float64(r.Passes))
			one("cairn_store_recompact_merges_total", "Merged blocks the re-compaction worker wrote since start.", metrics.Counter, float64(r.Merges))
			one("cairn_store_recompact_source_blocks_total", "Blocks merged away since start.", metrics.Counter, float64(r.SourceBlocks))
			one("cairn_store_recompact_events_total", "Events rewritten by re-compaction since start.", metrics.Counter, float64(r.Events))
			one("cairn_store_recompact_bytes_before_total", "Stored bytes of the blocks merged away.", metrics.Counter, float64(r.BytesBefore))
			one("cairn_store_recompact_bytes_after_total", "Stored bytes of the merged blocks that replaced them.", metrics.Counter, float64(r.BytesAfter))
			one("cairn_store_recompact_busy_seconds_total", "Wall time the worker spent merging (its throttle waits as long again).", metrics.Counter, r.Busy.Seconds())
		}
	})
}

// queryCollector reports Logs Insights queries: running now, and ended by
// final status.
func queryCollector(q *run.Manager) metrics.Collector {
	return metrics.CollectorFunc(func(emit func(metrics.Family)) {
		running, ended := q.Counts()
		emit(metrics.Family{Name: "cairn_insights_queries_running", Help: "Logs Insights queries scheduled or running, over every account.",
			Type: metrics.Gauge, Samples: []metrics.Sample{{Value: float64(running)}}})
		f := metrics.Family{Name: "cairn_insights_queries_total", Help: "Logs Insights queries that ended, by final status.", Type: metrics.Counter}
		for _, st := range []string{run.Complete, run.Failed, run.Cancelled, run.Timeout} {
			f.Samples = append(f.Samples, metrics.Sample{Labels: []metrics.Label{{Name: "status", Value: st}}, Value: float64(ended[st])})
		}
		emit(f)
	})
}
