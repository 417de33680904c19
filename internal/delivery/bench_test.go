package delivery_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/nats-io/nats.go"

	"github.com/cairnlog/cairn/internal/delivery"
	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/server"
)

// TestPipelineBenchmark is a benchmark, not a test: with
// CAIRN_PIPELINE_BENCH=1 it ingests at full speed (CAIRN_PIPELINE_EVENTS
// events, default 1,000,000, from 8 writers in batches of 1,000) into
// groups with 0 and then 2 subscription filters each (one to NATS
// JetStream, one to a file), and prints the ingest rates, the delivery rate
// to NATS and the end-to-end lag (PutLogEvents' timestamp to the NATS
// subscriber's receipt) p50/p99. docs/benchmarks.md has the figures.
func TestPipelineBenchmark(t *testing.T) {
	if os.Getenv("CAIRN_PIPELINE_BENCH") == "" {
		t.Skip("a benchmark: set CAIRN_PIPELINE_BENCH=1")
	}
	total := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("CAIRN_PIPELINE_EVENTS")); err == nil && v > 0 {
		total = v
	}
	natsURL := startNATS(t)
	natsARN := "arn:aws:kinesis:us-east-1:000000000000:stream/bench"
	fileARN := "arn:aws:firehose:us-east-1:000000000000:deliverystream/bench"
	h := harness.Start(t, harness.Configure(func(c *server.Config) {
		c.Sinks = map[string]delivery.SinkConfig{
			natsARN: {NATS: &delivery.NATSConfig{URL: natsURL, Subject: "bench", Stream: "BENCH"}},
			fileARN: {File: &delivery.FileConfig{Path: t.TempDir() + "/out.ndjson"}},
		}
	}))
	c := h.Client()
	ctx := context.Background()
	const writers, batch = 8, 1000
	msg := "2026-02-05T16:26:17.833Z INFO request handled path=/api/v1/items status=200 duration_ms=12 user=u-12345"
	ingest := func(prefix string) time.Duration {
		for w := range writers {
			setup(t, c, fmt.Sprintf("%s-%d", prefix, w), "s")
		}
		return 0
	}
	run := func(prefix string) (time.Duration, int) {
		var wg sync.WaitGroup
		per := total / writers / batch
		start := time.Now()
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				g := fmt.Sprintf("%s-%d", prefix, w)
				evs := make([]types.InputLogEvent, batch)
				for range per {
					ts := time.Now().UnixMilli()
					for i := range evs {
						evs[i] = types.InputLogEvent{Message: aws.String(msg), Timestamp: aws.Int64(ts)}
					}
					if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(g), LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(start), per * batch * writers
	}
	ingest("plain")
	plainTime, n := run("plain")

	ingest("sub")
	for w := range writers {
		g := fmt.Sprintf("sub-%d", w)
		for name, arn := range map[string]string{"nats": natsARN, "file": fileARN} {
			if _, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String(g), FilterName: aws.String(name),
				FilterPattern: aws.String(""), DestinationArn: aws.String(arn), RoleArn: aws.String("arn:aws:iam::000000000000:role/r")}); err != nil {
				t.Fatal(err)
			}
		}
	}
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var mu sync.Mutex
	var lags []int64
	var got atomic.Int64
	var first, last atomic.Int64
	sub, err := nc.Subscribe("bench", func(m *nats.Msg) {
		recv := time.Now().UnixMilli()
		r, err := gzip.NewReader(bytes.NewReader(m.Data))
		if err != nil {
			return
		}
		raw, _ := io.ReadAll(r)
		var p payload
		json.Unmarshal(raw, &p)
		if p.MessageType != "DATA_MESSAGE" {
			return
		}
		mu.Lock()
		for _, e := range p.LogEvents {
			lags = append(lags, recv-e.Timestamp)
		}
		mu.Unlock()
		first.CompareAndSwap(0, recv)
		last.Store(recv)
		got.Add(int64(len(p.LogEvents)))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	sub.SetPendingLimits(-1, -1)
	// Let the followers start (their control messages) before the clock runs.
	harness.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		if len(h.Delivery().Stats()) != 2*writers {
			return fmt.Errorf("%d followers", len(h.Delivery().Stats()))
		}
		return nil
	})
	subTime, n2 := run("sub")
	harness.CheckFor(t, 5*time.Minute, 50*time.Millisecond, func() error {
		if g := got.Load(); g < int64(n2) {
			return fmt.Errorf("%d of %d at NATS", g, n2)
		}
		return nil
	})
	mu.Lock()
	slices.Sort(lags)
	p50, p99 := lags[len(lags)/2], lags[len(lags)*99/100]
	mu.Unlock()
	span := time.Duration(last.Load()-first.Load()) * time.Millisecond
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("events %d; ingest without filters %.0f ev/s; with 2 filters per group %.0f ev/s (%.1f%% slower); NATS delivery %.0f ev/s over %v; lag p50 %d ms, p99 %d ms; loadavg %s",
		n, float64(n)/plainTime.Seconds(), float64(n2)/subTime.Seconds(), 100*(subTime.Seconds()/plainTime.Seconds()-1),
		float64(n2)/span.Seconds(), span, p50, p99, bytes.TrimSpace(load))
}
