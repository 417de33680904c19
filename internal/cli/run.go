package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cairnlog/cairn/internal/agent"
	"github.com/cairnlog/cairn/internal/runcmd"
)

func runRun(env Env, args []string) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(env.Stderr, "usage: cairn run [flags] -- CMD [ARGS...]\n\nRuns CMD, echoes and ships its stdout and stderr, exits with its status.\n\nflags:")
		fs.PrintDefaults()
	}
	var af awsFlags
	af.register(fs)
	group := fs.String("group", "cairn-run", "log group")
	stream := fs.String("stream", "", "log stream (default HOST/CMD/TIME-PID)")
	jsonMode := fs.Bool("json", false, `wrap each line as {"message": LINE, META...}; stderr lines add "stream":"stderr"`)
	var metas, maskEnv, maskFiles, maskRegex stringList
	fs.Var(&metas, "meta", "key=value added to each JSON event (repeatable)")
	fs.Var(&maskEnv, "mask-env", "mask the value of this environment variable (repeatable)")
	fs.Var(&maskFiles, "mask-file", "mask the contents of this file (repeatable)")
	fs.Var(&maskRegex, "mask-regex", "mask matches of this regular expression (repeatable)")
	retention := fs.Int("retention-days", 0, "retention for a group the command creates")
	flushTimeout := fs.Duration("flush-timeout", 60*time.Second, "how long to keep shipping after CMD exits (a signal ends it at once)")
	allowLoss := fs.Bool("allow-log-loss", false, fmt.Sprintf("exit with CMD's status even when log events were lost (default: exit %d when CMD succeeded but its logs did not all arrive)", runcmd.ExitLogsLost))
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cmdArgs := fs.Args()
	if len(cmdArgs) == 0 {
		fs.Usage()
		return 2
	}
	var meta []runcmd.Meta
	for _, m := range metas {
		k, v, ok := strings.Cut(m, "=")
		if !ok || k == "" {
			fmt.Fprintf(env.Stderr, "cairn run: --meta %q is not key=value\n", m)
			return 2
		}
		meta = append(meta, runcmd.Meta{Key: k, Value: v})
	}
	masker, err := buildMasker(env, maskEnv, maskFiles, maskRegex)
	if err != nil {
		fmt.Fprintln(env.Stderr, "cairn run:", err)
		return 2
	}
	if *stream == "" {
		host, _ := os.Hostname()
		*stream = fmt.Sprintf("%s/%s/%s-%d", host, filepath.Base(cmdArgs[0]), time.Now().UTC().Format("20060102T150405Z"), os.Getpid())
	}
	c, _, err := af.client(context.Background(), env, 1)
	if err != nil {
		fmt.Fprintln(env.Stderr, "cairn run:", err)
		return 1
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	res, err := runcmd.Run(context.Background(), runcmd.Config{
		Client: c, Group: *group, Stream: *stream, RetentionDays: int32(*retention),
		Args: cmdArgs, JSON: *jsonMode, Meta: meta, Masker: masker,
		Stdin: env.Stdin, Stdout: env.Stdout, Stderr: env.Stderr, Signals: sigs,
		FlushTimeout: *flushTimeout, AllowLoss: *allowLoss,
		Logger: slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		fmt.Fprintln(env.Stderr, "cairn run:", err)
	}
	return res.ExitCode
}

// buildMasker reads the secrets to mask: values of environment variables,
// contents of files (each line a secret, and the whole file), and regular
// expressions.
func buildMasker(env Env, envNames, files, regexes []string) (*agent.Masker, error) {
	var lits []string
	for _, n := range envNames {
		// An unset variable is most likely a typo or a secret not passed
		// to this step: masking nothing would leak it silently.
		v := env.Getenv(n)
		if v == "" {
			return nil, fmt.Errorf("mask: environment variable %s is not set (or empty), so there is nothing to mask; set it or drop it from the mask list", n)
		}
		lits = append(lits, v)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("mask file: %w", err)
		}
		s := strings.TrimRight(string(raw), "\r\n")
		lits = append(lits, s)
		for _, l := range strings.Split(s, "\n") {
			lits = append(lits, strings.TrimSpace(l))
		}
	}
	if len(lits) == 0 && len(regexes) == 0 {
		return nil, nil
	}
	return agent.NewMasker(lits, regexes)
}
