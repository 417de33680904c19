// Package agent ships log lines to a CloudWatch Logs endpoint (Cairn or
// AWS) through the aws-sdk-go-v2 client it is given.
//
// Data enters from files (globs, followed like `tail -F`, with rotation by
// rename and by copytruncate) and from streams such as stdin. Lines are
// grouped into events (optionally multiline, by a start pattern), masked,
// fitted under the maximum event size, and appended to a per-target queue:
// a disk spool in the state directory, so events survive an unreachable
// endpoint and a restart. A Shipper per log stream reads the queue in order
// and leaves through PutLogEvents, in batches within every API limit,
// retrying with backoff until each event is accepted or (logged) rejected.
// File offsets are saved in the state directory only after the events they
// cover are durable in the spool, so a restart neither loses nor repeats a
// line.
//
// The package reads no flags, environment or config file: package cli does
// and fills a Config.
package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// Config configures an Agent.
type Config struct {
	Client   Client
	StateDir string // offsets and the spool
	Hostname string // for the {hostname} template
	Inputs   []Input
	Masker   *Masker

	FlushInterval   time.Duration // longest an event waits for a fuller batch (default 5 s)
	PollInterval    time.Duration // how often files are checked for growth and rotation (default 250 ms)
	SyncInterval    time.Duration // how often the spool is synced and offsets saved (default 1 s)
	ShutdownTimeout time.Duration // how long Run keeps sending after ctx ends (default 5 s); the rest stays spooled
	Limits          Limits
	Backoff         Backoff
	MaxEventBytes   int // including the 26-byte overhead (default and maximum 1,048,576)
	Oversize        Oversize
	Marker          string // ends a truncated or split event (default DefaultMarker)

	SpoolMaxBytes     int64 // disk the spool may use per target before inputs wait (default 1 GiB)
	SpoolSegmentBytes int64 // default 8 MiB

	Logger *slog.Logger
	Now    func() time.Time
}

// Input is one source of lines.
type Input struct {
	Paths  []string  // globs of files to follow; or
	Reader io.Reader // a stream read to its end (closed, if it is an io.Closer, when Run stops)
	Name   string    // the stream's {filename}

	Group, Stream  string // templates: {hostname}, {filename} (base name of the file)
	RetentionDays  int32  // for groups the agent creates
	MultilineStart string // regexp that starts an event; empty: each line is one
	MultilineFlush time.Duration
}

type input struct {
	Input
	start          *regexp.Regexp
	multilineFlush time.Duration
}

// Agent ships its inputs until its context ends.
type Agent struct {
	cfg    Config
	log    *slog.Logger
	fit    fitter
	inputs []*input

	mu sync.Mutex
	// Guarded by mu.
	shippers map[Target]*Shipper
	spools   map[Target]*diskSpool
	offsets  map[string]offsetState // by path
	saved    map[string]offsetState // as loaded at start
}

// New checks the configuration and opens the state directory.
func New(cfg Config) (*Agent, error) {
	if cfg.Client == nil {
		return nil, errors.New("agent: no client")
	}
	if cfg.StateDir == "" {
		return nil, errors.New("agent: no state directory")
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 250 * time.Millisecond
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = time.Second
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 5 * time.Second
	}
	if cfg.SpoolMaxBytes <= 0 {
		cfg.SpoolMaxBytes = 1 << 30
	}
	if cfg.SpoolSegmentBytes <= 0 {
		cfg.SpoolSegmentBytes = 8 << 20
	}
	if cfg.Marker == "" {
		cfg.Marker = DefaultMarker
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &Agent{
		cfg: cfg, log: cfg.Logger,
		fit:      newFitter(cfg.MaxEventBytes, cfg.Oversize, cfg.Marker),
		shippers: map[Target]*Shipper{},
		spools:   map[Target]*diskSpool{},
		offsets:  map[string]offsetState{},
	}
	for i, in := range cfg.Inputs {
		if (len(in.Paths) == 0) == (in.Reader == nil) {
			return nil, fmt.Errorf("agent: input %d: give either paths or a reader", i+1)
		}
		if in.Group == "" || in.Stream == "" {
			return nil, fmt.Errorf("agent: input %d: group and stream are required", i+1)
		}
		for _, p := range in.Paths {
			if _, err := filepath.Match(p, ""); err != nil {
				return nil, fmt.Errorf("agent: input %d: bad glob %q: %w", i+1, p, err)
			}
		}
		x := &input{Input: in, multilineFlush: in.MultilineFlush}
		if x.multilineFlush <= 0 {
			x.multilineFlush = time.Second
		}
		if in.MultilineStart != "" {
			re, err := regexp.Compile(in.MultilineStart)
			if err != nil {
				return nil, fmt.Errorf("agent: input %d: multiline start: %w", i+1, err)
			}
			x.start = re
		}
		a.inputs = append(a.inputs, x)
	}
	if err := os.MkdirAll(filepath.Join(cfg.StateDir, "spool"), 0o700); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(cfg.StateDir, "offsets.json"))
	if err == nil {
		if err := json.Unmarshal(raw, &a.saved); err != nil {
			return nil, fmt.Errorf("agent: state file offsets.json: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for p, o := range a.saved {
		a.offsets[p] = o
	}
	return a, nil
}

// Run ships until ctx ends (or, when every input is a stream, until they
// all end), then keeps sending for up to ShutdownTimeout, and saves state.
// Whatever is not sent stays in the spool for the next run.
func (a *Agent) Run(ctx context.Context) error {
	inCtx, stopInputs := context.WithCancel(ctx)
	defer stopInputs()
	// Replay what a previous run left in the spool, whatever its inputs now.
	if err := a.resumeSpools(); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(a.inputs))
	files := false
	for _, in := range a.inputs {
		if len(in.Paths) > 0 {
			files = true
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if len(in.Paths) > 0 {
				err = a.runFiles(inCtx, in)
			} else {
				err = a.runStream(inCtx, in)
			}
			if err != nil && inCtx.Err() == nil {
				errs <- err
			}
		}()
	}
	syncDone := make(chan struct{})
	syncStop := make(chan struct{})
	go func() {
		defer close(syncDone)
		t := time.NewTicker(a.cfg.SyncInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				if err := a.checkpoint(); err != nil {
					a.log.Error("save state", "err", err)
				}
			case <-syncStop:
				return
			}
		}
	}()
	inputsDone := make(chan struct{})
	go func() { wg.Wait(); close(inputsDone) }()
	var runErr error
	select {
	case <-ctx.Done():
	case <-inputsDone:
		if files {
			<-ctx.Done()
		}
	case runErr = <-errs:
	}
	stopInputs()
	<-inputsDone
	close(syncStop)
	<-syncDone
	return errors.Join(runErr, a.shutdown())
}

// shutdown drains the shippers for up to ShutdownTimeout and saves state.
func (a *Agent) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	a.mu.Lock()
	shippers := make(map[Target]*Shipper, len(a.shippers))
	for t, s := range a.shippers {
		shippers[t] = s
	}
	a.mu.Unlock()
	var wg sync.WaitGroup
	for t, s := range shippers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.Close(ctx)
			switch {
			case err != nil:
				a.log.Error("closing the spool failed", "group", t.Group, "stream", t.Stream, "unsent_events", n, "err", err)
			case n > 0:
				args := []any{"group", t.Group, "stream", t.Stream, "events", n}
				if last := s.LastError(); last != "" {
					args = append(args, "last_error", last)
				}
				a.log.Warn("events not yet shipped stay in the spool; the next run sends them", args...)
			}
		}()
	}
	wg.Wait()
	var sent, rejected int64
	for _, s := range shippers {
		sent, rejected = sent+s.Sent(), rejected+s.Rejected()
	}
	err := a.saveOffsets()
	if err == nil {
		a.log.Info("stopped; offsets saved", "targets", len(shippers), "events_shipped", sent, "events_rejected", rejected, "state", a.cfg.StateDir)
	}
	return err
}

// checkpoint makes the spools durable, then saves the offsets they cover.
func (a *Agent) checkpoint() error {
	a.mu.Lock()
	offs := make(map[string]offsetState, len(a.offsets))
	for p, o := range a.offsets {
		offs[p] = o
	}
	spools := make([]*diskSpool, 0, len(a.spools))
	for _, s := range a.spools {
		spools = append(spools, s)
	}
	a.mu.Unlock()
	for _, s := range spools {
		if err := s.sync(); err != nil {
			return err
		}
	}
	return a.writeOffsets(offs)
}

func (a *Agent) saveOffsets() error {
	a.mu.Lock()
	offs := make(map[string]offsetState, len(a.offsets))
	for p, o := range a.offsets {
		offs[p] = o
	}
	a.mu.Unlock()
	return a.writeOffsets(offs)
}

func (a *Agent) writeOffsets(offs map[string]offsetState) error {
	raw, err := json.MarshalIndent(offs, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(a.cfg.StateDir, "offsets.json.tmp")
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err == nil {
		f.Sync()
		f.Close()
	}
	return os.Rename(tmp, filepath.Join(a.cfg.StateDir, "offsets.json"))
}

func (a *Agent) setOffset(path string, o offsetState) {
	a.mu.Lock()
	a.offsets[path] = o
	a.mu.Unlock()
}

// shipper returns the target's shipper, starting it (and its spool) on
// first use.
func (a *Agent) shipper(t Target, retention int32) (*Shipper, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s, ok := a.shippers[t]; ok {
		return s, nil
	}
	sum := sha256.Sum256([]byte(t.Group + "\x00" + t.Stream))
	dir := filepath.Join(a.cfg.StateDir, "spool", hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "target"), []byte(t.Group+"\n"+t.Stream+"\n"), 0o600); err != nil {
		return nil, err
	}
	sp, err := openDiskSpool(dir, a.cfg.SpoolSegmentBytes, a.cfg.SpoolMaxBytes)
	if err != nil {
		return nil, err
	}
	s := newShipper(ShipperConfig{
		Client: a.cfg.Client, Target: t, RetentionDays: retention,
		FlushInterval: a.cfg.FlushInterval, Limits: a.cfg.Limits, Backoff: a.cfg.Backoff, Logger: a.log,
	}, sp)
	a.shippers[t], a.spools[t] = s, sp
	if sp.unread() {
		s.wake <- struct{}{}
	}
	return s, nil
}

func (a *Agent) resumeSpools() error {
	ents, err := os.ReadDir(filepath.Join(a.cfg.StateDir, "spool"))
	if err != nil {
		return err
	}
	for _, e := range ents {
		raw, err := os.ReadFile(filepath.Join(a.cfg.StateDir, "spool", e.Name(), "target"))
		if err != nil {
			continue
		}
		parts := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
		if len(parts) != 2 {
			continue
		}
		if _, err := a.shipper(Target{parts[0], parts[1]}, 0); err != nil {
			return err
		}
	}
	return nil
}

// events masks and fits one message into events stamped now.
func (a *Agent) events(out []Event, msg string) []Event {
	now := a.cfg.Now().UnixMilli()
	for _, m := range a.fit.fit(nil, a.cfg.Masker.Mask(msg)) {
		out = append(out, Event{Time: now, Message: m})
	}
	return out
}

func (a *Agent) target(in *input, path string) Target {
	name := filepath.Base(path)
	r := strings.NewReplacer("{hostname}", a.cfg.Hostname, "{filename}", name)
	return Target{Group: r.Replace(in.Group), Stream: r.Replace(in.Stream)}
}

// runFiles follows the input's globs until ctx ends.
func (a *Agent) runFiles(ctx context.Context, in *input) error {
	followers := map[string]*follower{}
	var extra []*follower // rotated-away files found at start
	buf := make([]byte, 256<<10)
	defer func() {
		for _, f := range followers {
			f.stop()
		}
		for _, f := range extra {
			f.stop()
		}
	}()
	t := time.NewTicker(a.cfg.PollInterval)
	defer t.Stop()
	// A glob that matches nothing is said once (a typo would otherwise look
	// like a quiet log), and again when it first matches.
	empty := map[string]bool{}
	for {
		var paths []string
		for _, g := range in.Paths {
			m, _ := filepath.Glob(g)
			switch {
			case len(m) == 0 && !empty[g]:
				empty[g] = true
				a.log.Warn("no file matches; watching for one to appear", "path", g, "poll_interval", a.cfg.PollInterval)
			case len(m) > 0 && empty[g]:
				delete(empty, g)
				a.log.Info("files now match", "path", g, "files", len(m))
			}
			paths = append(paths, m...)
		}
		sort.Strings(paths)
		for _, p := range paths {
			if _, ok := followers[p]; ok {
				continue
			}
			fi, err := os.Stat(p)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			sh, err := a.shipper(a.target(in, p), in.RetentionDays)
			if err != nil {
				return err
			}
			fl := a.newFollower(in, p, sh)
			var saved *offsetState
			a.mu.Lock()
			if o, ok := a.offsets[p]; ok {
				saved = &o
			}
			a.mu.Unlock()
			prev, err := fl.open(saved)
			if err != nil {
				a.log.Warn("cannot open file; skipped until it can be", "path", p, "err", err)
				continue
			}
			from := "the start"
			if saved != nil {
				from = "the saved offset"
			}
			tg := a.target(in, p)
			a.log.Info("following file", "path", p, "from", from, "group", tg.Group, "stream", tg.Stream)
			if prev != nil {
				extra = append(extra, prev)
			}
			followers[p] = fl
		}
		busy := false
		for len(extra) > 0 {
			// Finish the older file before its successor.
			more, err := extra[0].poll(ctx, buf)
			if err != nil {
				return err
			}
			if !more && extra[0].gone {
				extra = extra[1:]
				continue
			}
			busy = true
			break
		}
		if len(extra) == 0 {
			for p, fl := range followers {
				more, err := fl.poll(ctx, buf)
				if err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return err
				}
				busy = busy || more
				if fl.gone {
					delete(followers, p)
				}
			}
		}
		if busy {
			if ctx.Err() != nil {
				return nil
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// runStream reads a stream to its end; a final line without a newline is
// kept.
func (a *Agent) runStream(ctx context.Context, in *input) error {
	sh, err := a.shipper(a.target(in, in.Name), in.RetentionDays)
	if err != nil {
		return err
	}
	return ReadLines(ctx, in.Reader, LineConfig{
		Fit:            a.fit,
		Start:          in.start,
		MultilineFlush: in.multilineFlush,
	}, func(msgs []string) error {
		var evs []Event
		for _, m := range msgs {
			evs = a.events(evs, m)
		}
		return sh.Add(ctx, evs)
	})
}
