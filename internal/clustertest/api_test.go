package clustertest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/cairnlog/cairn/internal/delivery"
	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/pgtest"
	"github.com/cairnlog/cairn/internal/server"
)

const fileARN = "arn:aws:lambda:us-east-1:000000000000:function:to-file"

// rr hands out the nodes' clients in turn: no two consecutive requests of
// a test go to the same node.
type rr struct {
	cs []*cwl.Client
	i  int
}

func (r *rr) next() *cwl.Client {
	c := r.cs[r.i%len(r.cs)]
	r.i++
	return c
}

// TestThreeNodes is the black-box API suite on a 3-node cluster over one
// PostgreSQL database, requests spread over the nodes in turn: groups
// (create, the duplicate refused by another node, describe, retention,
// delete), streams, PutLogEvents, GetLogEvents and FilterLogEvents with
// their pagination tokens carried from one node to the next, Live Tail on
// one node of events put through the others, a subscription filter put
// through one node delivering every matching event exactly once, and a
// metric filter counting every matching event exactly once across the
// cluster. Expected results are computed by the test from what it sent.
func TestThreeNodes(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	out := filepath.Join(t.TempDir(), "delivered.jsonl")
	sinks := harness.Configure(func(c *server.Config) {
		c.Sinks = map[string]delivery.SinkConfig{fileARN: {File: &delivery.FileConfig{Path: out}}}
	})
	var nodes []*harness.Server
	for range 3 {
		nodes = append(nodes, harness.Start(t, harness.WithStore(url), sinks))
	}
	r := &rr{}
	for _, n := range nodes {
		r.cs = append(r.cs, n.Client())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Groups.
	for _, g := range []string{"/app/api", "/app/web", "/tmp/scratch"} {
		if _, err := r.next().CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
			t.Fatal(err)
		}
	}
	var exists *types.ResourceAlreadyExistsException
	if _, err := r.next().CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/app/api")}); !errors.As(err, &exists) {
		t.Fatalf("a group another node created, created again: %v", err)
	}
	if _, err := r.next().PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("/app/web"), RetentionInDays: aws.Int32(30)}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.next().DeleteLogGroup(ctx, &cwl.DeleteLogGroupInput{LogGroupName: aws.String("/tmp/scratch")}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		d, err := r.next().DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/")})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, g := range d.LogGroups {
			names = append(names, aws.ToString(g.LogGroupName))
			if aws.ToString(g.LogGroupName) == "/app/web" && aws.ToInt32(g.RetentionInDays) != 30 {
				t.Fatalf("retention of /app/web: %v", g.RetentionInDays)
			}
		}
		if !slices.Equal(names, []string{"/app/api", "/app/web"}) {
			t.Fatalf("DescribeLogGroups: %v", names)
		}
	}

	// Streams.
	for _, s := range []string{"a", "b", "c"} {
		if _, err := r.next().CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("/app/api"), LogStreamName: aws.String(s)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.next().CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("/app/api"), LogStreamName: aws.String("b")}); !errors.As(err, &exists) {
		t.Fatalf("a stream another node created, created again: %v", err)
	}
	ds, err := r.next().DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("/app/api")})
	if err != nil || len(ds.LogStreams) != 3 {
		t.Fatalf("DescribeLogStreams: %+v %v", ds, err)
	}

	// The subscription and metric filters, each put through one node.
	if _, err := r.next().PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("/app/api"),
		FilterName: aws.String("errors"), FilterPattern: aws.String("ERROR"), DestinationArn: aws.String(fileARN)}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.next().PutMetricFilter(ctx, &cwl.PutMetricFilterInput{LogGroupName: aws.String("/app/api"), FilterName: aws.String("errs"),
		FilterPattern: aws.String("ERROR"), MetricTransformations: []types.MetricTransformation{{MetricName: aws.String("Errors"),
			MetricNamespace: aws.String("Cluster"), MetricValue: aws.String("1")}}}); err != nil {
		t.Fatal(err)
	}
	mf, err := r.next().DescribeMetricFilters(ctx, &cwl.DescribeMetricFiltersInput{LogGroupName: aws.String("/app/api")})
	if err != nil || len(mf.MetricFilters) != 1 {
		t.Fatalf("DescribeMetricFilters on another node: %+v %v", mf, err)
	}
	// Every node follows the subscription filter (they reload filters) before
	// events are sent, so delivery starts from the filter's beginning.
	harness.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		for i, n := range nodes {
			if len(n.Delivery().Stats()) != 1 {
				return fmt.Errorf("node %d follows %d filters", i, len(n.Delivery().Stats()))
			}
		}
		return nil
	})

	// Live Tail on node 2 of what nodes 0 and 1 put.
	tail, err := nodes[2].Client().StartLiveTail(ctx, &cwl.StartLiveTailInput{
		LogGroupIdentifiers: []string{"arn:aws:logs:us-east-1:000000000000:log-group:/app/api"}, LogEventFilterPattern: aws.String("ERROR")})
	if err != nil {
		t.Fatal(err)
	}
	ts := tail.GetStream()
	defer ts.Close()
	tailed := make(chan string, 1000)
	started := make(chan struct{})
	go func() {
		defer close(tailed)
		for e := range ts.Events() {
			switch v := e.(type) {
			case *types.StartLiveTailResponseStreamMemberSessionStart:
				close(started)
			case *types.StartLiveTailResponseStreamMemberSessionUpdate:
				for _, res := range v.Value.SessionResults {
					tailed <- aws.ToString(res.Message)
				}
			}
		}
	}()
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("no Live Tail session start")
	}

	// Events: 12 batches over the 3 streams, each batch through the next node.
	base := time.Now().Add(-time.Hour).UnixMilli()
	var all, errs []string
	for b := range 12 {
		var evs []types.InputLogEvent
		for i := range 40 {
			msg := fmt.Sprintf("INFO b%02d i%02d ok", b, i)
			if (b*40+i)%9 == 4 {
				msg = fmt.Sprintf("ERROR b%02d i%02d failed", b, i)
				errs = append(errs, msg)
			}
			all = append(all, msg)
			evs = append(evs, types.InputLogEvent{Timestamp: aws.Int64(base + int64(b*40+i)), Message: aws.String(msg)})
		}
		stream := []string{"a", "b", "c"}[b%3]
		if _, err := r.next().PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("/app/api"), LogStreamName: aws.String(stream), LogEvents: evs}); err != nil {
			t.Fatal(err)
		}
	}

	// FilterLogEvents over the group, 25 a page, each page from the next
	// node with the token the previous node gave.
	var filtered []string
	in := &cwl.FilterLogEventsInput{LogGroupName: aws.String("/app/api"), FilterPattern: aws.String("ERROR"), Limit: aws.Int32(25)}
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("FilterLogEvents never ended")
		}
		f, err := r.next().FilterLogEvents(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range f.Events {
			filtered = append(filtered, aws.ToString(e.Message))
		}
		if f.NextToken == nil {
			break
		}
		in.NextToken = f.NextToken
	}
	if !slices.Equal(filtered, errs) {
		t.Fatalf("FilterLogEvents across nodes: %d events, want %d", len(filtered), len(errs))
	}
	// GetLogEvents of stream b, 30 a page, forward tokens carried over nodes.
	var wantB []string
	for b := 1; b < 12; b += 3 {
		wantB = append(wantB, all[b*40:(b+1)*40]...)
	}
	var gotB []string
	gin := &cwl.GetLogEventsInput{LogGroupName: aws.String("/app/api"), LogStreamName: aws.String("b"), StartFromHead: aws.Bool(true), Limit: aws.Int32(30)}
	for pages := 0; pages < 100; pages++ {
		g, err := r.next().GetLogEvents(ctx, gin)
		if err != nil {
			t.Fatal(err)
		}
		if len(g.Events) == 0 {
			break
		}
		for _, e := range g.Events {
			gotB = append(gotB, aws.ToString(e.Message))
		}
		gin.NextToken = g.NextForwardToken
	}
	if !slices.Equal(gotB, wantB) {
		t.Fatalf("GetLogEvents across nodes: %d events, want %d", len(gotB), len(wantB))
	}

	// Live Tail saw every ERROR event.
	var seen []string
	timeout := time.After(30 * time.Second)
	for len(seen) < len(errs) {
		select {
		case m, ok := <-tailed:
			if !ok {
				t.Fatalf("live tail ended after %d of %d: %v", len(seen), len(errs), ts.Err())
			}
			seen = append(seen, m)
		case <-timeout:
			t.Fatalf("live tail saw %d of %d events", len(seen), len(errs))
		}
	}
	slices.Sort(seen)
	sortedErrs := slices.Clone(errs)
	slices.Sort(sortedErrs)
	if !slices.Equal(seen, sortedErrs) {
		t.Fatalf("live tail: %v", seen)
	}

	// The subscription delivered each ERROR event once (the file sink's
	// lines, read by the test).
	harness.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		got, err := deliveredMessages(out)
		if err != nil {
			return err
		}
		slices.Sort(got)
		if !slices.Equal(got, sortedErrs) {
			return fmt.Errorf("delivered %d events, want %d", len(got), len(errs))
		}
		return nil
	})
	// The metric filter counted each ERROR event once across the cluster.
	harness.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		var sum float64
		for _, n := range nodes {
			sum += metricSum(t, n, "cairn_log_metric_errors", map[string]string{"namespace": "Cluster", "metric_name": "Errors"})
		}
		if sum != float64(len(errs)) {
			return fmt.Errorf("metric filter counted %v across the nodes, want %d", sum, len(errs))
		}
		return nil
	})
}

// deliveredMessages reads the file sink: one subscription record (JSON) a
// line.
func deliveredMessages(path string) ([]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var rec struct {
			MessageType string `json:"messageType"`
			LogEvents   []struct {
				Message string `json:"message"`
			} `json:"logEvents"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, err
		}
		if rec.MessageType != "DATA_MESSAGE" {
			continue
		}
		for _, e := range rec.LogEvents {
			out = append(out, e.Message)
		}
	}
	return out, sc.Err()
}

// metricSum is a node's value of a metric-filter series on /metrics (0
// when the node has none: it does not hold the counting lease).
func metricSum(t testing.TB, h *harness.Server, family string, want map[string]string) float64 {
	t.Helper()
	resp, err := h.HTTPClient().Get(h.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	f := fams[family]
	if f == nil {
		return 0
	}
	var sum float64
next:
	for _, m := range f.Metric {
		for _, l := range m.Label {
			if v, ok := want[l.GetName()]; ok && v != l.GetValue() {
				continue next
			}
		}
		sum += value(m)
	}
	return sum
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Summary != nil:
		return m.Summary.GetSampleSum()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return m.Histogram.GetSampleSum()
	}
	return 0
}
