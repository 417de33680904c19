package metricfilter

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/store"
)

// groupFilters are viewFilters plus the kinds Counter.count decides
// without the pattern's own Match: literal-only term patterns sharing
// literals (with exclusions, alternatives, the empty phrase), match-all
// patterns counted per block (with an integer and a fractional constant,
// and "[...]" with a field dimension, which is not), a regex term pattern
// (not literal-only), default values, and a filter created after the first
// blocks were ingested.
func groupFilters(tb testing.TB) []*compiled {
	tb.Helper()
	fs := viewFilters(tb)
	compile := func(e string) (logs.Pattern, error) { return pattern.Compile(e) }
	one := 1.0
	frac := 0.25
	specs := []struct {
		p, v     string
		d        map[string]string
		def      *float64
		creation int64
	}{
		{"?ERROR ?FATAL", "1", nil, nil, 0}, {"ERROR -DEBUG", "2.5", nil, &frac, 0}, {`"cache miss"`, "1", nil, &one, 0},
		{"?WARN ?timeout -GET", "0.1", nil, nil, 0}, {`-" "`, "1", nil, &one, 0}, {`?"" ?x`, "3", nil, nil, 0},
		{"", "0.1", nil, nil, 0}, {"", "7", nil, nil, 0}, {" ", "1", nil, nil, 3}, {"[...]", "1", map[string]string{"F": "$1"}, nil, 0},
		{"%ERR.R%", "1", nil, &one, 0}, {"timeout", "1e15", nil, nil, 0}, {"WARN", "1", nil, nil, 2},
	}
	for i, s := range specs {
		c, err := compileFilter(compile, MetricFilter{FilterName: fmt.Sprint("g", i), FilterPattern: s.p, CreationTime: s.creation,
			MetricTransformations: []MetricTransformation{{MetricName: "M", MetricNamespace: "N", MetricValue: s.v, Dimensions: s.d, DefaultValue: (*Double)(s.def)}}})
		if err != nil {
			tb.Fatal(s.p, err)
		}
		fs = append(fs, c)
	}
	assignLiterals(fs)
	return fs
}

// refCount counts events filter by filter through apply (each filter
// alone on the message, its own prefilter unmemoised, its pattern's own
// Match or Extract), series by series in a map, adding datapoints one by
// one in the feed's order (a new series past MaxSeriesPerFilter dropped):
// the counting before the shared per-event
// pass, the reference Counter.count is compared with.
func refCount(fs []*compiled, events []store.StoredEvent) map[string]map[string][2]float64 {
	out := map[string]map[string][2]float64{}
	addTo := func(f *compiled, dims []string, v float64) {
		m := out[f.name]
		if m == nil {
			m = map[string][2]float64{}
			out[f.name] = m
		}
		k := strings.Join(dims, "\xff")
		s, ok := m[k]
		if !ok && len(m) >= MaxSeriesPerFilter {
			return // a new series past the bound is dropped
		}
		s[0] += v
		s[1]++
		m[k] = s
	}
	for i := 0; i < len(events); {
		j := blockEnd(events, i)
		block := events[i:j]
		i = j
		for _, f := range fs {
			if block[0].IngestionTime < f.creation {
				continue
			}
			// The pattern alone: no prefilter (its literals, pruned or
			// not, at a field start or not, decide nothing here).
			alone := *f
			alone.pre, alone.preEsc = nil, nil
			any := false
			for _, e := range block {
				m, dp, ok := alone.apply(e.Message, scopeForFuzz)
				any = any || m
				if ok {
					addTo(f, dp.dims, dp.value)
				}
			}
			if !any && f.defaultValue != nil {
				addTo(f, nil, *f.defaultValue)
			}
		}
	}
	return out
}

// checkGroupCount counts events with Counter.count, in pages as the feed
// hands them, and compares every filter's series, sums (bit for bit) and
// counts with refCount's.
func checkGroupCount(t *testing.T, fs []*compiled, events []store.StoredEvent, page int) {
	t.Helper()
	r := &groupRun{loaded: true, state: groupState{Filters: map[string]*filterCounts{}}}
	r.setFilters(fs)
	for _, f := range fs {
		r.state.Filters[f.name] = &filterCounts{}
	}
	c := &Counter{}
	k := gkey{scope: scopeForFuzz, group: "g"}
	for i := 0; i < len(events); {
		j := min(i+page, len(events))
		for j < len(events) && events[j].Pos.Seq == events[j-1].Pos.Seq {
			j++ // pages end at a block's end, as ReadFeed's do
		}
		if err := c.count(context.Background(), k, r, events[i:j]); err != nil {
			t.Fatal(err)
		}
		i = j
	}
	want := refCount(fs, events)
	for _, f := range fs {
		got := map[string][2]float64{}
		for _, s := range r.state.Filters[f.name].Series {
			got[strings.Join(s.Dims, "\xff")] = [2]float64{s.Sum, s.Count}
		}
		w := want[f.name]
		if w == nil {
			w = map[string][2]float64{}
		}
		if len(got) != len(w) {
			t.Fatalf("%s: %d series counted, %d by the reference", f.name, len(got), len(w))
		}
		for key, ws := range w {
			gs, ok := got[key]
			if !ok || math.Float64bits(gs[0]) != math.Float64bits(ws[0]) || gs[1] != ws[1] {
				t.Fatalf("%s series %q: counted sum %v count %v; reference %v %v", f.name, key, gs[0], gs[1], ws[0], ws[1])
			}
		}
	}
}

// groupEvents makes blocks of msgs: block b holds the next sizes[b%len]
// messages, ingested at time b (so a filter created at 3 sees blocks from
// the fourth on).
func groupEvents(msgs []string, sizes []int) []store.StoredEvent {
	var evs []store.StoredEvent
	for i, b := 0, 0; i < len(msgs); b++ {
		n := min(sizes[b%len(sizes)], len(msgs)-i)
		for x := 0; x < n; x++ {
			evs = append(evs, store.StoredEvent{Stream: "s", Message: msgs[i+x], IngestionTime: int64(b),
				Pos: store.Position{Seq: uint64(b + 1), Index: uint32(x)}})
		}
		i += n
	}
	return evs
}

// TestGroupCountAgrees: Counter.count gives the reference's counts on the
// pipeline benchmark's lines and on hand-written ones (blocks where
// nothing matches, so default values show), in pages of several sizes.
func TestGroupCountAgrees(t *testing.T) {
	fs := groupFilters(t)
	msgs := []string{``, ` `, `ERROR DEBUG`, `FATAL x`, `x cache miss`, `WARN timeout GET`, `{"level":"error","latency_ms":1500}`,
		`{"level":"info","latency_ms":150}`, `10.0.0.1 7 bob [ts] "GET /" 503 1234 x`, `ERROR`, `ERRXR`, "a\tb \"c\\\" d\" [e f]"}
	g := bench.NewLineGen(42)
	for i := 0; i < 3000; i++ {
		msgs = append(msgs, g.Line())
	}
	for _, page := range []int{1, 7, 4096} {
		checkGroupCount(t, fs, groupEvents(msgs, []int{1, 3, 1000, 2, 50}), page)
	}
	// A filter matching every event, one event per block and millions of
	// blocks' worth in one: the at-once sum stays the one-by-one sum.
	many := make([]string, 5000)
	checkGroupCount(t, fs, groupEvents(many, []int{5000}), 4096)
}

// FuzzGroupCount: the same for any messages (split on newlines into
// blocks of the given sizes).
func FuzzGroupCount(f *testing.F) {
	f.Add("ERROR DEBUG\nFATAL x\n{\"level\":\"info\",\"latency_ms\":150}\n10.0.0.1 7 bob [ts] \"GET /\" 503 1234 x", uint8(2), uint8(1))
	f.Add("x cache miss\n\nWARN timeout\n{\"lev\\u0065l\":\"error\"}", uint8(1), uint8(3))
	f.Add("5 ERROR 503 x\n10.0.0.1 7 bob [ts] \"GET /\" 503 1234 x\n{\"latency_ms\":5}", uint8(0x85), uint8(2))
	fs := groupFilters(f)
	f.Fuzz(func(t *testing.T, text string, a, b uint8) {
		msgs := strings.Split(text, "\n")
		sizes := []int{int(a%8) + 1, int(b%8) + 1}
		if a&0x80 != 0 {
			// A first block large enough for pruneCommon to judge.
			sizes[0] = pruneSample + int(a&0x3f)
			for len(msgs) < sizes[0] {
				msgs = append(msgs, msgs...)
			}
		}
		checkGroupCount(t, fs, groupEvents(msgs, sizes), int(a%5)+1)
	})
}

// TestBlockScanAgrees: blockScan's answers are strings.Contains' for every
// message of a block: literals at a message's start and end, straddling
// two messages, repeated, empty, in empty messages.
func TestBlockScanAgrees(t *testing.T) {
	lits := []rareLiteral{newRareLiteral("ab"), newRareLiteral("b"), newRareLiteral("xyz"), newRareLiteral(""), newRareLiteral("aab")}
	for i := range lits {
		lits[i].id = i * 7
	}
	msgs := []string{"a", "b", "", "ab", "xy", "z", "aab", "xyzxyz", "bab", "", "a", "ab"}
	checkBlockScan(t, lits, msgs)
}

// TestTuneRare: the byte searched for is the literal's least frequent in
// the group's messages, not the static ranking's.
func TestTuneRare(t *testing.T) {
	lits := []rareLiteral{newRareLiteral("timeout"), newRareLiteral("cache miss")}
	if lits[0].s[lits[0].rare] != 'm' || lits[1].s[lits[1].rare] != 'm' {
		t.Fatalf("the ranking picks %q and %q; this test expects 'm' for both", lits[0].s[lits[0].rare], lits[1].s[lits[1].rare])
	}
	tuneRare(lits, []byte("read in 12ms; retry in 40ms; cache hit in 3ms; timeout"))
	if got0, got1 := lits[0].s[lits[0].rare], lits[1].s[lits[1].rare]; got0 == 'm' || got1 == 'm' {
		t.Fatalf("after tuning: %q and %q, want a byte rarer than 'm' in the text", got0, got1)
	}
}

func checkBlockScan(t *testing.T, lits []rareLiteral, msgs []string) {
	t.Helper()
	var block []store.StoredEvent
	for _, m := range msgs {
		block = append(block, store.StoredEvent{Message: m})
	}
	for _, tune := range []bool{false, true} {
		for _, masks := range []bool{false, true} {
			var bs blockScratch
			looked := blockScan(block, lits, tune, &bs, masks) // masks without AVX2: eqMasks
			checkPresent(t, lits, msgs, bs.present, looked)
		}
	}
}

func checkPresent(t *testing.T, lits []rareLiteral, msgs []string, present []uint64, looked uint64) {
	t.Helper()
	for i, m := range msgs {
		for _, l := range lits {
			bit := uint64(1) << l.id
			if looked&bit == 0 {
				t.Fatalf("%q not looked for", l.s)
			}
			if got, want := present[i]&bit != 0, refContains(m, l); got != want {
				t.Fatalf("%q (at a field start: %v) in message %d %q: block scan %v, reference %v", l.s, l.start, i, m, got, want)
			}
		}
	}
}

// refContains is strings.Contains(m, l.s), and for a literal only at a
// field start, every occurrence tried by strings.Index with the byte
// before it tested here (the bytes pattern.AtFieldStart documents).
func refContains(m string, l rareLiteral) bool {
	if !l.start {
		return strings.Contains(m, l.s)
	}
	for off := 0; off <= len(m); off++ {
		i := strings.Index(m[off:], l.s)
		if i < 0 {
			return false
		}
		if k := off + i; k == 0 || strings.IndexByte(" \t\"[]", m[k-1]) >= 0 {
			return true
		}
		off += i
	}
	return false
}

// TestBlockScanAtFieldStart: a literal only at a field start is found at
// a message's start, after white space, quotes and brackets, and not
// inside a field or across two messages.
func TestBlockScanAtFieldStart(t *testing.T) {
	lits := []rareLiteral{newRareLiteral("5"), newRareLiteral("50"), newRareLiteral("5")}
	lits[0].start, lits[1].start = true, true
	for i := range lits {
		lits[i].id = i
	}
	checkBlockScan(t, lits, []string{"5", "x5", "x 5", "x\t5", `x "5"`, "x [5]", "[x]5", `"x"5`, "15 25 x5", "a 4", "5x", "x 150", "x-50 a", "x 50", ""})
	for _, m := range []string{"x5", "15 25 x5", "x 150"} {
		if refContains(m, lits[0]) {
			t.Fatalf("the reference finds a field start in %q", m)
		}
	}
}

// FuzzBlockScan: the same for any messages and literals (the second only
// at a field start when start is odd).
func FuzzBlockScan(f *testing.F) {
	f.Add("a\nab\n\nxab", "ab", "b", uint8(0))
	f.Add("x 5\n15\n[5]\n\"x\"5 y", "5", "5", uint8(1))
	f.Fuzz(func(t *testing.T, text, a, b string, start uint8) {
		lits := []rareLiteral{newRareLiteral(a), newRareLiteral(b)}
		lits[0].id, lits[1].id = 0, 63
		lits[1].start = start&1 != 0
		checkBlockScan(t, lits, strings.Split(text, "\n"))
	})
}

// TestPruneJSON: on the pipeline benchmark's lines the member names every
// JSON object has ("level", "latency_ms") leave the JSON filters'
// prefilters, the values that few have ("error", "info") stay, and the
// counts equal the reference's.
func TestPruneJSON(t *testing.T) {
	r := pipelineRun(t)
	c := &Counter{}
	if err := c.count(context.Background(), gkey{scope: scopeForFuzz, group: "g"}, r, pipelineEvents()); err != nil {
		t.Fatal(err)
	}
	if !r.jsonPruned {
		t.Fatal("not judged")
	}
	var left []string
	for _, f := range r.filters {
		if f.isJSON {
			for _, l := range append(slices.Clone(f.pre), f.preEsc...) {
				left = append(left, l.s)
			}
		}
	}
	if strings.Join(left, ",") != "error,info" {
		t.Fatalf("the JSON filters' prefilters after pruning: %q", left)
	}
	checkGroupCount(t, pipelineRun(t).filters, pipelineEvents(), 4096)
}

// TestPruneCommon: on the pipeline benchmark's filters and lines nothing
// is pruned any more (the space-delimited filter's "5" is looked for at a
// field start, where few lines have it), and with the same filter's
// condition written status=*5* (a "5" anywhere: in nearly every line) the
// literal is dropped from the block search and the prefilter, the term
// filters' literals stay, and the counts still equal the reference's
// (checkGroupCount on fresh filters, whose first block prunes).
func TestPruneCommon(t *testing.T) {
	r := pipelineRun(t)
	c := &Counter{}
	if err := c.count(context.Background(), gkey{scope: scopeForFuzz, group: "g"}, r, pipelineEvents()); err != nil {
		t.Fatal(err)
	}
	if !r.pruned {
		t.Fatal("not pruned")
	}
	var left []string
	for _, l := range r.eager {
		left = append(left, l.s)
	}
	if strings.Join(left, ",") != "ERROR,WARN,timeout,5,FATAL,cache miss" {
		t.Fatalf("searched after pruning: %q", left)
	}
	if f := r.filters[7]; len(f.pre) != 1 || !f.pre[0].start {
		t.Fatalf("the space-delimited filter's prefilter: %+v, want \"5\" at a field start", f.pre)
	}

	anywhere := func() *groupRun {
		r := pipelineRun(t)
		f, err := compileFilter(func(e string) (logs.Pattern, error) { return pattern.Compile(e) }, MetricFilter{FilterName: "f7",
			FilterPattern:         "[ip, id, user, ts, request, status=*5*, bytes, ...]",
			MetricTransformations: []MetricTransformation{{MetricName: "M", MetricNamespace: "B", MetricValue: "$bytes"}}})
		if err != nil {
			t.Fatal(err)
		}
		fs := slices.Clone(r.filters)
		fs[7] = f
		r.setFilters(fs)
		return r
	}
	r = anywhere()
	if err := c.count(context.Background(), gkey{scope: scopeForFuzz, group: "g"}, r, pipelineEvents()); err != nil {
		t.Fatal(err)
	}
	left = left[:0]
	for _, l := range r.eager {
		left = append(left, l.s)
	}
	if strings.Join(left, ",") != "ERROR,WARN,timeout,FATAL,cache miss" {
		t.Fatalf("searched after pruning: %q", left)
	}
	if f := r.filters[7]; len(f.pre) != 0 {
		t.Fatalf("the space-delimited filter's prefilter kept %v", f.pre)
	}
	checkGroupCount(t, pipelineRun(t).filters, pipelineEvents(), 4096)
	checkGroupCount(t, anywhere().filters, pipelineEvents(), 4096)
	checkGroupCount(t, groupFilters(t), groupEvents(append(strings.Split(strings.Repeat("5 ERROR 503 x\n", 99), "\n"), `10.0.0.1 7 bob [ts] "GET /" 503 1234 x`), []int{100, 3}), 4096)
}
