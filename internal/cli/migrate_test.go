package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/pgtest"
)

// TestMigrateCommand: a real embedded server takes events, stops; cairn
// migrate copies its data directory into PostgreSQL; a server on that
// database (started on the old data directory, so its root key is kept)
// returns the same events with the same eventIds through FilterLogEvents.
func TestMigrateCommand(t *testing.T) {
	dir := t.TempDir()
	old := harness.Start(t, harness.InDir(dir))
	c := old.Client()
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	for b := 0; b < 3; b++ {
		var evs []types.InputLogEvent
		for i := 0; i < 4; i++ {
			evs = append(evs, types.InputLogEvent{Timestamp: aws.Int64(time.Now().UnixMilli() - 10_000 + int64(b*10+i)), Message: aws.String(fmt.Sprintf("batch %d event %d", b, i))})
		}
		if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
			t.Fatal(err)
		}
	}
	before, err := c.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("app")})
	if err != nil || len(before.Events) != 12 {
		t.Fatalf("%d events before (%v)", len(before.Events), err)
	}
	old.Stop()

	url := pgtest.Start(t).NewDatabase(t)
	var out, errb bytes.Buffer
	env := Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	if code := Run(env, []string{"migrate", "--from", dir, "--to", url}); code != 0 {
		t.Fatalf("cairn migrate: %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "migrated 1 log groups, 1 streams, 12 events in 3 blocks") {
		t.Fatalf("cairn migrate said %q", out.String())
	}
	h := harness.Start(t, harness.InDir(dir), harness.WithStore(url))
	if h.Creds.AccessKeyID != old.Creds.AccessKeyID {
		t.Fatal("the root key changed")
	}
	after, err := h.Client().FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("app")})
	if err != nil || len(after.Events) != len(before.Events) {
		t.Fatalf("%d events after (%v), want %d", len(after.Events), err, len(before.Events))
	}
	for i, e := range after.Events {
		w := before.Events[i]
		if aws.ToString(e.EventId) != aws.ToString(w.EventId) || aws.ToString(e.Message) != aws.ToString(w.Message) ||
			aws.ToInt64(e.Timestamp) != aws.ToInt64(w.Timestamp) || aws.ToInt64(e.IngestionTime) != aws.ToInt64(w.IngestionTime) {
			t.Fatalf("event %d: %+v, want %+v", i, e, w)
		}
	}
	// A second migration into the same database is refused (the group
	// exists there).
	errb.Reset()
	if code := Run(env, []string{"migrate", "--from", dir, "--to", url}); code != 1 || !strings.Contains(errb.String(), "group app") {
		t.Fatalf("migrating twice: %d %s", code, errb.String())
	}
}

// TestMigrateWhileANodeServes: a server already on the database caches
// that its account has no data protection policy; cairn migrate then
// copies in a data directory whose account has one. The node's next batch
// is masked: the migration's writes of the cached kinds move their
// generations (server.CachedKinds), as a server's writes do, instead of
// leaving the node's cached answer standing.
func TestMigrateWhileANodeServes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	old := harness.Start(t, harness.InDir(dir))
	harness.CreateGroup(t, old.Client(), "app", "s")
	doc := `{"Name":"p","Version":"2021-06-01","Statement":[` +
		`{"Sid":"audit","DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],"Operation":{"Audit":{"FindingsDestination":{}}}},` +
		`{"Sid":"redact","DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],"Operation":{"Deidentify":{"MaskConfig":{}}}}]}`
	if _, err := old.Client().PutAccountPolicy(ctx, &cwl.PutAccountPolicyInput{PolicyName: aws.String("dp"),
		PolicyType: types.PolicyTypeDataProtectionPolicy, PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	old.Stop()

	url := pgtest.Start(t).NewDatabase(t)
	node := harness.Start(t, harness.WithStore(url))
	c := node.Client()
	harness.CreateGroup(t, c, "other", "s")
	n := 0
	last := func() string {
		t.Helper()
		n++
		harness.PutMessages(t, c, "other", "s", fmt.Sprintf("signed up: jane.doe@example.com #%d", n))
		out, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("other"), LogStreamName: aws.String("s"), Limit: aws.Int32(1)})
		if err != nil || len(out.Events) != 1 {
			t.Fatalf("GetLogEvents: %+v %v", out, err)
		}
		return aws.ToString(out.Events[0].Message)
	}
	for range 3 { // cached: no account policy
		if got := last(); !strings.Contains(got, "jane.doe@example.com") {
			t.Fatalf("masked before the migration: %q", got)
		}
	}
	var out, errb bytes.Buffer
	env := Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	if code := Run(env, []string{"migrate", "--from", dir, "--to", url}); code != 0 {
		t.Fatalf("cairn migrate: %d: %s", code, errb.String())
	}
	if got := last(); strings.Contains(got, "jane.doe@example.com") {
		t.Fatalf("the node's first batch after the migration is not masked: %q", got)
	}
}
