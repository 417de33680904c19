package metricfilter_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/metricfilter"
	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/protocol"
)

func newService() *metricfilter.Service {
	return metricfilter.New(metricfilter.Config{Compile: func(expr string) (logs.Pattern, error) { return pattern.Compile(expr) }})
}

// TestTestMetricFilterDirect: the family's operation called with a typed
// caller, no HTTP: it matches with the shared pattern language, and a
// caller without the right is refused before anything runs.
func TestTestMetricFilterDirect(t *testing.T) {
	svc := newService()
	ctx := context.Background()
	in := &metricfilter.TestMetricFilterInput{FilterPattern: "[ip, user, status=5*]", LogEventMessages: []string{"1.2.3.4 bob 200", "1.2.3.4 eve 503"}}
	out, err := svc.TestMetricFilter(ctx, caller.System("123456789012", "us-east-1", "console", "logs:TestMetricFilter"), in)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	var wire mapOutput
	if err := json.Unmarshal(raw, &wire); err != nil {
		t.Fatal(err)
	}
	if len(wire.Matches) != 1 || wire.Matches[0].EventNumber != 2 || wire.Matches[0].ExtractedValues["$user"] != "eve" {
		t.Fatalf("matches %s", raw)
	}
	_, err = svc.TestMetricFilter(ctx, caller.System("123456789012", "us-east-1", "console"), in)
	if !awserr.Is(err, awserr.AccessDenied) {
		t.Fatalf("caller without logs:TestMetricFilter: %v", err)
	}
	_, err = svc.TestMetricFilter(ctx, caller.System("123456789012", "us-east-1", "console", "logs:TestMetricFilter"),
		&metricfilter.TestMetricFilterInput{FilterPattern: "{ $.x = ", LogEventMessages: []string{"x"}})
	if !awserr.Is(err, awserr.InvalidParameter) {
		t.Fatalf("broken pattern: %v", err)
	}
}

// TestRegister: the family claims its operations on a table, and a second
// family claiming the same name is a wiring bug caught at start.
func TestRegister(t *testing.T) {
	tab := protocol.NewTable()
	newService().Register(tab)
	if !tab.Has("TestMetricFilter") {
		t.Fatalf("table has %v", tab.Names())
	}
	defer func() {
		if recover() == nil {
			t.Fatal("registering TestMetricFilter twice did not panic")
		}
	}()
	newService().Register(tab)
}
