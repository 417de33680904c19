package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/iam"
	"github.com/cairnlog/cairn/internal/server"
)

func runBench(env Env, args []string) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	cfg := bench.Config{Out: env.Stderr}
	fs.Func("endpoint", "CloudWatch Logs endpoint URL; repeat it or give a comma-separated list to spread the writers over several nodes (default: --spawn a server)", func(v string) error {
		if cfg.Endpoint != "" {
			v = cfg.Endpoint + "," + v
		}
		cfg.Endpoint = v
		return nil
	})
	fs.StringVar(&cfg.Region, "region", "us-east-1", "region to sign for")
	fs.StringVar(&cfg.AccessKey, "access-key", envOr(env, "AWS_ACCESS_KEY_ID", ""), "access key [AWS_ACCESS_KEY_ID]")
	fs.StringVar(&cfg.SecretKey, "secret-key", envOr(env, "AWS_SECRET_ACCESS_KEY", ""), "secret key [AWS_SECRET_ACCESS_KEY]")
	fs.IntVar(&cfg.Groups, "groups", 4, "log groups")
	fs.IntVar(&cfg.Streams, "streams", 64, "log streams in all")
	fs.IntVar(&cfg.Writers, "writers", 8, "concurrent writers")
	fs.IntVar(&cfg.BatchSize, "batch", 1000, "events per PutLogEvents")
	fs.Int64Var(&cfg.Events, "events", 1_000_000, "events to send (the documented benchmarks use 10000000)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "stop after this long (0: when --events are sent)")
	fs.Int64Var(&cfg.RareEvery, "rare-every", 1_000_000, "plant the rare token once per this many events (0: never)")
	fs.BoolVar(&cfg.Query, "query", false, "measure FilterLogEvents after ingest")
	fs.BoolVar(&cfg.Insights, "insights", false, "measure the Logs Insights query shapes (StartQuery, GetQueryResults) after ingest")
	fs.StringVar(&cfg.Peer, "peer", "", `"victorialogs": --endpoint is VictoriaLogs; send it the same lines as JSON lines and ask the reads in LogsQL`)
	compare := fs.String("compare", "", `"victorialogs": measure Cairn and VictoriaLogs side by side (spawns both, fresh data each round) and print ratios`)
	vlBin := fs.String("victorialogs-bin", "victoria-logs", "with --compare: the VictoriaLogs binary (scripts/compare-victorialogs.sh installs it)")
	rounds := fs.Int("rounds", 3, "with --compare: rounds, alternating which system goes first")
	fs.Int64Var(&cfg.Seed, "seed", 42, "line generator seed (both systems get the same lines)")
	fs.IntVar(&cfg.RangeEvents, "range-events", 100_000, "events in the time-range read")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "PID of the server, to report its CPU and RSS")
	fs.StringVar(&cfg.DataDir, "data-dir", "", "server data directory, to report disk bytes per event")
	cpuProfile := fs.String("cpuprofile", "", "with a spawned server: write its CPU profile during ingest to this file")
	cpuProfileSeconds := fs.Int("cpuprofile-seconds", 10, "with --cpuprofile: seconds to record, from the first request")
	settleAge := fs.Duration("settle-age", defaultSettleAge, "the --recompact-age given to the Cairn servers the bench spawns, ahead of any --server-arg (which may override it): the reads right after ingest find the blocks as appended, and the bench then waits that long for the re-compaction's steady state and reads the merged blocks again (the server's own default is 1h; 0: leave it)")
	var serverArgs multiFlag
	fs.Var(&serverArgs, "server-arg", "extra argument for the spawned server (repeatable), e.g. --server-arg=--compression=fastest")
	pipeline := fs.Bool("pipeline", false, "measure ingest with --subscription-filters and --metric-filters per group against none (fresh servers, --rounds rounds, alternating), and delivery to nats-server and a file (docs/benchmarks.md)")
	pipe := pipelineSettings{}
	fs.IntVar(&pipe.subs, "subscription-filters", 2, "with --pipeline: subscription filters per group (the first to NATS JetStream, the second to a file)")
	fs.IntVar(&pipe.metrics, "metric-filters", 10, "with --pipeline: metric filters per group (plus one counting every event, which tells when counting caught up)")
	fs.StringVar(&pipe.natsBin, "nats-server-bin", "nats-server", "with --pipeline: the nats-server binary")
	fs.StringVar(&pipe.profileDir, "profile-dir", "", "with --pipeline: write each mode's server CPU profile of round 1 to this directory")
	fs.IntVar(&pipe.profileSeconds, "profile-seconds", 10, "with --profile-dir: seconds of each profile, from the first request")
	fs.IntVar(&pipe.gzipLevel, "gzip-level", -1, "with --pipeline: the NATS sink's gzip_level (0-9; default: the server's default)")
	fs.DurationVar(&pipe.timeout, "pipeline-timeout", 10*time.Minute, "with --pipeline: how long to wait for delivery and counting to catch up")
	spawn := fs.Bool("spawn", false, "start a Cairn server (SigV4 on) on a temporary data directory and measure it")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cfg.Prefix = fmt.Sprintf("bench-%d", time.Now().Unix())
	spawnArgs := []string(serverArgs)
	if *settleAge != 0 {
		spawnArgs = append([]string{"--recompact-age=" + settleAge.String()}, serverArgs...)
	}
	wait := settleTimeout(*settleAge)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	switch {
	case *pipeline:
		pipe.rounds, pipe.serverArgs = *rounds, serverArgs
		return runPipeline(ctx, env, cfg, pipe)
	case *compare != "":
		if *compare != bench.PeerVictoriaLogs {
			fmt.Fprintf(env.Stderr, "cairn bench: --compare %q: only %q is known\n", *compare, bench.PeerVictoriaLogs)
			return 2
		}
		if *rounds < 1 {
			fmt.Fprintln(env.Stderr, "cairn bench: --rounds must be at least 1")
			return 2
		}
		return runCompare(ctx, env, cfg, compareSettings{vlBin: *vlBin, rounds: *rounds, serverArgs: spawnArgs, settleAge: *settleAge, settleWait: wait})
	case cfg.Peer != "" && cfg.Endpoint == "":
		fmt.Fprintln(env.Stderr, "cairn bench: --peer needs the peer's --endpoint (or use --compare to spawn it)")
		return 2
	}

	var child *spawned
	if cfg.Peer == "" && (cfg.Endpoint == "" || *spawn) {
		var err error
		if child, err = spawnServer(env.Stderr, spawnArgs); err != nil {
			fmt.Fprintln(env.Stderr, "cairn bench:", err)
			return 1
		}
		defer os.RemoveAll(child.dir)
		defer child.stop()
		cfg.Endpoint, cfg.ServerPID, cfg.DataDir = child.endpoint, child.cmd.Process.Pid, child.dir
		if cfg.AccessKey, cfg.SecretKey, err = iam.ReadCredentials(filepath.Join(child.dir, "data", iam.CredentialsFileName)); err != nil {
			fmt.Fprintln(env.Stderr, "cairn bench:", err)
			return 1
		}
	}
	var profDone chan error
	profStarted := false // set by Started, which Run calls on this goroutine; unset when Run failed first
	if *cpuProfile != "" && child != nil {
		profDone = make(chan error, 1)
		// From the first request, not from the spawn: preparing the
		// request bodies takes seconds (more under load), and a profile
		// of an idle server says nothing.
		cfg.Started = func() {
			go func() { profDone <- fetchProfileFor(ctx, child.pprof, *cpuProfile, *cpuProfileSeconds) }()
			profStarted = true
		}
	}
	if child != nil {
		cfg.Settled = settledReads(child, wait)
	}
	// Say what is about to happen: a bench run is minutes of load.
	fmt.Fprintf(env.Stderr, "cairn bench: sending %d events to %s (--events N to change; Ctrl-C stops)\n", cfg.Events, cfg.Endpoint)
	rep, err := bench.Run(ctx, cfg)
	if profStarted {
		if perr := <-profDone; perr != nil {
			fmt.Fprintln(env.Stderr, "cairn bench: cpu profile:", perr)
		}
	}
	if err != nil {
		fmt.Fprintln(env.Stderr, "cairn bench:", err)
		if rep == nil {
			return 1
		}
	}
	if child != nil {
		if rep.Settle == nil { // not waited for by the read phase
			settle(ctx, env, child, rep, wait)
		}
		// Stop the server cleanly (it flushes), then weigh what it left.
		child.stop()
		rep.DiskBytes = dirBytes(child.dir, "")
		sst := dirBytes(child.dir, ".sst")
		rep.DataFileBytes = sst
		fmt.Fprintf(env.Stdout, "disk after clean stop: %.1f MB in all, %.1f MB in sstables\n", float64(rep.DiskBytes)/1e6, float64(sst)/1e6)
		if rep.Events > 0 {
			fmt.Fprintf(env.Stdout, "disk per event: %.1f bytes (sstables %.1f)\n", float64(rep.DiskBytes)/float64(rep.Events), float64(sst)/float64(rep.Events))
		}
	}
	printReport(env.Stdout, cfg, rep)
	if err != nil || rep.Errors > 0 {
		return 1
	}
	return 0
}

// defaultSettleAge is the --recompact-age the bench gives the servers it
// spawns: long enough that ingest and the first reads (well under a minute
// for 2 M events on an idle 2-core machine) finish before any block is old
// enough to merge — SettleReport.MergesAtStart tells when they did not —,
// short enough that a round waits minutes, not the server's hour.
const defaultSettleAge = 2 * time.Minute

// settleTimeout bounds the wait for the steady state: the blocks must grow
// older than age, the worker's passes come every 10 s, a stream's short
// tail waits 10 s of quiet, and then come the merges (a minute or two for
// 2 M events on a loaded machine), the deletion and Pebble's compaction.
func settleTimeout(age time.Duration) time.Duration { return max(age, 0) + 5*time.Minute }

// settle waits, before the disk is weighed, for the spawned server's
// background re-compaction to reach its steady state (the disk goal is a
// steady-state figure), and records what that cost.
func settle(ctx context.Context, env Env, child *spawned, rep *bench.Report, timeout time.Duration) {
	s, err := bench.WaitSettled(ctx, child.endpoint, child.cmd.Process.Pid, timeout)
	if err != nil {
		fmt.Fprintln(env.Stderr, "cairn bench: steady state:", err)
		return
	}
	rep.Settle = s // nil when the server runs no re-compaction
}

// settledReads has bench.Run wait, after its reads, for the spawned
// server's steady state and read again: the first reads come before the
// re-compaction merged anything (its --recompact-age keeps it off the
// fresh blocks), so they show Append's blocks only.
func settledReads(child *spawned, timeout time.Duration) func(ctx context.Context) (*bench.SettleReport, error) {
	return func(ctx context.Context) (*bench.SettleReport, error) {
		return bench.WaitSettled(ctx, child.endpoint, child.cmd.Process.Pid, timeout)
	}
}

func printReport(w io.Writer, cfg bench.Config, r *bench.Report) {
	peer := "CloudWatch Logs API"
	if cfg.Peer != "" {
		peer = cfg.Peer
	}
	fmt.Fprintf(w, "endpoint %s (%s): %d writers, %d-event batches, %d streams in %d groups\n", cfg.Endpoint, peer, cfg.Writers, cfg.BatchSize, cfg.Streams, cfg.Groups)
	if r.LoadAvg != "" {
		fmt.Fprintf(w, "load average at start: %s\n", r.LoadAvg)
	}
	if eps := cfg.Endpoints(); len(eps) > 1 && len(r.PerEndpoint) == len(eps) {
		for i, e := range eps {
			fmt.Fprintf(w, "  %s: %d events acknowledged\n", e, r.PerEndpoint[i])
		}
	}
	fmt.Fprintf(w, "ingest: %d events in %s = %.0f events/s, %.1f MB/s of messages (%d requests, %d errors)\n",
		r.Events, r.Elapsed.Round(time.Millisecond), r.EventsPerSec, r.MBPerSec, r.Requests, r.Errors)
	fmt.Fprintf(w, "latency: p50 %s  p90 %s  p99 %s  max %s\n", r.LatencyP50.Round(10*time.Microsecond), r.LatencyP90.Round(10*time.Microsecond),
		r.LatencyP99.Round(10*time.Microsecond), r.LatencyMax.Round(10*time.Microsecond))
	if r.ServerCPU > 0 && r.Events > 0 {
		fmt.Fprintf(w, "CPU during ingest: server %.1f s (%.2f µs/event, %.2f cores), load generator %.1f s\n", r.ServerCPU.Seconds(),
			float64(r.ServerCPU.Microseconds())/float64(r.Events), r.ServerCPU.Seconds()/r.Elapsed.Seconds(), r.GeneratorCPU.Seconds())
	}
	if s := r.Settle; s != nil && s.MergesAtStart > 0 {
		fmt.Fprintf(w, "note: the re-compaction had merged %d blocks before the first reads ended: they read a mix of appended and merged blocks (raise --settle-age)\n", s.MergesAtStart)
	}
	if s := r.Settle; s != nil {
		fmt.Fprintf(w, "re-compaction to the steady state: %s, server CPU %.1f s (%.2f µs per event rewritten), %d merges of %d events, %.1f → %.1f MB\n",
			s.Wait.Round(100*time.Millisecond), s.ServerCPU.Seconds(), float64(s.ServerCPU.Microseconds())/float64(max(s.Events, 1)),
			s.Merges, s.Events, float64(s.BytesBefore)/1e6, float64(s.BytesAfter)/1e6)
	}
	if r.ServerPeakRSS > 0 {
		fmt.Fprintf(w, "server RSS: max sampled %.0f MiB, peak (VmHWM) %.0f MiB after ingest, %.0f MiB at the end\n", float64(r.ServerRSS)/(1<<20),
			float64(r.IngestPeakRSS)/(1<<20), float64(r.ServerPeakRSS)/(1<<20))
	}
	first := ""
	if r.QuerySettled != nil {
		first = "right after ingest (before the re-compaction merged anything): "
	}
	printReads(w, first, r.Query)
	printReads(w, "after the re-compaction's steady state (merged blocks): ", r.QuerySettled)
	if ir := r.Insights; ir != nil {
		fmt.Fprintln(w, "Logs Insights (StartQuery to Complete, median of 3):")
		for _, x := range ir.Results {
			rate := ""
			if s := x.Time.Seconds(); s > 0 {
				rate = fmt.Sprintf(", %.0f MB/s of messages", x.BytesScanned/1e6/s)
			}
			if c := x.ServerCPU.Seconds(); c > 0 {
				rate += fmt.Sprintf("; server CPU %s a run, %.0f MB per CPU-second", x.ServerCPU.Round(10*time.Millisecond), x.BytesScanned/1e6/c)
			}
			fmt.Fprintf(w, "  %-32s %10s  %d rows, %.0f scanned, %.0f matched, %.0f MB%s\n", x.Name, x.Time.Round(100*time.Microsecond),
				x.Rows, x.RecordsScanned, x.RecordsMatched, x.BytesScanned/1e6, rate)
		}
		if len(ir.Results) > 0 {
			fmt.Fprintf(w, "  10 queries at once: %s, server RSS peak while they ran %.0f MiB\n", ir.Concurrent.Round(time.Millisecond),
				float64(ir.ConcurrentPeakRSS)/(1<<20))
		}
		for _, x := range ir.Compare {
			fmt.Fprintf(w, "  compared: %-32s %10s  %d rows, Σ n %s\n", x.Name, x.Time.Round(100*time.Microsecond), x.Rows, bench.FormatValue(x.Total))
		}
		if ir.ComparedPeakRSS > 0 {
			fmt.Fprintf(w, "  server VmHWM once the compared queries ran (before the shapes only Cairn runs): %.0f MiB\n", float64(ir.ComparedPeakRSS)/(1<<20))
		}
	}
}

// printReads prints a read phase's figures, each line led by label.
func printReads(w io.Writer, label string, q *bench.QueryReport) {
	if q == nil {
		return
	}
	fmt.Fprintf(w, "%sfilter %q: first page %s (median of 5), whole search %s, %d matches\n", label, q.RareTerm, q.RareFirstPage.Round(100*time.Microsecond), q.RareFullScan.Round(time.Millisecond), q.RareMatches)
	fmt.Fprintf(w, "%sfilter %q: full scan of %.0f MB of messages in %s (median of 3) = %.2f GB/s, %d matches, %d pages\n", label, q.CommonTerm,
		float64(q.CommonScanBytes)/1e6, q.CommonScanTime.Round(time.Millisecond), q.CommonGBPerSecond, q.CommonMatches, q.Pages)
	fmt.Fprintf(w, "%stime range of %d events (%d fetched, %d pages): %s (median of 3)\n", label, q.RangeExpected, q.RangeEvents, q.RangePages,
		q.RangeTime.Round(100*time.Microsecond))
	if q.CommonScanTimeSDK > 0 {
		fmt.Fprintf(w, label+"through aws-sdk-go-v2: full scan %s = %.2f GB/s, time range %s (medians of 3; the figures above: lean client, every event decoded and checked)\n",
			q.CommonScanTimeSDK.Round(time.Millisecond), float64(q.CommonScanBytes)/1e9/q.CommonScanTimeSDK.Seconds(), q.RangeTimeSDK.Round(100*time.Microsecond))
	}
}

type spawned struct {
	cmd      *exec.Cmd
	dir      string
	endpoint string
	pprof    string // the profiler's base URL, http://127.0.0.1:PORT/debug/pprof/
	stopped  bool
}

// spawnServer starts `cairn server` from this executable on a free loopback
// port and a fresh data directory, and waits for its "listening" line.
func spawnServer(logTo io.Writer, extra []string) (*spawned, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "cairn-bench-")
	if err != nil {
		return nil, err
	}
	args := append([]string{"server", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data"), "--auth", "sigv4", "--pprof", "--pprof-listen", "127.0.0.1:0"}, extra...)
	cmd := exec.Command(exe, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &spawned{cmd: cmd, dir: dir}
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		line := lines.Text()
		if i := strings.Index(line, "endpoint="); i >= 0 {
			s.endpoint = strings.Fields(line[i+len("endpoint="):])[0]
			if j := strings.Index(line, "pprof="); j >= 0 {
				s.pprof = strings.Fields(line[j+len("pprof="):])[0]
			}
			break
		}
	}
	if s.endpoint == "" {
		s.stop()
		return nil, errors.New("spawned server did not report its endpoint")
	}
	go io.Copy(io.Discard, stderr) // keep draining so the server never blocks on its log
	fmt.Fprintf(logTo, "spawned cairn server pid %d at %s (data %s)\n", cmd.Process.Pid, s.endpoint, dir)
	return s, nil
}

func (s *spawned) stop() {
	if s.stopped {
		return
	}
	s.stopped = true
	stopProcess(s.cmd, 60*time.Second)
}

// stopProcess stops a child the bench started: SIGTERM, so that it shuts
// down cleanly (a server flushes its sinks), then SIGKILL if it has not
// exited within grace; it returns once the child is reaped.
func stopProcess(cmd *exec.Cmd, grace time.Duration) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
	}
}

func dirBytes(dir, suffix string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && strings.HasSuffix(p, suffix) {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// fetchProfileFor records the server's CPU for the next seconds.
func fetchProfileFor(ctx context.Context, pprofURL, path string, seconds int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, pprofURL+"profile?seconds="+strconv.Itoa(seconds), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profile: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type compareSettings struct {
	vlBin      string
	rounds     int
	serverArgs []string
	settleAge  time.Duration // the --recompact-age in serverArgs (0: the server's default)
	settleWait time.Duration
}

// runCompare measures Cairn and VictoriaLogs side by side: each round starts
// each system on a fresh data directory, sends it the same workload (same
// seed, same lines and timestamps, same batches and writers), runs the
// reads, stops it cleanly and weighs what it left; odd rounds start with
// VictoriaLogs so neither always runs on a cooler machine. It prints every
// run's report on stderr and the comparison, as Markdown, on stdout.
func runCompare(ctx context.Context, env Env, base bench.Config, s compareSettings) int {
	bin, err := exec.LookPath(s.vlBin)
	if err != nil {
		fmt.Fprintf(env.Stderr, "cairn bench: VictoriaLogs binary: %v (scripts/compare-victorialogs.sh installs it)\n", err)
		return 1
	}
	base.Query = true
	base.Compare = base.Insights // with --insights: the CompareShapes on both sides
	cmp := &bench.Comparison{Peer: "VictoriaLogs"}
	if s.settleAge != 0 {
		cmp.Notes = append(cmp.Notes, fmt.Sprintf("Read rows without a prefix: fresh data, right after ingest (Cairn's blocks as appended). "+
			"\"Settled data\" rows: after Cairn's re-compaction merged every block, forced within the round by the bench's "+
			"--recompact-age=%s (--settle-age; the server's default is %s). Disk and peak RSS are at the end, after the settled reads.",
			s.settleAge, server.DefaultRecompactAge))
	}
	for r := 0; r < s.rounds; r++ {
		order := []string{"cairn", bench.PeerVictoriaLogs}
		if r%2 == 1 {
			order = []string{bench.PeerVictoriaLogs, "cairn"}
		}
		round := bench.Round{Order: order, LoadAvg: bench.LoadAvg()}
		fmt.Fprintf(env.Stderr, "== round %d of %d: %s first; load average %s\n", r+1, s.rounds, order[0], round.LoadAvg)
		// One first timestamp for both systems of a round, so that they
		// get the same lines byte for byte (each line carries its time)
		// and the same bins: each took its own from the clock before, and
		// a round's second system, minutes later, had its events in other
		// 5-minute bins (7 rows against 8, session 15).
		first := base.FirstMs
		if first == 0 {
			first = time.Now().Add(-time.Minute).UnixMilli() - base.Events
		}
		for _, who := range order {
			cfg := base
			cfg.FirstMs = first
			cfg.Prefix = fmt.Sprintf("bench-%d-r%d", time.Now().Unix(), r+1)
			var rep *bench.Report
			if who == "cairn" {
				rep, err = measureCairn(ctx, env, cfg, s.serverArgs, s.settleWait)
				round.Cairn = rep
			} else {
				rep, err = measureVictoriaLogs(ctx, env, cfg, bin)
				round.Peer = rep
			}
			if err != nil {
				fmt.Fprintf(env.Stderr, "cairn bench: %s, round %d: %v\n", who, r+1, err)
				return 1
			}
		}
		cmp.Rounds = append(cmp.Rounds, round)
	}
	fmt.Fprintf(env.Stdout, "%d events a round per system, %d-event batches, %d writers, %d streams in %d groups, seed %d; %d rounds\n\n",
		base.Events, base.BatchSize, base.Writers, base.Streams, base.Groups, base.Seed, s.rounds)
	cmp.WriteMarkdown(env.Stdout)
	return 0
}

// measureCairn runs one workload against a freshly spawned Cairn (SigV4 on,
// durable) and weighs its data directory after a clean stop: everything, and
// the sstables alone as its data files.
func measureCairn(ctx context.Context, env Env, cfg bench.Config, serverArgs []string, wait time.Duration) (*bench.Report, error) {
	child, err := spawnServer(env.Stderr, serverArgs)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(child.dir)
	defer child.stop()
	cfg.Endpoint, cfg.ServerPID, cfg.DataDir = child.endpoint, child.cmd.Process.Pid, child.dir
	cfg.Peer, cfg.Out = bench.PeerNone, env.Stderr
	if cfg.AccessKey, cfg.SecretKey, err = iam.ReadCredentials(filepath.Join(child.dir, "data", iam.CredentialsFileName)); err != nil {
		return nil, err
	}
	cfg.Settled = settledReads(child, wait)
	rep, err := bench.Run(ctx, cfg)
	if rep == nil {
		return nil, err
	}
	if rep.Settle == nil { // not waited for by the read phase
		settle(ctx, env, child, rep, wait)
	}
	child.stop()
	rep.DiskBytes, rep.DataFileBytes = dirBytes(child.dir, ""), dirBytes(child.dir, ".sst")
	printReport(env.Stderr, cfg, rep)
	if err == nil && rep.Errors > 0 {
		err = fmt.Errorf("%d requests failed", rep.Errors)
	}
	return rep, err
}

// measureVictoriaLogs runs the same workload against a freshly spawned
// VictoriaLogs and weighs its storage after a clean stop: everything, and
// its partitions (the per-day data and index parts) as its data files.
func measureVictoriaLogs(ctx context.Context, env Env, cfg bench.Config, bin string) (*bench.Report, error) {
	vl, err := spawnVictoriaLogs(ctx, env.Stderr, bin)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(vl.dir)
	defer vl.stop()
	storage := filepath.Join(vl.dir, "data")
	cfg.Endpoint, cfg.ServerPID, cfg.DataDir = vl.endpoint, vl.cmd.Process.Pid, storage
	cfg.Peer, cfg.Out = bench.PeerVictoriaLogs, env.Stderr
	rep, err := bench.Run(ctx, cfg)
	if rep == nil {
		return nil, err
	}
	vl.stop()
	rep.DiskBytes, rep.DataFileBytes = dirBytes(storage, ""), dirBytes(filepath.Join(storage, "partitions"), "")
	printReport(env.Stderr, cfg, rep)
	if err == nil && rep.Errors > 0 {
		err = fmt.Errorf("%d requests failed", rep.Errors)
	}
	return rep, err
}

// spawnVictoriaLogs starts VictoriaLogs on a free loopback port with its
// storage in a fresh temporary directory (its log beside it, so the log is
// not weighed), and waits until /health answers.
func spawnVictoriaLogs(ctx context.Context, logTo io.Writer, bin string) (*spawned, error) {
	dir, err := os.MkdirTemp("", "cairn-bench-vl-")
	if err != nil {
		return nil, err
	}
	// VictoriaLogs cannot report a port it picked, so take a free one and
	// hand it over; another process grabbing it in between makes the start
	// fail below, not the measurement.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	logFile, err := os.Create(filepath.Join(dir, "victoria-logs.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd := exec.Command(bin, "-httpListenAddr="+addr, "-storageDataPath="+filepath.Join(dir, "data"), "-loggerLevel=WARN")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &spawned{cmd: cmd, dir: dir, endpoint: "http://" + addr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.endpoint+"/health", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.stop()
			msg, _ := os.ReadFile(logFile.Name())
			os.RemoveAll(dir)
			return nil, fmt.Errorf("victorialogs did not become healthy at %s: %s", s.endpoint, strings.TrimSpace(string(msg)))
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
	fmt.Fprintf(logTo, "spawned victorialogs pid %d at %s (data %s)\n", cmd.Process.Pid, s.endpoint, dir)
	return s, nil
}
