package metricfilter_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/server"
)

// scrape reads /metrics with Prometheus' own parser.
func scrape(t testing.TB, h *harness.Server) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := h.HTTPClient().Get(h.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// sample finds the series of family whose labels include want; it returns
// the summary's sum and count (or a counter's or gauge's value as sum).
func sample(fams map[string]*dto.MetricFamily, family string, want map[string]string) (sum, count float64, ok bool) {
	f := fams[family]
	if f == nil {
		return 0, 0, false
	}
next:
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		switch {
		case m.Summary != nil:
			return m.Summary.GetSampleSum(), float64(m.Summary.GetSampleCount()), true
		case m.Counter != nil:
			return m.Counter.GetValue(), 0, true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), 0, true
		case m.Histogram != nil:
			return m.Histogram.GetSampleSum(), float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, 0, false
}

// expectation is what the test computes by itself from the events it
// sends: per series key, the sum and the count.
type expectation map[string][2]float64

func (e expectation) add(key string, v float64) {
	x := e[key]
	x[0] += v
	x[1]++
	e[key] = x
}

type seriesRef struct {
	family string
	labels map[string]string
}

// workload sends batches to groups "app" (JSON and plain lines) and "web"
// (space-delimited access lines) and computes independently what each
// filter of putFilters publishes.
type workload struct {
	rng *rand.Rand
	exp expectation
	ref map[string]seriesRef
	n   int // events sent
}

func newWorkload(seed uint64) *workload {
	return &workload{rng: rand.New(rand.NewPCG(seed, 1)), exp: expectation{}, ref: map[string]seriesRef{}}
}

func putFilters(t testing.TB, c *cwl.Client) {
	t.Helper()
	ctx := context.Background()
	for _, in := range []*cwl.PutMetricFilterInput{
		{LogGroupName: aws.String("app"), FilterName: aws.String("errors"), FilterPattern: aws.String("ERROR"),
			MetricTransformations: []types.MetricTransformation{{MetricName: aws.String("ErrorCount"), MetricNamespace: aws.String("App/Errors"), MetricValue: aws.String("1"), Unit: types.StandardUnitCount}}},
		{LogGroupName: aws.String("app"), FilterName: aws.String("latency"), FilterPattern: aws.String(`{ $.level = "info" }`),
			MetricTransformations: []types.MetricTransformation{{MetricName: aws.String("Latency"), MetricNamespace: aws.String("App"), MetricValue: aws.String("$.latency"),
				Unit: types.StandardUnitMilliseconds, Dimensions: map[string]string{"Service": "$.service"}}}},
		{LogGroupName: aws.String("app"), FilterName: aws.String("panics"), FilterPattern: aws.String("PANIC"),
			MetricTransformations: []types.MetricTransformation{{MetricName: aws.String("Panics"), MetricNamespace: aws.String("App"), MetricValue: aws.String("1"), DefaultValue: aws.Float64(0)}}},
		{LogGroupName: aws.String("web"), FilterName: aws.String("bytes"), FilterPattern: aws.String("[ip, user, status, bytes]"),
			MetricTransformations: []types.MetricTransformation{{MetricName: aws.String("BytesSent"), MetricNamespace: aws.String("Web"), MetricValue: aws.String("$bytes"), Unit: types.StandardUnitBytes}}},
	} {
		if _, err := c.PutMetricFilter(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
}

func (w *workload) expect(key, family string, labels map[string]string, v float64) {
	w.ref[key] = seriesRef{family, labels}
	w.exp.add(key, v)
}

// batch sends one PutLogEvents request to app or web and records what the
// filters must publish for it.
func (w *workload) batch(t testing.TB, c *cwl.Client) {
	t.Helper()
	n := 1 + w.rng.IntN(40)
	now := time.Now().UnixMilli()
	var evs []types.InputLogEvent
	if w.rng.IntN(3) == 0 {
		for range n {
			bytes := fmt.Sprint(w.rng.IntN(5000))
			if w.rng.IntN(5) == 0 {
				bytes = "-" // not a number: no datapoint
			}
			msg := fmt.Sprintf("10.0.0.%d u%d %d %s", w.rng.IntN(9), w.rng.IntN(3), 200+w.rng.IntN(3)*100, bytes)
			if bytes != "-" {
				var b float64
				fmt.Sscan(bytes, &b)
				w.expect("bytes", "cairn_log_metric_bytes_sent_bytes", map[string]string{"namespace": "Web", "metric_name": "BytesSent"}, b)
			}
			evs = append(evs, types.InputLogEvent{Message: aws.String(msg), Timestamp: aws.Int64(now)})
		}
		w.send(t, c, "web", evs)
		return
	}
	panics := 0
	for range n {
		var msg string
		switch w.rng.IntN(4) {
		case 0:
			msg = "ERROR something failed"
		case 1:
			msg = "PANIC in handler"
			panics++
		default:
			level := []string{"info", "debug"}[w.rng.IntN(2)]
			svc := []string{"api", "auth", "db"}[w.rng.IntN(3)]
			lat := w.rng.IntN(900)
			b, _ := json.Marshal(map[string]any{"level": level, "service": svc, "latency": lat})
			msg = string(b)
			if level == "info" {
				w.expect("lat-"+svc, "cairn_log_metric_latency_seconds", map[string]string{"namespace": "App", "metric_name": "Latency", "service": svc}, float64(lat)/1000)
			}
		}
		if strings.Contains(msg, "ERROR") {
			w.expect("errors", "cairn_log_metric_error_count", map[string]string{"namespace": "App/Errors", "metric_name": "ErrorCount"}, 1)
		}
		evs = append(evs, types.InputLogEvent{Message: aws.String(msg), Timestamp: aws.Int64(now)})
	}
	panicRef := map[string]string{"namespace": "App", "metric_name": "Panics"}
	if panics == 0 { // defaultValue: once for a batch without a match
		w.expect("panics", "cairn_log_metric_panics", panicRef, 0)
	}
	for range panics {
		w.expect("panics", "cairn_log_metric_panics", panicRef, 1)
	}
	w.send(t, c, "app", evs)
}

func (w *workload) send(t testing.TB, c *cwl.Client, group string, evs []types.InputLogEvent) {
	t.Helper()
	if _, err := c.PutLogEvents(context.Background(), &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
		t.Fatal(err)
	}
	w.n += len(evs)
}

// check polls /metrics until every expected series has the expected sum
// and count.
func (w *workload) check(t testing.TB, h *harness.Server) {
	t.Helper()
	harness.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		fams := scrape(t, h)
		for key, want := range w.exp {
			r := w.ref[key]
			sum, count, ok := sample(fams, r.family, r.labels)
			if !ok {
				return fmt.Errorf("%s%v: missing", r.family, r.labels)
			}
			if count != want[1] || math.Abs(sum-want[0]) > 1e-6*math.Max(1, math.Abs(want[0])) {
				return fmt.Errorf("%s%v: sum %v count %v, want sum %v count %v", r.family, r.labels, sum, count, want[0], want[1])
			}
		}
		return nil
	})
}

func setupGroups(t testing.TB, c *cwl.Client) {
	t.Helper()
	createGroup(t, c, "app", "web")
	for _, g := range []string{"app", "web"} {
		if _, err := c.CreateLogStream(context.Background(), &cwl.CreateLogStreamInput{LogGroupName: aws.String(g), LogStreamName: aws.String("s")}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCountingAgainstIndependentCount: events counted at ingest match what
// the test computes from the events it sent, including what was sent
// before the filters existed (not counted), and across restarts (neither
// lost nor counted twice).
func TestCountingAgainstIndependentCount(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	setupGroups(t, c)
	// Events before any filter are not the filters'.
	old := newWorkload(7)
	for range 5 {
		old.batch(t, c)
	}
	putFilters(t, c)
	w := newWorkload(1)
	for range 60 {
		w.batch(t, c)
	}
	w.check(t, h)

	// A restart: the counters come back as they were, nothing is counted
	// again; a new batch is counted once (once it shows, the Counter has
	// read everything before it too).
	h.Restart()
	c = h.Client()
	for range 20 {
		w.batch(t, c)
	}
	w.check(t, h)
	h.Restart()
	w.check(t, h)

	// Replacing a filter starts its metric again; deleting one removes it.
	ctx := context.Background()
	if _, err := c.DeleteMetricFilter(ctx, &cwl.DeleteMetricFilterInput{LogGroupName: aws.String("web"), FilterName: aws.String("bytes")}); err != nil {
		t.Fatal(err)
	}
	harness.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if _, _, ok := sample(scrape(t, h), "cairn_log_metric_bytes_sent_bytes", nil); ok {
			return fmt.Errorf("a deleted filter's metric is still served")
		}
		return nil
	})
}

// TestCountingSurvivesUnsavedRestart: with a save interval longer than the
// test, only Close saves; the counts after a restart are still exact. (The
// interval only decides how much feed a crash replays; see counter.go.)
func TestCountingSurvivesUnsavedRestart(t *testing.T) {
	h := harness.Start(t, harness.Configure(func(c *server.Config) { c.MetricFilterSaveInterval = time.Hour }))
	c := h.Client()
	setupGroups(t, c)
	putFilters(t, c)
	w := newWorkload(3)
	for range 30 {
		w.batch(t, c)
	}
	w.check(t, h)
	h.Restart()
	c = h.Client()
	w.batch(t, c)
	w.check(t, h)
}

// TestMetricsAccess: with a token, /metrics wants it from every peer.
func TestMetricsAccess(t *testing.T) {
	h := harness.Start(t, harness.Configure(func(c *server.Config) { c.MetricsToken = "s3cret" }))
	get := func(auth string) int {
		req, _ := http.NewRequest("GET", h.URL()+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := h.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get(""); s != http.StatusUnauthorized {
		t.Fatalf("no token: %d", s)
	}
	if s := get("Bearer wrong"); s != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", s)
	}
	if s := get("Bearer s3cret"); s != http.StatusOK {
		t.Fatalf("right token: %d", s)
	}
}
