package postgres

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

// TestRareTermCPU measures the CPU a rare-term read costs, on both sides:
// this process (the node's engine) and the database's backends serving
// it (utime+stime from /proc), over 200 reads of one group of 500 blocks
// of 1000 bench lines (the rare token in two). CPU, not wall time: on a
// loaded machine a PostgreSQL round trip waits for a core, the embedded
// engine's lookup does not. Then the embedded engine's CPU per read of the
// same corpus, and the ratio. CAIRN_PG_CPUPROFILE=FILE writes the node's CPU
// profile of the measured reads. Only e.Read is used, so the same test runs on
// an older commit. A measurement, not a check: CAIRN_PG_EXPLAIN=1 runs it.
func TestRareTermCPU(t *testing.T) {
	if os.Getenv("CAIRN_PG_EXPLAIN") == "" {
		t.Skip("CAIRN_PG_EXPLAIN=1 runs it")
	}
	e, ctx, scope := rareTermCorpus(t)
	f, err := pattern.Compile(bench.RareToken)
	if err != nil {
		t.Fatal(err)
	}
	read := func() {
		page, err := e.Read(ctx, store.ReadRequest{Group: scope, Name: "g", Limit: 10000, MaxBytes: 1 << 20, Filter: f})
		if err != nil || len(page.Events) != 2 {
			t.Fatalf("%d events (%v)", len(page.Events), err)
		}
	}
	for range 10 {
		read() // warm: connections open, statements prepared
	}
	backends := func() map[int]int64 {
		rows, err := e.pool.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[int]int64{}
		for rows.Next() {
			var pid int
			if err := rows.Scan(&pid); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil {
				continue
			}
			f := strings.Fields(string(b)[strings.LastIndexByte(string(b), ')')+2:])
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			out[pid] = u + s
		}
		return out
	}
	self := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	const n = 200
	if path := os.Getenv("CAIRN_PG_CPUPROFILE"); path != "" {
		// The node's side of the measured reads only (the corpus's
		// appends are not in it).
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
	}
	b0, s0, w0 := backends(), self(), time.Now()
	for range n {
		read()
	}
	wall, node, b1 := time.Since(w0), self()-s0, backends()
	pprof.StopCPUProfile() // (nothing when not started)
	var ticks int64
	for pid, c := range b1 {
		ticks += c - b0[pid]
	}
	pgCPU := time.Duration(ticks) * 10 * time.Millisecond // USER_HZ 100
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("%d rare-term reads: node CPU %v/read, PostgreSQL CPU %v/read (%d backends), wall %v/read; load %s",
		n, node/n, pgCPU/n, len(b1), wall/n, strings.Join(strings.Fields(string(load))[:3], " "))

	// The embedded engine on the same corpus, measured right after: its
	// whole cost is this process's CPU.
	emb, err := embedded.Open(embedded.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	fillRareTerm(t, emb)
	readEmb := func() {
		page, err := emb.Read(ctx, store.ReadRequest{Group: scope, Name: "g", Limit: 10000, MaxBytes: 1 << 20, Filter: f})
		if err != nil || len(page.Events) != 2 {
			t.Fatalf("embedded: %d events (%v)", len(page.Events), err)
		}
	}
	for range 10 {
		readEmb()
	}
	s0, w0 = self(), time.Now()
	for range n {
		readEmb()
	}
	embWall, embCPU := time.Since(w0), self()-s0
	load, _ = os.ReadFile("/proc/loadavg")
	t.Logf("embedded, same corpus: CPU %v/read, wall %v/read; load %s; PostgreSQL (node + database) / embedded CPU = %.2f",
		embCPU/n, embWall/n, strings.Join(strings.Fields(string(load))[:3], " "), float64(node+pgCPU)/float64(embCPU))
}
