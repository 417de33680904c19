package expiry_test

import (
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/logs/expiry"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

// The record kinds the two owners keep (dataprotection's originals,
// transformer's transformed versions), as stored.
var kinds = []string{"dataProtectionOriginals", "transformed"}

// TestRecordsExpireWithEvents: a group with 1-day retention, data protection
// (email addresses) and a transformer keeps one originals record and one
// transformed record per append; while the events live, a sweep keeps them;
// three days later (the harness clock), once the janitor reclaimed the
// expired blocks, a sweep deletes both, and a group without retention keeps
// its own.
func TestRecordsExpireWithEvents(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixMilli())
	now := func() time.Time { return time.UnixMilli(clock.Load()) }
	// Auth off: the SDK signs with the real time, which the moved clock
	// would find expired.
	h := harness.Start(t, harness.AuthOff(), harness.WithClock(now))
	c := h.Client()
	ctx := t.Context()
	doc, _ := json.Marshal(map[string]any{"Name": "p", "Version": "2021-06-01", "Statement": []any{
		map[string]any{"Sid": "audit", "DataIdentifier": []string{"arn:aws:dataprotection::aws:data-identifier/EmailAddress"},
			"Operation": map[string]any{"Audit": map[string]any{"FindingsDestination": map[string]any{}}}},
		map[string]any{"Sid": "redact", "DataIdentifier": []string{"arn:aws:dataprotection::aws:data-identifier/EmailAddress"},
			"Operation": map[string]any{"Deidentify": map[string]any{"MaskConfig": map[string]any{}}}}}})
	for _, g := range []string{"short", "forever"} {
		if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(g), LogStreamName: aws.String("s")}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutDataProtectionPolicy(ctx, &cwl.PutDataProtectionPolicyInput{LogGroupIdentifier: aws.String(g), PolicyDocument: aws.String(string(doc))}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutTransformer(ctx, &cwl.PutTransformerInput{LogGroupIdentifier: aws.String(g), TransformerConfig: []types.Processor{
			{Grok: &types.Grok{Match: aws.String("%{WORD:verb} %{GREEDYDATA:rest}")}}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PutRetentionPolicy(ctx, &cwl.PutRetentionPolicyInput{LogGroupName: aws.String("short"), RetentionInDays: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	put := func(g, msg string) {
		t.Helper()
		if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(g), LogStreamName: aws.String("s"),
			LogEvents: []types.InputLogEvent{{Message: aws.String(msg), Timestamp: aws.Int64(clock.Load())}}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range []string{"short", "forever"} {
		put(g, "mail jane.doe@example.com")
	}
	scope := store.Scope{Account: "000000000000", Region: harness.DefaultRegion}
	count := func(group, kind string) int {
		n := 0
		if err := h.Engine().ListResources(ctx, store.ResourceKey{Scope: scope, Group: group, Kind: kind}, "", "", func(string, []byte) bool { n++; return true }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	sweep := func() int {
		t.Helper()
		// The embedded engine's janitor reclaims the expired blocks first.
		if err := h.Engine().(*embedded.Engine).Sweep(); err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, k := range kinds {
			n, err := expiry.New(h.Engine(), k, nil).Sweep(ctx)
			if err != nil {
				t.Fatal(err)
			}
			total += n
		}
		return total
	}
	for _, g := range []string{"short", "forever"} {
		for _, k := range kinds {
			if n := count(g, k); n != 1 {
				t.Fatalf("%s: %d %s records before, want 1", g, n, k)
			}
		}
	}
	if n := sweep(); n != 0 {
		t.Fatalf("swept %d records of live events", n)
	}
	clock.Add((3 * 24 * time.Hour).Milliseconds())
	if n := sweep(); n != 2 {
		t.Errorf("swept %d records three days later, want 2 (short's originals and transformed)", n)
	}
	fe, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("short")})
	if err != nil {
		t.Fatal(err)
	}
	if len(fe.Events) != 0 {
		t.Fatalf("short's events still there: %d", len(fe.Events))
	}
	for _, k := range kinds {
		if n := count("short", k); n != 0 {
			t.Errorf("short: %d %s records left", n, k)
		}
		if n := count("forever", k); n != 1 {
			t.Errorf("forever: %d %s records, want 1 (no retention)", n, k)
		}
	}
	// A new append to the emptied group is kept again.
	put("short", "mail bob@example.org")
	if n := sweep(); n != 0 || count("short", kinds[0]) != 1 {
		t.Errorf("a fresh append's record was swept (%d)", n)
	}
}
