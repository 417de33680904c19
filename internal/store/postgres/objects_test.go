package postgres_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jackc/pgx/v5"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/pgtest"
	"github.com/cairnlog/cairn/internal/server"
	"github.com/cairnlog/cairn/internal/store"
	. "github.com/cairnlog/cairn/internal/store/postgres"
	"github.com/cairnlog/cairn/internal/store/storetest"
)

// s3Server is moto's S3 behind a proxy that counts the requests on block
// objects, the figure the tests check (counted on the wire, outside the
// engine), and can refuse PUTs (a store failing mid-move).
type s3Server struct {
	Endpoint  string // the proxy
	direct    *s3.Client
	gets      atomic.Int64
	puts      atomic.Int64
	deletes   atomic.Int64
	failPuts  atomic.Bool
	bucket    string
	keyPrefix string
}

// startS3 starts moto with a bucket and the counting proxy in front of it.
func startS3(t testing.TB) *s3Server {
	t.Helper()
	moto := harness.StartMoto(t)
	s := &s3Server{bucket: "cairn-blocks", keyPrefix: "/cairn-blocks/"}
	s.direct = s3.New(s3.Options{Region: "us-east-1", UsePathStyle: true, BaseEndpoint: aws.String(moto),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if _, err := s.direct.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(s.bucket)}); err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(moto)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, s.keyPrefix) && strings.Contains(r.URL.Path, "/blocks/") {
			switch r.Method {
			case http.MethodGet:
				s.gets.Add(1)
			case http.MethodPut:
				if s.failPuts.Load() {
					http.Error(w, `<Error><Code>InternalError</Code><Message>refused by the test</Message></Error>`, http.StatusInternalServerError)
					return
				}
				s.puts.Add(1)
			case http.MethodDelete:
				s.deletes.Add(1)
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	s.Endpoint = srv.URL
	return s
}

func (s *s3Server) config(prefix string) *BlocksConfig {
	return &BlocksConfig{URL: "s3://" + s.bucket + "/" + prefix, Endpoint: s.Endpoint, AccessKeyID: "test", SecretAccessKey: "test",
		PathStyle: true, Interval: time.Hour}
}

// keys lists the bucket's objects under prefix, straight from moto.
func (s *s3Server) keys(t testing.TB, prefix string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.direct, &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// offloading is the engine with every block moved to object storage right
// after its Append: the conformance suite then reads every block back from
// the object store.
type offloading struct {
	*Engine
}

func (o offloading) Append(ctx context.Context, scope store.Scope, group, stream string, events []store.Event, ingestionTime int64) (store.AppendResult, error) {
	r, err := o.Engine.Append(ctx, scope, group, stream, events, ingestionTime)
	if err != nil {
		return r, err
	}
	if _, err := OffloadAll(o.Engine, ctx); err != nil {
		return r, fmt.Errorf("offload after append: %w", err)
	}
	// Moved by this pass or by a concurrent one (which confirmed first).
	var moved bool
	if err := Pool(o.Engine).QueryRow(ctx, `SELECT object IS NOT NULL FROM cairn_blocks WHERE seq = $1`, int64(r.Seq)).Scan(&moved); err != nil || !moved {
		return r, fmt.Errorf("block %d not moved after its append: %v", r.Seq, err)
	}
	return r, nil
}

// TestConformanceOffloaded runs the store conformance suite with every
// block in object storage (moto's S3) when it is read.
func TestConformanceOffloaded(t *testing.T) {
	pg := pgtest.Start(t)
	s3s := startS3(t)
	n := 0
	storetest.Run(t, func(t *testing.T) (store.Store, func(*testing.T) store.Store) {
		url := pg.NewDatabase(t)
		n++
		cfg := s3s.config(fmt.Sprintf("suite-%d", n))
		open := func(t *testing.T) store.Store {
			e, err := Open(Config{URL: url, Blocks: cfg})
			if err != nil {
				t.Fatal(err)
			}
			return offloading{e}
		}
		return open(t), open
	})
	if s3s.gets.Load() == 0 || s3s.puts.Load() == 0 {
		t.Fatalf("the suite read no block from object storage: %d PUTs, %d GETs", s3s.puts.Load(), s3s.gets.Load())
	}
	t.Logf("object storage: %d PUTs, %d GETs", s3s.puts.Load(), s3s.gets.Load())
}

// TestOffloadReads: ten blocks an hour old move (the newer one stays), and
// reads GET only the blocks they cannot skip: a time range covering two
// blocks GETs two, a rare term held by one block GETs one, a term no block
// holds GETs none. Counted on the wire.
func TestOffloadReads(t *testing.T) {
	pg := pgtest.Start(t)
	s3s := startS3(t)
	now := time.Now()
	cfg := s3s.config("reads")
	cfg.After = 30 * time.Minute
	cfg.CacheBytes = -1 // every open a GET
	url := pg.NewDatabase(t)
	e, err := Open(Config{URL: url, Blocks: cfg, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	storetest.Setup(t, e, testScope, "g", "s")
	old := now.Add(-time.Hour).UnixMilli()
	base := old - 10*60_000
	for b := 0; b < 10; b++ {
		var evs []store.Event
		for i := 0; i < 100; i++ {
			msg := fmt.Sprintf("block %d event %d GET /api/items status=200", b, i)
			if b == 6 && i == 42 {
				msg = "rare pelicanquartzmarmalade token"
			}
			evs = append(evs, store.Event{Timestamp: base + int64(b)*60_000 + int64(i), Message: msg})
		}
		if _, err := e.Append(ctx, testScope, "g", "s", evs, old); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Append(ctx, testScope, "g", "s", []store.Event{{Timestamp: now.UnixMilli(), Message: "recent"}}, now.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	moved, err := e.Offload(ctx)
	if err != nil || moved != 10 {
		t.Fatalf("Offload: %d moved, %v; want 10", moved, err)
	}
	if keys := s3s.keys(t, "reads/blocks/"); len(keys) != 10 {
		t.Fatalf("%d objects in the bucket, want 10: %v", len(keys), keys)
	}
	var resident, pointing int
	Pool(e).QueryRow(ctx, `SELECT count(*) FILTER (WHERE payload IS NOT NULL), count(*) FILTER (WHERE object IS NOT NULL) FROM cairn_blocks`).Scan(&resident, &pointing)
	if resident != 1 || pointing != 10 {
		t.Fatalf("rows: %d resident, %d moved; want 1 and 10", resident, pointing)
	}

	readAll := func(q store.ReadRequest) []store.StoredEvent {
		t.Helper()
		q.Group, q.Name, q.Limit = testScope, "g", 10_000
		var out []store.StoredEvent
		for {
			p, err := e.Read(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, p.Events...)
			if p.Next == nil {
				return out
			}
			q.After = p.Next
		}
	}
	gets := func(fn func()) int64 {
		before := s3s.gets.Load()
		fn()
		return s3s.gets.Load() - before
	}

	// Blocks 3 and 4 (minutes 3 and 4 of the ten).
	var got []store.StoredEvent
	n := gets(func() { got = readAll(store.ReadRequest{Start: base + 3*60_000, End: base + 5*60_000}) })
	if len(got) != 200 || n != 2 {
		t.Fatalf("time range of two blocks: %d events with %d GETs, want 200 with 2", len(got), n)
	}
	if got[0].Message != "block 3 event 0 GET /api/items status=200" || got[199].Message != "block 4 event 99 GET /api/items status=200" {
		t.Fatalf("time range: first %q, last %q", got[0].Message, got[199].Message)
	}
	n = gets(func() { got = readAll(store.ReadRequest{Filter: substrFilter("pelicanquartzmarmalade")}) })
	if len(got) != 1 || got[0].Message != "rare pelicanquartzmarmalade token" || n != 1 {
		t.Fatalf("rare term: %d events with %d GETs, want 1 with 1", len(got), n)
	}
	n = gets(func() { got = readAll(store.ReadRequest{Filter: substrFilter("zebrafinchxylophone")}) })
	if len(got) != 0 || n != 0 {
		t.Fatalf("absent term: %d events with %d GETs, want none", len(got), n)
	}
	// Everything, backward: every moved block once, the recent one from the row.
	n = gets(func() { got = readAll(store.ReadRequest{Backward: true}) })
	if len(got) != 1001 || n != 10 || got[0].Message != "recent" {
		t.Fatalf("whole group backward: %d events with %d GETs, want 1001 with 10", len(got), n)
	}
	// Scan (Insights) too.
	var scanned int
	n = gets(func() {
		if _, err := e.Scan(ctx, store.ScanRequest{Scope: testScope, Groups: []string{"g"}, Filter: substrFilter("pelicanquartzmarmalade")},
			func(b store.ScanBlock) bool { scanned += len(b.Events); return true }); err != nil {
			t.Fatal(err)
		}
	})
	if scanned != 1 || n != 1 {
		t.Fatalf("scan for the rare term: %d events with %d GETs, want 1 with 1", scanned, n)
	}
	// The feed (a subscription far behind) reads moved blocks too.
	feed, err := e.ReadFeed(ctx, store.FeedRequest{Scope: testScope, Group: "g", Limit: 10_000})
	if err != nil || len(feed.Events) != 1001 {
		t.Fatalf("ReadFeed: %d events, %v", len(feed.Events), err)
	}

	// With the cache (the default), a read repeated GETs nothing.
	cached := *cfg
	cached.CacheBytes = 0
	c, err := Open(Config{URL: url, Blocks: &cached, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	e = c
	first := gets(func() { got = readAll(store.ReadRequest{Start: base + 3*60_000, End: base + 5*60_000}) })
	again := gets(func() { got = readAll(store.ReadRequest{Start: base + 3*60_000, End: base + 5*60_000}) })
	if first != 2 || again != 0 || len(got) != 200 {
		t.Fatalf("cached node: %d GETs, then %d for the same read (%d events); want 2 then 0", first, again, len(got))
	}
}

// TestOffloadRetention: retention and DeleteGroup delete the moved blocks'
// objects (through the trash records the deleting statement writes), and
// the stored bytes come off as for resident blocks.
func TestOffloadRetention(t *testing.T) {
	pg := pgtest.Start(t)
	s3s := startS3(t)
	now := time.Now()
	e, err := Open(Config{URL: pg.NewDatabase(t), Blocks: s3s.config("ret"), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	storetest.Setup(t, e, testScope, "keep", "s")
	storetest.Setup(t, e, testScope, "short", "s")
	storetest.Setup(t, e, testScope, "gone", "s")
	day := int64(86_400_000)
	for _, g := range []string{"keep", "short", "gone"} {
		for _, age := range []int64{10, 5, 0} {
			ts := now.UnixMilli() - age*day
			if _, err := e.Append(ctx, testScope, g, "s", []store.Event{{Timestamp: ts, Message: fmt.Sprintf("%s %d days old", g, age)}}, ts); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n, err := OffloadAll(e, ctx); err != nil || n != 9 {
		t.Fatalf("offload: %d, %v", n, err)
	}
	stored := func(g string) int64 {
		gr, err := e.GetGroup(ctx, testScope, g)
		if err != nil {
			t.Fatal(err)
		}
		return gr.StoredBytes
	}
	before := stored("short")
	if err := e.UpdateGroup(ctx, testScope, "short", func(g *store.Group) error { g.RetentionDays = 7; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteGroup(ctx, testScope, "gone"); err != nil {
		t.Fatal(err)
	}
	if n, err := e.Expire(ctx); err != nil || n != 1 {
		t.Fatalf("Expire: %d, %v; want 1", n, err)
	}
	if after := stored("short"); after >= before || after <= 0 {
		t.Fatalf("stored bytes of short: %d before, %d after", before, after)
	}
	if len(s3s.keys(t, "ret/")) != 9 {
		t.Fatal("objects deleted before the collector ran")
	}
	if n, err := Collect(e, ctx); err != nil || n != 4 {
		t.Fatalf("collect: %d deleted, %v; want 4 (1 expired, 3 of the deleted group)", n, err)
	}
	keys := s3s.keys(t, "ret/")
	if len(keys) != 5 {
		t.Fatalf("%d objects left, want 5: %v", len(keys), keys)
	}
	checkNoDangling(t, e, s3s)
	var left int
	Pool(e).QueryRow(ctx, `SELECT count(*) FROM cairn_objects`).Scan(&left)
	if left != 0 {
		t.Fatalf("%d object records left", left)
	}
}

// checkNoDangling: every row that points at an object finds it there.
func checkNoDangling(t *testing.T, e *Engine, s3s *s3Server) {
	t.Helper()
	rows, err := Pool(e).Query(context.Background(), `SELECT object FROM cairn_blocks WHERE object IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	want, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	have := s3s.keys(t, "")
	for _, k := range want {
		if !slices.Contains(have, k) {
			t.Fatalf("row points at %s, which is not in the bucket", k)
		}
	}
}

// TestOffloadCrash: a node that dies between the PUT and the commit that
// points the row at the object leaves an orphan object, never a row
// pointing at nothing; the block stays readable from its row, and a later
// collector (on another engine, past the grace) deletes the orphan. A PUT
// the store refuses leaves the row as it was.
func TestOffloadCrash(t *testing.T) {
	pg := pgtest.Start(t)
	s3s := startS3(t)
	url := pg.NewDatabase(t)
	cfg := s3s.config("crash")
	a, err := Open(Config{URL: url, Blocks: cfg})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	storetest.Setup(t, a, testScope, "g", "s")
	old := time.Now().Add(-2 * time.Hour).UnixMilli()
	for i := 0; i < 3; i++ {
		if _, err := a.Append(ctx, testScope, "g", "s", []store.Event{{Timestamp: old + int64(i), Message: fmt.Sprintf("event %d", i)}}, old); err != nil {
			t.Fatal(err)
		}
	}
	// The crash: reserved and written, the node gone before the commit.
	var gid, seq int64
	var payload []byte
	if err := Pool(a).QueryRow(ctx, `SELECT gid, seq, payload FROM cairn_blocks ORDER BY seq LIMIT 1`).Scan(&gid, &seq, &payload); err != nil {
		t.Fatal(err)
	}
	orphan := NewObjectKey(a, gid, seq)
	if _, err := Pool(a).Exec(ctx, `INSERT INTO cairn_objects (key, kind) VALUES ($1, $2)`, orphan, ObjPending); err != nil {
		t.Fatal(err)
	}
	if err := PutObject(a, ctx, orphan, payload); err != nil {
		t.Fatal(err)
	}
	// A refused PUT: nothing moves, the reservation stays.
	s3s.failPuts.Store(true)
	if n, err := a.Offload(ctx); err == nil || n != 0 {
		t.Fatalf("Offload with PUTs refused: %d moved, %v", n, err)
	}
	s3s.failPuts.Store(false)
	a.Close()

	checkRows := func(e *Engine, wantMoved int) {
		t.Helper()
		var moved int
		Pool(e).QueryRow(ctx, `SELECT count(*) FROM cairn_blocks WHERE object IS NOT NULL`).Scan(&moved)
		if moved != wantMoved {
			t.Fatalf("%d blocks point at objects, want %d", moved, wantMoved)
		}
		checkNoDangling(t, e, s3s)
		p, err := e.Read(ctx, store.ReadRequest{Group: testScope, Name: "g", Limit: 100})
		if err != nil || len(p.Events) != 3 || p.Events[0].Message != "event 0" || p.Events[2].Message != "event 2" {
			t.Fatalf("read after the crash: %+v %v", p.Events, err)
		}
	}
	// Within the grace the orphan is left alone (its node might be slow).
	b, err := Open(Config{URL: url, Blocks: cfg})
	if err != nil {
		t.Fatal(err)
	}
	checkRows(b, 0)
	if n, err := Collect(b, ctx); err != nil || n != 0 {
		t.Fatalf("collect within the grace: %d deleted, %v", n, err)
	}
	if !slices.Contains(s3s.keys(t, "crash/"), orphan) {
		t.Fatal("the orphan went within the grace")
	}
	b.Close()
	// Past it (a grace of a millisecond), it goes; the moves then succeed.
	short := *cfg
	short.OrphanGrace = time.Millisecond
	c, err := Open(Config{URL: url, Blocks: &short})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	harness.CheckFor(t, 10*time.Second, 10*time.Millisecond, func() error {
		if _, err := Collect(c, ctx); err != nil {
			return err
		}
		if slices.Contains(s3s.keys(t, "crash/"), orphan) {
			return fmt.Errorf("orphan %s still there", orphan)
		}
		return nil
	})
	if n, err := c.Offload(ctx); err != nil || n != 3 {
		t.Fatalf("Offload after recovery: %d, %v", n, err)
	}
	checkRows(c, 3)
	if keys := s3s.keys(t, "crash/"); len(keys) != 3 {
		t.Fatalf("objects after recovery: %v", keys)
	}
	// A late confirmation of a node the collector judged dead loses: the
	// row is not pointed at the object it deleted.
	if _, err := Pool(c).Exec(ctx, `UPDATE cairn_blocks SET payload = $1, object = NULL WHERE seq = $2`, payload, seq); err != nil {
		t.Fatal(err)
	}
	late := NewObjectKey(c, gid, seq)
	if _, err := Pool(c).Exec(ctx, `INSERT INTO cairn_objects (key, kind, since) VALUES ($1, $2, now() - interval '1 hour')`, late, ObjPending); err != nil {
		t.Fatal(err)
	}
	if _, err := Pool(c).Exec(ctx, `UPDATE cairn_objects SET kind = $1 WHERE key = $2`, ObjTrash, late); err != nil { // what collect does first
		t.Fatal(err)
	}
	if err := PutObject(c, ctx, late, payload); err != nil {
		t.Fatal(err)
	}
	var confirmed bool
	err = func() error {
		ok, err := Confirm(c, ctx, gid, seq, late)
		confirmed = ok
		return err
	}()
	if err != nil || confirmed {
		t.Fatalf("late confirmation: %v %v", confirmed, err)
	}
	if _, err := Collect(c, ctx); err != nil {
		t.Fatal(err)
	}
	checkNoDangling(t, c, s3s)
	if slices.Contains(s3s.keys(t, "crash/"), late) {
		t.Fatal("the late object was not collected")
	}
}

var testScope = store.Scope{Account: "000000000000", Region: "us-east-1"}

type substrFilter string

func (s substrFilter) Match(m string) bool             { return strings.Contains(m, string(s)) }
func (s substrFilter) Required() []string              { return []string{string(s)} }
func (s substrFilter) RequiredUnlessEscaped() []string { return nil }

// TestServerOffload: a Cairn server on PostgreSQL with --blocks on moto,
// driven with the AWS SDK: the blocks it ingested move to the bucket in the
// background, and GetLogEvents, FilterLogEvents and DescribeLogStreams
// answer as before, a rare-term filter GETting only the block that holds
// the term.
func TestServerOffload(t *testing.T) {
	pg := pgtest.Start(t)
	s3s := startS3(t)
	cfg := s3s.config("node")
	cfg.After, cfg.Interval, cfg.CacheBytes = time.Millisecond, 20*time.Millisecond, -1
	db := pg.NewDatabase(t)
	srv := harness.Start(t, harness.WithStore(db), harness.Configure(func(c *server.Config) { c.Blocks = cfg }))
	conn, err := pgx.Connect(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	cl := srv.Client()
	ctx := context.Background()
	if _, err := cl.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("app")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Minute).UnixMilli()
	var want []string
	for b := 0; b < 8; b++ {
		var evs []types.InputLogEvent
		for i := 0; i < 50; i++ {
			msg := fmt.Sprintf("batch %d line %d user=u%d action=view", b, i, i%7)
			if b == 5 && i == 17 {
				msg = "batch 5 saw the cormorantjubilee error"
			}
			want = append(want, msg)
			evs = append(evs, types.InputLogEvent{Timestamp: aws.Int64(start + int64(b*50+i)), Message: aws.String(msg)})
		}
		if _, err := cl.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("web"), LogEvents: evs}); err != nil {
			t.Fatal(err)
		}
	}
	harness.CheckFor(t, 30*time.Second, 20*time.Millisecond, func() error {
		if n := len(s3s.keys(t, "node/blocks/")); n != 8 {
			return fmt.Errorf("%d of 8 blocks moved", n)
		}
		// The object is written before its row points at it: wait for
		// the rows too, or the read below is answered from PostgreSQL.
		var pointing int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM cairn_blocks WHERE object IS NOT NULL AND payload IS NULL`).Scan(&pointing); err != nil {
			return err
		}
		if pointing != 8 {
			return fmt.Errorf("%d of 8 rows point at their object", pointing)
		}
		return nil
	})
	before := s3s.gets.Load()
	f, err := cl.FilterLogEvents(ctx, &cwl.FilterLogEventsInput{LogGroupName: aws.String("app"), FilterPattern: aws.String("cormorantjubilee")})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Events) != 1 || aws.ToString(f.Events[0].Message) != "batch 5 saw the cormorantjubilee error" {
		t.Fatalf("FilterLogEvents: %+v", f.Events)
	}
	if n := s3s.gets.Load() - before; n != 1 {
		t.Fatalf("the rare-term filter made %d GETs, want 1", n)
	}
	var got []string
	p := cwl.NewGetLogEventsPaginator(cl, &cwl.GetLogEventsInput{LogGroupName: aws.String("app"), LogStreamName: aws.String("web"),
		StartFromHead: aws.Bool(true), Limit: aws.Int32(120)})
	for p.HasMorePages() && len(got) < len(want)+1 {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Events) == 0 {
			break
		}
		for _, e := range out.Events {
			got = append(got, aws.ToString(e.Message))
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("GetLogEvents gave %d events, want %d (first %q)", len(got), len(want), got[:min(1, len(got))])
	}
	d, err := cl.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("app")})
	if err != nil || len(d.LogStreams) != 1 || aws.ToInt64(d.LogStreams[0].LastEventTimestamp) != start+399 {
		t.Fatalf("DescribeLogStreams: %+v %v", d, err)
	}
}
