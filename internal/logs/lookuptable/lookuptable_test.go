package lookuptable_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/cairnlog/cairn/internal/harness"
)

func apiErr(t testing.TB, err error, code, contains string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code || !strings.Contains(ae.ErrorMessage(), contains) {
		t.Fatalf("want %s %q, got %s %q", code, contains, ae.ErrorCode(), ae.ErrorMessage())
	}
}

// TestLookupJoin creates a table and runs a StartQuery whose lookup joins
// events against it, through the real server.
func TestLookupJoin(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := context.Background()
	body := "id,name,team\n1,alice,red\n2,bob,blue\n3,carol,red\n"
	cr, err := c.CreateLookupTable(ctx, &cwl.CreateLookupTableInput{LookupTableName: aws.String("users_1"), TableBody: aws.String(body),
		Description: aws.String("who is who")})
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:logs:us-east-1:000000000000:lookup-table:users_1"; aws.ToString(cr.LookupTableArn) != want {
		t.Fatalf("arn %s, want %s", aws.ToString(cr.LookupTableArn), want)
	}
	if _, err := c.TagResource(ctx, &cwl.TagResourceInput{ResourceArn: cr.LookupTableArn, Tags: map[string]string{"team": "ops"}}); err != nil {
		t.Fatal(err)
	}
	if tg, err := c.ListTagsForResource(ctx, &cwl.ListTagsForResourceInput{ResourceArn: cr.LookupTableArn}); err != nil || tg.Tags["team"] != "ops" {
		t.Fatalf("ListTagsForResource: %v %v", tg, err)
	}
	if _, err := c.CreateLookupTable(ctx, &cwl.CreateLookupTableInput{LookupTableName: aws.String("users_1"), TableBody: aws.String(body)}); err != nil {
		apiErr(t, err, "ResourceAlreadyExistsException", "users_1")
	} else {
		t.Fatal("a second table of one name was created")
	}

	g := "/app/lookup"
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: &g}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: &g, LogStreamName: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var evs []types.InputLogEvent
	for i, m := range []string{`{"uid":"1","op":"login"}`, `{"uid":"2","op":"read"}`, `{"uid":"9","op":"write"}`, `{"uid":"3","op":"read"}`} {
		evs = append(evs, types.InputLogEvent{Message: aws.String(m), Timestamp: aws.Int64(base.Add(time.Duration(i) * time.Second).UnixMilli())})
	}
	if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: &g, LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
		t.Fatal(err)
	}
	q := "lookup users_1 id as uid OUTPUT name, team | sort @timestamp asc | display uid, op, name, team"
	got := run(t, c, g, q, base)
	// hand-written: uid 9 has no row in the table, so no name or team
	want := []string{"uid=1 op=login name=alice team=red", "uid=2 op=read name=bob team=blue", "uid=9 op=write", "uid=3 op=read name=carol team=red"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	got = run(t, c, g, "lookup users_1 id as uid OUTPUT team | stats count() as n by team | sort team asc", base)
	// hand-written; the group without a team (uid 9) sorts after the
	// others, as the language sorts a missing value in ascending order
	if want := []string{"team=blue n=1", "team=red n=2", "n=1"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("stats rows %q, want %q", got, want)
	}

	// a table made from a finished query's rows (@ptr left out)
	qid := startQ(t, c, g, "lookup users_1 id as uid OUTPUT name | filter ispresent(name) | sort @timestamp asc | display uid, name", base)
	if st := harness.WaitQuery(t, c, qid).Status; st != types.QueryStatusComplete {
		t.Fatalf("query ended %s", st)
	}
	fromQ, err := c.CreateLookupTable(ctx, &cwl.CreateLookupTableInput{LookupTableName: aws.String("from_query"), QueryId: &qid})
	if err != nil {
		t.Fatal(err)
	}
	fq, err := c.GetLookupTable(ctx, &cwl.GetLookupTableInput{LookupTableArn: fromQ.LookupTableArn})
	if err != nil {
		t.Fatal(err)
	}
	if want := "uid,name\n1,alice\n2,bob\n3,carol\n"; aws.ToString(fq.TableBody) != want {
		t.Fatalf("table from query: %q, want %q", aws.ToString(fq.TableBody), want)
	}
	_, err = c.CreateLookupTable(ctx, &cwl.CreateLookupTableInput{LookupTableName: aws.String("from_nothing"), QueryId: aws.String("no-such-query")})
	apiErr(t, err, "ResourceNotFoundException", "")

	// Update replaces the whole body; the next query sees it.
	arn := cr.LookupTableArn
	if _, err := c.UpdateLookupTable(ctx, &cwl.UpdateLookupTableInput{LookupTableArn: arn, TableBody: aws.String("id,team\n9,green\n")}); err != nil {
		t.Fatal(err)
	}
	got = run(t, c, g, "lookup users_1 id as uid OUTPUT team | filter ispresent(team) | display uid, team", base)
	if want := []string{"uid=9 team=green"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("after update %q, want %q", got, want)
	}
	gt, err := c.GetLookupTable(ctx, &cwl.GetLookupTableInput{LookupTableArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(gt.TableBody) != "id,team\n9,green\n" || aws.ToInt64(gt.SizeBytes) != 16 || aws.ToString(gt.Description) != "who is who" {
		t.Fatalf("GetLookupTable: %q %d %q", aws.ToString(gt.TableBody), aws.ToInt64(gt.SizeBytes), aws.ToString(gt.Description))
	}
	d, err := c.DescribeLookupTables(ctx, &cwl.DescribeLookupTablesInput{})
	if err != nil {
		t.Fatal(err)
	}
	d.LookupTables = d.LookupTables[1:] // from_query sorts first
	if len(d.LookupTables) != 1 || fmt.Sprint(d.LookupTables[0].TableFields) != "[id team]" || aws.ToInt64(d.LookupTables[0].RecordsCount) != 1 {
		t.Fatalf("DescribeLookupTables: %+v", d.LookupTables)
	}
	if _, err := c.DeleteLookupTable(ctx, &cwl.DeleteLookupTableInput{LookupTableArn: arn}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetLookupTable(ctx, &cwl.GetLookupTableInput{LookupTableArn: arn})
	apiErr(t, err, "ResourceNotFoundException", "users_1")
	// a query over a deleted table fails
	if st := harness.WaitQuery(t, c, startQ(t, c, g, "lookup users_1 id as uid OUTPUT team", base)).Status; st != types.QueryStatusFailed {
		t.Fatalf("query over a deleted table ended %s", st)
	}
}

func TestLookupValidation(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := context.Background()
	for _, tc := range []struct {
		name, body, code, msg string
	}{
		{"bad-name", "a\n1\n", "InvalidParameterException", "lookupTableName"},
		{"dup", "a,a\n1,2\n", "InvalidParameterException", "names column a twice"},
		{"ragged", "a,b\n1\n", "InvalidParameterException", "wrong number of fields"},
		{"empty_col", "a,,b\n1,2,3\n", "InvalidParameterException", "column 2 of the header row has no name"},
		{"quote", "a\n\"x\n", "InvalidParameterException", "not valid CSV"},
	} {
		_, err := c.CreateLookupTable(ctx, &cwl.CreateLookupTableInput{LookupTableName: aws.String(tc.name), TableBody: aws.String(tc.body)})
		t.Run(tc.name, func(t *testing.T) { apiErr(t, err, tc.code, tc.msg) })
	}
	_, err := c.CreateLookupTable(ctx, &cwl.CreateLookupTableInput{LookupTableName: aws.String("neither")})
	apiErr(t, err, "InvalidParameterException", "either tableBody or queryId")
	_, err = c.CreateLookupTable(ctx, &cwl.CreateLookupTableInput{LookupTableName: aws.String("both"), TableBody: aws.String("a\n"), QueryId: aws.String("q")})
	apiErr(t, err, "InvalidParameterException", "either tableBody or queryId")
	_, err = c.GetLookupTable(ctx, &cwl.GetLookupTableInput{LookupTableArn: aws.String("arn:aws:logs:us-east-1:111111111111:lookup-table:x")})
	apiErr(t, err, "AccessDeniedException", "logs:GetLookupTable") // another account's table
	_, err = c.GetLookupTable(ctx, &cwl.GetLookupTableInput{LookupTableArn: aws.String("arn:aws:logs:us-east-1:000000000000:lookup-table:nope")})
	apiErr(t, err, "ResourceNotFoundException", "does not exist")
	_, err = c.DeleteLookupTable(ctx, &cwl.DeleteLookupTableInput{LookupTableArn: aws.String("not-an-arn")})
	apiErr(t, err, "ResourceNotFoundException", "does not exist")
}

func startQ(t *testing.T, c *cwl.Client, g, q string, base time.Time) string {
	t.Helper()
	out, err := c.StartQuery(context.Background(), &cwl.StartQueryInput{LogGroupName: &g, QueryString: &q,
		StartTime: aws.Int64(base.Add(-time.Minute).Unix()), EndTime: aws.Int64(base.Add(time.Minute).Unix())})
	if err != nil {
		t.Fatalf("StartQuery %q: %v", q, err)
	}
	return *out.QueryId
}

// run returns each row as "f=v f=v" in the row's field order, @ptr left out.
func run(t *testing.T, c *cwl.Client, g, q string, base time.Time) []string {
	t.Helper()
	out := harness.WaitQuery(t, c, startQ(t, c, g, q, base))
	if out.Status != types.QueryStatusComplete {
		t.Fatalf("%q ended %s", q, out.Status)
	}
	var rows []string
	for _, r := range out.Results {
		var fs []string
		for _, f := range r {
			if aws.ToString(f.Field) != "@ptr" {
				fs = append(fs, aws.ToString(f.Field)+"="+aws.ToString(f.Value))
			}
		}
		rows = append(rows, strings.Join(fs, " "))
	}
	return rows
}

// TestDescribePaging: three tables, pages of two by name, and a prefix.
func TestDescribePaging(t *testing.T) {
	h := harness.Start(t)
	c := h.Client()
	ctx := context.Background()
	for _, n := range []string{"b_t", "a_t", "c_x"} {
		if _, err := c.CreateLookupTable(ctx, &cwl.CreateLookupTableInput{LookupTableName: aws.String(n), TableBody: aws.String("k\n1\n")}); err != nil {
			t.Fatal(err)
		}
	}
	p1, err := c.DescribeLookupTables(ctx, &cwl.DescribeLookupTablesInput{MaxResults: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.LookupTables) != 2 || aws.ToString(p1.LookupTables[0].LookupTableName) != "a_t" || p1.NextToken == nil {
		t.Fatalf("page 1: %+v", p1)
	}
	p2, err := c.DescribeLookupTables(ctx, &cwl.DescribeLookupTablesInput{MaxResults: 2, NextToken: p1.NextToken})
	if err != nil {
		t.Fatal(err)
	}
	if len(p2.LookupTables) != 1 || aws.ToString(p2.LookupTables[0].LookupTableName) != "c_x" || p2.NextToken != nil {
		t.Fatalf("page 2: %+v", p2)
	}
	px, err := c.DescribeLookupTables(ctx, &cwl.DescribeLookupTablesInput{LookupTableNamePrefix: aws.String("c")})
	if err != nil {
		t.Fatal(err)
	}
	if len(px.LookupTables) != 1 || aws.ToString(px.LookupTables[0].LookupTableName) != "c_x" {
		t.Fatalf("prefix c: %+v", px.LookupTables)
	}
	_, err = c.DescribeLookupTables(ctx, &cwl.DescribeLookupTablesInput{NextToken: aws.String("!!")})
	apiErr(t, err, "InvalidParameterException", "nextToken")
}
