package delivery

import "github.com/cairnlog/cairn/internal/metrics"

// Collect reports every follower's Stats as Prometheus families (the
// server registers the Manager on its /metrics registry): counters for what
// was delivered, retried and recorded as failed, gauges for the lag and for
// a destination waiting for its sink. Throughput is the rate of
// cairn_subscription_delivered_events_total. Each series is labelled by
// account, region, log_group, filter_name and destination_arn (a group
// has at most two filters and an account-level policy, so the series stay
// few).
func (m *Manager) Collect(emit func(metrics.Family)) {
	stats := m.Stats()
	type def struct {
		name, help string
		typ        metrics.Type
		value      func(s *FilterStats) float64
	}
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	defs := []def{
		{"cairn_subscription_delivered_events_total", "Log events delivered (acknowledged by the destination) per subscription filter.", metrics.Counter,
			func(s *FilterStats) float64 { return float64(s.DeliveredEvents) }},
		{"cairn_subscription_delivered_records_total", "Records (one per log stream and batch) delivered per subscription filter.", metrics.Counter,
			func(s *FilterStats) float64 { return float64(s.DeliveredRecords) }},
		{"cairn_subscription_delivered_bytes_total", "Bytes delivered per subscription filter, as its destination counts a record (the payload it is sent).", metrics.Counter,
			func(s *FilterStats) float64 { return float64(s.DeliveredBytes) }},
		{"cairn_subscription_retries_total", "Deliveries retried after a retryable failure (throttling, 5xx, network, no sink yet).", metrics.Counter,
			func(s *FilterStats) float64 { return float64(s.Retries) }},
		{"cairn_subscription_failed_events_total", "Log events recorded as failed (non-retryable, or past the 24-hour retry window) in the error log group.", metrics.Counter,
			func(s *FilterStats) float64 { return float64(s.FailedEvents) }},
		{"cairn_subscription_failed_records_total", "Records recorded as failed in the error log group.", metrics.Counter,
			func(s *FilterStats) float64 { return float64(s.FailedRecords) }},
		{"cairn_subscription_lag_seconds", "Age of the oldest event not yet delivered (0 when caught up).", metrics.Gauge,
			func(s *FilterStats) float64 { return s.LagSeconds }},
		{"cairn_subscription_waiting_for_sink", "1 while the filter's destination ARN has no sink configured (its events wait at the cursor).", metrics.Gauge,
			func(s *FilterStats) float64 { return b2f(s.Waiting) }},
	}
	for _, d := range defs {
		f := metrics.Family{Name: d.name, Help: d.help, Type: d.typ, Samples: make([]metrics.Sample, 0, len(stats))}
		for i := range stats {
			s := &stats[i]
			f.Samples = append(f.Samples, metrics.Sample{Value: d.value(s), Labels: []metrics.Label{
				{Name: "account", Value: s.Account}, {Name: "region", Value: s.Region}, {Name: "log_group", Value: s.LogGroup},
				{Name: "filter_name", Value: s.FilterName}, {Name: "destination_arn", Value: s.DestinationARN}}})
		}
		emit(f)
	}
}
