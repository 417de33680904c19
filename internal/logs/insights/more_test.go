package insights_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

// analyst may query only the group "public" (and read or stop any query);
// other is an administrator of another account.
var (
	analystUser = harness.User{Name: "analyst", Key: aws.Credentials{AccessKeyID: "AKIAANALYSTTEST00001", SecretAccessKey: "analyst-secret-0123456789"},
		PolicyName: "public-only", Statements: []harness.Statement{
			harness.Allow([]string{"logs:StartQuery", "logs:GetQueryResults", "logs:GetLogRecord", "logs:StopQuery", "logs:DescribeQueries"},
				"arn:aws:logs:us-east-1:123456789012:log-group:public:*", "arn:aws:logs:us-east-1:123456789012:log-group:public"),
			harness.Allow([]string{"logs:GetQueryResults", "logs:DescribeQueries", "logs:StopQuery"}, "*"),
		}}
	otherUser = harness.UserAllowedAll("other", "AKIAOTHERTEST0000001", "other-secret-0123456789")
)

func TestIAMAndAccounts(t *testing.T) {
	s := harness.Start(t, harness.WithAccounts(harness.Account{ID: "123456789012", Users: []harness.User{harness.Admin(), analystUser}},
		harness.Account{ID: "210987654321", Users: []harness.User{otherUser}}))
	admin := s.ClientAs(harness.Admin().Creds(), "us-east-1")
	analyst := s.ClientAs(analystUser.Creds(), "us-east-1")
	other := s.ClientAs(otherUser.Creds(), "us-east-1")
	ctx := context.Background()
	group(t, admin, "public", "s")
	group(t, admin, "secret", "s")
	put(t, admin, "public", "s", []event{{base, "hello public"}})
	put(t, admin, "secret", "s", []event{{base, "hello secret"}})

	_, err := analyst.StartQuery(ctx, &cwl.StartQueryInput{LogGroupNames: []string{"public", "secret"}, QueryString: aws.String("fields @message"),
		StartTime: aws.Int64(base.Unix()), EndTime: aws.Int64(base.Unix() + 60)})
	apiErr(t, err, "AccessDeniedException", "logs:StartQuery")
	id := start(t, analyst, "fields @message", "public")
	out := harness.WaitQuery(t, analyst, id)
	if len(out.Results) != 1 {
		t.Fatalf("rows %+v", out.Results)
	}
	// The admin's pointer into the secret group: the analyst may not read it.
	sid := start(t, admin, "fields @message", "secret")
	sec := harness.WaitQuery(t, admin, sid)
	ptr, _ := field(sec.Results[0], "@ptr")
	_, err = analyst.GetLogRecord(ctx, &cwl.GetLogRecordInput{LogRecordPointer: &ptr})
	apiErr(t, err, "AccessDeniedException", "logs:GetLogRecord")
	if _, err := admin.GetLogRecord(ctx, &cwl.GetLogRecordInput{LogRecordPointer: &ptr}); err != nil {
		t.Fatal(err)
	}
	// Another account sees neither the query nor the pointer.
	_, err = other.GetQueryResults(ctx, &cwl.GetQueryResultsInput{QueryId: &sid})
	apiErr(t, err, "ResourceNotFoundException", "does not exist")
	_, err = other.StopQuery(ctx, &cwl.StopQueryInput{QueryId: &sid})
	apiErr(t, err, "ResourceNotFoundException", "does not exist")
	_, err = other.GetLogRecord(ctx, &cwl.GetLogRecordInput{LogRecordPointer: &ptr})
	apiErr(t, err, "InvalidParameterException", "logRecordPointer")
	dq, err := other.DescribeQueries(ctx, &cwl.DescribeQueriesInput{})
	if err != nil || len(dq.Queries) != 0 {
		t.Fatalf("other account's queries: %v %+v", err, dq)
	}
}

func TestFieldsDefinitionsIndexPolicies(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	ctx := context.Background()
	group(t, c, "api", "s")
	now := time.Now()
	var evs []event
	for i := 0; i < 10; i++ {
		msg := fmt.Sprintf(`{"user":"u%d","latency":%d}`, i, i*10)
		if i < 4 {
			msg = fmt.Sprintf(`{"user":"u%d","latency":%d,"err":{"code":%d}}`, i, i*10, 500+i)
		}
		evs = append(evs, event{now.Add(time.Duration(i-20) * time.Second), msg})
	}
	put(t, c, "api", "s", evs)
	f, err := c.GetLogGroupFields(ctx, &cwl.GetLogGroupFieldsInput{LogGroupName: aws.String("api")})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int32{}
	for _, x := range f.LogGroupFields {
		got[aws.ToString(x.Name)] = x.Percent
	}
	for name, pct := range map[string]int32{"@timestamp": 100, "@message": 100, "user": 100, "latency": 100, "err.code": 40} {
		if got[name] != pct {
			t.Fatalf("field %s: %d%%, want %d (%v)", name, got[name], pct, got)
		}
	}
	if last := f.LogGroupFields[len(f.LogGroupFields)-1]; aws.ToString(last.Name) != "err.code" {
		t.Fatalf("not sorted by percent: %v", f.LogGroupFields)
	}
	// An old time with no events: an empty list.
	f, err = c.GetLogGroupFields(ctx, &cwl.GetLogGroupFieldsInput{LogGroupName: aws.String("api"), Time: aws.Int64(now.Add(-24 * time.Hour).Unix())})
	if err != nil || len(f.LogGroupFields) != 0 {
		t.Fatalf("old window: %v %+v", err, f)
	}
	_, err = c.GetLogGroupFields(ctx, &cwl.GetLogGroupFieldsInput{LogGroupName: aws.String("nope")})
	apiErr(t, err, "ResourceNotFoundException", "log group")
	_, err = c.GetLogGroupFields(ctx, &cwl.GetLogGroupFieldsInput{LogGroupName: aws.String("api"), LogGroupIdentifier: aws.String("api")})
	apiErr(t, err, "InvalidParameterException", "mutually exclusive")

	// Query definitions.
	d1, err := c.PutQueryDefinition(ctx, &cwl.PutQueryDefinitionInput{Name: aws.String("errors/by-user"), QueryString: aws.String("stats count() by user"),
		LogGroupNames: []string{"api"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutQueryDefinition(ctx, &cwl.PutQueryDefinitionInput{Name: aws.String("latency"), QueryString: aws.String("stats avg(latency)")}); err != nil {
		t.Fatal(err)
	}
	// Update replaces every member: logGroupNames go.
	if _, err := c.PutQueryDefinition(ctx, &cwl.PutQueryDefinitionInput{QueryDefinitionId: d1.QueryDefinitionId, Name: aws.String("errors/by-user"),
		QueryString: aws.String("stats count() by user | sort user")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.PutQueryDefinition(ctx, &cwl.PutQueryDefinitionInput{QueryDefinitionId: aws.String("00000000-0000-4000-8000-000000000000"), Name: aws.String("x"), QueryString: aws.String("x")})
	apiErr(t, err, "ResourceNotFoundException", "query definition")
	dd, err := c.DescribeQueryDefinitions(ctx, &cwl.DescribeQueryDefinitionsInput{QueryDefinitionNamePrefix: aws.String("errors/")})
	if err != nil || len(dd.QueryDefinitions) != 1 {
		t.Fatalf("by prefix: %v %+v", err, dd)
	}
	if d := dd.QueryDefinitions[0]; aws.ToString(d.QueryString) != "stats count() by user | sort user" || len(d.LogGroupNames) != 0 {
		t.Fatalf("updated definition %+v", d)
	}
	p1, err := c.DescribeQueryDefinitions(ctx, &cwl.DescribeQueryDefinitionsInput{MaxResults: aws.Int32(1)})
	if err != nil || len(p1.QueryDefinitions) != 1 || p1.NextToken == nil || aws.ToString(p1.QueryDefinitions[0].Name) != "errors/by-user" {
		t.Fatalf("page 1 %v %+v", err, p1)
	}
	p2, err := c.DescribeQueryDefinitions(ctx, &cwl.DescribeQueryDefinitionsInput{MaxResults: aws.Int32(1), NextToken: p1.NextToken})
	if err != nil || len(p2.QueryDefinitions) != 1 || p2.NextToken != nil || aws.ToString(p2.QueryDefinitions[0].Name) != "latency" {
		t.Fatalf("page 2 %v %+v", err, p2)
	}
	del, err := c.DeleteQueryDefinition(ctx, &cwl.DeleteQueryDefinitionInput{QueryDefinitionId: d1.QueryDefinitionId})
	if err != nil || !del.Success {
		t.Fatal(err)
	}
	_, err = c.DeleteQueryDefinition(ctx, &cwl.DeleteQueryDefinitionInput{QueryDefinitionId: d1.QueryDefinitionId})
	apiErr(t, err, "ResourceNotFoundException", "query definition")

	// Index policies.
	ip, err := c.PutIndexPolicy(ctx, &cwl.PutIndexPolicyInput{LogGroupIdentifier: aws.String("api"), PolicyDocument: aws.String(`{"Fields":["user"],"FieldsV2":{"err.code":{"type":"FACET"}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(ip.IndexPolicy.LogGroupIdentifier) != "arn:aws:logs:us-east-1:"+account+":log-group:api" || ip.IndexPolicy.Source != types.IndexSourceLogGroup {
		t.Fatalf("policy %+v", ip.IndexPolicy)
	}
	for _, bad := range []string{`[]`, `{"Fields":[]}`, `{"Fields":["a"],"FieldsV2":{"a":{"type":"FIELD_INDEX"}}}`, `{"FieldsV2":{"a":{"type":"BTREE"}}}`,
		`{"Fields":["` + strings.Repeat("x", 101) + `"]}`} {
		_, err = c.PutIndexPolicy(ctx, &cwl.PutIndexPolicyInput{LogGroupIdentifier: aws.String("api"), PolicyDocument: aws.String(bad)})
		apiErr(t, err, "InvalidParameterException", "policy document")
	}
	var many []string
	for i := 0; i < 21; i++ {
		many = append(many, fmt.Sprintf(`"f%d"`, i))
	}
	_, err = c.PutIndexPolicy(ctx, &cwl.PutIndexPolicyInput{LogGroupIdentifier: aws.String("api"), PolicyDocument: aws.String(`{"Fields":[` + strings.Join(many, ",") + `]}`)})
	apiErr(t, err, "InvalidParameterException", "20 fields")
	dp, err := c.DescribeIndexPolicies(ctx, &cwl.DescribeIndexPoliciesInput{LogGroupIdentifiers: []string{"api"}})
	if err != nil || len(dp.IndexPolicies) != 1 {
		t.Fatalf("describe: %v %+v", err, dp)
	}
	fi, err := c.DescribeFieldIndexes(ctx, &cwl.DescribeFieldIndexesInput{LogGroupIdentifiers: []string{"api"}, IndexCategories: []types.IndexCategory{types.IndexCategoryCustom}})
	if err != nil || len(fi.FieldIndexes) != 2 {
		t.Fatalf("field indexes: %v %+v", err, fi)
	}
	if _, err := c.DeleteIndexPolicy(ctx, &cwl.DeleteIndexPolicyInput{LogGroupIdentifier: aws.String("api")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteIndexPolicy(ctx, &cwl.DeleteIndexPolicyInput{LogGroupIdentifier: aws.String("api")})
	apiErr(t, err, "ResourceNotFoundException", "index policy")
	_, err = c.PutIndexPolicy(ctx, &cwl.PutIndexPolicyInput{LogGroupIdentifier: aws.String("nope"), PolicyDocument: aws.String(`{"Fields":["a"]}`)})
	apiErr(t, err, "ResourceNotFoundException", "log group")
}

// TestGrafanaSequence replays what Grafana's CloudWatch data source sends
// for a logs query (reference insights.md §8; grafana-cloudwatch-datasource
// pkg/cloudwatch/log_actions.go): StartQuery with its injected fields
// prefix and queryLanguage CWLI, GetQueryResults polled without maxItems
// until a terminal status, StopQuery (InvalidParameterException once done,
// which Grafana maps to success:false), GetLogGroupFields by name without
// time, then the row-context GetLogEvents from __log__grafana_internal__.
func TestGrafanaSequence(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	ctx := context.Background()
	group(t, c, "/aws/lambda/checkout", "2025/03/01/[$LATEST]abc")
	now := time.Now()
	var evs []event
	for i := 0; i < 20; i++ {
		evs = append(evs, event{now.Add(time.Duration(i-60) * time.Second), fmt.Sprintf(`{"level":"%s","n":%d}`, []string{"info", "error"}[i%2], i)})
	}
	put(t, c, "/aws/lambda/checkout", "2025/03/01/[$LATEST]abc", evs)
	from, to := now.Add(-5*time.Minute), now
	user := "filter level = 'error' | fields @timestamp, @message | sort @timestamp desc"
	out, err := c.StartQuery(ctx, &cwl.StartQueryInput{
		QueryString:   aws.String("fields @timestamp,ltrim(@log) as __log__grafana_internal__,ltrim(@logStream) as __logstream__grafana_internal__|" + user),
		LogGroupNames: []string{"/aws/lambda/checkout"},
		StartTime:     aws.Int64(from.Unix()),
		EndTime:       aws.Int64(int64(float64(to.UnixNano())/1e9 + 0.999999)),
		QueryLanguage: types.QueryLanguageCwli,
	})
	if err != nil {
		t.Fatal(err)
	}
	res := harness.WaitQuery(t, c, *out.QueryId)
	if res.Status != types.QueryStatusComplete || len(res.Results) != 10 {
		t.Fatalf("%s, %d rows", res.Status, len(res.Results))
	}
	// Cross-account mode: logGroupIdentifiers are DescribeLogGroups' ARNs
	// with the trailing "*" cut off.
	dg, err := c.DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{Limit: aws.Int32(50)})
	if err != nil || len(dg.LogGroups) != 1 {
		t.Fatalf("DescribeLogGroups: %v %+v", err, dg)
	}
	arn := strings.TrimSuffix(aws.ToString(dg.LogGroups[0].Arn), "*")
	x, err := c.StartQuery(ctx, &cwl.StartQueryInput{QueryString: aws.String("fields @timestamp,ltrim(@log) as __log__grafana_internal__,ltrim(@logStream) as __logstream__grafana_internal__|" + user),
		LogGroupIdentifiers: []string{arn}, StartTime: aws.Int64(from.Unix()), EndTime: aws.Int64(to.Unix() + 1), QueryLanguage: types.QueryLanguageCwli})
	if err != nil {
		t.Fatalf("StartQuery with %s: %v", arn, err)
	}
	if r := harness.WaitQuery(t, c, *x.QueryId); len(r.Results) != 10 {
		t.Fatalf("cross-account form: %d rows", len(r.Results))
	}
	// Grafana's parsing (logsResultsToDataframes): a column is time when
	// its first value parses as 2006-01-02 15:04:05.000 or it is
	// @timestamp; every @timestamp must then parse.
	for _, r := range res.Results {
		for _, f := range r {
			if aws.ToString(f.Field) == "@timestamp" {
				if _, err := time.Parse("2006-01-02 15:04:05.000", aws.ToString(f.Value)); err != nil {
					t.Fatalf("@timestamp %q", aws.ToString(f.Value))
				}
			}
		}
	}
	row := res.Results[0]
	ts, _ := field(row, "@timestamp")
	if _, err := time.Parse("2006-01-02 15:04:05.000", ts); err != nil {
		t.Fatalf("@timestamp %q is not Grafana's format", ts)
	}
	logName, ok := field(row, "__log__grafana_internal__")
	if !ok || logName != account+":/aws/lambda/checkout" {
		t.Fatalf("__log__grafana_internal__ %q", logName)
	}
	streamName, _ := field(row, "__logstream__grafana_internal__")
	_, err = c.StopQuery(ctx, &cwl.StopQueryInput{QueryId: out.QueryId})
	apiErr(t, err, "InvalidParameterException", "")
	f, err := c.GetLogGroupFields(ctx, &cwl.GetLogGroupFieldsInput{LogGroupName: aws.String("/aws/lambda/checkout")})
	if err != nil || len(f.LogGroupFields) == 0 {
		t.Fatalf("fields: %v %+v", err, f)
	}
	// Row context: the group is what follows the last ':' of @log.
	tsMs, _ := time.Parse("2006-01-02 15:04:05.000", ts)
	ge, err := c.GetLogEvents(ctx, &cwl.GetLogEventsInput{LogGroupName: aws.String(logName[strings.LastIndex(logName, ":")+1:]),
		LogStreamName: &streamName, Limit: aws.Int32(10), EndTime: aws.Int64(tsMs.UnixMilli())})
	if err != nil || len(ge.Events) == 0 {
		t.Fatalf("row context: %v %+v", err, ge)
	}
}

// corpus is the golden suite's fixed generated data: access logs, JSON
// application events and Lambda REPORT lines, from a seeded generator.
type corpus struct {
	access, app, lambda []event
}

func makeCorpus() corpus {
	r := rand.New(rand.NewPCG(11, 12))
	var c corpus
	statuses := []int{200, 200, 200, 201, 304, 404, 500, 503}
	paths := []string{"/", "/api/users", "/api/orders", "/health"}
	for i := 0; i < 3000; i++ {
		ts := base.Add(time.Duration(i) * time.Second)
		c.access = append(c.access, event{ts, fmt.Sprintf(`10.0.%d.%d - - [%s] "GET %s HTTP/1.1" %d %d`, r.IntN(4), r.IntN(250),
			ts.Format("02/Jan/2006:15:04:05 -0700"), paths[r.IntN(len(paths))], statuses[r.IntN(len(statuses))], r.IntN(5000))})
		lvl := []string{"INFO", "INFO", "WARN", "ERROR"}[r.IntN(4)]
		c.app = append(c.app, event{ts, fmt.Sprintf(`{"level":"%s","user":"u%d","latency":%d,"msg":"request done"}`, lvl, r.IntN(7), r.IntN(900))})
		if i%3 == 0 {
			c.lambda = append(c.lambda, event{ts, fmt.Sprintf("REPORT RequestId: %08x-0000-4000-8000-000000000000\tDuration: %d.%02d ms\tBilled Duration: %d ms\tMemory Size: 128 MB\tMax Memory Used: %d MB",
				i, r.IntN(300), r.IntN(100), 100+r.IntN(300), 40+r.IntN(80))})
		}
	}
	return c
}

// TestGolden runs queries over the corpus and compares each result with
// the same computation done here in plain Go over the generated events.
func TestGolden(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	cp := makeCorpus()
	for name, evs := range map[string][]event{"access": cp.access, "app": cp.app, "lambda": cp.lambda} {
		group(t, c, name, "s")
		put(t, c, name, "s", evs)
	}
	rows := func(out *cwl.GetQueryResultsOutput, cols ...string) []string {
		var got []string
		for _, r := range out.Results {
			var parts []string
			for _, col := range cols {
				v, _ := field(r, col)
				parts = append(parts, v)
			}
			got = append(got, strings.Join(parts, "|"))
		}
		return got
	}
	check := func(q string, got, want []string) {
		t.Helper()
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\n got  %v\n want %v", q, got, want)
		}
	}

	// Access logs: parse the status, count by it.
	q := `parse @message /" (?<status>\d{3}) / | stats count() as n by status | sort status asc`
	byStatus := map[string]int{}
	for _, e := range cp.access {
		f := strings.Fields(e.msg)
		byStatus[f[len(f)-2]]++
	}
	var want []string
	for _, k := range sortedKeys(byStatus) {
		want = append(want, k+"|"+strconv.Itoa(byStatus[k]))
	}
	check(q, rows(query(t, c, q, "access"), "status", "n"), want)

	// JSON: sum and count of latency by user, errors only.
	q = `filter level = "ERROR" | stats sum(latency) as total, count(*) as n by user | sort user asc`
	type agg struct{ sum, n int }
	byUser := map[string]*agg{}
	for _, e := range cp.app {
		if !strings.Contains(e.msg, `"level":"ERROR"`) {
			continue
		}
		var user string
		var lat int
		fmt.Sscanf(e.msg[strings.Index(e.msg, `"user":"`)+8:], "%s", &user)
		user = user[:strings.Index(user, `"`)]
		fmt.Sscanf(e.msg[strings.Index(e.msg, `"latency":`)+10:], "%d", &lat)
		if byUser[user] == nil {
			byUser[user] = &agg{}
		}
		byUser[user].sum += lat
		byUser[user].n++
	}
	want = nil
	for _, u := range sortedKeys(byUser) {
		want = append(want, fmt.Sprintf("%s|%d|%d", u, byUser[u].sum, byUser[u].n))
	}
	check(q, rows(query(t, c, q, "app"), "user", "total", "n"), want)

	// Lambda REPORT lines: glob parse, max and sum.
	q = `parse @message "Billed Duration: * ms" as billed | stats sum(billed) as b, count(*) as n`
	sum := 0
	for _, e := range cp.lambda {
		var b int
		fmt.Sscanf(e.msg[strings.Index(e.msg, "Billed Duration: ")+17:], "%d", &b)
		sum += b
	}
	check(q, rows(query(t, c, q, "lambda"), "b", "n"), []string{fmt.Sprintf("%d|%d", sum, len(cp.lambda))})

	// Across groups: 5-minute bins, ascending.
	q = `stats count() as n by bin(5m) as t | sort t asc`
	bins := map[string]int{}
	for _, evs := range [][]event{cp.access, cp.app, cp.lambda} {
		for _, e := range evs {
			bins[e.ts.Truncate(5*time.Minute).Format("2006-01-02 15:04:05.000")]++
		}
	}
	want = nil
	for _, k := range sortedKeys(bins) {
		want = append(want, fmt.Sprintf("%s|%d", k, bins[k]))
	}
	check(q, rows(query(t, c, q, "access", "app", "lambda"), "t", "n"), want)

	// A regex filter and the newest rows, with the query's statistics.
	q = `filter @message like /" 50[03] / | fields @timestamp, @message | sort @timestamp desc | limit 3`
	var five []event
	for _, e := range cp.access {
		if strings.Contains(e.msg, `" 500 `) || strings.Contains(e.msg, `" 503 `) {
			five = append(five, e)
		}
	}
	want = nil
	for i := len(five) - 1; i >= len(five)-3; i-- {
		want = append(want, five[i].msg)
	}
	out := query(t, c, q, "access")
	check(q, rows(out, "@message"), want)
	// The newest rows are read backward and the read stops once enough
	// matched, so recordsMatched counts what was read: at least the rows.
	if m := int(out.Statistics.RecordsMatched); m < 3 || m > len(five) || int(out.Statistics.RecordsScanned) < m {
		t.Errorf("statistics %+v, %d matching", *out.Statistics, len(five))
	}
	// A full count of the same filter sees every match.
	q = `filter @message like /" 50[03] / | stats count() as n`
	check(q, rows(query(t, c, q, "access"), "n"), []string{strconv.Itoa(len(five))})

	// Pagination: 3,000 rows in pages of 1,000 by nextToken.
	id := start(t, c, "fields @message | limit 3000", "access")
	harness.WaitQuery(t, c, id)
	var n, pages int
	var tok *string
	for {
		p, err := c.GetQueryResults(context.Background(), &cwl.GetQueryResultsInput{QueryId: &id, MaxItems: aws.Int32(1000), NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		n += len(p.Results)
		pages++
		if p.NextToken == nil {
			break
		}
		tok = p.NextToken
	}
	if n != 3000 || pages != 3 {
		t.Errorf("paged %d rows in %d pages", n, pages)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// TestNewestAcrossGroups: the newest rows of several groups (read
// backward, group by group) are the newest overall, with and without a
// filter, and a query without sort returns newest first.
func TestNewestAcrossGroups(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	group(t, c, "even", "s")
	group(t, c, "odd", "s")
	var even, odd []event
	for i := 0; i < 4000; i++ {
		e := event{base.Add(time.Duration(i) * time.Second), fmt.Sprintf("n=%d %s", i, []string{"", "hit"}[btoi(i%7 == 0)])}
		if i%2 == 0 {
			even = append(even, e)
		} else {
			odd = append(odd, e)
		}
	}
	put(t, c, "even", "s", even)
	put(t, c, "odd", "s", odd)
	want := func(n int, hit bool) []string {
		var out []string
		for i := 3600; i >= 0 && len(out) < n; i-- { // the window is [base, base+1h]
			if !hit || i%7 == 0 {
				out = append(out, fmt.Sprintf("n=%d %s", i, []string{"", "hit"}[btoi(i%7 == 0)]))
			}
		}
		return out
	}
	msgs := func(out *cwl.GetQueryResultsOutput) []string {
		var m []string
		for _, r := range out.Results {
			v, _ := field(r, "@message")
			m = append(m, v)
		}
		return m
	}
	for _, tc := range []struct {
		q   string
		n   int
		hit bool
	}{
		{"fields @message | sort @timestamp desc | limit 7", 7, false},
		{"filter @message like /hit/ | fields @message | sort @timestamp desc | limit 150", 150, true},
		{"fields @message | limit 30", 30, false},
		{"filter @message like /hit/", 4000, true},
	} {
		got := msgs(query(t, c, tc.q, "even", "odd"))
		if w := want(tc.n, tc.hit); strings.Join(got, "\n") != strings.Join(w, "\n") {
			t.Errorf("%s: %d rows, want %d; first %v, want %v", tc.q, len(got), len(w), got[:min(3, len(got))], w[:min(3, len(w))])
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestPartialResults polls a running query as Grafana does: the
// statistics never go backwards, every answer is a valid state, and the
// final count is exact. (Whether a poll lands while the query is Running
// depends on the machine; the test does not require it.)
func TestPartialResults(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	group(t, c, "busy", "a", "b")
	var n int
	for b := 0; b < 20; b++ {
		var evs []event
		for i := 0; i < 5000; i++ {
			evs = append(evs, event{base.Add(time.Duration(b*5000+i) * 30 * time.Millisecond), fmt.Sprintf("k=%d v=%d", (b*5000+i)%997, i)})
			n++
		}
		put(t, c, "busy", []string{"a", "b"}[b%2], evs)
	}
	id := start(t, c, "stats count() as n by bin(1m) as t | sort t", "busy")
	var last float64
	var statuses []types.QueryStatus
	var out *cwl.GetQueryResultsOutput
	harness.CheckFor(t, 30*time.Second, time.Millisecond, func() error {
		var err error
		out, err = c.GetQueryResults(context.Background(), &cwl.GetQueryResultsInput{QueryId: &id})
		if err != nil {
			t.Fatal(err)
		}
		if len(statuses) == 0 || statuses[len(statuses)-1] != out.Status {
			statuses = append(statuses, out.Status)
		}
		if out.Statistics.RecordsScanned < last {
			t.Fatalf("recordsScanned went back from %v to %v", last, out.Statistics.RecordsScanned)
		}
		last = out.Statistics.RecordsScanned
		if out.Status != types.QueryStatusComplete {
			return fmt.Errorf("status %s", out.Status)
		}
		return nil
	})
	for _, st := range statuses {
		if st != types.QueryStatusScheduled && st != types.QueryStatusRunning && st != types.QueryStatusComplete {
			t.Fatalf("statuses %v", statuses)
		}
	}
	total := 0
	for _, r := range out.Results {
		v, _ := field(r, "n")
		k, _ := strconv.Atoi(v)
		total += k
	}
	// The window is [base, base+1h]: 30 ms apart, 100,000 events span 50 minutes.
	if total != n || last != float64(n) {
		t.Fatalf("counted %d, scanned %v, want %d (statuses %v)", total, last, n, statuses)
	}
}

// TestFieldFilterSkipsBlocks: `filter user = "hsword"` reads only the
// blocks whose summaries may hold the value (the one batch of hsword, and
// the one with an escaped spelling of it, which must still be found), with
// or without a field index policy: the language pushes the value down as a
// literal every unescaped match contains. (The engine's summaries hold
// 4-grams of word runs, so a value skips blocks when its words are rare:
// ids, names; "user-7" would not.)
// TestFieldFilterSkipsBlocks: a rare value skips blocks, and the skipped
// records are estimated in the statistics; a query that skips nothing has
// no estimates in its answer at all (raw JSON: the SDK reads absent as 0).
func TestFieldFilterSkipsBlocks(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	ctx := context.Background()
	group(t, c, "idx", "s")
	total := 0
	for b := 0; b < 20; b++ {
		var evs []event
		for i := 0; i < 200; i++ {
			evs = append(evs, event{base.Add(time.Duration(b*200+i) * 500 * time.Millisecond), fmt.Sprintf(`{"user":"%c%cword","i":%d}`, 'a'+b, 'z'-b, i)})
		}
		put(t, c, "idx", "s", evs)
		total += len(evs)
	}
	put(t, c, "idx", "s", []event{{base.Add(2001 * time.Second), `{"user":"hs\u0077ord","i":-1}`}})
	total++
	q := `filter user = "hsword" | stats count() as n`
	for _, policy := range []bool{false, true} {
		if policy {
			if _, err := c.PutIndexPolicy(ctx, &cwl.PutIndexPolicyInput{LogGroupIdentifier: aws.String("idx"), PolicyDocument: aws.String(`{"Fields":["user"]}`)}); err != nil {
				t.Fatal(err)
			}
		}
		out := query(t, c, q, "idx")
		n, _ := field(out.Results[0], "n")
		if n != "201" || out.Statistics.RecordsScanned >= float64(total)/2 {
			t.Fatalf("policy %v: n=%s scanned=%v of %d", policy, n, out.Statistics.RecordsScanned, total)
		}
		// What was not scanned was skipped: the estimates are there and,
		// with what was scanned, account for every event (each put is
		// its own block, wholly inside the window, so the estimate is
		// exact here).
		st := out.Statistics
		if st.RecordsScanned+st.EstimatedRecordsSkipped != float64(total) || st.EstimatedBytesSkipped <= 0 {
			t.Fatalf("policy %v: skipped %v records, %v bytes; scanned %v of %d", policy, st.EstimatedRecordsSkipped, st.EstimatedBytesSkipped, st.RecordsScanned, total)
		}
	}
	id := start(t, c, "stats count() as n", "idx")
	harness.WaitQuery(t, c, id)
	r := s.Call(t, "GetQueryResults", []byte(`{"queryId":"`+id+`"}`))
	if r.Status != 200 || !strings.Contains(string(r.Body), `"recordsScanned":`+strconv.Itoa(total)) || strings.Contains(string(r.Body), "Skipped") {
		t.Fatalf("a full scan's statistics: %s", r.Body)
	}
}
