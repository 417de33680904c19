package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cairnlog/cairn/internal/server"
)

// DefaultListen is where `cairn server` listens unless told otherwise.
const DefaultListen = "127.0.0.1:4588"

// serverFile is the config file's schema (YAML; JSON is YAML too).
type serverFile struct {
	Listen      string `yaml:"listen"`
	Data        string `yaml:"data"`
	AccountID   string `yaml:"account_id"`
	Auth        string `yaml:"auth"`
	IAM         string `yaml:"iam"`
	Compression string `yaml:"compression"`
	LogLevel    string `yaml:"log_level"`
}

// serverSettings resolves the server's settings: flags win over CAIRN_*
// environment variables, which win over the config file, which wins over the
// defaults.
func serverSettings(env Env, args []string) (server.Config, string, error) {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	configPath := fs.String("config", "", "config file (YAML) [CAIRN_CONFIG]")
	listen := fs.String("listen", "", "address to listen on, host:port [CAIRN_LISTEN] (default "+DefaultListen+")")
	data := fs.String("data", "", "data directory [CAIRN_DATA] (default ./cairn-data)")
	account := fs.String("account-id", "", "AWS account ID that owns the resources [CAIRN_ACCOUNT_ID] (default 000000000000)")
	auth := fs.String("auth", "", "authentication: sigv4, or off (accept any credentials; loopback only) [CAIRN_AUTH] (default sigv4)")
	iamFile := fs.String("iam", "", "IAM file (YAML or JSON) with accounts, users, keys, roles, policies; re-read on SIGHUP [CAIRN_IAM] (default: a root key generated in DATA/credentials)")
	compression := fs.String("compression", "", "zstd level of stored blocks: fastest, or default (≈3% less disk for ≈25% less ingest throughput) [CAIRN_COMPRESSION] (default fastest)")
	liveTailMax := fs.Duration("live-tail-max-session", 0, "end Live Tail sessions after this long (AWS: 3h) [CAIRN_LIVE_TAIL_MAX_SESSION] (default: never)")
	liveTailSessions := fs.Int("live-tail-max-sessions", 0, "concurrent Live Tail sessions per account (AWS's quota: 15) [CAIRN_LIVE_TAIL_MAX_SESSIONS] (default 15)")
	pprofOn := fs.Bool("pprof", false, "serve Go's profiler under /debug/pprof/ [CAIRN_PPROF=1]")
	logLevel := fs.String("log-level", "", "debug, info, warn or error [CAIRN_LOG_LEVEL] (default info)")
	if err := fs.Parse(args); err != nil {
		return server.Config{}, "", err
	}
	if fs.NArg() > 0 {
		return server.Config{}, "", fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var file serverFile
	if p := firstNonEmpty(*configPath, env.Getenv("CAIRN_CONFIG")); p != "" {
		raw, err := os.ReadFile(p)
		if err != nil {
			return server.Config{}, "", fmt.Errorf("read config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(&file); err != nil && !errors.Is(err, io.EOF) {
			return server.Config{}, "", fmt.Errorf("config file %s: %w", p, err)
		}
	}
	cfg := server.Config{
		Listen:    firstNonEmpty(*listen, env.Getenv("CAIRN_LISTEN"), file.Listen, DefaultListen),
		DataDir:   firstNonEmpty(*data, env.Getenv("CAIRN_DATA"), file.Data, "cairn-data"),
		AccountID: firstNonEmpty(*account, env.Getenv("CAIRN_ACCOUNT_ID"), file.AccountID, "000000000000"),
		Auth:      firstNonEmpty(*auth, env.Getenv("CAIRN_AUTH"), file.Auth, "sigv4"),
		IAMFile:   firstNonEmpty(*iamFile, env.Getenv("CAIRN_IAM"), file.IAM),
	}
	cfg.Pprof = *pprofOn || env.Getenv("CAIRN_PPROF") == "1"
	cfg.LiveTailMaxSession = *liveTailMax
	cfg.Compression = firstNonEmpty(*compression, env.Getenv("CAIRN_COMPRESSION"), file.Compression, "fastest")
	if cfg.Compression != "default" && cfg.Compression != "fastest" {
		return server.Config{}, "", fmt.Errorf("--compression must be fastest or default, not %q", cfg.Compression)
	}
	if v := env.Getenv("CAIRN_LIVE_TAIL_MAX_SESSION"); v != "" && *liveTailMax == 0 {
		d, err := time.ParseDuration(v)
		if err != nil {
			return server.Config{}, "", fmt.Errorf("CAIRN_LIVE_TAIL_MAX_SESSION: %w", err)
		}
		cfg.LiveTailMaxSession = d
	}
	cfg.LiveTailMaxSessions = *liveTailSessions
	if v := env.Getenv("CAIRN_LIVE_TAIL_MAX_SESSIONS"); v != "" && *liveTailSessions == 0 {
		n, err := strconv.Atoi(v)
		if err != nil {
			return server.Config{}, "", fmt.Errorf("CAIRN_LIVE_TAIL_MAX_SESSIONS: %w", err)
		}
		cfg.LiveTailMaxSessions = n
	}
	if cfg.LiveTailMaxSessions < 0 {
		return server.Config{}, "", fmt.Errorf("--live-tail-max-sessions must be at least 1, not %d", cfg.LiveTailMaxSessions)
	}
	if cfg.Auth != "sigv4" && cfg.Auth != "off" {
		return server.Config{}, "", fmt.Errorf("--auth must be sigv4 or off, not %q", cfg.Auth)
	}
	if !isAccountID(cfg.AccountID) {
		return server.Config{}, "", fmt.Errorf("account ID %q is not 12 digits", cfg.AccountID)
	}
	return cfg, firstNonEmpty(*logLevel, env.Getenv("CAIRN_LOG_LEVEL"), file.LogLevel, "info"), nil
}

func runServer(env Env, args []string) int {
	cfg, level, err := serverSettings(env, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(env.Stderr, "cairn server:", err)
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		fmt.Fprintln(env.Stderr, "cairn server: log level:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: lvl}))
	cfg.Logger = log

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	srv, err := server.Start(cfg)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	log.Info("cairn listening", "endpoint", srv.URL(), "data", cfg.DataDir, "account", cfg.AccountID,
		"auth", cfg.Auth, "startup", time.Since(start).Round(time.Millisecond))
	if path, created := srv.CredentialsFile(); path != "" {
		verb := "using"
		if created {
			verb = "created"
		}
		log.Info("root credentials "+verb+"; connect with: AWS_SHARED_CREDENTIALS_FILE="+path+" aws --endpoint-url "+srv.URL()+" logs describe-log-groups",
			"credentials", path)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	status := 0
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case err := <-srv.Failed():
			log.Error("storage failed; stopping so that a restart recovers from the write-ahead log", "err", err)
			status = 1
			break wait
		case <-hup:
			if err := srv.ReloadIdentities(); err != nil {
				log.Error("IAM file not reloaded; the identities in force stay", "err", err)
			} else {
				log.Info("IAM file reloaded", "file", cfg.IAMFile)
			}
		}
	}
	stop()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Close(sctx); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	log.Info("stopped")
	return status
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
