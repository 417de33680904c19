package insights_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

// unmaskReader may do everything but logs:Unmask.
var unmaskReader = harness.User{Name: "reader", Key: aws.Credentials{AccessKeyID: "AKIAREADERTEST000001", SecretAccessKey: "reader-secret-0123456789"},
	PolicyName: "no-unmask", Statements: []harness.Statement{harness.AllowAll(), harness.Deny([]string{"logs:Unmask"}, "*")}}

// emailPolicy masks e-mail addresses in a group (AWS's document format).
const emailPolicy = `{"Name":"p","Version":"2021-06-01","Statement":[` +
	`{"Sid":"audit","DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],"Operation":{"Audit":{"FindingsDestination":{}}}},` +
	`{"Sid":"redact","DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],"Operation":{"Deidentify":{"MaskConfig":{}}}}]}`

// TestUnmask: the unmask command and unmask(@message) over a group whose
// e-mail addresses data protection masked: the originals (the messages as
// put, by hand) for a caller allowed logs:Unmask, AccessDenied for one
// that is not, the masked text otherwise.
func TestUnmask(t *testing.T) {
	h := harness.Start(t, harness.WithUsers("123456789012", harness.Admin(), unmaskReader))
	admin := h.ClientAs(harness.Admin().Creds(), "us-east-1")
	reader := h.ClientAs(unmaskReader.Creds(), "us-east-1")
	ctx := context.Background()
	group(t, admin, "pii", "s")
	if _, err := admin.PutDataProtectionPolicy(ctx, &cwl.PutDataProtectionPolicyInput{LogGroupIdentifier: aws.String("pii"), PolicyDocument: aws.String(emailPolicy)}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(-time.Minute)
	msgs := []string{"login alice@example.com ok", `{"user":"bob@example.com","n":1}`, "plain event"}
	var evs []event
	for i, m := range msgs {
		evs = append(evs, event{now.Add(time.Duration(i) * time.Second), m})
	}
	put(t, admin, "pii", "s", evs)
	run := func(c *cwl.Client, q string) (*cwl.GetQueryResultsOutput, error) {
		out, err := c.StartQuery(ctx, &cwl.StartQueryInput{LogGroupName: aws.String("pii"), QueryString: aws.String(q),
			StartTime: aws.Int64(now.Add(-time.Hour).Unix()), EndTime: aws.Int64(now.Add(time.Hour).Unix())})
		if err != nil {
			return nil, err
		}
		res := harness.WaitQuery(t, c, *out.QueryId)
		if res.Status != types.QueryStatusComplete {
			t.Fatalf("%s: %s", q, res.Status)
		}
		return res, nil
	}
	must := func(c *cwl.Client, q string) *cwl.GetQueryResultsOutput {
		t.Helper()
		res, err := run(c, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return res
	}
	// Stored masked: the address is nowhere in a plain query.
	res := must(admin, `fields @message, unmask(@message) as orig | sort @timestamp asc`)
	if len(res.Results) != 3 {
		t.Fatalf("%d rows", len(res.Results))
	}
	for i, row := range res.Results {
		m, _ := field(row, "@message")
		o, _ := field(row, "orig")
		if o != msgs[i] {
			t.Errorf("row %d: unmask(@message) = %q, want %q", i, o, msgs[i])
		}
		if masked := strings.Contains(msgs[i], "@example.com"); masked == (m == msgs[i]) || strings.Contains(m, "@example.com") {
			t.Errorf("row %d: @message %q beside the original %q", i, m, msgs[i])
		}
	}
	count := func(c *cwl.Client, q string) string {
		t.Helper()
		res := must(c, q)
		n, _ := field(res.Results[0], "n")
		return n
	}
	if n := count(admin, `filter @message like /alice@example/ | stats count() as n`); n != "0" {
		t.Errorf("masked text matched: n=%s", n)
	}
	if n := count(admin, `unmask | filter @message like /alice@example/ | stats count() as n`); n != "1" {
		t.Errorf("unmask then filter: n=%s, want 1", n)
	}
	res = must(admin, `unmask @message | filter ispresent(user) | fields user`)
	if u, _ := field(res.Results[0], "user"); len(res.Results) != 1 || u != "bob@example.com" {
		t.Errorf("a JSON field of the original: %v", res.Results)
	}
	// Without logs:Unmask: refused, and the same query without unmask runs.
	for _, q := range []string{`unmask | stats count() as n`, `fields unmask(@message)`} {
		_, err := run(reader, q)
		apiErr(t, err, "AccessDeniedException", "logs:Unmask")
	}
	if n := count(reader, `stats count() as n`); n != "3" {
		t.Errorf("reader: n=%s", n)
	}
	for _, q := range []string{`fields unmask(@timestamp)`, `stats count() as n | unmask`, `unmask @timestamp`, `stats count() as n | fields unmask(@message)`} {
		_, err := run(admin, q)
		apiErr(t, err, "MalformedQueryException", "")
		if err == nil {
			t.Errorf("%s compiled", q)
		}
	}

}
