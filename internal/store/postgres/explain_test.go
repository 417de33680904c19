package postgres

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/pgtest"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

// TestExplainRareTerm prints PostgreSQL's EXPLAIN (ANALYZE, BUFFERS) of the
// queries a rare-term read issues, over the bench's shape of one group (500
// blocks of 1000 bench lines in 16 streams, the rare token in two), and the
// read's wall time. A profile for docs/benchmarks.md, not a check: run with
// CAIRN_PG_EXPLAIN=1.
func TestExplainRareTerm(t *testing.T) {
	if os.Getenv("CAIRN_PG_EXPLAIN") == "" {
		t.Skip("CAIRN_PG_EXPLAIN=1 runs it")
	}
	e, ctx, scope := rareTermCorpus(t)
	if _, err := e.pool.Exec(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	f, err := pattern.Compile(bench.RareToken)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		start := time.Now()
		page, err := e.Read(ctx, store.ReadRequest{Group: scope, Name: "g", Limit: 10000, MaxBytes: 1 << 20, Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("rare-term read: %d events, %d blocks skipped, %v", len(page.Events), page.SkippedBlocks, time.Since(start))
	}
	for range 3 {
		t0 := time.Now()
		sel, err := e.selectIn(ctx, scope, "g", nil, "", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		s := newSummaries(e, sel, false, f)
		var fetches []time.Duration
		for !s.done {
			t := time.Now()
			if err := s.fetch(ctx); err != nil {
				panic(err)
			}
			fetches = append(fetches, time.Since(t))
		}
		t2 := time.Now()
		for len(s.buf) > 0 {
			if _, _, err := s.open(ctx); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("the read's steps: group lookup %v, summaries %v (%v), opening %d blocks %v", t1.Sub(t0), t2.Sub(t1), fetches, 2, time.Since(t2))
	}
	sel, err := e.selectIn(ctx, scope, "g", nil, "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	s := newSummaries(e, sel, false, f)
	q, args := s.query()
	rows, err := e.pool.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS) `+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("the first summaries query (%d rows asked):\n%s", s.page, strings.Join(plan, "\n"))
}

// rareTermCorpus opens an engine on a fresh database holding the bench's
// shape of one group "g": 500 blocks of 1000 bench lines in 16 streams, the
// rare token in two of them. The engine closes with the test.
func rareTermCorpus(t *testing.T) (*Engine, context.Context, store.Scope) {
	t.Helper()
	pg := pgtest.Start(t)
	e, err := Open(Config{URL: pg.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, context.Background(), fillRareTerm(t, e)
}

// fillRareTerm writes rareTermCorpus's group "g" into s.
func fillRareTerm(t *testing.T, s store.Store) store.Scope {
	t.Helper()
	ctx := context.Background()
	scope := store.Scope{Account: "000000000000", Region: "us-east-1"}
	var streams []string
	for i := range 16 {
		streams = append(streams, fmt.Sprintf("s%d", i))
	}
	storetest.Setup(t, s, scope, "g", streams...)
	gen := bench.NewLineGen(1)
	now := time.Now().UnixMilli() - 3_600_000
	for b := range 500 {
		evs := make([]store.Event, 1000)
		for i := range evs {
			msg := gen.Line()
			if (b == 100 || b == 400) && i == 500 {
				msg += " " + bench.RareToken
			}
			evs[i] = store.Event{Timestamp: now + int64(b*1000+i), Message: msg}
		}
		if _, err := s.Append(ctx, scope, "g", streams[b%16], evs, now); err != nil {
			t.Fatal(err)
		}
	}
	return scope
}
