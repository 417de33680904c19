package logs

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// BenchmarkPageClientSide measures what a reader pays on its side for one
// full FilterLogEvents page of the bench's lines (the page
// BenchmarkFilterPage encodes): "sdk" is aws-sdk-go-v2's FilterLogEvents
// against a loopback server that answers those fixed bytes (HTTP, SigV4
// signing, the SDK's deserializer), "encoding-json" the same bytes decoded
// by encoding/json into the output struct, "server-encode" the server's own
// encoding of the page. It says where the compare's "through aws-sdk-go-v2"
// time goes: run with -cpu=1 and compare the ns/op of the three.
func BenchmarkPageClientSide(b *testing.B) {
	evs, size := benchPageEvents()
	page := func() *FilterLogEventsOutput {
		out := &FilterLogEventsOutput{Events: make([]FilteredLogEvent, len(evs)), SearchedLogStreams: []SearchedLogStream{}, NextToken: "f/1764600000000/1/2"}
		ids := eventIDs(evs)
		for i, e := range evs {
			out.Events[i] = FilteredLogEvent{LogStreamName: e.Stream, Timestamp: e.Timestamp, Message: e.Message, IngestionTime: e.IngestionTime, EventID: ids[i]}
		}
		return out
	}
	body := page().AppendJSON(nil)
	b.Run("server-encode", func(b *testing.B) {
		b.SetBytes(int64(size))
		var buf []byte
		for b.Loop() {
			buf = page().AppendJSON(buf[:0])
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(size))
		for b.Loop() {
			var out FilterLogEventsOutput
			if err := json.Unmarshal(body, &out); err != nil || len(out.Events) != len(evs) {
				b.Fatal(err, len(out.Events))
			}
		}
	})
	b.Run("sdk", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write(body)
		}))
		defer srv.Close()
		client := cwl.New(cwl.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
			Credentials: aws.AnonymousCredentials{}})
		in := &cwl.FilterLogEventsInput{LogGroupName: aws.String("g"), Limit: aws.Int32(10000)}
		b.SetBytes(int64(size))
		for b.Loop() {
			out, err := client.FilterLogEvents(context.Background(), in)
			if err != nil || len(out.Events) != len(evs) {
				b.Fatal(err)
			}
		}
	})
}
