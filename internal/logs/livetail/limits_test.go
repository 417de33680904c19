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

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/server"
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
	s := harness.Start(t)
	c := s.Client()
	harness.CreateGroup(t, c, "app", "s")
	in := &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"app"}}
	var open []*tailer
	for range awsSessionQuota {
		// One client per concurrent session (see TestLiveTailFilters).
		open = append(open, startTail(t, s.Client(), in))
	}
	_, err := c.StartLiveTail(context.Background(), in)
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "LimitExceededException" || ae.ErrorMessage() != "Resource limit exceeded." {
		t.Fatalf("16th session: %v", err)
	}
	open[0].stream.Close()
	tl := startAfterSlot(t, c, in)
	harness.PutMessages(t, c, "app", "s", "after the quota freed up")
	tl.waitFor("the event", has("after the quota freed up"))
}

// A client that starts a session on a busy group and stops reading costs a
// bounded buffer: the server keeps at most AWS's 5,000 events for it, drops
// the oldest, and reports sampled = true once the client reads again.
func TestLiveTailIdleClientIsBounded(t *testing.T) {
	// The stream write timeout (which ends a stuck session: e2e/hostile
	// tests it) is out of the way, so that however slowly the puts below
	// run, the session lives until the client reads again.
	s := harness.Start(t, harness.Configure(func(c *server.Config) { c.StreamWriteTimeout = 10 * time.Minute }))
	// A small, fixed receive buffer (it turns off the kernel's autotuning)
	// so that the server's writes block after a few megabytes at most and
	// the session, not the socket, has to hold what follows. harness.Over
	// keeps the SDK's request bodies buffered: without that, the transport
	// can close the stream's connection when the response comes quickly
	// (aws/aws-sdk-go-v2#2737), which ended this session under load.
	dialer := &net.Dialer{}
	small := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dialer.DialContext(ctx, network, addr)
		if err == nil {
			err = conn.(*net.TCPConn).SetReadBuffer(32 << 10)
		}
		return conn, err
	}}}
	t.Cleanup(small.CloseIdleConnections)
	w := s.Client()
	harness.CreateGroup(t, w, "busy", "s")
	tl := startTail(t, s.Client(harness.Over(small)), &cwl.StartLiveTailInput{LogGroupIdentifiers: []string{"busy"}})

	// 1 MB a call of events the client does not read, until the session's
	// buffer is full, then a few more: what the socket buffers and the
	// SDK's decoded messages hold is a few megabytes, bounded by the
	// kernel's settings, so the buffer must fill well before maxPuts.
	const maxPuts = 64
	msg := strings.Repeat("x", 1000)
	batch := make([]string, 1000)
	for i := range batch {
		batch[i] = msg
	}
	after := -1 // puts since the buffer filled
	for i := 0; after < 3; i++ {
		if i == maxPuts {
			t.Fatalf("%d MB sent and the session's buffer never filled: its writer never blocked", maxPuts)
		}
		harness.PutMessages(t, w, "busy", "s", batch...)
		sessions, n, bytes := s.TailStats()
		if sessions != 1 {
			t.Fatalf("after %d MB, %d sessions: the idle client's session ended (client: %v)", i+1, sessions, tl.stream.Err())
		}
		if n > awsBufferedLimit || bytes > tail.DefaultMaxBufferedBytes {
			t.Fatalf("%d events, %d bytes buffered for a client that does not read", n, bytes)
		}
		if after >= 0 || n == awsBufferedLimit {
			after++
		}
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
