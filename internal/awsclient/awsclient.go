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
//
// A Cairn serving HTTPS with a self-signed certificate is trusted through a
// CA bundle: ReadCABundle checks one (the SDK's own AWS_CA_BUNDLE handling
// ignores a file that holds no certificate and then trusts nothing, with an
// unhelpful handshake error), and HTTPClientWithCA builds a client that
// trusts it.
package awsclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"

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

// ReadCABundle reads a PEM CA bundle and checks that it holds at least one
// certificate and nothing that fails to parse.
func ReadCABundle(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	if _, err := caPool(raw); err != nil {
		return nil, fmt.Errorf("CA file %s: %w", path, err)
	}
	return raw, nil
}

func caPool(pemBytes []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for rest := pemBytes; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue // a bundle may carry comments or keys; only certificates count
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("no PEM certificate in it")
	}
	return pool, nil
}

// HTTPClientWithCA is HTTPClient trusting only the certificates of a PEM
// bundle (as AWS_CA_BUNDLE does for the SDKs and the AWS CLI).
func HTTPClientWithCA(pemBytes []byte) (BufferedBodies, error) {
	pool, err := caPool(pemBytes)
	if err != nil {
		return BufferedBodies{}, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return BufferedBodies{Next: &http.Client{Transport: tr}}, nil
}
