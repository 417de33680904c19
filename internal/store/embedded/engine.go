package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	gojson "github.com/goccy/go-json"
	"github.com/klauspost/compress/zstd"

	"github.com/cairnlog/cairn/internal/store"
)

// Config configures an Engine.
type Config struct {
	Dir string
	// FS is the file system; nil means the real one.
	FS vfs.FS
	// Now is the clock (retention); nil means time.Now.
	Now func() time.Time
	// CacheSize is Pebble's block cache in bytes (default 16 MiB: session 9
	// (ins10) measured 64, 32 and 16 on the 2 M-event bench, whose data the
	// page cache holds; 16 lowered the Insights peak RSS ≈ 6% and no read
	// row got slower by the medians, docs/benchmarks.md).
	CacheSize int64
	// MemTableSize is Pebble's memtable size in bytes (default 32 MiB).
	MemTableSize uint64
	// Compression is the codec of blocks as Append writes them: "s2" (S2,
	// about 40% less engine CPU per event than zstd's fastest level for
	// 42.5 rather than 29 bytes/event until re-compaction rewrites them:
	// BenchmarkAppend, docs/benchmarks.md), or zstd at "fastest" (the
	// default when empty, as before) or "default". The server passes "s2"
	// unless told otherwise.
	Compression string
	// MinFreeBytes is the free space under which writes that grow the
	// database are refused with store.ErrNoSpace, so that what is already in
	// the WAL and memtables can always be flushed. Default: MemTableSize +
	// 16 MiB.
	MinFreeBytes uint64
	// JanitorInterval is how often retention and reclamation run (default 1 min).
	JanitorInterval time.Duration
	// RecompactInterval is how often the re-compaction worker looks for
	// small blocks to merge (recompact.go; default 10 s; negative: never).
	RecompactInterval time.Duration
	// RecompactSettle is how long a stream must go without appends before
	// its last, short run of small blocks is merged (default 10 s).
	RecompactSettle time.Duration
	// RecompactAge is how long after it arrived a block stays as appended
	// before the worker may merge it (recompact.go, fresh; default
	// DefaultRecompactAge; negative: no wait). RecompactNow ignores it.
	RecompactAge time.Duration
	Logger       *slog.Logger
	// OnFatal, when set, is called once when the database fails (a write or
	// sync the WAL cannot complete). The engine then refuses every operation;
	// the process should exit so that a restart recovers from the WAL.
	OnFatal func(error)
	// FeedTailBytes bounds the events of recent appends kept in memory for
	// ReadFeed (feedtail.go; default DefaultFeedTailBytes); negative: none.
	FeedTailBytes int
	// (Listeners to appends register with Engine.Subscribe, part of the
	// store contract; see feed.go.)
}

func (c Config) level() zstd.EncoderLevel {
	if c.Compression == "default" {
		return zstd.SpeedDefault
	}
	return zstd.SpeedFastest
}

// maxBlockSpan is the widest a block may be: PutLogEvents refuses batches
// that span more than 24 hours.
const maxBlockSpan = 24 * 60 * 60 * 1000

// Engine is the embedded store. It implements store.Store.
//
// Lock order: a goroutine holding a lock takes only locks below it, never
// one above or beside it.
//
//	life            read by every operation (enter/exit), write by Close
//	  Engine.mu     the group map; held only for a map access, nothing under it
//	  group.load    loadStreams, on a group's first use, before its other locks
//	  group.commit  read by writers of a group's keys (Append, groupOp writeData:
//	                cursors, resources); write by DeleteGroup, DeleteStream
//	    group.mu    a group's settings, streams and deleted flag
//	      group.order   the time index (streams.go); under group.mu or alone
//	                (Append, after its commit); nothing under it
//	      seq.mu    sequence numbers and the feed's pending set
//	    subs.mu     read by notify, which calls listeners under life and
//	                group.commit; write by Subscribe and unsubscribe with
//	                nothing else held
//	  space.mu      serialises free-space checks (writable, Open, Close)
//	  maint         the janitor's sweep and a merge (recompact.go); a merge
//	                takes group.commit (read) and group.mu under it
//
// Leaves: readerPins.mu and rstats.mu.
//
// Leaves taken anywhere, holding nothing under them: bgLog.mu (Pebble's
// background errors) and failOnce, whose Config.OnFatal runs under whatever
// the failing operation held (so it must not call the engine). Listeners run
// under life read and a group's commit read: one that called the engine
// could deadlock against a waiting Close or DeleteGroup, which is why
// store.Store.Subscribe says fn must not block.
//
// No fsync happens under Engine.mu, and none under seq.mu except allocSeq's
// persisting of a new sequence mark, once per seqChunk numbers. Group commit
// depends on that: Append's Sync commit holds only life and group.commit,
// both for reading, and so does CreateStream's. (A group's own fsyncs, in
// UpdateGroup, DeleteStream and DeleteGroup, hold that group's locks and no
// global one.)
type Engine struct {
	cfg Config
	db  *pebble.DB
	log *slog.Logger
	enc *zstd.Encoder
	dec *zstd.Decoder

	grams sync.Pool // *gramBuilder
	bufs  sync.Pool // *[]byte decompression buffers

	resume  *resumeCache // blocks a page stopped inside (resume.go)
	res     *resCache    // resource records read since the last resource write (rescache.go)
	tail    *feedTail    // recent appends for ReadFeed (feedtail.go); nil: none
	decodes atomic.Int64 // blocks decompressed, for tests
	// splitAll makes Scan split every block (no unsplit reads): the
	// reference TestScanUnsplitReference holds the unsplit path to. Set
	// by tests only, before any read.
	splitAll bool

	readGens readGens // read stamps for store.ReadVersioner (readstamp.go)

	// life is held for reading by every operation and for writing by Close,
	// so the database is never closed under a running operation.
	life   sync.RWMutex
	closed bool // guarded by life

	mu       sync.RWMutex      // guards groups, creating
	groups   map[string]*group // by groupMapKey
	creating map[string]bool   // names whose CreateGroup is committing

	// seq numbers blocks, groups and streams (seq.go).
	seq struct {
		mu   sync.Mutex // guards the fields below
		next uint64     // the next number to hand out
		hwm  uint64     // the persisted mark: numbers up to it may be in use
		// pending holds, ascending, the sequences of appends allocated but
		// not yet committed (or failed).
		pending []uint64
		// held are the notices of appends that committed while a lower
		// sequence was still pending, ascending: the mark has not passed
		// them yet, so their listeners are told only once it has (seq.go).
		held []store.Appended
	}
	// committed is the feed's high-water mark: every append with a sequence
	// ≤ it has finished. Written under seq.mu, read without.
	committed atomic.Uint64

	subs subscribers // subscribe.go

	// beforeCommit, set only by tests before any append, runs in Append just
	// before its batch commits: a test holds an append there to order
	// commits deterministically.
	beforeCommit func(group string, seq uint64)
	// beforeDecode, set only by tests, runs as a read's or a scan's worker
	// takes a block: a test panics there (workerPanic).
	beforeDecode func()

	stop     chan struct{} // closed by Close: the janitor and the re-compaction worker return
	stopOnce sync.Once
	wg       sync.WaitGroup // the janitor and the re-compaction worker

	// maint serialises the janitor's sweep and the worker's merges
	// (recompact.go): retention never drops a range a merge writes into.
	maint sync.Mutex
	pins  readerPins   // reads running, by epoch (recompact.go)
	rc    *recompactor // the re-compaction worker's state
	// crashPoint, set only by tests, is called at each of the worker's
	// crash-relevant steps (recompact.go) so a test can SIGKILL the process
	// exactly there.
	crashPoint func(stage string)
	lastAppend atomic.Int64 // unix ns of the last Append's commit: the worker yields to ingest
	rstats     struct {
		mu sync.Mutex
		RecompactStats
	}

	failed   atomic.Pointer[fatalError] // set once the database failed (fatal.go)
	failOnce sync.Once

	space   space         // free space (disk.go)
	bgLog   rateLimit     // Pebble's background errors (disk.go)
	closing chan struct{} // closed when Close starts closing Pebble
}

// CacheSize is the block cache's capacity in bytes (Config.CacheSize, its
// default filled in).
func (e *Engine) CacheSize() int64 { return e.cfg.CacheSize }

// Open opens or creates the engine's database in cfg.Dir and loads metadata.
func Open(cfg Config) (*Engine, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 16 << 20
	}
	if cfg.MemTableSize == 0 {
		cfg.MemTableSize = 32 << 20
	}
	if cfg.JanitorInterval == 0 {
		cfg.JanitorInterval = time.Minute
	}
	if cfg.RecompactInterval == 0 {
		cfg.RecompactInterval = 10 * time.Second
	}
	if cfg.RecompactSettle == 0 {
		cfg.RecompactSettle = 10 * time.Second
	}
	if cfg.RecompactAge == 0 {
		cfg.RecompactAge = DefaultRecompactAge
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MinFreeBytes == 0 {
		cfg.MinFreeBytes = cfg.MemTableSize + defaultMinFree
	}
	e := &Engine{
		cfg:     cfg,
		log:     cfg.Logger,
		groups:  make(map[string]*group),
		res:     newResCache(),
		stop:    make(chan struct{}),
		closing: make(chan struct{}),
		bgLog:   rateLimit{every: 30 * time.Second},
	}
	e.resume = newResumeCache(resumeCacheBytes, e.putBuf)
	switch {
	case cfg.FeedTailBytes == 0:
		e.tail = newFeedTail(DefaultFeedTailBytes)
	case cfg.FeedTailBytes > 0:
		e.tail = newFeedTail(cfg.FeedTailBytes)
	}
	fsys := cfg.FS
	if fsys == nil {
		if err := e.tightenDir(cfg.Dir); err != nil {
			return nil, err
		}
		fsys = privateFS{vfs.Default}
	}
	if err := preflight(fsys, cfg.Dir); err != nil {
		return nil, err
	}
	fsys = vfs.OnDiskFull(fsys, e.onDiskFull)
	e.space = space{fs: fsys, dir: cfg.Dir, min: cfg.MinFreeBytes}
	// Only background errors are wanted; other events stay unlogged, as
	// with Pebble's default listener.
	listener := pebble.EventListener{BackgroundError: e.backgroundError}
	cache := pebble.NewCache(cfg.CacheSize)
	defer cache.Unref()
	opts := &pebble.Options{
		FS:                          fsys,
		EventListener:               &listener,
		Cache:                       cache,
		MemTableSize:                cfg.MemTableSize,
		MemTableStopWritesThreshold: 4,
		Merger:                      newMerger(),
		FormatMajorVersion:          pebble.FormatNewest,
		Logger:                      pebbleLogger{e},
		CompactionConcurrencyRange:  func() (int, int) { return 1, 2 },
		Cleaner:                     walDeleter{},
	}
	// Block payloads are already zstd; summaries are mostly filter bits.
	opts.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionNone })
	db, err := pebble.Open(cfg.Dir, opts)
	if err != nil {
		return nil, fmt.Errorf("open pebble in %q: %w", cfg.Dir, err)
	}
	e.db = db
	// The window: a block is one PutLogEvents batch, whose messages are at
	// most 1 MiB (plus a separator or a length each), so a 1 MiB window
	// finds the same matches as the default 8 MiB one (same bytes out on the
	// bench's blocks, BenchmarkEncodeBlock; a larger message column only
	// loses matches more than 1 MiB back) while the GOMAXPROCS encoders keep
	// smaller history buffers: measured for two encoders, 5.3 MiB of heap
	// against 17.5 MiB, which GOGC 200 would let grow to triple in RSS.
	if e.enc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(cfg.level()), zstd.WithEncoderCRC(false),
		zstd.WithWindowSize(1<<20), zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0))); err != nil {
		db.Close()
		return nil, err
	}
	if e.dec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(64<<20)); err != nil {
		db.Close()
		return nil, err
	}
	e.grams.New = func() any { return newGramBuilder() }
	if err := e.load(); err != nil {
		db.Close()
		e.dec.Close()
		return nil, err
	}
	e.checkSpace(time.Now().UnixNano(), false)
	e.wg.Add(1)
	go e.janitor()
	if e.rc, err = e.newRecompactor(); err != nil {
		db.Close()
		e.dec.Close()
		return nil, err
	}
	if cfg.RecompactInterval > 0 {
		e.wg.Add(1)
		go e.recompactLoop()
	}
	return e, nil
}

// walDeleter is Pebble's cleaner: it deletes obsolete files, as Pebble's
// default does, and also turns off WAL recycling. Pebble keeps up to
// MemTableStopWritesThreshold+1 flushed WALs (each up to a memtable, 32 MiB)
// for reuse, which left 100-200 MB of WAL files in the data directory, at
// steady state and after a clean stop (about 20 of the 48.8 bytes/event on
// the benchmark lines). Recycling saves allocating a WAL's blocks on fsync;
// with durable ingest on ext4, turning it off cost no measurable throughput
// (docs/benchmarks.md, "WAL files"; Pebble still preallocates each new WAL).
//
// Pebble's only switch for recycling is a cleaner that implements its
// unexported NeedsFileContents (it skips recycling so that an archiving
// cleaner sees every WAL). walDeleter gets that method from ArchiveCleaner,
// embedded one level down, and Clean and String from DeleteCleaner, one
// level up, which wins: files are deleted, never archived, and the OPTIONS
// file says "delete". Pebble v2.1.7 consults the interface in
// deleteObsoleteFiles and nowhere else; TestWALDoesNotStay fails if an
// upgrade changes that.
type walDeleter struct {
	pebble.DeleteCleaner
	noRecycle
}

type noRecycle struct{ pebble.ArchiveCleaner }

// load reads the sequence mark, every group's record and statistics. A
// group's streams wait for its first use (loadStreams), so start-up time
// and memory do not grow with the number of streams.
func (e *Engine) load() error {
	v, closer, err := e.db.Get([]byte{tagSeq})
	switch {
	case err == nil:
		if len(v) == 8 {
			e.seq.hwm = beUint64(v)
		}
		closer.Close()
	case errors.Is(err, pebble.ErrNotFound):
	default:
		return fmt.Errorf("read sequence mark: %w", err)
	}
	e.seq.next = e.seq.hwm + 1
	e.committed.Store(e.seq.hwm)

	byID := make(map[uint64]*group)
	var scope store.Scope
	err = e.scan([]byte{tagGroup}, func(k, v []byte) error {
		account, rest, ok1 := bytes.Cut(k[1:], []byte{0})
		region, name, ok2 := bytes.Cut(rest, []byte{0})
		if !ok1 || !ok2 {
			return fmt.Errorf("group key %q: %w", k, errCorrupt)
		}
		// goccy's decoder: a hundred thousand group records at start-up
		// (encoding/json was a third of the load's CPU).
		var rec groupRecord
		if err := gojson.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("group record %q: %w", k, err)
		}
		// Most groups share a scope: share its strings too.
		if string(account) != scope.Account || string(region) != scope.Region {
			scope = store.Scope{Account: string(account), Region: string(region)}
		}
		g := newGroup(rec, scope, string(name))
		e.groups[groupMapKey(g.info.Scope, g.info.Name)] = g
		byID[g.id] = g
		return nil
	})
	if err != nil {
		return err
	}
	return e.scan([]byte{tagGroupStats}, func(k, v []byte) error {
		if g := byID[beUint64(k[1:])]; g != nil {
			st, err := decodeGroupStats(v)
			if err != nil {
				return err
			}
			g.storedBytes.Store(st.storedBytes)
			g.maxSpan.Store(st.maxSpan)
		}
		return nil
	})
}

func (e *Engine) scan(prefix []byte, fn func(k, v []byte) error) error {
	it, err := e.db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: prefixEnd(prefix)})
	if err != nil {
		return err
	}
	defer it.Close()
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return err
		}
		if err := fn(it.Key(), v); err != nil {
			return err
		}
	}
	return it.Error()
}

// enter starts an operation; exit ends it.
func (e *Engine) enter() error {
	e.life.RLock()
	if e.closed {
		e.life.RUnlock()
		return store.ErrClosed
	}
	if f := e.failed.Load(); f != nil {
		e.life.RUnlock()
		return fmt.Errorf("%w: %s", errFailed, f.msg)
	}
	return nil
}

func (e *Engine) exit() { e.life.RUnlock() }

// Close stops the janitor and closes the database. It is idempotent.
func (e *Engine) Close() (err error) {
	e.stopOnce.Do(func() { close(e.stop) })
	e.wg.Wait()
	e.life.Lock()
	defer e.life.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	if f := e.failed.Load(); f != nil {
		// A failed Pebble must not be flushed or closed; the process exits
		// and the next start recovers from the WAL.
		e.enc.Close()
		e.dec.Close()
		e.rc.enc.Close()
		return f
	}
	defer recoverFatal(&err)
	// Flushing on a clean stop makes the next start skip WAL replay; on a
	// full disk the flush could not finish, and the WAL keeps the data.
	e.checkSpace(time.Now().UnixNano(), false)
	if !e.space.full.Load() {
		err = e.db.Flush()
	}
	close(e.closing)
	err = errors.Join(err, e.db.Close())
	e.rc.enc.Close()
	e.enc.Close()
	e.dec.Close()
	return err
}

// DiskUsage reports the bytes the database occupies on disk (0 once closed).
func (e *Engine) DiskUsage() uint64 {
	if e.enter() != nil {
		return 0
	}
	defer e.exit()
	return e.db.Metrics().DiskSpaceUsage()
}

// LSMStats is what /metrics reports of Pebble underneath: compactions and
// flushes so far, and the write-ahead log's live files and bytes.
type LSMStats struct {
	Compactions, Flushes int64
	WALFiles             int64
	WALBytes, WALBytesIn uint64
	CompactionDebtBytes  uint64
	ReadAmplification    int
}

// LSMStats reads Pebble's metrics (cheap: no I/O).
func (e *Engine) LSMStats() LSMStats {
	if e.enter() != nil {
		return LSMStats{}
	}
	defer e.exit()
	m := e.db.Metrics()
	return LSMStats{Compactions: m.Compact.Count, Flushes: m.Flush.Count, WALFiles: m.WAL.Files,
		WALBytes: m.WAL.PhysicalSize, WALBytesIn: m.WAL.BytesIn, CompactionDebtBytes: m.Compact.EstimatedDebt,
		ReadAmplification: m.ReadAmp()}
}

// Flush forces memtables to disk (benchmarks use it to measure bytes on disk).
func (e *Engine) Flush() (err error) {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	defer recoverFatal(&err)
	return e.db.Flush()
}

// Compact compacts the whole key space (benchmarks and tests).
func (e *Engine) Compact() (err error) {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	defer recoverFatal(&err)
	return e.db.Compact(context.Background(), []byte{0}, []byte{0xff}, true)
}

// Checkpoint writes a consistent copy of the database into dir, which must
// not exist yet, while the engine keeps serving: Pebble hard-links the
// immutable tables and copies the manifest and the WAL as of one instant,
// after flushing the WAL, so every append acknowledged before the call is
// in the copy. The copy opens with Open as a data directory of its own.
func (e *Engine) Checkpoint(dir string) error {
	return e.db.Checkpoint(dir, pebble.WithFlushedWAL())
}
