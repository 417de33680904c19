package protocol_test

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cairnlog/cairn/internal/awsmodel"
	"github.com/cairnlog/cairn/internal/protocol"
)

// FuzzRequest sends arbitrary bodies to every operation of the model through
// the handler, with an operation that decodes its input. Whatever comes in,
// the answer is a well-formed AWS JSON response with a request ID and a 200,
// 400 or 413: never a panic, never a 5xx.
func FuzzRequest(f *testing.F) {
	model, err := awsmodel.Load()
	if err != nil {
		f.Fatal(err)
	}
	ops := protocol.NewTable()
	for _, op := range model.Operations() {
		ops.Add(op, func(ctx context.Context, c *protocol.Call) (any, error) {
			var in map[string]any
			if err := c.Decode(&in); err != nil {
				return nil, err
			}
			return struct{}{}, nil
		})
	}
	h := protocol.New(protocol.Config{Model: model, Operations: ops, MaxBody: 1 << 20})
	for _, seed := range []string{
		`{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1,"message":"m"}]}`,
		`{"limit":10001}`, `{"logGroupName":5}`, `{"tags":{"":"v"}}`, `[]`, `{`, ``, `null`, `{"a":{"b":[1,2,{"c":null}]}}`,
		`{"logEvents":[{"timestamp":"x"}]}`, `{"logGroupIdentifiers":["` + string(bytes.Repeat([]byte("a"), 3000)) + `"]}`,
	} {
		f.Add("PutLogEvents", []byte(seed))
		f.Add("DescribeLogGroups", []byte(seed))
		f.Add("CreateLogGroup", []byte(seed))
	}
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "Logs_20140328."+op)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Header().Get("x-amzn-RequestId") == "" {
			t.Fatal("no request id")
		}
		switch rec.Code {
		case 200, 400, 413:
		default:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body.Bytes())
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("response is not JSON: %q", rec.Body.Bytes())
		}
		if rec.Code != 200 && (out["__type"] == nil || out["message"] == nil) {
			t.Fatalf("error without __type and message: %s", rec.Body.Bytes())
		}
	})
}

// FuzzDecodeValidated: what an operation decodes is what was validated. For
// a model-validated operation (CreateLogGroup, through Call.Decode) and the
// hot path (PutLogEvents, through DecodeUnchecked), whenever decoding
// succeeds every member of the struct equals the member of that exact name
// in the body (read independently with encoding/json), and passes the
// model's constraints.
func FuzzDecodeValidated(f *testing.F) {
	model, err := awsmodel.Load()
	if err != nil {
		f.Fatal(err)
	}
	type create struct {
		LogGroupName  *string           `json:"logGroupName"`
		KmsKeyID      *string           `json:"kmsKeyId"`
		Tags          map[string]string `json:"tags"`
		LogGroupClass *string           `json:"logGroupClass"`
	}
	type event struct {
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	}
	type put struct {
		LogGroupName  *string `json:"logGroupName"`
		LogStreamName *string `json:"logStreamName"`
		LogEvents     []event `json:"logEvents"`
	}
	var (
		gotCreate *create
		gotPut    *put
	)
	ops := protocol.NewTable()
	ops.Add("CreateLogGroup", func(ctx context.Context, c *protocol.Call) (any, error) {
		var in create
		if err := c.Decode(&in); err != nil {
			return nil, err
		}
		gotCreate = &in
		return struct{}{}, nil
	})
	ops.Add("PutLogEvents", func(ctx context.Context, c *protocol.Call) (any, error) {
		var in put
		if err := c.DecodeUnchecked(&in); err != nil {
			return nil, err
		}
		gotPut = &in
		return struct{}{}, nil
	})
	h := protocol.New(protocol.Config{Model: model, Operations: ops, MaxBody: 1 << 20})
	for _, seed := range []string{
		`{"logGroupName":"ok","LogGroupName":"bad name:*!!"}`, `{"LogGroupName":"bad","logGroupName":"ok"}`,
		`{"logGroupName":"ok","logGroupName":"bad"}`, `{"logGroupName":"g","tags":{"a":"1"},"Tags":{"b":"2"}}`,
		`{"logGroupName":"o\u006b","logGroup\u004eame":"bad"}`, `{"logGroupName":"g","logGroupClass":"STANDARD","kmsKeyId":"k"}`,
		`{"logGroupName":"g","logStreamName":"s","logEvents":[{"timestamp":1,"Timestamp":2,"message":"m","MESSAGE":"x"}]}`,
		`{"logGroupName":"g\ud800","logStreamName":"s\xff","logEvents":[{"timestamp":1e3,"message":"m"}]}`,
	} {
		f.Add(false, []byte(seed))
		f.Add(true, []byte(seed))
	}
	str := func(t *testing.T, doc map[string]any, name string, got *string, shape string) {
		t.Helper()
		v, ok := doc[name]
		if got == nil {
			if ok && v != nil {
				t.Fatalf("%s: body has %q, decoded nothing", name, v)
			}
			return
		}
		if v != *got {
			t.Fatalf("%s: body has %#v, decoded %q", name, v, *got)
		}
		if err := model.CheckValue(shape, name, *got); err != nil {
			t.Fatalf("%s: decoded %q fails validation: %v", name, *got, err)
		}
	}
	f.Fuzz(func(t *testing.T, hot bool, body []byte) {
		gotCreate, gotPut = nil, nil
		op := "CreateLogGroup"
		if hot {
			op = "PutLogEvents"
		}
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", "Logs_20140328."+op)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			return
		}
		var doc map[string]any
		if len(bytes.TrimSpace(body)) == 0 {
			doc = map[string]any{}
		} else if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", body, err)
		}
		if !hot {
			in := gotCreate
			str(t, doc, "logGroupName", in.LogGroupName, "LogGroupName")
			str(t, doc, "kmsKeyId", in.KmsKeyID, "KmsKeyId")
			str(t, doc, "logGroupClass", in.LogGroupClass, "LogGroupClass")
			want := map[string]string{}
			if m, ok := doc["tags"].(map[string]any); ok {
				for k, v := range m {
					s, _ := v.(string)
					want[k] = s
				}
			}
			if len(want) != len(in.Tags) || !maps.Equal(want, in.Tags) && len(want) > 0 {
				t.Fatalf("tags: body has %v, decoded %v", doc["tags"], in.Tags)
			}
			return
		}
		in := gotPut
		for _, m := range []struct {
			name string
			got  *string
		}{{"logGroupName", in.LogGroupName}, {"logStreamName", in.LogStreamName}} {
			v, ok := doc[m.name]
			if (m.got == nil) != (!ok || v == nil) || m.got != nil && v != *m.got {
				t.Fatalf("%s: body has %#v, decoded %v", m.name, v, m.got)
			}
		}
		evs, _ := doc["logEvents"].([]any)
		if len(evs) != len(in.LogEvents) {
			t.Fatalf("logEvents: body has %d, decoded %d", len(evs), len(in.LogEvents))
		}
		for i, e := range evs {
			o, _ := e.(map[string]any)
			ts, _ := o["timestamp"].(float64)
			msg, _ := o["message"].(string)
			if float64(in.LogEvents[i].Timestamp) != ts || in.LogEvents[i].Message != msg {
				t.Fatalf("event %d: body has %v, decoded %+v", i, o, in.LogEvents[i])
			}
		}
	})
}
