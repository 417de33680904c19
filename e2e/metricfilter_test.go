package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/cairnlog/cairn/internal/harness"
)

// TestBoto3MetricFilter: boto3's put_metric_filter / describe_metric_filters
// / delete_metric_filter against the real binary, the errors boto3 sees, and
// the filter's count on the binary's /metrics (parsed with Prometheus'
// parser).
func TestBoto3MetricFilter(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	var out struct {
		Describe struct {
			MetricFilters []struct {
				FilterName            string `json:"filterName"`
				MetricTransformations []struct {
					MetricName   string   `json:"metricName"`
					Unit         string   `json:"unit"`
					DefaultValue *float64 `json:"defaultValue"`
				} `json:"metricTransformations"`
			} `json:"metricFilters"`
		} `json:"describe"`
		Count      int          `json:"count"`
		NoGroup    *clientError `json:"no_group"`
		Two        *clientError `json:"two"`
		NoFilter   *clientError `json:"no_filter"`
		MetricOnly *clientError `json:"metric_only"`
	}
	boto3(t, srv, `
logs.create_log_group(logGroupName="bf")
logs.create_log_stream(logGroupName="bf", logStreamName="s")
logs.put_metric_filter(logGroupName="bf", filterName="errors", filterPattern="ERROR",
    metricTransformations=[{"metricName": "Errors", "metricNamespace": "Boto", "metricValue": "1", "unit": "Count", "defaultValue": 0}])
out["describe"] = logs.describe_metric_filters(logGroupName="bf", filterNamePrefix="err")
out["count"] = logs.describe_log_groups(logGroupNamePrefix="bf")["logGroups"][0]["metricFilterCount"]
logs.put_log_events(logGroupName="bf", logStreamName="s", logEvents=[
    {"timestamp": now, "message": "ERROR one"}, {"timestamp": now, "message": "fine"}, {"timestamp": now, "message": "ERROR two"}])
out["no_group"] = error_of(logs.put_metric_filter, logGroupName="nope", filterName="f", filterPattern="",
    metricTransformations=[{"metricName": "m", "metricNamespace": "n", "metricValue": "1"}])
out["two"] = error_of(logs.put_metric_filter, logGroupName="bf", filterName="f", filterPattern="",
    metricTransformations=[{"metricName": "m", "metricNamespace": "n", "metricValue": "1"}, {"metricName": "m2", "metricNamespace": "n", "metricValue": "1"}])
out["no_filter"] = error_of(logs.delete_metric_filter, logGroupName="bf", filterName="nope")
out["metric_only"] = error_of(logs.describe_metric_filters, metricName="Errors")
`, &out)
	fs := out.Describe.MetricFilters
	if len(fs) != 1 || fs[0].FilterName != "errors" || fs[0].MetricTransformations[0].Unit != "Count" || fs[0].MetricTransformations[0].DefaultValue == nil || out.Count != 1 {
		t.Fatalf("describe: %+v count %d", out.Describe, out.Count)
	}
	if out.NoGroup == nil || out.NoGroup.Code != "ResourceNotFoundException" || out.NoFilter == nil || out.NoFilter.Message != "The specified metric filter does not exist." ||
		out.Two == nil || !strings.Contains(out.Two.Message, "MetricTransformation(metricName=m, ") || out.MetricOnly == nil || out.MetricOnly.Code != "InvalidParameterException" {
		t.Fatalf("errors: %+v %+v %+v %+v", out.NoGroup, out.Two, out.NoFilter, out.MetricOnly)
	}
	// The two ERROR events, counted by the binary (polled with a deadline:
	// counting follows ingest).
	harness.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		resp, err := http.Get(srv.url + "/metrics")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var p expfmt.TextParser
		fams, err := p.TextToMetricFamilies(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if f := fams["cairn_log_metric_errors"]; f == nil || len(f.Metric) != 1 || f.Metric[0].Summary.GetSampleCount() != 2 || f.Metric[0].Summary.GetSampleSum() != 2 {
			return fmt.Errorf("cairn_log_metric_errors: %v", f)
		}
		return nil
	})
}
