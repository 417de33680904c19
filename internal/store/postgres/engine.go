package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairnlog/cairn/internal/store"
)

// Config configures an Engine.
type Config struct {
	// URL is the database, as pgx parses it: postgres://user@host:port/db?...
	URL string
	// LeaseTTL is how long a background job's lease lasts unrenewed (a
	// dead node's jobs move after it); 0 means DefaultLeaseTTL.
	LeaseTTL time.Duration
	// JanitorInterval is how often expired blocks are deleted (by the node
	// holding the retention lease); 0 means DefaultJanitorInterval.
	JanitorInterval time.Duration
	// Now is the clock (retention); nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Blocks, when set, moves old blocks to an S3-compatible object store
	// (objects.go).
	Blocks *BlocksConfig
	// SummaryCacheBytes bounds the node's cache of block summaries that
	// filtered reads test here instead of in SQL (sumcache.go); 0 means
	// DefaultSummaryCacheBytes, negative turns the cache off.
	SummaryCacheBytes int64
	// CachedKinds are the resource kinds GetResourceAsOf answers from the
	// node's cache (rescache.go): the records the ingest path reads every
	// batch. Their writes also move a generation, in the same statement.
	// Every node on one database must list the same kinds.
	CachedKinds []string
}

// DefaultMaxConns is the pool's size unless the URL sets pool_max_conns.
const DefaultMaxConns = 32

// Engine is a store.Store on PostgreSQL.
type Engine struct {
	cfg   Config
	pool  *pgxpool.Pool
	codec *codec
	node  string // this process's id in NOTIFY payloads (its own are not replayed)

	// ownUnheard: this node's appends told to its listeners whose NOTIFY
	// the listener has not heard yet (subscribe.go listen).
	ownMu      sync.Mutex
	ownUnheard map[uint64]time.Time // seq → when told
	// beforeRelisten, when set (tests), runs before the listener LISTENs
	// again after losing its connection.
	beforeRelisten atomic.Pointer[func()]

	subMu   sync.Mutex
	subs    map[int]func(store.Appended)
	iamSubs map[int]func() // OnIAMChange
	nextID  int

	closeMu sync.RWMutex // held shared by calls in flight; Close takes it exclusively
	closed  bool
	stop    context.CancelFunc
	done    chan struct{} // the listener goroutine ended

	stopJanitor context.CancelFunc
	janitorDone chan struct{}

	coalesce coalescer // group commit of appends (batch.go)

	sums *sumCache // nil when off

	cachedKinds map[string]struct{} // Config.CachedKinds; read-only after Open
	resources   resCache            // records of cachedKinds (rescache.go)

	objects   *objectStore // nil without object storage
	stopMover context.CancelFunc
	moverDone chan struct{}
}

// Open connects, creates or migrates the schema and starts the listener
// that relays other nodes' appends to this node's subscribers.
func Open(cfg Config) (*Engine, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.JanitorInterval <= 0 {
		cfg.JanitorInterval = DefaultJanitorInterval
	}
	var objects *objectStore
	if cfg.Blocks != nil {
		o, err := newObjectStore(*cfg.Blocks)
		if err != nil {
			return nil, err
		}
		objects = o
	}
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if !strings.Contains(cfg.URL, "pool_max_conns") {
		// pgxpool's default is max(4, cores): on a small node that is 4
		// appends in flight, each holding its connection through COMMIT
		// (a WAL flush), whatever the writers. The URL's pool_max_conns
		// still decides when given.
		pc.MaxConns = DefaultMaxConns
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	if err := (&Engine{cfg: cfg, pool: pool}).ensureAhead(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: creating partitions: %w", err)
	}
	if objects != nil {
		if err := objects.check(ctx); err != nil {
			pool.Close()
			return nil, err
		}
	}
	c, err := newCodec()
	if err != nil {
		pool.Close()
		return nil, err
	}
	var id [8]byte
	rand.Read(id[:])
	e := &Engine{cfg: cfg, pool: pool, codec: c, node: hex.EncodeToString(id[:]), subs: map[int]func(store.Appended){}, iamSubs: map[int]func(){}, done: make(chan struct{}), ownUnheard: map[uint64]time.Time{},
		objects: objects, coalesce: coalescer{queues: map[groupKey]*groupQueue{}}}
	e.cachedKinds = map[string]struct{}{}
	for _, k := range cfg.CachedKinds {
		e.cachedKinds[k] = struct{}{}
	}
	switch {
	case cfg.SummaryCacheBytes == 0:
		e.sums = newSumCache(DefaultSummaryCacheBytes, time.Now)
	case cfg.SummaryCacheBytes > 0:
		e.sums = newSumCache(cfg.SummaryCacheBytes, time.Now)
	}
	lctx, stop := context.WithCancel(context.Background())
	e.stop = stop
	ready := make(chan error, 1)
	go e.listen(lctx, ready)
	if err := <-ready; err != nil {
		stop()
		<-e.done
		pool.Close()
		c.close()
		return nil, fmt.Errorf("postgres: LISTEN: %w", err)
	}
	jctx, stopJanitor := context.WithCancel(context.Background())
	e.stopJanitor, e.janitorDone = stopJanitor, make(chan struct{})
	go e.janitor(jctx)
	e.stopMover, e.moverDone = func() {}, make(chan struct{})
	if objects != nil {
		mctx, stopMover := context.WithCancel(context.Background())
		e.stopMover = stopMover
		go e.mover(mctx)
	} else {
		close(e.moverDone)
	}
	return e, nil
}

// enter admits a call unless the engine is closed; exit ends it.
func (e *Engine) enter() error {
	e.closeMu.RLock()
	if e.closed {
		e.closeMu.RUnlock()
		return store.ErrClosed
	}
	return nil
}

func (e *Engine) exit() { e.closeMu.RUnlock() }

// Close waits for calls in flight, stops the listener and the pool.
func (e *Engine) Close() error {
	// The janitor first, while calls are admitted: its lease is released
	// (another node's janitor takes over at once).
	e.stopJanitor()
	<-e.janitorDone
	e.stopMover()
	<-e.moverDone
	e.closeMu.Lock()
	if e.closed {
		e.closeMu.Unlock()
		return nil
	}
	e.closed = true
	e.closeMu.Unlock()
	e.stop()
	<-e.done
	e.pool.Close()
	e.codec.close()
	return nil
}

// DiskUsage is the bytes the database's Cairn tables and indexes use
// (pg_total_relation_size), for /metrics and the benchmark.
func (e *Engine) DiskUsage() uint64 {
	var n int64
	err := e.pool.QueryRow(context.Background(), `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
		FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
		WHERE ns.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname LIKE 'cairn\_%'`).Scan(&n)
	if err != nil || n < 0 {
		return 0
	}
	return uint64(n)
}

// schema is the list of migrations; schema version n is the first n
// applied. Append new steps; never edit one that has shipped.
var schema = []string{
	// 1: groups, streams, blocks, cursors, resources. Names are bytea so
	// that order is byte order whatever the database's collation, and any
	// byte the service accepts can be stored.
	`CREATE TABLE cairn_groups (
		gid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		account text NOT NULL,
		region text NOT NULL,
		name bytea NOT NULL,
		creation_time bigint NOT NULL,
		retention_days int NOT NULL,
		class text NOT NULL,
		kms_key_id text NOT NULL,
		tags jsonb NOT NULL,
		deletion_protection boolean NOT NULL,
		stored_bytes bigint NOT NULL DEFAULT 0,
		last_seq bigint NOT NULL DEFAULT 0,
		max_span bigint NOT NULL DEFAULT 0,
		UNIQUE (account, region, name)
	);
	CREATE TABLE cairn_streams (
		sid bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		gid bigint NOT NULL REFERENCES cairn_groups ON DELETE CASCADE,
		name bytea NOT NULL,
		creation_time bigint NOT NULL,
		first_ts bigint NOT NULL DEFAULT 0,
		last_ts bigint NOT NULL DEFAULT 0,
		last_ingestion bigint NOT NULL DEFAULT 0,
		stored_bytes bigint NOT NULL DEFAULT 0,
		UNIQUE (gid, name)
	);
	CREATE INDEX cairn_streams_by_time ON cairn_streams (gid, last_ts, name);
	CREATE TABLE cairn_blocks (
		gid bigint NOT NULL,
		seq bigint NOT NULL,
		sid bigint NOT NULL,
		min_ts bigint NOT NULL,
		max_ts bigint NOT NULL,
		count int NOT NULL,
		ingestion bigint NOT NULL,
		raw_bytes bigint NOT NULL,
		flags smallint NOT NULL,
		grams bytea NOT NULL,
		payload bytea NOT NULL,
		PRIMARY KEY (gid, seq)
	);
	CREATE INDEX cairn_blocks_by_min ON cairn_blocks (gid, min_ts, seq);
	CREATE INDEX cairn_blocks_by_max ON cairn_blocks (gid, max_ts, seq);
	CREATE INDEX cairn_blocks_by_stream ON cairn_blocks (sid);
	ALTER TABLE cairn_blocks ALTER COLUMN payload SET STORAGE EXTERNAL;
	ALTER TABLE cairn_blocks ALTER COLUMN grams SET STORAGE EXTERNAL;
	CREATE TABLE cairn_cursors (
		gid bigint NOT NULL REFERENCES cairn_groups ON DELETE CASCADE,
		name bytea NOT NULL,
		pos bigint NOT NULL,
		PRIMARY KEY (gid, name)
	);
	CREATE TABLE cairn_resources (
		account text NOT NULL,
		region text NOT NULL,
		gid bigint NOT NULL, -- 0: the account and region's
		kind bytea NOT NULL,
		name bytea NOT NULL,
		value bytea NOT NULL,
		PRIMARY KEY (account, region, gid, kind, name)
	);
	CREATE SEQUENCE cairn_seq;`,
	// 2: leases of the background jobs (lease.go). Expiry is the
	// database's clock, the one clock every node shares.
	`CREATE TABLE cairn_leases (
		name bytea PRIMARY KEY,
		holder text NOT NULL,
		expires timestamptz NOT NULL
	);`,
	// 3: secrets every node shares (secrets.go): the generated root key,
	// the STS token key.
	`CREATE TABLE cairn_secrets (
		name text PRIMARY KEY,
		value bytea NOT NULL
	);`,
	// 4: object storage for blocks (objects.go). A moved block's payload
	// is NULL and object its key; object_bytes keeps its size for the
	// stored-bytes accounting. The partial index finds the blocks still
	// to move, oldest first, without reading the moved ones.
	`ALTER TABLE cairn_blocks ALTER COLUMN payload DROP NOT NULL;
	ALTER TABLE cairn_blocks ADD COLUMN object text;
	ALTER TABLE cairn_blocks ADD COLUMN object_bytes int NOT NULL DEFAULT 0;
	CREATE INDEX cairn_blocks_resident ON cairn_blocks (ingestion) WHERE object IS NULL;
	CREATE TABLE cairn_objects (
		key text PRIMARY KEY,
		kind smallint NOT NULL,
		since timestamptz NOT NULL DEFAULT clock_timestamp()
	);`,
	// 5: the cluster's IAM document (iam.go).
	`CREATE TABLE cairn_iam (
		id int PRIMARY KEY CHECK (id = 1),
		version bigint NOT NULL,
		doc bytea NOT NULL
	);`,
	// 6: cairn_blocks partitioned by a UTC day of max_ts (partitions.go
	// says why that key and width). The existing rows are copied into one
	// partition per day they cover, in this migration's transaction.
	partitionSchema,
	// 7: leases' fencing tokens (lease.go): epoch grows each time a lease
	// is taken anew, and job writes check it.
	`ALTER TABLE cairn_leases ADD COLUMN epoch bigint NOT NULL DEFAULT 1;`,
	// 8: generations of the cached resource kinds (rescache.go): the
	// group's in its row, the account and region's in a row of their own.
	`ALTER TABLE cairn_groups ADD COLUMN res_gen bigint NOT NULL DEFAULT 0;
	CREATE TABLE cairn_account_gens (
		account text NOT NULL,
		region text NOT NULL,
		gen bigint NOT NULL,
		PRIMARY KEY (account, region)
	);`,
}

// migrate brings the schema to len(schema), under an advisory lock so that
// nodes starting together migrate once.
func migrate(ctx context.Context, pool *pgxpool.Pool) error { return migrateTo(ctx, pool, len(schema)) }

// migrateTo brings the schema to version target (tests start from an
// older one).
func migrateTo(ctx context.Context, pool *pgxpool.Pool, target int) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Release()
	const lockKey = 0x636169726e // "cairn"
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, lockKey)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS cairn_schema_version (version int NOT NULL)`); err != nil {
		return fmt.Errorf("postgres: schema: %w", err)
	}
	var version int
	err = conn.QueryRow(ctx, `SELECT version FROM cairn_schema_version`).Scan(&version)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if _, err := conn.Exec(ctx, `INSERT INTO cairn_schema_version VALUES (0)`); err != nil {
			return fmt.Errorf("postgres: schema: %w", err)
		}
	case err != nil:
		return fmt.Errorf("postgres: schema: %w", err)
	}
	if version > len(schema) {
		return fmt.Errorf("postgres: the database's schema is version %d, newer than this Cairn's %d", version, len(schema))
	}
	for v := version; v < target; v++ {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, schema[v]); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE cairn_schema_version SET version = $1`, v+1)
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: schema version %d: %w", v+1, err)
		}
	}
	return nil
}
