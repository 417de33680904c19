package embedded

import (
	"context"
	"runtime"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/cairnlog/cairn/internal/store"
)

// TestPageCostDoesNotGrow pages through the last two thirds (forward) or
// the first two thirds (backward) of a group whose 120 blocks overlap in
// time (8 streams, a block every 30 ms spanning ~1 s, so ~33 blocks are
// open at any instant; the range starts in the middle, so page 1 meets as
// many overlapping blocks as any later page) and counts, per page, the
// blocks decompressed and the message bytes examined. A read that
// rescanned from the start of its range for each token would cost page N
// about N times page 1; one that resumes costs page N about what page 1
// cost. Checked with the resume cache (the next page takes the blocks the
// last one stopped in, so it decompresses at most what page 1 did) and
// without it (emptied before every page, as when a token is used much
// later or after a restart: a page then reopens the blocks around its
// resume point, about what page 1 opened around its start, give or take
// what the prefetcher had decoded ahead). Over the group
// (FilterLogEvents), one stream (GetLogEvents), and a search that reads
// every block and matches nothing (its pages end at the scan budget).
func TestPageCostDoesNotGrow(t *testing.T) {
	// No background re-compaction: it would merge the blocks between pages
	// (their summaries then skip the search's blocks), and the page
	// boundaries this test compares would move under it.
	e, err := Open(Config{Dir: "/db", FS: vfs.NewMem(), RecompactInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	fill(t, e, 120_000, 8)
	ctx := context.Background()
	edge := func(backward bool) int64 {
		p, err := e.Read(ctx, store.ReadRequest{Group: scope, Name: "g", Backward: backward, Limit: 1})
		if err != nil || len(p.Events) != 1 {
			t.Fatal(err)
		}
		return p.Events[0].Timestamp
	}
	first, last := edge(false), edge(true)
	third := (last - first) / 3
	for _, c := range []struct {
		name     string
		streams  []string
		backward bool
		filter   store.Matcher
		limit    int
		budget   int64
	}{
		{"group forward", nil, false, nil, 4000, 0},
		{"group backward", nil, true, nil, 4000, 0},
		{"stream forward", []string{"s3"}, false, nil, 500, 0},
		{"stream backward", []string{"s3"}, true, nil, 500, 0},
		{"search forward", nil, false, nowhere("HTTP/1.1"), 10_000, 2 << 20},
		{"search backward", nil, true, nowhere("HTTP/1.1"), 10_000, 2 << 20},
	} {
		for _, cached := range []bool{true, false} {
			name := c.name + ", resume cache"
			if !cached {
				name = c.name + ", no resume cache"
			}
			t.Run(name, func(t *testing.T) {
				q := store.ReadRequest{Group: scope, Name: "g", Streams: c.streams, Backward: c.backward, Filter: c.filter,
					Limit: c.limit, ScanBudget: c.budget, Start: first + third}
				if c.backward {
					q.Start, q.End = 0, last-third
				}
				// Every event of the range, by an independent count.
				want := 0
				for sc, err := range scanCount(e, c.streams, q.Start, q.End) {
					if err != nil {
						t.Fatal(err)
					}
					want += sc
				}
				if c.filter != nil {
					want = 0
				}
				var decodes, scanned []int64
				events := 0
				for {
					if !cached {
						e.resume = newResumeCache(resumeCacheBytes, e.putBuf)
					}
					before := e.decodes.Load()
					p, err := e.Read(context.Background(), q)
					if err != nil {
						t.Fatal(err)
					}
					decodes = append(decodes, e.decodes.Load()-before)
					scanned = append(scanned, p.ScannedBytes)
					events += len(p.Events)
					if p.Next == nil {
						break
					}
					q.After = p.Next
				}
				pages := len(decodes)
				t.Logf("%d events in %d pages; blocks decompressed per page %v; bytes examined per page %v", events, pages, decodes, scanned)
				if events != want || pages < 5 {
					t.Fatalf("%d events in %d pages, want %d in at least 5", events, pages, want)
				}
				// "About": a page may meet a few more overlapping blocks
				// than page 1 did, and its prefetcher may have run further
				// ahead when the page filled (its queue, its job channel and
				// a block in each worker's hands, all thrown away without
				// the cache): a constant, whatever N is.
				workers := runtime.GOMAXPROCS(0)
				prefetched := int64(2*readAhead*workers + workers)
				for i := 1; i < pages; i++ {
					maxDecodes := decodes[0] + decodes[0]/4 + prefetched
					if cached && c.filter == nil {
						// The blocks the last page stopped in come from the
						// cache. (A search's pages keep no block that had no
						// match, so they reopen the blocks overlapping their
						// resume point, as page 1 opened those around its
						// start: about page 1's cost, the bound above.)
						maxDecodes = decodes[0]
					}
					if decodes[i] > maxDecodes || scanned[i] > scanned[0]+scanned[0]/2 {
						t.Fatalf("page %d cost %d blocks and %d bytes, page 1 %d and %d: page N must cost about what page 1 does",
							i+1, decodes[i], scanned[i], decodes[0], scanned[0])
					}
				}
			})
		}
	}
}

// nowhere is a filter whose literal is in (nearly) every block and that
// matches no event: a search that cannot skip blocks and finds nothing.
type nowhere string

func (nowhere) Match(string) bool               { return false }
func (s nowhere) Required() []string            { return []string{string(s)} }
func (nowhere) RequiredUnlessEscaped() []string { return nil }

// scanCount counts the events of streams (nil: all) in [start, end) through
// Scan, block by block: an independent road to the same events.
func scanCount(e *Engine, streams []string, start, end int64) func(yield func(int, error) bool) {
	return func(yield func(int, error) bool) {
		n := 0
		_, err := e.Scan(context.Background(), store.ScanRequest{Scope: scope, Groups: []string{"g"}, Streams: streams, Start: start, End: end},
			func(b store.ScanBlock) bool { n += len(b.Events); return true })
		yield(n, err)
	}
}
