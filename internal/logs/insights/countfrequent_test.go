package insights_test

import (
	"fmt"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/harness"
)

// TestCountFrequent: countFrequent f1, f2 gives each combination of the
// fields with its count in _approxcount, most frequent first; the expected
// rows are counted here from the events sent.
func TestCountFrequent(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	group(t, c, "cf", "s")
	methods := []string{"GET", "GET", "POST", "GET", "PUT", "POST", "GET"}
	var evs []event
	type key struct{ m, st string }
	counts := map[key]int{}
	var order []key // first seen, oldest first
	for i := 0; i < 70; i++ {
		m, st := methods[i%len(methods)], strconv.Itoa([]int{200, 200, 404, 500}[i%4])
		evs = append(evs, event{base.Add(time.Duration(i) * time.Second), fmt.Sprintf(`{"method":"%s","status":%s}`, m, st)})
		k := key{m, st}
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	put(t, c, "cf", "s", evs)
	want := append([]key(nil), order...)
	sort.SliceStable(want, func(i, j int) bool { return counts[want[i]] > counts[want[j]] })

	for _, q := range []string{"fields method, status | countFrequent method, status", "count_frequent method, status"} {
		out := query(t, c, q, "cf")
		if len(out.Results) != len(want) {
			t.Fatalf("%s: %d rows, want %d: %s", q, len(out.Results), len(want), rowsText(out.Results))
		}
		seen := map[key]bool{}
		last := 1 << 30
		for i, r := range out.Results {
			m, _ := field(r, "method")
			st, _ := field(r, "status")
			n, _ := field(r, "_approxcount")
			k := key{m, st}
			if strconv.Itoa(counts[k]) != n || seen[k] {
				t.Errorf("%s: row %d %s, want %d for %v", q, i, rowsText(out.Results[i:i+1]), counts[k], k)
			}
			seen[k] = true
			v, _ := strconv.Atoi(n)
			if v > last {
				t.Errorf("%s: row %d count %d after %d: not descending", q, i, v, last)
			}
			last = v
		}
	}
	// a count of one field, and what it takes
	out := query(t, c, "countFrequent method", "cf")
	if len(out.Results) != 3 {
		t.Errorf("by method: %s", rowsText(out.Results))
	}
	if n, _ := field(out.Results[0], "_approxcount"); n != "40" {
		t.Errorf("GET count %s, want 40: %s", n, rowsText(out.Results))
	}
	_, err := c.StartQuery(t.Context(), startInput("cf", "countFrequent strlen(method)"))
	apiErr(t, err, "MalformedQueryException", "countFrequent takes field names")
	_, err = c.StartQuery(t.Context(), startInput("cf", "countFrequent"))
	apiErr(t, err, "MalformedQueryException", "")
}

func startInput(g, q string) *cwl.StartQueryInput {
	return &cwl.StartQueryInput{LogGroupName: aws.String(g), QueryString: aws.String(q),
		StartTime: aws.Int64(base.Unix()), EndTime: aws.Int64(base.Add(time.Hour).Unix())}
}
