package logs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/bench"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/protocol"
)

// genericInput has PutLogEventsInput's fields and tags but not its methods,
// so protocol decodes it with the generic decoder only: the oracle the fast
// decoder is compared with.
type genericInput logs.PutLogEventsInput

// decodeBoth decodes body as the server does (fast path, else generic) and
// with the generic decoder alone.
func decodeBoth(body []byte) (fast *logs.PutLogEventsInput, fastErr error, generic *logs.PutLogEventsInput, genericErr error) {
	fast = new(logs.PutLogEventsInput)
	fastErr = (&protocol.Call{Body: body}).DecodeUnchecked(fast)
	g := new(genericInput)
	genericErr = (&protocol.Call{Body: body}).DecodeUnchecked(g)
	return fast, fastErr, (*logs.PutLogEventsInput)(g), genericErr
}

// sameAsGeneric fails unless the server's decoding of body is the generic
// decoder's: the same value, or the same error.
func sameAsGeneric(t *testing.T, body []byte) {
	t.Helper()
	fast, fastErr, generic, genericErr := decodeBoth(body)
	if fmt.Sprint(fastErr) != fmt.Sprint(genericErr) {
		t.Fatalf("body %q: error %v, the generic decoder's %v", body, fastErr, genericErr)
	}
	if genericErr == nil && !reflect.DeepEqual(fast, generic) {
		t.Fatalf("body %q: decoded\n%s\nthe generic decoder\n%s", body, show(fast), show(generic))
	}
}

func show(in *logs.PutLogEventsInput) string {
	var b strings.Builder
	p := func(s *string) string {
		if s == nil {
			return "nil"
		}
		return fmt.Sprintf("%q", *s)
	}
	fmt.Fprintf(&b, "group %s stream %s token %q entity %v events(nil=%v)", p(in.LogGroupName), p(in.LogStreamName), in.SequenceToken, in.Entity, in.LogEvents == nil)
	for _, e := range in.LogEvents {
		fmt.Fprintf(&b, " {%d %q}", e.Timestamp, e.Message)
	}
	return b.String()
}

// recorder keeps the body of the request an SDK client sends and answers
// as PutLogEvents does.
type recorder struct{ body []byte }

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	r.body = b
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}},
		Body: io.NopCloser(strings.NewReader(`{"nextSequenceToken":"1"}`)), Request: req}, nil
}

// TestPutDecodeFastTakesSDKBodies checks that the fast path is the one a real
// client's body takes (a fast path that always declined would pass every
// equivalence test) and that it decodes what was sent, including every kind
// of escape aws-sdk-go-v2 writes.
func TestPutDecodeFastTakesSDKBodies(t *testing.T) {
	msgs := []string{
		`{"level":"info","msg":"quoted \"inner\" text"}`,
		`back\slash and / slash`,
		"tab\there, newline\nthere, cr\r, bell\a, nul\x00, esc\x1b, del\x7f",
		"non-ASCII: é ü 中文 😀 \u2028 \u2029 <>&",
		`2026-11-22T05:09:14.003Z DEBUG [req=1f0975b8] database connection timeout in 601ms`,
		strings.Repeat("x", 7) + `"` + strings.Repeat("y", 9), // the quote inside an 8-byte word
		"a",
	}
	rec := &recorder{}
	c := cwl.New(cwl.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://127.0.0.1:1"), HTTPClient: rec,
		Credentials: aws.AnonymousCredentials{}})
	evs := make([]types.InputLogEvent, len(msgs))
	for i, m := range msgs {
		evs[i] = types.InputLogEvent{Message: aws.String(m), Timestamp: aws.Int64(1_700_000_000_000 + int64(i))}
	}
	if _, err := c.PutLogEvents(context.Background(), &cwl.PutLogEventsInput{LogGroupName: aws.String("/app/web"),
		LogStreamName: aws.String("i-0abc/1"), LogEvents: evs, SequenceToken: aws.String("49590")}); err != nil {
		t.Fatal(err)
	}
	if len(rec.body) == 0 {
		t.Fatal("no body recorded")
	}
	var in logs.PutLogEventsInput
	if !in.DecodeFast(rec.body) {
		t.Fatalf("the fast decoder declined the SDK's body %q", rec.body)
	}
	if *in.LogGroupName != "/app/web" || *in.LogStreamName != "i-0abc/1" || in.SequenceToken != "49590" || in.Entity != nil {
		t.Fatalf("decoded %s", show(&in))
	}
	if len(in.LogEvents) != len(msgs) {
		t.Fatalf("%d events, sent %d", len(in.LogEvents), len(msgs))
	}
	for i, e := range in.LogEvents {
		if e.Message != msgs[i] || e.Timestamp != 1_700_000_000_000+int64(i) {
			t.Errorf("event %d: {%d %q}, sent {%d %q}", i, e.Timestamp, e.Message, 1_700_000_000_000+int64(i), msgs[i])
		}
	}
	sameAsGeneric(t, rec.body)
}

// TestPutDecodeFastCases: bodies by hand, each with the value the fast
// decoder must give, or declined (then the generic decoder decides), and in
// every case the same outcome as the generic decoder alone.
func TestPutDecodeFastCases(t *testing.T) {
	g, s := "g", "s"
	for _, c := range []struct {
		body string
		want *logs.PutLogEventsInput // nil: declined
	}{
		{`{}`, &logs.PutLogEventsInput{}},
		{" \t\r\n{ \"logGroupName\" : \"g\" ,\n\"logStreamName\":\"s\",\"logEvents\":[ ] } \n",
			&logs.PutLogEventsInput{LogGroupName: &g, LogStreamName: &s, LogEvents: []logs.InputLogEvent{}}},
		{`{"logEvents":[{"timestamp":0,"message":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\u0000"},{},{"message":"","timestamp":123456789012345678}]}`,
			&logs.PutLogEventsInput{LogEvents: []logs.InputLogEvent{{Message: "a\"b\\c/d\b\f\n\r\t\u00e9\U0001F600\x00"}, {}, {Timestamp: 123456789012345678}}}},
		{`{"sequenceToken":"x"}`, &logs.PutLogEventsInput{SequenceToken: "x"}},
		// Declined: the generic decoder decides.
		{``, nil},
		{`   `, nil},
		{`null`, nil},
		{`[]`, nil},
		{`{"logGroupName":null}`, nil},
		{`{"logEvents":null}`, nil},
		{`{"logGroupName":"g","logGroupName":"h"}`, nil},
		{`{"logGroupname":"g"}`, nil},
		{`{"LogGroupName":"g"}`, nil},
		{`{"log\u0047roupName":"g"}`, nil},
		{`{"entity":{"keyAttributes":{"Type":"Service"}}}`, nil},
		{`{"other":1}`, nil},
		{`{"logEvents":[{"timestamp":1,"timestamp":2}]}`, nil},
		{`{"logEvents":[{"timestamp":-1,"message":"m"}]}`, nil},
		{`{"logEvents":[{"timestamp":-0,"message":"m"}]}`, nil},
		{`{"logEvents":[{"timestamp":01,"message":"m"}]}`, nil},
		{`{"logEvents":[{"timestamp":1.0,"message":"m"}]}`, nil},
		{`{"logEvents":[{"timestamp":1e3,"message":"m"}]}`, nil},
		{`{"logEvents":[{"timestamp":1234567890123456789,"message":"m"}]}`, nil},
		{`{"logEvents":[{"timestamp":99999999999999999999,"message":"m"}]}`, nil},
		{`{"logEvents":[{"timestamp":"1","message":"m"}]}`, nil},
		{`{"logEvents":[{"timestamp":1,"message":5}]}`, nil},
		{`{"logEvents":[{"timestamp":1,"message":"m","extra":true}]}`, nil},
		{`{"logEvents":[{"timestamp":1,"message":"m"},]}`, nil},
		{`{"logEvents":[{"timestamp":1,"message":"a` + "\x01" + `b"}]}`, nil},
		{`{"logEvents":[{"timestamp":1,"message":"\ud800"}]}`, nil},
		{`{"logEvents":[{"timestamp":1,"message":"\udc00x"}]}`, nil},
		{`{"logEvents":[{"timestamp":1,"message":"\ud800\u0041"}]}`, nil},
		{`{"logEvents":[{"timestamp":1,"message":"\x"}]}`, nil},
		{`{"logEvents":[{"timestamp":1,"message":"\u12"}]}`, nil},
		{"{\"logEvents\":[{\"timestamp\":1,\"message\":\"\xff\"}]}", nil},
		{`{"logGroupName":"g"} x`, nil},
		{`{"logGroupName":"g"}{}`, nil},
		{`{"logGroupName":"g",}`, nil},
		{`{"logGroupName":"g"`, nil},
		{`{"logGroupName":"g`, nil},
		{`{"logGroupName" "g"}`, nil},
	} {
		var in logs.PutLogEventsInput
		ok := in.DecodeFast([]byte(c.body))
		switch {
		case c.want == nil && ok:
			t.Errorf("%q: taken by the fast decoder (%s), want declined", c.body, show(&in))
		case c.want != nil && !ok:
			t.Errorf("%q: declined", c.body)
		case c.want != nil && !reflect.DeepEqual(&in, c.want):
			t.Errorf("%q: decoded %s, want %s", c.body, show(&in), show(c.want))
		}
		sameAsGeneric(t, []byte(c.body))
	}
}

// FuzzPutLogEventsDecode: on any body the server's decoding (fast path,
// else generic) gives what the generic decoder alone gives, value or error.
func FuzzPutLogEventsDecode(f *testing.F) {
	f.Add([]byte(`{"logEvents":[{"message":"{\"a\":1}","timestamp":1700000000000},{"message":"x\ty","timestamp":1700000000001}],"logGroupName":"g","logStreamName":"s"}`))
	f.Add([]byte(`{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1,"message":"\u00e9\ud83d\ude00"}],"sequenceToken":"1"}`))
	f.Add([]byte(`{"logEvents":[{"timestamp":1,"message":"m"}],"entity":{"keyAttributes":{}}}`))
	f.Add([]byte(`{"logEvents":[{"timestamp":-1,"message":"m"},{}]}`))
	f.Add([]byte(`{"logEvents":[{"timestamp":1.5e2,"message":"\ud800"}]}`))
	f.Add([]byte(`{"logEvents":[],"logEvents":null}`))
	f.Add([]byte(" { } "))
	var big bytes.Buffer
	big.WriteString(`{"logGroupName":"g","logStreamName":"s","logEvents":[`)
	for i := 0; i < 50; i++ {
		if i > 0 {
			big.WriteByte(',')
		}
		fmt.Fprintf(&big, `{"timestamp":%d,"message":"line %d \"q\" \\ %s"}`, 1_700_000_000_000+i, i, strings.Repeat("z", i))
	}
	big.WriteString(`]}`)
	f.Add(big.Bytes())
	f.Fuzz(func(t *testing.T, body []byte) {
		sameAsGeneric(t, body)
	})
}

// BenchmarkPutDecode: a 1,000-event bench body through the fast decoder and
// through the generic one (run with -cpu 1).
func BenchmarkPutDecode(b *testing.B) {
	gen := bench.NewLineGen(11)
	var body bytes.Buffer
	body.WriteString(`{"logEvents":[`)
	for i := 0; i < 1000; i++ {
		if i > 0 {
			body.WriteByte(',')
		}
		m, _ := json.Marshal(gen.Line())
		fmt.Fprintf(&body, `{"message":%s,"timestamp":%d}`, m, 1_700_000_000_000+i)
	}
	body.WriteString(`],"logGroupName":"g","logStreamName":"s"}`)
	raw := body.Bytes()
	for _, c := range []struct {
		name string
		in   func() any
	}{
		{"fast", func() any { return new(logs.PutLogEventsInput) }},
		{"generic", func() any { return new(genericInput) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				if err := (&protocol.Call{Body: raw}).DecodeUnchecked(c.in()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N*1000), "cpu-ns/event")
		})
	}
}

// processCPU is the process's user+system CPU time: under a loaded machine
// wall-clock ns/op says little.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
