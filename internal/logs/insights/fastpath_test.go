package insights_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
)

// TestGoldenFastPaths runs the shapes the executor and the engine take
// shortcuts for through the real server, with answers computed here over
// the generated events: stats count() by bin() over blocks that lie inside
// one bin (counted from summaries), straddle a bin edge or the window's
// edges (second-granular, as StartQuery's times are), and a JSON or parsed
// field's presence (pushed to the engine as text) over events where the
// field is present, absent, escaped, nested or the message is JSON that is
// not an object.
func TestGoldenFastPaths(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	group(t, c, "bins", "s")
	// Puts of 1 to 90 events 7 s apart: most stay inside a 5-minute bin,
	// some cross an edge; one event on the last millisecond of a bin and
	// one on the first of the next.
	var all []event
	at := base
	for i := 0; at.Before(base.Add(55 * time.Minute)); i++ {
		var evs []event
		for j := 0; j < 1+i*37%90; j++ {
			evs = append(evs, event{at, fmt.Sprintf("n=%d", len(all)+len(evs))})
			at = at.Add(7 * time.Second)
		}
		put(t, c, "bins", "s", evs)
		all = append(all, evs...)
	}
	edge := []event{{base.Add(20*time.Minute - time.Millisecond), "edge-last"}, {base.Add(20 * time.Minute), "edge-first"}}
	put(t, c, "bins", "s", edge[:1])
	put(t, c, "bins", "s", edge[1:])
	all = append(all, edge...)
	for _, w := range []struct{ from, to time.Time }{
		{base, base.Add(time.Hour)},
		{base.Add(3*time.Minute + 1*time.Second), base.Add(41*time.Minute + 59*time.Second)}, // edges inside blocks
		{base.Add(20 * time.Minute), base.Add(20 * time.Minute)},                             // one second
		{base.Add(19*time.Minute + 59*time.Second), base.Add(19*time.Minute + 59*time.Second)},
	} {
		bins := map[string]int{}
		end := w.to.Add(time.Second) // endTime is inclusive to the second: ms up to to+999
		for _, e := range all {
			if !e.ts.Before(w.from) && e.ts.Before(end) {
				bins[e.ts.Truncate(5*time.Minute).Format("2006-01-02 15:04:05.000")]++
			}
		}
		var want []string
		for _, k := range sortedKeys(bins) {
			want = append(want, k+"|"+strconv.Itoa(bins[k]))
		}
		q := "stats count() as n by bin(5m) as t"
		out, err := c.StartQuery(context.Background(), &cwl.StartQueryInput{LogGroupNames: []string{"bins"}, QueryString: aws.String(q),
			StartTime: aws.Int64(w.from.Unix()), EndTime: aws.Int64(w.to.Unix())})
		if err != nil {
			t.Fatal(err)
		}
		res := harness.WaitQuery(t, c, *out.QueryId)
		if res.Status != types.QueryStatusComplete {
			t.Fatalf("%s", res.Status)
		}
		var got []string
		for _, r := range res.Results {
			tv, _ := field(r, "t")
			n, _ := field(r, "n")
			got = append(got, tv+"|"+n)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("window %s..%s:\n got  %v\n want %v", w.from.Sub(base), w.to.Sub(base), got, want)
		}
	}

	group(t, c, "json", "s")
	msgs := []string{
		`{"latency_ms":5,"user":"a"}`, `{"latency_ms":7,"user":"b"}`, `{"user":"a","latency_ms":11}`,
		`{"lat\u0065ncy_ms":100,"user":"b"}`, // escaped key: present
		`{"deep":{"latency_ms":9},"user":"a"}`, `[{"latency_ms":1,"user":"a"}]`, `latency_ms=3 user=a`,
		`{"latency_ms":null,"user":"a"}`, `{"latency_ms":"x","user":"a"}`, `10.0.0.1 "GET / HTTP/1.1" 503 9`,
		`{"msg":"\" 200 "}`,
	}
	var evs []event
	for i := 0; i < 200; i++ {
		evs = append(evs, event{base.Add(time.Duration(i) * time.Second), msgs[i%len(msgs)]})
	}
	put(t, c, "json", "s", evs)
	// by hand, per round of the eleven messages: latency_ms present in
	// 0, 1, 2, 3 and 8 (a string: present, not a number); avg over numbers
	type agg struct {
		sum float64
		n   int
	}
	avg := map[string]*agg{"a": {}, "b": {}}
	count := map[string]int{}
	status := 0
	for i := range evs {
		switch i % len(msgs) {
		case 0:
			avg["a"].sum, avg["a"].n = avg["a"].sum+5, avg["a"].n+1
		case 1:
			avg["b"].sum, avg["b"].n = avg["b"].sum+7, avg["b"].n+1
		case 2:
			avg["a"].sum, avg["a"].n = avg["a"].sum+11, avg["a"].n+1
		case 3:
			avg["b"].sum, avg["b"].n = avg["b"].sum+100, avg["b"].n+1
		case 9, 10:
			status++
		}
		switch i % len(msgs) {
		case 0, 2, 8:
			count["a"]++
		case 1, 3:
			count["b"]++
		}
	}
	q := "filter ispresent(latency_ms) | stats avg(latency_ms) as a, count() as n by user | sort user asc"
	var want []string
	for _, u := range []string{"a", "b"} {
		want = append(want, fmt.Sprintf("%s|%s|%d", u, strconv.FormatFloat(avg[u].sum/float64(avg[u].n), 'f', -1, 64), count[u]))
	}
	var got []string
	for _, r := range query(t, c, q, "json").Results {
		u, _ := field(r, "user")
		a, _ := field(r, "a")
		n, _ := field(r, "n")
		if f, err := strconv.ParseFloat(a, 64); err == nil {
			a = strconv.FormatFloat(f, 'f', -1, 64)
		}
		got = append(got, u+"|"+a+"|"+n)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\n got  %v\n want %v", q, got, want)
	}
	q = `parse @message /" (?<status>\d{3}) / | filter ispresent(status) | stats count() as n`
	res := query(t, c, q, "json")
	if n, _ := field(res.Results[0], "n"); n != strconv.Itoa(status) {
		t.Errorf("%s: n=%s, want %d", q, n, status)
	}
}
