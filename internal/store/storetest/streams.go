package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cairnlog/cairn/internal/store"
)

// testStreamListings checks ListStreamsOrdered in its four orders against a
// sort of the streams, resuming from every key (a page of one), after
// appends moved streams in time order and a delete removed one.
func testStreamListings(t *testing.T, s store.Store) {
	defer s.Close()
	ctx := context.Background()
	scope := store.Scope{Account: "111111111111", Region: "eu-west-1"}
	if err := s.CreateGroup(ctx, store.Group{Scope: scope, Name: "ci"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		if err := s.CreateStream(ctx, scope, "ci", store.Stream{Name: fmt.Sprintf("job-%d/b-%02d", i%3, i)}); err != nil {
			t.Fatal(err)
		}
	}
	list := func(l store.StreamListing) []store.Stream {
		var out []store.Stream
		if err := s.ListStreamsOrdered(ctx, scope, "ci", l, func(st store.Stream) bool { out = append(out, st); return true }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	check := func(when string) {
		all := list(store.StreamListing{})
		for _, byTime := range []bool{false, true} {
			for _, desc := range []bool{false, true} {
				want := slices.Clone(all)
				slices.SortFunc(want, func(a, b store.Stream) int {
					c := strings.Compare(a.Name, b.Name)
					if byTime && a.LastEventTimestamp != b.LastEventTimestamp {
						c = int(a.LastEventTimestamp - b.LastEventTimestamp)
					}
					if desc {
						c = -c
					}
					return c
				})
				l := store.StreamListing{ByLastEventTime: byTime, Descending: desc}
				if got := list(l); !slices.Equal(got, want) {
					t.Fatalf("%s, byTime %v desc %v:\n got %v\nwant %v", when, byTime, desc, got, want)
				}
				for i, st := range want {
					l.After = &store.StreamKey{LastEventTime: st.LastEventTimestamp, Name: st.Name}
					var next []store.Stream
					s.ListStreamsOrdered(ctx, scope, "ci", l, func(st store.Stream) bool { next = append(next, st); return false })
					if i+1 < len(want) && (len(next) != 1 || next[0] != want[i+1]) || i+1 == len(want) && len(next) != 0 {
						t.Fatalf("%s, byTime %v desc %v, after %v: %v", when, byTime, desc, st.Name, next)
					}
				}
			}
		}
		l := store.StreamListing{Prefix: "job-1/", Descending: true, After: &store.StreamKey{Name: "job-1/b-19"}}
		got := list(l)
		if len(got) == 0 || got[0].Name != "job-1/b-16" || !strings.HasPrefix(got[len(got)-1].Name, "job-1/") {
			t.Fatalf("%s: prefix, descending, after: %v", when, got)
		}
	}
	check("no events")
	for i := 0; i < 30; i += 2 {
		ts := int64(1_700_000_000_000 + (i*7)%11*1000) // ties on purpose
		if _, err := s.Append(ctx, scope, "ci", fmt.Sprintf("job-%d/b-%02d", i%3, i), []store.Event{{Timestamp: ts, Message: "m"}}, ts); err != nil {
			t.Fatal(err)
		}
	}
	check("after appends")
	if _, err := s.Append(ctx, scope, "ci", "job-0/b-00", []store.Event{{Timestamp: 1_800_000_000_000, Message: "m"}}, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteStream(ctx, scope, "ci", "job-1/b-10"); err != nil {
		t.Fatal(err)
	}
	check("after a move and a delete")
	first := list(store.StreamListing{ByLastEventTime: true, Descending: true})[0]
	if first.Name != "job-0/b-00" || first.LastEventTimestamp != 1_800_000_000_000 {
		t.Fatalf("newest: %+v", first)
	}
}
