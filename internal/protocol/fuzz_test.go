package protocol_test

import (
	"bytes"
	"context"
	"encoding/json"
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
	ops := map[string]protocol.Operation{}
	for _, op := range model.Operations() {
		ops[op] = func(ctx context.Context, c *protocol.Call) (any, error) {
			var in map[string]any
			if err := c.Decode(&in); err != nil {
				return nil, err
			}
			return struct{}{}, nil
		}
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
