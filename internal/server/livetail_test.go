package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/cairnlog/cairn/internal/iam"
)

// TestLiveTailThroughServer checks the server's wiring: events stored by
// PutLogEvents reach a StartLiveTail session opened with SigV4 credentials.
func TestLiveTailThroughServer(t *testing.T) {
	s, _, dir := startAuth(t, "")
	key, secret, err := iam.ReadCredentials(dir + "/credentials")
	if err != nil {
		t.Fatal(err)
	}
	c := cwl.New(cwl.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(s.URL()), Retryer: aws.NopRetryer{},
		Credentials: credentials.NewStaticCredentialsProvider(key, secret, ""),
		HTTPClient:  &http.Client{Transport: bufferedBodies{http.DefaultTransport}},
	}, func(o *cwl.Options) {
		// A loopback IP has no "stream-" name: send StartLiveTail to the endpoint as given.
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("CairnDisableHostPrefix",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					return next.HandleInitialize(smithyhttp.DisableEndpointHostPrefix(ctx, true), in)
				}), middleware.Before)
		})
	})
	setup(t, c, "app", "web")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := c.StartLiveTail(ctx, &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"arn:aws:logs:us-east-1:000000000000:log-group:app"},
		LogEventFilterPattern: aws.String("ERROR")})
	if err != nil {
		t.Fatal(err)
	}
	stream := out.GetStream()
	defer stream.Close()
	started := false
	put(t, c, "app", "web", ev(now(), "INFO fine"), ev(now(), "ERROR broken"))
	for e := range stream.Events() {
		switch v := e.(type) {
		case *types.StartLiveTailResponseStreamMemberSessionStart:
			started = true
		case *types.StartLiveTailResponseStreamMemberSessionUpdate:
			for _, r := range v.Value.SessionResults {
				if aws.ToString(r.Message) != "ERROR broken" {
					t.Fatalf("unexpected event %q", aws.ToString(r.Message))
				}
				if !started {
					t.Fatal("an update before sessionStart")
				}
				return
			}
		}
	}
	t.Fatalf("stream ended without the event: %v", stream.Err())
}

// bufferedBodies hands net/http its own copy of each request body, working
// around aws/aws-sdk-go-v2#2737 (the SDK closes a request body when response
// headers arrive, which can kill a live-tail stream on loopback).
type bufferedBodies struct{ next http.RoundTripper }

func (b bufferedBodies) RoundTrip(r *http.Request) (*http.Response, error) {
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
	return b.next.RoundTrip(r)
}
