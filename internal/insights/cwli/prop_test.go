package cwli

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cairnlog/cairn/internal/store"
)

// Random events checked against plain Go computations of the same answers.

type pev struct {
	ts      int64
	user    string
	latency int
	errLine bool
}

func genProp(r *rand.Rand, n int) ([]pev, []store.ScanBlock) {
	users := []string{"ann", "ben", "cat", "dan"}
	var ps []pev
	ts := int64(1_700_000_000_000)
	for i := 0; i < n; i++ {
		ts += int64(r.IntN(5000))
		ps = append(ps, pev{ts: ts, user: users[r.IntN(len(users))], latency: r.IntN(1000), errLine: r.IntN(10) == 0})
	}
	// blocks of random sizes, in storage order but overlapping in time: a
	// block's events are chronological, blocks are shuffled a little
	var blocks []store.ScanBlock
	for i := 0; i < len(ps); {
		j := min(len(ps), i+1+r.IntN(40))
		var evs []store.StoredEvent
		for _, p := range ps[i:j] {
			msg := fmt.Sprintf(`{"user":"%s","latency":%d}`, p.user, p.latency)
			if p.errLine {
				msg = fmt.Sprintf(`ERROR user=%s latency=%d`, p.user, p.latency)
			}
			evs = append(evs, store.StoredEvent{Stream: "s", Timestamp: p.ts, Message: msg})
		}
		blocks = append(blocks, store.ScanBlock{Group: "g", Events: evs})
		i = j
	}
	r.Shuffle(len(blocks), func(a, b int) {
		if r.IntN(4) == 0 {
			blocks[a], blocks[b] = blocks[b], blocks[a]
		}
	})
	return ps, blocks
}

func runBlocks(t *testing.T, q string, blocks []store.ScanBlock, opts Options) []string {
	t.Helper()
	cq, err := Compile(q)
	if err != nil {
		t.Fatal(err)
	}
	x := cq.Run(opts)
	for _, b := range blocks {
		if !x.AddBlock("g", b) {
			break
		}
	}
	res, err := x.Finish()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, row := range res.Rows {
		var parts []string
		for _, f := range row {
			parts = append(parts, f.Field+"="+f.Value)
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

func TestProperties(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		ps, blocks := genProp(r, 300+r.IntN(500))
		check := func(q string, got, want []string) {
			t.Helper()
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("seed %d %q:\n got %v\nwant %v", seed, q, got, want)
			}
		}

		// stats by user over JSON events
		type agg struct{ n, sum, lo, hi int }
		by := map[string]*agg{}
		for _, p := range ps {
			if p.errLine {
				continue
			}
			a := by[p.user]
			if a == nil {
				a = &agg{lo: 1 << 30, hi: -1}
				by[p.user] = a
			}
			a.n++
			a.sum += p.latency
			a.lo, a.hi = min(a.lo, p.latency), max(a.hi, p.latency)
		}
		var want []string
		var names []string
		for u := range by {
			names = append(names, u)
		}
		sort.Strings(names)
		for _, u := range names {
			a := by[u]
			want = append(want, fmt.Sprintf("user=%s n=%d s=%d lo=%d hi=%d", u, a.n, a.sum, a.lo, a.hi))
		}
		q := `filter ispresent(user) | stats count() as n, sum(latency) as s, min(latency) as lo, max(latency) as hi by user | sort user asc`
		check(q, runBlocks(t, q, blocks, Options{}), want)

		// count by bin(1m), ascending time
		bins := map[int64]int{}
		for _, p := range ps {
			bins[p.ts-p.ts%60000]++
		}
		var keys []int64
		for k := range bins {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		want = nil
		for _, k := range keys {
			want = append(want, fmt.Sprintf("bin(1m)=%s count()=%d", formatTimeIndependent(k), bins[k]))
		}
		q = `stats count() by bin(1m)`
		check(q, runBlocks(t, q, blocks, Options{}), want)

		// newest first, limit k, with and without a filter
		sorted := append([]pev(nil), ps...)
		sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].ts > sorted[j].ts })
		k := 1 + r.IntN(30)
		want = nil
		for _, p := range sorted[:k] {
			want = append(want, "@timestamp="+formatTimeIndependent(p.ts))
		}
		q = `fields @timestamp | sort @timestamp desc | limit ` + strconv.Itoa(k)
		check(q, runBlocks(t, q, blocks, Options{}), want)
		want = nil
		for _, p := range sorted {
			if p.errLine && len(want) < k {
				want = append(want, "@timestamp="+formatTimeIndependent(p.ts))
			}
		}
		q = `filter @message like /^ERROR/ | fields @timestamp | limit ` + strconv.Itoa(k)
		check(q, runBlocks(t, q, blocks, Options{}), want)

		// oldest first through the run's limit
		asc := append([]pev(nil), ps...)
		sort.SliceStable(asc, func(i, j int) bool { return asc[i].ts < asc[j].ts })
		want = nil
		for _, p := range asc[:k] {
			want = append(want, "@timestamp="+formatTimeIndependent(p.ts))
		}
		q = `fields @timestamp | sort @timestamp asc`
		check(q, runBlocks(t, q, blocks, Options{Limit: k}), want)

		// the largest latencies among error lines, parsed out of the text
		var lat []int
		for _, p := range ps {
			if p.errLine {
				lat = append(lat, p.latency)
			}
		}
		sort.Sort(sort.Reverse(sort.IntSlice(lat)))
		want = nil
		for _, l := range lat[:min(k, len(lat))] {
			want = append(want, "l="+strconv.Itoa(l))
		}
		q = `parse @message "latency=*" as l | filter ispresent(l) | sort l desc | limit ` + strconv.Itoa(k) + ` | display l`
		check(q, runBlocks(t, q, blocks, Options{}), want)
	}
}

// formatTimeIndependent renders epoch ms as "YYYY-MM-DD HH:MM:SS.mmm" UTC
// by civil-date arithmetic, without the time package the executor uses.
func formatTimeIndependent(ms int64) string {
	days := ms / 86400000
	rem := ms % 86400000
	// days since 1970-01-01 to y/m/d (Howard Hinnant's algorithm)
	z := days + 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d.%03d", y, m, d, rem/3600000, rem/60000%60, rem/1000%60, rem%1000)
}
