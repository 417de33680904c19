package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// python is Debian's interpreter, which sees the python3-boto3 package; the
// python3 first on PATH may be another one without it.
const python = "/usr/bin/python3"

// boto3Prelude starts every script: a logs client for the endpoint in argv[1]
// without retries, and out, a dict the script prints as JSON at the end.
const boto3Prelude = `
import json, sys, time
import boto3, botocore.config
from botocore.exceptions import ClientError

logs = boto3.client("logs", endpoint_url=sys.argv[1], region_name="us-east-1",
    aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
    config=botocore.config.Config(retries={"total_max_attempts": 1}))
out = {}
now = int(time.time() * 1000)

def error_of(fn, **kw):
    try:
        fn(**kw)
    except ClientError as e:
        return {"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"],
                "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}
    return None
`

// boto3 runs a Python script against srv after the prelude and decodes the
// JSON it prints into v.
func boto3(tb testing.TB, srv *server, script string, v any) {
	tb.Helper()
	dir := tb.TempDir()
	p := filepath.Join(dir, "script.py")
	if err := os.WriteFile(p, []byte(boto3Prelude+script+"\nprint(json.dumps(out))\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	cx, cancel := context.WithTimeout(tb.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cx, python, p, srv.url)
	cmd.Env = append(cleanEnv(), "HOME="+dir, "AWS_CONFIG_FILE="+filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "credentials"), "AWS_EC2_METADATA_DISABLED=true")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if strings.Contains(stderr.String(), "No module named 'boto") {
			tb.Fatalf("boto3 is not installed for %s: %s\n%s", python, installHint, stderr.String())
		}
		tb.Fatalf("python script failed: %v\n%s", err, stderr.String())
	}
	if err := json.Unmarshal([]byte(stdout.String()), v); err != nil {
		tb.Fatalf("decode script output: %v\n%s", err, stdout.String())
	}
}

type clientError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Status  int    `json:"status"`
}

func TestBoto3(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s not found (%v): %s", python, err, installHint)
	}
	srv := startServer(t)

	t.Run("Paginators", func(t *testing.T) {
		t.Parallel()
		var out struct {
			Filtered []outEvent `json:"filtered"`
			Pages    int        `json:"pages"`
			Streams  []string   `json:"streams"`
			Get      []string   `json:"get"`
			Backward []string   `json:"backward"`
			// The paging loops saw the token they sent come back.
			ForwardEnd  bool     `json:"forward_end"`
			BackwardEnd bool     `json:"backward_end"`
			Matched     []string `json:"matched"`
		}
		boto3(t, srv, `
logs.create_log_group(logGroupName="py")
for s in range(5):
    logs.create_log_stream(logGroupName="py", logStreamName="s%d" % (4 - s))
for s in range(3):
    logs.put_log_events(logGroupName="py", logStreamName="s%d" % s, logEvents=[
        {"timestamp": now - 60000 + i * 3 + s, "message": "s%d event %02d%s" % (s, i, " EVEN" if i % 2 == 0 else "")}
        for i in range(10)])

pages = logs.get_paginator("filter_log_events").paginate(logGroupName="py", PaginationConfig={"PageSize": 4})
out["filtered"], out["pages"] = [], 0
for p in pages:
    out["pages"] += 1
    out["filtered"] += p["events"]
out["matched"] = [e["message"] for p in logs.get_paginator("filter_log_events").paginate(
    logGroupName="py", logStreamNames=["s1"], filterPattern="EVEN", PaginationConfig={"PageSize": 2}) for e in p["events"]]
out["streams"] = [s["logStreamName"] for p in logs.get_paginator("describe_log_streams").paginate(
    logGroupName="py", PaginationConfig={"PageSize": 2}) for s in p["logStreams"]]

# GetLogEvents has no paginator: follow nextForwardToken until it repeats,
# and nextBackwardToken from the newest page back to the oldest.
out["get"], token = [], None
for _ in range(20):
    kw = {"nextToken": token} if token else {}
    r = logs.get_log_events(logGroupName="py", logStreamName="s2", startFromHead=True, limit=3, **kw)
    out["get"] += [e["message"] for e in r["events"]]
    if r["nextForwardToken"] == token:
        out["forward_end"] = True
        break
    token = r["nextForwardToken"]
out["backward"], token = [], None
for _ in range(20):
    kw = {"nextToken": token} if token else {}
    r = logs.get_log_events(logGroupName="py", logStreamName="s2", limit=3, **kw)
    out["backward"] = [e["message"] for e in r["events"]] + out["backward"]
    if r["nextBackwardToken"] == token:
        out["backward_end"] = True
        break
    token = r["nextBackwardToken"]
`, &out)
		if len(out.Filtered) != 30 || out.Pages < 8 {
			t.Errorf("filter_log_events paginator: %d events in %d pages, want 30 in >= 8", len(out.Filtered), out.Pages)
		}
		ids := map[string]bool{}
		for i, e := range out.Filtered {
			if i > 0 && e.Timestamp < out.Filtered[i-1].Timestamp {
				t.Errorf("filter_log_events paginator: event %d %q out of timestamp order", i, e.Message)
			}
			if ids[e.EventID] {
				t.Errorf("filter_log_events paginator: duplicate event %q", e.Message)
			}
			ids[e.EventID] = true
		}
		var want []string
		for i := 0; i < 10; i += 2 {
			want = append(want, fmt.Sprintf("s1 event %02d EVEN", i))
		}
		if !slices.Equal(out.Matched, want) {
			t.Errorf("filter_log_events s1 EVEN:\n got %q\nwant %q", out.Matched, want)
		}
		if want := []string{"s0", "s1", "s2", "s3", "s4"}; !slices.Equal(out.Streams, want) {
			t.Errorf("describe_log_streams paginator: %q, want %q", out.Streams, want)
		}
		want = nil
		for i := range 10 {
			want = append(want, fmt.Sprintf("s2 event %02d%s", i, map[bool]string{true: " EVEN"}[i%2 == 0]))
		}
		if !slices.Equal(out.Get, want) {
			t.Errorf("get_log_events forward paging:\n got %q\nwant %q", out.Get, want)
		}
		if !out.ForwardEnd || !out.BackwardEnd {
			t.Errorf("get_log_events: the end of the stream never returned the token sent (forward %v, backward %v)", out.ForwardEnd, out.BackwardEnd)
		}
		if !slices.Equal(out.Backward, want) {
			t.Errorf("get_log_events backward paging:\n got %q\nwant %q", out.Backward, want)
		}
	})

	t.Run("RejectedEvents", func(t *testing.T) {
		t.Parallel()
		var out struct {
			TooOld     map[string]int `json:"too_old"`
			TooOldGot  []string       `json:"too_old_got"`
			TooNew     map[string]int `json:"too_new"`
			TooNewGot  []string       `json:"too_new_got"`
			OutOfOrder *clientError   `json:"out_of_order"`
			NoStream   *clientError   `json:"no_stream"`
			Exists     *clientError   `json:"exists"`
		}
		boto3(t, srv, `
day = 24 * 3600 * 1000
logs.create_log_group(logGroupName="rejects")
for s in ("old", "new", "order"):
    logs.create_log_stream(logGroupName="rejects", logStreamName=s)

def messages(stream):
    return [e["message"] for e in logs.get_log_events(logGroupName="rejects", logStreamName=stream, startFromHead=True)["events"]]

r = logs.put_log_events(logGroupName="rejects", logStreamName="old", logEvents=[
    {"timestamp": now - 15 * day, "message": "fifteen days old"},
    {"timestamp": now - 1000, "message": "fresh 1"},
    {"timestamp": now, "message": "fresh 2"}])
out["too_old"], out["too_old_got"] = r.get("rejectedLogEventsInfo"), messages("old")

r = logs.put_log_events(logGroupName="rejects", logStreamName="new", logEvents=[
    {"timestamp": now - 1000, "message": "fresh 1"},
    {"timestamp": now, "message": "fresh 2"},
    {"timestamp": now + 3 * 3600 * 1000, "message": "three hours ahead"}])
out["too_new"], out["too_new_got"] = r.get("rejectedLogEventsInfo"), messages("new")

out["out_of_order"] = error_of(logs.put_log_events, logGroupName="rejects", logStreamName="order", logEvents=[
    {"timestamp": now, "message": "second"}, {"timestamp": now - 1000, "message": "first"}])
out["no_stream"] = error_of(logs.put_log_events, logGroupName="rejects", logStreamName="missing", logEvents=[
    {"timestamp": now, "message": "lost"}])
out["exists"] = error_of(logs.create_log_group, logGroupName="rejects")
`, &out)
		fresh := []string{"fresh 1", "fresh 2"}
		if len(out.TooOld) != 1 || out.TooOld["tooOldLogEventEndIndex"] != 1 || !slices.Equal(out.TooOldGot, fresh) {
			t.Errorf("15-day-old first event: rejectedLogEventsInfo %v, stored %q; want {tooOldLogEventEndIndex: 1} and %q",
				out.TooOld, out.TooOldGot, fresh)
		}
		if len(out.TooNew) != 1 || out.TooNew["tooNewLogEventStartIndex"] != 2 || !slices.Equal(out.TooNewGot, fresh) {
			t.Errorf("3-hours-ahead last event: rejectedLogEventsInfo %v, stored %q; want {tooNewLogEventStartIndex: 2} and %q",
				out.TooNew, out.TooNewGot, fresh)
		}
		f := func(name string, got *clientError, want clientError) {
			t.Helper()
			if got == nil || *got != want {
				t.Errorf("%s: ClientError %+v, want %+v", name, got, want)
			}
		}
		f("events out of order", out.OutOfOrder, clientError{"InvalidParameterException",
			"Log events in a single PutLogEvents request must be in chronological order.", 400})
		f("put to a missing stream", out.NoStream, clientError{"ResourceNotFoundException", "The specified log stream does not exist.", 400})
		f("duplicate group", out.Exists, clientError{"ResourceAlreadyExistsException", "The specified log group already exists", 400})
	})

	t.Run("RangesAndErrors", func(t *testing.T) {
		t.Parallel()
		var out struct {
			Get      []string     `json:"get"`
			Filter   []string     `json:"filter"`
			Prefix   []string     `json:"prefix"`
			Both     *clientError `json:"both"`
			BadToken *clientError `json:"bad_token"`
			BigLimit *clientError `json:"big_limit"`
		}
		boto3(t, srv, `
logs.create_log_group(logGroupName="ranges")
t0 = now - 600000
for s in ("app-1", "app-2", "db"):
    logs.create_log_stream(logGroupName="ranges", logStreamName=s)
    logs.put_log_events(logGroupName="ranges", logStreamName=s, logEvents=[
        {"timestamp": t0 + i, "message": "%s %d" % (s, i)} for i in range(10)])

msgs = lambda r: [e["message"] for e in r["events"]]
out["get"] = msgs(logs.get_log_events(logGroupName="ranges", logStreamName="db", startTime=t0 + 3, endTime=t0 + 6, startFromHead=True))
out["filter"] = msgs(logs.filter_log_events(logGroupName="ranges", logStreamNames=["db"], startTime=t0 + 3, endTime=t0 + 6))
out["prefix"] = msgs(logs.filter_log_events(logGroupName="ranges", logStreamNamePrefix="app-", startTime=t0 + 8))
out["both"] = error_of(logs.filter_log_events, logGroupName="ranges", logStreamNames=["db"], logStreamNamePrefix="app-")
out["bad_token"] = error_of(logs.get_log_events, logGroupName="ranges", logStreamName="db", nextToken="f/not-a-token")
out["big_limit"] = error_of(logs.filter_log_events, logGroupName="ranges", limit=10001)
`, &out)
		f := func(name string, got []string, want ...string) {
			t.Helper()
			if !slices.Equal(got, want) {
				t.Errorf("%s:\n got %q\nwant %q", name, got, want)
			}
		}
		f("get_log_events startTime..endTime (end exclusive)", out.Get, "db 3", "db 4", "db 5")
		f("filter_log_events startTime..endTime (both inclusive)", out.Filter, "db 3", "db 4", "db 5", "db 6")
		f("filter_log_events logStreamNamePrefix", out.Prefix, "app-1 8", "app-2 8", "app-1 9", "app-2 9")
		e := func(name string, got *clientError, code, message string) {
			t.Helper()
			if got == nil || got.Code != code || !strings.Contains(got.Message, message) || got.Status != 400 {
				t.Errorf("%s: ClientError %+v, want %s (400) with message containing %q", name, got, code, message)
			}
		}
		e("logStreamNames with logStreamNamePrefix", out.Both, "InvalidParameterException", "")
		e("a malformed nextToken", out.BadToken, "InvalidParameterException", "The specified nextToken is invalid.")
		e("limit 10001", out.BigLimit, "InvalidParameterException", "Member must have value less than or equal to 10000")
	})
}
