package transformer_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/logs/transformer"
	"github.com/cairnlog/cairn/internal/store"
)

// TestVersionsKeepTheirConfiguration: an append's transformed versions are
// those of the transformer that applied when it was ingested, with each
// event's own stream in the metadata, read by a Service that did not ingest
// them (a restarted server: nothing cached); replacing the transformer
// changes only later appends, and an Insights query shows each version.
func TestVersionsKeepTheirConfiguration(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := t.Context()
	const group = "lazy"
	mustGroup(t, c, group)
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String("t")}); err != nil {
		t.Fatal(err)
	}
	putTransformer := func(env string) {
		t.Helper()
		if _, err := c.PutTransformer(ctx, &cwl.PutTransformerInput{LogGroupIdentifier: aws.String(group), TransformerConfig: []types.Processor{
			{Grok: &types.Grok{Match: aws.String("%{WORD:level} %{GREEDYDATA:rest}")}},
			{AddKeys: &types.AddKeys{Entries: []types.AddKeyEntry{{Key: aws.String("env"), Value: aws.String(env)}}}},
			{CopyValue: &types.CopyValue{Entries: []types.CopyValueEntry{{Source: aws.String("@logGroupStream"), Target: aws.String("stream")}}}},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	put := func(stream, msg string) {
		t.Helper()
		if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream),
			LogEvents: []types.InputLogEvent{{Message: aws.String(msg), Timestamp: aws.Int64(time.Now().UnixMilli())}}}); err != nil {
			t.Fatal(err)
		}
	}
	putTransformer("one")
	put("s", "WARN disk low")
	put("t", "INFO started")
	putTransformer("two")
	put("s", "ERROR disk full")

	want := map[string]string{
		"WARN disk low":   `{"level":"WARN","rest":"disk low","env":"one","stream":"s"}`,
		"INFO started":    `{"level":"INFO","rest":"started","env":"one","stream":"t"}`,
		"ERROR disk full": `{"level":"ERROR","rest":"disk full","env":"two","stream":"s"}`,
	}
	scope := store.Scope{Account: "000000000000", Region: harness.DefaultRegion}
	page, err := h.Engine().ReadFeed(ctx, store.FeedRequest{Scope: scope, Group: group, Limit: 10})
	if err != nil || len(page.Events) != 3 {
		t.Fatalf("feed %v %d", err, len(page.Events))
	}
	fresh := transformer.New(transformer.Config{Store: h.Engine()})
	for _, ev := range page.Events {
		tr, err := fresh.Transformed(ctx, scope, group, ev.Pos.Seq)
		if err != nil || tr == nil {
			t.Fatalf("%q: transformed %v", ev.Message, err)
		}
		if v, ok := tr(ev); !ok || v != want[ev.Message] {
			t.Errorf("%q: version %q %v, want %q", ev.Message, v, ok, want[ev.Message])
		}
	}

	// Through the server: an Insights query reads the same versions.
	start := time.Now().Add(-time.Hour).Unix()
	q, err := c.StartQuery(ctx, &cwl.StartQueryInput{LogGroupName: aws.String(group), QueryString: aws.String("fields @message | sort @message asc"),
		StartTime: aws.Int64(start), EndTime: aws.Int64(time.Now().Add(time.Hour).Unix())})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r, err := c.GetQueryResults(ctx, &cwl.GetQueryResultsInput{QueryId: q.QueryId})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == types.QueryStatusComplete {
			var got []string
			for _, row := range r.Results {
				for _, f := range row {
					if aws.ToString(f.Field) == "@message" {
						got = append(got, aws.ToString(f.Value))
					}
				}
			}
			exp := []string{want["ERROR disk full"], want["INFO started"], want["WARN disk low"]}
			if fmt.Sprint(got) != fmt.Sprint(exp) {
				t.Fatalf("Insights read\n%q\nwant\n%q", got, exp)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("query still %s", r.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestEagerRecordsStillRead: a data directory written before versions were
// computed lazily holds each append's versions themselves (uvarint length
// and JSON, per event); they are read as they are.
func TestEagerRecordsStillRead(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := t.Context()
	mustGroup(t, c, "eager")
	if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("eager"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{{Message: aws.String("a"), Timestamp: aws.Int64(time.Now().UnixMilli())},
			{Message: aws.String("b"), Timestamp: aws.Int64(time.Now().UnixMilli())}}}); err != nil {
		t.Fatal(err)
	}
	scope := store.Scope{Account: "000000000000", Region: harness.DefaultRegion}
	page, err := h.Engine().ReadFeed(ctx, store.FeedRequest{Scope: scope, Group: "eager", Limit: 10})
	if err != nil || len(page.Events) != 2 {
		t.Fatalf("feed %v %d", err, len(page.Events))
	}
	seq := page.Events[0].Pos.Seq
	v0, v1 := `{"m":"a"}`, `{"m":"bb"}`
	rec := append(append([]byte{byte(len(v0))}, v0...), append([]byte{byte(len(v1))}, v1...)...)
	if err := h.Engine().PutResource(ctx, store.ResourceKey{Scope: scope, Group: "eager", Kind: "transformed", Name: fmt.Sprintf("%020d", seq)}, rec); err != nil {
		t.Fatal(err)
	}
	tr, err := transformer.New(transformer.Config{Store: h.Engine()}).Transformed(ctx, scope, "eager", seq)
	if err != nil || tr == nil {
		t.Fatalf("transformed %v", err)
	}
	for i, w := range []string{v0, v1} {
		if v, ok := tr(page.Events[i]); !ok || v != w {
			t.Errorf("event %d: %q %v, want %q", i, v, ok, w)
		}
	}
}
