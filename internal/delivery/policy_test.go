package delivery_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/cairnlog/cairn/internal/delivery"
	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/server"
)

// byGroup is what r received as DATA_MESSAGEs, per "group stream", with the
// policyLevel and filter names of each record.
func byGroup(r *receiver) (msgs map[string][]string, levels map[string]string) {
	msgs, levels = map[string][]string{}, map[string]string{}
	for _, p := range r.data() {
		if p.MessageType != "DATA_MESSAGE" {
			continue
		}
		k := p.LogGroup + " " + p.LogStream
		for _, e := range p.LogEvents {
			msgs[k] = append(msgs[k], e.Message)
		}
		levels[k] = fmt.Sprintf("%s %v", p.PolicyLevel, p.SubscriptionFilters)
	}
	return msgs, levels
}

// TestAccountPolicyDelivery: a SUBSCRIPTION_FILTER_POLICY delivers the
// matching events of every group it selects, with policyLevel
// ACCOUNT_LEVEL_POLICY and the policy's name in subscriptionFilters: from
// the policy's creation in a group that existed before it, from the first
// event in a group created after it, none from a group it excludes; after
// DeleteAccountPolicy nothing more.
func TestAccountPolicyDelivery(t *testing.T) {
	rcv := newReceiver(t)
	h := harness.Start(t, harness.Configure(func(c *server.Config) {
		c.Sinks = map[string]delivery.SinkConfig{lambdaARN: {HTTP: &delivery.HTTPConfig{URL: rcv.srv.URL}}}
	}))
	c := h.Client()
	ctx := context.Background()
	setup(t, c, "/app/old", "s")
	setup(t, c, "/app/skip", "s")
	put(t, c, "/app/old", "s", now(), "ERROR before the policy")
	doc := fmt.Sprintf(`{"DestinationArn":%q,"FilterPattern":"ERROR","Distribution":"Random"}`, lambdaARN)
	if _, err := c.PutAccountPolicy(ctx, &cwl.PutAccountPolicyInput{PolicyName: aws.String("everything"), PolicyType: types.PolicyTypeSubscriptionFilterPolicy,
		PolicyDocument: aws.String(doc), SelectionCriteria: aws.String(`LogGroupName NOT IN ["/app/skip"]`)}); err != nil {
		t.Fatal(err)
	}
	// The existing group's follower must be running before its events are
	// written (it starts at the feed's end, as AWS's filters do).
	harness.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		for _, s := range h.Delivery().Stats() {
			if s.LogGroup == "/app/old" && s.FilterName == "everything" && s.Cursor > 0 {
				return nil
			}
		}
		return fmt.Errorf("no follower for /app/old: %+v", h.Delivery().Stats())
	})
	put(t, c, "/app/old", "s", now(), "ERROR one", "INFO no", "ERROR two")
	put(t, c, "/app/skip", "s", now(), "ERROR excluded")
	setup(t, c, "/app/new", "s") // created after the policy: its first events are delivered
	put(t, c, "/app/new", "s", now(), "ERROR first", "ERROR second")
	want := map[string][]string{"/app/old s": {"ERROR one", "ERROR two"}, "/app/new s": {"ERROR first", "ERROR second"}}
	harness.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		got, _ := byGroup(rcv)
		for k, w := range want {
			if err := equalLists(got[k], w); err != nil {
				return fmt.Errorf("%s: %v", k, err)
			}
		}
		return nil
	})
	got, levels := byGroup(rcv)
	if len(got) != 2 {
		t.Fatalf("delivered from %v, want only /app/old and /app/new", got)
	}
	for k, l := range levels {
		if l != "ACCOUNT_LEVEL_POLICY [everything]" {
			t.Errorf("%s: policyLevel and filters %q", k, l)
		}
	}
	if _, err := c.DeleteAccountPolicy(ctx, &cwl.DeleteAccountPolicyInput{PolicyName: aws.String("everything"),
		PolicyType: types.PolicyTypeSubscriptionFilterPolicy}); err != nil {
		t.Fatal(err)
	}
	harness.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if n := len(h.Delivery().Stats()); n != 0 {
			return fmt.Errorf("%d followers left", n)
		}
		return nil
	})
	before := len(rcv.data())
	put(t, c, "/app/old", "s", now(), "ERROR after the delete")
	// A group-level filter still delivers (the account policy's follower is
	// gone, so the record it would have sent cannot arrive after this one).
	if _, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("/app/old"), FilterName: aws.String("own"),
		FilterPattern: aws.String(""), DestinationArn: aws.String(lambdaARN)}); err != nil {
		t.Fatal(err)
	}
	put(t, c, "/app/old", "s", now(), "ERROR marker")
	harness.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		for _, p := range rcv.data()[before:] {
			for _, e := range p.LogEvents {
				if e.Message == "ERROR marker" {
					return nil
				}
			}
		}
		return fmt.Errorf("marker not delivered")
	})
	for _, p := range rcv.data()[before:] {
		for _, e := range p.LogEvents {
			if e.Message == "ERROR after the delete" {
				t.Errorf("delivered after DeleteAccountPolicy: %+v", p)
			}
		}
		if p.PolicyLevel != "" {
			t.Errorf("a group-level filter's record has policyLevel %q", p.PolicyLevel)
		}
	}
}

// TestApplyOnTransformedLogs: a subscription filter created with
// applyOnTransformedLogs matches and delivers the transformed version of each
// event (the grok processor's JSON); one created without it, the stored
// original.
func TestApplyOnTransformedLogs(t *testing.T) {
	rcv := newReceiver(t)
	h := harness.Start(t, harness.Configure(func(c *server.Config) {
		c.Sinks = map[string]delivery.SinkConfig{lambdaARN: {HTTP: &delivery.HTTPConfig{URL: rcv.srv.URL}}}
	}))
	c := h.Client()
	ctx := context.Background()
	for _, g := range []string{"/app/tr", "/app/plain"} {
		setup(t, c, g, "s")
		if _, err := c.PutTransformer(ctx, &cwl.PutTransformerInput{LogGroupIdentifier: aws.String(g), TransformerConfig: []types.Processor{
			{Grok: &types.Grok{Match: aws.String("%{WORD:level} %{GREEDYDATA:rest}")}}}}); err != nil {
			t.Fatal(err)
		}
	}
	// On the transformed version, the JSON pattern matches; on the
	// original ("ERROR disk full") a JSON pattern never does, so the plain
	// group's filter uses a term instead.
	if _, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("/app/tr"), FilterName: aws.String("t"),
		FilterPattern: aws.String(`{ $.level = "ERROR" }`), DestinationArn: aws.String(lambdaARN), ApplyOnTransformedLogs: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("/app/plain"), FilterName: aws.String("p"),
		FilterPattern: aws.String("ERROR"), DestinationArn: aws.String(lambdaARN)}); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"/app/tr", "/app/plain"} {
		put(t, c, g, "s", now(), "ERROR disk full", "INFO fine", "ERROR cpu hot")
	}
	harness.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		got, _ := byGroup(rcv)
		if len(got["/app/tr s"]) != 2 || len(got["/app/plain s"]) != 2 {
			return fmt.Errorf("received %v", got)
		}
		return nil
	})
	got, _ := byGroup(rcv)
	if err := equalLists(got["/app/plain s"], []string{"ERROR disk full", "ERROR cpu hot"}); err != nil {
		t.Errorf("plain: %v", err)
	}
	for i, want := range []string{"disk full", "cpu hot"} {
		var doc map[string]any
		if err := json.Unmarshal([]byte(got["/app/tr s"][i]), &doc); err != nil || doc["level"] != "ERROR" || doc["rest"] != want {
			t.Errorf("transformed event %d: %q (%v)", i, got["/app/tr s"][i], err)
		}
	}
	// /metrics, read with Prometheus' parser: two events delivered by each
	// filter, nothing retried or failed, caught up. The receiver has the
	// events before the follower has its acknowledgement (and counts it),
	// so the figures are polled until they are there.
	harness.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		resp, err := h.HTTPClient().Get(h.URL() + "/metrics")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var parser expfmt.TextParser
		fams, err := parser.TextToMetricFamilies(resp.Body)
		if err != nil {
			return err
		}
		value := func(family, filter string) (float64, bool) {
			f := fams[family]
			if f == nil {
				return 0, false
			}
			for _, m := range f.Metric {
				labels := map[string]string{}
				for _, l := range m.Label {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["filter_name"] == filter && labels["destination_arn"] == lambdaARN && labels["account"] == "000000000000" {
					if m.Counter != nil {
						return m.Counter.GetValue(), f.GetType() == dto.MetricType_COUNTER
					}
					return m.Gauge.GetValue(), f.GetType() == dto.MetricType_GAUGE
				}
			}
			return 0, false
		}
		var errs []error
		for _, filter := range []string{"t", "p"} {
			for family, want := range map[string]float64{"cairn_subscription_delivered_events_total": 2, "cairn_subscription_retries_total": 0,
				"cairn_subscription_failed_events_total": 0, "cairn_subscription_waiting_for_sink": 0} {
				if v, ok := value(family, filter); !ok || v != want {
					errs = append(errs, fmt.Errorf("%s{filter_name=%q} = %v (found with its type: %v), want %v", family, filter, v, ok, want))
				}
			}
			if v, ok := value("cairn_subscription_delivered_records_total", filter); !ok || v < 1 {
				errs = append(errs, fmt.Errorf("delivered records of %s: %v %v", filter, v, ok))
			}
			if _, ok := value("cairn_subscription_lag_seconds", filter); !ok {
				errs = append(errs, fmt.Errorf("no lag gauge for %s", filter))
			}
		}
		return errors.Join(errs...)
	})
}
