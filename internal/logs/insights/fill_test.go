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

// TestFillMissing: fillmissing after stats … by bin() inserts a row for
// each empty bin between the first and the last, with the "with" values;
// the expected rows are computed here from the events sent.
func TestFillMissing(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	group(t, c, "fill", "s")
	// events in minutes 3, 4, 9 and 12 of the hour (latency = 10 * minute + i)
	minutes := []int{3, 3, 4, 9, 12, 12, 12}
	var evs []event
	for i, m := range minutes {
		evs = append(evs, event{base.Add(time.Duration(m)*time.Minute + time.Duration(i)*time.Second), fmt.Sprintf(`{"latency":%d}`, 10*m+i)})
	}
	put(t, c, "fill", "s", evs)

	// the expected rows, minute by minute from the first to the last
	type want struct {
		bin      string
		n, avg   string
		inserted bool
	}
	var wants []want
	for m := minutes[0]; m <= minutes[len(minutes)-1]; m++ {
		n, sum := 0, 0
		for i, mm := range minutes {
			if mm == m {
				n, sum = n+1, sum+10*m+i
			}
		}
		bin := base.Add(time.Duration(m) * time.Minute).Format("2006-01-02 15:04:05.000")
		if n == 0 {
			wants = append(wants, want{bin, "0", "", true})
			continue
		}
		wants = append(wants, want{bin, strconv.Itoa(n), strconv.FormatFloat(float64(sum)/float64(n), 'f', -1, 64), false})
	}

	out := query(t, c, "stats count() as n, avg(latency) as a by bin(1m) as t | fillmissing with 0 for n", "fill")
	if len(out.Results) != len(wants) {
		t.Fatalf("%d rows, want %d: %v", len(out.Results), len(wants), rowsText(out.Results))
	}
	for i, w := range wants {
		r := out.Results[i]
		if v, _ := field(r, "t"); v != w.bin {
			t.Errorf("row %d: t = %q, want %q", i, v, w.bin)
		}
		if v, _ := field(r, "n"); v != w.n {
			t.Errorf("row %d (%s): n = %q, want %q", i, w.bin, v, w.n)
		}
		a, ok := field(r, "a")
		if w.inserted && ok {
			t.Errorf("row %d (%s, inserted): a = %q, want no field", i, w.bin, a)
		}
		if !w.inserted && a != w.avg {
			t.Errorf("row %d (%s): a = %q, want %q", i, w.bin, a, w.avg)
		}
	}

	// without "with", inserted rows hold only the bin
	out = query(t, c, "stats count() as n by bin(1m) | fillmissing", "fill")
	if len(out.Results) != len(wants) {
		t.Fatalf("bare fillmissing: %d rows, want %d", len(out.Results), len(wants))
	}
	for i, w := range wants {
		if _, ok := field(out.Results[i], "n"); ok == w.inserted {
			t.Errorf("bare fillmissing row %d (%s): n present %v", i, w.bin, ok)
		}
	}

	// a string constant, several "with", and a 5m bin: minutes 0-4, 5-9, 10-14 all hold events
	out = query(t, c, `stats count() as n, avg(latency) as a by bin(5m) | fillmissing with 0 for n, "none" for a`, "fill")
	if len(out.Results) != 3 {
		t.Errorf("5m bins: %v", rowsText(out.Results))
	}
	out = query(t, c, `filter latency < 50 or latency > 100 | stats count() as n, avg(latency) as a by bin(1m) | fillmissing with -1 for n, "none" for a`, "fill")
	// latencies 30, 31 (minute 3), 42 (4) and 124-126 (12) remain: minutes
	// 5 to 11 are inserted
	if len(out.Results) != 10 {
		t.Fatalf("string fill: %v", rowsText(out.Results))
	}
	for _, r := range out.Results[2:9] {
		n, _ := field(r, "n")
		a, _ := field(r, "a")
		if n != "-1" || a != "none" {
			t.Errorf("inserted row %v", rowsText([][]types.ResultField{r}))
		}
	}

	// refused, with AWS's exception and a message saying why
	ctx := context.Background()
	for q, msg := range map[string]string{
		"fields @message | fillmissing":                            "must follow a stats command that groups by bin()",
		"stats count() by @logStream | fillmissing":                "must follow a stats command that groups by bin()",
		"stats count() by bin(1m), @logStream | fillmissing":       "groups by bin() alone",
		"stats count() as n by bin(1m) | fillmissing with 0 for x": "x is not a field of the stats",
		"stats count() as n by bin(1m) | fillmissing with 0":       "",
		"stats count() as n by bin(1m) | fillmissing 0 for n":      "",
	} {
		_, err := c.StartQuery(ctx, &cwl.StartQueryInput{LogGroupName: aws.String("fill"), QueryString: aws.String(q),
			StartTime: aws.Int64(base.Unix()), EndTime: aws.Int64(base.Add(time.Hour).Unix())})
		apiErr(t, err, "MalformedQueryException", msg)
	}
}

func rowsText(rows [][]types.ResultField) string {
	var s string
	for _, r := range rows {
		s += "["
		for _, f := range r {
			s += aws.ToString(f.Field) + "=" + aws.ToString(f.Value) + " "
		}
		s += "]"
	}
	return s
}
