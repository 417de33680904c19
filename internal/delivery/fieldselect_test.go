package delivery_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"

	"github.com/cairnlog/cairn/internal/delivery"
	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/server"
)

// TestFieldSelectionCriteria: a subscription filter's fieldSelectionCriteria
// decides whether it processes its group's events (every one carries the
// group's account and region): one that selects them delivers them, one
// that does not delivers none while its cursor still advances, and putting
// the filter again with criteria that select them starts its deliveries.
// Criteria outside the language are refused as PutMetricFilter refuses them.
func TestFieldSelectionCriteria(t *testing.T) {
	rcv := newReceiver(t)
	h := harness.Start(t, harness.Configure(func(c *server.Config) {
		c.Sinks = map[string]delivery.SinkConfig{lambdaARN: {HTTP: &delivery.HTTPConfig{URL: rcv.srv.URL}}}
	}))
	c := h.Client()
	ctx := context.Background()
	setup(t, c, "/app/sel", "s")
	sub := func(name, criteria string) error {
		_, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("/app/sel"), FilterName: aws.String(name),
			FilterPattern: aws.String(""), DestinationArn: aws.String(lambdaARN), FieldSelectionCriteria: aws.String(criteria)})
		return err
	}
	if err := sub("mine", `@aws.region = "us-east-1" AND @aws.account IN ["000000000000"]`); err != nil {
		t.Fatal(err)
	}
	if err := sub("other", `@aws.region != "us-east-1"`); err != nil {
		t.Fatal(err)
	}
	var ae smithy.APIError
	if err := sub("bad", `@aws.region = "us-east-1" OR`); !asAPIError(err, &ae) || ae.ErrorCode() != "InvalidParameterException" ||
		ae.ErrorMessage() != "Invalid fieldSelectionCriteria: expected a condition at the end" {
		t.Fatalf("bad criteria: %v", err)
	}

	delivered := func(filter string) []string {
		var out []string
		for _, p := range rcv.data() {
			if p.MessageType == "DATA_MESSAGE" && slices.Contains(p.SubscriptionFilters, filter) {
				for _, e := range p.LogEvents {
					out = append(out, e.Message)
				}
			}
		}
		return out
	}
	msgs := numbered("event", 0, 5)
	put(t, c, "/app/sel", "s", now(), msgs...)
	harness.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if err := equalLists(delivered("mine"), msgs); err != nil {
			return fmt.Errorf("mine: %v", err)
		}
		if m, o := statsOf(t, h, "mine"), statsOf(t, h, "other"); o.Cursor != m.Cursor {
			return fmt.Errorf("other's cursor %d, mine's %d", o.Cursor, m.Cursor)
		}
		return nil
	})
	if got, s := delivered("other"), statsOf(t, h, "other"); len(got) != 0 || s.DeliveredEvents != 0 {
		t.Fatalf("other delivered %q (stats %+v)", got, s)
	}

	if err := sub("other", `@aws.region IN ["eu-west-1", "us-east-1"]`); err != nil {
		t.Fatal(err)
	}
	harness.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		put(t, c, "/app/sel", "s", now(), "after")
		if got := delivered("other"); !slices.Contains(got, "after") {
			return fmt.Errorf("other delivered %q", got)
		}
		return nil
	})
}

func asAPIError(err error, ae *smithy.APIError) bool { return errors.As(err, ae) }
