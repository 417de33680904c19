package export_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/logs/export"
	"github.com/cairnlog/cairn/internal/server"
)

func s3Client(endpoint string) *s3.Client {
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
}

// gate is a reverse proxy in front of moto that holds PUTs of the
// permission probe until opened, so a test can see a task RUNNING.
type gate struct {
	mu   sync.Mutex
	open chan struct{}
	held chan struct{} // a probe PUT is waiting
}

func newGate(t *testing.T, target string) (*gate, string) {
	u, _ := url.Parse(target)
	g := &gate{open: make(chan struct{}), held: make(chan struct{}, 16)}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "aws-logs-write-test") {
			g.mu.Lock()
			open := g.open
			g.mu.Unlock()
			g.held <- struct{}{}
			select {
			case <-open:
			case <-r.Context().Done():
				return
			}
		}
		rp.ServeHTTP(w, r)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { g.release(); srv.Close() })
	return g, "http://" + ln.Addr().String()
}

func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
	default:
		close(g.open)
	}
}

func (g *gate) shut() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = make(chan struct{})
}

func status(t testing.TB, c *cwl.Client, id string) types.ExportTask {
	t.Helper()
	out, err := c.DescribeExportTasks(context.Background(), &cwl.DescribeExportTasksInput{TaskId: aws.String(id)})
	if err != nil || len(out.ExportTasks) != 1 {
		t.Fatalf("describe %s: %+v %v", id, out, err)
	}
	return out.ExportTasks[0]
}

func waitStatus(t testing.TB, c *cwl.Client, id string, code types.ExportTaskStatusCode) types.ExportTask {
	t.Helper()
	var last types.ExportTask
	harness.CheckFor(t, 60*time.Second, 20*time.Millisecond, func() error {
		last = status(t, c, id)
		if last.Status.Code != code {
			return fmt.Errorf("task %s is %s (%s), want %s", id, last.Status.Code, aws.ToString(last.Status.Message), code)
		}
		return nil
	})
	return last
}

type sent struct{ stream, line string }

// TestExportToS3: every rule of the three operations, then the objects read
// back from moto's S3 with the SDK: every event of [from, to] of the
// selected streams, once, and nothing else.
func TestExportToS3(t *testing.T) {
	moto := harness.StartMoto(t)
	ctx := context.Background()
	s3c := s3Client(moto)
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("exports")}); err != nil {
		t.Fatal(err)
	}
	g, proxied := newGate(t, moto)
	h := harness.Start(t, harness.Configure(func(c *server.Config) {
		c.Export = export.SinkConfig{S3: &export.S3Config{Endpoint: proxied, AccessKeyID: "test", SecretAccessKey: "test", PathStyle: true}}
		c.ExportChunkBytes = 4000 // several objects per stream
	}))
	c := h.Client()
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("/app")}); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).UnixMilli()
	from, to := base+100, base+500
	var want []sent
	for _, st := range []string{"web-1", "web-2", "worker"} {
		if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("/app"), LogStreamName: aws.String(st)}); err != nil {
			t.Fatal(err)
		}
		for b := 0; b < 3; b++ {
			var evs []types.InputLogEvent
			for i := 0; i < 200; i++ {
				ts := base + int64(b*200+i)
				msg := fmt.Sprintf("%s batch %d event %d", st, b, i)
				evs = append(evs, types.InputLogEvent{Timestamp: aws.Int64(ts), Message: aws.String(msg)})
				if ts >= from && ts <= to && strings.HasPrefix(st, "web-") {
					want = append(want, sent{st, time.UnixMilli(ts).UTC().Format("2006-01-02T15:04:05.000Z") + " " + msg})
				}
			}
			if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("/app"), LogStreamName: aws.String(st), LogEvents: evs}); err != nil {
				t.Fatal(err)
			}
		}
	}
	create := func(in cwl.CreateExportTaskInput) (string, error) {
		out, err := c.CreateExportTask(ctx, &in)
		if err != nil {
			return "", err
		}
		return *out.TaskId, nil
	}
	good := cwl.CreateExportTaskInput{LogGroupName: aws.String("/app"), From: aws.Int64(from), To: aws.Int64(to), Destination: aws.String("exports"),
		LogStreamNamePrefix: aws.String("web-"), TaskName: aws.String("nightly")}

	// Validation, in AWS's order.
	bad := good
	bad.LogGroupName = aws.String("/nope")
	_, err := create(bad)
	harness.WantErr(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	bad = good
	bad.Destination = aws.String("no-such-bucket")
	_, err = create(bad)
	harness.WantErr(t, err, "InvalidParameterException", "The given bucket does not exist. Please make sure the bucket is valid.")
	bad = good
	bad.From, bad.To = aws.Int64(to), aws.Int64(from)
	_, err = create(bad)
	harness.WantErr(t, err, "InvalidParameterException", fmt.Sprintf("Specified time range of '%d' and '%d' is not valid. "+
		"Please make sure the values are within the retention period of the log groups and from value is lesser than the to value", to, from))
	// The range is checked after the group and the bucket (docs/export.md).
	bad.LogGroupName = aws.String("/nope")
	_, err = create(bad)
	harness.WantErr(t, err, "ResourceNotFoundException", "The specified log group does not exist.")
	bad.LogGroupName, bad.Destination = good.LogGroupName, aws.String("no-such-bucket")
	_, err = create(bad)
	harness.WantErr(t, err, "InvalidParameterException", "The given bucket does not exist. Please make sure the bucket is valid.")
	// An over-long group name gets AWS's own text, not the model's.
	bad = good
	bad.LogGroupName = aws.String(strings.Repeat("X", 513))
	_, err = create(bad)
	harness.WantErr(t, err, "InvalidParameterException", "Invalid LogGroup or LogStream, both must have length less than or equal to 512.")
	if r := h.Call(t, "CreateExportTask", []byte(`{"logGroupName":"/app","from":1,"destination":"exports"}`)); r.Code != "InvalidParameterException" ||
		r.Message != "1 validation error detected: Value null at 'to' failed to satisfy constraint: Member must not be null" {
		t.Fatalf("missing to: %s", r)
	}

	// One active task per account: the first is held at its probe.
	first, err := create(cwl.CreateExportTaskInput{LogGroupName: aws.String("/app"), From: aws.Int64(from), To: aws.Int64(to), Destination: aws.String("exports")})
	if err != nil {
		t.Fatal(err)
	}
	<-g.held
	_, err = create(good)
	harness.WantErr(t, err, "LimitExceededException", "Resource limit exceeded.")
	running := waitStatus(t, c, first, types.ExportTaskStatusCodeRunning)
	if *running.DestinationPrefix != "exportedlogs" || aws.ToString(running.Status.Message) != "Started Successfully" || running.TaskName != nil ||
		*running.From != from || *running.To != to || *running.Destination != "exports" || *running.ExecutionInfo.CreationTime == 0 {
		t.Fatalf("running task: %+v", running)
	}
	if _, err := c.CancelExportTask(ctx, &cwl.CancelExportTaskInput{TaskId: aws.String(first)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CancelExportTask(ctx, &cwl.CancelExportTaskInput{TaskId: aws.String(first)})
	harness.WantErr(t, err, "InvalidOperationException", "The specified export task has already finished.")
	_, err = c.CancelExportTask(ctx, &cwl.CancelExportTaskInput{TaskId: aws.String("00000000-0000-4000-8000-000000000000")})
	harness.WantErr(t, err, "ResourceNotFoundException", "The specified export task does not exist.")
	g.release()

	id, err := create(good)
	if err != nil {
		t.Fatal(err)
	}
	done := waitStatus(t, c, id, types.ExportTaskStatusCodeCompleted)
	if *done.TaskName != "nightly" || done.ExecutionInfo.CompletionTime == nil || aws.ToString(done.Status.Message) != "Completed successfully" {
		t.Fatalf("completed task: %+v", done)
	}
	if st := status(t, c, first); st.Status.Code != types.ExportTaskStatusCodeCancelled {
		t.Fatalf("cancelled task became %s", st.Status.Code)
	}

	// Describe: newest first, filters, pages.
	out, err := c.DescribeExportTasks(ctx, &cwl.DescribeExportTasksInput{})
	if err != nil || len(out.ExportTasks) != 2 || *out.ExportTasks[0].TaskId != id && *out.ExportTasks[0].ExecutionInfo.CreationTime != *out.ExportTasks[1].ExecutionInfo.CreationTime {
		t.Fatalf("all tasks: %+v %v", out, err)
	}
	out, err = c.DescribeExportTasks(ctx, &cwl.DescribeExportTasksInput{StatusCode: types.ExportTaskStatusCodeCancelled})
	if err != nil || len(out.ExportTasks) != 1 || *out.ExportTasks[0].TaskId != first {
		t.Fatalf("by status: %+v %v", out, err)
	}
	out, err = c.DescribeExportTasks(ctx, &cwl.DescribeExportTasksInput{TaskId: aws.String("unknown")})
	if err != nil || len(out.ExportTasks) != 0 {
		t.Fatalf("unknown id: %+v %v", out, err)
	}
	p1, err := c.DescribeExportTasks(ctx, &cwl.DescribeExportTasksInput{Limit: aws.Int32(1)})
	if err != nil || len(p1.ExportTasks) != 1 || p1.NextToken == nil {
		t.Fatalf("page 1: %+v %v", p1, err)
	}
	p2, err := c.DescribeExportTasks(ctx, &cwl.DescribeExportTasksInput{Limit: aws.Int32(1), NextToken: p1.NextToken})
	if err != nil || len(p2.ExportTasks) != 1 || p2.NextToken != nil || *p2.ExportTasks[0].TaskId == *p1.ExportTasks[0].TaskId {
		t.Fatalf("page 2: %+v %v", p2, err)
	}
	if r := h.Call(t, "DescribeExportTasks", []byte(`{"statusCode":"DONE"}`)); r.Code != "InvalidParameterException" {
		t.Fatalf("bad status code: %s", r)
	}

	// The objects, read back from S3.
	got := readExport(t, s3c, "exports", "exportedlogs/"+id+"/")
	checkLines(t, got, want)
	probe, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("exports"), Key: aws.String("exportedlogs/aws-logs-write-test")})
	if err != nil {
		t.Fatal(err)
	}
	probe.Body.Close()
	if objs := listKeys(t, s3c, "exports", "exportedlogs/"+first+"/"); len(objs) != 0 {
		t.Fatalf("the cancelled task wrote %v", objs)
	}

	// A task running when the server stops is run again after the start.
	g.shut()
	again, err := create(cwl.CreateExportTaskInput{LogGroupName: aws.String("/app"), From: aws.Int64(from), To: aws.Int64(to), Destination: aws.String("exports"),
		DestinationPrefix: aws.String("again"), LogStreamNamePrefix: aws.String("web-")})
	if err != nil {
		t.Fatal(err)
	}
	<-g.held
	waitStatus(t, c, again, types.ExportTaskStatusCodeRunning)
	h.Stop()
	g.release()
	h.Restart()
	c = h.Client()
	waitStatus(t, c, again, types.ExportTaskStatusCodeCompleted)
	checkLines(t, readExport(t, s3c, "exports", "again/"+again+"/"), want)
}

func listKeys(t testing.TB, c *s3.Client, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.Contents {
			keys = append(keys, *o.Key)
		}
	}
	sort.Strings(keys)
	return keys
}

// readExport reads every object under prefix: prefix/STREAM/NNNNNN.gz.
func readExport(t testing.TB, c *s3.Client, bucket, prefix string) []sent {
	t.Helper()
	var got []sent
	chunks := map[string][]string{}
	for _, k := range listKeys(t, c, bucket, prefix) {
		rest := strings.TrimPrefix(k, prefix)
		stream, file, ok := strings.Cut(rest, "/")
		if !ok || len(file) != len("000000.gz") || !strings.HasSuffix(file, ".gz") {
			t.Fatalf("unexpected object %s", k)
		}
		chunks[stream] = append(chunks[stream], file)
		obj, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		got = append(got, gunzipLines(t, stream, body)...)
	}
	for stream, files := range chunks {
		for i, f := range files {
			if f != fmt.Sprintf("%06d.gz", i) {
				t.Fatalf("%s: chunks %v are not numbered from 000000", stream, files)
			}
		}
		if len(files) < 2 {
			t.Fatalf("%s: %d chunk(s); the test's chunk size should make several", stream, len(files))
		}
	}
	return got
}

func gunzipLines(t testing.TB, stream string, body []byte) []sent {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out []sent
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		out = append(out, sent{stream, sc.Text()})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func checkLines(t testing.TB, got, want []sent) {
	t.Helper()
	key := func(s sent) string { return s.stream + "\x00" + s.line }
	g, w := make([]string, len(got)), make([]string, len(want))
	for i := range got {
		g[i] = key(got[i])
	}
	for i := range want {
		w[i] = key(want[i])
	}
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Fatalf("exported %d lines, want %d (first got %q, first want %q)", len(g), len(w), first(g), first(w))
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// TestExportToDirectory: the directory sink lays objects out as S3 keys
// under DIR/BUCKET, private files; a bucket directory that does not exist
// is a bucket that does not exist.
func TestExportToDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "archive"), 0o700); err != nil {
		t.Fatal(err)
	}
	h := harness.Start(t, harness.Configure(func(c *server.Config) { c.Export = export.SinkConfig{Dir: dir} }))
	c := h.Client()
	ctx := context.Background()
	c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("g")})
	c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s")})
	ts := time.Now().UnixMilli()
	if _, err := c.PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String("g"), LogStreamName: aws.String("s"),
		LogEvents: []types.InputLogEvent{{Timestamp: aws.Int64(ts), Message: aws.String("hello")}}}); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateExportTask(ctx, &cwl.CreateExportTaskInput{LogGroupName: aws.String("g"), From: aws.Int64(0), To: aws.Int64(ts), Destination: aws.String("../etc")})
	harness.WantErr(t, err, "InvalidParameterException", "The given bucket does not exist. Please make sure the bucket is valid.")
	// from == to is refused as from > to is: AWS's own words ask that "from
	// value is lesser than the to value" (export.go).
	_, err = c.CreateExportTask(ctx, &cwl.CreateExportTaskInput{LogGroupName: aws.String("g"), From: aws.Int64(ts), To: aws.Int64(ts), Destination: aws.String("archive")})
	harness.WantErr(t, err, "InvalidParameterException", fmt.Sprintf("Specified time range of '%d' and '%d' is not valid. "+
		"Please make sure the values are within the retention period of the log groups and from value is lesser than the to value", ts, ts))
	out, err := c.CreateExportTask(ctx, &cwl.CreateExportTaskInput{LogGroupName: aws.String("g"), From: aws.Int64(0), To: aws.Int64(ts), Destination: aws.String("archive")})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, *out.TaskId, types.ExportTaskStatusCodeCompleted)
	p := filepath.Join(dir, "archive", "exportedlogs", *out.TaskId, "s", "000000.gz")
	body, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
	checkLines(t, gunzipLines(t, "s", body), []sent{{"s", time.UnixMilli(ts).UTC().Format("2006-01-02T15:04:05.000Z") + " hello"}})

	// No destination configured: every bucket is one AWS cannot write.
	h2 := harness.Start(t)
	c2 := h2.Client()
	c2.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("g")})
	_, err = c2.CreateExportTask(ctx, &cwl.CreateExportTaskInput{LogGroupName: aws.String("g"), From: aws.Int64(0), To: aws.Int64(1), Destination: aws.String("archive")})
	harness.WantErr(t, err, "InvalidParameterException", "The given bucket does not exist. Please make sure the bucket is valid.")
}
