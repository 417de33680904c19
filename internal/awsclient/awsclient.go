// Package awsclient holds the aws-sdk-go-v2 CloudWatch Logs client settings
// Cairn's own tools (cairn logs, cairn agent, cairn run) and its tests need
// when they talk to Cairn — or to AWS — through the real SDK.
//
// Two SDK behaviours matter:
//
//   - The SDK closes a request body as soon as the response headers arrive.
//     If net/http has not made its final read of the body by then, the
//     transport takes the failed read for a broken connection and closes it
//     under the response (aws/aws-sdk-go-v2#2737): a large response fails
//     mid-read, a Live Tail stream dies, and a retried PutLogEvents stores its
//     events twice. BufferedBodies gives net/http a private copy of each body.
//   - StartLiveTail's endpoint carries the host prefix "stream-" (SDKs before
//     2026-04: "streaming-"), which the SDK prepends even to a custom
//     endpoint. An IP address or localhost has no such name; NoHostPrefix
//     sends the request to the endpoint as given.
package awsclient

import (
	"bytes"
	"context"
	"io"
	"net/http"

	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Doer is what the SDK calls to send a request (*http.Client is one).
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// BufferedBodies sends each request through Next with a private copy of its
// body. It implements cloudwatchlogs.HTTPClient.
type BufferedBodies struct{ Next Doer }

// Do implements Doer.
func (b BufferedBodies) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return nil, err
		}
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	return b.Next.Do(r)
}

// HTTPClient returns an HTTP client for the SDK that buffers request bodies.
func HTTPClient() BufferedBodies { return BufferedBodies{Next: &http.Client{}} }

// WithBufferedBodies is a client option wrapping the client's HTTP client
// (or a default one) in BufferedBodies.
func WithBufferedBodies(o *cwl.Options) {
	var next Doer = &http.Client{}
	if o.HTTPClient != nil {
		next = o.HTTPClient
	}
	o.HTTPClient = BufferedBodies{Next: next}
}

// NoHostPrefix is a client option that sends requests to the endpoint as
// given, without the "stream-" prefix StartLiveTail would add.
func NoHostPrefix(o *cwl.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("CairnNoHostPrefix",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
			}), middleware.Before)
	})
}
