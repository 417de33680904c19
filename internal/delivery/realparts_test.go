package delivery_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cairnlog/cairn/internal/delivery"
	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/server"
)

// The real parts these tests drive. scripts/test.sh installs them; a test
// fails (never skips) when one is missing.
func toolsDir() string {
	if d := os.Getenv("CAIRN_TEST_TOOLS"); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "cairn-test")
}

func need(t testing.TB, path string) string {
	t.Helper()
	if p, err := exec.LookPath(path); err == nil {
		return p
	}
	t.Fatalf("%s is not installed: run scripts/test.sh, which installs it", path)
	return ""
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// run starts a process, stopped (killed and waited for) at cleanup, and
// waits until addr accepts connections.
func run(t testing.TB, addr string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	harness.CheckFor(t, 60*time.Second, 50*time.Millisecond, func() error {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s not listening on %s: %v (output: %s)", name, addr, err, out.String())
		}
		c.Close()
		return nil
	})
}

type syncBuffer = harness.SyncBuffer

func startKinesalite(t testing.TB) string {
	bin := need(t, filepath.Join(toolsDir(), "npm", "node_modules", ".bin", "kinesalite"))
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	run(t, addr, bin, "--port", strconv.Itoa(port), "--createStreamMs", "0", "--deleteStreamMs", "0", "--path", t.TempDir())
	return "http://" + addr
}

func startVictoriaLogs(t testing.TB) string {
	home, _ := os.UserHomeDir()
	bin := need(t, filepath.Join(home, ".cache", "cairn-bench", "bin", "victoria-logs-v1.52.2"))
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	run(t, addr, bin, "-storageDataPath="+t.TempDir(), "-httpListenAddr="+addr, "-loggerLevel=ERROR")
	return "http://" + addr
}

func startNATS(t testing.TB) string {
	bin := need(t, "nats-server")
	port := freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	run(t, addr, bin, "-js", "-sd", t.TempDir(), "-a", "127.0.0.1", "-p", strconv.Itoa(port))
	return "nats://" + addr
}

func kinesisClient(endpoint string) *kinesis.Client {
	return kinesis.New(kinesis.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local", "")})
}

// kinesisRecords reads every record of a one-shard stream from the start.
func kinesisRecords(t testing.TB, k *kinesis.Client, stream string) [][]byte {
	t.Helper()
	ctx := context.Background()
	shards, err := k.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, sh := range shards.Shards {
		it, err := k.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: sh.ShardId,
			ShardIteratorType: kintypes.ShardIteratorTypeTrimHorizon})
		if err != nil {
			t.Fatal(err)
		}
		iter := it.ShardIterator
		for iter != nil {
			r, err := k.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range r.Records {
				out = append(out, rec.Data)
			}
			if len(r.Records) == 0 {
				break
			}
			iter = r.NextShardIterator
		}
	}
	return out
}

// TestFoundingPipeline is the founding document's pipeline end to end:
// PutLogEvents → subscription filter → Kinesis (kinesalite) → a consumer
// that does what its Lambda did (decode, POST _bulk) → VictoriaLogs, where
// every event is searchable exactly once.
func TestFoundingPipeline(t *testing.T) {
	kin := startKinesalite(t)
	vl := startVictoriaLogs(t)
	k := kinesisClient(kin)
	ctx := context.Background()
	if _, err := k.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("logs"), ShardCount: aws.Int32(1)}); err != nil {
		t.Fatal(err)
	}
	harness.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		d, err := k.DescribeStream(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("logs")})
		if err != nil {
			return err
		}
		if d.StreamDescription.StreamStatus != kintypes.StreamStatusActive {
			return fmt.Errorf("stream %s", d.StreamDescription.StreamStatus)
		}
		return nil
	})
	arn := "arn:aws:kinesis:us-east-1:000000000000:stream/logs"
	h := harness.Start(t, harness.Configure(func(c *server.Config) {
		c.Sinks = map[string]delivery.SinkConfig{arn: {Kinesis: &delivery.AWSConfig{Endpoint: kin, AccessKeyID: "AKIDLOCAL", SecretAccessKey: "local"}}}
	}))
	c := h.Client()
	setup(t, c, "/app/web", "i-1", "i-2", "i-3")
	if _, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("/app/web"), FilterName: aws.String("all"),
		FilterPattern: aws.String(""), DestinationArn: aws.String(arn), RoleArn: aws.String("arn:aws:iam::000000000000:role/CWLtoKinesis")}); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for b := range 4 {
		for _, s := range []string{"i-1", "i-2", "i-3"} {
			msgs := numbered("GET /"+s+"/"+strconv.Itoa(b), 0, 250)
			put(t, c, "/app/web", s, now(), msgs...)
			for _, m := range msgs {
				want[m] = true
			}
		}
	}
	// The consumer: read the stream, decode, index.
	seen := map[string]string{} // message → event id
	var control int
	harness.CheckFor(t, 60*time.Second, 100*time.Millisecond, func() error {
		seen, control = map[string]string{}, 0
		var bulk bytes.Buffer
		for _, data := range kinesisRecords(t, k, "logs") {
			p := gunzipPayload(t, data)
			if p.MessageType == "CONTROL_MESSAGE" {
				control++
				continue
			}
			for _, e := range p.LogEvents {
				if _, dup := seen[e.Message]; dup {
					t.Errorf("event %q delivered twice", e.Message)
				}
				seen[e.Message] = e.ID
				doc, _ := json.Marshal(map[string]any{"@timestamp": time.UnixMilli(e.Timestamp).UTC().Format(time.RFC3339Nano),
					"message": e.Message, "logGroup": p.LogGroup, "logStream": p.LogStream, "id": e.ID})
				fmt.Fprintf(&bulk, `{"index":{"_id":%q}}`+"\n%s\n", e.ID, doc)
			}
		}
		if len(seen) != len(want) {
			return fmt.Errorf("%d of %d events in Kinesis", len(seen), len(want))
		}
		resp, err := http.Post(vl+"/insert/elasticsearch/_bulk?_msg_field=message&_time_field=@timestamp&_stream_fields=logGroup,logStream",
			"application/x-ndjson", &bulk)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("_bulk: %d %s", resp.StatusCode, b)
		}
		return nil
	})
	if control != 1 {
		t.Fatalf("%d control messages, want 1", control)
	}
	// Searchable in VictoriaLogs, each exactly once.
	harness.CheckFor(t, 30*time.Second, 200*time.Millisecond, func() error {
		resp, err := http.Get(vl + "/select/logsql/query?query=" + url.QueryEscape(`logGroup:"/app/web"`))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		count := map[string]int{}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var row map[string]string
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
				return err
			}
			count[row["_msg"]]++
			if seen[row["_msg"]] != row["id"] {
				t.Errorf("id of %q is %q, Kinesis had %q", row["_msg"], row["id"], seen[row["_msg"]])
			}
		}
		for m := range want {
			if count[m] != 1 {
				return fmt.Errorf("%q found %d times in VictoriaLogs (%d distinct found)", m, count[m], len(count))
			}
		}
		if len(count) != len(want) {
			return fmt.Errorf("%d distinct messages, want %d", len(count), len(want))
		}
		return nil
	})
}

// TestNATSAndBulkSinks: Cairn's own sinks against the real servers: NATS
// JetStream (read back with a JetStream consumer, in order per stream) and
// _bulk straight into VictoriaLogs (event id as _id), from two filters on
// one group (AWS's limit).
func TestNATSAndBulkSinks(t *testing.T) {
	natsURL := startNATS(t)
	vl := startVictoriaLogs(t)
	natsARN := "arn:aws:kinesis:us-east-1:000000000000:stream/to-nats"
	bulkARN := "arn:aws:firehose:us-east-1:000000000000:deliverystream/to-search"
	h := harness.Start(t, harness.Configure(func(c *server.Config) {
		c.Sinks = map[string]delivery.SinkConfig{
			natsARN: {NATS: &delivery.NATSConfig{URL: natsURL, Subject: "cwl.app", Stream: "CWL"}},
			bulkARN: {Bulk: &delivery.BulkConfig{URL: vl + "/insert/elasticsearch/_bulk?_msg_field=message&_time_field=@timestamp&_stream_fields=logGroup,logStream"}},
		}
	}))
	c := h.Client()
	ctx := context.Background()
	setup(t, c, "/app/jobs", "x", "y")
	role := aws.String("arn:aws:iam::000000000000:role/r")
	for name, arn := range map[string]string{"nats": natsARN, "search": bulkARN} {
		if _, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("/app/jobs"), FilterName: aws.String(name),
			FilterPattern: aws.String(""), DestinationArn: aws.String(arn), RoleArn: role}); err != nil {
			t.Fatal(err)
		}
	}
	// A space-delimited filter with a system field: the _bulk documents
	// carry its extractedFields, which VictoriaLogs stores flattened.
	setup(t, c, "/app/access", "z")
	if _, err := c.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("/app/access"), FilterName: aws.String("fields"),
		FilterPattern: aws.String("[ip, user, status=4*]"), DestinationArn: aws.String(bulkARN), RoleArn: role,
		EmitSystemFields: []string{"@aws.region"}}); err != nil {
		t.Fatal(err)
	}
	put(t, c, "/app/access", "z", now(), "10.0.0.1 alice 404", "10.0.0.2 bob 200", "10.0.0.3 carol 403")
	want := map[string][]string{}
	for b := range 3 {
		for _, s := range []string{"x", "y"} {
			msgs := numbered("job "+s, b*100, 100)
			put(t, c, "/app/jobs", s, now(), msgs...)
			want[s] = append(want[s], msgs...)
		}
	}
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	harness.CheckFor(t, 30*time.Second, 100*time.Millisecond, func() error {
		cons, err := js.OrderedConsumer(ctx, "CWL", jetstream.OrderedConsumerConfig{})
		if err != nil {
			return err
		}
		got := map[string][]string{}
		for {
			batch, err := cons.FetchNoWait(1000)
			if err != nil {
				return err
			}
			n := 0
			for m := range batch.Messages() {
				n++
				p := gunzipPayload(t, m.Data())
				if p.MessageType != "DATA_MESSAGE" {
					continue
				}
				for _, e := range p.LogEvents {
					got[p.LogStream] = append(got[p.LogStream], e.Message)
				}
			}
			if n == 0 {
				break
			}
		}
		for s := range want {
			if err := equalLists(got[s], want[s]); err != nil {
				return fmt.Errorf("NATS stream %s: %v", s, err)
			}
		}
		return nil
	})
	harness.CheckFor(t, 30*time.Second, 200*time.Millisecond, func() error {
		resp, err := http.Get(vl + "/select/logsql/query?query=" + url.QueryEscape(`logGroup:"/app/jobs" | stats count() n`))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var row map[string]string
		if err := json.NewDecoder(resp.Body).Decode(&row); err != nil {
			return err
		}
		if row["n"] != "600" {
			return fmt.Errorf("VictoriaLogs holds %s events, want 600", row["n"])
		}
		return nil
	})
	harness.CheckFor(t, 30*time.Second, 200*time.Millisecond, func() error {
		q := `logGroup:"/app/access" | sort by (_msg) | fields _msg, extractedFields.ip, extractedFields.user, extractedFields.status, "extractedFields.@aws.region"`
		resp, err := http.Get(vl + "/select/logsql/query?query=" + url.QueryEscape(q))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var got []map[string]string
		for dec := json.NewDecoder(resp.Body); dec.More(); {
			var row map[string]string
			if err := dec.Decode(&row); err != nil {
				return err
			}
			got = append(got, row)
		}
		want := []map[string]string{
			{"_msg": "10.0.0.1 alice 404", "extractedFields.ip": "10.0.0.1", "extractedFields.user": "alice", "extractedFields.status": "404", "extractedFields.@aws.region": "us-east-1"},
			{"_msg": "10.0.0.3 carol 403", "extractedFields.ip": "10.0.0.3", "extractedFields.user": "carol", "extractedFields.status": "403", "extractedFields.@aws.region": "us-east-1"},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("VictoriaLogs holds %v, want %v", got, want)
		}
		return nil
	})
}
