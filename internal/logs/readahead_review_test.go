package logs_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/logs"
)

// TestReadAheadOtherRequestSameToken (review8): page 2 is prepared for one
// input, then asked for with the same nextToken but another member that
// changes the answer (limit, filter, streams, prefix), or by another
// account with a group of the same name. None may be served the prepared
// page; each must get what a fresh read gives.
func TestReadAheadOtherRequestSameToken(t *testing.T) {
	base := time.Now().Add(-time.Hour).UnixMilli()
	other := caller.System("210987654321", "eu-west-1", "reader", "logs:CreateLogGroup", "logs:CreateLogStream",
		"logs:PutLogEvents", "logs:FilterLogEvents")
	for _, tc := range []struct {
		name   string
		change func(in *logs.FilterLogEventsInput)
		c      func(p *readAheadPair) caller.Caller
	}{
		{"limit", func(in *logs.FilterLogEventsInput) { in.Limit = 3 }, nil},
		{"filter", func(in *logs.FilterLogEventsInput) { in.FilterPattern = `"in b"` }, nil},
		{"streams", func(in *logs.FilterLogEventsInput) { in.LogStreamNames = []string{"a"} }, nil},
		{"prefix", func(in *logs.FilterLogEventsInput) { in.LogStreamNamePrefix = "b" }, nil},
		{"end time", func(in *logs.FilterLogEventsInput) { e := base + 200; in.EndTime = &e }, nil},
		{"other account", func(*logs.FilterLogEventsInput) {}, func(*readAheadPair) caller.Caller { return other }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newReadAheadPair(t, 0)
			p.create(t, "g", "a", "b")
			ts := make([]int64, 30)
			for i := range ts {
				ts[i] = base + int64(i)*10
			}
			p.put(t, "g", "a", ts...)
			p.put(t, "g", "b", ts[5:]...)
			// The other account's group of the same name, other events.
			ctx := context.Background()
			if _, err := p.plain.CreateLogGroup(ctx, other, &logs.CreateLogGroupInput{LogGroupName: "g"}); err != nil {
				t.Fatal(err)
			}
			in := logs.FilterLogEventsInput{LogGroupName: "g", Limit: 10}
			first := p.page(t, in)
			if first.NextToken == "" {
				t.Fatal("one page only")
			}
			p.waitPrepared(t)
			before := p.cache.Stats()
			in.NextToken = first.NextToken
			tc.change(&in)
			c := p.c
			if tc.c != nil {
				c = tc.c(p)
			}
			a, errA := p.ahead.FilterLogEvents(ctx, c, &in)
			b, errB := p.plain.FilterLogEvents(ctx, c, &in)
			if (errA == nil) != (errB == nil) || errA == nil && !reflect.DeepEqual(a, b) {
				t.Fatalf("read ahead answered %v %v, a fresh read %v %v", a, errA, b, errB)
			}
			if st := p.cache.Stats(); st.Hits != before.Hits {
				t.Fatalf("a prepared page was served to another request: %+v → %+v", before, st)
			}
		})
	}
}
