package storetest

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/store"
)

// testRandomPaging pages through randomized data with random windows,
// limits, budgets and directions and compares with a brute-force model.
// -short runs 2 seeds, the default 4.
func testRandomPaging(t *testing.T, open func(*testing.T) store.Store) {
	seeds := int64(4)
	if testing.Short() {
		seeds = 2
	}
	for seed := int64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { randomPaging(t, open(t), seed) })
	}
}

func randomPaging(t *testing.T, e store.Store, seed int64) {
	ctx := context.Background()
	defer e.Close()
	rng := rand.New(rand.NewSource(seed))
	streams := []string{"a", "b", "c", "d"}
	Setup(t, e, scope, "g", streams...)
	base := time.Now().UnixMilli() - 10*86_400_000
	spread := []int64{10, 1000, 3_600_000, 86_400_000}[rng.Intn(4)]
	var all []want
	for i := 0; i < 150; i++ {
		stream := streams[rng.Intn(len(streams))]
		ts := base + rng.Int63n(spread*4+1)
		n := 1 + rng.Intn(30)
		var evs []store.Event
		for j := 0; j < n; j++ {
			if rng.Intn(3) == 0 {
				ts += rng.Int63n(spread/int64(n) + 1)
			}
			evs = append(evs, store.Event{Timestamp: ts, Message: fmt.Sprintf("m%d-%d word%d", i, j, rng.Intn(5))})
		}
		all = append(all, mustAppend(t, e, "g", stream, evs, base)...)
	}
	slices.SortFunc(all, func(a, b want) int { return comparePos(a.pos, b.pos) })
	lo, hi := all[0].pos.Time, all[len(all)-1].pos.Time
	for trial := 0; trial < 60; trial++ {
		q := store.ReadRequest{Group: scope, Name: "g", Limit: 1 + rng.Intn(40), Backward: rng.Intn(2) == 0}
		if rng.Intn(2) == 0 {
			q.Start = lo + rng.Int63n(hi-lo+1)
			q.End = q.Start + rng.Int63n(hi-lo+1) + 1
		}
		keep := func(want) bool { return true }
		switch rng.Intn(4) {
		case 1:
			s := streams[rng.Intn(4)]
			q.Streams = []string{s}
			keep = func(x want) bool { return x.stream == s }
		case 2:
			q.Streams = []string{"a", "c"}
			keep = func(x want) bool { return x.stream == "a" || x.stream == "c" }
		}
		var fkeep = keep
		if rng.Intn(2) == 0 {
			w := fmt.Sprintf("word%d", rng.Intn(5))
			q.Filter = substr(w)
			fkeep = func(x want) bool { return keep(x) && strings.Contains(x.msg, w) }
		}
		if rng.Intn(2) == 0 {
			q.ScanBudget = 1 + rng.Int63n(500)
		}
		if rng.Intn(3) == 0 {
			q.MaxBytes = 30 + rng.Intn(300)
		}
		start, end := q.Start, q.End
		name := fmt.Sprintf("%+v", q)
		var got []store.StoredEvent
		var prev *store.Position
		for pages := 0; ; pages++ {
			p, err := e.Read(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, p.Events...)
			if p.Next == nil {
				break
			}
			if pages > 20_000 || (prev != nil && *prev == *p.Next) {
				t.Fatalf("%s: no progress", name)
			}
			prev = p.Next
			q.After = p.Next
		}
		var exp []want
		for _, x := range all {
			if fkeep(x) && x.pos.Time >= start && (end == 0 || x.pos.Time < end) {
				exp = append(exp, x)
			}
		}
		if q.Backward {
			slices.Reverse(exp)
		}
		for i := range min(len(got), len(exp)) {
			if got[i].Pos != exp[i].pos || got[i].Message != exp[i].msg || got[i].Stream != exp[i].stream {
				t.Fatalf("%s: event %d is %+v, want %+v", name, i, got[i], exp[i])
			}
		}
		if len(got) != len(exp) {
			t.Fatalf("%s: %d events, want %d", name, len(got), len(exp))
		}
	}
}
