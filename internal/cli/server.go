package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cairnlog/cairn/internal/logs/export"

	"github.com/cairnlog/cairn/internal/delivery"
	"github.com/cairnlog/cairn/internal/quota"
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
	Store       string `yaml:"store"`
	LogLevel    string `yaml:"log_level"`
	Quotas      string `yaml:"quotas"`
	QuotaScale  string `yaml:"quota_scale"`

	TLSCert       string `yaml:"tls_cert"`
	TLSKey        string `yaml:"tls_key"`
	TLSSelfSigned bool   `yaml:"tls_self_signed"`
	InsecureHTTP  bool   `yaml:"insecure_http"`
	PprofListen   string `yaml:"pprof_listen"`

	// MetricsTokenFile holds the bearer token GET /metrics requires.
	MetricsTokenFile string `yaml:"metrics_token_file"`

	// Export is where export tasks write (docs/export.md).
	Export struct {
		S3 *struct {
			Endpoint        string `yaml:"endpoint"`
			Region          string `yaml:"region"`
			AccessKeyID     string `yaml:"access_key_id"`
			SecretAccessKey string `yaml:"secret_access_key"`
			PathStyle       bool   `yaml:"path_style"`
		} `yaml:"s3"`
		Directory string `yaml:"directory"`
	} `yaml:"export"`
	// Destinations maps a subscription destination ARN to its sink
	// (docs/subscriptions.md); only this file can name where data goes.
	Destinations     map[string]delivery.SinkConfig `yaml:"destinations"`
	SyslogListen     string                         `yaml:"syslog_listen"`
	SyslogRemote     bool                           `yaml:"syslog_remote"`
	SyslogEndpointID string                         `yaml:"syslog_endpoint_id"`
	SyslogRegion     string                         `yaml:"syslog_region"`
	LogFormat        string                         `yaml:"log_format"`
	AuditLogGroup    string                         `yaml:"audit_log_group"`
	AuditDataEvents  bool                           `yaml:"audit_data_events"`

	// Blocks moves old blocks to an S3-compatible store (with a postgres://
	// store; docs/scaling.md).
	Blocks struct {
		URL             string `yaml:"url"`
		Endpoint        string `yaml:"endpoint"`
		Region          string `yaml:"region"`
		AccessKeyID     string `yaml:"access_key_id"`
		SecretAccessKey string `yaml:"secret_access_key"`
		After           string `yaml:"after"`
	} `yaml:"blocks"`
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
	storeURL := fs.String("store", "", "storage engine: embedded (in --data), or a postgres://user:password@host:port/db URL (PostgreSQL 15+; the schema is created on start) [CAIRN_STORE] (default embedded)")
	compression := fs.String("compression", "", "codec of blocks as appended: zstd at fastest or default, or s2 (faster ingest, about 45% more disk until re-compaction rewrites them) [CAIRN_COMPRESSION] (default fastest)")
	recompact := fs.Duration("recompact-interval", 0, "how often the embedded engine's background re-compaction merges each stream's small blocks that are older than --recompact-age into field-aware ones of up to 4,096 events with a seek index (about a third less disk; reads of merged data take more CPU, see docs/benchmarks.md, merge10 and disk10); negative: off [CAIRN_RECOMPACT_INTERVAL] (default 10s)")
	recompactAge := fs.Duration("recompact-age", 0, "how long after they arrived blocks stay as appended (cheaper to read) before re-compaction may merge them; negative: no wait [CAIRN_RECOMPACT_AGE] (default 1h)")
	liveTailMax := fs.Duration("live-tail-max-session", 0, "end Live Tail sessions after this long (AWS: 3h) [CAIRN_LIVE_TAIL_MAX_SESSION] (default: never)")
	insightsQueries := fs.Int("insights-max-queries", 0, "concurrent Logs Insights queries per account (AWS's quota: 100) [CAIRN_INSIGHTS_MAX_QUERIES] (default 100)")
	liveTailSessions := fs.Int("live-tail-max-sessions", 0, "concurrent Live Tail sessions per account (AWS's quota: 15) [CAIRN_LIVE_TAIL_MAX_SESSIONS] (default 15)")
	memLimit := fs.Int("memory-limit-mib", 0, "Go's soft memory limit for the server, MiB: from there the collector runs as often as it must rather than let the heap grow (GOMEMLIMIT, if set, wins) [CAIRN_MEMORY_LIMIT_MIB] (default 224)")
	cacheMiB := fs.Int("cache-mib", 0, "the embedded engine's block cache, MiB: decompressed blocks of Pebble's files kept in memory (the operating system's page cache holds the files besides) [CAIRN_CACHE_MIB] (default 16)")
	noReadAhead := fs.Bool("no-read-ahead", false, "do not prepare FilterLogEvents' next page while the client reads the current one [CAIRN_NO_READ_AHEAD=1]")
	pprofOn := fs.Bool("pprof", false, "serve Go's profiler under /debug/pprof/ on --pprof-listen [CAIRN_PPROF=1]")
	pprofListen := fs.String("pprof-listen", "", "loopback address of the profiler [CAIRN_PPROF_LISTEN] (default "+server.DefaultPprofListen+")")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this PEM certificate (chain); re-read on SIGHUP [CAIRN_TLS_CERT]")
	tlsKey := fs.String("tls-key", "", "PEM private key of --tls-cert; re-read on SIGHUP [CAIRN_TLS_KEY]")
	tlsSelfSigned := fs.Bool("tls-self-signed", false, "serve HTTPS with a self-signed pair generated in the data directory on first start [CAIRN_TLS_SELF_SIGNED=1]")
	insecureHTTP := fs.Bool("insecure-http", false, "allow plain HTTP on a non-loopback address (TLS provided in front of Cairn) [CAIRN_INSECURE_HTTP=1]")
	quotas := fs.String("quotas", "", "per-account request quotas: off, or aws (AWS's TPS quotas per operation; see docs/quotas.md) [CAIRN_QUOTAS] (default off)")
	quotaScale := fs.String("quota-scale", "", "multiply AWS's quotas by this factor, e.g. 2 or 0.5 (with --quotas aws) [CAIRN_QUOTA_SCALE] (default 1)")
	metricsToken := fs.String("metrics-token-file", "", "file holding a bearer token that GET /metrics requires from every peer (default: loopback peers only, no token) [CAIRN_METRICS_TOKEN_FILE]")
	syslogListen := fs.String("syslog-listen", "", "listen for syslog (TCP and UDP) on host:port, e.g. 127.0.0.1:5514 [CAIRN_SYSLOG_LISTEN] (default: no listener)")
	syslogRemote := fs.Bool("syslog-remote", false, "allow a non-loopback --syslog-listen (syslog is unauthenticated) [CAIRN_SYSLOG_REMOTE=1]")
	syslogEndpoint := fs.String("syslog-endpoint-id", "", "VPC endpoint ID of the syslog listener [CAIRN_SYSLOG_ENDPOINT_ID] (default vpce-0000000000000000c)")
	syslogRegion := fs.String("syslog-region", "", "region the syslog listener belongs to [CAIRN_SYSLOG_REGION] (default us-east-1)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error [CAIRN_LOG_LEVEL] (default info)")
	logFormat := fs.String("log-format", "", "server log lines: text (key=value) or json (one object a line) [CAIRN_LOG_FORMAT] (default text)")
	auditGroup := fs.String("audit-log-group", "", "write a CloudTrail-format record of every API call into this log group [CAIRN_AUDIT_LOG_GROUP] (default: no audit trail)")
	auditData := fs.Bool("audit-data-events", false, "audit PutLogEvents and the reads of log data too (CloudTrail's data events) [CAIRN_AUDIT_DATA_EVENTS=1]")
	blocksURL := fs.String("blocks", "", "move blocks older than --blocks-after to object storage at s3://bucket/prefix (with a postgres:// --store); keys from CAIRN_BLOCKS_ACCESS_KEY_ID and CAIRN_BLOCKS_SECRET_ACCESS_KEY or the config file [CAIRN_BLOCKS] (default: blocks stay in PostgreSQL)")
	blocksEndpoint := fs.String("blocks-endpoint", "", "S3 API endpoint of --blocks, e.g. http://127.0.0.1:9000 (buckets addressed by path) [CAIRN_BLOCKS_ENDPOINT] (default: AWS)")
	blocksRegion := fs.String("blocks-region", "", "region of the --blocks bucket [CAIRN_BLOCKS_REGION] (default us-east-1)")
	blocksAfter := fs.Duration("blocks-after", 0, "age (by ingestion time) at which a block moves to --blocks [CAIRN_BLOCKS_AFTER] (default 1h)")
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
		if err := decodeYAMLFile(p, raw, &file); err != nil {
			return server.Config{}, "", err
		}
		if err := checkConfigSecrets(p, &file); err != nil {
			return server.Config{}, "", err
		}
	}
	cfg := server.Config{
		Listen:    firstNonEmpty(*listen, env.Getenv("CAIRN_LISTEN"), file.Listen, DefaultListen),
		DataDir:   firstNonEmpty(*data, env.Getenv("CAIRN_DATA"), file.Data, "cairn-data"),
		AccountID: firstNonEmpty(*account, env.Getenv("CAIRN_ACCOUNT_ID"), file.AccountID, "000000000000"),
		Auth:      firstNonEmpty(*auth, env.Getenv("CAIRN_AUTH"), file.Auth, "sigv4"),
		IAMFile:   firstNonEmpty(*iamFile, env.Getenv("CAIRN_IAM"), file.IAM),
		Sinks:     file.Destinations,
		Store:     firstNonEmpty(*storeURL, env.Getenv("CAIRN_STORE"), file.Store, "embedded"),
	}
	if p := firstNonEmpty(*metricsToken, env.Getenv("CAIRN_METRICS_TOKEN_FILE"), file.MetricsTokenFile); p != "" {
		raw, err := os.ReadFile(p)
		if err != nil {
			return server.Config{}, "", fmt.Errorf("metrics token file: %w", err)
		}
		if cfg.MetricsToken = strings.TrimSpace(string(raw)); cfg.MetricsToken == "" {
			return server.Config{}, "", fmt.Errorf("metrics token file %s is empty", p)
		}
	}
	if e := file.Export.S3; e != nil {
		cfg.Export.S3 = &export.S3Config{Endpoint: e.Endpoint, Region: e.Region, AccessKeyID: e.AccessKeyID,
			SecretAccessKey: e.SecretAccessKey, PathStyle: e.PathStyle}
	}
	cfg.Export.Dir = file.Export.Directory
	if err := blocksSettings(&cfg, env, file, *blocksURL, *blocksEndpoint, *blocksRegion, *blocksAfter); err != nil {
		return server.Config{}, "", err
	}
	cfg.Pprof = *pprofOn || env.Getenv("CAIRN_PPROF") == "1"
	cfg.NoReadAhead = *noReadAhead || env.Getenv("CAIRN_NO_READ_AHEAD") == "1"
	cfg.PprofListen = firstNonEmpty(*pprofListen, env.Getenv("CAIRN_PPROF_LISTEN"), file.PprofListen)
	cfg.TLSCertFile = firstNonEmpty(*tlsCert, env.Getenv("CAIRN_TLS_CERT"), file.TLSCert)
	cfg.TLSKeyFile = firstNonEmpty(*tlsKey, env.Getenv("CAIRN_TLS_KEY"), file.TLSKey)
	var err error
	if cfg.TLSSelfSigned, err = boolSetting(fs, "tls-self-signed", *tlsSelfSigned, env, "CAIRN_TLS_SELF_SIGNED", file.TLSSelfSigned); err != nil {
		return server.Config{}, "", err
	}
	if cfg.InsecureHTTP, err = boolSetting(fs, "insecure-http", *insecureHTTP, env, "CAIRN_INSECURE_HTTP", file.InsecureHTTP); err != nil {
		return server.Config{}, "", err
	}
	cfg.SyslogListen = firstNonEmpty(*syslogListen, env.Getenv("CAIRN_SYSLOG_LISTEN"), file.SyslogListen)
	cfg.SyslogEndpointID = firstNonEmpty(*syslogEndpoint, env.Getenv("CAIRN_SYSLOG_ENDPOINT_ID"), file.SyslogEndpointID)
	cfg.SyslogRegion = firstNonEmpty(*syslogRegion, env.Getenv("CAIRN_SYSLOG_REGION"), file.SyslogRegion)
	if cfg.SyslogRemote, err = boolSetting(fs, "syslog-remote", *syslogRemote, env, "CAIRN_SYSLOG_REMOTE", file.SyslogRemote); err != nil {
		return server.Config{}, "", err
	}
	if id := cfg.SyslogEndpointID; id != "" && !validEndpointID(id) {
		return server.Config{}, "", fmt.Errorf("--syslog-endpoint-id must match ^vpce-[0-9a-f]{1,64}$, not %q", id)
	}
	if cfg.TLSSelfSigned && (cfg.TLSCertFile != "" || cfg.TLSKeyFile != "") {
		return server.Config{}, "", errors.New("--tls-self-signed and --tls-cert/--tls-key are exclusive")
	}
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return server.Config{}, "", errors.New("--tls-cert and --tls-key go together")
	}
	cfg.LiveTailMaxSession = *liveTailMax
	cfg.RecompactInterval = *recompact
	if v := env.Getenv("CAIRN_RECOMPACT_INTERVAL"); v != "" && *recompact == 0 {
		d, err := time.ParseDuration(v)
		if err != nil {
			return server.Config{}, "", fmt.Errorf("CAIRN_RECOMPACT_INTERVAL: %w", err)
		}
		cfg.RecompactInterval = d
	}
	// On by default since the age policy (embedded.DefaultRecompactAge):
	// merged blocks take about a third less disk but cost more CPU to read
	// (a full scan ~1.5x, a time range ~1.7x, Insights ~2x; docs/
	// benchmarks.md, merge10), so only data older than --recompact-age is
	// merged and the recent data that live tails, CI builds and the
	// console's last hour read stays in Append's cheaper format. 0 leaves
	// the engine's defaults (every 10 s, an hour's age).
	cfg.RecompactAge = *recompactAge
	if v := env.Getenv("CAIRN_RECOMPACT_AGE"); v != "" && *recompactAge == 0 {
		d, err := time.ParseDuration(v)
		if err != nil {
			return server.Config{}, "", fmt.Errorf("CAIRN_RECOMPACT_AGE: %w", err)
		}
		cfg.RecompactAge = d
	}
	cfg.Compression = firstNonEmpty(*compression, env.Getenv("CAIRN_COMPRESSION"), file.Compression, "fastest")
	if cfg.Compression != "default" && cfg.Compression != "fastest" && cfg.Compression != "s2" {
		return server.Config{}, "", fmt.Errorf("--compression must be s2, fastest or default, not %q", cfg.Compression)
	}
	if v := env.Getenv("CAIRN_LIVE_TAIL_MAX_SESSION"); v != "" && *liveTailMax == 0 {
		d, err := time.ParseDuration(v)
		if err != nil {
			return server.Config{}, "", fmt.Errorf("CAIRN_LIVE_TAIL_MAX_SESSION: %w", err)
		}
		cfg.LiveTailMaxSession = d
	}
	if cfg.LiveTailMaxSessions, err = countSetting(*liveTailSessions, env, "CAIRN_LIVE_TAIL_MAX_SESSIONS", "live-tail-max-sessions"); err != nil {
		return server.Config{}, "", err
	}
	if cfg.InsightsConcurrentQueries, err = countSetting(*insightsQueries, env, "CAIRN_INSIGHTS_MAX_QUERIES", "insights-max-queries"); err != nil {
		return server.Config{}, "", err
	}
	if cfg.MemoryLimitMiB, err = countSetting(*memLimit, env, "CAIRN_MEMORY_LIMIT_MIB", "memory-limit-mib"); err != nil {
		return server.Config{}, "", err
	}
	if cfg.CacheMiB, err = countSetting(*cacheMiB, env, "CAIRN_CACHE_MIB", "cache-mib"); err != nil {
		return server.Config{}, "", err
	}
	if cfg.Auth != "sigv4" && cfg.Auth != "off" {
		return server.Config{}, "", fmt.Errorf("--auth must be sigv4 or off, not %q", cfg.Auth)
	}
	if err := quotaSettings(&cfg, firstNonEmpty(*quotas, env.Getenv("CAIRN_QUOTAS"), file.Quotas, "off"),
		firstNonEmpty(*quotaScale, env.Getenv("CAIRN_QUOTA_SCALE"), file.QuotaScale)); err != nil {
		return server.Config{}, "", err
	}
	cfg.AuditLogGroup = firstNonEmpty(*auditGroup, env.Getenv("CAIRN_AUDIT_LOG_GROUP"), file.AuditLogGroup)
	if cfg.AuditDataEvents, err = boolSetting(fs, "audit-data-events", *auditData, env, "CAIRN_AUDIT_DATA_EVENTS", file.AuditDataEvents); err != nil {
		return server.Config{}, "", err
	}
	if cfg.AuditDataEvents && cfg.AuditLogGroup == "" {
		return server.Config{}, "", errors.New("--audit-data-events needs --audit-log-group")
	}
	cfg.LogFormat = firstNonEmpty(*logFormat, env.Getenv("CAIRN_LOG_FORMAT"), file.LogFormat, "text")
	if cfg.LogFormat != "text" && cfg.LogFormat != "json" {
		return server.Config{}, "", fmt.Errorf("--log-format must be text or json, not %q", cfg.LogFormat)
	}
	if !isAccountID(cfg.AccountID) {
		return server.Config{}, "", fmt.Errorf("account ID %q is not 12 digits", cfg.AccountID)
	}
	return cfg, firstNonEmpty(*logLevel, env.Getenv("CAIRN_LOG_LEVEL"), file.LogLevel, "info"), nil
}

// blocksSettings fills cfg.Blocks from --blocks and its companions. The
// keys come from the environment or the config file only: a flag's value
// is visible to every user of the machine (ps).
func blocksSettings(cfg *server.Config, env Env, file serverFile, url, endpoint, region string, after time.Duration) error {
	f := file.Blocks
	url = firstNonEmpty(url, env.Getenv("CAIRN_BLOCKS"), f.URL)
	if url == "" {
		return nil
	}
	if err := server.CheckBlocksURL(url); err != nil {
		return err
	}
	b := &server.BlocksConfig{URL: url,
		Endpoint:        firstNonEmpty(endpoint, env.Getenv("CAIRN_BLOCKS_ENDPOINT"), f.Endpoint),
		Region:          firstNonEmpty(region, env.Getenv("CAIRN_BLOCKS_REGION"), f.Region),
		AccessKeyID:     firstNonEmpty(env.Getenv("CAIRN_BLOCKS_ACCESS_KEY_ID"), f.AccessKeyID),
		SecretAccessKey: firstNonEmpty(env.Getenv("CAIRN_BLOCKS_SECRET_ACCESS_KEY"), f.SecretAccessKey),
		After:           after,
	}
	// S3-compatible stores (MinIO, Ceph, moto) address buckets by path;
	// AWS's own endpoint takes virtual-hosted names.
	b.PathStyle = b.Endpoint != ""
	if b.After == 0 {
		if v := firstNonEmpty(env.Getenv("CAIRN_BLOCKS_AFTER"), f.After); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("blocks after: %w", err)
			}
			b.After = d
		}
	}
	if b.After < 0 {
		return fmt.Errorf("--blocks-after must be positive, not %s", b.After)
	}
	if b.AccessKeyID == "" || b.SecretAccessKey == "" {
		return errors.New("--blocks needs CAIRN_BLOCKS_ACCESS_KEY_ID and CAIRN_BLOCKS_SECRET_ACCESS_KEY (or blocks.access_key_id and blocks.secret_access_key in the config file)")
	}
	if !strings.HasPrefix(cfg.Store, "postgres://") && !strings.HasPrefix(cfg.Store, "postgresql://") {
		return errors.New("--blocks needs a postgres:// --store (the embedded engine keeps its blocks on local disk)")
	}
	cfg.Blocks = b
	return nil
}

// checkConfigSecrets refuses a config file that holds a secret key
// (blocks.secret_access_key, export.s3.secret_access_key, a destination's
// secret_access_key) while group or
// other users may access it, as the IAM file, the credentials file, the
// STS key and the TLS key are refused: the key would be readable by every
// user of the machine. A file without secrets may stay world-readable.
func checkConfigSecrets(path string, f *serverFile) error {
	var holds []string
	if f.Blocks.SecretAccessKey != "" {
		holds = append(holds, "blocks.secret_access_key")
	}
	if f.Export.S3 != nil && f.Export.S3.SecretAccessKey != "" {
		holds = append(holds, "export.s3.secret_access_key")
	}
	arns := make([]string, 0, len(f.Destinations))
	for arn := range f.Destinations {
		arns = append(arns, arn)
	}
	slices.Sort(arns)
	for _, arn := range arns {
		d := f.Destinations[arn]
		for _, k := range []struct {
			name string
			c    *delivery.AWSConfig
		}{{"kinesis", d.Kinesis}, {"firehose", d.Firehose}, {"lambda", d.Lambda}} {
			if k.c != nil && k.c.SecretAccessKey != "" {
				holds = append(holds, fmt.Sprintf("destinations[%q].%s.secret_access_key", arn, k.name))
			}
		}
	}
	// A password in a URL (the PostgreSQL store's, as README documents
	// it, or a destination's) and a credential header of an HTTP or bulk
	// destination are secrets as much as an S3 key.
	if urlHasPassword(f.Store) {
		holds = append(holds, "store (a password in its URL)")
	}
	for _, arn := range arns {
		d := f.Destinations[arn]
		name := func(s string) string { return fmt.Sprintf("destinations[%q].%s", arn, s) }
		urls := []struct{ name, url string }{}
		if d.HTTP != nil {
			urls = append(urls, struct{ name, url string }{"http.url", d.HTTP.URL})
			holds = append(holds, secretHeaders(name("http.headers"), d.HTTP.Headers)...)
		}
		if d.Bulk != nil {
			urls = append(urls, struct{ name, url string }{"bulk.url", d.Bulk.URL})
			holds = append(holds, secretHeaders(name("bulk.headers"), d.Bulk.Headers)...)
		}
		if d.NATS != nil {
			urls = append(urls, struct{ name, url string }{"nats.url", d.NATS.URL})
		}
		for _, u := range urls {
			if urlHasPassword(u.url) {
				holds = append(holds, name(u.name)+" (a password in its URL)")
			}
		}
	}
	if len(holds) == 0 {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("config file %s holds %s and is accessible by other users (mode %04o); run chmod 600 on it",
			path, strings.Join(holds, " and "), fi.Mode().Perm())
	}
	return nil
}

// urlHasPassword reports whether s is a URL with a password in its user
// information (nats:// URLs may list several servers: each is looked at).
func urlHasPassword(s string) bool {
	for _, one := range strings.Split(s, ",") {
		if u, err := url.Parse(strings.TrimSpace(one)); err == nil && u.User != nil {
			if _, ok := u.User.Password(); ok {
				return true
			}
		}
	}
	return false
}

// secretHeaders names the headers that carry a credential: Authorization
// and Proxy-Authorization, and any whose name says key, token, secret or
// auth (X-Api-Key, X-Auth-Token...).
func secretHeaders(prefix string, h map[string]string) []string {
	var out []string
	for k, v := range h {
		lk := strings.ToLower(k)
		if v != "" && (strings.Contains(lk, "auth") || strings.Contains(lk, "key") || strings.Contains(lk, "token") || strings.Contains(lk, "secret")) {
			out = append(out, prefix+"."+k)
		}
	}
	slices.Sort(out)
	return out
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
	log := slog.New(logHandler(cfg.LogFormat, env.Stderr, lvl))
	cfg.Logger = log
	tuneGC(env, cfg.MemoryLimitMiB)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	srv, err := server.Start(cfg)
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	// The store's kind only: a URL may carry a password.
	ready := []any{"endpoint", srv.URL(), "data", cfg.DataDir, "store", strings.SplitN(cfg.Store, ":", 2)[0], "account", cfg.AccountID,
		"auth", cfg.Auth, "startup", time.Since(start).Round(time.Millisecond)}
	if a := srv.PprofAddr(); a != "" {
		ready = append(ready, "pprof", "http://"+a+"/debug/pprof/")
	}
	log.Info("cairn listening", ready...)
	caHint := logTLS(log, srv.TLS())
	if path, created := srv.CredentialsFile(); path != "" {
		// The hint must work when pasted into another shell, in another
		// directory: an absolute path, and a region (the AWS CLI refuses to
		// run without one; v1 reads only AWS_DEFAULT_REGION, v2 both).
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		msg := "generated root credentials are in " + path
		if created {
			msg = "generated root credentials written to " + path
		}
		log.Info(msg+"; try: "+caHint+"AWS_SHARED_CREDENTIALS_FILE="+shellQuote(path)+" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 aws --endpoint-url "+srv.URL()+" logs describe-log-groups",
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
			if t := srv.TLS(); t.Enabled {
				if err := srv.ReloadTLS(); err != nil {
					log.Error("TLS certificate not reloaded; the one in force stays", "err", err, "sha256", t.Fingerprint)
				} else {
					log.Info("TLS certificate reloaded; new connections use it", "cert", t.CertFile, "sha256", srv.TLS().Fingerprint)
				}
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

// quotaSettings turns --quotas and --quota-scale into the server's quota
// configuration.
func quotaSettings(cfg *server.Config, mode, scale string) error {
	switch mode {
	case "off":
		if scale != "" {
			return fmt.Errorf("--quota-scale needs --quotas aws")
		}
		return nil
	case "aws":
	default:
		return fmt.Errorf("--quotas must be off or aws, not %q", mode)
	}
	q := &quota.Config{Scale: 1}
	if scale != "" {
		f, err := strconv.ParseFloat(scale, 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			return fmt.Errorf("--quota-scale must be a positive number, not %q", scale)
		}
		q.Scale = f
	}
	cfg.Quotas = q
	return nil
}

// logTLS logs how the server serves HTTPS and, for a self-signed pair, how
// to trust it; it returns the environment prefix the AWS CLI needs ("" when
// the certificate is presumably trusted already, or there is no TLS).
func logTLS(log *slog.Logger, t server.TLSInfo) string {
	switch {
	case !t.Enabled:
		return ""
	case !t.SelfSigned:
		log.Info("serving HTTPS", "cert", t.CertFile, "sha256", t.Fingerprint)
		return ""
	}
	verb := "using"
	if t.Created {
		verb = "created"
	}
	log.Info("serving HTTPS with a self-signed certificate ("+verb+"); trust it with AWS_CA_BUNDLE="+t.CertFile+
		" for the AWS CLI and SDKs, or --ca-file "+t.CertFile+" for cairn logs, run and agent; check its fingerprint when you copy it",
		"cert", t.CertFile, "sha256", t.Fingerprint)
	return "AWS_CA_BUNDLE=" + t.CertFile + " "
}

// boolSetting resolves a boolean setting: the flag when given, else the
// environment variable when set, else the config file.
func boolSetting(fs *flag.FlagSet, name string, flagVal bool, env Env, envName string, fileVal bool) (bool, error) {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	if given {
		return flagVal, nil
	}
	if v := env.Getenv(envName); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("%s: %q is not a boolean (1, true, 0, false)", envName, v)
		}
		return b, nil
	}
	return fileVal, nil
}

// countSetting is a setting of at least 1 given by --flagName (flagVal; 0:
// not given) or else by the environment's envName; 0 when neither gives it
// (the server's default applies).
func countSetting(flagVal int, env Env, envName, flagName string) (int, error) {
	n := flagVal
	if v := env.Getenv(envName); v != "" && flagVal == 0 {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			return 0, fmt.Errorf("%s: %w", envName, err)
		}
	}
	if n < 0 {
		return 0, fmt.Errorf("--%s must be at least 1, not %d", flagName, n)
	}
	return n, nil
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

// validEndpointID checks the model's VpcEndpointId pattern, ^vpce-[0-9a-f]{1,64}$.
func validEndpointID(id string) bool {
	hex := strings.TrimPrefix(id, "vpce-")
	if hex == id || len(hex) == 0 || len(hex) > 64 {
		return false
	}
	return strings.Trim(hex, "0123456789abcdef") == ""
}

// logHandler is the server's log output: text (key=value, the default) or
// JSON (one object a line, for log shippers); the same records either way,
// including the debug request line.
func logHandler(format string, w io.Writer, lvl slog.Level) slog.Handler {
	opts := &slog.HandlerOptions{Level: lvl}
	if format == "json" {
		return slog.NewJSONHandler(w, opts)
	}
	return slog.NewTextHandler(w, opts)
}

// GC settings of the server unless GOGC or GOMEMLIMIT say otherwise (Go's
// runtime reads those itself).
//
// Under ingest the live heap is small (~60 MiB: memtables, caches) and every
// request allocates its body's events and messages, so the collector ran
// often for little: GOGC=200 halves how often, for about 30 MiB more peak RSS
// (bench, 3 M events: 149 -> 180 MiB, CPU per event several per cent lower;
// docs/benchmarks.md, ingest10). The soft limit keeps the larger factor from
// costing memory where the live heap is large (ten Insights queries at once):
// from 320 MiB of Go memory on, the collector runs as often as it must to
// stay there rather than let the heap grow to three times what is live.
// Measured idle with `cairn bench --spawn --events 10000000 --insights`
// (docs/benchmarks.md, final figures of session 5): ten queries at once
// peaked at 545 MiB of RSS with a 448 MiB limit (the Insights issue asks
// < 512), 477 MiB at GOGC=100 without one, 417 MiB with 320 MiB; ingest's
// heap stays far below the limit, so its GOGC=200 saving is unchanged.
// Session 8 (rss10) measured lower limits (--memory-limit-mib): at 2 M
// events the --insights peak fell 330 -> 277 MiB at 160 MiB (below
// VictoriaLogs' ~310) with CPU per event and per query unchanged, but at
// 10 M events ten queries at once took 1.5x as long (13.7 -> 20-22 s; not
// profiled, presumably the live heap near the limit, collecting often); 192
// MiB: 308 MiB and 1.1x; 224 MiB changed nothing at 2 M. So the default
// stayed; a server short of memory can trade concurrent queries' time for it.
// Session 12 (docs/benchmarks.md) found the peak of `cairn bench --query
// --insights` at 2 M events (402-406 MiB, VictoriaLogs ~325-347) to be
// slack, not live data: a heap profile taken with a forced collection in
// the middle of ten queries at once held 91 MiB; the rest was the heap
// growing to three times that under GOGC=200, what Pebble allocates with
// cgo (its cache and memtables, ~48 MiB) and the binary's pages (~37 MiB).
// At 224 MiB the peak fell to 317-319 MiB, ten queries at once took 4.0 and
// 4.5 s against 4.0 and 3.2 s (about 10% more in all), single queries and
// ingest did not change beyond noise. 224 is the default since.
const (
	serverGCPercent      = 200
	serverMemoryLimitMiB = 224
)

func tuneGC(env Env, limitMiB int) {
	if limitMiB == 0 {
		limitMiB = serverMemoryLimitMiB
	}
	if env.Getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
	}
	if env.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(int64(limitMiB) << 20)
	}
}
