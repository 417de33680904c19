package transformer_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

// TestReaders: what each reader of a transformed group sees, as AWS
// documents it. GetLogEvents and FilterLogEvents "return only the original
// versions of log events, before they were transformed. To view the
// transformed versions, you must use a CloudWatch Logs query" (their API
// reference): the originals, and a filter pattern is matched against the
// original. Live Tail streams the originals too (AWS names no other
// reader of the transformed versions). Logs Insights reads the transformed
// version (PutTransformer: "refer to the transformed versions of the logs
// during operations such as querying with CloudWatch Logs Insights"): its
// @message and its fields, for every event that has one; an event stored
// before the group had a transformer is read as stored; GetLogRecord and
// GetLogGroupFields show what a query sees. Metric and
// subscription filters see the transformed version with
// applyOnTransformedLogs and the original without it: their own packages'
// TestApplyOnTransformedLogs (internal/logs/metricfilter,
// internal/delivery).
func TestReaders(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := t.Context()
	const group = "/app/readers"
	mustGroup(t, c, group)
	put := func(msgs ...string) {
		t.Helper()
		var evs []types.InputLogEvent
		for _, m := range msgs {
			evs = append(evs, types.InputLogEvent{Message: aws.String(m), Timestamp: aws.Int64(time.Now().UnixMilli())})
		}
		if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
			t.Fatal(err)
		}
	}
	put("WARN before the transformer")
	if _, err := c.PutTransformer(ctx, &cwl.PutTransformerInput{LogGroupIdentifier: aws.String(group), TransformerConfig: []types.Processor{
		{Grok: &types.Grok{Match: aws.String("%{WORD:level} %{GREEDYDATA:rest}")}},
		{AddKeys: &types.AddKeys{Entries: []types.AddKeyEntry{{Key: aws.String("env"), Value: aws.String("prod")}}}},
	}}); err != nil {
		t.Fatal(err)
	}
	tail, err := c.StartLiveTail(ctx, &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"arn:aws:logs:us-east-1:000000000000:log-group:" + group}})
	if err != nil {
		t.Fatal(err)
	}
	stream := tail.GetStream()
	defer stream.Close()
	<-stream.Events() // sessionStart
	put("ERROR disk full", "INFO started")
	// The transformed versions, by hand from the two processors: grok's
	// fields in its pattern's order, then addKeys'.
	wantTransformed := []string{`{"level":"ERROR","rest":"disk full","env":"prod"}`, `{"level":"INFO","rest":"started","env":"prod"}`}
	originals := []string{"WARN before the transformer", "ERROR disk full", "INFO started"}

	t.Run("GetLogEvents", func(t *testing.T) {
		out, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String("s"), StartFromHead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range out.Events {
			got = append(got, aws.ToString(e.Message))
		}
		if !slices.Equal(got, originals) {
			t.Fatalf("got %q, want the originals %q", got, originals)
		}
	})
	t.Run("FilterLogEvents", func(t *testing.T) {
		for pattern, want := range map[string][]string{"": originals, "ERROR": {"ERROR disk full"}, "prod": nil, `{ $.env = "prod" }`: nil} {
			out, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String(group), FilterPattern: aws.String(pattern)})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range out.Events {
				got = append(got, aws.ToString(e.Message))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("pattern %q: got %q, want %q", pattern, got, want)
			}
		}
	})
	t.Run("LiveTail", func(t *testing.T) {
		var got []string
		deadline := time.After(20 * time.Second)
		for len(got) < 2 {
			select {
			case ev, ok := <-stream.Events():
				if !ok {
					t.Fatalf("live tail ended: %v", stream.Err())
				}
				if up, isUp := ev.(*types.StartLiveTailResponseStreamMemberSessionUpdate); isUp {
					for _, r := range up.Value.SessionResults {
						got = append(got, aws.ToString(r.Message))
					}
				}
			case <-deadline:
				t.Fatalf("live tail: %q", got)
			}
		}
		if !slices.Equal(got, originals[1:]) {
			t.Fatalf("got %q, want the originals %q", got, originals[1:])
		}
	})
	t.Run("Insights", func(t *testing.T) {
		var ptrs []string
		q := func(query string) [][]string {
			t.Helper()
			now := time.Now().Unix()
			st, err := c.StartQuery(ctx, &cwl.StartQueryInput{LogGroupNames: []string{group}, QueryString: aws.String(query),
				StartTime: aws.Int64(now - 600), EndTime: aws.Int64(now + 600)})
			if err != nil {
				t.Fatal(err)
			}
			var out *cwl.GetQueryResultsOutput
			harness.CheckFor(t, 30*time.Second, 10*time.Millisecond, func() error {
				if out, err = c.GetQueryResults(ctx, &cwl.GetQueryResultsInput{QueryId: st.QueryId}); err != nil {
					return err
				}
				if out.Status == types.QueryStatusRunning || out.Status == types.QueryStatusScheduled {
					return fmt.Errorf("status %s", out.Status)
				}
				return nil
			})
			if out.Status != types.QueryStatusComplete {
				t.Fatalf("%q ended %s", query, out.Status)
			}
			var rows [][]string
			for _, r := range out.Results {
				var row []string
				for _, f := range r {
					if n := aws.ToString(f.Field); n != "@ptr" {
						row = append(row, n+"="+aws.ToString(f.Value))
					} else {
						ptrs = append(ptrs, aws.ToString(f.Value))
					}
				}
				rows = append(rows, row)
			}
			return rows
		}
		same := func(got, want [][]string) {
			t.Helper()
			if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
		// Fields the transformer made; a filter on one (the engine must not
		// test the original for "prod"); @message the transformed JSON.
		same(q(`fields @message, level, env | filter env = "prod" | sort @timestamp asc`), [][]string{
			{"@message=" + wantTransformed[0], "level=ERROR", "env=prod"}, {"@message=" + wantTransformed[1], "level=INFO", "env=prod"}})
		same(q(`filter @message like /prod/ | stats count() as n`), [][]string{{"n=2"}})
		// The newest events (read backward, not scanned) are transformed too.
		same(q(`fields @message | sort @timestamp desc | limit 2`), [][]string{{"@message=" + wantTransformed[1]}, {"@message=" + wantTransformed[0]}})
		// The event from before the transformer is read as it was stored.
		same(q(`fields @message | filter @message like /before/`), [][]string{{"@message=" + originals[0]}})
		// GetLogRecord shows the record a query's row points to as the
		// query saw it, and GetLogGroupFields the transformer's fields.
		ptrs = nil
		q(`fields @message | filter level = "ERROR"`)
		if len(ptrs) != 1 {
			t.Fatalf("@ptr of the ERROR row: %q", ptrs)
		}
		rec, err := c.GetLogRecord(ctx, &cwl.GetLogRecordInput{LogRecordPointer: aws.String(ptrs[0])})
		if err != nil {
			t.Fatal(err)
		}
		if rec.LogRecord["@message"] != wantTransformed[0] || rec.LogRecord["level"] != "ERROR" || rec.LogRecord["rest"] != "disk full" ||
			rec.LogRecord["env"] != "prod" {
			t.Fatalf("GetLogRecord: %q", rec.LogRecord)
		}
		fields, err := c.GetLogGroupFields(ctx, &cwl.GetLogGroupFieldsInput{LogGroupName: aws.String(group)})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int32{}
		for _, f := range fields.LogGroupFields {
			got[aws.ToString(f.Name)] = f.Percent
		}
		// Two of the three events have the transformer's fields.
		if got["env"] != 67 || got["level"] != 67 || got["rest"] != 67 || got["@message"] != 100 {
			t.Fatalf("GetLogGroupFields: %v", got)
		}
	})
}
