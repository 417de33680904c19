package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/prometheus/common/expfmt"

	"github.com/cairnlog/cairn/internal/harness"
)

// TestMetricFilterCountSurvivesKill: the real binary counts two metric
// filters (every event, and the sum of a JSON field) while it ingests, is
// killed with SIGKILL right after a burst of acknowledged batches (its
// counters were last saved up to a second before), and restarted on the
// same directory, CAIRN_METRIC_KILL_CYCLES times (default 1). Counters and
// the feed position they include are one record, so the restart replays
// only what that record does not hold: the counts end exactly at what the
// test sent (computed here), never above, and stay so across a clean
// restart.
func TestMetricFilterCountSurvivesKill(t *testing.T) {
	data := t.TempDir()
	srv := startServerOn(t, data)
	c := srv.logs(defaultRegion)
	cx := ctx(t)
	group := "/e2e/counted"
	create(t, c, group, "s")
	for _, f := range []struct{ name, pattern, value string }{{"all", "", "1"}, {"sum", `{ $.n > 0 }`, "$.n"}} {
		if _, err := c.PutMetricFilter(cx, &cloudwatchlogs.PutMetricFilterInput{LogGroupName: aws.String(group), FilterName: aws.String(f.name),
			FilterPattern: aws.String(f.pattern), MetricTransformations: []types.MetricTransformation{{MetricName: aws.String(f.name),
				MetricNamespace: aws.String("E2E"), MetricValue: aws.String(f.value)}}}); err != nil {
			t.Fatal(err)
		}
	}
	events, sum := 0, 0
	putBatch := func(c *cloudwatchlogs.Client) {
		t.Helper()
		evs := make([]types.InputLogEvent, 250)
		batchSum := 0
		ts := nowMS()
		for i := range evs {
			n := (events+i)%7 + 1
			batchSum += n
			evs[i] = types.InputLogEvent{Message: aws.String(`{"n":` + strconv.Itoa(n) + `,"i":` + strconv.Itoa(events+i) + `}`), Timestamp: aws.Int64(ts)}
		}
		if _, err := c.PutLogEvents(cx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
			t.Fatal(err)
		}
		events += len(evs)
		sum += batchSum
	}
	counts := func(s *server) (all, total, count float64, err error) {
		resp, err := http.Get(s.url + "/metrics")
		if err != nil {
			return 0, 0, 0, err
		}
		defer resp.Body.Close()
		var p expfmt.TextParser
		fams, err := p.TextToMetricFamilies(resp.Body)
		if err != nil {
			return 0, 0, 0, err
		}
		if f := fams["cairn_log_metric_all"]; f != nil && len(f.Metric) == 1 {
			all = float64(f.Metric[0].Summary.GetSampleCount())
		}
		if f := fams["cairn_log_metric_sum"]; f != nil && len(f.Metric) == 1 {
			total, count = f.Metric[0].Summary.GetSampleSum(), float64(f.Metric[0].Summary.GetSampleCount())
		}
		return all, total, count, nil
	}
	exact := func(s *server, when string) {
		t.Helper()
		harness.CheckFor(t, 60*time.Second, 50*time.Millisecond, func() error {
			all, total, count, err := counts(s)
			if err != nil {
				return err
			}
			if all > float64(events) || count > float64(events) || total > float64(sum) {
				t.Fatalf("%s: counted %v events (%v, sum %v), more than the %d sent (sum %d): double counting", when, all, count, total, events, sum)
			}
			if all != float64(events) || count != float64(events) || total != float64(sum) {
				return fmt.Errorf("%s: counted %v and %v of %d events, sum %v of %d", when, all, count, events, total, sum)
			}
			return nil
		})
	}
	cycles := envInt(t, "CAIRN_METRIC_KILL_CYCLES", 1)
	for cycle := range cycles {
		for range 40 {
			putBatch(c)
		}
		srv.kill()
		srv = startServerOn(t, data)
		c = srv.logs(defaultRegion)
		exact(srv, fmt.Sprintf("after kill %d", cycle+1))
	}
	for range 4 {
		putBatch(c)
	}
	exact(srv, "after the last batches")
	srv.stop()
	srv = startServerOn(t, data)
	exact(srv, "after a clean restart")
	t.Logf("%d kill cycles: %d events, sum %d, counted exactly", cycles, events, sum)
}
