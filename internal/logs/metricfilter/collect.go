package metricfilter

import (
	"slices"
	"strings"

	"github.com/cairnlog/cairn/internal/metrics"
)

// How a CloudWatch metric becomes Prometheus series.
//
// A metric filter publishes to the CloudWatch metric (namespace, metric
// name, dimensions) in its account and region; CloudWatch keeps the sum and
// the sample count of the datapoints, and so does Cairn, as a Prometheus
// summary without quantiles:
//
//	cairn_log_metric_<metric>[_<unit>]_sum{account, region, namespace, metric_name, <dimensions>}
//	cairn_log_metric_<metric>[_<unit>]_count{...}
//
// <metric> is the metric name in snake case (metrics.SnakeCase: ErrorCount
// → error_count); the namespace and the exact metric name are labels, so
// two CloudWatch metrics that snake-case alike stay distinct series. The
// unit becomes the suffix Prometheus' conventions ask for: time units are
// converted to seconds (_seconds; values scaled), the others keep their
// own unit as the suffix (Bytes → _bytes, Kilobytes/Second →
// _kilobytes_per_second, Percent → _percent), Count and None add nothing.
// Each dimension is a label named by its snake-cased name (Service →
// service; @aws.region → aws_region), prefixed "dimension_" when that would
// take one of the fixed labels. Filters that publish to the same metric,
// from any log groups, add into one series, as CloudWatch adds them.

// MetricName is the Prometheus family name of a CloudWatch metric with a
// unit, and the factor its values are multiplied by.
func MetricName(metric, unit string) (string, float64) {
	name := "cairn_log_metric_" + metrics.SnakeCase(metric)
	scale := 1.0
	switch unit {
	case "", "None", "Count":
	case "Seconds":
		name += "_seconds"
	case "Milliseconds":
		name, scale = name+"_seconds", 1e-3
	case "Microseconds":
		name, scale = name+"_seconds", 1e-6
	default:
		name += "_" + metrics.SnakeCase(strings.ReplaceAll(unit, "/", " per "))
	}
	return name, scale
}

var fixedLabels = []string{"account", "region", "namespace", "metric_name"}

// dimensionLabel is a dimension's label name.
func dimensionLabel(dim string) string {
	l := metrics.SnakeCase(dim)
	if strings.HasPrefix(l, "_") || slices.Contains(fixedLabels, l) || l == "le" || l == "quantile" {
		l = "dimension_" + strings.TrimPrefix(l, "_")
	}
	return l
}

type seriesID struct {
	family                         string
	account, region, ns, name, dim string
}

type agg struct {
	labels     []metrics.Label
	sum, count float64
}

// Collect implements metrics.Collector.
func (c *Counter) Collect(emit func(metrics.Family)) {
	c.mu.Lock()
	runs := make(map[gkey]*groupRun, len(c.groups))
	for k, r := range c.groups {
		runs[k] = r
	}
	c.mu.Unlock()
	series := map[seriesID]*agg{}
	filters := 0
	for k, r := range runs {
		r.mu.Lock()
		filters += len(r.filters)
		for _, f := range r.filters {
			fc := r.state.Filters[f.name]
			if fc == nil {
				continue
			}
			family, scale := MetricName(f.metric, f.unit)
			for _, s := range fc.Series {
				if len(s.Dims) != len(f.dims) {
					continue
				}
				var dimKey strings.Builder
				labels := []metrics.Label{{Name: "account", Value: k.scope.Account}, {Name: "region", Value: k.scope.Region},
					{Name: "namespace", Value: f.namespace}, {Name: "metric_name", Value: f.metric}}
				used := map[string]bool{}
				for i, d := range f.dims {
					l := dimensionLabel(d.name)
					for used[l] {
						l += "_"
					}
					used[l] = true
					labels = append(labels, metrics.Label{Name: l, Value: s.Dims[i]})
					dimKey.WriteString(d.name + "\x00" + s.Dims[i] + "\x00")
				}
				id := seriesID{family, k.scope.Account, k.scope.Region, f.namespace, f.metric, dimKey.String()}
				a := series[id]
				if a == nil {
					a = &agg{labels: labels}
					series[id] = a
				}
				a.sum += s.Sum * scale
				a.count += s.Count
			}
		}
		r.mu.Unlock()
	}
	byFamily := map[string][]seriesID{}
	for id := range series {
		byFamily[id.family] = append(byFamily[id.family], id)
	}
	for fam, ids := range byFamily {
		slices.SortFunc(ids, func(a, b seriesID) int {
			return strings.Compare(a.account+"\x00"+a.region+"\x00"+a.ns+"\x00"+a.name+"\x00"+a.dim,
				b.account+"\x00"+b.region+"\x00"+b.ns+"\x00"+b.name+"\x00"+b.dim)
		})
		f := metrics.Family{Name: fam, Type: metrics.Summary, Help: "A CloudWatch metric published by metric filters: sum and sample count of its datapoints."}
		for _, id := range ids {
			a := series[id]
			f.Samples = append(f.Samples,
				metrics.Sample{Suffix: "_sum", Labels: a.labels, Value: a.sum},
				metrics.Sample{Suffix: "_count", Labels: a.labels, Value: a.count})
		}
		emit(f)
	}
	emit(metrics.Family{Name: "cairn_metric_filters", Type: metrics.Gauge, Help: "Metric filters being counted.",
		Samples: []metrics.Sample{{Value: float64(filters)}}})
	emit(metrics.Family{Name: "cairn_metric_filter_dropped_datapoints_total", Type: metrics.Counter,
		Help:    "Datapoints dropped because their filter already had the maximum number of dimension combinations.",
		Samples: []metrics.Sample{{Value: float64(c.dropped.Load())}}})
}
