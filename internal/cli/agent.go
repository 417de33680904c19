package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cairnlog/cairn/internal/agent"
)

// agentFile is the agent's config file schema (docs/agent.md).
type agentFile struct {
	Endpoint string `yaml:"endpoint"`
	Region   string `yaml:"region"`
	Profile  string `yaml:"profile"`
	CAFile   string `yaml:"ca_file"`
	StateDir string `yaml:"state_dir"`
	Hostname string `yaml:"hostname"`
	LogLevel string `yaml:"log_level"`

	FlushInterval   time.Duration `yaml:"flush_interval"`
	PollInterval    time.Duration `yaml:"poll_interval"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	MaxEventBytes   int           `yaml:"max_event_bytes"`
	Oversize        string        `yaml:"oversize"`
	OversizeMarker  string        `yaml:"oversize_marker"`
	SpoolMaxBytes   int64         `yaml:"spool_max_bytes"`
	RetryMax        time.Duration `yaml:"retry_max"`

	Mask struct {
		Env     []string `yaml:"env"`
		Files   []string `yaml:"files"`
		Regexes []string `yaml:"regexes"`
	} `yaml:"mask"`

	Inputs []struct {
		Files          []string      `yaml:"files"`
		Stdin          bool          `yaml:"stdin"`
		Group          string        `yaml:"group"`
		Stream         string        `yaml:"stream"`
		RetentionDays  int32         `yaml:"retention_days"`
		MultilineStart string        `yaml:"multiline_start"`
		MultilineFlush time.Duration `yaml:"multiline_flush"`
	} `yaml:"inputs"`
}

func runAgent(env Env, args []string) int {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	configPath := fs.String("config", "", "config file (YAML; see docs/agent.md) [CAIRN_AGENT_CONFIG]")
	var af awsFlags
	af.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(env.Stderr, "cairn agent:", err)
		return 1
	}
	path := firstNonEmpty(*configPath, env.Getenv("CAIRN_AGENT_CONFIG"))
	if path == "" {
		fmt.Fprintln(env.Stderr, "cairn agent: give --config FILE")
		return 2
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return fail(err)
	}
	var file agentFile
	if err := decodeYAMLFile(path, raw, &file); err != nil {
		return fail(err)
	}
	af.endpoint = firstNonEmpty(af.endpoint, file.Endpoint)
	af.region = firstNonEmpty(af.region, file.Region)
	af.profile = firstNonEmpty(af.profile, file.Profile)
	af.caFile = firstNonEmpty(af.caFile, file.CAFile)

	var level slog.Level
	if err := level.UnmarshalText([]byte(firstNonEmpty(file.LogLevel, "info"))); err != nil {
		return fail(fmt.Errorf("log_level: %w", err))
	}
	logger := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
	masker, err := buildMasker(env, file.Mask.Env, file.Mask.Files, file.Mask.Regexes)
	if err != nil {
		return fail(err)
	}
	host := file.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	switch file.Oversize {
	case "", string(agent.OversizeTruncate), string(agent.OversizeSplit):
	default:
		return fail(fmt.Errorf("oversize must be truncate or split, not %q", file.Oversize))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	c, _, err := af.client(ctx, env, 1)
	if err != nil {
		return fail(err)
	}
	cfg := agent.Config{
		Client: c, StateDir: firstNonEmpty(file.StateDir, "cairn-agent-state"), Hostname: host, Masker: masker,
		FlushInterval: file.FlushInterval, PollInterval: file.PollInterval, ShutdownTimeout: file.ShutdownTimeout,
		MaxEventBytes: file.MaxEventBytes, Oversize: agent.Oversize(file.Oversize), Marker: file.OversizeMarker,
		SpoolMaxBytes: file.SpoolMaxBytes, Backoff: agent.Backoff{Max: file.RetryMax}, Logger: logger,
	}
	var restore func()
	for i, in := range file.Inputs {
		x := agent.Input{Paths: in.Files, Group: in.Group, Stream: in.Stream, RetentionDays: in.RetentionDays,
			MultilineStart: in.MultilineStart, MultilineFlush: in.MultilineFlush}
		if in.Stdin {
			if len(in.Files) > 0 {
				return fail(fmt.Errorf("input %d: files and stdin are exclusive", i+1))
			}
			x.Name = "stdin"
			x.Reader, restore = stoppableStdin(env.Stdin)
			if restore != nil {
				defer restore()
			}
		}
		cfg.Inputs = append(cfg.Inputs, x)
	}
	a, err := agent.New(cfg)
	if err != nil {
		return fail(err)
	}
	logger.Info("cairn agent: shipping", "inputs", len(cfg.Inputs), "state_dir", cfg.StateDir)
	if err := a.Run(ctx); err != nil {
		return fail(err)
	}
	return 0
}

// stoppableStdin returns stdin as a reader that Close interrupts: a
// duplicate of the descriptor in non-blocking mode, so the runtime's poller
// serves it. restore puts the shared file description back in blocking
// mode for whoever else uses it.
func stoppableStdin(in io.Reader) (io.Reader, func()) {
	f, ok := in.(*os.File)
	if !ok {
		return in, nil
	}
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		return in, nil
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return in, nil
	}
	dup := os.NewFile(uintptr(fd), "stdin")
	return dup, func() { syscall.SetNonblock(int(f.Fd()), false) }
}
