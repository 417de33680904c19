package server

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/cairnlog/cairn/internal/metrics"
	"github.com/cairnlog/cairn/internal/store"
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
