package delivery_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/delivery"
	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/server"
)

const lambdaARN = "arn:aws:lambda:us-east-1:000000000000:function:fwd"

func statsOf(t testing.TB, h *harness.Server, filter string) delivery.FilterStats {
	t.Helper()
	for _, s := range h.Delivery().Stats() {
		if s.FilterName == filter {
			return s
		}
	}
	return delivery.FilterStats{}
}

// TestDeliveryHTTP: the whole road to an HTTP endpoint in Lambda's form:
// the control message first, only matching events, in order per stream,
// each exactly once; a destination down (503) then back loses nothing; a
// batch the destination refuses (400) is recorded in the error log group
// and counted, the rest delivered; a restart resumes from the cursor
// without redelivering.
func TestDeliveryHTTP(t *testing.T) {
	rcv := newReceiver(t)
	h := harness.Start(t, harness.Configure(func(c *server.Config) {
		c.Sinks = map[string]delivery.SinkConfig{lambdaARN: {HTTP: &delivery.HTTPConfig{URL: rcv.srv.URL}}}
	}))
	c := h.Client()
	ctx := context.Background()
	setup(t, c, "/app/web", "a", "b")
	put(t, c, "/app/web", "a", now(), "ERROR before the filter") // not delivered: AWS does not backfill
	if _, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("/app/web"), FilterName: aws.String("errors"),
		FilterPattern: aws.String("ERROR"), DestinationArn: aws.String(lambdaARN)}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	send := func(stream string, from, n int) {
		msgs := numbered("ERROR "+stream, from, n)
		all := []string{}
		for _, m := range msgs {
			all = append(all, m, "INFO noise")
		}
		put(t, c, "/app/web", stream, now(), all...)
		want[stream] = append(want[stream], msgs...)
	}
	// Once a long outage ends, the next retry can be up to MaxBackoff
	// (30 s) away: the long variant waits longer.
	wait := 20 * time.Second
	check := func() {
		t.Helper()
		harness.CheckFor(t, wait, 20*time.Millisecond, func() error {
			got := rcv.messages()
			for _, s := range []string{"a", "b"} {
				if err := equalLists(got[s], want[s]); err != nil {
					return fmt.Errorf("stream %s: %v", s, err)
				}
			}
			return nil
		})
	}
	send("a", 0, 50)
	send("b", 0, 30)
	send("a", 50, 20)
	check()
	first := rcv.data()[0]
	if first.MessageType != "CONTROL_MESSAGE" || first.Owner != "CloudwatchLogs" || len(first.LogEvents) != 1 ||
		!strings.HasPrefix(first.LogEvents[0].Message, "CWL CONTROL MESSAGE: Checking health of destination") || first.LogEvents[0].ID != "" {
		t.Fatalf("first payload %+v", first)
	}
	for _, p := range rcv.data()[1:] {
		if p.MessageType != "DATA_MESSAGE" || p.Owner != "000000000000" || p.LogGroup != "/app/web" || !slices.Equal(p.SubscriptionFilters, []string{"errors"}) {
			t.Fatalf("payload %+v", p)
		}
		for _, e := range p.LogEvents {
			if len(e.ID) != 56 || e.Timestamp == 0 {
				t.Fatalf("event %+v", e)
			}
		}
	}

	// Down, then back. The short version: down until two retries failed.
	// CAIRN_DELIVERY_DOWN_SECONDS=60 is the long version: down for
	// that long while the writer keeps sending (a batch a second), the
	// backoff growing towards its cap; nothing is lost once it is back.
	rcv.set(http.StatusServiceUnavailable)
	send("b", 30, 10)
	harness.CheckFor(t, 20*time.Second, 10*time.Millisecond, func() error {
		if s := statsOf(t, h, "errors"); s.Retries < 2 || s.LagSeconds < 0 {
			return fmt.Errorf("retries %d", s.Retries)
		}
		return nil
	})
	extra := 0
	if v := os.Getenv("CAIRN_DELIVERY_DOWN_SECONDS"); v != "" {
		secs, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("CAIRN_DELIVERY_DOWN_SECONDS=%q: %v", v, err)
		}
		end := time.Now().Add(time.Duration(secs) * time.Second)
		for tick := time.NewTicker(time.Second); time.Now().Before(end); <-tick.C {
			send("b", 1000+extra, 1) // the outage's pace, not a synchronisation
			extra++
		}
		wait = 60 * time.Second
		t.Logf("destination down %d s: %d retries, lag %.1f s", secs, statsOf(t, h, "errors").Retries, statsOf(t, h, "errors").LagSeconds)
	}
	rcv.set(0)
	check()

	// One batch refused.
	rcv.mu.Lock()
	rcv.poison = "ERROR poison"
	rcv.mu.Unlock()
	put(t, c, "/app/web", "a", now(), "ERROR poison")
	send("a", 70, 5)
	check()
	harness.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		// The receiver has the events before Send returns and counts them.
		if s := statsOf(t, h, "errors"); s.FailedEvents != 1 || s.FailedRecords != 1 || s.DeliveredEvents != uint64(115+extra) {
			return fmt.Errorf("stats after the refused batch: %+v", s)
		}
		return nil
	})
	harness.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		out, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("/cairn/subscription-failures")})
		if err != nil {
			return err
		}
		if len(out.Events) != 1 {
			return fmt.Errorf("%d failure records", len(out.Events))
		}
		var rec struct {
			FilterName string `json:"filterName"`
			LogStream  string `json:"logStream"`
			Error      string `json:"error"`
			LogEvents  []struct {
				ID      string `json:"id"`
				Message string `json:"message"`
			} `json:"logEvents"`
		}
		if err := json.Unmarshal([]byte(aws.ToString(out.Events[0].Message)), &rec); err != nil {
			return err
		}
		if rec.FilterName != "errors" || rec.LogStream != "a" || !strings.Contains(rec.Error, "400") || len(rec.LogEvents) != 1 ||
			rec.LogEvents[0].Message != "ERROR poison" || len(rec.LogEvents[0].ID) != 56 {
			return fmt.Errorf("failure record %+v", rec)
		}
		return nil
	})

	// A restart resumes at the cursor: nothing again, nothing missed.
	h.Restart()
	c = h.Client()
	send("b", 40, 7)
	check()
	rcv.mu.Lock()
	rcv.poison = ""
	rcv.mu.Unlock()
	harness.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if got := statsOf(t, h, "errors"); got.DeliveredEvents != 7 {
			return fmt.Errorf("after restart: %+v", got)
		}
		return nil
	})
}

// TestNoSinkWaits: a filter whose ARN has no sink is accepted; its events
// wait at the cursor, shown as lag, and are not failed within the window.
func TestNoSinkWaits(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := context.Background()
	setup(t, c, "/app/api", "s")
	if _, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("/app/api"), FilterName: aws.String("k"),
		FilterPattern: aws.String(""), DestinationArn: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/nowhere"),
		RoleArn: aws.String("arn:aws:iam::000000000000:role/r")}); err != nil {
		t.Fatal(err)
	}
	put(t, c, "/app/api", "s", now()-2000, "one", "two")
	harness.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		s := statsOf(t, h, "k")
		if !s.Waiting || s.LagSeconds < 1 || s.Retries == 0 || s.FailedEvents != 0 || s.DeliveredEvents != 0 {
			return fmt.Errorf("stats %+v", s)
		}
		return nil
	})
	resp, err := h.HTTPClient().Get(h.URL() + "/cairn/subscriptions")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Filters []delivery.FilterStats }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Filters) != 1 || !body.Filters[0].Waiting {
		t.Fatalf("/cairn/subscriptions: %+v %v", body, err)
	}
}
