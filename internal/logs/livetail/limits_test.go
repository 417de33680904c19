package livetail_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"

	"github.com/cairnlog/cairn/internal/awsclient"
	"github.com/cairnlog/cairn/internal/tail"
)

// AWS's Live Tail numbers (StartLiveTail API reference, CloudWatch Logs
// quotas), spelled out so that a changed default fails here.
const (
	awsSessionQuota  = 15
	awsBufferedLimit = 5_000
)

// An account holds at most 15 Live Tail sessions, AWS's quota: the 16th is
// refused with AWS's LimitExceededException, and a closed session frees
// its slot.
func TestLiveTailSessionQuota(t *testing.T) {
	s := startServer(t, 0)
	c := s.client(awsclient.NoHostPrefix)
	setup(t, c, "app", "s")
	in := &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"app"}}
	var open []*tailer
	for range awsSessionQuota {
		open = append(open, startTail(t, c, in))
	}
	_, err := c.StartLiveTail(context.Background(), in)
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "LimitExceededException" || ae.ErrorMessage() != "Resource limit exceeded." {
		t.Fatalf("16th session: %v", err)
	}
	if n := s.hub.Sessions(); n != awsSessionQuota {
		t.Fatalf("%d sessions open", n)
	}
	open[0].stream.Close()
	waitUntil(t, "the closed session to end", func() bool { return s.hub.Sessions() < awsSessionQuota })
	tl := startTail(t, c, in)
	put(t, c, "app", "s", "after the quota freed up")
	tl.waitFor("the event", has("after the quota freed up"))
}

// A client that starts a session on a busy group and stops reading costs a
// bounded buffer: the server keeps at most AWS's 5,000 events for it, drops
// the oldest, and reports sampled = true once the client reads again.
func TestLiveTailIdleClientIsBounded(t *testing.T) {
	s := startServer(t, 0)
	// A small, fixed receive buffer (it turns off the kernel's autotuning)
	// so that the server's writes block after a few hundred kilobytes and
	// the session, not the socket, has to hold what follows.
	dialer := &net.Dialer{}
	small := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dialer.DialContext(ctx, network, addr)
		if err == nil {
			err = conn.(*net.TCPConn).SetReadBuffer(32 << 10)
		}
		return conn, err
	}}}
	t.Cleanup(small.CloseIdleConnections)
	c := s.client(awsclient.NoHostPrefix, func(o *cwl.Options) { o.HTTPClient = small })
	setup(t, c, "busy", "s")
	tl := startTail(t, c, &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"busy"}})

	// 24 MB of events the client does not read: more than the socket
	// buffers, the SDK's one decoded message and the session can hold.
	msg := strings.Repeat("x", 1000)
	batch := make([]string, 1000)
	for i := range batch {
		batch[i] = msg
	}
	peak := 0
	for range 24 {
		put(t, c, "busy", "s", batch...)
		n, bytes := s.hub.Buffered()
		if n > awsBufferedLimit || bytes > tail.DefaultMaxBufferedBytes {
			t.Fatalf("%d events, %d bytes buffered for a client that does not read", n, bytes)
		}
		peak = max(peak, n)
	}
	if peak < awsBufferedLimit {
		t.Fatalf("the buffer never filled (peak %d events): the test did not stop the writer", peak)
	}

	// The client reads again: an update reports that events were dropped.
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-tl.stream.Events():
			if !ok {
				t.Fatalf("stream ended: %v", tl.stream.Err())
			}
			up, isUpdate := ev.(*types.StartLiveTailResponseStreamMemberSessionUpdate)
			if !isUpdate {
				t.Fatalf("event %T, want sessionUpdate", ev)
			}
			if n := len(up.Value.SessionResults); n > 500 {
				t.Fatalf("an update of %d events; AWS sends at most 500", n)
			}
			if up.Value.SessionMetadata != nil && up.Value.SessionMetadata.Sampled {
				return
			}
		case <-deadline:
			t.Fatal("no update reported sampled = true")
		}
	}
}
