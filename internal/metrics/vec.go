package metrics

import (
	"crypto/subtle"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// CounterVec is a counter family with fixed label names, for hot paths: a
// series is found by its label values under a read lock and then added to
// atomically. Callers bound the label values (operations of the model,
// error codes of the table), so the number of series stays bounded.
type CounterVec struct {
	name, help string
	labels     []string
	mu         sync.RWMutex
	series     map[string]*series // guarded by mu; key: label values joined by \xff
}

type series struct {
	values []string
	bits   atomic.Uint64 // float64 bits
}

func (s *series) add(v float64) {
	for {
		old := s.bits.Load()
		if s.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// NewCounterVec returns a counter family.
func NewCounterVec(name, help string, labels ...string) *CounterVec {
	return &CounterVec{name: name, help: help, labels: labels, series: map[string]*series{}}
}

func (v *CounterVec) get(values []string) *series {
	key := strings.Join(values, "\xff")
	v.mu.RLock()
	s := v.series[key]
	v.mu.RUnlock()
	if s != nil {
		return s
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if s = v.series[key]; s == nil {
		s = &series{values: slices.Clone(values)}
		v.series[key] = s
	}
	return s
}

// Add adds delta (≥ 0) to the series of values (one per label name).
func (v *CounterVec) Add(delta float64, values ...string) { v.get(values).add(delta) }

// Collect implements Collector.
func (v *CounterVec) Collect(emit func(Family)) {
	f := Family{Name: v.name, Help: v.help, Type: Counter}
	v.mu.RLock()
	for _, s := range v.series {
		f.Samples = append(f.Samples, Sample{Labels: labelsOf(v.labels, s.values), Value: math.Float64frombits(s.bits.Load())})
	}
	v.mu.RUnlock()
	sortSamples(f.Samples)
	emit(f)
}

func labelsOf(names, values []string) []Label {
	ls := make([]Label, len(names))
	for i := range names {
		ls[i] = Label{names[i], values[i]}
	}
	return ls
}

func sortSamples(ss []Sample) {
	slices.SortFunc(ss, func(a, b Sample) int {
		for i := 0; i < len(a.Labels) && i < len(b.Labels); i++ {
			if c := strings.Compare(a.Labels[i].Value, b.Labels[i].Value); c != 0 {
				return c
			}
		}
		return len(a.Labels) - len(b.Labels)
	})
}

// HistogramVec is a histogram family with fixed buckets and label names.
type HistogramVec struct {
	name, help string
	labels     []string
	buckets    []float64 // upper bounds, ascending; +Inf is implied
	mu         sync.RWMutex
	series     map[string]*histSeries // guarded by mu
}

type histSeries struct {
	values []string
	counts []atomic.Uint64 // per bucket, not cumulative; last is +Inf
	sum    series
}

// DefaultLatencyBuckets are request-latency bounds in seconds, 1 ms to 10 s.
var DefaultLatencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// NewHistogramVec returns a histogram family.
func NewHistogramVec(name, help string, buckets []float64, labels ...string) *HistogramVec {
	return &HistogramVec{name: name, help: help, labels: labels, buckets: buckets, series: map[string]*histSeries{}}
}

// Observe records v in the series of values.
func (h *HistogramVec) Observe(v float64, values ...string) {
	key := strings.Join(values, "\xff")
	h.mu.RLock()
	s := h.series[key]
	h.mu.RUnlock()
	if s == nil {
		h.mu.Lock()
		if s = h.series[key]; s == nil {
			s = &histSeries{values: slices.Clone(values), counts: make([]atomic.Uint64, len(h.buckets)+1)}
			h.series[key] = s
		}
		h.mu.Unlock()
	}
	i, _ := slices.BinarySearch(h.buckets, v)
	s.counts[i].Add(1)
	s.sum.add(v)
}

// Collect implements Collector.
func (h *HistogramVec) Collect(emit func(Family)) {
	f := Family{Name: h.name, Help: h.help, Type: Histogram}
	h.mu.RLock()
	keys := make([]string, 0, len(h.series))
	for k := range h.series {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s := h.series[k]
		base := labelsOf(h.labels, s.values)
		var cum uint64
		for i := range s.counts {
			cum += s.counts[i].Load()
			le := "+Inf"
			if i < len(h.buckets) {
				le = formatValue(h.buckets[i])
			}
			f.Samples = append(f.Samples, Sample{Suffix: "_bucket", Labels: append(slices.Clip(base), Label{"le", le}), Value: float64(cum)})
		}
		f.Samples = append(f.Samples,
			Sample{Suffix: "_sum", Labels: base, Value: math.Float64frombits(s.sum.bits.Load())},
			Sample{Suffix: "_count", Labels: base, Value: float64(cum)})
	}
	h.mu.RUnlock()
	emit(f)
}

// Access says who may read /metrics. The metrics name every account's log
// groups' metric-filter metrics and the server's traffic, so they are an
// operator's, not an API caller's: SigV4 identities have no say here.
type Access struct {
	// Token, when set, is a bearer token every scrape must present
	// (Authorization: Bearer TOKEN), from any address, loopback included (a
	// reverse proxy on the same host would otherwise open it to all).
	// Unset: only loopback peers may scrape.
	Token string
}

// Handler serves r in the text format to the peers a allows; others get
// 403 (no token configured) or 401 (a wrong or missing token).
func Handler(r *Registry, a Access) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if a.Token != "" {
			got, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(a.Token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="cairn metrics"`)
				http.Error(w, "a bearer token is required to read /metrics", http.StatusUnauthorized)
				return
			}
		} else if !loopbackPeer(req.RemoteAddr) {
			http.Error(w, "/metrics is served to loopback peers only; set --metrics-token to allow others", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_ = r.WriteText(w)
	})
}

func loopbackPeer(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
