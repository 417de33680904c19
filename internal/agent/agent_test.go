package agent

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/harness"
)

// runningAgent is an Agent running in the background of a test.
type runningAgent struct {
	cancel context.CancelFunc
	done   chan error
}

func startAgent(t testing.TB, cfg Config) *runningAgent {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ra := &runningAgent{cancel: cancel, done: make(chan error, 1)}
	go func() { ra.done <- a.Run(ctx) }()
	t.Cleanup(func() { ra.stop(t) })
	return ra
}

func (ra *runningAgent) stop(t testing.TB) {
	if ra.cancel == nil {
		return
	}
	ra.cancel()
	ra.cancel = nil
	if err := <-ra.done; err != nil {
		t.Errorf("agent: %v", err)
	}
}

func fastConfig(ts *harness.Server, state string, inputs ...Input) Config {
	return Config{
		Client: ts.Client(), StateDir: state, Hostname: "host1", Inputs: inputs,
		FlushInterval: 100 * time.Millisecond, PollInterval: 20 * time.Millisecond, SyncInterval: 50 * time.Millisecond,
		Backoff: Backoff{Base: 20 * time.Millisecond, Max: 300 * time.Millisecond},
	}
}

// appendLines writes lines first..last-1 to path.
func appendLines(t testing.TB, path string, first, last int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	for i := first; i < last; i++ {
		fmt.Fprintf(&b, "line %05d\n", i)
	}
	if _, err := f.WriteString(b.String()); err != nil {
		t.Fatal(err)
	}
}

func wantLines(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("line %05d", i)
	}
	return out
}

// waitStored waits until the stream holds as many events as want, stops
// the agent (so nothing more can follow), then checks they are exactly want,
// in order: none lost, none repeated.
func waitStored(t testing.TB, ts *harness.Server, a *runningAgent, group, stream string, want []string) {
	t.Helper()
	c := ts.Client()
	harness.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		if got := storedMessages(t, c, group, stream); len(got) < len(want) {
			return fmt.Errorf("stored %d events, want %d", len(got), len(want))
		}
		return nil
	})
	a.stop(t)
	got := storedMessages(t, c, group, stream)
	if !slices.Equal(got, want) {
		t.Fatalf("stored %d events, want %d; first difference: %s", len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("at %d: got %q, want %q", i, got[i], want[i])
		}
	}
	if len(got) > len(want) {
		return fmt.Sprintf("extra %q", got[len(want)])
	}
	if len(got) < len(want) {
		return fmt.Sprintf("missing %q", want[len(got)])
	}
	return "none"
}

// TestOutage stops the server for a few seconds while lines keep coming:
// every line arrives once, in order, after it returns. CAIRN_OUTAGE=30s
// runs the 30-second outage (by hand; too slow for CI).
func TestOutage(t *testing.T) {
	outage := 3 * time.Second
	if v := os.Getenv("CAIRN_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		outage = d
	}
	ts := harness.Start(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	a := startAgent(t, fastConfig(ts, filepath.Join(dir, "state"),
		Input{Paths: []string{filepath.Join(dir, "*.log")}, Group: "outage", Stream: "{hostname}/{filename}"}))
	const total = 3000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// Write through the whole outage and a little beyond.
		pause := (outage + time.Second) / (total / 50)
		for i := 0; i < total; i += 50 {
			appendLines(t, log, i, i+50)
			time.Sleep(pause) // pacing: lines keep coming through the outage, which is what is tested
		}
	}()
	storedCount(t, ts.Client(), "outage", "host1/app.log", 1)
	ts.Stop()
	time.Sleep(outage) // the outage itself is what is tested: the server is down this long
	ts.Restart()       // on the same address, as after a real outage
	wg.Wait()
	waitStored(t, ts, a, "outage", "host1/app.log", wantLines(total))
}

func TestRotation(t *testing.T) {
	f := func(name string, rotate func(t *testing.T, ts *harness.Server, path string)) {
		t.Run(name, func(t *testing.T) {
			ts := harness.Start(t)
			dir := t.TempDir()
			log := filepath.Join(dir, "app.log")
			appendLines(t, log, 0, 100)
			a := startAgent(t, fastConfig(ts, filepath.Join(dir, "state"),
				Input{Paths: []string{log}, Group: "rot", Stream: "s"}))
			storedCount(t, ts.Client(), "rot", "s", 100)
			appendLines(t, log, 100, 150) // unread when rotation happens, for rename
			rotate(t, ts, log)
			appendLines(t, log, 150, 300)
			waitStored(t, ts, a, "rot", "s", wantLines(300))
		})
	}
	f("rename", func(t *testing.T, _ *harness.Server, path string) {
		if err := os.Rename(path, path+".1"); err != nil {
			t.Fatal(err)
		}
	})
	f("copytruncate", func(t *testing.T, ts *harness.Server, path string) {
		// copytruncate loses lines written between copy and truncate;
		// wait until the agent has read (and shipped) them, as logrotate hopes.
		storedCount(t, ts.Client(), "rot", "s", 150)
		if err := os.Truncate(path, 0); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRestartMidFile stops the agent mid-file and starts it again on the
// same state directory: nothing is lost or repeated.
func TestRestartMidFile(t *testing.T) {
	ts := harness.Start(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	state := filepath.Join(dir, "state")
	in := Input{Paths: []string{log}, Group: "restart", Stream: "s", MultilineStart: `^line`}
	appendLines(t, log, 0, 500)
	a := startAgent(t, fastConfig(ts, state, in))
	storedCount(t, ts.Client(), "restart", "s", 1)
	a.stop(t)
	// Written while the agent is down, with a partial last line.
	appendLines(t, log, 500, 1000)
	f, _ := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("line 01")
	f.Close()
	a = startAgent(t, fastConfig(ts, state, in))
	// The agent has read up to the partial line once line 999 opened an
	// event (and so ended line 998's); then the line is completed.
	storedCount(t, ts.Client(), "restart", "s", 999)
	f, _ = os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("000\n")
	f.Close()
	appendLines(t, log, 1001, 1200)
	waitStored(t, ts, a, "restart", "s", wantLines(1200)[:1199]) // the last waits for the next start line
}

// TestRotatedWhileDown: the file is renamed and replaced while the agent
// is stopped; the next run finishes the old file, then reads the new one.
func TestRotatedWhileDown(t *testing.T) {
	ts := harness.Start(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	state := filepath.Join(dir, "state")
	in := Input{Paths: []string{log}, Group: "down", Stream: "s"}
	appendLines(t, log, 0, 100)
	a := startAgent(t, fastConfig(ts, state, in))
	storedCount(t, ts.Client(), "down", "s", 100)
	a.stop(t)
	appendLines(t, log, 100, 150)
	os.Rename(log, log+".1")
	appendLines(t, log, 150, 200)
	a = startAgent(t, fastConfig(ts, state, in))
	waitStored(t, ts, a, "down", "s", wantLines(200))
}

func TestMasking(t *testing.T) {
	ts := harness.Start(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "app.log")
	m, err := NewMasker([]string{"s3cr3t-value"}, []string{`token=[a-z0-9]+`})
	if err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig(ts, filepath.Join(dir, "state"), Input{Paths: []string{log}, Group: "mask", Stream: "s"})
	cfg.Masker = m
	os.WriteFile(log, []byte("password is s3cr3t-value!\nurl?token=abc123&x=1\nplain\n"), 0o644)
	a := startAgent(t, cfg)
	waitStored(t, ts, a, "mask", "s", []string{"password is ****!", "url?****&x=1", "plain"})
}

func TestStdinAndOversize(t *testing.T) {
	ts := harness.Start(t)
	dir := t.TempDir()
	cfg := fastConfig(ts, filepath.Join(dir, "state"),
		Input{Reader: strings.NewReader("short\n" + strings.Repeat("x", 50) + "\nlast, no newline"), Name: "stdin", Group: "stdin", Stream: "{hostname}-{filename}"})
	cfg.MaxEventBytes = 26 + 20
	cfg.Oversize = OversizeSplit
	cfg.Marker = "…" // 3 bytes
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// With only streams, Run returns at their end, having sent everything.
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	x := strings.Repeat("x", 17) + "…"
	got := storedMessages(t, ts.Client(), "stdin", "host1-stdin")
	want := []string{"short", x, x, strings.Repeat("x", 16), "last, no newline"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestSaysWhatItReads: a glob that matches nothing is reported (once), each
// file followed gets a line, and a clean stop says what was shipped.
func TestSaysWhatItReads(t *testing.T) {
	ts := harness.Start(t)
	dir := t.TempDir()
	var logs syncLog
	cfg := fastConfig(ts, filepath.Join(dir, "state"), Input{Paths: []string{filepath.Join(dir, "*.log")}, Group: "g", Stream: "{filename}"})
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	a := startAgent(t, cfg)
	harness.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if !strings.Contains(logs.String(), "no file matches; watching for one to appear") {
			return fmt.Errorf("no warning for the empty glob yet:\n%s", logs.String())
		}
		return nil
	})
	appendLines(t, filepath.Join(dir, "a.log"), 0, 3)
	waitStored(t, ts, a, "g", "a.log", wantLines(3))
	out := logs.String()
	for _, want := range []string{"files now match", "following file", "a.log", "stopped; offsets saved", "events_shipped=3"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "no file matches"); n != 1 {
		t.Errorf("empty glob reported %d times, want once", n)
	}
}

type syncLog = harness.SyncBuffer
