package delivery

import (
	"fmt"
	"syscall"
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/store"
)

// benchRecord is one record as the pipeline benchmark's followers build it:
// 1,000 of the standard lines (bench.LineGen) of one stream, with 56-digit
// ids that share their leading digits as consecutive events' do.
func benchRecord() *Record {
	g := bench.NewLineGen(42)
	r := &Record{Owner: "000000000000", Group: "/bench/g0", Stream: "s-00", Filters: []string{"to-nats"}}
	for i := 0; i < 1000; i++ {
		id := fmt.Sprintf("3948762211%023d%023d", 1764600000000+int64(i/7), 4200000+i)
		r.Events = append(r.Events, Event{ID: id, Timestamp: 1764600000000 + int64(i/7), Message: g.Line()})
	}
	return r
}

// BenchmarkRecordGzip: the CPU per event of the payload (JSON, then gzip)
// at each deflate level klauspost/compress offers, and the size it costs
// (B/event, and the ratio to the JSON), in CPU time (getrusage), which
// a loaded machine inflates far less than the wall clock. Run with -cpu 1.
func BenchmarkRecordGzip(b *testing.B) {
	base := benchRecord()
	b.Run("json", func(b *testing.B) {
		cpu0 := processCPU()
		for i := 0; i < b.N; i++ {
			r := *base
			r.json = nil
			r.JSON()
		}
		b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N*len(base.Events)), "cpu-ns/event")
		b.ReportMetric(float64(len(base.JSON()))/float64(len(base.Events)), "B/event")
	})
	for _, lvl := range []int{-3, -2, 0, 1, 2, 5} {
		name := map[int]string{-3: "stateless", -2: "huffman-only", 0: "stored"}[lvl]
		if name == "" {
			name = fmt.Sprint("level-", lvl)
		}
		b.Run(name, func(b *testing.B) {
			pool := &gzipPool{level: lvl}
			base.JSON()
			var n int
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				r := *base
				r.gz = nil
				n = len(r.gzip(pool))
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N*len(base.Events)), "cpu-ns/event")
			b.ReportMetric(float64(n)/float64(len(base.Events)), "B/event")
			b.ReportMetric(float64(n)/float64(len(base.JSON())), "ratio")
		})
	}
}

// BenchmarkBuildPage: the CPU per event of turning a feed page (10 blocks
// of 1,000 standard lines, one stream each) into records and their JSON,
// for one filter alone ("alone") and for the second of a group's two
// match-all filters, which finds the blocks encoded by the first
// ("second"; "second-lean" with a sink that sends the payload alone, whose
// records have no Events). Run with -cpu 1.
func BenchmarkBuildPage(b *testing.B) {
	g := bench.NewLineGen(42)
	var page []store.StoredEvent
	for blk := 0; blk < 10; blk++ {
		for i := 0; i < 1000; i++ {
			p := store.Position{Time: 1764600000000 + int64(blk*1000+i)/7, Seq: uint64(100 + blk), Index: uint32(i)}
			page = append(page, store.StoredEvent{Stream: fmt.Sprint("s-", blk), Timestamp: p.Time, IngestionTime: p.Time, Message: g.Line(), Pos: p})
		}
	}
	run := func(b *testing.B, second bool, sink Sink) {
		m := &Manager{byGroup: map[groupKey][]*follower{}}
		fl := &follower{m: m, f: Filter{Name: "f", Group: "g"}, sink: sink}
		if second {
			m.byGroup[groupKey{group: "g"}] = []*follower{fl, {}}
			fl.build(page) // the first follower's encoding, kept in m.shared
		}
		cpu0 := processCPU()
		for i := 0; i < b.N; i++ {
			recs := fl.build(page)
			for _, r := range recs {
				r.JSON()
			}
			fl.release(recs)
		}
		b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N*len(page)), "cpu-ns/event")
	}
	b.Run("alone", func(b *testing.B) { run(b, false, nil) })
	b.Run("second", func(b *testing.B) { run(b, true, nil) })
	// The second, to a sink that sends the payload alone: lean records.
	b.Run("second-lean", func(b *testing.B) { run(b, true, &fileSink{}) })
}

// processCPU is the process's user+system CPU time in ns.
func processCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkJoinedGzip: the CPU per event of a record's gzip payload for a
// group's match-all filters at level 1: encoded event by event
// ("events": JSON, then gzip, what each gzip filter paid before), joined
// from the block's deflated span when the filter is the first to deflate
// it ("first") and when the other filter did ("second": the head, the
// trailer and a copy). Run with -cpu 1.
func BenchmarkJoinedGzip(b *testing.B) {
	base := sharedPage(b, 1, 1)[0]
	blk := base.pieces[0].blk
	for _, c := range []string{"events", "first", "second"} {
		b.Run(c, func(b *testing.B) {
			pool := &gzipPool{level: 1}
			var n int
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				r := *base
				r.gz, r.json = nil, nil
				switch c {
				case "events":
					r.pieces = nil
				case "first":
					blk.seg = nil
				}
				n = len(r.gzip(pool))
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N*len(base.Events)), "cpu-ns/event")
			b.ReportMetric(float64(n)/float64(len(base.Events)), "B/event")
		})
	}
}

// BenchmarkGroupPage: the CPU per event of what cairn bench --pipeline's
// two followers do with a feed page in process (10 blocks of 1,000
// standard lines, one stream each): the NATS follower builds its records
// and gzips them at level 1, the file follower builds its records and
// their JSON, both release them. The sinks' sends, the feed read and the
// cursor saves are not in it. Run with -cpu 1.
func BenchmarkGroupPage(b *testing.B) {
	g := bench.NewLineGen(42)
	var page []store.StoredEvent
	seq := uint64(100)
	next := func() {
		page = page[:0]
		for blk := 0; blk < 10; blk++ {
			seq++
			for i := 0; i < 1000; i++ {
				p := store.Position{Time: 1764600000000 + int64(seq*1000+uint64(i))/7, Seq: seq, Index: uint32(i)}
				page = append(page, store.StoredEvent{Stream: fmt.Sprint("s-", blk), Timestamp: p.Time, IngestionTime: p.Time, Message: g.Line(), Pos: p})
			}
		}
	}
	m := &Manager{byGroup: map[groupKey][]*follower{}}
	// Their sinks' types (payloadOnly: lean records), not their sends.
	nats := &follower{m: m, f: Filter{Name: "to-nats", Group: "g"}, sink: &natsSink{}}
	file := &follower{m: m, f: Filter{Name: "to-file", Group: "g"}, sink: &fileSink{}}
	m.byGroup[groupKey{group: "g"}] = []*follower{nats, file}
	pool := &gzipPool{level: 1}
	var cpu int64
	for i := 0; i < b.N; i++ {
		next() // fresh blocks each page, as the feed brings them
		cpu0 := processCPU()
		recs := nats.build(page)
		for _, r := range recs {
			r.gzip(pool)
		}
		nats.release(recs)
		recs = file.build(page)
		for _, r := range recs {
			r.JSON()
		}
		file.release(recs)
		cpu += processCPU() - cpu0
	}
	b.ReportMetric(float64(cpu)/float64(b.N*len(page)), "cpu-ns/event")
}
