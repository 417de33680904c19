package cwli

import (
	"fmt"
	"math"
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

// Parallel lanes give exactly what one lane gives.
func TestParallelMatchesSerial(t *testing.T) {
	queries := []string{
		`filter ispresent(user) | stats count() as n, sum(latency) as s, avg(latency) as a, min(latency) as lo, max(latency) as hi, stddev(latency) as sd, pct(latency, 90) as p by user`,
		`stats count() as n, count_distinct(latency) as d, earliest(latency) as e, latest(latency) as l, sortsFirst(@message) as sf, sortsLast(@message) as sl by bin(2m)`,
		`stats count_distinct(@message) as d, count(user) as u, max(@timestamp) as t`,
		`parse @message "latency=*" as l | filter ispresent(l) | stats count() as n, sum(l) as s by bin(30s) | sort s desc | limit 5`,
		`stats count() as n by user, latency % 7 as m | stats count() as groups, sum(n) as total`,
		`fields concat(user, "-", latency % 3) as k | stats min(latency) as lo, latest(k) as lk by k | sort k`,
		// fewer rows than groups: the lanes' first groups are merged alone
		`stats count() as n, avg(latency) as a, sum(latency) as s by latency, user | limit 7`,
		`stats count(user) as n by @message | fields n * 2 as m | limit 3`,
		`stats count() as n, pct(latency, 50) as p by latency | limit 5`,
		`stats count() as n by bin(1m), latency % 5 | limit 4`,
	}
	for seed := uint64(1); seed <= 6; seed++ {
		r := rand.New(rand.NewPCG(seed, 11))
		_, blocks := genProp(r, 2000+r.IntN(3000))
		// blocks big enough to be split among lanes, then blocks of a few
		// hundred events (as the store's filter leaves them), split unevenly
		for _, per := range []int{20, 8} {
			var big []store.ScanBlock
			for i := 0; i < len(blocks); i += per {
				var evs []store.StoredEvent
				for _, b := range blocks[i:min(i+per, len(blocks))] {
					evs = append(evs, b.Events...)
				}
				big = append(big, store.ScanBlock{Group: "g", Events: evs})
			}
			parallelMatchesSerial(t, queries, big)
		}
	}
}

func parallelMatchesSerial(t *testing.T, queries []string, big []store.ScanBlock) {
	t.Helper()
	{
		for _, q := range queries {
			serial := runBlocks(t, q, big, Options{})
			for _, lanes := range []int{2, 3, -2} {
				cq, _ := Compile(q)
				x := cq.Run(Options{Parallel: max(lanes, -lanes)})
				if x.lanes == nil {
					t.Fatalf("%q: no lanes", q)
				}
				if lanes < 0 {
					// many groups: the lanes fold into one after a while
					x.collapseAt = 40
				}
				for _, b := range big {
					x.AddBlock("g", b)
				}
				s := x.Snapshot()
				res, err := x.Finish()
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, row := range res.Rows {
					var parts []string
					for _, f := range row {
						parts = append(parts, f.Field+"="+f.Value)
					}
					got = append(got, strings.Join(parts, " "))
				}
				if !sameRows(got, serial) {
					t.Fatalf("%d-event first block, lanes %d %q:\n got %v\nwant %v", len(big[0].Events), lanes, q, got, serial)
				}
				if s.RecordsMatched != res.RecordsMatched || res.RecordsScanned == 0 {
					t.Errorf("statistics: snapshot %+v final %+v", s, res)
				}
			}
		}
	}
}

// sameRows compares rendered rows; numbers may differ in their last digits
// (floating-point sums and variances merged in another order).
func sameRows(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		fa, fb := strings.Fields(a[i]), strings.Fields(b[i])
		if len(fa) != len(fb) {
			return false
		}
		for j := range fa {
			if fa[j] == fb[j] {
				continue
			}
			ka, va, _ := strings.Cut(fa[j], "=")
			kb, vb, _ := strings.Cut(fb[j], "=")
			x, err1 := strconv.ParseFloat(va, 64)
			y, err2 := strconv.ParseFloat(vb, 64)
			if ka != kb || err1 != nil || err2 != nil || math.Abs(x-y) > 1e-9*math.Max(math.Abs(x), math.Abs(y)) {
				return false
			}
		}
	}
	return true
}
