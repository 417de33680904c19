package insights_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/harness"
)

// TestResultsPageCache: polls of one result get the same page from the
// cache, other pages of it their own rows.
func TestResultsPageCache(t *testing.T) {
	s := harness.Start(t)
	c := s.Client()
	group(t, c, "pc", "s")
	var evs []event
	for i := 0; i < 30; i++ {
		evs = append(evs, event{base.Add(time.Duration(i) * time.Second), fmt.Sprintf("line %02d", i)})
	}
	put(t, c, "pc", "s", evs)
	id := start(t, c, "fields @message | sort @timestamp asc", "pc")
	harness.WaitQuery(t, c, id)
	page := func(max int32, tok *string) ([]string, *string) {
		out, err := c.GetQueryResults(context.Background(), &cwl.GetQueryResultsInput{QueryId: &id, MaxItems: &max, NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, r := range out.Results {
			m, _ := field(r, "@message")
			msgs = append(msgs, m)
		}
		return msgs, out.NextToken
	}
	want := func(from, to int) string {
		var s []string
		for i := from; i < to; i++ {
			s = append(s, fmt.Sprintf("line %02d", i))
		}
		return strings.Join(s, ",")
	}
	for round := 0; round < 2; round++ { // the second round from the cache
		a, tok := page(10, nil)
		again, _ := page(10, nil) // the same page: from the cache
		b, _ := page(10, tok)
		c3, _ := page(3, nil)
		all, _ := page(100, nil)
		for _, chk := range []struct {
			got  []string
			want string
		}{{a, want(0, 10)}, {again, want(0, 10)}, {b, want(10, 20)}, {c3, want(0, 3)}, {all, want(0, 30)}} {
			if got := strings.Join(chk.got, ","); got != chk.want {
				t.Errorf("round %d: %s, want %s", round, got, chk.want)
			}
		}
	}
}
