package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"

	"github.com/cairnlog/cairn/internal/metrics"
)

// TestExpositionParses: what WriteText writes, with awkward label values,
// differing label sets in one family, histograms and summaries, is read back
// by Prometheus' own parser with the same values.
func TestExpositionParses(t *testing.T) {
	reg := metrics.NewRegistry()
	cv := metrics.NewCounterVec("x_requests_total", "Requests.\nSecond line \\ with backslash.", "op", "code")
	cv.Add(2, "Put", "")
	cv.Add(1, "Put", "Bad\"Quote\\\n")
	hv := metrics.NewHistogramVec("x_seconds", "Latency.", []float64{0.1, 1}, "op")
	hv.Observe(0.05, "Put")
	hv.Observe(0.5, "Put")
	hv.Observe(5, "Put")
	reg.Register(cv)
	reg.Register(hv)
	reg.Register(metrics.CollectorFunc(func(emit func(metrics.Family)) {
		emit(metrics.Family{Name: "x_metric", Type: metrics.Summary, Samples: []metrics.Sample{
			{Suffix: "_sum", Labels: []metrics.Label{{"a", "1"}}, Value: 3}, {Suffix: "_count", Labels: []metrics.Label{{"a", "1"}}, Value: 2},
			{Suffix: "_sum", Labels: []metrics.Label{{"b", "2"}, {"c", "3"}}, Value: 7}, {Suffix: "_count", Labels: []metrics.Label{{"b", "2"}, {"c", "3"}}, Value: 1},
		}})
		emit(metrics.Family{Name: "bad name", Type: metrics.Gauge, Samples: []metrics.Sample{{Value: 1}}}) // dropped
	}))
	var b strings.Builder
	if err := reg.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(fams) != 3 {
		t.Fatalf("families: %v", fams)
	}
	req := fams["x_requests_total"]
	if req.GetHelp() != "Requests.\nSecond line \\ with backslash." || len(req.Metric) != 2 {
		t.Fatalf("counter: %v", req)
	}
	found := false
	for _, m := range req.Metric {
		for _, l := range m.Label {
			if l.GetName() == "code" && l.GetValue() == "Bad\"Quote\\\n" && m.Counter.GetValue() == 1 {
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("escaped label value not read back: %v", req)
	}
	h := fams["x_seconds"].Metric[0].Histogram
	if h.GetSampleCount() != 3 || h.GetSampleSum() != 5.55 || h.Bucket[0].GetCumulativeCount() != 1 || h.Bucket[1].GetCumulativeCount() != 2 {
		t.Fatalf("histogram: %v", h)
	}
	if s := fams["x_metric"]; len(s.Metric) != 2 || s.Metric[1].Summary.GetSampleSum() != 7 {
		t.Fatalf("summary: %v", s)
	}
}

func TestSnakeCase(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := metrics.SnakeCase(in); got != want {
			t.Errorf("SnakeCase(%q) = %q, want %q", in, got, want)
		}
	}
	f("ErrorCount", "error_count")
	f("App/Errors", "app_errors")
	f("HTTP 5xx", "http_5xx")
	f("HTTPStatus", "http_status")
	f("@aws.region", "aws_region")
	f("5xx", "_5xx")
	f("", "_")
	f("***", "_")
}

// TestHandlerAccess: without a token, only loopback peers; with one, only
// holders of it.
func TestHandlerAccess(t *testing.T) {
	reg := metrics.NewRegistry()
	f := func(a metrics.Access, remote, auth string, want int) {
		t.Helper()
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.RemoteAddr = remote
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		metrics.Handler(reg, a).ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("%+v from %s (%q): %d, want %d", a, remote, auth, w.Code, want)
		}
	}
	f(metrics.Access{}, "127.0.0.1:5000", "", http.StatusOK)
	f(metrics.Access{}, "[::1]:5000", "", http.StatusOK)
	f(metrics.Access{}, "10.0.0.8:5000", "", http.StatusForbidden)
	f(metrics.Access{}, "garbage", "", http.StatusForbidden)
	f(metrics.Access{Token: "t"}, "127.0.0.1:5000", "", http.StatusUnauthorized)
	f(metrics.Access{Token: "t"}, "10.0.0.8:5000", "Bearer t", http.StatusOK)
	f(metrics.Access{Token: "t"}, "10.0.0.8:5000", "Bearer u", http.StatusUnauthorized)
}
