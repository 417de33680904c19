package delivery_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/delivery"
	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/pgtest"
	"github.com/cairnlog/cairn/internal/server"
)

// TestSharedDeliveryOnce: two servers on one PostgreSQL database, one
// subscription filter (put through the second) to an HTTP endpoint. Events
// put through either node reach the endpoint exactly once, all from the
// node holding the filter's lease; when that node stops, the other takes
// the lease over and goes on from the durable cursor: nothing lost, nothing
// twice.
func TestSharedDeliveryOnce(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	rcv := newReceiver(t)
	sinks := harness.Configure(func(c *server.Config) {
		c.Sinks = map[string]delivery.SinkConfig{lambdaARN: {HTTP: &delivery.HTTPConfig{URL: rcv.srv.URL}}}
	})
	nodes := []*harness.Server{harness.Start(t, harness.WithStore(url), sinks), harness.Start(t, harness.WithStore(url), sinks)}
	ca, cb := nodes[0].Client(), nodes[1].Client()
	setup(t, ca, "/app/web", "a")
	if _, err := cb.PutSubscriptionFilter(context.Background(), &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("/app/web"),
		FilterName: aws.String("errors"), FilterPattern: aws.String("ERROR"), DestinationArn: aws.String(lambdaARN)}); err != nil {
		t.Fatal(err)
	}
	var want []string
	// Distinct, increasing timestamps per batch: a page holding two batches
	// is delivered in timestamp order.
	base := now() - 3_600_000
	send := func(c *cwl.Client, from, n int) {
		msgs := numbered("ERROR", from, n)
		var all []string
		for _, m := range msgs {
			all = append(all, m, "INFO noise")
		}
		put(t, c, "/app/web", "a", base+int64(from)*10, all...)
		want = append(want, msgs...)
	}
	check := func() {
		t.Helper()
		harness.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error {
			return equalLists(rcv.messages()["a"], want)
		})
	}
	delivered := func(h *harness.Server) uint64 {
		var n uint64
		for _, s := range h.Delivery().Stats() {
			n += s.DeliveredEvents
		}
		return n
	}
	// Both nodes run a follower for the filter (the first learns of it by
	// reloading), and only one delivers.
	harness.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		for i, h := range nodes {
			if len(h.Delivery().Stats()) != 1 {
				return fmt.Errorf("node %d follows %d filters, want 1", i, len(h.Delivery().Stats()))
			}
		}
		return nil
	})
	for i := 0; i < 6; i++ {
		send([]*cwl.Client{ca, cb}[i%2], i*20, 20)
	}
	check()
	// The receiver has the events before the follower has the
	// acknowledgement (and counts it): wait for the counts to settle.
	counted := func(want uint64, hs ...*harness.Server) {
		t.Helper()
		harness.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error {
			var n uint64
			for _, h := range hs {
				n += delivered(h)
			}
			if n < want {
				return fmt.Errorf("%d of %d delivered events counted", n, want)
			}
			return nil
		})
	}
	counted(120, nodes...)
	da, db := delivered(nodes[0]), delivered(nodes[1])
	if !(da == 120 && db == 0 || da == 0 && db == 120) {
		t.Fatalf("node a delivered %d events, node b %d: want 120 from exactly one", da, db)
	}
	holder, other := 0, 1
	if db > 0 {
		holder, other = 1, 0
	}
	nodes[holder].Stop()
	survivor := nodes[other].Client()
	send(survivor, 120, 30)
	send(survivor, 150, 30)
	check()
	counted(60, nodes[other])
	if n := delivered(nodes[other]); n != 60 {
		t.Fatalf("the node that took over delivered %d events, want 60", n)
	}
	// Nothing more arrives later (a second delivery of a page would).
	send(survivor, 180, 5)
	check()
}
