package protocol_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/protocol"
)

type createIn struct {
	LogGroupName string `json:"logGroupName"`
}

// TestTypedOperation: a typed function registered with Decoded gets the
// Caller the protocol built (the authenticator's account and region, the
// response's request id, the TCP peer) and the decoded input; a body the
// model refuses never reaches it.
func TestTypedOperation(t *testing.T) {
	type call struct {
		c  caller.Caller
		in createIn
	}
	calls := make(chan call, 2) // the handler's goroutine hands over what it got
	ops := protocol.NewTable()
	ops.Add("CreateLogGroup", protocol.Decoded(func(ctx context.Context, c caller.Caller, in *createIn) (*struct{}, error) {
		calls <- call{c, *in}
		return nil, c.Authorize("logs:CreateLogGroup", "*")
	}))
	addr := serve(t, protocol.Config{Operations: ops, Auth: &precheckAuth{}})
	post := func(body string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", "Logs_20140328.CreateLogGroup")
		req.Header.Set("Authorization", "ok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := post(`{"logGroupName":"app"}`)
	if resp.StatusCode != 200 || body != "{}" {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	first := <-calls
	got, gotIn := first.c, first.in
	if got.Account != "000000000000" || got.Region != "us-east-1" || gotIn.LogGroupName != "app" ||
		got.RequestID != resp.Header.Get("x-amzn-RequestId") || got.RequestID == "" || got.SourceIP.String() != "127.0.0.1" {
		t.Fatalf("caller %+v, input %+v, request id header %q", got, gotIn, resp.Header.Get("x-amzn-RequestId"))
	}
	resp, body = post(`{"logGroupName":"bad name!"}`)
	if resp.StatusCode != 400 || !strings.Contains(body, "ValidationException") && !strings.Contains(body, "InvalidParameterException") || len(calls) != 0 {
		t.Fatalf("invalid name: %d %s, %d more calls", resp.StatusCode, body, len(calls))
	}
}
