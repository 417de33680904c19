package bench

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestMedianAndRatio(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{nan, 5, 1}, 3},
		{[]float64{7}, 7},
	} {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if !math.IsNaN(Median(nil)) || !math.IsNaN(Median([]float64{nan})) {
		t.Error("Median of nothing known should be NaN")
	}
	if Ratio(6, 3) != 2 || !math.IsNaN(Ratio(1, 0)) || !math.IsNaN(Ratio(nan, 1)) || !math.IsNaN(Ratio(1, nan)) {
		t.Error("Ratio")
	}
}

func TestFormat(t *testing.T) {
	for x, want := range map[float64]string{827_123.4: "827,123", 1234: "1,234", 155.4: "155", 27.14: "27.1", 0.573: "0.57", -1234567: "-1,234,567"} {
		if got := FormatValue(x); got != want {
			t.Errorf("FormatValue(%v) = %q, want %q", x, got, want)
		}
	}
	if FormatValue(math.NaN()) != "–" || FormatRatio(2.349) != "2.35×" || FormatRatio(math.NaN()) != "–" {
		t.Error("FormatValue(NaN) / FormatRatio")
	}
}

func report(eps float64, cpu time.Duration, rssMiB, dataB, diskB int64, rare, scan time.Duration, gbps float64, rng time.Duration) *Report {
	const events = 1_000_000
	return &Report{Events: events, EventsPerSec: eps, ServerCPU: cpu, ServerPeakRSS: rssMiB << 20,
		DataFileBytes: dataB * events, DiskBytes: diskB * events,
		Query: &QueryReport{RareFirstPage: rare, RareMatches: 2, CommonScanTime: scan, CommonGBPerSecond: gbps, CommonMatches: 2000,
			RangeTime: rng, RangeEvents: 100_000, RangeExpected: 100_000}}
}

func TestComparisonFigures(t *testing.T) {
	c := &Comparison{Peer: "VictoriaLogs", Rounds: []Round{
		{Order: []string{"cairn", "victorialogs"}, LoadAvg: "3.1 3.0 2.9",
			Cairn: report(800_000, 2*time.Second, 150, 27, 48, 9*time.Millisecond, 0, 0.6, 400*time.Millisecond),
			Peer:  report(400_000, 5*time.Second, 500, 27, 27, 10*time.Millisecond, 0, 0.7, 200*time.Millisecond)},
		{Order: []string{"victorialogs", "cairn"}, LoadAvg: "4.0 3.5 3.0",
			Cairn: report(900_000, 2*time.Second, 160, 27, 48, 9*time.Millisecond, 0, 0.5, 300*time.Millisecond),
			Peer:  report(300_000, 4*time.Second, 400, 27, 24, 12*time.Millisecond, 0, 1.0, 150*time.Millisecond)},
		{Order: []string{"cairn", "victorialogs"}, LoadAvg: "2.0 2.0 2.0",
			Cairn: report(850_000, 2*time.Second, 155, 27, 48, 8*time.Millisecond, 0, 0.55, 350*time.Millisecond),
			Peer:  report(350_000, 5*time.Second, 450, 27, 26, 8*time.Millisecond, 0, 0.8, 250*time.Millisecond)},
	}}
	figs := c.Figures()
	byName := map[string]Figure{}
	for _, f := range figs {
		if strings.Contains(f.Name, "aws-sdk-go-v2") {
			continue // below
		}
		byName[strings.SplitN(f.Name, " ", 2)[0]+" "+f.Unit] = f
	}
	ingest := byName["ingest events/s"]
	if got := ingest.Ratios(); got[0] != 2 || got[1] != 3 || math.Abs(got[2]-850.0/350) > 1e-9 {
		t.Fatalf("ingest ratios %v", got)
	}
	if m := Median(ingest.Ratios()); math.Abs(m-850.0/350) > 1e-9 || !ingest.Ahead() {
		t.Fatalf("ingest median ratio %v, ahead %v", m, ingest.Ahead())
	}
	cpu := byName["server s per million events"]
	if cpu.Cairn[0] != 2 || cpu.Peer[1] != 4 || !cpu.Ahead() {
		t.Fatalf("CPU figure %+v", cpu)
	}
	// Lower is better for time-range reads: Cairn's 2× slower is not ahead.
	rng := byName["time-range ms"]
	if Median(rng.Ratios()) != 2 || rng.Ahead() {
		t.Fatalf("time range %+v ratios %v", rng, rng.Ratios())
	}
	scan := byName["full GB/s of message text"]
	if scan.Ahead() || math.Abs(Median(scan.Ratios())-0.55/0.8) > 1e-9 {
		t.Fatalf("scan %+v", scan)
	}
	disk := figs[3] // data files
	if len(figs) != 10 || disk.Cairn[0] != 27 {
		t.Fatalf("%d figures; data-file disk %+v", len(figs), disk)
	}

	var b strings.Builder
	c.WriteMarkdown(&b)
	out := b.String()
	for _, want := range []string{
		"| Figure | Cairn (median) | VictoriaLogs (median) | Cairn ÷ VictoriaLogs, round 1 |",
		"| ingest, events/s | 850,000 | 350,000 | 2.00× | 3.00× | 2.43× | **2.43×** | higher | **yes** |",
		"| time-range read, every event fetched, decoded and checked (lean clients), ms | 350 | 200 | 2.00× | 2.00× | 1.40× | **2.00×** | lower | no |",
		// No SDK figure measured: the SDK rows repeat the lean ones.
		"| time-range read, Cairn through aws-sdk-go-v2 (VictoriaLogs: lean), ms | 350 | 200 | 2.00× | 2.00× | 1.40× | **2.00×** | lower | no |",
		"| 2 | victorialogs → cairn | 4.0 3.5 3.0 | 1,000,000 / 1,000,000 | 2 / 2 | 2,000 / 2,000 | 100,000 / 100,000 (100,000) |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks\n%s\nin\n%s", want, out)
		}
	}
}

// The SDK rows hold Cairn's SDK figure beside the peer's lean one.
func TestComparisonSDKRows(t *testing.T) {
	cairn := &Report{Events: 10, Query: &QueryReport{RangeTime: 100 * time.Millisecond, RangeTimeSDK: 300 * time.Millisecond,
		CommonScanBytes: 1e9, CommonGBPerSecond: 2, CommonScanTime: 500 * time.Millisecond, CommonScanTimeSDK: 2 * time.Second}}
	peer := &Report{Events: 10, Query: &QueryReport{RangeTime: 150 * time.Millisecond, CommonScanBytes: 1e9, CommonGBPerSecond: 1,
		CommonScanTime: time.Second}}
	c := &Comparison{Peer: "VL", Rounds: []Round{{Cairn: cairn, Peer: peer}}}
	got := map[string][2]float64{}
	for _, f := range c.Figures() {
		got[f.Name] = [2]float64{f.Cairn[0], f.Peer[0]}
	}
	for name, want := range map[string][2]float64{
		"time-range read, every event fetched, decoded and checked (lean clients)":             {100, 150},
		"time-range read, Cairn through aws-sdk-go-v2 (VictoriaLogs: lean)":                    {300, 150},
		"full scan for a common term, every match fetched, decoded and checked (lean clients)": {2, 1},
		"full scan, Cairn through aws-sdk-go-v2 (VictoriaLogs: lean)":                          {0.5, 1},
	} {
		if g, ok := got[name]; !ok || math.Abs(g[0]-want[0]) > 1e-9 || math.Abs(g[1]-want[1]) > 1e-9 {
			t.Errorf("%s: %v, want %v", name, g, want)
		}
	}
}

// A figure one side did not measure shows as unknown, not as zero or ∞.
func TestComparisonUnknownFigure(t *testing.T) {
	c := &Comparison{Peer: "VL", Rounds: []Round{{Cairn: &Report{Events: 10, EventsPerSec: 5}, Peer: &Report{Events: 10, EventsPerSec: 10}}}}
	for _, f := range c.Figures() {
		if f.Unit == "events/s" {
			if f.Ratios()[0] != 0.5 || f.Ahead() {
				t.Fatalf("ingest %+v", f)
			}
			continue
		}
		if !math.IsNaN(f.Ratios()[0]) || f.Ahead() {
			t.Errorf("%s: ratio %v, want unknown", f.Name, f.Ratios())
		}
	}
	var b strings.Builder
	c.WriteMarkdown(&b)
	if !strings.Contains(b.String(), "| rare term (FilterLogEvents first page / LogsQL query), ms | – | – | – | **–** | lower | no |") {
		t.Errorf("unknown figure row:\n%s", b.String())
	}
}

// The Insights figures appear with --insights, beside their checks, and
// not at all without it.
func TestComparisonInsights(t *testing.T) {
	mk := func(d time.Duration, rows int, n float64) *Report {
		r := &Report{Events: 10, EventsPerSec: 5, Insights: &InsightsReport{}}
		for _, sh := range CompareShapes {
			r.Insights.Compare = append(r.Insights.Compare, CompareResult{Name: sh.Name, Time: d, Rows: rows, Total: n})
		}
		return r
	}
	c := &Comparison{Peer: "VL", Rounds: []Round{{Cairn: mk(10*time.Millisecond, 3, 42), Peer: mk(40*time.Millisecond, 3, 42)}}}
	var b strings.Builder
	c.WriteMarkdown(&b)
	for _, want := range []string{
		"| Insights / LogsQL: count by bin(5m), ms | 10.0 | 40.0 | 0.25× | **0.25×** | lower | **yes** |",
		"| 1 | substring ERROR, count | 3, 42.0 | 3, 42.0 |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks\n%s\nin\n%s", want, b.String())
		}
	}
	c = &Comparison{Peer: "VL", Rounds: []Round{{Cairn: &Report{Events: 10}, Peer: &Report{Events: 10}}}}
	b.Reset()
	c.WriteMarkdown(&b)
	if strings.Contains(b.String(), "Insights") {
		t.Errorf("Insights rows without --insights:\n%s", b.String())
	}
}

// The steady-state reads have rows of their own: Cairn's second read phase
// beside the peer's only one, while the first rows keep Cairn's reads
// from before the re-compaction.
func TestComparisonSettledReads(t *testing.T) {
	cairn := &Report{Events: 10, Query: &QueryReport{RangeTime: 100 * time.Millisecond, CommonGBPerSecond: 2},
		QuerySettled: &QueryReport{RangeTime: 300 * time.Millisecond, CommonGBPerSecond: 0.5}}
	peer := &Report{Peer: PeerVictoriaLogs, Events: 10, Query: &QueryReport{RangeTime: 150 * time.Millisecond, CommonGBPerSecond: 1}}
	c := &Comparison{Peer: "VL", Rounds: []Round{{Cairn: cairn, Peer: peer}}}
	got := map[string][2]float64{}
	for _, f := range c.Figures() {
		got[f.Name] = [2]float64{f.Cairn[0], f.Peer[0]}
	}
	for name, want := range map[string][2]float64{
		"time-range read, every event fetched, decoded and checked (lean clients)":             {100, 150},
		"full scan for a common term, every match fetched, decoded and checked (lean clients)": {2, 1},
		settledPrefix + "time-range read (lean clients)":                                       {300, 150},
		settledPrefix + "full scan for a common term (lean clients)":                           {0.5, 1},
	} {
		if g, ok := got[name]; !ok || math.Abs(g[0]-want[0]) > 1e-9 || math.Abs(g[1]-want[1]) > 1e-9 {
			t.Errorf("%s: %v (present %v), want %v", name, g, ok, want)
		}
	}
	var b strings.Builder
	c.WriteMarkdown(&b)
	want := "| settled data, after Cairn's re-compaction (VictoriaLogs: its one read phase): time-range read (lean clients), ms | 300 | 150 | 2.00× | **2.00×** | lower | no |"
	if !strings.Contains(b.String(), want) {
		t.Errorf("markdown lacks\n%s\nin\n%s", want, b.String())
	}
}
