// Package runcmd runs a command and ships its output as log events: the
// engine of `cairn run -- CMD`.
//
// The command's stdout and stderr enter through pipes; each byte is echoed
// at once to the caller's stdout or stderr, and each line (a last line
// without a newline included) is masked, optionally wrapped in a JSON
// object with metadata, and handed to an agent.Shipper, which leaves
// through PutLogEvents. Signals the caller receives are forwarded to the
// command. Run returns the command's exit status (128+signal when a signal
// killed it) once every line is shipped or the flush timeout has passed.
//
// The package reads no flags or environment: package cli does.
package runcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cairnlog/cairn/internal/agent"
)

// Meta is one key/value pair added to JSON events, in the order given.
type Meta struct{ Key, Value string }

// Config configures one run.
type Config struct {
	Client        agent.Client
	Group, Stream string
	RetentionDays int32
	Args          []string // the command and its arguments
	Dir           string   // working directory ("" = the caller's)
	Env           []string // the command's environment (nil = the caller's)

	// JSON wraps each line as {"message": line, meta..., "stream": "stderr"}
	// ("stream" only for stderr lines, so stdout lines have exactly the
	// Jenkins pipeline-cloudwatch-logs shape). Without JSON, stderr lines
	// start with StderrPrefix.
	JSON         bool
	Meta         []Meta
	StderrPrefix string

	Masker *agent.Masker

	Stdin          io.Reader
	Stdout, Stderr io.Writer        // the echo
	Signals        <-chan os.Signal // forwarded to the command

	FlushInterval time.Duration // default 1 s
	FlushTimeout  time.Duration // how long to keep trying to ship after the command ends (default 60 s)
	// AllowLoss keeps the command's exit status when log events were lost
	// (not shipped in time, or rejected by the endpoint). Without it a run
	// whose command succeeded but whose logs did not all arrive exits with
	// ExitLogsLost, so a CI step does not pass with its logs gone.
	AllowLoss     bool
	MaxEventBytes int
	Backoff       agent.Backoff
	Logger        *slog.Logger
	Now           func() time.Time
}

// ExitLogsLost is the exit status of a run whose command succeeded but whose
// log events did not all arrive (sysexits' EX_TEMPFAIL: retrying may help).
const ExitLogsLost = 75

// Result is what a run did.
type Result struct {
	ExitCode int
	Shipped  int64 // events accepted
	Unsent   int64 // events given up at the flush timeout or on a signal (reported on Stderr)
	Rejected int64 // events the endpoint refused (each logged with its reason)
}

// Run runs the command to its end and ships its output.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if len(cfg.Args) == 0 {
		return Result{ExitCode: 2}, errors.New("no command")
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = time.Second
	}
	if cfg.FlushTimeout <= 0 {
		cfg.FlushTimeout = 60 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Stdout == nil {
		cfg.Stdout = io.Discard
	}
	if cfg.Stderr == nil {
		cfg.Stderr = io.Discard
	}
	if cfg.StderrPrefix == "" && !cfg.JSON {
		cfg.StderrPrefix = "[stderr] "
	}
	if cfg.MaxEventBytes <= 0 || cfg.MaxEventBytes > agent.MaxEventBytes {
		cfg.MaxEventBytes = agent.MaxEventBytes
	}

	cmd := exec.Command(cfg.Args[0], cfg.Args[1:]...)
	cmd.Dir, cmd.Env, cmd.Stdin = cfg.Dir, cfg.Env, cfg.Stdin
	outR, outW, err := os.Pipe()
	if err != nil {
		return Result{ExitCode: 1}, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return Result{ExitCode: 1}, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	if err := cmd.Start(); err != nil {
		outR.Close()
		outW.Close()
		errR.Close()
		errW.Close()
		code := 126
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			code = 127
		}
		return Result{ExitCode: code}, err
	}
	outW.Close()
	errW.Close()

	sh := agent.NewMemoryShipper(agent.ShipperConfig{
		Client: cfg.Client, Target: agent.Target{Group: cfg.Group, Stream: cfg.Stream},
		RetentionDays: cfg.RetentionDays, FlushInterval: cfg.FlushInterval, Backoff: cfg.Backoff, Logger: cfg.Logger,
	}, 0)

	// The readers stop at EOF, which comes when the command and anything it
	// left running have closed the pipes; after the command exits they get
	// a grace period, then the pipes are closed under them.
	readCtx, stopReading := context.WithCancel(context.Background())
	defer stopReading()
	var wg sync.WaitGroup
	readErrs := make([]error, 2)
	for i, p := range []struct {
		r      *os.File
		echo   io.Writer
		stderr bool
	}{{outR, cfg.Stdout, false}, {errR, cfg.Stderr, true}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer p.r.Close()
			readErrs[i] = agent.ReadLines(readCtx, p.r, agent.LineConfig{MaxEventBytes: cfg.MaxEventBytes, Oversize: agent.OversizeSplit, Tee: p.echo},
				func(lines []string) error {
					evs := make([]agent.Event, 0, len(lines))
					now := cfg.Now().UnixMilli()
					for _, l := range lines {
						for _, m := range cfg.wrap(l, p.stderr) {
							evs = append(evs, agent.Event{Time: now, Message: m})
						}
					}
					// Never give up on a line here: Add blocks only while
					// the queue is full, and the shipper drains it.
					return sh.Add(context.Background(), evs)
				})
		}()
	}

	// Forward signals until the command has exited.
	waited := make(chan struct{})
	var fwd sync.WaitGroup
	fwd.Add(1)
	go func() {
		defer fwd.Done()
		for {
			select {
			case sig := <-cfg.Signals:
				cmd.Process.Signal(sig)
			case <-ctx.Done():
				cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-waited:
					return
				case <-time.After(10 * time.Second):
					cmd.Process.Kill()
				}
			case <-waited:
				return
			}
		}
	}()
	waitErr := cmd.Wait()
	close(waited)
	fwd.Wait()
	readersDone := make(chan struct{})
	go func() { wg.Wait(); close(readersDone) }()
	select {
	case <-readersDone:
	case <-time.After(2 * time.Second):
		stopReading() // a background child still holds the pipes
		<-readersDone
	}

	res := Result{ExitCode: exitCode(cmd.ProcessState, waitErr)}
	// The final flush ends at the flush timeout, or at once when the caller
	// is signalled again (a CI runner cancelling the step must not wait a
	// minute); either way what was not shipped is said, with why.
	flushCtx, cancel := context.WithTimeout(ctx, cfg.FlushTimeout)
	defer cancel()
	interrupted := make(chan os.Signal, 1)
	flushDone := make(chan struct{})
	go func() {
		select {
		case sig := <-cfg.Signals:
			interrupted <- sig
			cancel()
		case <-flushDone:
		}
	}()
	unsent, _ := sh.Close(flushCtx)
	if unsent == 0 && sh.Sent() == 0 && sh.Rejected() == 0 && flushCtx.Err() == nil {
		// No output: the group and stream must exist all the same (a CI
		// view lists the step; the docs say missing ones are created).
		if err := sh.EnsureTarget(flushCtx); err != nil {
			fmt.Fprintf(cfg.Stderr, "cairn run: could not create log group/stream %s/%s: %v\n", cfg.Group, cfg.Stream, err)
			if !cfg.AllowLoss && res.ExitCode == 0 {
				res.ExitCode = ExitLogsLost
			}
		}
	}
	close(flushDone)
	res.Shipped, res.Unsent, res.Rejected = sh.Sent(), unsent, sh.Rejected()
	if lost := res.Unsent + res.Rejected; lost > 0 {
		why := fmt.Sprintf("not shipped within --flush-timeout %s", cfg.FlushTimeout)
		select {
		case sig := <-interrupted:
			why = "shipping interrupted by " + sig.String()
		default:
		}
		msg := fmt.Sprintf("cairn run: LOST %d of %d log events for %s/%s", lost, res.Shipped+lost, cfg.Group, cfg.Stream)
		if res.Unsent > 0 {
			msg += fmt.Sprintf(": %d %s", res.Unsent, why)
			if last := sh.LastError(); last != "" {
				msg += " (last error: " + last + ")"
			}
		}
		if res.Rejected > 0 {
			msg += fmt.Sprintf("; %d rejected by the endpoint (reasons logged above)", res.Rejected)
		}
		fmt.Fprintln(cfg.Stderr, msg)
		if !cfg.AllowLoss && res.ExitCode == 0 {
			res.ExitCode = ExitLogsLost
			fmt.Fprintf(cfg.Stderr, "cairn run: the command succeeded; exiting %d because its logs were lost (--allow-log-loss keeps the command's status)\n", ExitLogsLost)
		}
	}
	for _, err := range readErrs {
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, os.ErrClosed) {
			return res, fmt.Errorf("read command output: %w", err)
		}
	}
	return res, nil
}

// exitCode is the shell's view of how a command ended.
func exitCode(ps *os.ProcessState, err error) int {
	if ps == nil {
		if err != nil {
			return 1
		}
		return 0
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// wrap masks a line and turns it into the messages to ship: the line itself
// (prefixed when from stderr), or its JSON wrapping; either fitted under
// the event size limit.
func (cfg *Config) wrap(line string, stderr bool) []string {
	line = strings.ToValidUTF8(cfg.Masker.Mask(line), "\uFFFD")
	max := cfg.MaxEventBytes - agent.EventOverhead
	if !cfg.JSON {
		if stderr {
			line = cfg.StderrPrefix + line
		}
		if line == "" {
			line = " "
		}
		var out []string
		for len(line) > max {
			cut := cutRunes(line, max)
			out = append(out, line[:cut])
			line = line[cut:]
		}
		return append(out, line)
	}
	// A long line becomes several JSON events, each within the limit
	// after escaping.
	var out []string
	for {
		budget := max - len(cfg.jsonLine("", stderr))
		if budget <= 0 {
			return out
		}
		n := cutRunes(line, budget)
		msg := cfg.jsonLine(line[:n], stderr)
		for len(msg) > max && n > 1 {
			n = cutRunes(line, n-(len(msg)-max))
			msg = cfg.jsonLine(line[:n], stderr)
		}
		out = append(out, msg)
		line = line[n:]
		if line == "" {
			return out
		}
	}
}

func (cfg *Config) jsonLine(msg string, stderr bool) string {
	var b bytes.Buffer
	b.WriteString(`{"message":`)
	writeJSONString(&b, msg)
	for _, m := range cfg.Meta {
		b.WriteByte(',')
		writeJSONString(&b, m.Key)
		b.WriteByte(':')
		writeJSONString(&b, m.Value)
	}
	if stderr {
		b.WriteString(`,"stream":"stderr"`)
	}
	b.WriteByte('}')
	return b.String()
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	b.Truncate(b.Len() - 1) // Encode's newline
}

// cutRunes returns the largest n ≤ limit (and ≥ 1 rune) that does not split
// a UTF-8 sequence.
func cutRunes(s string, limit int) int {
	if limit >= len(s) {
		return len(s)
	}
	if limit < 1 {
		limit = 1
	}
	n := limit
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	if n == 0 {
		n = 1
		for n < len(s) && s[n]&0xC0 == 0x80 {
			n++
		}
	}
	return n
}
