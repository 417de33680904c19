// Package metrics is Cairn's Prometheus registry and its text exposition
// (GET /metrics).
//
// Data flows one way. Packages that have something to report implement
// Collector, a single method that emits Families, and register it once with
// the server's Registry (server.Start passes the Registry to the packages
// it assembles; a new one takes a `Metrics *metrics.Registry` in its Config
// and calls Register when it starts). Hot paths keep their own numbers
// (CounterVec, HistogramVec, or atomics of their own) and a Collector reads
// them at scrape time; nothing is pushed. At each scrape Registry.WriteText
// asks every collector for its families, merges families of one name, sorts
// them and writes Prometheus' text format version 0.0.4.
//
// Why not github.com/prometheus/client_golang: its registry refuses a family
// whose series carry different label names, and metric filters produce
// exactly that (a CloudWatch metric's dimensions are chosen per filter, and
// two filters may publish one metric name with different dimensions, which
// CloudWatch keeps as distinct metrics). The text format is small and
// stable; the tests parse it with Prometheus' own parser
// (github.com/prometheus/common/expfmt), so the format is checked by the
// reference implementation, not by this package.
package metrics

import (
	"bufio"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Type is a Prometheus metric type.
type Type string

const (
	Counter   Type = "counter"
	Gauge     Type = "gauge"
	Histogram Type = "histogram"
	Summary   Type = "summary"
)

// Label is one label of a sample.
type Label struct{ Name, Value string }

// Sample is one line of a family: Suffix is "" for counters and gauges,
// "_bucket", "_sum" or "_count" for histograms and summaries.
type Sample struct {
	Suffix string
	Labels []Label
	Value  float64
}

// Family is a metric family: one name, one type, one help text.
type Family struct {
	Name    string
	Help    string
	Type    Type
	Samples []Sample
}

// Collector reports families at scrape time. Collect must not block for
// long (it runs in the scrape's request) and must emit valid names (see
// SanitizeName, SanitizeLabel).
type Collector interface {
	Collect(emit func(Family))
}

// CollectorFunc adapts a function to Collector.
type CollectorFunc func(emit func(Family))

// Collect implements Collector.
func (f CollectorFunc) Collect(emit func(Family)) { f(emit) }

// Registry holds the server's collectors.
type Registry struct {
	mu         sync.Mutex
	collectors []Collector // guarded by mu
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// Register adds c; it is asked for its families at every scrape until
// Unregister. Safe to call at any time, from any goroutine.
func (r *Registry) Register(c Collector) {
	r.mu.Lock()
	r.collectors = append(r.collectors, c)
	r.mu.Unlock()
}

// Unregister removes c (a worker that stops).
func (r *Registry) Unregister(c Collector) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, x := range r.collectors {
		if x == c {
			r.collectors = slices.Delete(r.collectors, i, i+1)
			return
		}
	}
}

// Gather collects every family, merging families of one name (the first
// one's help and type win; samples of a later one of another type are
// dropped, as the format allows one type per name), sorted by name.
func (r *Registry) Gather() []Family {
	r.mu.Lock()
	cs := slices.Clone(r.collectors)
	r.mu.Unlock()
	byName := map[string]int{}
	var out []Family
	for _, c := range cs {
		c.Collect(func(f Family) {
			if !ValidName(f.Name) {
				return
			}
			if i, ok := byName[f.Name]; ok {
				if out[i].Type == f.Type {
					out[i].Samples = append(out[i].Samples, f.Samples...)
				}
				return
			}
			byName[f.Name] = len(out)
			out = append(out, f)
		})
	}
	slices.SortFunc(out, func(a, b Family) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// WriteText writes every family in the text exposition format.
func (r *Registry) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	for _, f := range r.Gather() {
		writeFamily(bw, f)
	}
	return bw.Flush()
}

func writeFamily(w *bufio.Writer, f Family) {
	if f.Help != "" {
		w.WriteString("# HELP " + f.Name + " ")
		w.WriteString(escape(f.Help, false))
		w.WriteByte('\n')
	}
	typ := f.Type
	if typ == "" {
		typ = "untyped"
	}
	w.WriteString("# TYPE " + f.Name + " " + string(typ) + "\n")
	for _, s := range f.Samples {
		w.WriteString(f.Name + s.Suffix)
		n := 0
		for _, l := range s.Labels {
			if !validLabel(l.Name) {
				continue
			}
			if n == 0 {
				w.WriteByte('{')
			} else {
				w.WriteByte(',')
			}
			n++
			w.WriteString(l.Name + `="`)
			w.WriteString(escape(l.Value, true))
			w.WriteByte('"')
		}
		if n > 0 {
			w.WriteByte('}')
		}
		w.WriteByte(' ')
		w.WriteString(formatValue(s.Value))
		w.WriteByte('\n')
	}
}

// escape escapes a HELP text (backslash, newline) or a label value (also the
// double quote), as the format says.
func escape(s string, quote bool) string {
	if !strings.ContainsAny(s, "\\\n\"") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '"' && quote:
			b.WriteString(`\"`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// ValidName reports whether s is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*).
func ValidName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// validLabel reports whether s is a label name a collector may use
// ([a-zA-Z_][a-zA-Z0-9_]*, not the reserved __ prefix).
func validLabel(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// SnakeCase turns a CloudWatch-style name ("ErrorCount", "App/Errors",
// "HTTP 5xx") into a valid label or metric-name part: words split at case
// changes and at every character that is not a letter or digit, lowercased,
// joined with "_" ("error_count", "app_errors", "http_5xx"). A result that
// would start with a digit gets a leading "_"; an empty one is "_".
func SnakeCase(s string) string {
	var b strings.Builder
	prevLower, prevSep := false, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			nextLower := i+1 < len(s) && s[i+1] >= 'a' && s[i+1] <= 'z'
			if !prevSep && (prevLower || nextLower && b.Len() > 0 && i > 0 && s[i-1] >= 'A' && s[i-1] <= 'Z') {
				b.WriteByte('_')
			}
			b.WriteByte(c + 'a' - 'A')
			prevLower, prevSep = false, false
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			b.WriteByte(c)
			prevLower, prevSep = c >= 'a' && c <= 'z' || c >= '0' && c <= '9', false
		default:
			if !prevSep {
				b.WriteByte('_')
			}
			prevLower, prevSep = false, true
		}
	}
	out := strings.TrimRight(b.String(), "_")
	if out == "" {
		return "_"
	}
	if out[0] >= '0' && out[0] <= '9' {
		out = "_" + out
	}
	return out
}
