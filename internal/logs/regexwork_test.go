package logs_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/pattern"
)

// TestRegexScanBudget: a FilterLogEvents page scans at most logs.RegexWork
// bytes × instructions of its pattern's regexes, then returns what it found
// with a nextToken, and paging on reads everything: 40 events of 20 KB under
// two 503-instruction regexes (266,866 bytes a page) take 3 pages, where one
// page scanned all 800 KB (at 2.6 ns per instruction a byte, 2 s of regex
// work for events that make the regexes work hard). A pattern without a
// regex keeps the whole budget. The store checks the budget between blocks
// (appends), so a page may overrun it by one block.
func TestRegexScanBudget(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := context.Background()
	harness.CreateGroup(t, c, "g", "s")
	// "z" first: the regexes match at once, so the test is quick; the
	// budget counts bytes, not the work they happened to cost.
	msg := "z" + strings.Repeat("a", 20<<10)
	msgs := make([]string, 40)
	for i := range msgs {
		msgs[i] = msg
		harness.PutMessages(t, c, "g", "s", msg)
	}
	const expr = `%.{0,250}z% %.{0,250}z%`
	p, err := pattern.Compile(expr)
	if err != nil {
		t.Fatal(err)
	}
	if p.RegexCost() != 2*503 {
		t.Fatalf("RegexCost %d, want %d", p.RegexCost(), 2*503)
	}
	pages := func(expr string) (n, events int) {
		in := &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), FilterPattern: aws.String(expr)}
		for {
			out, err := c.FilterLogEvents(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			n++
			events += len(out.Events)
			if out.NextToken == nil {
				return n, events
			}
			if n > 100 {
				t.Fatalf("%s: more than 100 pages", expr)
			}
			in.NextToken = out.NextToken
		}
	}
	per := logs.RegexWork / p.RegexCost()
	// A page stops at the first event that reaches its budget.
	want := (len(msgs)*len(msg) + per - 1) / (per + len(msg))
	if n, events := pages(expr); events != len(msgs) || n < want || n > want+2 {
		t.Fatalf("%s: %d events in %d pages, want %d events in about %d pages", expr, events, n, len(msgs), want)
	}
	if n, events := pages(`z`); n != 1 || events != len(msgs) {
		t.Fatalf("z: %d events in %d pages, want %d in 1", events, n, len(msgs))
	}
}
