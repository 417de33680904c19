// Package bench is Cairn's load generator. It drives a CloudWatch Logs
// endpoint — Cairn, moto, AWS — with SigV4-signed PutLogEvents requests, or
// VictoriaLogs with JSON lines of the same events, then optionally measures
// reads, and reports events/s, MB/s, request latency percentiles, and (when
// it knows the server's process and data directory) the server's CPU, RSS
// and disk bytes per event.
//
// Data flows one way: a Workload (fixed seed) yields batch n of realistic
// ~110-byte lines (access logs, level-tagged app lines with request ids,
// small JSON objects); Run has the target encode every batch into a request
// body before the clock starts (PutLogEvents JSON with its payload hash, or
// JSON lines), so the generator's own CPU stays small next to the server's;
// writers send the bodies; then the target runs the same three reads (a rare
// term, a full scan for a common term, a time range) in its own query
// language. Compare turns per-round Reports of Cairn and a peer into ratios.
package bench

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Peers Run can drive besides CloudWatch Logs endpoints.
const (
	PeerNone         = ""
	PeerVictoriaLogs = "victorialogs"
)

// Config describes one benchmark run.
type Config struct {
	// Endpoint is where to send: e.g. http://127.0.0.1:4588, or
	// VictoriaLogs' http://127.0.0.1:9428. Several CloudWatch Logs
	// endpoints, comma-separated (the nodes of one cluster), spread the
	// writers over them: writer i sends to endpoint i mod n; each is set
	// up, and the reads go to the first.
	Endpoint  string
	Peer      string // PeerNone (CloudWatch Logs API) or PeerVictoriaLogs
	Region    string
	AccessKey string
	SecretKey string

	Seed      int64 // line generator seed (0: 42)
	Groups    int   // log groups
	Streams   int   // streams in all, spread over the groups
	Writers   int   // concurrent requests
	BatchSize int   // events per request
	Events    int64
	Duration  time.Duration // stop after this long even if Events not reached (0: no limit)
	Prefix    string        // group name prefix, so runs do not collide
	FirstMs   int64         // timestamp of the first event (0: so the last one is a minute before now)

	// RareEvery puts the rare token into one line per RareEvery events
	// (0: never); the query phase searches for it.
	RareEvery int64
	Query     bool // run the read phase after ingest
	// Insights runs the Logs Insights phase after ingest (CloudWatch Logs
	// API servers only).
	Insights bool
	// Compare: the run is one side of a --compare: the Insights phase also
	// times CompareShapes.
	Compare bool
	// RangeEvents is how many events the time-range read fetches (0: 100,000).
	RangeEvents int

	// ServerPID and DataDir, when set, add server CPU, RSS and disk figures.
	ServerPID int
	DataDir   string

	// Prepare, when set, runs once the groups and streams exist and before
	// the clock starts (the pipeline benchmark puts its filters there).
	Prepare func(ctx context.Context, call func(ctx context.Context, op string, in any) error) error
	// RecordSends keeps each request's send time (Report.SentAt), from
	// which the pipeline benchmark measures delivery lag.
	RecordSends bool
	// Started, when set, is called just before the first request is sent.
	Started func()
	// Settled, when set with Query, is called after the read phase and
	// returns once the server's background work reached its steady state
	// (Cairn: WaitSettled); Run then measures the reads again
	// (Report.QuerySettled). The first read phase runs before Cairn's
	// re-compaction merged anything (it waits for quiet streams), so only
	// the second shows how the merged blocks (format 3) read.
	Settled func(ctx context.Context) (*SettleReport, error)

	Out io.Writer // progress lines
}

// Report is a run's result.
type Report struct {
	Peer          string
	Events        int64
	Requests      int64
	Errors        int64
	MessageBytes  int64
	Elapsed       time.Duration
	EventsPerSec  float64
	MBPerSec      float64
	LatencyP50    time.Duration
	LatencyP90    time.Duration
	LatencyP99    time.Duration
	LatencyMax    time.Duration
	ServerPeakRSS int64         // VmHWM at the end (ingest and reads); 0 when unknown
	IngestPeakRSS int64         // VmHWM right after ingest
	ServerRSS     int64         // largest VmRSS sampled during ingest
	ServerCPU     time.Duration // user+sys of the server process during ingest; 0 when unknown
	GeneratorCPU  time.Duration // user+sys of this process during ingest
	DiskBytes     int64         // data directory size (after ingest; the caller may weigh it again after a clean stop)
	DataFileBytes int64         // the engine's data files only, when the caller knows them (after a clean stop)
	LoadAvg       string        // /proc/loadavg when the run started
	// Start is when the first request was sent; SentAt[n], with
	// Config.RecordSends, when request n was (Unix ns).
	Start    time.Time
	SentAt   []int64
	Workload *Workload
	Query    *QueryReport
	// QuerySettled is the read phase again once Config.Settled returned:
	// on Cairn, the reads of the re-compacted (steady-state) blocks.
	QuerySettled *QueryReport
	Insights     *InsightsReport
	Settle       *SettleReport // Cairn: background re-compaction until the steady state (the caller waits for it)
	// PerEndpoint is the events each endpoint acknowledged, in the order
	// of Config.Endpoint's list.
	PerEndpoint []int64
}

// Endpoints splits Config.Endpoint's comma-separated list.
func (c Config) Endpoints() []string {
	var out []string
	for _, e := range strings.Split(c.Endpoint, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// QueryReport holds the read figures.
type QueryReport struct {
	RareTerm      string
	RareFirstPage time.Duration // median of 5: FilterLogEvents until the first match, or the whole LogsQL answer
	RareMatches   int
	RareExpected  int // needles planted in the searched group
	RareFullScan  time.Duration

	CommonTerm        string
	CommonScanTime    time.Duration // median of 3, every match fetched and checked by the lean client
	CommonScanTimeSDK time.Duration // the same through aws-sdk-go-v2 (0: not measured)
	CommonScanBytes   int64         // message bytes in the group scanned
	CommonMatches     int
	CommonGBPerSecond float64
	Pages             int

	RangeTime     time.Duration // median of 3, every event fetched and checked by the lean client
	RangeTimeSDK  time.Duration // the same through aws-sdk-go-v2 (0: not measured)
	RangeFrom     int64         // [RangeFrom, RangeTo) in Unix ms
	RangeTo       int64
	RangeEvents   int // fetched
	RangeExpected int // in the range by construction
	RangePages    int
}

// RareToken is the needle the generator plants and the query phase finds.
const RareToken = "zqxneedle7"

// CommonTerm appears in most blocks but in few events, so a search for it
// cannot skip blocks and its result pages stay small: a full-scan measure.
const CommonTerm = "checkout_timeout"

// target is one kind of server: how it is set up, how a batch is encoded
// and sent, and how the reads are asked.
type target interface {
	setup(ctx context.Context, w *Workload) error
	encode(dst []byte, b Batch) []byte
	hash(body []byte) string // the payload hash a signed request carries ("" when unsigned)
	send(ctx context.Context, body []byte, hash string) error
	// ready returns once every ingested event is readable.
	ready(ctx context.Context, events int64) error
	queries(ctx context.Context, w *Workload, st *Stats, rangeEvents int) (*QueryReport, error)
}

type request struct {
	body []byte
	hash string
}

// Run executes the benchmark.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.AccessKey == "" {
		cfg.AccessKey, cfg.SecretKey = "AKIDBENCH", "benchsecret"
	}
	if cfg.Seed == 0 {
		cfg.Seed = 42
	}
	if cfg.RangeEvents == 0 {
		cfg.RangeEvents = 100_000
	}
	if cfg.Groups < 1 || cfg.Streams < cfg.Groups || cfg.Writers < 1 || cfg.BatchSize < 1 || cfg.BatchSize > 10000 || cfg.Events < 1 {
		return nil, errors.New("need events ≥ 1, groups ≥ 1, streams ≥ groups, writers ≥ 1, 1 ≤ batch ≤ 10000")
	}
	if cfg.FirstMs == 0 {
		// About 1 ms an event, ending a minute ago: well inside both
		// systems' accepted window (CloudWatch: 14 days back, 2 h ahead).
		cfg.FirstMs = time.Now().Add(-time.Minute).UnixMilli() - cfg.Events
	}
	w := &Workload{Seed: cfg.Seed, Events: cfg.Events, BatchSize: cfg.BatchSize, Groups: cfg.Groups, Streams: cfg.Streams,
		Prefix: cfg.Prefix, RareEvery: cfg.RareEvery, FirstMs: cfg.FirstMs}
	endpoints := cfg.Endpoints()
	if len(endpoints) == 0 {
		return nil, errors.New("no endpoint")
	}
	var t target
	// senders[i] is the target writer i sends to (i mod len).
	var senders []target
	switch cfg.Peer {
	case PeerNone:
		for _, e := range endpoints {
			c := cfg
			c.Endpoint = e
			senders = append(senders, newCloudWatch(c))
		}
		t = senders[0]
	case PeerVictoriaLogs:
		if len(endpoints) > 1 {
			return nil, errors.New("one VictoriaLogs endpoint only")
		}
		t = newVictoriaLogs(cfg)
		senders = []target{t}
	default:
		return nil, fmt.Errorf("unknown peer %q (want %q)", cfg.Peer, PeerVictoriaLogs)
	}
	rep := &Report{Peer: cfg.Peer, LoadAvg: LoadAvg()}
	// Every endpoint is set up (an existing group or stream is fine): the
	// nodes of a cluster see the first one's, separate servers need their
	// own.
	for _, st := range senders {
		if err := st.setup(ctx, w); err != nil {
			return nil, err
		}
	}
	rep.Workload = w
	if cfg.Prepare != nil {
		cw, ok := t.(*client)
		if !ok {
			return nil, errors.New("Prepare needs a CloudWatch Logs API endpoint")
		}
		if err := cfg.Prepare(ctx, func(ctx context.Context, op string, in any) error { return cw.call(ctx, op, in, nil) }); err != nil {
			return nil, err
		}
	}

	fmt.Fprintf(cfg.Out, "preparing %d request bodies...\n", w.Requests())
	reqs, st := buildRequests(ctx, w, t)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	fmt.Fprintf(cfg.Out, "ingesting %d events in %d-event requests with %d writers to %d streams in %d groups\n",
		cfg.Events, cfg.BatchSize, cfg.Writers, cfg.Streams, cfg.Groups)

	var (
		next    atomic.Int64
		nErr    atomic.Int64
		sent    atomic.Int64
		firstEr atomic.Value
		lat     = make([][]time.Duration, cfg.Writers)
		perEnd  = make([]atomic.Int64, len(senders))
		wg      sync.WaitGroup
		rss     rssSampler
	)
	rss.pid = cfg.ServerPID
	stopRSS := rss.start()
	serverCPU0, genCPU0 := procCPU(cfg.ServerPID), selfCPU()
	deadline := time.Time{}
	if cfg.Duration > 0 {
		deadline = time.Now().Add(cfg.Duration)
	}
	if cfg.RecordSends {
		rep.SentAt = make([]int64, len(reqs))
	}
	if cfg.Started != nil {
		cfg.Started()
	}
	t0 := time.Now()
	rep.Start = t0
	for wr := 0; wr < cfg.Writers; wr++ {
		wg.Add(1)
		go func(wr int) {
			defer wg.Done()
			to := senders[wr%len(senders)]
			for {
				n := next.Add(1) - 1
				if n >= int64(len(reqs)) || ctx.Err() != nil || (!deadline.IsZero() && time.Now().After(deadline)) {
					return
				}
				s := time.Now()
				if rep.SentAt != nil {
					rep.SentAt[n] = s.UnixNano()
				}
				if err := to.send(ctx, reqs[n].body, reqs[n].hash); err != nil {
					nErr.Add(1)
					firstEr.CompareAndSwap(nil, err.Error())
					continue
				}
				lat[wr] = append(lat[wr], time.Since(s))
				sent.Add(int64(w.batchLen(n)))
				perEnd[wr%len(senders)].Add(int64(w.batchLen(n)))
			}
		}(wr)
	}
	wg.Wait()
	elapsed := time.Since(t0)
	stopRSS()
	serverCPU, genCPU := procCPU(cfg.ServerPID)-serverCPU0, selfCPU()-genCPU0
	reqs = nil // the bodies are done with; let the reads run without them

	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	rep.Requests, rep.Errors, rep.Elapsed = int64(len(all)), nErr.Load(), elapsed
	rep.ServerRSS, rep.IngestPeakRSS, rep.GeneratorCPU = rss.max, rss.peak(), genCPU
	if cfg.ServerPID != 0 {
		rep.ServerCPU = serverCPU
	}
	rep.Events = sent.Load()
	for i := range perEnd {
		rep.PerEndpoint = append(rep.PerEndpoint, perEnd[i].Load())
	}
	if st.Events > 0 {
		rep.MessageBytes = st.MessageBytes * rep.Events / st.Events
	}
	rep.EventsPerSec = float64(rep.Events) / elapsed.Seconds()
	rep.MBPerSec = float64(rep.MessageBytes) / 1e6 / elapsed.Seconds()
	if len(all) > 0 {
		pct := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
		rep.LatencyP50, rep.LatencyP90, rep.LatencyP99, rep.LatencyMax = pct(0.50), pct(0.90), pct(0.99), all[len(all)-1]
	}
	if rep.Errors > 0 {
		fmt.Fprintf(cfg.Out, "%d requests failed; first error: %v\n", rep.Errors, firstEr.Load())
	}
	if cfg.DataDir != "" {
		rep.DiskBytes = dirSize(cfg.DataDir)
	}
	if cfg.Query {
		if rep.Errors > 0 || rep.Events != st.Events {
			return rep, errors.New("not every event was stored, so the reads would not be comparable; no read phase")
		}
		if err := t.ready(ctx, rep.Events); err != nil {
			return rep, err
		}
		reads := func() (*QueryReport, error) {
			q, err := t.queries(ctx, w, st, cfg.RangeEvents)
			if err != nil {
				return nil, err
			}
			q.CommonScanBytes = st.Group0Bytes
			q.CommonGBPerSecond = float64(q.CommonScanBytes) / 1e9 / q.CommonScanTime.Seconds()
			q.RareExpected = st.RareMatches
			return q, nil
		}
		q, err := reads()
		if err != nil {
			return rep, err
		}
		rep.Query = q
		if cfg.Settled != nil {
			fmt.Fprintln(cfg.Out, "waiting for the steady state, then reading again...")
			if rep.Settle, err = cfg.Settled(ctx); err != nil {
				return rep, fmt.Errorf("steady state: %w", err)
			}
			// nil: the server runs no re-compaction, so the blocks just
			// read are already its steady state.
			if rep.Settle != nil {
				if rep.QuerySettled, err = reads(); err != nil {
					return rep, err
				}
			}
		}
	}
	if cfg.Insights {
		if err := t.ready(ctx, rep.Events); err != nil {
			return rep, err
		}
		var ir *InsightsReport
		var err error
		switch t := t.(type) {
		case *client:
			fmt.Fprintln(cfg.Out, "running the Logs Insights queries...")
			t.compare = cfg.Compare
			ir, err = t.insights(ctx, w, cfg.ServerPID)
		case *vlClient:
			fmt.Fprintln(cfg.Out, "running the LogsQL equivalents of the Insights queries...")
			ir, err = t.insights(ctx, cfg.ServerPID)
		default:
			err = errors.New("--insights measures a CloudWatch Logs API server or VictoriaLogs only")
		}
		rep.Insights = ir
		if err != nil {
			return rep, err
		}
	}
	rep.ServerPeakRSS = rss.peak()
	return rep, nil
}

// buildRequests encodes every batch for t, on every core, and gathers the
// figures the reads are checked against.
func buildRequests(ctx context.Context, w *Workload, t target) ([]request, *Stats) {
	n := w.Requests()
	reqs := make([]request, n)
	workers := runtime.GOMAXPROCS(0)
	parts := make([]Stats, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for p := range parts {
		wg.Add(1)
		go func(st *Stats) {
			defer wg.Done()
			var buf []byte
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= n {
					return
				}
				b := w.Batch(i)
				buf = t.encode(buf[:0], b)
				body := slices.Clone(buf)
				reqs[i] = request{body: body, hash: t.hash(body)}
				first := b.Group == w.Group(0)
				for _, e := range b.Events {
					st.Events++
					st.MessageBytes += int64(len(e.Message))
					if first {
						st.Group0Bytes += int64(len(e.Message))
						st.Group0Times = append(st.Group0Times, e.Timestamp)
						st.group0 = append(st.group0, timedSize{e.Timestamp, int64(len(e.Message))})
						if strings.HasSuffix(e.Message, " "+RareToken) {
							st.RareMatches++
						}
						if strings.Contains(e.Message, CommonTerm) {
							st.CommonMatches++
							st.CommonBytes += int64(len(e.Message))
						}
					}
				}
			}
		}(&parts[p])
	}
	wg.Wait()
	st := &Stats{}
	for _, p := range parts {
		st.Events += p.Events
		st.MessageBytes += p.MessageBytes
		st.Group0Bytes += p.Group0Bytes
		st.RareMatches += p.RareMatches
		st.CommonMatches += p.CommonMatches
		st.CommonBytes += p.CommonBytes
		st.Group0Times = append(st.Group0Times, p.Group0Times...)
		st.group0 = append(st.group0, p.group0...)
	}
	slices.Sort(st.Group0Times)
	slices.SortFunc(st.group0, func(a, b timedSize) int { return cmp.Compare(a.ts, b.ts) })
	return reqs, st
}

// payloadHash is the hex SHA-256 a SigV4-signed request carries.
func payloadHash(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:])
}

// LoadAvg is the first three fields of /proc/loadavg ("" when unknown).
func LoadAvg() string {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(raw))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// median of a few durations (the slice is sorted in place).
func medianDuration(d []time.Duration) time.Duration {
	slices.Sort(d)
	return d[len(d)/2]
}

// LineGen makes realistic log lines from a fixed vocabulary. Engine
// benchmarks use it too, so every figure is measured on the same data.
type LineGen struct {
	rng                                   *rand.Rand
	words, methods, paths, levels, agents []string
	clock                                 time.Time // advances 0–2 ms a line
}

// NewLineGen returns a generator with a fixed seed.
func NewLineGen(seed int64) *LineGen {
	return &LineGen{
		rng:     rand.New(rand.NewSource(seed)),
		words:   strings.Fields("request handled user session cache miss hit upstream latency payment order cart inventory shipping auth token refresh retry backend worker queue job scheduled completed started failed database query slow index update insert delete select connection pool open closed timeout config reload metrics export healthy degraded disk memory cpu thread"),
		methods: []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"},
		paths:   []string{"users", "orders", "carts", "products", "sessions", "payments", "invoices"},
		levels:  []string{"INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"},
		agents:  []string{"curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64)", "okhttp/4.12.0", "python-requests/2.31.0", "Go-http-client/2.0"},
		clock:   time.Date(2026, 11, 22, 5, 9, 14, 0, time.UTC),
	}
}

// Line returns one log line, about 100 bytes, each with the timestamp real
// lines carry: 40% access logs (common log format with a user agent), 35%
// application lines (ISO time, level, request id), 25% JSON objects. Random
// IPs, ids and numbers make this harder to compress than much production
// logging. One line in ~500 carries CommonTerm.
func (g *LineGen) Line() string {
	rng := g.rng
	w := func() string { return g.words[rng.Intn(len(g.words))] }
	g.clock = g.clock.Add(time.Duration(rng.Intn(3)) * time.Millisecond)
	var s string
	switch x := rng.Intn(100); {
	case x < 40:
		status := []int{200, 200, 200, 200, 201, 204, 301, 304, 400, 404, 500, 503}[rng.Intn(12)]
		s = fmt.Sprintf("%d.%d.%d.%d - - [%s] \"%s /api/v1/%s/%d HTTP/1.1\" %d %d %.3f \"%s\"",
			10+rng.Intn(200), rng.Intn(256), rng.Intn(256), rng.Intn(256), g.clock.Format("02/Jan/2006:15:04:05 -0700"),
			g.methods[rng.Intn(len(g.methods))], g.paths[rng.Intn(len(g.paths))], rng.Intn(100000), status, rng.Intn(50000),
			rng.Float64(), g.agents[rng.Intn(len(g.agents))])
	case x < 75:
		s = fmt.Sprintf("%s %-5s [req=%08x] %s %s %s in %dms %s %s", g.clock.Format("2006-01-02T15:04:05.000Z"),
			g.levels[rng.Intn(len(g.levels))], rng.Uint32(), w(), w(), w(), rng.Intn(2000), w(), w())
	default:
		s = fmt.Sprintf(`{"time":"%s","level":"%s","req":"%08x","user":%d,"latency_ms":%d,"msg":"%s %s %s"}`,
			g.clock.Format("2006-01-02T15:04:05.000Z"), strings.ToLower(g.levels[rng.Intn(len(g.levels))]), rng.Uint32(),
			rng.Intn(100000), rng.Intn(3000), w(), w(), w())
	}
	if rng.Intn(500) == 0 {
		s += " " + CommonTerm
	}
	return s
}

type rssSampler struct {
	pid  int
	max  int64
	stop chan struct{}
	done chan struct{}
}

func (r *rssSampler) start() func() {
	if r.pid == 0 {
		return func() {}
	}
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(r.done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			if v := procStatus(r.pid, "VmRSS:"); v > r.max {
				r.max = v
			}
			select {
			case <-r.stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(r.stop); <-r.done }
}

func (r *rssSampler) peak() int64 {
	if r.pid == 0 {
		return 0
	}
	return procStatus(r.pid, "VmHWM:")
}

// procStatus reads a kB field of /proc/PID/status, in bytes.
func procStatus(pid int, field string) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// ProcCPU is the user+sys CPU time of process pid (0 when unknown).
func ProcCPU(pid int) time.Duration { return procCPU(pid) }

// procCPU is the user+sys CPU time of a process, from /proc/PID/stat.
func procCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start at ") ".
	i := strings.LastIndexByte(string(raw), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}

// selfCPU is this process's user+sys CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
