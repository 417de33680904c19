package delivery_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// payload is AWS's subscription payload, decoded independently of Cairn's
// encoder (encoding/json, compress/gzip).
type payload struct {
	MessageType         string   `json:"messageType"`
	Owner               string   `json:"owner"`
	LogGroup            string   `json:"logGroup"`
	LogStream           string   `json:"logStream"`
	SubscriptionFilters []string `json:"subscriptionFilters"`
	PolicyLevel         string   `json:"policyLevel"`
	LogEvents           []struct {
		ID              string            `json:"id"`
		Timestamp       int64             `json:"timestamp"`
		Message         string            `json:"message"`
		ExtractedFields map[string]string `json:"extractedFields"`
	} `json:"logEvents"`
	raw []byte // the JSON as received
}

func gunzipPayload(t testing.TB, gz []byte) payload {
	t.Helper()
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Errorf("payload is not gzip: %v", err)
		return payload{}
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		t.Errorf("gunzip: %v", err)
	}
	var p payload
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Errorf("payload JSON %s: %v", raw, err)
	}
	p.raw = raw
	// Key order as AWS emits it (reference §2.3).
	if !bytes.HasPrefix(raw, []byte(`{"messageType":`)) || !bytes.Contains(raw, []byte(`","logGroup":`)) {
		t.Errorf("payload key order: %.200s", raw)
	}
	return p
}

// receiver is an HTTP endpoint that takes Lambda's event form, as a
// function URL would: it can be told to fail.
type receiver struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	payloads []payload
	status   int    // answered instead of 200 when not 0
	poison   string // a batch holding this message is answered 400
	failures int
}

func newReceiver(t testing.TB) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var ev struct {
		Awslogs struct {
			Data string `json:"data"`
		} `json:"awslogs"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		r.t.Errorf("not Lambda's event form: %s", body)
		w.WriteHeader(500)
		return
	}
	gz, err := base64.StdEncoding.DecodeString(ev.Awslogs.Data)
	if err != nil {
		r.t.Errorf("awslogs.data is not base64: %v", err)
	}
	p := gunzipPayload(r.t, gz)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status != 0 {
		r.failures++
		w.WriteHeader(r.status)
		return
	}
	for _, e := range p.LogEvents {
		if r.poison != "" && e.Message == r.poison {
			r.failures++
			http.Error(w, "refused", http.StatusBadRequest)
			return
		}
	}
	r.payloads = append(r.payloads, p)
}

func (r *receiver) set(status int) {
	r.mu.Lock()
	r.status = status
	r.mu.Unlock()
}

func (r *receiver) data() []payload {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]payload(nil), r.payloads...)
}

// messages are the DATA_MESSAGE events received per stream, in order.
func (r *receiver) messages() map[string][]string {
	out := map[string][]string{}
	for _, p := range r.data() {
		if p.MessageType == "DATA_MESSAGE" {
			for _, e := range p.LogEvents {
				out[p.LogStream] = append(out[p.LogStream], e.Message)
			}
		}
	}
	return out
}

// put stores msgs in one PutLogEvents call, all at timestamp ts. One
// timestamp per batch keeps consecutive batches of a stream from
// overlapping in time (each starts at now() or later), so the order in which
// records carry them (timestamp order, stable) is the order they were put.
func put(t testing.TB, c *cwl.Client, group, stream string, ts int64, msgs ...string) {
	t.Helper()
	evs := make([]types.InputLogEvent, len(msgs))
	for i, m := range msgs {
		evs[i] = types.InputLogEvent{Message: aws.String(m), Timestamp: aws.Int64(ts)}
	}
	if _, err := c.PutLogEvents(context.Background(), &cwl.PutLogEventsInput{LogGroupName: &group, LogStreamName: &stream, LogEvents: evs}); err != nil {
		t.Fatal(err)
	}
}

func setup(t testing.TB, c *cwl.Client, group string, streams ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: &group}); err != nil {
		t.Fatal(err)
	}
	for _, s := range streams {
		if _, err := c.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: &group, LogStreamName: aws.String(s)}); err != nil {
			t.Fatal(err)
		}
	}
}

func numbered(prefix string, from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s %06d", prefix, from+i)
	}
	return out
}

func equalLists(a, b []string) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d events, want %d", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			return fmt.Errorf("event %d is %q, want %q", i, a[i], b[i])
		}
	}
	return nil
}

func now() int64 { return time.Now().UnixMilli() }
