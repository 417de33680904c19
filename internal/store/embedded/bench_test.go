package embedded

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

// fill writes n events as 1,000-event blocks round-robin over streams, with
// timestamps that advance like the load generator's.
func fill(b testing.TB, e *Engine, n, streams int) (rawBytes int64) {
	ctx := context.Background()
	if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"}); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < streams; i++ {
		if err := e.CreateStream(ctx, scope, "g", store.Stream{Name: fmt.Sprintf("s%d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	gen := bench.NewLineGen(1)
	ts := time.Now().UnixMilli() - 3_600_000
	for i := 0; i < n/1000; i++ {
		evs := make([]store.Event, 1000)
		t := ts + int64(i)*30
		for j := range evs {
			t += int64(j % 3)
			evs[j] = store.Event{Timestamp: t, Message: gen.Line()}
			rawBytes += int64(len(evs[j].Message))
		}
		if _, err := e.Append(ctx, scope, "g", fmt.Sprintf("s%d", i%streams), evs, ts); err != nil {
			b.Fatal(err)
		}
	}
	return rawBytes
}

// openFilled opens an in-memory engine holding 300,000 events in 64 streams
// and sets b's bytes per op to their raw size.
func openFilled(b *testing.B) *Engine {
	e, err := Open(Config{Dir: "/db", FS: vfs.NewMem(), RecompactInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fill(b, e, 300_000, 64))
	return e
}

// openFilledS2 is openFilled with S2 appended blocks: what reads of fresh
// data see with --compression s2.
func openFilledS2(b *testing.B) *Engine {
	e, err := Open(Config{Dir: "/db", FS: vfs.NewMem(), RecompactInterval: -1, Compression: "s2"})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fill(b, e, 300_000, 64))
	return e
}

// openMerged is openFilled with the events in 16 streams (18,750 each, as
// the compare's 2 M events in 64 streams hold 31,250) merged by the
// re-compaction into merged blocks (format 4): what reads see at its steady state.
func openMerged(b *testing.B) *Engine {
	e, err := Open(Config{Dir: "/db", FS: vfs.NewMem(), RecompactInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fill(b, e, 300_000, 16))
	if _, err := e.RecompactSettled(); err != nil {
		b.Fatal(err)
	}
	return e
}

// layouts runs fn on each layout: blocks as appended (format 2, zstd and S2) and merged.
func layouts(b *testing.B, fn func(b *testing.B, e *Engine)) {
	for _, l := range []struct {
		name string
		open func(*testing.B) *Engine
	}{{"appended", openFilled}, {"appended-s2", openFilledS2}, {"merged", openMerged}} {
		b.Run(l.name, func(b *testing.B) {
			e := l.open(b)
			defer e.Close()
			b.ResetTimer()
			fn(b, e)
		})
	}
}

// BenchmarkScan is a full scan of a group for a term that every block may
// hold but few events match: decompression and matching, no block skipping.
func BenchmarkScan(b *testing.B) { layouts(b, benchScan) }

func benchScan(b *testing.B, e *Engine) { benchFilteredRead(b, e, substr("checkout_timeout")) }

// benchFilteredRead reads the whole group with filter f, page by page.
func benchFilteredRead(b *testing.B, e *Engine, f store.Matcher) {
	defer reportCPU(b, cpuTime())
	for i := 0; i < b.N; i++ {
		q := store.ReadRequest{Group: scope, Name: "g", Limit: 10000, MaxBytes: 1 << 20, Filter: f}
		n := 0
		for {
			p, err := e.Read(context.Background(), q)
			if err != nil {
				b.Fatal(err)
			}
			n += len(p.Events)
			if p.Next == nil {
				break
			}
			q.After = p.Next
		}
		if n == 0 {
			b.Fatal("no matches")
		}
	}
}

// lineBatches makes n batches of size generated log lines, and their raw size.
func lineBatches(ts int64, n, size int) ([][]store.Event, int64) {
	gen := bench.NewLineGen(1)
	batches := make([][]store.Event, n)
	var raw int64
	for i := range batches {
		batches[i] = make([]store.Event, size)
		for j := range batches[i] {
			batches[i][j] = store.Event{Timestamp: ts + int64(j), Message: gen.Line()}
			raw += int64(len(batches[i][j].Message))
		}
	}
	return batches, raw
}

// BenchmarkAppend measures encoding, compression and the durable commit of
// 1,000-event blocks (one writer; the load generator measures concurrency).
func BenchmarkAppend(b *testing.B) {
	for _, level := range []string{"s2", "fastest", "default"} {
		b.Run(level, func(b *testing.B) { benchAppend(b, level) })
	}
}

func benchAppend(b *testing.B, level string) {
	e, err := Open(Config{Dir: b.TempDir(), Compression: level})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	storetest.Setup(b, e, scope, "g", "s")
	ts := time.Now().UnixMilli()
	batches, raw := lineBatches(ts, 64, 1000)
	b.SetBytes(raw / int64(len(batches)))
	b.ResetTimer()
	cpu0 := processCPU()
	for i := 0; i < b.N; i++ {
		if _, err := e.Append(ctx, scope, "g", "s", batches[i%len(batches)], ts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N*1000), "cpu-ns/event")
	g, _ := e.GetGroup(ctx, scope, "g")
	b.ReportMetric(float64(g.StoredBytes)/float64(b.N*1000), "stored-B/event")
}

// noSkip is a substring filter that declares no required literal, so no
// block can be skipped: the "before block skipping" baseline.
type noSkip string

func (s noSkip) Match(m string) bool             { return strings.Contains(m, string(s)) }
func (s noSkip) Required() []string              { return nil }
func (s noSkip) RequiredUnlessEscaped() []string { return nil }

// BenchmarkRareSearch times a whole search for a token that occurs once per
// 500,000 events, over 2 M events, with and without summaries skipping blocks.
func BenchmarkRareSearch(b *testing.B) {
	e, err := Open(Config{Dir: "/db", FS: vfs.NewMem()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	storetest.Setup(b, e, scope, "g", "s")
	gen := bench.NewLineGen(3)
	ts := time.Now().UnixMilli() - 3_600_000
	const n = 2_000_000
	for i := 0; i < n/1000; i++ {
		evs := make([]store.Event, 1000)
		for j := range evs {
			msg := gen.Line()
			if (i*1000+j)%500_000 == 250_000 {
				msg += " zqxneedle7"
			}
			evs[j] = store.Event{Timestamp: ts + int64(i), Message: msg}
		}
		if _, err := e.Append(ctx, scope, "g", "s", evs, ts); err != nil {
			b.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		f    store.Matcher
	}{{"skipping", substr("zqxneedle7")}, {"no-skipping", noSkip("zqxneedle7")}} {
		b.Run(c.name, func(b *testing.B) {
			var skipped int64
			for i := 0; i < b.N; i++ {
				q := store.ReadRequest{Group: scope, Name: "g", Limit: 10000, Filter: c.f, StreamPrefix: "s"}
				found := 0
				for {
					p, err := e.Read(ctx, q)
					if err != nil {
						b.Fatal(err)
					}
					found += len(p.Events)
					skipped = p.SkippedBlocks
					if p.Next == nil {
						break
					}
					q.After = p.Next
				}
				if found != n/500_000 {
					b.Fatalf("found %d", found)
				}
			}
			b.ReportMetric(float64(skipped), "blocks-skipped")
		})
	}
}

// BenchmarkScanStream is BenchmarkScan's search through Scan: the same
// blocks decoded and matched on every core, delivered block by block.
func BenchmarkScanStream(b *testing.B) { layouts(b, benchScanStream) }

func benchScanStream(b *testing.B, e *Engine) {
	defer reportCPU(b, cpuTime())
	for i := 0; i < b.N; i++ {
		n := 0
		_, err := e.Scan(context.Background(), store.ScanRequest{Scope: scope, Groups: []string{"g"}, Filter: substr("checkout_timeout")},
			func(blk store.ScanBlock) bool { n += len(blk.Events); return true })
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatal("no matches")
		}
	}
}

// reportCPU reports the CPU time per op since start (cpuTime: scale_test.go):
// on a shared machine it moves less with the load than the wall time.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkTimeRange reads the 100,000 events in the middle of a 300,000-event
// group through every page (10,000 events, 1 MB), as FilterLogEvents with a
// startTime and endTime does; bytes per op are the group's raw size.
func BenchmarkTimeRange(b *testing.B) { layouts(b, benchTimeRange) }

func benchTimeRange(b *testing.B, e *Engine) {
	// fill spreads 300 blocks over 300×30+ ms; the middle third by time.
	all := readRange(b, e, store.ReadRequest{Group: scope, Name: "g", Limit: 10000, MaxBytes: 1 << 20})
	from, to := all[100_000], all[200_000]
	b.ResetTimer()
	cpu := cpuTime()
	for i := 0; i < b.N; i++ {
		evs := readRange(b, e, store.ReadRequest{Group: scope, Name: "g", Limit: 10000, MaxBytes: 1 << 20, Start: from, End: to})
		if len(evs) < 90_000 {
			b.Fatalf("%d events", len(evs))
		}
	}
	reportCPU(b, cpu)
	if g, err := e.lookup(scope, "g"); err == nil { // after the loop: ResetTimer drops metrics
		b.ReportMetric(float64(g.storedBytes.Load())/float64(len(all)), "stored-B/event")
	}
}

// readRange reads every page of q and returns the events' timestamps.
func readRange(b *testing.B, e *Engine, q store.ReadRequest) []int64 {
	var ts []int64
	for {
		p, err := e.Read(context.Background(), q)
		if err != nil {
			b.Fatal(err)
		}
		for _, ev := range p.Events {
			ts = append(ts, ev.Timestamp)
		}
		if p.Next == nil {
			return ts
		}
		q.After = p.Next
	}
}

// BenchmarkRareSearchMerged is the compare's rare-term search on both
// layouts: 300,000 events in 16 streams, the token in 2 of them, the whole
// search (its first page is all of it) with block skipping.
func BenchmarkRareSearchMerged(b *testing.B) {
	for _, merged := range []bool{false, true} {
		name := map[bool]string{false: "appended", true: "merged"}[merged]
		b.Run(name, func(b *testing.B) {
			e, err := Open(Config{Dir: "/db", FS: vfs.NewMem(), RecompactInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			ctx := context.Background()
			if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g"}); err != nil {
				b.Fatal(err)
			}
			for i := 0; i < 16; i++ {
				if err := e.CreateStream(ctx, scope, "g", store.Stream{Name: fmt.Sprintf("s%d", i)}); err != nil {
					b.Fatal(err)
				}
			}
			gen := bench.NewLineGen(3)
			ts := time.Now().UnixMilli() - 3_600_000
			for i := 0; i < 300; i++ {
				evs := make([]store.Event, 1000)
				t := ts + int64(i)*30
				for j := range evs {
					t += int64(j % 3)
					msg := gen.Line()
					if (i*1000+j)%150_000 == 75_000 {
						msg += " zqxneedle7"
					}
					evs[j] = store.Event{Timestamp: t, Message: msg}
				}
				if _, err := e.Append(ctx, scope, "g", fmt.Sprintf("s%d", i%16), evs, ts); err != nil {
					b.Fatal(err)
				}
			}
			if merged {
				if _, err := e.RecompactSettled(); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			cpu := cpuTime()
			for i := 0; i < b.N; i++ {
				p, err := e.Read(ctx, store.ReadRequest{Group: scope, Name: "g", Limit: 10000, Filter: substr("zqxneedle7")})
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Events) != 2 || p.Next != nil {
					b.Fatalf("%d events, next %v", len(p.Events), p.Next)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkReadFeed: the CPU per event of a caught-up follower's feed
// read (pages of 10 appends of 1,000 lines, served from the feed tail),
// into a new page each time ("fresh") and into the follower's kept page
// array (FeedRequest.Buf, "buf"). Run with -cpu 1.
func BenchmarkReadFeed(b *testing.B) {
	e, err := Open(Config{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	storetest.Setup(b, e, scope, "g", "s")
	ts := time.Now().UnixMilli()
	batches, _ := lineBatches(ts, 10, 1000)
	var after uint64
	// A follower's read first: the tail fills only while one reads.
	if _, err := e.ReadFeed(ctx, store.FeedRequest{Scope: scope, Group: "g", Limit: 1}); err != nil {
		b.Fatal(err)
	}
	for _, evs := range batches {
		if _, err := e.Append(ctx, scope, "g", "s", evs, ts); err != nil {
			b.Fatal(err)
		}
	}
	for _, keep := range []bool{false, true} {
		b.Run(map[bool]string{false: "fresh", true: "buf"}[keep], func(b *testing.B) {
			var buf []store.StoredEvent
			n := 0
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				p, err := e.ReadFeed(ctx, store.FeedRequest{Scope: scope, Group: "g", After: after, Limit: 10_000, Buf: buf})
				if err != nil || len(p.Events) != 10_000 {
					b.Fatalf("%d events (%v)", len(p.Events), err)
				}
				n += len(p.Events)
				if keep {
					buf = p.Events
				}
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(n), "cpu-ns/event")
		})
	}
}

// BenchmarkScanJSON is BenchmarkScan with a JSON filter pattern (literals
// that hold only unless escaped): a quarter of the lines are JSON, few match.
func BenchmarkScanJSON(b *testing.B) { layouts(b, benchScanJSON) }

func benchScanJSON(b *testing.B, e *Engine) {
	p, err := pattern.Compile(`{ $.latency_ms > 2990 }`)
	if err != nil {
		b.Fatal(err)
	}
	benchFilteredRead(b, e, p)
}
