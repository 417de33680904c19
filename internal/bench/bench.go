// Package bench is Cairn's load generator. It drives any CloudWatch Logs
// endpoint — Cairn, moto, AWS — over HTTP with SigV4-signed PutLogEvents
// requests, then optionally measures FilterLogEvents, and reports events/s,
// MB/s, request latency percentiles, and (when it knows the server's process
// and data directory) the server's RSS and disk bytes per event.
//
// To keep the generator's own CPU small next to the server's, request bodies
// are built before the clock starts: a pool of realistic ~100-byte log lines
// (access logs, level-tagged app lines with request ids, small JSON objects;
// fixed seed) serialized into PutLogEvents bodies whose payload hashes are
// computed once. Each request is still signed, so a server with SigV4 on does
// its full verification work.
package bench

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Config describes one benchmark run.
type Config struct {
	Endpoint  string // e.g. http://127.0.0.1:4588
	Region    string
	AccessKey string
	SecretKey string

	Groups    int // log groups
	Streams   int // streams in all, spread over the groups
	Writers   int // concurrent PutLogEvents requests
	BatchSize int // events per request
	Events    int64
	Duration  time.Duration // stop after this long even if Events not reached (0: no limit)
	Prefix    string        // group name prefix, so runs do not collide

	// RareEvery puts the rare token into one line per RareEvery events
	// (0: never); the query phase searches for it.
	RareEvery int64
	Query     bool // run the FilterLogEvents phase after ingest

	// ServerPID and DataDir, when set, add server RSS and disk figures.
	ServerPID int
	DataDir   string

	Out io.Writer // progress lines
}

// Report is a run's result.
type Report struct {
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
	ServerPeakRSS int64 // bytes; 0 when unknown
	ServerRSS     int64
	ServerCPU     time.Duration // user+sys of the server process during ingest; 0 when unknown
	GeneratorCPU  time.Duration // user+sys of this process during ingest
	DiskBytes     int64         // data directory size after ingest
	Query         *QueryReport
}

// QueryReport holds the FilterLogEvents figures.
type QueryReport struct {
	RareTerm          string
	RareFirstPage     time.Duration // median over runs
	RareMatches       int
	RareFullScan      time.Duration
	CommonTerm        string
	CommonScanTime    time.Duration
	CommonScanBytes   int64 // message bytes in the time range scanned
	CommonMatches     int
	CommonGBPerSecond float64
	Pages             int
}

// RareToken is the needle the generator plants and the query phase finds.
const RareToken = "zqxneedle7"

// CommonTerm appears in most blocks but in few events, so a search for it
// cannot skip blocks and its result pages stay small: a full-scan measure.
const CommonTerm = "checkout_timeout"

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
	if cfg.Groups < 1 || cfg.Streams < cfg.Groups || cfg.Writers < 1 || cfg.BatchSize < 1 || cfg.BatchSize > 10000 {
		return nil, errors.New("need groups ≥ 1, streams ≥ groups, writers ≥ 1, 1 ≤ batch ≤ 10000")
	}
	c := &client{
		endpoint: strings.TrimRight(cfg.Endpoint, "/"),
		region:   cfg.Region,
		creds:    aws.Credentials{AccessKeyID: cfg.AccessKey, SecretAccessKey: cfg.SecretKey},
		signer:   v4.NewSigner(),
		http: &http.Client{Transport: &http.Transport{
			MaxIdleConns: cfg.Writers * 2, MaxIdleConnsPerHost: cfg.Writers * 2, IdleConnTimeout: time.Minute,
		}},
	}
	groups := make([]string, cfg.Groups)
	for i := range groups {
		groups[i] = fmt.Sprintf("%s-g%d", cfg.Prefix, i)
		if err := c.call(ctx, "CreateLogGroup", map[string]any{"logGroupName": groups[i]}, nil); err != nil && !isAlreadyExists(err) {
			return nil, fmt.Errorf("create group: %w", err)
		}
	}
	streams := make([]target, cfg.Streams)
	for i := range streams {
		streams[i] = target{group: groups[i%cfg.Groups], stream: fmt.Sprintf("s%d", i)}
		if err := c.call(ctx, "CreateLogStream", map[string]any{"logGroupName": streams[i].group, "logStreamName": streams[i].stream}, nil); err != nil && !isAlreadyExists(err) {
			return nil, fmt.Errorf("create stream: %w", err)
		}
	}

	fmt.Fprintf(cfg.Out, "preparing request bodies...\n")
	start := time.Now()
	requests := (cfg.Events + int64(cfg.BatchSize) - 1) / int64(cfg.BatchSize)
	pool := buildPool(cfg, streams, start.UnixMilli(), requests)
	fmt.Fprintf(cfg.Out, "ingesting %d events in %d-event requests with %d writers to %d streams in %d groups\n",
		cfg.Events, cfg.BatchSize, cfg.Writers, cfg.Streams, cfg.Groups)

	var (
		next    atomic.Int64
		nErr    atomic.Int64
		firstEr atomic.Value
		lat     = make([][]time.Duration, cfg.Writers)
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
	t0 := time.Now()
	for w := 0; w < cfg.Writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for {
				n := next.Add(1) - 1
				if n >= requests || ctx.Err() != nil || (!deadline.IsZero() && time.Now().After(deadline)) {
					return
				}
				b := pool.body(n)
				s := time.Now()
				if err := c.send(ctx, "PutLogEvents", b.data, b.hash); err != nil {
					nErr.Add(1)
					firstEr.CompareAndSwap(nil, err.Error())
					continue
				}
				lat[w] = append(lat[w], time.Since(s))
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(t0)
	stopRSS()
	serverCPU, genCPU := procCPU(cfg.ServerPID)-serverCPU0, selfCPU()-genCPU0

	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	r := &Report{Requests: int64(len(all)), Errors: nErr.Load(), Elapsed: elapsed, ServerPeakRSS: rss.peak(), ServerRSS: rss.max,
		GeneratorCPU: genCPU}
	if cfg.ServerPID != 0 {
		r.ServerCPU = serverCPU
	}
	r.Events = r.Requests * int64(cfg.BatchSize)
	r.MessageBytes = r.Requests * pool.avgBytes
	r.EventsPerSec = float64(r.Events) / elapsed.Seconds()
	r.MBPerSec = float64(r.MessageBytes) / 1e6 / elapsed.Seconds()
	if len(all) > 0 {
		pct := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
		r.LatencyP50, r.LatencyP90, r.LatencyP99, r.LatencyMax = pct(0.50), pct(0.90), pct(0.99), all[len(all)-1]
	}
	if r.Errors > 0 {
		fmt.Fprintf(cfg.Out, "%d requests failed; first error: %v\n", r.Errors, firstEr.Load())
	}
	if cfg.DataDir != "" {
		r.DiskBytes = dirSize(cfg.DataDir)
	}
	if cfg.Query {
		q, err := runQueries(ctx, c, groups, start.UnixMilli()-1000)
		if err != nil {
			return r, err
		}
		// Group 0 holds 1/Groups of the events, and the common-term scan
		// reads all of them.
		q.CommonScanBytes = r.MessageBytes / int64(cfg.Groups)
		q.CommonGBPerSecond = float64(q.CommonScanBytes) / 1e9 / q.CommonScanTime.Seconds()
		r.Query = q
	}
	return r, nil
}

type target struct{ group, stream string }

type body struct {
	data []byte
	hash string
}

type bodyPool struct {
	bodies   []body // cycled
	rare     map[int64]body
	avgBytes int64 // message bytes per request
}

func (p *bodyPool) body(n int64) body {
	if b, ok := p.rare[n]; ok {
		return b
	}
	return p.bodies[n%int64(len(p.bodies))]
}

// buildPool makes request bodies. Request n goes to stream n mod Streams;
// the pool is a multiple of the stream count so that holds when cycling.
func buildPool(cfg Config, streams []target, baseMs, requests int64) *bodyPool {
	gen := NewLineGen(42)
	rng := gen.rng
	n := len(streams)
	for n < 256 {
		n += len(streams)
	}
	p := &bodyPool{rare: map[int64]body{}}
	var total int64
	mk := func(i int64, rare bool) body {
		t := streams[i%int64(len(streams))]
		evs := make([]map[string]any, cfg.BatchSize)
		ts := baseMs
		for j := range evs {
			ts += int64(rng.Intn(3))
			line := gen.Line()
			if rare && j == cfg.BatchSize/2 {
				line += " " + RareToken
			}
			total += int64(len(line))
			evs[j] = map[string]any{"timestamp": ts, "message": line}
		}
		data, _ := json.Marshal(map[string]any{"logGroupName": t.group, "logStreamName": t.stream, "logEvents": evs})
		sum := sha256.Sum256(data)
		return body{data: data, hash: hex.EncodeToString(sum[:])}
	}
	for i := 0; i < n; i++ {
		p.bodies = append(p.bodies, mk(int64(i), false))
	}
	p.avgBytes = total / int64(n)
	if cfg.RareEvery > 0 {
		per := max(cfg.RareEvery/int64(cfg.BatchSize), 1)
		// Plant each needle in a request bound for the first group, which is
		// the one the query phase searches.
		for r := per / 2; r < requests; r += per {
			n := r
			for streams[n%int64(len(streams))].group != streams[0].group {
				n++
			}
			if n < requests {
				p.rare[n] = mk(n, true)
			}
		}
	}
	return p
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

type client struct {
	endpoint string
	region   string
	creds    aws.Credentials
	signer   *v4.Signer
	http     *http.Client
}

type apiError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
	Status  int
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Message) }

func isAlreadyExists(err error) bool {
	var e *apiError
	return errors.As(err, &e) && strings.HasSuffix(e.Type, "ResourceAlreadyExistsException")
}

func (c *client) call(ctx context.Context, op string, in any, out any) error {
	data, err := json.Marshal(in)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	resp, err := c.do(ctx, op, data, hex.EncodeToString(sum[:]))
	if err != nil {
		return err
	}
	if out != nil {
		return json.Unmarshal(resp, out)
	}
	return nil
}

func (c *client) send(ctx context.Context, op string, data []byte, hash string) error {
	_, err := c.do(ctx, op, data, hash)
	return err
}

func (c *client) do(ctx context.Context, op string, data []byte, hash string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Logs_20140328."+op)
	if err := c.signer.SignHTTP(ctx, c.creds, req, hash, "logs", c.region, time.Now()); err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		e := &apiError{Status: resp.StatusCode}
		_ = json.Unmarshal(body, e)
		if e.Type == "" {
			e.Message = string(body)
		}
		return nil, e
	}
	return body, nil
}

// runQueries measures FilterLogEvents over the first group: the first page
// of a rare-term search (median of 5), the whole rare search, and a full
// scan for a term that every block holds but few events match.
func runQueries(ctx context.Context, c *client, groups []string, startMs int64) (*QueryReport, error) {
	type page struct {
		Events    []struct{ Message string } `json:"events"`
		NextToken string                     `json:"nextToken"`
	}
	q := &QueryReport{RareTerm: RareToken, CommonTerm: CommonTerm}
	scan := func(term string, firstOnly bool) (time.Duration, int, int, error) {
		t := time.Now()
		matches, pages, token := 0, 0, ""
		for {
			in := map[string]any{"logGroupName": groups[0], "filterPattern": term, "startTime": startMs}
			if token != "" {
				in["nextToken"] = token
			}
			var p page
			if err := c.call(ctx, "FilterLogEvents", in, &p); err != nil {
				return 0, 0, 0, err
			}
			pages++
			matches += len(p.Events)
			if (firstOnly && matches > 0) || p.NextToken == "" {
				return time.Since(t), matches, pages, nil
			}
			token = p.NextToken
		}
	}
	var firsts []time.Duration
	for i := 0; i < 5; i++ {
		d, _, _, err := scan(RareToken, true)
		if err != nil {
			return nil, fmt.Errorf("rare search: %w", err)
		}
		firsts = append(firsts, d)
	}
	slices.Sort(firsts)
	q.RareFirstPage = firsts[len(firsts)/2]
	var err error
	if q.RareFullScan, q.RareMatches, _, err = scan(RareToken, false); err != nil {
		return nil, err
	}
	if q.CommonScanTime, q.CommonMatches, q.Pages, err = scan(CommonTerm, false); err != nil {
		return nil, err
	}
	return q, nil
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
