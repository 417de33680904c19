package delivery_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/delivery"
	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/server"
)

// TestExtractedFields: through the real server to an HTTP endpoint in
// Lambda's form, each delivered event carries extractedFields as AWS's
// fixtures show them: a space-delimited pattern's fields by name (the last
// one taking the rest of the line), then the system fields emitSystemFields
// names; a JSON pattern with emitSystemFields carries the system fields
// alone; a term pattern without them has no extractedFields key at all.
// DescribeSubscriptionFilters echoes emitSystemFields.
func TestExtractedFields(t *testing.T) {
	rcv := newReceiver(t)
	h := harness.Start(t, harness.Configure(func(c *server.Config) {
		c.Sinks = map[string]delivery.SinkConfig{lambdaARN: {HTTP: &delivery.HTTPConfig{URL: rcv.srv.URL}}}
	}))
	c := h.Client()
	ctx := context.Background()
	for _, g := range []string{"/app/access", "/app/json", "/app/plain"} {
		setup(t, c, g, "s")
	}
	sub := func(group, name, pat string, emit ...string) {
		t.Helper()
		if _, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String(group), FilterName: aws.String(name),
			FilterPattern: aws.String(pat), DestinationArn: aws.String(lambdaARN), EmitSystemFields: emit}); err != nil {
			t.Fatal(err)
		}
	}
	sub("/app/access", "fields", "[ip, user, verb, status_code=4*, response_size]", "@aws.region", "@aws.account", "@source.log")
	sub("/app/json", "sys", `{ $.level = "error" }`, "@aws.account")
	sub("/app/plain", "none", "ERROR")
	out, err := c.DescribeSubscriptionFilters(ctx, &cwl.DescribeSubscriptionFiltersInput{LogGroupName: aws.String("/app/access")})
	if err != nil || len(out.SubscriptionFilters) != 1 || fmt.Sprint(out.SubscriptionFilters[0].EmitSystemFields) != "[@aws.region @aws.account @source.log]" {
		t.Fatalf("DescribeSubscriptionFilters: %v %+v", err, out)
	}
	put(t, c, "/app/access", "s", now(), "127.0.0.1 frank GET 200 4535", "127.0.0.1 alice POST 404 34",
		`10.0.0.7 "bob smith" GET 403 12 after the last field`)
	put(t, c, "/app/json", "s", now(), `{"level":"error","msg":"x"}`, `{"level":"info"}`)
	put(t, c, "/app/plain", "s", now(), "ERROR one")

	type got struct {
		msg    string
		fields map[string]string
	}
	var events map[string][]got
	harness.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		events = map[string][]got{}
		n := 0
		for _, p := range rcv.data() {
			if p.MessageType != "DATA_MESSAGE" {
				continue
			}
			for _, e := range p.LogEvents {
				events[p.LogGroup] = append(events[p.LogGroup], got{e.Message, e.ExtractedFields})
				n++
			}
		}
		if n < 4 {
			return fmt.Errorf("%d events delivered", n)
		}
		return nil
	})
	sys := map[string]string{"@aws.region": "us-east-1", "@aws.account": "000000000000", "@source.log": "000000000000:/app/access"}
	with := func(m map[string]string) map[string]string { maps.Copy(m, sys); return m }
	want := map[string][]got{
		"/app/access": {
			{"127.0.0.1 alice POST 404 34", with(map[string]string{"ip": "127.0.0.1", "user": "alice", "verb": "POST", "status_code": "404", "response_size": "34"})},
			{`10.0.0.7 "bob smith" GET 403 12 after the last field`, with(map[string]string{"ip": "10.0.0.7", "user": "bob smith", "verb": "GET",
				"status_code": "403", "response_size": "12 after the last field"})},
		},
		"/app/json":  {{`{"level":"error","msg":"x"}`, map[string]string{"@aws.account": "000000000000"}}},
		"/app/plain": {{"ERROR one", nil}},
	}
	for g, w := range want {
		if len(events[g]) != len(w) {
			t.Fatalf("%s: got %+v, want %+v", g, events[g], w)
		}
		for i := range w {
			if events[g][i].msg != w[i].msg || !maps.Equal(events[g][i].fields, w[i].fields) {
				t.Errorf("%s event %d: got %+v, want %+v", g, i, events[g][i], w[i])
			}
		}
	}
	// On the wire: after the message, the pattern's fields in its order,
	// then the system fields in emitSystemFields' order; no key where an
	// event has none.
	for _, p := range rcv.data() {
		switch p.LogGroup {
		case "/app/access":
			if !bytes.Contains(p.raw, []byte(`"message":"127.0.0.1 alice POST 404 34","extractedFields":{"ip":"127.0.0.1","user":"alice","verb":"POST","status_code":"404","response_size":"34","@aws.region":"us-east-1","@aws.account":"000000000000","@source.log":"000000000000:/app/access"}}`)) {
				t.Errorf("payload bytes: %s", p.raw)
			}
		case "/app/plain":
			if bytes.Contains(p.raw, []byte("extractedFields")) {
				t.Errorf("a term filter's payload has extractedFields: %s", p.raw)
			}
		}
	}
}

// TestExtractedFieldsLogGroupSink: the log-group sink appends messages
// alone, so an event whose extractedFields would pass its record limit
// (300 KB of one-letter fields under [], ~1.6 MB of fields) is still
// copied, not recorded as failed.
func TestExtractedFieldsLogGroupSink(t *testing.T) {
	h := harness.Start(t, harness.Configure(func(c *server.Config) {
		c.Sinks = map[string]delivery.SinkConfig{lambdaARN: {LogGroup: &delivery.LogGroupConfig{Name: "copy"}}}
	}))
	c := h.Client()
	ctx := context.Background()
	setup(t, c, "src", "s")
	setup(t, c, "copy")
	const arn = "arn:aws:logs:us-east-1:000000000000:log-group:copy"
	if _, err := c.PutResourcePolicy(ctx, &cwl.PutResourcePolicyInput{ResourceArn: aws.String(arn),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"logs.amazonaws.com"},` +
			`"Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"` + arn + `:*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("src"), FilterName: aws.String("wide"),
		FilterPattern: aws.String("[]"), DestinationArn: aws.String(lambdaARN), EmitSystemFields: []string{"@aws.account"}}); err != nil {
		t.Fatal(err)
	}
	wide := strings.TrimSuffix(strings.Repeat("a ", 150_000), " ")
	put(t, c, "src", "s", now(), wide)
	harness.CheckFor(t, 20*time.Second, 20*time.Millisecond, func() error {
		for _, s := range h.Delivery().Stats() {
			if s.FilterName == "wide" && s.FailedEvents != 0 {
				t.Fatalf("recorded as failed: %s", s.LastError)
			}
		}
		out, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("copy")})
		if err != nil {
			return err
		}
		if len(out.Events) != 1 || aws.ToString(out.Events[0].Message) != wide {
			return fmt.Errorf("%d events copied", len(out.Events))
		}
		return nil
	})
}
