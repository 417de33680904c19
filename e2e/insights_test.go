package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// insightsCorpus loads a fixed generated corpus into srv (access logs in
// group "access", JSON events in "app") and returns the events, so tests
// compute the expected results themselves.
func insightsCorpus(t *testing.T, srv *server, base time.Time) (access, app []string) {
	t.Helper()
	c := srv.logs(defaultRegion)
	r := rand.New(rand.NewPCG(3, 4))
	statuses := []int{200, 200, 201, 302, 404, 500}
	var ae, je []types.InputLogEvent
	for i := 0; i < 2000; i++ {
		ts := aws.Int64(base.Add(time.Duration(i) * time.Second).UnixMilli())
		a := fmt.Sprintf(`192.0.2.%d - - "GET /p%d HTTP/1.1" %d %d`, r.IntN(20), r.IntN(5), statuses[r.IntN(len(statuses))], r.IntN(9000))
		j := fmt.Sprintf(`{"level":"%s","user":"u%d","latency":%d}`, []string{"INFO", "ERROR"}[r.IntN(2)], r.IntN(5), r.IntN(1000))
		access, app = append(access, a), append(app, j)
		ae = append(ae, types.InputLogEvent{Timestamp: ts, Message: aws.String(a)})
		je = append(je, types.InputLogEvent{Timestamp: ts, Message: aws.String(j)})
	}
	for g, evs := range map[string][]types.InputLogEvent{"access": ae, "app": je} {
		if _, err := c.CreateLogGroup(ctx(t), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CreateLogStream(ctx(t), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(g), LogStreamName: aws.String("s")}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutLogEvents(ctx(t), &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(g), LogStreamName: aws.String("s"), LogEvents: evs}); err != nil {
			t.Fatal(err)
		}
	}
	return access, app
}

// golden is one query and its expected rows ("a|b" per row, in the listed
// columns), computed in Go from the corpus.
type golden struct {
	Query  string   `json:"query"`
	Group  string   `json:"group"`
	Cols   []string `json:"cols"`
	Expect []string `json:"-"`
}

func goldenQueries(access, app []string) []golden {
	byStatus := map[string]int{}
	for _, m := range access {
		f := strings.Fields(m)
		byStatus[f[len(f)-2]]++
	}
	var st []string
	for _, k := range keys(byStatus) {
		st = append(st, k+"|"+strconv.Itoa(byStatus[k]))
	}
	type agg struct{ sum, n, max int }
	byUser := map[string]*agg{}
	errs := 0
	for _, m := range app {
		var v struct {
			Level, User string
			Latency     int
		}
		json.Unmarshal([]byte(m), &v)
		if byUser[v.User] == nil {
			byUser[v.User] = &agg{}
		}
		a := byUser[v.User]
		a.sum += v.Latency
		a.n++
		a.max = max(a.max, v.Latency)
		if v.Level == "ERROR" {
			errs++
		}
	}
	var us []string
	for _, k := range keys(byUser) {
		us = append(us, fmt.Sprintf("%s|%d|%d|%d", k, byUser[k].sum, byUser[k].n, byUser[k].max))
	}
	return []golden{
		{Query: `parse @message /" (?<status>\d{3}) / | stats count() as n by status | sort status`, Group: "access", Cols: []string{"status", "n"}, Expect: st},
		{Query: `stats sum(latency) as s, count(*) as n, max(latency) as mx by user | sort user`, Group: "app", Cols: []string{"user", "s", "n", "mx"}, Expect: us},
		{Query: `filter level = "ERROR" | stats count() as n`, Group: "app", Cols: []string{"n"}, Expect: []string{strconv.Itoa(errs)}},
		{Query: `fields @message | sort @timestamp desc | limit 2`, Group: "access", Cols: []string{"@message"}, Expect: []string{access[len(access)-1], access[len(access)-2]}},
	}
}

func keys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// TestInsightsBoto3 runs the golden queries through boto3 (start_query,
// get_query_results polled until Complete) against the real binary.
func TestInsightsBoto3(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	base := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	access, app := insightsCorpus(t, srv, base)
	qs := goldenQueries(access, app)
	spec, _ := json.Marshal(qs)
	var got struct {
		Results [][]string  `json:"results"`
		Stats   []any       `json:"stats"`
		Bad     clientError `json:"bad"`
		Stop    clientError `json:"stop"`
	}
	boto3(t, srv, fmt.Sprintf(`
qs = json.loads(%q)
start, end = %d, %d
out["results"], out["stats"] = [], []
for q in qs:
    qid = logs.start_query(logGroupName=q["group"], startTime=start, endTime=end, queryString=q["query"])["queryId"]
    for _ in range(3000):
        r = logs.get_query_results(queryId=qid)
        if r["status"] in ("Complete", "Failed", "Cancelled", "Timeout"):
            break
        time.sleep(0.01)
    rows = []
    for row in r["results"]:
        d = {f["field"]: f["value"] for f in row}
        rows.append("|".join(d.get(c, "") for c in q["cols"]))
    out["results"].append(rows)
    out["stats"].append(r["statistics"])
out["bad"] = error_of(logs.start_query, logGroupName="app", startTime=start, endTime=end, queryString="stats count( by")
out["stop"] = error_of(logs.stop_query, queryId=qid)
`, string(spec), base.Unix(), base.Add(time.Hour).Unix()), &got)
	for i, q := range qs {
		if strings.Join(got.Results[i], "\n") != strings.Join(q.Expect, "\n") {
			t.Errorf("%s:\n got  %v\n want %v", q.Query, got.Results[i], q.Expect)
		}
	}
	// (This Debian botocore predates queryLanguage; the SDK tests cover it.)
	if got.Bad.Code != "MalformedQueryException" || got.Stop.Code != "InvalidParameterException" {
		t.Errorf("errors: %+v %+v", got.Bad, got.Stop)
	}
}

// TestInsightsAWSCLI: aws logs start-query, get-query-results (polled),
// describe-queries, stop-query and get-log-record with the AWS CLI v2.
func TestInsightsAWSCLI(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	base := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	access, app := insightsCorpus(t, srv, base)
	c := newCLI(t, srv)
	g := goldenQueries(access, app)[0]
	var started struct {
		QueryID string `json:"queryId"`
	}
	c.json(&started, "start-query", "--log-group-name", g.Group, "--start-time", strconv.FormatInt(base.Unix(), 10),
		"--end-time", strconv.FormatInt(base.Add(time.Hour).Unix(), 10), "--query-string", g.Query)
	type result struct {
		Results [][]struct {
			Field string `json:"field"`
			Value string `json:"value"`
		} `json:"results"`
		Statistics map[string]float64 `json:"statistics"`
		Status     string             `json:"status"`
	}
	var r result
	deadline := time.Now().Add(30 * time.Second)
	for {
		c.json(&r, "get-query-results", "--query-id", started.QueryID)
		if r.Status == "Complete" || time.Now().After(deadline) {
			break
		}
	}
	var rows []string
	for _, row := range r.Results {
		d := map[string]string{}
		for _, f := range row {
			d[f.Field] = f.Value
		}
		rows = append(rows, d["status"]+"|"+d["n"])
	}
	if r.Status != "Complete" || strings.Join(rows, "\n") != strings.Join(g.Expect, "\n") || r.Statistics["recordsScanned"] != 2000 {
		t.Fatalf("get-query-results: %s %v %v, want %v", r.Status, rows, r.Statistics, g.Expect)
	}
	c.fails("InvalidParameterException", "stop-query", "--query-id", started.QueryID)
	c.fails("MalformedQueryException", "start-query", "--log-group-name", "app", "--start-time", "0", "--end-time", "1", "--query-string", "fields | | x")
	c.fails("ResourceNotFoundException", "start-query", "--log-group-name", "nope", "--start-time", "0", "--end-time", "1", "--query-string", "fields @message")
	var dq struct {
		Queries []struct {
			QueryID string `json:"queryId"`
			Status  string `json:"status"`
		} `json:"queries"`
	}
	c.json(&dq, "describe-queries", "--log-group-name", "access")
	if len(dq.Queries) != 1 || dq.Queries[0].QueryID != started.QueryID || dq.Queries[0].Status != "Complete" {
		t.Fatalf("describe-queries: %+v", dq)
	}
	// A row's @ptr through get-log-record.
	c.json(&started, "start-query", "--log-group-name", "app", "--start-time", strconv.FormatInt(base.Unix(), 10),
		"--end-time", strconv.FormatInt(base.Add(time.Hour).Unix(), 10), "--query-string", "fields @message | limit 1", "--limit", "1")
	for {
		c.json(&r, "get-query-results", "--query-id", started.QueryID)
		if r.Status == "Complete" || time.Now().After(deadline) {
			break
		}
	}
	ptr := ""
	for _, f := range r.Results[0] {
		if f.Field == "@ptr" {
			ptr = f.Value
		}
	}
	var rec struct {
		LogRecord map[string]string `json:"logRecord"`
	}
	c.json(&rec, "get-log-record", "--log-record-pointer", ptr)
	if rec.LogRecord["@message"] != app[len(app)-1] || rec.LogRecord["user"] == "" || rec.LogRecord["@log"] != "000000000000:app" {
		t.Fatalf("get-log-record: %+v", rec.LogRecord)
	}
}

// TestInsightsSourceAWSCLI: the AWS CLI v2's start-query with a SOURCE
// command and no --log-group-name: a name prefix selects both corpus groups,
// START=/END= (epoch ms) narrow the API's window to 100 seconds of each
// (the corpus has one event a second per group: 200 by hand), and
// describe-queries shows the query as given.
func TestInsightsSourceAWSCLI(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	base := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	insightsCorpus(t, srv, base)
	c := newCLI(t, srv)
	from := base.Add(100 * time.Second).UnixMilli()
	to := base.Add(199*time.Second).UnixMilli() + 999
	q := fmt.Sprintf(`SOURCE logGroups(namePrefix: ['acc', 'ap']) START=%d END=%d | stats count() as n by @log`, from, to)
	var started struct {
		QueryID string `json:"queryId"`
	}
	c.json(&started, "start-query", "--start-time", strconv.FormatInt(base.Unix(), 10), "--end-time", strconv.FormatInt(base.Add(time.Hour).Unix(), 10),
		"--query-string", q)
	var r struct {
		Results [][]struct {
			Field string `json:"field"`
			Value string `json:"value"`
		} `json:"results"`
		Status string `json:"status"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c.json(&r, "get-query-results", "--query-id", started.QueryID)
		if r.Status == "Complete" || time.Now().After(deadline) {
			break
		}
	}
	got := map[string]string{}
	for _, row := range r.Results {
		d := map[string]string{}
		for _, f := range row {
			d[f.Field] = f.Value
		}
		got[d["@log"]] = d["n"]
	}
	if r.Status != "Complete" || len(got) != 2 || got["000000000000:access"] != "100" || got["000000000000:app"] != "100" {
		t.Fatalf("SOURCE query: %s %v", r.Status, got)
	}
	var dq struct {
		Queries []struct {
			QueryString string `json:"queryString"`
		} `json:"queries"`
	}
	c.json(&dq, "describe-queries", "--log-group-name", "access")
	if len(dq.Queries) != 1 || dq.Queries[0].QueryString != q {
		t.Fatalf("describe-queries: %+v, want %q", dq, q)
	}
	c.fails("InvalidParameterException", "start-query", "--start-time", "0", "--end-time", "1", "--query-string", "SOURCE logGroups(accountIdentifiers: ['111111111111']) | stats count()")
}

// TestInsightsUnmaskAWSCLI: the AWS CLI v2 puts a data protection policy,
// an event with an e-mail address (stored masked), and queries it with
// unmask(@message) and the unmask command: the original as put, the masked
// text beside it.
func TestInsightsUnmaskAWSCLI(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	c := newCLI(t, srv)
	c.ok("create-log-group", "--log-group-name", "pii")
	c.ok("create-log-stream", "--log-group-name", "pii", "--log-stream-name", "s")
	const id = "arn:aws:dataprotection::aws:data-identifier/EmailAddress"
	c.ok("put-data-protection-policy", "--log-group-identifier", "pii", "--policy-document",
		`{"Name":"p","Version":"2021-06-01","Statement":[{"Sid":"audit","DataIdentifier":["`+id+`"],"Operation":{"Audit":{"FindingsDestination":{}}}},`+
			`{"Sid":"redact","DataIdentifier":["`+id+`"],"Operation":{"Deidentify":{"MaskConfig":{}}}}]}`)
	const msg = "login alice@example.com ok"
	now := time.Now()
	c.ok("put-log-events", "--log-group-name", "pii", "--log-stream-name", "s", "--log-events",
		fmt.Sprintf(`[{"timestamp":%d,"message":%q}]`, now.UnixMilli(), msg))
	query := func(q string) map[string]string {
		t.Helper()
		var started struct {
			QueryID string `json:"queryId"`
		}
		c.json(&started, "start-query", "--log-group-name", "pii", "--start-time", strconv.FormatInt(now.Add(-time.Hour).Unix(), 10),
			"--end-time", strconv.FormatInt(now.Add(time.Hour).Unix(), 10), "--query-string", q)
		var r struct {
			Results [][]struct {
				Field string `json:"field"`
				Value string `json:"value"`
			} `json:"results"`
			Status string `json:"status"`
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			c.json(&r, "get-query-results", "--query-id", started.QueryID)
			if r.Status == "Complete" || time.Now().After(deadline) {
				break
			}
		}
		if r.Status != "Complete" || len(r.Results) != 1 {
			t.Fatalf("%s: %s %v", q, r.Status, r.Results)
		}
		row := map[string]string{}
		for _, f := range r.Results[0] {
			row[f.Field] = f.Value
		}
		return row
	}
	row := query("fields @message, unmask(@message) as orig")
	if row["orig"] != msg || row["@message"] == msg || strings.Contains(row["@message"], "alice@example.com") {
		t.Fatalf("unmask(@message): %v", row)
	}
	if row = query("unmask | filter @message like /alice@example/ | stats count() as n"); row["n"] != "1" {
		t.Fatalf("unmask command: %v", row)
	}
	if row = query("filter @message like /alice@example/ | stats count() as n"); row["n"] != "0" {
		t.Fatalf("without unmask: %v", row)
	}
}
