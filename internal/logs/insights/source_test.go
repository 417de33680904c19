package insights_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

// TestSourceOptions: SOURCE's selectors and window through StartQuery with
// no log group parameter. The corpus: src-a (STANDARD, 3 events), src-b
// (INFREQUENT_ACCESS, 2), other (STANDARD, 4: two an hour old, two ten
// minutes old); the expected counts are those numbers, by hand.
func TestSourceOptions(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	old := now.Add(-70 * time.Minute)
	for _, g := range []struct {
		name, class string
		times       []time.Time
	}{
		{"src-a", "STANDARD", []time.Time{old, old.Add(time.Second), now.Add(-10 * time.Minute)}},
		{"src-b", "INFREQUENT_ACCESS", []time.Time{old, now.Add(-10 * time.Minute)}},
		{"other", "", []time.Time{old, old.Add(2 * time.Second), now.Add(-10 * time.Minute), now.Add(-9 * time.Minute)}},
	} {
		in := &cwl.CreateLogGroupInput{LogGroupName: aws.String(g.name)}
		if g.class != "" {
			in.LogGroupClass = types.LogGroupClass(g.class)
		}
		if _, err := c.CreateLogGroup(ctx, in); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String(g.name), LogStreamName: aws.String("s")}); err != nil {
			t.Fatal(err)
		}
		var evs []event
		for i, ts := range g.times {
			evs = append(evs, event{ts, fmt.Sprintf("%s event %d", g.name, i)})
		}
		put(t, c, g.name, "s", evs)
	}
	// The API window covers everything; SOURCE narrows it or not.
	from, to := now.Add(-3*time.Hour).Unix(), now.Add(time.Hour).Unix()
	count := func(q string) (string, *cwl.GetQueryResultsOutput) {
		t.Helper()
		out, err := c.StartQuery(ctx, &cwl.StartQueryInput{QueryString: aws.String(q), StartTime: aws.Int64(from), EndTime: aws.Int64(to)})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		res := harness.WaitQuery(t, c, *out.QueryId)
		if res.Status != types.QueryStatusComplete || len(res.Results) != 1 {
			t.Fatalf("%s: %s %v", q, res.Status, res.Results)
		}
		n, _ := field(res.Results[0], "n")
		return n, res
	}
	ms := func(ts time.Time) string { return strconv.FormatInt(ts.UnixMilli(), 10) }
	for _, tc := range []struct{ q, want string }{
		{`SOURCE logGroups(namePrefix: ['src-']) | stats count() as n`, "3"},                                         // STANDARD by default
		{`SOURCE logGroups(namePrefix: ['src-'], class: ['INFREQUENT_ACCESS']) | stats count() as n`, "2"},           // the other class
		{`SOURCE logGroups(class: ['STANDARD', 'INFREQUENT_ACCESS']) | stats count() as n`, "9"},                     // both, every prefix
		{`SOURCE logGroups() | stats count() as n`, "7"},                                                             // every STANDARD group
		{`SOURCE logGroups(accountIdentifiers: ['` + account + `'], namePrefix: ['oth']) | stats count() as n`, "4"}, // own account
		{`SOURCE logGroups(namePrefix: ['src-', 'oth']) | stats count() as n`, "7"},                                  // two prefixes
		{`SOURCE "other" START=` + ms(old) + ` END=` + ms(old.Add(2*time.Second)) + ` | stats count() as n`, "2"},    // absolute ms, both inclusive
		{`SOURCE "other" START=` + ms(old.Add(time.Millisecond)) + ` END=` + ms(now) + ` | stats count() as n`, "3"},
		{`SOURCE "other" START=-30m END=0s | stats count() as n`, "2"}, // relative to now
		{`SOURCE logGroups(namePrefix: ['src-', 'oth']) START=-2h END=-1h | stats count() as n`, "4"},
	} {
		if n, _ := count(tc.q); n != tc.want {
			t.Errorf("%s: n=%s, want %s", tc.q, n, tc.want)
		}
	}
	// DescribeQueries shows a SOURCE query as it was given.
	q := `SOURCE logGroups(namePrefix: ['oth']) START=-30m END=0s | stats count() as n`
	count(q)
	d, err := c.DescribeQueries(ctx, &cwl.DescribeQueriesInput{LogGroupName: aws.String("other")})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, qi := range d.Queries {
		found = found || aws.ToString(qi.QueryString) == q
	}
	if !found {
		t.Fatalf("DescribeQueries does not show %q: %+v", q, d.Queries)
	}

	start := func(q string) error {
		_, err := c.StartQuery(ctx, &cwl.StartQueryInput{QueryString: aws.String(q), StartTime: aws.Int64(from), EndTime: aws.Int64(to)})
		return err
	}
	// Another account: no cross-account links here, so nothing is selected.
	apiErr(t, start(`SOURCE logGroups(accountIdentifiers: ['111111111111']) | stats count()`), "InvalidParameterException", "unless the query string has a SOURCE command")
	apiErr(t, start(`SOURCE logGroups(class: ['COLD']) | stats count()`), "MalformedQueryException", "")
	apiErr(t, start(`SOURCE "other" START=-1m END=-2m | stats count()`), "InvalidParameterException", "")
	// SOURCE and a group parameter together: refused.
	_, err = c.StartQuery(ctx, &cwl.StartQueryInput{LogGroupName: aws.String("other"), QueryString: aws.String(`SOURCE logGroups() | stats count()`),
		StartTime: aws.Int64(from), EndTime: aws.Int64(to)})
	apiErr(t, err, "InvalidParameterException", "Exactly one of logGroupName")
}
