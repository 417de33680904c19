// Package embedded is Cairn's single-node storage engine, built on Pebble.
//
// Data enters through Append: one PutLogEvents request's events for one stream
// become one block: a zstd-compressed payload, a small summary (time range,
// stream, count, a Bloom filter of 4-grams) and a per-stream index entry, all
// written in one Pebble batch committed with Sync. Pebble's commit pipeline
// makes concurrent Sync commits share an fsync (group commit), so an Append
// returns only when its events are durable, and a crash at any moment leaves
// each batch either whole or absent.
//
// Data leaves through Read, which merges blocks in the global order
// (timestamp, arrival seq, index). Blocks are keyed by (group, min timestamp,
// seq) so a read seeks to its start time; it opens a block only when the block
// can hold the next event in order, and skips blocks whose summary rules them
// out (other streams, other times, required literals absent) without
// decompressing them. Every block spans at most the group's largest observed
// span (≤ 24 h, PutLogEvents' limit), which bounds how far back a seek starts.
//
// Data also leaves through Scan (scan.go), which walks the same summaries,
// skips blocks the same way, and decodes the rest on every core in a bounded
// pipeline owned by the call, delivering them in key order without the merge;
// and through ReadFeed (feed.go), which walks per-group feed entries ('F' gid
// seq, written in the block's batch) up to a high-water mark that never
// passes an append still committing. Subscribe's listeners hear of each
// append once the mark is past it. Cursors (cursors.go) and resource records
// (resources.go) are small synced keys; the group's ones share its id prefix
// and go with its range deletion.
//
// Metadata (groups, streams) is cached in memory and persisted in the same
// database; stream and group statistics are Pebble merge operands (see
// records.go). Deleting a group drops its key ranges with range tombstones;
// deleting a stream hides it at once and a janitor goroutine reclaims its
// blocks, and drops blocks past the group's retention.
//
// All file I/O goes through Config.FS (Pebble's vfs), so tests can run on
// memory or inject failures. On the real disk, files are created 0600 and the
// directory is kept 0700; a full disk refuses writes with store.ErrNoSpace
// and never turns Pebble's retries into a busy loop (see disk.go).
package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
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
	// CacheSize is Pebble's block cache in bytes (default 64 MiB).
	CacheSize int64
	// MemTableSize is Pebble's memtable size in bytes (default 32 MiB).
	MemTableSize uint64
	// Compression is the zstd level of event blocks: "fastest" (the default:
	// 736k events/s at 29.8 bytes/event in the 10 M-event bench) or "default"
	// (577k events/s at 29.0 bytes/event).
	Compression string
	// MinFreeBytes is the free space under which writes that grow the
	// database are refused with store.ErrNoSpace, so that what is already in
	// the WAL and memtables can always be flushed. Default: MemTableSize +
	// 16 MiB.
	MinFreeBytes uint64
	// JanitorInterval is how often retention and reclamation run (default 1 min).
	JanitorInterval time.Duration
	Logger          *slog.Logger
	// OnFatal, when set, is called once when the database fails (a write or
	// sync the WAL cannot complete). The engine then refuses every operation;
	// the process should exit so that a restart recovers from the WAL.
	OnFatal func(error)
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

// seqChunk is how many sequence numbers are reserved per persisted
// high-water mark: after a crash, numbering resumes above the mark.
const seqChunk = 1 << 20

// Engine is the embedded store. It implements store.Store.
//
// Lock order (a goroutine holding one may take only those after it):
//
//	life (read by every operation, write by Close)
//	  → Engine.mu (the group map)
//	    → group.commit (read by writers of group data: Append, SetCursor,
//	      PutResource...; write by DeleteGroup and DeleteStream)
//	      → group.mu (a group's settings and streams)
//	        → seqMu (sequence numbers and the feed's pending set)
//	      → subs.mu (read by notify, under life and group.commit, while it
//	        calls listeners; written by Subscribe and unsubscribe, with
//	        nothing else held; so listeners must not subscribe)
//
// No fsync happens under Engine.mu or seqMu except allocSeq's persisting of
// a new sequence mark, once per seqChunk numbers. Group commit depends on
// that: Append's Sync commit holds only life, group.commit (both read) and
// nothing else.
type Engine struct {
	cfg Config
	db  *pebble.DB
	log *slog.Logger
	enc *zstd.Encoder
	dec *zstd.Decoder

	grams sync.Pool // *gramBuilder
	bufs  sync.Pool // *[]byte decompression buffers

	seqMu   sync.Mutex // guards seqNext, seqHWM, pending
	seqNext uint64
	seqHWM  uint64
	// pending holds, ascending, the sequences of appends allocated but not
	// yet committed (or failed); committed is the feed's high-water mark:
	// every append with a sequence ≤ it has finished. See feed.go.
	pending   []uint64
	committed atomic.Uint64 // written under seqMu, read without

	subs subscribers // see feed.go

	mu       sync.RWMutex      // guards groups, creating
	groups   map[string]*group // by groupMapKey
	creating map[string]bool   // names whose CreateGroup is committing

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup

	// life is held for reading by every operation and for writing by Close,
	// so the database is never closed under a running operation.
	life   sync.RWMutex
	closed bool // guarded by life

	failed   atomic.Pointer[fatalError] // set once the database failed
	failOnce sync.Once

	space   space
	bgLog   rateLimit
	closing chan struct{} // closed when Close starts closing Pebble
}

// fatalError is what Pebble's Fatalf raises: a storage failure after which
// the database must not be used.
type fatalError struct{ msg string }

func (f *fatalError) Error() string { return "storage failed: " + f.msg }

// errFailed wraps every error returned after a storage failure.
var errFailed = errors.New("storage failed")

func (e *Engine) fatal(msg string) *fatalError {
	f := &fatalError{msg: msg}
	e.failOnce.Do(func() {
		e.failed.Store(f)
		e.log.Error("storage failed; refusing all operations until restart", "err", msg)
		if e.cfg.OnFatal != nil {
			e.cfg.OnFatal(f)
		}
	})
	return f
}

// recoverFatal turns the panic Pebble's Fatalf raised (see pebbleLogger)
// into an error for the caller; other panics continue.
func recoverFatal(err *error) {
	if p := recover(); p != nil {
		f, ok := p.(*fatalError)
		if !ok {
			panic(p)
		}
		*err = fmt.Errorf("%w: %s", errFailed, f.msg)
	}
}

// group is the in-memory state of a log group.
//
// Lock order: Engine.mu, then group.commit, then group.mu.
type group struct {
	id    uint64
	name  string      // never changes; read without locks
	scope store.Scope // never changes; read without locks

	// commit is held for reading while an Append commits and for writing by
	// DeleteGroup and DeleteStream, so no block lands after its stream or
	// group is gone.
	commit sync.RWMutex

	mu      sync.RWMutex // guards the fields below
	info    store.Group
	streams map[string]*stream
	byID    map[uint64]*stream
	deleted bool

	storedBytes atomic.Int64
	maxSpan     atomic.Int64
}

type stream struct {
	name    string
	id      uint64
	created int64

	first, last, lastIngest, storedBytes atomic.Int64
}

func (s *stream) snapshot() store.Stream {
	return store.Stream{
		Name:                s.name,
		CreationTime:        s.created,
		FirstEventTimestamp: s.first.Load(),
		LastEventTimestamp:  s.last.Load(),
		LastIngestionTime:   s.lastIngest.Load(),
		StoredBytes:         s.storedBytes.Load(),
	}
}

func groupMapKey(scope store.Scope, name string) string {
	return scope.Account + "\x00" + scope.Region + "\x00" + name
}

// groupRecord is the persistent form of a group's settings.
type groupRecord struct {
	ID                 uint64            `json:"id"`
	CreationTime       int64             `json:"creationTime"`
	RetentionDays      int32             `json:"retentionInDays,omitempty"`
	Class              string            `json:"logGroupClass,omitempty"`
	KMSKeyID           string            `json:"kmsKeyId,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
	DeletionProtection bool              `json:"deletionProtection,omitempty"`
}

// Open opens or creates the engine's database in cfg.Dir and loads metadata.
func Open(cfg Config) (*Engine, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 64 << 20
	}
	if cfg.MemTableSize == 0 {
		cfg.MemTableSize = 32 << 20
	}
	if cfg.JanitorInterval == 0 {
		cfg.JanitorInterval = time.Minute
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
		stop:    make(chan struct{}),
		closing: make(chan struct{}),
		bgLog:   rateLimit{every: 30 * time.Second},
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
	}
	// Block payloads are already zstd; summaries are mostly filter bits.
	opts.ApplyCompressionSettings(func() pebble.DBCompressionSettings { return pebble.DBCompressionNone })
	db, err := pebble.Open(cfg.Dir, opts)
	if err != nil {
		return nil, fmt.Errorf("open pebble in %q: %w", cfg.Dir, err)
	}
	e.db = db
	if e.enc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(cfg.level()), zstd.WithEncoderCRC(false),
		zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0))); err != nil {
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
	return e, nil
}

// load reads the sequence mark, every group and every stream into memory.
func (e *Engine) load() error {
	v, closer, err := e.db.Get([]byte{tagSeq})
	switch {
	case err == nil:
		if len(v) == 8 {
			e.seqHWM = beUint64(v)
		}
		closer.Close()
	case errors.Is(err, pebble.ErrNotFound):
	default:
		return fmt.Errorf("read sequence mark: %w", err)
	}
	e.seqNext = e.seqHWM + 1
	e.committed.Store(e.seqHWM)

	byID := make(map[uint64]*group)
	err = e.scan([]byte{tagGroup}, func(k, v []byte) error {
		parts := bytes.SplitN(k[1:], []byte{0}, 3)
		if len(parts) != 3 {
			return fmt.Errorf("group key %q: %w", k, errCorrupt)
		}
		var rec groupRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("group record %q: %w", k, err)
		}
		g := newGroup(rec, store.Scope{Account: string(parts[0]), Region: string(parts[1])}, string(parts[2]))
		e.groups[groupMapKey(g.info.Scope, g.info.Name)] = g
		byID[g.id] = g
		return nil
	})
	if err != nil {
		return err
	}
	err = e.scan([]byte{tagGroupStats}, func(k, v []byte) error {
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
	if err != nil {
		return err
	}
	return e.scan([]byte{tagStream}, func(k, v []byte) error {
		if len(k) < 9 {
			return fmt.Errorf("stream key %q: %w", k, errCorrupt)
		}
		g := byID[beUint64(k[1:])]
		if g == nil {
			return nil // left over from a deleted group
		}
		rec, err := decodeStreamRecord(v)
		if err != nil {
			return err
		}
		if rec.sid == 0 {
			return nil // stats with no creation record: not a stream
		}
		s := &stream{name: string(k[9:]), id: rec.sid, created: rec.created}
		s.first.Store(rec.first)
		s.last.Store(rec.last)
		s.lastIngest.Store(rec.lastIngest)
		s.storedBytes.Store(rec.storedBytes)
		g.streams[s.name] = s
		g.byID[s.id] = s
		return nil
	})
}

func newGroup(rec groupRecord, scope store.Scope, name string) *group {
	return &group{
		id:    rec.ID,
		name:  name,
		scope: scope,
		info: store.Group{
			Scope:              scope,
			Name:               name,
			CreationTime:       rec.CreationTime,
			RetentionDays:      rec.RetentionDays,
			Class:              rec.Class,
			KMSKeyID:           rec.KMSKeyID,
			Tags:               rec.Tags,
			DeletionProtection: rec.DeletionProtection,
		},
		streams: make(map[string]*stream),
		byID:    make(map[uint64]*stream),
	}
}

func (g *group) record() groupRecord {
	return groupRecord{
		ID:                 g.id,
		CreationTime:       g.info.CreationTime,
		RetentionDays:      g.info.RetentionDays,
		Class:              g.info.Class,
		KMSKeyID:           g.info.KMSKeyID,
		Tags:               g.info.Tags,
		DeletionProtection: g.info.DeletionProtection,
	}
}

func (g *group) snapshot() (info store.Group, deleted bool) {
	g.mu.RLock()
	info, deleted = g.info, g.deleted
	info.Tags = cloneTags(g.info.Tags)
	g.mu.RUnlock()
	info.StoredBytes = g.storedBytes.Load()
	return info, deleted
}

func cloneTags(t map[string]string) map[string]string {
	if t == nil {
		return nil
	}
	c := make(map[string]string, len(t))
	for k, v := range t {
		c[k] = v
	}
	return c
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

// allocSeq returns a fresh, never reused sequence number. Sequence numbers
// order blocks by arrival and identify groups and streams.
func (e *Engine) allocSeq() (uint64, error) {
	e.seqMu.Lock()
	defer e.seqMu.Unlock()
	return e.allocSeqLocked()
}

func (e *Engine) allocSeqLocked() (uint64, error) {
	if e.seqNext > e.seqHWM {
		hwm := e.seqHWM + seqChunk
		if err := e.db.Set([]byte{tagSeq}, beAppend(nil, hwm), pebble.Sync); err != nil {
			return 0, fmt.Errorf("persist sequence mark: %w", err)
		}
		e.seqHWM = hwm
	}
	s := e.seqNext
	e.seqNext++
	return s, nil
}

func (e *Engine) lookup(scope store.Scope, name string) (*group, error) {
	e.mu.RLock()
	g := e.groups[groupMapKey(scope, name)]
	e.mu.RUnlock()
	if g == nil {
		return nil, store.ErrGroupNotFound
	}
	return g, nil
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

// CreateGroup implements store.Store.
func (e *Engine) CreateGroup(ctx context.Context, info store.Group) (err error) {
	defer recoverFatal(&err)
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	if err := e.writable(); err != nil {
		return err
	}
	// Reserve the name under e.mu, commit without it (the fsync must not
	// stall every lookup), then publish the group.
	mk := groupMapKey(info.Scope, info.Name)
	e.mu.Lock()
	if e.groups[mk] != nil || e.creating[mk] {
		e.mu.Unlock()
		return store.ErrGroupExists
	}
	if e.creating == nil {
		e.creating = make(map[string]bool)
	}
	e.creating[mk] = true
	e.mu.Unlock()
	var g *group
	defer func() {
		e.mu.Lock()
		delete(e.creating, mk)
		if g != nil {
			e.groups[mk] = g
		}
		e.mu.Unlock()
	}()
	id, err := e.allocSeq()
	if err != nil {
		return err
	}
	ng := newGroup(groupRecord{}, info.Scope, info.Name)
	ng.id = id
	info.StoredBytes = 0
	info.Tags = cloneTags(info.Tags)
	ng.info = info
	rec, err := json.Marshal(ng.record())
	if err != nil {
		return err
	}
	b := e.db.NewBatch()
	defer b.Close()
	b.Set(groupKey(info.Account, info.Region, info.Name), rec, nil)
	b.Set(groupStatsKey(id), groupStats{}.encode(), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	g = ng
	return nil
}

// DeleteGroup implements store.Store. The group's data goes with range
// tombstones; Pebble reclaims the space in compactions.
func (e *Engine) DeleteGroup(ctx context.Context, scope store.Scope, name string) (err error) {
	defer recoverFatal(&err)
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	mk := groupMapKey(scope, name)
	g, err := e.lookup(scope, name)
	if err != nil {
		return err
	}
	// The commit runs without e.mu (its fsync must not stall every lookup).
	// Operations that find g meanwhile see deleted once it is set; the map
	// entry goes last, so a CreateGroup of the same name during the delete
	// gets ErrGroupExists, as it would just before.
	if err := e.deleteGroup(g, scope, name); err != nil {
		return err
	}
	e.mu.Lock()
	if e.groups[mk] == g {
		delete(e.groups, mk)
	}
	e.mu.Unlock()
	return nil
}

func (e *Engine) deleteGroup(g *group, scope store.Scope, name string) error {
	g.commit.Lock()
	defer g.commit.Unlock()
	// Hold g.mu across the commit: an UpdateGroup or CreateStream that got in
	// first finishes before the delete, and any after it sees deleted,
	// instead of writing its record back after the range deletion.
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.deleted {
		return store.ErrGroupNotFound // a concurrent DeleteGroup won
	}
	b := e.db.NewBatch()
	defer b.Close()
	b.Delete(groupKey(scope.Account, scope.Region, name), nil)
	b.Delete(groupStatsKey(g.id), nil)
	for _, tag := range []byte(groupDataTags) {
		p := u64key(tag, g.id)
		b.DeleteRange(p, prefixEnd(p), nil)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("delete group: %w", err)
	}
	g.deleted = true
	return nil
}

// GetGroup implements store.Store.
func (e *Engine) GetGroup(ctx context.Context, scope store.Scope, name string) (store.Group, error) {
	if err := e.enter(); err != nil {
		return store.Group{}, err
	}
	defer e.exit()
	g, err := e.lookup(scope, name)
	if err != nil {
		return store.Group{}, err
	}
	info, deleted := g.snapshot()
	if deleted {
		return store.Group{}, store.ErrGroupNotFound
	}
	return info, nil
}

// UpdateGroup implements store.Store.
func (e *Engine) UpdateGroup(ctx context.Context, scope store.Scope, name string, fn func(*store.Group) error) (err error) {
	defer recoverFatal(&err)
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	g, err := e.lookup(scope, name)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.deleted {
		return store.ErrGroupNotFound
	}
	info := g.info
	info.Tags = cloneTags(g.info.Tags)
	if err := fn(&info); err != nil {
		return err
	}
	info.Scope, info.Name, info.CreationTime = g.info.Scope, g.info.Name, g.info.CreationTime
	old := g.info
	g.info = info
	rec, err := json.Marshal(g.record())
	if err == nil {
		err = e.db.Set(groupKey(scope.Account, scope.Region, name), rec, pebble.Sync)
	}
	if err != nil {
		g.info = old
		return fmt.Errorf("update group: %w", err)
	}
	return nil
}

// ListGroups implements store.Store.
func (e *Engine) ListGroups(ctx context.Context, scope store.Scope, prefix, after string, fn func(store.Group) bool) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	e.mu.RLock()
	var gs []*group
	for _, g := range e.groups {
		if g.scope == scope && strings.HasPrefix(g.name, prefix) && g.name > after {
			gs = append(gs, g)
		}
	}
	e.mu.RUnlock()
	slices.SortFunc(gs, func(a, b *group) int { return strings.Compare(a.name, b.name) })
	for _, g := range gs {
		info, deleted := g.snapshot()
		if deleted {
			continue
		}
		if !fn(info) {
			break
		}
	}
	return nil
}

// CreateStream implements store.Store.
func (e *Engine) CreateStream(ctx context.Context, scope store.Scope, groupName string, s store.Stream) (err error) {
	defer recoverFatal(&err)
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	if err := e.writable(); err != nil {
		return err
	}
	g, err := e.lookup(scope, groupName)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.deleted {
		return store.ErrGroupNotFound
	}
	if g.streams[s.Name] != nil {
		return store.ErrStreamExists
	}
	id, err := e.allocSeq()
	if err != nil {
		return err
	}
	rec := streamRecord{sid: id, created: s.CreationTime}
	if err := e.db.Set(streamKey(g.id, s.Name), rec.encode(), pebble.Sync); err != nil {
		return fmt.Errorf("create stream: %w", err)
	}
	st := &stream{name: s.Name, id: id, created: s.CreationTime}
	g.streams[s.Name] = st
	g.byID[id] = st
	return nil
}

// DeleteStream implements store.Store. The stream disappears at once; the
// janitor reclaims its blocks.
func (e *Engine) DeleteStream(ctx context.Context, scope store.Scope, groupName, name string) (err error) {
	defer recoverFatal(&err)
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	g, err := e.lookup(scope, groupName)
	if err != nil {
		return err
	}
	g.commit.Lock()
	defer g.commit.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.deleted {
		return store.ErrGroupNotFound
	}
	s := g.streams[name]
	if s == nil {
		return store.ErrStreamNotFound
	}
	b := e.db.NewBatch()
	defer b.Close()
	b.Delete(streamKey(g.id, name), nil)
	b.Set(reclaimKey(g.id, s.id), nil, nil)
	b.Merge(groupStatsKey(g.id), groupStats{storedBytes: -s.storedBytes.Load()}.encode(), nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("delete stream: %w", err)
	}
	delete(g.streams, name)
	delete(g.byID, s.id)
	g.storedBytes.Add(-s.storedBytes.Load())
	return nil
}

// GetStream implements store.Store.
func (e *Engine) GetStream(ctx context.Context, scope store.Scope, groupName, name string) (store.Stream, error) {
	if err := e.enter(); err != nil {
		return store.Stream{}, err
	}
	defer e.exit()
	g, err := e.lookup(scope, groupName)
	if err != nil {
		return store.Stream{}, err
	}
	g.mu.RLock()
	s := g.streams[name]
	g.mu.RUnlock()
	if s == nil {
		return store.Stream{}, store.ErrStreamNotFound
	}
	return s.snapshot(), nil
}

// ListStreams implements store.Store.
func (e *Engine) ListStreams(ctx context.Context, scope store.Scope, groupName, prefix, after string, fn func(store.Stream) bool) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer e.exit()
	g, err := e.lookup(scope, groupName)
	if err != nil {
		return err
	}
	g.mu.RLock()
	ss := make([]*stream, 0, len(g.streams))
	for n, s := range g.streams {
		if strings.HasPrefix(n, prefix) && n > after {
			ss = append(ss, s)
		}
	}
	g.mu.RUnlock()
	slices.SortFunc(ss, func(a, b *stream) int { return strings.Compare(a.name, b.name) })
	for _, s := range ss {
		if !fn(s.snapshot()) {
			break
		}
	}
	return nil
}

// Append implements store.Store.
func (e *Engine) Append(ctx context.Context, scope store.Scope, groupName, streamName string, events []store.Event, ingestion int64) (res store.AppendResult, err error) {
	defer recoverFatal(&err)
	if len(events) == 0 {
		return store.AppendResult{}, errors.New("BUG: append of no events")
	}
	if err := e.enter(); err != nil {
		return store.AppendResult{}, err
	}
	defer e.exit()
	if err := e.writable(); err != nil {
		return store.AppendResult{}, err
	}
	g, err := e.lookup(scope, groupName)
	if err != nil {
		return store.AppendResult{}, err
	}
	g.commit.RLock()
	defer g.commit.RUnlock()
	g.mu.RLock()
	s, deleted := g.streams[streamName], g.deleted
	g.mu.RUnlock()
	if deleted {
		return store.AppendResult{}, store.ErrGroupNotFound
	}
	if s == nil {
		return store.AppendResult{}, store.ErrStreamNotFound
	}
	seq, err := e.allocAppendSeq()
	if err != nil {
		return store.AppendResult{}, err
	}
	// Whatever happens from here (a failed commit, a storage panic), the
	// sequence leaves the pending set, so the feed's mark moves on.
	defer e.finishSeq(seq)

	sum := summary{minTs: events[0].Timestamp, maxTs: events[len(events)-1].Timestamp, seq: seq, sid: s.id, count: len(events), ingestion: ingestion}
	gb := e.grams.Get().(*gramBuilder)
	gb.reset()
	var raw int64
	for i := range events {
		m := events[i].Message
		raw += int64(len(m))
		gb.add(unsafeBytes(m))
	}
	sum.rawBytes = raw
	if hasBackslash(events) {
		sum.flags |= flagBackslash
	}
	filter := gb.finish(nil)
	e.grams.Put(gb)

	payload := encodePayload(make([]byte, 0, raw+int64(4*len(events))+8), events)
	compressed := e.enc.EncodeAll(payload, make([]byte, 0, len(payload)/3+64))
	sumVal := encodeSummary(nil, &sum, filter)
	idxVal := encodeIndex(nil, &sum)
	stored := int64(len(compressed) + len(sumVal))

	// Raise the span before committing: a reader that can see this block
	// must seek far enough back to find it (see Read).
	storeMax(&g.maxSpan, sum.maxTs-sum.minTs)

	b := e.db.NewBatchWithSize(len(compressed) + len(sumVal) + len(idxVal) + 256)
	defer b.Close()
	b.Set(blockKey(tagSummary, g.id, sum.minTs, seq), sumVal, nil)
	b.Set(blockKey(tagBlock, g.id, sum.minTs, seq), compressed, nil)
	b.Set(indexKey(g.id, s.id, sum.minTs, seq), idxVal, nil)
	b.Merge(streamKey(g.id, streamName), streamRecord{first: sum.minTs, last: sum.maxTs, lastIngest: ingestion, storedBytes: stored}.encode(), nil)
	b.Merge(groupStatsKey(g.id), groupStats{storedBytes: stored, maxSpan: sum.maxTs - sum.minTs}.encode(), nil)
	b.Set(feedKey(g.id, seq), encodeFeedEntry(&sum), nil)
	e.space.written.Add(int64(b.Len()))
	if err := b.Commit(pebble.Sync); err != nil {
		return store.AppendResult{}, fmt.Errorf("commit block: %w", err)
	}

	storeMin(&s.first, sum.minTs)
	storeMax(&s.last, sum.maxTs)
	storeMax(&s.lastIngest, ingestion)
	s.storedBytes.Add(stored)
	g.storedBytes.Add(stored)

	e.finishSeq(seq) // before notifying: a listener's ReadFeed must see this block
	e.notify(scope, groupName, streamName, seq, events, ingestion)
	return store.AppendResult{Seq: seq}, nil
}

func storeMin(a *atomic.Int64, v int64) {
	for {
		cur := a.Load()
		if cur != 0 && cur <= v {
			return
		}
		if a.CompareAndSwap(cur, v) {
			return
		}
	}
}

func storeMax(a *atomic.Int64, v int64) {
	for {
		cur := a.Load()
		if cur >= v {
			return
		}
		if a.CompareAndSwap(cur, v) {
			return
		}
	}
}

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

// pebbleLogger routes Pebble's log to slog. Pebble calls Fatalf when the
// database cannot go on (a WAL write or sync failed) and expects it not to
// return: it marks the engine failed and panics with a *fatalError, which
// recoverFatal turns back into an error where the engine called Pebble. In
// Pebble's own background goroutines the panic ends the process: fail-stop.
type pebbleLogger struct{ e *Engine }

func (p pebbleLogger) Infof(format string, args ...any) { p.e.log.Debug(fmt.Sprintf(format, args...)) }
func (p pebbleLogger) Errorf(format string, args ...any) {
	p.e.log.Error(fmt.Sprintf(format, args...))
}
func (p pebbleLogger) Fatalf(format string, args ...any) {
	panic(p.e.fatal(fmt.Sprintf(format, args...)))
}

func beUint64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

func beAppend(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

// unsafeBytes views a string's bytes without copying; the result must not be
// modified or kept.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// unsafeString views bytes as a string without copying; the bytes must not
// change while the string is in use.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
