package postgres_test

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/jackc/pgx/v5"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/pgtest"
)

// statCounter counts, with pg_stat_statements, the statements one role
// ran in one database: each node of TestPolicyAcrossNodes connects as its
// own role, so what node B's batches cost is told apart from node A's.
type statCounter struct {
	conn *pgx.Conn
	role string
}

// snapshot is the calls so far by query text.
func (c statCounter) snapshot(t *testing.T) map[string]int64 {
	t.Helper()
	rows, err := c.conn.Query(context.Background(), `SELECT s.query, sum(s.calls)::bigint FROM pg_stat_statements s
		JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = $1 AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		GROUP BY s.query`, c.role)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int64{}
	for rows.Next() {
		var q string
		var n int64
		if err := rows.Scan(&q, &n); err != nil {
			t.Fatal(err)
		}
		m[q] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// resourceRead is a statement that reads cairn_resources (a GetResource or
// a listing), not one that writes it.
var resourceRead = regexp.MustCompile(`(?is)^\s*(WITH\b.*)?SELECT\b.*\bcairn_resources\b`)

// delta is what ran between two snapshots: every statement, the resource
// reads among them, and a listing (for the log).
func delta(before, after map[string]int64) (total, reads int64, listing string) {
	var lines []string
	for q, n := range after {
		d := n - before[q]
		if d <= 0 {
			continue
		}
		total += d
		write := regexp.MustCompile(`(?i)\b(INSERT|UPDATE|DELETE)\b`).MatchString(q)
		if resourceRead.MatchString(q) && !write {
			reads += d
		}
		lines = append(lines, fmt.Sprintf("%6d  %s", d, strings.Join(strings.Fields(q), " ")))
	}
	sort.Strings(lines)
	return total, reads, strings.Join(lines, "\n")
}

// TestPolicyAcrossNodes: two Cairn servers on one database (two PostgreSQL
// engines), the policies put and deleted through A, the batches ingested
// through B. A data protection policy put through A masks B's next batch,
// and once deleted stops masking B's next batch; the same for an account
// data protection policy. Meanwhile B's batches read no policy record from
// PostgreSQL once read (the engine's resource cache, its freshness carried
// by the group row every batch reads): counted with pg_stat_statements, as
// node B connects as a role of its own.
func TestPolicyAcrossNodes(t *testing.T) {
	pg := pgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// pg_stat_statements must be preloaded: set it, then restart.
	func() {
		conn, err := pgx.Connect(ctx, pg.URL("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`); err != nil {
			t.Fatal(err)
		}
	}()
	if err := pg.Restart(); err != nil {
		t.Fatal(err)
	}
	url := pg.NewDatabase(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `CREATE EXTENSION pg_stat_statements; CREATE ROLE cairn_b LOGIN SUPERUSER`); err != nil {
		t.Fatal(err)
	}
	urlB := strings.Replace(url, "postgres@", "cairn_b@", 1)
	counter := statCounter{conn: conn, role: "cairn_b"}

	a := harness.Start(t, harness.WithStore(url))
	b := harness.Start(t, harness.WithStore(urlB))
	ca, cb := a.Client(), b.Client()
	harness.CreateGroup(t, ca, "app", "s")

	const msg = "signed up: jane.doe@example.com"
	const masked = "signed up: ********************"
	// last puts one batch of msg through B and returns the stored message.
	n := 0
	last := func() string {
		t.Helper()
		n++
		harness.PutMessages(t, cb, "app", "s", fmt.Sprintf("%s #%d", msg, n))
		out, err := cb.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("s"), Limit: aws.Int32(1)})
		if err != nil || len(out.Events) != 1 {
			t.Fatalf("GetLogEvents: %+v %v", out, err)
		}
		return strings.TrimSuffix(aws.ToString(out.Events[0].Message), fmt.Sprintf(" #%d", n))
	}
	// batches puts k batches through B and returns B's statements, its
	// resource reads among them, and their listing.
	batches := func(k int) (int64, int64, string) {
		t.Helper()
		before := counter.snapshot(t)
		for i := range k {
			harness.PutMessages(t, cb, "app", "s", fmt.Sprintf("%s batch %d", msg, i))
		}
		return delta(before, counter.snapshot(t))
	}
	const k = 20
	check := func(what string) {
		t.Helper()
		total, reads, listing := batches(k)
		t.Logf("%s: %d batches through B ran %d statements (%.1f a batch), %d reading cairn_resources:\n%s",
			what, k, total, float64(total)/k, reads, listing)
		// Without the cache every batch reads the group's transformer and
		// data protection records and the account's two policy
		// generations (4k reads); with it none is read again. A
		// background job's listing may fall in the window.
		if reads > k/4 {
			t.Errorf("%s: %d batches read cairn_resources %d times; the policy records are read every batch", what, k, reads)
		}
	}

	if got := last(); got != msg {
		t.Fatalf("before any policy: %q", got)
	}
	check("no policy")

	doc := `{"Name":"p","Version":"2021-06-01","Statement":[` +
		`{"Sid":"audit","DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],"Operation":{"Audit":{"FindingsDestination":{}}}},` +
		`{"Sid":"redact","DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],"Operation":{"Deidentify":{"MaskConfig":{}}}}]}`
	if _, err := ca.PutDataProtectionPolicy(ctx, &cwl.PutDataProtectionPolicyInput{LogGroupIdentifier: aws.String("app"), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	if got := last(); got != masked {
		t.Fatalf("the batch through B after A put the group's policy: %q, want %q", got, masked)
	}
	check("group policy")

	if _, err := ca.DeleteDataProtectionPolicy(ctx, &cwl.DeleteDataProtectionPolicyInput{LogGroupIdentifier: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	if got := last(); got != msg {
		t.Fatalf("the batch through B after A deleted the group's policy: %q, want it unmasked", got)
	}

	if _, err := ca.PutAccountPolicy(ctx, &cwl.PutAccountPolicyInput{PolicyName: aws.String("acct"), PolicyType: types.PolicyTypeDataProtectionPolicy,
		PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	if got := last(); got != masked {
		t.Fatalf("the batch through B after A put an account policy: %q, want %q", got, masked)
	}
	check("account policy")
	if _, err := ca.DeleteAccountPolicy(ctx, &cwl.DeleteAccountPolicyInput{PolicyName: aws.String("acct"), PolicyType: types.PolicyTypeDataProtectionPolicy}); err != nil {
		t.Fatal(err)
	}
	if got := last(); got != msg {
		t.Fatalf("the batch through B after A deleted the account policy: %q, want it unmasked", got)
	}
}

// TestTransformerAcrossNodes: a log transformer put through node A
// transforms the next batch ingested through node B, and once deleted
// through A no longer transforms B's next batch (B's resource cache goes
// by the group row's generation, which A's put and delete moved).
func TestTransformerAcrossNodes(t *testing.T) {
	url := pgtest.Start(t).NewDatabase(t)
	a := harness.Start(t, harness.WithStore(url))
	b := harness.Start(t, harness.WithStore(url))
	ca, cb := a.Client(), b.Client()
	ctx := context.Background()
	harness.CreateGroup(t, ca, "app", "s")
	// prod counts B's events that Insights sees transformed (env = prod).
	prod := func() string {
		t.Helper()
		now := time.Now().Unix()
		st, err := cb.StartQuery(ctx, &cwl.StartQueryInput{LogGroupNames: []string{"app"}, QueryString: aws.String(`filter env = "prod" | stats count() as n`),
			StartTime: aws.Int64(now - 600), EndTime: aws.Int64(now + 600)})
		if err != nil {
			t.Fatal(err)
		}
		out := harness.WaitQuery(t, cb, aws.ToString(st.QueryId))
		for _, row := range out.Results {
			for _, f := range row {
				if aws.ToString(f.Field) == "n" {
					return aws.ToString(f.Value)
				}
			}
		}
		return "0"
	}
	harness.PutMessages(t, cb, "app", "s", "INFO before the transformer")
	if got := prod(); got != "0" {
		t.Fatalf("before any transformer: %s transformed", got)
	}
	if _, err := ca.PutTransformer(ctx, &cwl.PutTransformerInput{LogGroupIdentifier: aws.String("app"), TransformerConfig: []types.Processor{
		{Grok: &types.Grok{Match: aws.String("%{WORD:level} %{GREEDYDATA:rest}")}},
		{AddKeys: &types.AddKeys{Entries: []types.AddKeyEntry{{Key: aws.String("env"), Value: aws.String("prod")}}}},
	}}); err != nil {
		t.Fatal(err)
	}
	harness.PutMessages(t, cb, "app", "s", "ERROR after A put the transformer")
	if got := prod(); got != "1" {
		t.Fatalf("B's batch after A put the transformer: %s transformed, want 1", got)
	}
	if _, err := ca.DeleteTransformer(ctx, &cwl.DeleteTransformerInput{LogGroupIdentifier: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	harness.PutMessages(t, cb, "app", "s", "WARN after A deleted it")
	if got := prod(); got != "1" {
		t.Fatalf("B's batch after A deleted the transformer: %s transformed, want still 1", got)
	}
}
