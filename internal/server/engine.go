package server

import (
	"fmt"
	"strings"

	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/accountpolicy"
	"github.com/cairnlog/cairn/internal/logs/transformer"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
	"github.com/cairnlog/cairn/internal/store/postgres"
)

// Engine is what the server needs of a storage engine: the store contract,
// and its size for /metrics and the benchmark.
type Engine interface {
	store.Store
	DiskUsage() uint64
}

// BlocksConfig moves the PostgreSQL engine's old blocks to an S3-compatible
// store (postgres.BlocksConfig; package cli fills it, and reaches the
// engine only through this package).
type BlocksConfig = postgres.BlocksConfig

// CheckBlocksURL reports whether s is an s3://bucket/prefix URL --blocks
// accepts.
func CheckBlocksURL(s string) error {
	_, _, err := postgres.ParseBlocksURL(s)
	return err
}

// DefaultRecompactAge is the embedded engine's Config.RecompactAge default.
const DefaultRecompactAge = embedded.DefaultRecompactAge

// openEngine is the one place that picks the engine: Config.Store empty or
// "embedded" opens the embedded engine in DataDir, a postgres:// (or
// postgresql://) URL the PostgreSQL engine on that database.
func openEngine(cfg Config, onFatal func(error)) (Engine, error) {
	switch s := cfg.Store; {
	case s == "" || s == "embedded":
		if cfg.Blocks != nil {
			return nil, fmt.Errorf("--blocks needs a postgres:// --store")
		}
		return embedded.Open(embedded.Config{Dir: cfg.DataDir, Now: cfg.Now, Logger: cfg.Logger, Compression: cfg.Compression, OnFatal: onFatal,
			RecompactInterval: cfg.RecompactInterval, RecompactAge: cfg.RecompactAge,
			CacheSize: int64(cfg.CacheMiB) << 20})
	case isShared(s):
		return postgres.Open(postgres.Config{URL: s, Now: cfg.Now, Logger: cfg.Logger, Blocks: cfg.Blocks, CachedKinds: CachedKinds()})
	default:
		return nil, fmt.Errorf("--store must be embedded or a postgres:// URL, not %q", redactURL(cfg.Store))
	}
}

// CachedKinds are the resource kinds every PutLogEvents reads, which the
// PostgreSQL engine caches (Config.CachedKinds): the group's data
// protection policy and transformer, the account's policy generations.
// Whatever writes a database nodes serve passes the same list (cairn
// migrate too), so that each write of these kinds moves its generation.
func CachedKinds() []string {
	return []string{logs.DataProtectionPolicyKind, transformer.Kind, accountpolicy.GenerationKind}
}

// isShared: the store is one several nodes share (PostgreSQL).
func isShared(store string) bool {
	return strings.HasPrefix(store, "postgres://") || strings.HasPrefix(store, "postgresql://")
}

// redactURL keeps a password in a mistyped store URL out of the error (and
// so out of logs).
func redactURL(s string) string {
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		if i := strings.Index(s, "://"); i >= 0 && i < at {
			return s[:i+3] + "…@" + s[at+1:]
		}
		return "…@" + s[at+1:]
	}
	return s
}
