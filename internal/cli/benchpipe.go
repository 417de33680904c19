package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/iam"
)

// pipelineSettings are cairn bench --pipeline's own flags.
type pipelineSettings struct {
	subs, metrics, rounds int
	natsBin               string
	profileDir            string
	profileSeconds        int
	serverArgs            []string
	timeout               time.Duration
	gzipLevel             int // -1: the server's default
}

// pipelineMode is one configuration a round measures.
type pipelineMode struct {
	name          string
	subs, metrics int
}

// pipelineResult is one mode's run.
type pipelineResult struct {
	rep                 *bench.Report
	cpuTotal            time.Duration // server CPU from the first request until everything was delivered or counted
	caughtUp            time.Duration // after the last request returned
	natsCPU             time.Duration // nats-server's CPU over the same span as cpuTotal (it shares the cores)
	nats, file          *bench.DeliveryReport
	loadBefore, loadEnd string
	err                 error
}

// runPipeline measures ingest with subscription filters and with metric
// filters against ingest with none, each on a fresh server, alternating the
// order each round, and the delivery to a NATS JetStream stream and a file.
func runPipeline(ctx context.Context, env Env, base bench.Config, s pipelineSettings) int {
	if s.subs < 0 || s.subs > 2 || s.metrics < 0 || s.metrics > 99 || s.rounds < 1 {
		fmt.Fprintln(env.Stderr, "cairn bench --pipeline: need 0 ≤ --subscription-filters ≤ 2 (AWS's limit), 0 ≤ --metric-filters ≤ 99, --rounds ≥ 1")
		return 2
	}
	if s.profileDir != "" {
		if err := os.MkdirAll(s.profileDir, 0o700); err != nil {
			fmt.Fprintln(env.Stderr, "cairn bench --pipeline:", err)
			return 1
		}
	}
	natsURL, natsPID := "", 0
	if s.subs > 0 {
		n, err := startNATSServer(s.natsBin)
		if err != nil {
			fmt.Fprintln(env.Stderr, "cairn bench --pipeline:", err)
			return 1
		}
		defer n.stop()
		natsURL, natsPID = n.url, n.cmd.Process.Pid
		fmt.Fprintf(env.Stderr, "spawned nats-server pid %d at %s (JetStream in %s)\n", n.cmd.Process.Pid, n.url, n.dir)
	}
	modes := []pipelineMode{{"none", 0, 0}}
	if s.subs > 0 {
		modes = append(modes, pipelineMode{fmt.Sprintf("%d subscription filters", s.subs), s.subs, 0})
	}
	if s.metrics > 0 {
		modes = append(modes, pipelineMode{fmt.Sprintf("%d metric filters", s.metrics), 0, s.metrics})
	}
	fmt.Fprintf(env.Stdout, "%s, %d cores, load average %s\n", versionLine(), runtime.NumCPU(), bench.LoadAvg())
	results := make([][]pipelineResult, s.rounds)
	failed := false
	for round := 0; round < s.rounds; round++ {
		order := slices.Clone(modes)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		results[round] = make([]pipelineResult, len(modes))
		for _, m := range order {
			if ctx.Err() != nil {
				return 1
			}
			fmt.Fprintf(env.Stdout, "== round %d of %d: %s; load average %s\n", round+1, s.rounds, m.name, bench.LoadAvg())
			profile := ""
			if s.profileDir != "" && round == 0 {
				profile = filepath.Join(s.profileDir, "cpu-"+strings.ReplaceAll(m.name, " ", "-")+".prof")
			}
			r := runPipelineMode(ctx, env, base, s, m, natsURL, natsPID, round, profile)
			results[round][slices.Index(modes, m)] = r
			printPipelineResult(env, m, r)
			failed = failed || r.err != nil
		}
	}
	printPipelineTable(env, base, s, modes, results)
	if failed {
		return 1
	}
	return 0
}

func runPipelineMode(ctx context.Context, env Env, base bench.Config, s pipelineSettings, m pipelineMode, natsURL string, natsPID, round int, profile string) (res pipelineResult) {
	res.loadBefore = bench.LoadAvg()
	dir, err := os.MkdirTemp("", "cairn-bench-pipe-")
	if err != nil {
		res.err = err
		return res
	}
	defer os.RemoveAll(dir)
	filePath := filepath.Join(dir, "delivered.ndjson")
	stream := fmt.Sprintf("CAIRN_BENCH_%d_%d", round, time.Now().UnixNano())
	conf := "destinations:\n"
	if natsURL != "" {
		conf += fmt.Sprintf("  %q:\n    nats: {url: %q, subject: %q, stream: %q}\n", bench.PipelineNATSARN, natsURL, strings.ToLower(stream), stream)
		if s.gzipLevel >= 0 {
			conf += fmt.Sprintf("    gzip_level: %d\n", s.gzipLevel)
		}
	}
	conf += fmt.Sprintf("  %q:\n    file: {path: %q}\n", bench.PipelineFileARN, filePath)
	confPath := filepath.Join(dir, "cairn.yaml")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		res.err = err
		return res
	}
	child, err := spawnServer(env.Stderr, append([]string{"--config", confPath}, s.serverArgs...))
	if err != nil {
		res.err = err
		return res
	}
	defer os.RemoveAll(child.dir)
	defer child.stop()
	cfg := base
	cfg.Prefix = fmt.Sprintf("pipe-%d", time.Now().UnixNano())
	cfg.Endpoint, cfg.ServerPID, cfg.DataDir = child.endpoint, child.cmd.Process.Pid, child.dir
	cfg.RecordSends = true
	cfg.FirstMs = time.Now().Add(-time.Minute).UnixMilli() - cfg.Events
	if cfg.AccessKey, cfg.SecretKey, err = iam.ReadCredentials(filepath.Join(child.dir, "data", iam.CredentialsFileName)); err != nil {
		res.err = err
		return res
	}
	groups := make([]string, cfg.Groups)
	for i := range groups {
		groups[i] = (&bench.Workload{Prefix: cfg.Prefix}).Group(i)
	}
	cfg.Prepare = bench.PipelinePrepare(groups, m.subs, m.metrics)
	var watch *bench.SizeWatch
	if m.subs >= 2 {
		watch = bench.WatchSize(filePath)
	}
	var profDone chan error
	if profile != "" {
		// From the first request, for --profile-seconds.
		profDone = make(chan error, 1)
		cfg.Started = func() { go func() { profDone <- fetchProfileFor(ctx, child.pprof, profile, s.profileSeconds) }() }
		defer func() {
			if profDone != nil && res.rep != nil && !res.rep.Start.IsZero() {
				if perr := <-profDone; perr != nil {
					fmt.Fprintln(env.Stderr, "cairn bench: cpu profile:", perr)
				}
			}
		}()
	}
	cpu0, natsCPU0 := bench.ProcCPU(cfg.ServerPID), bench.ProcCPU(natsPID)
	rep, err := bench.Run(ctx, cfg)
	res.rep = rep
	if err != nil {
		res.err = err
		return res
	}
	ingestEnd := rep.Start.Add(rep.Elapsed)
	if m.subs > 0 || m.metrics > 0 {
		want := rep.Events
		at, err := bench.WaitFor(ctx, s.timeout, func() (bool, error) {
			if m.metrics > 0 {
				n, err := bench.Counted(ctx, child.endpoint)
				return n >= want, err
			}
			d, err := bench.Delivered(ctx, child.endpoint)
			ok := d["to-nats"] >= want && (m.subs < 2 || d["to-file"] >= want)
			return ok, err
		})
		if err != nil {
			d, _ := bench.Delivered(ctx, child.endpoint)
			n, _ := bench.Counted(ctx, child.endpoint)
			res.err = fmt.Errorf("waiting for delivery or counting (of %d events: delivered by filter %v, counted %d): %w", want, d, n, err)
			return res
		}
		res.cpuTotal = bench.ProcCPU(cfg.ServerPID) - cpu0
		if m.subs > 0 {
			res.natsCPU = bench.ProcCPU(natsPID) - natsCPU0
		}
		res.caughtUp = at.Sub(ingestEnd)
	} else {
		res.cpuTotal = bench.ProcCPU(cfg.ServerPID) - cpu0
	}
	res.loadEnd = bench.LoadAvg()
	if watch != nil {
		watch.Stop()
	}
	if profile != "" && profDone != nil {
		if perr := <-profDone; perr != nil {
			fmt.Fprintln(env.Stderr, "cairn bench: cpu profile:", perr)
		}
		profDone = nil
	}
	child.stop() // flush the file sink; the reads below are after the fact
	if m.subs > 0 {
		if res.nats, err = bench.ReadNATSStream(ctx, natsURL, stream, rep); err != nil {
			res.err = fmt.Errorf("reading NATS back: %w", err)
			return res
		}
	}
	if m.subs >= 2 {
		if res.file, err = bench.ReadFileSink(filePath, watch, rep); err != nil {
			res.err = fmt.Errorf("reading the file sink back: %w", err)
			return res
		}
	}
	return res
}

func printPipelineResult(env Env, m pipelineMode, r pipelineResult) {
	w := env.Stdout
	if r.rep != nil {
		rep := r.rep
		fmt.Fprintf(w, "ingest: %d events in %s = %.0f events/s (%d requests, %d errors); load average %s → %s\n", rep.Events,
			rep.Elapsed.Round(time.Millisecond), rep.EventsPerSec, rep.Requests, rep.Errors, r.loadBefore, r.loadEnd)
		if rep.Events > 0 {
			fmt.Fprintf(w, "server CPU: %.2f µs/event during ingest, %.2f µs/event until everything was delivered or counted (%.1f s)\n",
				float64(rep.ServerCPU.Nanoseconds())/1e3/float64(rep.Events), float64(r.cpuTotal.Nanoseconds())/1e3/float64(rep.Events), r.cpuTotal.Seconds())
		}
		if m.subs > 0 || m.metrics > 0 {
			fmt.Fprintf(w, "caught up %s after the last PutLogEvents returned\n", r.caughtUp.Round(time.Millisecond))
		}
		if m.subs > 0 && rep.Events > 0 {
			fmt.Fprintf(w, "nats-server CPU (same cores, not in Cairn's figures): %.2f µs/event over the same span (%.1f s)\n",
				float64(r.natsCPU.Nanoseconds())/1e3/float64(rep.Events), r.natsCPU.Seconds())
		}
	}
	for _, d := range []*bench.DeliveryReport{r.nats, r.file} {
		if d == nil {
			continue
		}
		fmt.Fprintf(w, "delivered to %s: %d events in %d records (%d missing, %d duplicates), %.0f events/s from first to last arrival; lag p50 %s p99 %s max %s\n",
			d.Sink, d.Events, d.Records, d.Missing, d.Duplicates, d.Rate(), d.LagP50.Round(time.Millisecond), d.LagP99.Round(time.Millisecond),
			d.LagMax.Round(time.Millisecond))
	}
	if r.err != nil {
		fmt.Fprintln(w, "error:", r.err)
	}
}

func printPipelineTable(env Env, base bench.Config, s pipelineSettings, modes []pipelineMode, results [][]pipelineResult) {
	w := env.Stdout
	fmt.Fprintf(w, "\n%d events a run, %d-event batches, %d writers, %d streams in %d groups; %d rounds, each mode on a fresh server\n\n",
		base.Events, base.BatchSize, base.Writers, base.Streams, base.Groups, s.rounds)
	fmt.Fprintln(w, "| round | mode | load average | ingest events/s | vs none | server CPU µs/event (ingest) | (until delivered/counted) | vs none | NATS ev/s | NATS lag p50 / p99 | file ev/s | file lag p50 / p99 |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for round, rs := range results {
		none := rs[0]
		for i, r := range rs {
			if r.rep == nil || r.rep.Events == 0 || r.err != nil {
				fmt.Fprintf(w, "| %d | %s | %s | failed: %v | | | | | | | | |\n", round+1, modes[i].name, r.loadBefore, r.err)
				continue
			}
			ev := float64(r.rep.Events)
			vs, vsCPU := "", ""
			if i > 0 && none.rep != nil && none.rep.Events > 0 {
				vs = fmt.Sprintf("%+.1f%%", 100*(r.rep.EventsPerSec/none.rep.EventsPerSec-1))
				vsCPU = fmt.Sprintf("%+.1f%%", 100*(float64(r.cpuTotal)/ev/(float64(none.cpuTotal)/float64(none.rep.Events))-1))
			}
			cell := func(d *bench.DeliveryReport) (string, string) {
				if d == nil {
					return "", ""
				}
				return fmt.Sprintf("%.0f", d.Rate()), fmt.Sprintf("%s / %s", d.LagP50.Round(time.Millisecond), d.LagP99.Round(time.Millisecond))
			}
			nr, nl := cell(r.nats)
			fr, fl := cell(r.file)
			fmt.Fprintf(w, "| %d | %s | %s | %.0f | %s | %.2f | %.2f | %s | %s | %s | %s | %s |\n", round+1, modes[i].name, r.loadBefore,
				r.rep.EventsPerSec, vs, float64(r.rep.ServerCPU.Nanoseconds())/1e3/ev, float64(r.cpuTotal.Nanoseconds())/1e3/ev, vsCPU, nr, nl, fr, fl)
		}
	}
}

type natsServer struct {
	cmd *exec.Cmd
	dir string
	url string
}

// startNATSServer runs nats-server with JetStream on a temporary directory
// and a free loopback port, and waits until it accepts connections.
func startNATSServer(bin string) (*natsServer, error) {
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("nats-server not found (%v): install Debian's nats-server or pass --nats-server-bin", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, err := os.MkdirTemp("", "cairn-bench-nats-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, "-js", "-sd", dir, "-a", "127.0.0.1", "-p", strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	n := &natsServer{cmd: cmd, dir: dir, url: "nats://127.0.0.1:" + strconv.Itoa(port)}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			return n, nil
		}
		if time.Now().After(deadline) {
			n.stop()
			return nil, fmt.Errorf("nats-server did not listen on port %d within 10 s", port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (n *natsServer) stop() {
	stopProcess(n.cmd, 10*time.Second)
	os.RemoveAll(n.dir)
}
