package bench

// The pipeline benchmark (cairn bench --pipeline) measures what subscription
// filters and metric filters cost ingest, and how fast and how late
// subscription delivery is. Its parts here: the filters it puts (Prepare),
// waiting until every event was delivered or counted, reading the NATS
// JetStream stream and the file sink back, and the lag of every delivered
// event. The caller (internal/cli) spawns nats-server and the servers.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The destination ARNs the pipeline benchmark's filters name; the spawned
// server's configuration maps them to a NATS JetStream subject and a file.
const (
	PipelineNATSARN = "arn:aws:kinesis:us-east-1:000000000000:stream/cairn-bench"
	PipelineFileARN = "arn:aws:firehose:us-east-1:000000000000:deliverystream/cairn-bench"
	PipelineRoleARN = "arn:aws:iam::000000000000:role/cairn-bench"
	// PipelineCountMetric is the metric of the filter that counts every
	// event, which tells when counting caught up.
	PipelineCountMetric = "CairnBenchAll"
)

// pipelineMetricFilters are the kinds of metric filter users write (the
// same mix as internal/logs/metricfilter's ingest benchmark, on fields the
// generator's lines have): terms, JSON with a value and a dimension,
// space-delimited with a value, alternatives, a phrase.
var pipelineMetricFilters = []struct {
	pattern, value string
	dims           map[string]string
}{
	{"ERROR", "1", nil}, {"WARN", "1", nil}, {"timeout", "1", nil},
	{`{ $.level = "error" }`, "1", nil}, {`{ $.latency_ms >= 1000 }`, "1", map[string]string{"Level": "$.level"}},
	{`{ $.latency_ms > 100 }`, "$.latency_ms", nil}, {`{ $.level = "info" }`, "$.latency_ms", map[string]string{"Level": "$.level"}},
	{"[ip, id, user, ts, request, status=5*, bytes, ...]", "$bytes", nil}, {"?ERROR ?FATAL", "1", nil}, {`"cache miss"`, "1", nil},
}

// PipelinePrepare returns a Config.Prepare that puts, in every group, subs
// subscription filters (the first to NATS, the second to the file) and
// metrics metric filters plus, when metrics > 0, one counting every event.
func PipelinePrepare(groups []string, subs, metrics int) func(ctx context.Context, call func(ctx context.Context, op string, in any) error) error {
	return func(ctx context.Context, call func(ctx context.Context, op string, in any) error) error {
		for _, g := range groups {
			for i := 0; i < subs; i++ {
				name, arn := "to-nats", PipelineNATSARN
				if i == 1 {
					name, arn = "to-file", PipelineFileARN
				}
				if err := call(ctx, "PutSubscriptionFilter", map[string]any{"logGroupName": g, "filterName": name, "filterPattern": "",
					"destinationArn": arn, "roleArn": PipelineRoleARN}); err != nil {
					return fmt.Errorf("PutSubscriptionFilter: %w", err)
				}
			}
			for i := 0; i < metrics; i++ {
				p := pipelineMetricFilters[i%len(pipelineMetricFilters)]
				mt := map[string]any{"metricName": fmt.Sprint("Bench", i), "metricNamespace": "CairnBench", "metricValue": p.value}
				if p.dims != nil {
					mt["dimensions"] = p.dims
				}
				if err := call(ctx, "PutMetricFilter", map[string]any{"logGroupName": g, "filterName": fmt.Sprint("f", i),
					"filterPattern": p.pattern, "metricTransformations": []any{mt}}); err != nil {
					return fmt.Errorf("PutMetricFilter: %w", err)
				}
			}
			if metrics > 0 {
				if err := call(ctx, "PutMetricFilter", map[string]any{"logGroupName": g, "filterName": "all", "filterPattern": "",
					"metricTransformations": []any{map[string]any{"metricName": PipelineCountMetric, "metricNamespace": "CairnBench", "metricValue": "1"}}}); err != nil {
					return fmt.Errorf("PutMetricFilter: %w", err)
				}
			}
		}
		return nil
	}
}

// Delivered sums the deliveredEvents of the server's followers by filter
// name (GET /cairn/subscriptions).
func Delivered(ctx context.Context, endpoint string) (map[string]int64, error) {
	var out struct {
		Filters []struct {
			FilterName      string `json:"filterName"`
			DeliveredEvents int64  `json:"deliveredEvents"`
		} `json:"filters"`
	}
	if err := getJSON(ctx, strings.TrimRight(endpoint, "/")+"/cairn/subscriptions", &out); err != nil {
		return nil, err
	}
	m := map[string]int64{}
	for _, f := range out.Filters {
		m[f.FilterName] += f.DeliveredEvents
	}
	return m, nil
}

// Counted is how many events the counting filter of PipelinePrepare has
// counted over every group (GET /metrics).
func Counted(ctx context.Context, endpoint string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(endpoint, "/")+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("/metrics: %s", resp.Status)
	}
	var n float64
	prefix := "cairn_log_metric_cairn_bench_all_count{"
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, prefix) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			n += v
		}
	}
	return int64(n), sc.Err()
}

func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// WaitFor polls done every 20 ms until it reports true, ctx ends or timeout
// passes; it returns when the condition first held.
func WaitFor(ctx context.Context, timeout time.Duration, done func() (bool, error)) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := done()
		if ok {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("not done within %v", timeout)
			}
			return time.Time{}, err
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// SizeWatch samples a file's size every 5 ms, so the time each byte was
// written is known afterwards (to 5 ms) without reading the file while the
// benchmark runs.
type SizeWatch struct {
	path string
	mu   sync.Mutex
	at   []sizeAt
	stop chan struct{}
	done chan struct{}
}

type sizeAt struct {
	size int64
	t    int64 // Unix ns
}

// WatchSize starts sampling path; Stop ends it.
func WatchSize(path string) *SizeWatch {
	w := &SizeWatch{path: path, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		last := int64(-1)
		for {
			if fi, err := os.Stat(path); err == nil && fi.Size() != last {
				last = fi.Size()
				w.mu.Lock()
				w.at = append(w.at, sizeAt{last, time.Now().UnixNano()})
				w.mu.Unlock()
			}
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// Stop ends the sampling.
func (w *SizeWatch) Stop() { close(w.stop); <-w.done }

// when is the first sample that saw the file at least end bytes long.
func (w *SizeWatch) when(end int64) int64 {
	i, _ := slices.BinarySearchFunc(w.at, end, func(s sizeAt, e int64) int {
		switch {
		case s.size < e:
			return -1
		case s.size > e:
			return 1
		}
		return 0
	})
	if i == len(w.at) {
		return 0
	}
	return w.at[i].t
}

// DeliveryReport is what one sink received.
type DeliveryReport struct {
	Sink       string
	Records    int64
	Events     int64 // distinct events
	Duplicates int64
	Missing    int64
	// First and Last are when the first and the last record arrived.
	First, Last time.Time
	// Lag is arrival − the start of the PutLogEvents that carried the event.
	LagP50, LagP99, LagMax time.Duration
}

// Rate is the events delivered a second between the first and the last
// arrival.
func (d *DeliveryReport) Rate() float64 {
	if s := d.Last.Sub(d.First).Seconds(); s > 0 {
		return float64(d.Events) / s
	}
	return 0
}

type payload struct {
	MessageType string `json:"messageType"`
	LogEvents   []struct {
		Timestamp int64 `json:"timestamp"`
	} `json:"logEvents"`
}

// tally counts events per request and their lags.
type tally struct {
	rep    *Report
	counts []int32
	lags   []int64
	recs   int64
	first  int64
	last   int64
}

func newTally(rep *Report) *tally {
	return &tally{rep: rep, counts: make([]int32, rep.Workload.Requests()), lags: make([]int64, 0, rep.Events)}
}

// add takes one record's JSON, arrived at arrival (Unix ns).
func (t *tally) add(raw []byte, arrival int64) error {
	var p payload
	if err := json.Unmarshal(raw, &p); err != nil {
		return err
	}
	if p.MessageType != "DATA_MESSAGE" {
		return nil
	}
	t.recs++
	if t.first == 0 || arrival < t.first {
		t.first = arrival
	}
	t.last = max(t.last, arrival)
	w := t.rep.Workload
	for _, e := range p.LogEvents {
		// Batch n's timestamps lie in [FirstMs + n·BatchSize, FirstMs + (n+1)·BatchSize).
		n := (e.Timestamp - w.FirstMs) / int64(w.BatchSize)
		if n < 0 || n >= int64(len(t.counts)) {
			return fmt.Errorf("an event with timestamp %d belongs to no request", e.Timestamp)
		}
		t.counts[n]++
		if sent := t.rep.SentAt[n]; sent > 0 {
			t.lags = append(t.lags, arrival-sent)
		}
	}
	return nil
}

func (t *tally) report(sink string) *DeliveryReport {
	d := &DeliveryReport{Sink: sink, Records: t.recs, First: time.Unix(0, t.first), Last: time.Unix(0, t.last)}
	w := t.rep.Workload
	for n, c := range t.counts {
		want := int64(w.batchLen(int64(n)))
		d.Events += min(int64(c), want)
		d.Duplicates += max(0, int64(c)-want)
		d.Missing += max(0, want-int64(c))
	}
	if len(t.lags) > 0 {
		slices.Sort(t.lags)
		pct := func(p float64) time.Duration {
			return time.Duration(t.lags[min(len(t.lags)-1, int(p*float64(len(t.lags))))])
		}
		d.LagP50, d.LagP99, d.LagMax = pct(0.50), pct(0.99), time.Duration(t.lags[len(t.lags)-1])
	}
	return d
}

// ReadFileSink reads the file sink's lines (one JSON payload each), the
// arrival of each taken from w's samples.
func ReadFileSink(path string, w *SizeWatch, rep *Report) (*DeliveryReport, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := newTally(rep)
	r := bufio.NewReaderSize(f, 1<<20)
	var off int64
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			off += int64(len(line))
			if err := t.add(line, w.when(off)); err != nil {
				return nil, err
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	return t.report("file"), nil
}

// ReadNATSStream reads every message of a JetStream stream (gzip payloads),
// each one's arrival being the time JetStream stored it.
func ReadNATSStream(ctx context.Context, url, stream string, rep *Report) (*DeliveryReport, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	t := newTally(rep)
	var zr *gzip.Reader
	var buf bytes.Buffer
	for got := uint64(0); got < info.State.Msgs; {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			meta, err := m.Metadata()
			if err != nil {
				return nil, err
			}
			if zr == nil {
				zr, err = gzip.NewReader(bytes.NewReader(m.Data()))
			} else {
				err = zr.Reset(bytes.NewReader(m.Data()))
			}
			if err != nil {
				return nil, err
			}
			buf.Reset()
			if _, err := buf.ReadFrom(zr); err != nil {
				return nil, err
			}
			if err := t.add(buf.Bytes(), meta.Timestamp.UnixNano()); err != nil {
				return nil, err
			}
		}
		if err := batch.Error(); err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("JetStream stream %s: %d of %d messages read, then none", stream, got, info.State.Msgs)
		}
		got += uint64(n)
	}
	return t.report("nats"), nil
}
