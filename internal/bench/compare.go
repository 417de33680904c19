package bench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Round is one round of a side-by-side comparison: both systems measured
// one after the other on fresh data directories, in Order.
type Round struct {
	Order   []string // who ran first, e.g. ["cairn", "victorialogs"]
	LoadAvg string   // /proc/loadavg at the start of the round
	Cairn   *Report
	Peer    *Report
}

// Comparison is a whole side-by-side run.
type Comparison struct {
	Peer   string // display name of the peer, e.g. "VictoriaLogs"
	Rounds []Round
	Notes  []string // printed under the table, e.g. how the settled state was reached
}

// Figure is one compared measure, per round.
type Figure struct {
	Name   string
	Unit   string
	Higher bool      // a higher value is better
	Cairn  []float64 // per round; NaN when not measured
	Peer   []float64
}

// Ratios are Cairn ÷ peer, per round.
func (f Figure) Ratios() []float64 {
	r := make([]float64, len(f.Cairn))
	for i := range r {
		r[i] = Ratio(f.Cairn[i], f.Peer[i])
	}
	return r
}

// Ahead tells whether Cairn's median ratio is on the better side of 1
// (false when the ratio is unknown).
func (f Figure) Ahead() bool {
	m := Median(f.Ratios())
	if math.IsNaN(m) {
		return false
	}
	if f.Higher {
		return m > 1
	}
	return m < 1
}

// Ratio is a ÷ b, NaN when either is unknown or b is zero.
func Ratio(a, b float64) float64 {
	if math.IsNaN(a) || math.IsNaN(b) || b == 0 {
		return math.NaN()
	}
	return a / b
}

// Median of the known values (NaN when none is): the middle one, or the
// mean of the middle two.
func Median(xs []float64) float64 {
	v := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// figureDefs says how each compared figure is read off a Report.
var figureDefs = []struct {
	name, unit string
	higher     bool
	value      func(r *Report) float64
}{
	{"ingest", "events/s", true, func(r *Report) float64 { return r.EventsPerSec }},
	{"server CPU during ingest", "s per million events", false, func(r *Report) float64 {
		return perEvent(r.ServerCPU.Seconds(), r.Events) * 1e6
	}},
	// Over the phases both systems run: Cairn also runs Insights shapes and
	// ten queries at once that the peer does not (their peak is in its
	// own report), so its figure is its VmHWM before those.
	{"peak RSS (VmHWM: ingest, reads and the compared queries)", "MiB", false, func(r *Report) float64 {
		if r.Insights != nil && r.Insights.ComparedPeakRSS > 0 {
			return known(float64(r.Insights.ComparedPeakRSS) / (1 << 20))
		}
		return known(float64(r.ServerPeakRSS) / (1 << 20))
	}},
	{"disk, data files, after a clean stop", "bytes/event", false, func(r *Report) float64 { return perEvent(float64(r.DataFileBytes), r.Events) }},
	{"disk, everything in the data directory, after a clean stop", "bytes/event", false, func(r *Report) float64 {
		return perEvent(float64(r.DiskBytes), r.Events)
	}},
	{"rare term (FilterLogEvents first page / LogsQL query)", "ms", false, func(r *Report) float64 {
		return query(r, func(q *QueryReport) float64 { return ms(q.RareFirstPage.Seconds()) })
	}},
	{"full scan for a common term, every match fetched, decoded and checked (lean clients)", "GB/s of message text", true, func(r *Report) float64 {
		return query(r, func(q *QueryReport) float64 { return q.CommonGBPerSecond })
	}},
	{"time-range read, every event fetched, decoded and checked (lean clients)", "ms", false, func(r *Report) float64 {
		return query(r, func(q *QueryReport) float64 { return ms(q.RangeTime.Seconds()) })
	}},
	// The same reads with Cairn's side through aws-sdk-go-v2 (VictoriaLogs
	// has no SDK: its side is its lean figure again).
	{"full scan, Cairn through aws-sdk-go-v2 (VictoriaLogs: lean)", "GB/s of message text", true, func(r *Report) float64 {
		return query(r, func(q *QueryReport) float64 {
			if q.CommonScanTimeSDK == 0 {
				return q.CommonGBPerSecond
			}
			return float64(q.CommonScanBytes) / 1e9 / q.CommonScanTimeSDK.Seconds()
		})
	}},
	{"time-range read, Cairn through aws-sdk-go-v2 (VictoriaLogs: lean)", "ms", false, func(r *Report) float64 {
		return query(r, func(q *QueryReport) float64 {
			if q.RangeTimeSDK == 0 {
				return ms(q.RangeTime.Seconds())
			}
			return ms(q.RangeTimeSDK.Seconds())
		})
	}},
}

// settledPrefix names the reads measured again once Cairn's re-compaction
// reached its steady state (Report.QuerySettled). The rows above it are
// read right after ingest, while the blocks are as appended (format 2: the
// worker merges only blocks older than --recompact-age, which the bench
// sets short, --settle-age, so that the steady state comes within the
// round), so only these show how the merged blocks read (format 4 decodes
// slower than format 2, BenchmarkDecodeFormat). VictoriaLogs reads once:
// its side repeats its one read phase.
const settledPrefix = "settled data, after Cairn's re-compaction (VictoriaLogs: its one read phase): "

// settled reads a read figure off the steady-state reads of Cairn's report
// (Peer PeerNone), off the one read phase of the peer's.
func settled(f func(*QueryReport) float64) func(r *Report) float64 {
	return func(r *Report) float64 {
		q := r.Query
		if r.Peer == PeerNone {
			q = r.QuerySettled
		}
		if q == nil {
			return math.NaN()
		}
		return known(f(q))
	}
}

// insightsFigure reads one CompareShape's time off a Report, in ms.
func insightsFigure(name string) func(r *Report) float64 {
	return func(r *Report) float64 {
		if r.Insights == nil {
			return math.NaN()
		}
		for _, c := range r.Insights.Compare {
			if c.Name == name {
				return ms(c.Time.Seconds())
			}
		}
		return math.NaN()
	}
}

const insightsPrefix = "Insights / LogsQL: "

// insightsCPU reads one CompareShape's server CPU a run off a Report, in ms.
func insightsCPU(name string) func(r *Report) float64 {
	return func(r *Report) float64 {
		if r.Insights == nil {
			return math.NaN()
		}
		for _, c := range r.Insights.Compare {
			if c.Name == name {
				return known(ms(c.ServerCPU.Seconds()))
			}
		}
		return math.NaN()
	}
}

func init() {
	for _, d := range []struct {
		name, unit string
		higher     bool
		value      func(r *Report) float64
	}{
		{settledPrefix + "rare term (FilterLogEvents first page / LogsQL query)", "ms", false,
			settled(func(q *QueryReport) float64 { return ms(q.RareFirstPage.Seconds()) })},
		{settledPrefix + "full scan for a common term (lean clients)", "GB/s of message text", true,
			settled(func(q *QueryReport) float64 { return q.CommonGBPerSecond })},
		{settledPrefix + "time-range read (lean clients)", "ms", false,
			settled(func(q *QueryReport) float64 { return ms(q.RangeTime.Seconds()) })},
		{settledPrefix + "full scan, Cairn through aws-sdk-go-v2 (VictoriaLogs: lean)", "GB/s of message text", true,
			settled(func(q *QueryReport) float64 {
				if q.CommonScanTimeSDK == 0 {
					return q.CommonGBPerSecond
				}
				return float64(q.CommonScanBytes) / 1e9 / q.CommonScanTimeSDK.Seconds()
			})},
		{settledPrefix + "time range, Cairn through aws-sdk-go-v2 (VictoriaLogs: lean)", "ms", false,
			settled(func(q *QueryReport) float64 {
				if q.RangeTimeSDK == 0 {
					return ms(q.RangeTime.Seconds())
				}
				return ms(q.RangeTimeSDK.Seconds())
			})},
	} {
		figureDefs = append(figureDefs, d)
	}
	for _, sh := range CompareShapes {
		figureDefs = append(figureDefs, struct {
			name, unit string
			higher     bool
			value      func(r *Report) float64
		}{insightsPrefix + sh.Name, "ms", false, insightsFigure(sh.Name)})
	}
	for _, sh := range CompareShapes {
		figureDefs = append(figureDefs, struct {
			name, unit string
			higher     bool
			value      func(r *Report) float64
		}{insightsPrefix + sh.Name + ", server CPU a run", "ms", false, insightsCPU(sh.Name)})
	}
}

// known turns a zero (not measured) into NaN.
func known(x float64) float64 {
	if x == 0 {
		return math.NaN()
	}
	return x
}

func perEvent(x float64, events int64) float64 {
	if x == 0 || events == 0 {
		return math.NaN()
	}
	return x / float64(events)
}

func ms(s float64) float64 { return known(s * 1000) }

func query(r *Report, f func(*QueryReport) float64) float64 {
	if r.Query == nil {
		return math.NaN()
	}
	return known(f(r.Query))
}

// Figures reads every compared figure off the rounds.
func (c *Comparison) Figures() []Figure {
	out := make([]Figure, len(figureDefs))
	for i, d := range figureDefs {
		f := Figure{Name: d.name, Unit: d.unit, Higher: d.higher}
		for _, r := range c.Rounds {
			cv, pv := math.NaN(), math.NaN()
			if r.Cairn != nil {
				cv = d.value(r.Cairn)
			}
			if r.Peer != nil {
				pv = d.value(r.Peer)
			}
			f.Cairn, f.Peer = append(f.Cairn, cv), append(f.Peer, pv)
		}
		out[i] = f
	}
	// the Insights figures of a run without --insights, the steady-state
	// reads of one without them
	return slices.DeleteFunc(out, func(f Figure) bool {
		return strings.HasPrefix(f.Name, insightsPrefix) && allNaN(f.Cairn) && allNaN(f.Peer) ||
			strings.HasPrefix(f.Name, settledPrefix) && allNaN(f.Cairn)
	})
}

func allNaN(xs []float64) bool {
	for _, x := range xs {
		if !math.IsNaN(x) {
			return false
		}
	}
	return true
}

// FormatValue prints a figure with as many digits as its size deserves
// ("–" when unknown).
func FormatValue(x float64) string {
	switch {
	case math.IsNaN(x):
		return "–"
	case math.Abs(x) >= 1000:
		return groupThousands(strconv.FormatFloat(x, 'f', 0, 64))
	case math.Abs(x) >= 100:
		return strconv.FormatFloat(x, 'f', 0, 64)
	case math.Abs(x) >= 10:
		return strconv.FormatFloat(x, 'f', 1, 64)
	default:
		return strconv.FormatFloat(x, 'f', 2, 64)
	}
}

// FormatRatio prints a ratio as "2.41×" ("–" when unknown).
func FormatRatio(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return strconv.FormatFloat(x, 'f', 2, 64) + "×"
}

func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// WriteMarkdown writes the comparison as Markdown: one row a figure with
// both medians, Cairn ÷ peer for each round and its median, then the rounds
// (order, load average, and the match counts that show both systems
// answered the same question).
func (c *Comparison) WriteMarkdown(w io.Writer) {
	peer := c.Peer
	fmt.Fprintf(w, "| Figure | Cairn (median) | %s (median) |", peer)
	for i := range c.Rounds {
		fmt.Fprintf(w, " Cairn ÷ %s, round %d |", peer, i+1)
	}
	fmt.Fprintf(w, " median ratio | better | Cairn ahead |\n|---|---|---|")
	for range c.Rounds {
		fmt.Fprint(w, "---|")
	}
	fmt.Fprintln(w, "---|---|---|")
	for _, f := range c.Figures() {
		better := "lower"
		if f.Higher {
			better = "higher"
		}
		ahead := "no"
		if f.Ahead() {
			ahead = "**yes**"
		}
		fmt.Fprintf(w, "| %s, %s | %s | %s |", f.Name, f.Unit, FormatValue(Median(f.Cairn)), FormatValue(Median(f.Peer)))
		for _, r := range f.Ratios() {
			fmt.Fprintf(w, " %s |", FormatRatio(r))
		}
		fmt.Fprintf(w, " **%s** | %s | %s |\n", FormatRatio(Median(f.Ratios())), better, ahead)
	}
	for _, n := range c.Notes {
		fmt.Fprintf(w, "\n%s\n", n)
	}
	fmt.Fprintf(w, "\n| Round | Order | Load average at start | Events (Cairn / %s) | Rare matches | Common-term matches | Time-range events (expected) | Cairn's re-compaction: merges before the settled reads (0: the first reads saw appended blocks only), wait, rewritten |\n|---|---|---|---|---|---|---|---|\n", peer)
	for i, r := range c.Rounds {
		fmt.Fprintf(w, "| %d | %s | %s | %s / %s | %s | %s | %s | %s |\n", i+1, strings.Join(r.Order, " → "), r.LoadAvg,
			events(r.Cairn), events(r.Peer),
			pair(r, func(q *QueryReport) int { return q.RareMatches }),
			pair(r, func(q *QueryReport) int { return q.CommonMatches }),
			pair(r, func(q *QueryReport) int { return q.RangeEvents })+expected(r), settleCell(r.Cairn))
	}
	c.writeInsightsChecks(w)
}

// writeInsightsChecks shows, per round and shape, each side's rows and Σ n:
// the two answered the same question.
func (c *Comparison) writeInsightsChecks(w io.Writer) {
	has := false
	for _, r := range c.Rounds {
		has = has || r.Cairn != nil && r.Cairn.Insights != nil && len(r.Cairn.Insights.Compare) > 0
	}
	if !has {
		return
	}
	fmt.Fprintf(w, "\n| Round | Query | Cairn: rows, Σ n | %s: rows, Σ n |\n|---|---|---|---|\n", c.Peer)
	side := func(rep *Report, name string) string {
		if rep == nil || rep.Insights == nil {
			return "–"
		}
		for _, x := range rep.Insights.Compare {
			if x.Name == name {
				return groupThousands(strconv.Itoa(x.Rows)) + ", " + FormatValue(x.Total)
			}
		}
		return "–"
	}
	for i, r := range c.Rounds {
		for _, sh := range CompareShapes {
			fmt.Fprintf(w, "| %d | %s | %s | %s |\n", i+1, sh.Name, side(r.Cairn, sh.Name), side(r.Peer, sh.Name))
		}
	}
}

func events(r *Report) string {
	if r == nil {
		return "–"
	}
	return groupThousands(strconv.FormatInt(r.Events, 10))
}

func pair(r Round, f func(*QueryReport) int) string {
	v := func(rep *Report) string {
		if rep == nil || rep.Query == nil {
			return "–"
		}
		return groupThousands(strconv.Itoa(f(rep.Query)))
	}
	return v(r.Cairn) + " / " + v(r.Peer)
}

func expected(r Round) string {
	for _, rep := range []*Report{r.Cairn, r.Peer} {
		if rep != nil && rep.Query != nil {
			return " (" + groupThousands(strconv.Itoa(rep.Query.RangeExpected)) + ")"
		}
	}
	return ""
}

// settleCell says what Cairn's re-compaction did in a round: the merges it
// had done before the first read phase ended, how long the steady state
// took, and the bytes rewritten.
func settleCell(r *Report) string {
	if r == nil || r.Settle == nil {
		return "–"
	}
	s := r.Settle
	return fmt.Sprintf("%d, %s, %d merges, %.1f → %.1f MB", s.MergesAtStart, s.Wait.Round(time.Second), s.Merges,
		float64(s.BytesBefore)/1e6, float64(s.BytesAfter)/1e6)
}
