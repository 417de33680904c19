package postgres

import (
	"bytes"
	"container/list"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/jackc/pgx/v5"

	"github.com/cairnlog/cairn/internal/store"
)

// Object storage for blocks (optional: BlocksConfig). Sealed blocks older
// than BlocksConfig.After move from cairn_blocks.payload to one object each
// in an S3-compatible store; the row keeps its summary (time range, stream,
// grams) and the object's key, so reads skip blocks exactly as before and
// GET only the ones they open.
//
// A move is crash-safe: nothing ever points at an object that is not
// there, and an object nothing points at is found again and deleted.
// cairn_objects records every object that may exist without a row
// pointing at it:
//
//	pending (kind 0): reserved before the PUT; the same transaction that
//	  makes the block row point at the object (after the PUT was verified
//	  with a HEAD) deletes it. A node dying between the PUT and that
//	  commit leaves the pending record, and the collector deletes the
//	  object once the record is older than BlocksConfig.OrphanGrace.
//	trash (kind 1): written in the transaction that deletes block rows
//	  (retention, DeleteGroup); the collector deletes the object, then the
//	  record.
//
// The collector turns a stale pending record into trash (one UPDATE,
// which waits for and then loses to a concurrent confirmation under the
// row's lock) before deleting anything, so a late confirmation of a slow
// node cannot make a row point at an object being deleted. Keys are unique
// per attempt (a random suffix), so deleting one attempt's orphan never
// touches another attempt's object.
//
// The mover and the collector run on the node holding the "blocks-offload"
// lease.

const (
	objPending = 0
	objTrash   = 1
)

// DefaultOffloadAfter is how old (by ingestion time) a block gets before it
// moves to object storage.
const DefaultOffloadAfter = time.Hour

// DefaultOffloadInterval is how often the lease holder looks for blocks to
// move and objects to delete.
const DefaultOffloadInterval = time.Minute

// DefaultOrphanGrace is how long a pending object may stay unconfirmed
// before it counts as the orphan of a node that died mid-move: far longer
// than one PUT, HEAD and commit take.
const DefaultOrphanGrace = 10 * time.Minute

// BlocksConfig moves blocks to an S3-compatible object store.
type BlocksConfig struct {
	// URL is s3://bucket/prefix (prefix optional); the bucket must exist.
	URL string
	// Endpoint is the S3 API's base URL, e.g. http://127.0.0.1:9000; empty
	// means AWS's endpoint for Region.
	Endpoint string
	// Region signs the requests; empty means us-east-1.
	Region string
	// AccessKeyID and SecretAccessKey sign the requests. Both are required:
	// libraries read no environment, so the SDK's default chain is not
	// consulted.
	AccessKeyID, SecretAccessKey string
	// PathStyle addresses the bucket as ENDPOINT/BUCKET (most
	// S3-compatible stores need it).
	PathStyle bool
	// After is the age (by ingestion time) at which a block moves; 0 means
	// DefaultOffloadAfter.
	After time.Duration
	// Interval is how often the mover runs; 0 means DefaultOffloadInterval.
	Interval time.Duration
	// OrphanGrace: see DefaultOrphanGrace; 0 means it.
	OrphanGrace time.Duration
	// CacheBytes bounds the cache of fetched objects (compressed, as
	// stored); 0 means DefaultObjectCache, a negative value no cache.
	CacheBytes int64
}

// DefaultObjectCache is the default bound of the fetched-object cache: a
// client paging through an old range reopens the blocks a page ended in,
// and an Insights query rereads what the last one read. Objects never
// change (each move writes a new key), so the cache cannot go stale: a
// key it holds is reached only through a row that still points at it.
const DefaultObjectCache = 64 << 20

// ParseBlocksURL splits s3://bucket/prefix; the prefix, when not empty,
// ends with "/".
func ParseBlocksURL(s string) (bucket, prefix string, err error) {
	u, err := url.Parse(s)
	if err == nil && u.User != nil {
		// Not echoed: the part before @ may be a key.
		return "", "", errors.New("--blocks must be s3://bucket/prefix, without credentials (those go in CAIRN_BLOCKS_ACCESS_KEY_ID and CAIRN_BLOCKS_SECRET_ACCESS_KEY)")
	}
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || strings.Contains(s, "@") {
		return "", "", fmt.Errorf("--blocks must be s3://bucket/prefix, not %q", redactAt(s))
	}
	if !validBucket(u.Host) {
		return "", "", fmt.Errorf("--blocks bucket %q is not a valid S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit)", u.Host)
	}
	// Runs of slashes collapse: S3 would store "a//b/" as a key with an
	// empty path segment, which nobody means in a prefix.
	var parts []string
	for _, p := range strings.Split(u.Path, "/") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	prefix = strings.Join(parts, "/")
	if !utf8.ValidString(prefix) || strings.ContainsFunc(prefix, unicode.IsControl) {
		return "", "", fmt.Errorf("--blocks prefix %q holds a control character or invalid UTF-8", prefix)
	}
	if prefix != "" {
		prefix += "/"
	}
	return u.Host, prefix, nil
}

// validBucket applies S3's naming rules for general-purpose buckets
// (docs: "Bucket naming rules"), which S3-compatible stores share. The
// legacy us-east-1 names with capitals or underscores are not accepted:
// a virtual-hosted request cannot address them.
func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '.' || c == '-') && i > 0 && i < len(b)-1:
		default:
			return false
		}
	}
	return !strings.Contains(b, "..")
}

// redactAt keeps what may be a key before an @ out of an error.
func redactAt(s string) string {
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		return "…@" + s[i+1:]
	}
	return s
}

// objectStore is the bucket blocks move to.
type objectStore struct {
	c      *s3.Client
	bucket string
	prefix string
	cfg    BlocksConfig
	cache  *objectCache
}

func newObjectStore(cfg BlocksConfig) (*objectStore, error) {
	bucket, prefix, err := ParseBlocksURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
		return nil, errors.New("--blocks needs an access key id and secret access key")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.After <= 0 {
		cfg.After = DefaultOffloadAfter
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultOffloadInterval
	}
	if cfg.OrphanGrace <= 0 {
		cfg.OrphanGrace = DefaultOrphanGrace
	}
	o := s3.Options{Region: cfg.Region, UsePathStyle: cfg.PathStyle,
		Credentials: credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")}
	if cfg.Endpoint != "" {
		o.BaseEndpoint = aws.String(cfg.Endpoint)
	}
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = DefaultObjectCache
	}
	return &objectStore{c: s3.New(o), bucket: bucket, prefix: prefix, cfg: cfg, cache: newObjectCache(cfg.CacheBytes)}, nil
}

// check makes sure the bucket answers, so a wrong setting fails at start.
func (o *objectStore) check(ctx context.Context) error {
	if _, err := o.c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(o.bucket)}); err != nil {
		return fmt.Errorf("postgres: object storage s3://%s: %w", o.bucket, err)
	}
	return nil
}

// key names a new object for block (gid, seq), unique per attempt.
func (o *objectStore) key(gid, seq int64) string {
	var r [6]byte
	rand.Read(r[:])
	return o.prefix + "blocks/" + strconv.FormatInt(gid, 10) + "/" + strconv.FormatInt(seq, 10) + "-" + hex.EncodeToString(r[:])
}

// put writes body and verifies it: the store checks Content-MD5 against
// what it received, and a HEAD confirms the object is there at its length
// before anything points at it.
func (o *objectStore) put(ctx context.Context, key string, body []byte) error {
	sum := md5.Sum(body)
	_, err := o.c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(o.bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))), ContentMD5: aws.String(base64.StdEncoding.EncodeToString(sum[:])),
		ContentType: aws.String("application/octet-stream")})
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	h, err := o.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(o.bucket), Key: aws.String(key)})
	if err != nil {
		return fmt.Errorf("verify %s: %w", key, err)
	}
	if aws.ToInt64(h.ContentLength) != int64(len(body)) {
		return fmt.Errorf("verify %s: %d bytes stored, %d written", key, aws.ToInt64(h.ContentLength), len(body))
	}
	return nil
}

var errNoObject = errors.New("no such object")

// get reads an object, from the cache when it holds it; errNoObject when
// it is not there.
func (o *objectStore) get(ctx context.Context, key string) ([]byte, error) {
	if p, ok := o.cache.get(key); ok {
		return p, nil
	}
	out, err := o.c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(o.bucket), Key: aws.String(key)})
	if err != nil {
		var nk *s3types.NoSuchKey
		if errors.As(err, &nk) {
			return nil, errNoObject
		}
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	defer out.Body.Close()
	var buf bytes.Buffer
	if n := aws.ToInt64(out.ContentLength); n > 0 && n < 1<<30 {
		buf.Grow(int(n))
	}
	if _, err := buf.ReadFrom(out.Body); err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	o.cache.put(key, buf.Bytes())
	return buf.Bytes(), nil
}

// remove deletes an object; one already gone is not an error (S3's
// DELETE answers 204 either way).
func (o *objectStore) remove(ctx context.Context, key string) error {
	_, err := o.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(o.bucket), Key: aws.String(key)})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchKey" {
		return nil
	}
	return err
}

// fetchObject reads a block's payload from its object. A missing object is
// a block deleted since its row was read (retention, DeleteGroup: the
// collector may delete the object right after): nil, nil. If the row is
// still there pointing at it, the object was lost, and that is an error,
// never an empty block.
func (e *Engine) fetchObject(ctx context.Context, gid int64, seq uint64, key string) ([]byte, error) {
	if e.objects == nil {
		return nil, fmt.Errorf("block %d/%d is in object storage (%s), and this node was started without --blocks", gid, seq, key)
	}
	p, err := e.objects.get(ctx, key)
	if !errors.Is(err, errNoObject) {
		return p, err
	}
	var n int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM cairn_blocks WHERE gid = $1 AND seq = $2 AND object = $3`, gid, int64(seq), key).Scan(&n); err != nil {
		return nil, err
	}
	if n > 0 {
		return nil, fmt.Errorf("block %d/%d: its object %s is missing from the object store", gid, seq, key)
	}
	return nil, nil
}

// fetchObjects fills the payload of each block in bs from its object, up to
// getParallel at a time; a block deleted since gets an empty payload.
const getParallel = 8

func (e *Engine) fetchObjects(ctx context.Context, gid int64, bs []*blockRow) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, getParallel)
	for _, b := range bs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			p, err := e.fetchObject(ctx, gid, b.seq, b.object)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = err
				}
				return
			}
			if p == nil {
				p = []byte{}
			}
			b.payload = p
		}()
	}
	wg.Wait()
	return first
}

// offloadBatch is how many blocks one pass of the mover selects per query.
const offloadBatch = 64

// Offload moves every block older than BlocksConfig.After to the object
// store and reports how many it moved; the mover runs it on the lease
// holder, tests call it directly. Without object storage it does nothing.
func (e *Engine) Offload(ctx context.Context) (int, error) {
	if e.objects == nil {
		return 0, nil
	}
	return e.offload(ctx, e.cfg.Now().Add(-e.objects.cfg.After).UnixMilli())
}

// offload moves the blocks ingested before cutoff (ms).
func (e *Engine) offload(ctx context.Context, cutoff int64) (int, error) {
	if err := e.enter(); err != nil {
		return 0, err
	}
	defer e.exit()
	moved := 0
	for {
		rows, err := e.pool.Query(ctx, `SELECT gid, seq, payload FROM cairn_blocks
			WHERE object IS NULL AND ingestion < $1 ORDER BY ingestion LIMIT $2`, cutoff, offloadBatch)
		if err != nil {
			return moved, wrap(err)
		}
		type todo struct {
			gid, seq int64
			payload  []byte
		}
		var batch []todo
		for rows.Next() {
			var t todo
			if err := rows.Scan(&t.gid, &t.seq, &t.payload); err != nil {
				rows.Close()
				return moved, wrap(err)
			}
			batch = append(batch, t)
		}
		if err := rows.Err(); err != nil {
			return moved, wrap(err)
		}
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			first error
			n     int
		)
		sem := make(chan struct{}, getParallel)
		for _, t := range batch {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				ok, err := e.moveOne(ctx, t.gid, t.seq, t.payload)
				mu.Lock()
				defer mu.Unlock()
				if err != nil && first == nil {
					first = err
				}
				if ok {
					n++
				}
			}()
		}
		wg.Wait()
		moved += n
		if first != nil {
			return moved, first
		}
		if len(batch) < offloadBatch || n == 0 {
			return moved, nil
		}
	}
}

// moveOne moves one block: reserve, PUT and verify, then point the row at
// the object and drop the reservation in one transaction. ok is false when
// the block went away meanwhile (its reservation stays for the collector).
func (e *Engine) moveOne(ctx context.Context, gid, seq int64, payload []byte) (ok bool, err error) {
	key := e.objects.key(gid, seq)
	if _, err := e.pool.Exec(ctx, `INSERT INTO cairn_objects (key, kind) VALUES ($1, $2)`, key, objPending); err != nil {
		return false, wrap(err)
	}
	if err := e.objects.put(ctx, key, payload); err != nil {
		// The reservation stays: the collector deletes whatever part of
		// the object may have been stored.
		return false, fmt.Errorf("postgres: moving block %d/%d: %w", gid, seq, err)
	}
	return e.confirm(ctx, gid, seq, key)
}

// confirm points the row at the verified object and drops the reservation,
// in one transaction. ok is false when the collector took the reservation
// meanwhile (it deletes the object) or the block went away (the
// reservation stays, for the collector).
func (e *Engine) confirm(ctx context.Context, gid, seq int64, key string) (ok bool, err error) {
	lost := false
	err = pgx.BeginFunc(ctx, e.pool, func(tx pgx.Tx) error {
		// The DELETE takes the record's lock: a collector turning it into
		// trash at the same moment commits first (and this finds no
		// pending record) or waits for this commit.
		tag, err := tx.Exec(ctx, `DELETE FROM cairn_objects WHERE key = $1 AND kind = $2`, key, objPending)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			lost = true
			return nil
		}
		tag, err = tx.Exec(ctx, `UPDATE cairn_blocks SET object = $3, object_bytes = length(payload), payload = NULL
			WHERE gid = $1 AND seq = $2 AND object IS NULL`, gid, seq, key)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errGone // roll back: the reservation stays for the collector
		}
		ok = true
		return nil
	})
	if errors.Is(err, errGone) || lost {
		return false, nil
	}
	return ok, wrap(err)
}

var errGone = errors.New("block gone")

// collect deletes the objects of trash records, and of pending records
// older than the grace (turned into trash first); it reports how many
// objects it deleted.
func (e *Engine) collect(ctx context.Context) (int, error) {
	if err := e.enter(); err != nil {
		return 0, err
	}
	defer e.exit()
	if _, err := e.pool.Exec(ctx, `UPDATE cairn_objects SET kind = $1 WHERE kind = $2 AND since < clock_timestamp() - make_interval(secs => $3)`,
		objTrash, objPending, e.objects.cfg.OrphanGrace.Seconds()); err != nil {
		return 0, wrap(err)
	}
	deleted := 0
	for {
		rows, err := e.pool.Query(ctx, `SELECT key FROM cairn_objects WHERE kind = $1 ORDER BY key LIMIT $2`, objTrash, offloadBatch)
		if err != nil {
			return deleted, wrap(err)
		}
		keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return deleted, wrap(err)
		}
		for _, k := range keys {
			if err := e.objects.remove(ctx, k); err != nil {
				return deleted, fmt.Errorf("postgres: deleting object %s: %w", k, err)
			}
			if _, err := e.pool.Exec(ctx, `DELETE FROM cairn_objects WHERE key = $1 AND kind = $2`, k, objTrash); err != nil {
				return deleted, wrap(err)
			}
			deleted++
		}
		if len(keys) < offloadBatch {
			return deleted, nil
		}
	}
}

// mover runs Offload and collect every Interval while this node holds the
// "blocks-offload" lease, until ctx ends.
func (e *Engine) mover(ctx context.Context) {
	defer close(e.moverDone)
	lease := store.NewLease(e, "blocks-offload", nil)
	defer lease.Close()
	t := time.NewTicker(e.objects.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !lease.Held() {
			continue
		}
		if n, err := e.Offload(ctx); err != nil && ctx.Err() == nil {
			e.cfg.Logger.Warn("blocks: moving blocks to object storage failed", "err", err)
		} else if n > 0 {
			e.cfg.Logger.Debug("blocks: moved to object storage", "blocks", n)
		}
		if _, err := e.collect(ctx); err != nil && ctx.Err() == nil {
			e.cfg.Logger.Warn("blocks: deleting unused objects failed", "err", err)
		}
	}
}

// objectCache is a byte-bounded LRU of fetched objects (nil: none). The
// payloads it returns are shared: decode only reads them.
type objectCache struct {
	mu    sync.Mutex
	limit int64
	size  int64
	order *list.List // front: most recent; values are *cached
	byKey map[string]*list.Element
}

type cached struct {
	key     string
	payload []byte
}

func newObjectCache(limit int64) *objectCache {
	if limit <= 0 {
		return nil
	}
	return &objectCache{limit: limit, order: list.New(), byKey: map[string]*list.Element{}}
}

func (c *objectCache) get(key string) ([]byte, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cached).payload, true
}

func (c *objectCache) put(key string, payload []byte) {
	if c == nil || int64(len(payload)) > c.limit/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byKey[key]; ok {
		return
	}
	c.byKey[key] = c.order.PushFront(&cached{key, payload})
	c.size += int64(len(payload))
	for c.size > c.limit {
		el := c.order.Back()
		v := el.Value.(*cached)
		c.order.Remove(el)
		delete(c.byKey, v.key)
		c.size -= int64(len(v.payload))
	}
}
