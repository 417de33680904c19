package delivery

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kintypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/store"
)

// SinkConfig says what one destination ARN is. Exactly one member is set.
// It comes only from the server's configuration file.
type SinkConfig struct {
	Kinesis  *AWSConfig      `yaml:"kinesis"`
	Firehose *AWSConfig      `yaml:"firehose"`
	Lambda   *AWSConfig      `yaml:"lambda"`
	HTTP     *HTTPConfig     `yaml:"http"`
	Bulk     *BulkConfig     `yaml:"bulk"`
	NATS     *NATSConfig     `yaml:"nats"`
	LogGroup *LogGroupConfig `yaml:"log_group"`
	File     *FileConfig     `yaml:"file"`
	// GzipLevel is the deflate level of the gzip payload the kinesis,
	// firehose, lambda, http and nats sinks send: 1 (fastest) to 9 (best),
	// or 0 (gzip's stored blocks: no compression, the least CPU). Every
	// level is the gzip format AWS's consumers decode. Default
	// DefaultGzipLevel.
	GzipLevel *int `yaml:"gzip_level"`
}

// DefaultGzipLevel is the payload's default deflate level. Level 1 costs
// half the CPU of level 6 (≈0.77 against ≈1.55 µs an event of ~110-byte
// lines, measured in docs/benchmarks.md, branch pipe12) for payloads ≈12%
// larger (18.8% of the JSON against 16.7%); on a server that delivers every
// event it ingests, compression at level 6 cost as much CPU as ingest
// itself.
const DefaultGzipLevel = 1

// AWSConfig reaches a real AWS service API (or a compatible one) at an
// endpoint. Name overrides the stream, delivery stream or function name the
// ARN holds.
type AWSConfig struct {
	Endpoint        string `yaml:"endpoint"` // empty: AWS's own endpoint for Region
	Region          string `yaml:"region"`   // empty: the ARN's region
	AccessKeyID     string `yaml:"access_key_id"`
	SecretAccessKey string `yaml:"secret_access_key"`
	SessionToken    string `yaml:"session_token"`
	Name            string `yaml:"name"`
}

// HTTPConfig POSTs each record in Lambda's event form to URL.
type HTTPConfig struct {
	URL     string            `yaml:"url"`
	Headers map[string]string `yaml:"headers"`
}

// BulkConfig POSTs the events as an Elasticsearch/OpenSearch _bulk request
// to URL (the whole URL, e.g. http://es:9200/_bulk), each event indexed
// with its event ID as _id into Index.
type BulkConfig struct {
	URL     string            `yaml:"url"`
	Index   string            `yaml:"index"`
	Headers map[string]string `yaml:"headers"`
}

// NATSConfig publishes each record (the gzip payload) to Subject through
// JetStream, with Nats-Msg-Id set so the server drops a redelivery within
// its duplicate window. Stream, when set, is created (on Subject) if
// missing.
type NATSConfig struct {
	URL     string `yaml:"url"`
	Subject string `yaml:"subject"`
	Stream  string `yaml:"stream"`
}

// LogGroupConfig appends the events to a log group (created if missing), in
// a stream named after the source stream, of the account and region the
// sink's ARN names: the destination's owner, which for a cross-account
// logs destination is not the filter's account (an ARN without an account
// means the filter's).
type LogGroupConfig struct {
	Name string `yaml:"name"`
}

// FileConfig appends each record's JSON payload, one line per record, to
// Path (created 0600), synced before the record counts as delivered.
type FileConfig struct {
	Path string `yaml:"path"`
}

// buildSink makes the sink arn's configuration describes.
func buildSink(arn string, c SinkConfig, st store.Store, check checkFunc) (Sink, error) {
	gz := &gzipPool{level: DefaultGzipLevel}
	if c.GzipLevel != nil {
		if *c.GzipLevel < 0 || *c.GzipLevel > 9 {
			return nil, fmt.Errorf("sink for %s: gzip_level must be 0 to 9", arn)
		}
		gz.level = *c.GzipLevel
	}
	set := 0
	for _, p := range []bool{c.Kinesis != nil, c.Firehose != nil, c.Lambda != nil, c.HTTP != nil, c.Bulk != nil, c.NATS != nil, c.LogGroup != nil, c.File != nil} {
		if p {
			set++
		}
	}
	if set != 1 {
		return nil, fmt.Errorf("sink for %s: exactly one of kinesis, firehose, lambda, http, bulk, nats, log_group, file must be set", arn)
	}
	switch {
	case c.Kinesis != nil:
		return newKinesis(arn, *c.Kinesis, gz)
	case c.Firehose != nil:
		return newFirehose(arn, *c.Firehose, gz)
	case c.Lambda != nil:
		return newLambda(arn, *c.Lambda, gz)
	case c.HTTP != nil:
		if c.HTTP.URL == "" {
			return nil, fmt.Errorf("sink for %s: http needs url", arn)
		}
		return &httpSink{cfg: *c.HTTP, client: httpClient(0), gz: gz}, nil
	case c.Bulk != nil:
		if c.Bulk.URL == "" {
			return nil, fmt.Errorf("sink for %s: bulk needs url", arn)
		}
		if c.Bulk.Index == "" {
			c.Bulk.Index = "cwl"
		}
		return &bulkSink{cfg: *c.Bulk, client: httpClient(0)}, nil
	case c.NATS != nil:
		return newNATS(arn, *c.NATS, gz)
	case c.LogGroup != nil:
		if c.LogGroup.Name == "" {
			return nil, fmt.Errorf("sink for %s: log_group needs name", arn)
		}
		return &groupSink{name: c.LogGroup.Name, st: st, check: check, owner: arnScope(arn)}, nil
	default:
		if c.File.Path == "" {
			return nil, fmt.Errorf("sink for %s: file needs path", arn)
		}
		return newFileSink(c.File.Path)
	}
}

func awsConfig(arn string, c AWSConfig) aws.Config {
	region := c.Region
	if region == "" {
		region = ARNRegion(arn)
	}
	cfg := aws.Config{Region: region, RetryMaxAttempts: 1, HTTPClient: &http.Client{Timeout: 30 * time.Second}}
	if c.AccessKeyID != "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	} else {
		cfg.Credentials = aws.AnonymousCredentials{}
	}
	return cfg
}

// nameFromARN is the resource name after prefix in arn's resource part.
func nameFromARN(arn, prefix, override string) (string, error) {
	if override != "" {
		return override, nil
	}
	res := ARNResource(arn)
	if len(res) <= len(prefix) || res[:len(prefix)] != prefix {
		return "", fmt.Errorf("sink for %s: the ARN names no %s; set name", arn, prefix)
	}
	return res[len(prefix):], nil
}

// kinesisSink: PutRecords (500 records, 1 MiB each with the key, 5 MiB).
type kinesisSink struct {
	client *kinesis.Client
	stream string
	gz     *gzipPool
}

func newKinesis(arn string, c AWSConfig, gz *gzipPool) (Sink, error) {
	name, err := nameFromARN(arn, "stream/", c.Name)
	if err != nil {
		return nil, err
	}
	cl := kinesis.NewFromConfig(awsConfig(arn, c), func(o *kinesis.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
	})
	return &kinesisSink{client: cl, stream: name, gz: gz}, nil
}

func (s *kinesisSink) Limits() Limits {
	return Limits{RecordBytes: 1 << 20, BatchRecords: 500, BatchBytes: 5 << 20}
}
func (s *kinesisSink) Size(r *Record) int { return len(r.gzip(s.gz)) + len(r.PartitionKey) }
func (s *kinesisSink) Close() error       { return nil }

func (s *kinesisSink) Send(ctx context.Context, scope store.Scope, recs []*Record) error {
	in := &kinesis.PutRecordsInput{StreamName: aws.String(s.stream)}
	for _, r := range recs {
		in.Records = append(in.Records, kintypes.PutRecordsRequestEntry{Data: r.gzip(s.gz), PartitionKey: aws.String(r.PartitionKey)})
	}
	out, err := s.client.PutRecords(ctx, in)
	if err != nil {
		return awsError(err)
	}
	if aws.ToInt32(out.FailedRecordCount) == 0 {
		return nil
	}
	pe := &PartialError{}
	for i, e := range out.Records {
		if e.ErrorCode != nil {
			pe.Failed = append(pe.Failed, i)
			pe.Err = fmt.Errorf("%s: %s", aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
		}
	}
	return pe // per-record failures are throughput or internal failures: retryable
}

// firehoseSink: PutRecordBatch (500 records, 1000 KiB each, 4 MiB).
type firehoseSink struct {
	client *firehose.Client
	stream string
	gz     *gzipPool
}

func newFirehose(arn string, c AWSConfig, gz *gzipPool) (Sink, error) {
	name, err := nameFromARN(arn, "deliverystream/", c.Name)
	if err != nil {
		return nil, err
	}
	cl := firehose.NewFromConfig(awsConfig(arn, c), func(o *firehose.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
	})
	return &firehoseSink{client: cl, stream: name, gz: gz}, nil
}

func (s *firehoseSink) Limits() Limits {
	return Limits{RecordBytes: 1000 << 10, BatchRecords: 500, BatchBytes: 4 << 20}
}
func (s *firehoseSink) Size(r *Record) int { return len(r.gzip(s.gz)) }
func (s *firehoseSink) Close() error       { return nil }

func (s *firehoseSink) Send(ctx context.Context, scope store.Scope, recs []*Record) error {
	in := &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String(s.stream)}
	for _, r := range recs {
		in.Records = append(in.Records, fhtypes.Record{Data: r.gzip(s.gz)})
	}
	out, err := s.client.PutRecordBatch(ctx, in)
	if err != nil {
		return awsError(err)
	}
	if aws.ToInt32(out.FailedPutCount) == 0 {
		return nil
	}
	pe := &PartialError{}
	for i, e := range out.RequestResponses {
		if e.ErrorCode != nil {
			pe.Failed = append(pe.Failed, i)
			pe.Err = fmt.Errorf("%s: %s", aws.ToString(e.ErrorCode), aws.ToString(e.ErrorMessage))
		}
	}
	return pe
}

// lambdaSink: one asynchronous Invoke per record (256 KB payload).
type lambdaSink struct {
	client *lambda.Client
	name   string
	gz     *gzipPool
}

func newLambda(arn string, c AWSConfig, gz *gzipPool) (Sink, error) {
	name := c.Name
	if name == "" {
		name = arn // Invoke takes the function's ARN as its name
	}
	cl := lambda.NewFromConfig(awsConfig(arn, c), func(o *lambda.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
	})
	return &lambdaSink{client: cl, name: name, gz: gz}, nil
}

func (s *lambdaSink) Limits() Limits {
	return Limits{RecordBytes: 256_000, BatchRecords: 1, BatchBytes: 256_000}
}
func (s *lambdaSink) Size(r *Record) int { return len(lambdaEvent(r.gzip(s.gz))) }
func (s *lambdaSink) Close() error       { return nil }

func (s *lambdaSink) Send(ctx context.Context, scope store.Scope, recs []*Record) error {
	for i, r := range recs {
		_, err := s.client.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(s.name),
			InvocationType: lambdatypes.InvocationTypeEvent, Payload: lambdaEvent(r.gzip(s.gz))})
		if err != nil {
			return partialFrom(i, len(recs), awsError(err))
		}
	}
	return nil
}

// partialFrom: records from i on were not sent.
func partialFrom(i, n int, err error) error {
	if i == 0 {
		return err
	}
	pe := &PartialError{Err: err}
	for ; i < n; i++ {
		pe.Failed = append(pe.Failed, i)
	}
	return pe
}

// httpSink POSTs each record as Lambda's event to a URL: what a function
// behind an HTTP endpoint would have received.
type httpSink struct {
	cfg    HTTPConfig
	client *http.Client
	gz     *gzipPool
}

func (s *httpSink) Limits() Limits {
	return Limits{RecordBytes: 6 << 20, BatchRecords: 1, BatchBytes: 6 << 20}
}
func (s *httpSink) Size(r *Record) int { return len(lambdaEvent(r.gzip(s.gz))) }
func (s *httpSink) Close() error       { s.client.CloseIdleConnections(); return nil }

func (s *httpSink) Send(ctx context.Context, scope store.Scope, recs []*Record) error {
	for i, r := range recs {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(lambdaEvent(r.gzip(s.gz))))
		if err != nil {
			return Permanent(err)
		}
		req.Header.Set("Content-Type", "application/json")
		for k, v := range s.cfg.Headers {
			req.Header.Set(k, v)
		}
		resp, err := s.client.Do(req)
		if err == nil {
			err = httpError(resp)
		}
		if err != nil {
			return partialFrom(i, len(recs), err)
		}
	}
	return nil
}

// bulkSink sends events as _bulk index actions. The event ID is the _id, so
// a redelivery overwrites instead of duplicating.
type bulkSink struct {
	cfg    BulkConfig
	client *http.Client
}

func (s *bulkSink) Limits() Limits {
	return Limits{RecordBytes: 10 << 20, BatchRecords: 1000, BatchBytes: 10 << 20}
}
func (s *bulkSink) Size(r *Record) int { return len(r.JSON()) * 2 }
func (s *bulkSink) Close() error       { s.client.CloseIdleConnections(); return nil }

func (s *bulkSink) Send(ctx context.Context, scope store.Scope, recs []*Record) error {
	var b []byte
	for _, r := range recs {
		if r.Control {
			continue // a health check, not a document
		}
		for _, e := range r.events() {
			b = append(b, `{"index":{"_index":`...)
			b = protocol.AppendJSONString(b, s.cfg.Index)
			b = append(b, `,"_id":"`...)
			b = append(b, e.ID...)
			b = append(b, `"}}`+"\n"+`{"@timestamp":`...)
			b = protocol.AppendJSONString(b, time.UnixMilli(e.Timestamp).UTC().Format("2006-01-02T15:04:05.000Z"))
			b = append(b, `,"message":`...)
			b = protocol.AppendJSONString(b, e.Message)
			b = append(b, `,"id":"`...)
			b = append(b, e.ID...)
			b = append(b, `","owner":`...)
			b = protocol.AppendJSONString(b, r.Owner)
			b = append(b, `,"logGroup":`...)
			b = protocol.AppendJSONString(b, r.Group)
			b = append(b, `,"logStream":`...)
			b = protocol.AppendJSONString(b, r.Stream)
			if e.fields != nil {
				// As one object, not beside the fixed fields: a pattern
				// field named "message" or "id" would repeat their keys.
				b = append(b, `,"extractedFields":`...)
				b = append(b, e.fields...)
			}
			b = append(b, "}\n"...)
		}
	}
	if len(b) == 0 {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(b))
	if err != nil {
		return Permanent(err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	for k, v := range s.cfg.Headers {
		req.Header.Set(k, v)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return httpError(resp)
	}
	defer resp.Body.Close()
	return bulkOutcome(resp.Body)
}

// bulkOutcome reads a 2xx _bulk response. A 200 may still carry per-item
// errors ("errors": true). The whole batch is then retried (indexing by _id
// makes that idempotent) unless no item failed with 429 or 5xx (4xx
// mapping errors, which retrying will not cure): then it is a Permanent
// failure, recorded. A body that is not a _bulk answer (a plain receiver's
// "OK") is an acknowledgement, as its 2xx says. The body is read up to
// 64 MiB (decodeJSON's bound).
func bulkOutcome(body io.Reader) error {
	var res struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Status int `json:"status"`
		} `json:"items"`
	}
	if err := decodeJSON(body, 64<<20, &res); err != nil || !res.Errors {
		return nil
	}
	for _, it := range res.Items {
		for _, v := range it {
			if v.Status == 429 || v.Status >= 500 {
				return errors.New("_bulk: some items failed with 429/5xx")
			}
		}
	}
	return Permanent(errors.New("_bulk: some items were refused (4xx)"))
}

// natsAckTimeout bounds the wait for JetStream's acknowledgement of one
// published record.
const natsAckTimeout = 30 * time.Second

// natsSink publishes records to a JetStream subject.
type natsSink struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	subject string
	gz      *gzipPool
}

func newNATS(arn string, c NATSConfig, gz *gzipPool) (Sink, error) {
	if c.URL == "" || c.Subject == "" {
		return nil, fmt.Errorf("sink for %s: nats needs url and subject", arn)
	}
	// RetryOnFailedConnect: the server may start before NATS does; the
	// records wait at the cursor meanwhile.
	nc, err := nats.Connect(c.URL, nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second),
		nats.Name("cairn-delivery"))
	if err != nil {
		return nil, fmt.Errorf("sink for %s: %w", arn, err)
	}
	// Without a timeout an acknowledgement that never comes (lost across a
	// reconnect) would hold the follower forever; timed out, the batch is
	// retried, and JetStream drops what it already stored by Nats-Msg-Id.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(natsAckTimeout))
	if err != nil {
		nc.Close()
		return nil, err
	}
	s := &natsSink{nc: nc, js: js, subject: c.Subject, gz: gz}
	if c.Stream != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: c.Stream, Subjects: []string{c.Subject}})
		if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			// Not fatal: NATS may be down now; publishing fails (and is
			// retried) until the stream exists.
			_ = err
		}
	}
	return s, nil
}

func (s *natsSink) Limits() Limits {
	return Limits{RecordBytes: 1 << 20, BatchRecords: 1000, BatchBytes: 32 << 20}
}
func (s *natsSink) Size(r *Record) int { return len(r.gzip(s.gz)) + 200 }
func (s *natsSink) Close() error       { s.nc.Close(); return nil }

func (s *natsSink) Send(ctx context.Context, scope store.Scope, recs []*Record) error {
	futures := make([]jetstream.PubAckFuture, len(recs))
	for i, r := range recs {
		m := nats.NewMsg(s.subject)
		m.Data = r.gzip(s.gz)
		if !r.Control && r.count() > 0 {
			// Same events, same id: JetStream drops a redelivery.
			first, last := r.edgeIDs()
			m.Header.Set(jetstream.MsgIDHeader, r.Filters[0]+"/"+first+"/"+last)
		}
		f, err := s.js.PublishMsgAsync(m)
		if err != nil {
			return partialFrom(i, len(recs), err)
		}
		futures[i] = f
	}
	pe := &PartialError{}
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			pe.Failed = append(pe.Failed, i)
			pe.Err = err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if len(pe.Failed) > 0 {
		return pe
	}
	return nil
}

// groupSink appends to a log group of owner (the filter's account when
// owner is empty), as CloudWatch Logs' subscription delivery
// (logs.amazonaws.com): each write is first put to check
// (Config.CheckGroupWrite), when set.
type groupSink struct {
	name  string
	st    store.Store
	check checkFunc
	owner store.Scope
}

type checkFunc func(ctx context.Context, target, source store.Scope, sourceGroup, action, group, stream string) error

// arnScope is the account and region of an ARN (arn:PART:SERVICE:REGION:
// ACCOUNT:…), empty when it names none.
func arnScope(arn string) store.Scope {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || parts[3] == "" || parts[4] == "" {
		return store.Scope{}
	}
	return store.Scope{Account: parts[4], Region: parts[3]}
}

func (s *groupSink) Limits() Limits {
	return Limits{RecordBytes: 1 << 20, BatchRecords: 100, BatchBytes: 16 << 20}
}
func (s *groupSink) Size(r *Record) int { return len(r.JSON()) }
func (s *groupSink) Close() error       { return nil }

func (s *groupSink) Send(ctx context.Context, source store.Scope, recs []*Record) error {
	scope := source
	if s.owner.Account != "" {
		scope = s.owner
	}
	for i, r := range recs {
		if r.Control || r.count() == 0 {
			continue
		}
		evs := make([]store.Event, r.count())
		for j, e := range r.events() {
			evs[j] = store.Event{Timestamp: e.Timestamp, Message: e.Message}
		}
		sort.SliceStable(evs, func(a, b int) bool { return evs[a].Timestamp < evs[b].Timestamp })
		var allow func(action string) error
		if s.check != nil {
			sourceGroup := r.Group
			allow = func(action string) error { return s.check(ctx, scope, source, sourceGroup, action, s.name, r.Stream) }
		}
		err := appendChecked(ctx, s.st, scope, s.name, r.Stream, evs, allow)
		if err != nil {
			return partialFrom(i, len(recs), err)
		}
	}
	return nil
}

// appendCreating appends, creating the group and stream when missing.
func appendCreating(ctx context.Context, st store.Store, scope store.Scope, group, stream string, evs []store.Event) error {
	return appendChecked(ctx, st, scope, group, stream, evs, nil)
}

// appendChecked is appendCreating with allow (when not nil) asked first:
// logs:PutLogEvents before each append, logs:CreateLogStream before a
// missing stream is created.
func appendChecked(ctx context.Context, st store.Store, scope store.Scope, group, stream string, evs []store.Event, allow func(action string) error) error {
	now := time.Now().UnixMilli()
	for range 3 {
		if allow != nil {
			if err := allow("logs:PutLogEvents"); err != nil {
				return err
			}
		}
		_, err := st.Append(ctx, scope, group, stream, evs, now)
		switch {
		case errors.Is(err, store.ErrGroupNotFound):
			if err := st.CreateGroup(ctx, store.Group{Scope: scope, Name: group, CreationTime: now}); err != nil && !errors.Is(err, store.ErrGroupExists) {
				return err
			}
		case errors.Is(err, store.ErrStreamNotFound):
			if allow != nil {
				if err := allow("logs:CreateLogStream"); err != nil {
					return err
				}
			}
			if err := st.CreateStream(ctx, scope, group, store.Stream{Name: stream, CreationTime: now}); err != nil && !errors.Is(err, store.ErrStreamExists) {
				return err
			}
		default:
			return err
		}
	}
	return errors.New("log group or stream vanished while appending")
}

// fileSink appends one JSON payload per line. Concurrent Sends (the
// followers of every group that names this file) share fsyncs: a Send
// returns once a sync that began after its write completed, and one sync
// serves every write before it (group commit), so the file is synced a few
// times a second however many followers write to it.
//
// The file only ever holds whole lines. A write that failed part way, or
// one a crash cut short, left a partial line that nothing acknowledged;
// the records are sent again, and appended after the fragment they would
// have joined it into one line no reader can parse, losing them (the
// subscription kill test found exactly that: the batch in flight at the
// kill, redelivered after the restart, glued to its own torn first
// attempt). So the sink cuts the file back to its last whole line when it
// opens the file and after a failed write.
type fileSink struct {
	mu      sync.Mutex // guards f's writes, w, written, whole, torn
	f       *os.File
	w       fileWriter
	written uint64 // writes flushed to f so far
	whole   int64  // the file's size at the end of its last whole line
	torn    bool   // a failed write may have left a partial line past whole

	syncMu sync.Mutex // one fsync at a time; guards synced
	synced uint64     // writes known durable
}

func newFileSink(path string) (Sink, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	whole, err := lastWholeLine(f)
	if err == nil {
		err = cutTo(f, whole)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("file sink %s: %w", path, err)
	}
	return &fileSink{f: f, w: fileWriter{b: bufio.NewWriterSize(f, 1<<20), f: f}, whole: whole}, nil
}

// lastWholeLine returns the offset just past f's last newline (0 when it
// has none), reading back from the end a block at a time.
func lastWholeLine(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	end := fi.Size()
	buf := make([]byte, 64<<10)
	for end > 0 {
		n := int64(len(buf))
		if n > end {
			n = end
		}
		if _, err := f.ReadAt(buf[:n], end-n); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return end - n + int64(i) + 1, nil
		}
		end -= n
	}
	return 0, nil
}

// cutTo truncates f to size when it is longer, and syncs the cut: a
// fragment that came back after a second crash would glue the next line.
func cutTo(f *os.File, size int64) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == size {
		return nil
	}
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Sync()
}

// fileWriter gathers a file's small writes (a record's head, its commas,
// its end, small records) in b, and writes a large one (a shared block's
// events, ~220 KB) straight to f, after what b holds, instead of copying
// it into b first: the copy was a fifth of the file sink's CPU.
type fileWriter struct {
	b *bufio.Writer
	f io.Writer
}

// directBytes is the size from which fileWriter writes past its buffer.
const directBytes = 32 << 10

func (w fileWriter) Write(p []byte) (int, error) {
	if len(p) < directBytes {
		return w.b.Write(p)
	}
	if err := w.b.Flush(); err != nil {
		return 0, err
	}
	return w.f.Write(p)
}

func (s *fileSink) Limits() Limits {
	return Limits{RecordBytes: 1 << 20, BatchRecords: 10000, BatchBytes: 64 << 20}
}
func (s *fileSink) Size(r *Record) int { return r.jsonSize() + 1 }
func (s *fileSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.w.b.Flush(), s.f.Close())
}

func (s *fileSink) Send(ctx context.Context, scope store.Scope, recs []*Record) error {
	s.mu.Lock()
	if s.torn { // the cut after the last failure failed too: no line may follow the fragment
		if err := cutTo(s.f, s.whole); err != nil {
			s.mu.Unlock()
			return fmt.Errorf("cut the partial line a failed write left: %w", err)
		}
		s.torn = false
	}
	var err error
	for _, r := range recs {
		// From the shared blocks where it can: the line is not built
		// apart first.
		if err = r.writeJSON(s.w); err == nil {
			err = s.w.b.WriteByte('\n')
		}
		if err != nil {
			break
		}
	}
	if err == nil {
		err = s.w.b.Flush()
	}
	if err != nil {
		// A failed writer stays failed, and what reached the file is a
		// partial line: both go, and the records are written again.
		s.w.b.Reset(s.f)
		s.torn = true
		if cerr := cutTo(s.f, s.whole); cerr == nil {
			s.torn = false
		}
		s.mu.Unlock()
		return err
	}
	fi, err := s.f.Stat()
	if err != nil {
		s.mu.Unlock()
		return err
	}
	s.whole = fi.Size()
	s.written++
	mine := s.written
	s.mu.Unlock()

	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.synced >= mine {
		return nil // a sync that began after this write made it durable
	}
	s.mu.Lock()
	upTo := s.written
	s.mu.Unlock()
	if err := s.f.Sync(); err != nil {
		return err
	}
	s.synced = upTo
	return nil
}
