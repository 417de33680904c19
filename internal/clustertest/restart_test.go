package clustertest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/pgtest"
)

// TestPostgresRestart: PostgreSQL restarted (fast shutdown, every session
// ended) under 4 writers' load on two nodes. Every error a client gets
// meanwhile is one the AWS SDK retries; every acknowledged event is stored
// exactly once (never a success that was not committed), an
// unacknowledged one at most once; and both nodes take writes again
// afterwards without being restarted.
func TestPostgresRestart(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	nodes := []*harness.Server{harness.Start(t, harness.WithStore(url)), harness.Start(t, harness.WithStore(url))}
	clients := []*cwl.Client{nodes[0].Client(), nodes[1].Client()}
	ctx := context.Background()
	if _, err := clients[0].CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("load")}); err != nil {
		t.Fatal(err)
	}
	for w := range 4 {
		if _, err := clients[1].CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("load"), LogStreamName: aws.String("w" + strconv.Itoa(w))}); err != nil {
			t.Fatal(err)
		}
	}
	l := &ledger{acked: map[string]bool{}}
	var (
		mu       sync.Mutex
		codes    = map[string]int{}
		nonRetry []error
		turn     int
	)
	retryable := retry.IsErrorRetryables(retry.DefaultRetryables)
	stop := make(chan struct{})
	next := func() *cwl.Client {
		mu.Lock()
		defer mu.Unlock()
		turn++
		return clients[turn%2]
	}
	wait := writers(next, "load", 4, 0, l, stop, func(err error) bool {
		mu.Lock()
		defer mu.Unlock()
		code := "transport"
		var ae smithy.APIError
		if errors.As(err, &ae) {
			code = ae.ErrorCode()
		}
		codes[code]++
		if retryable.IsErrorRetryable(err) != aws.TrueTernary {
			nonRetry = append(nonRetry, err)
		}
		return true
	})
	acked := func() int {
		l.mu.Lock()
		defer l.mu.Unlock()
		n := 0
		for _, ok := range l.acked {
			if ok {
				n++
			}
		}
		return n
	}
	harness.CheckFor(t, 60*time.Second, 5*time.Millisecond, func() error {
		if n := acked(); n < 20*20 {
			return fmt.Errorf("%d events acknowledged", n)
		}
		return nil
	})
	if err := pg.Restart(); err != nil {
		close(stop)
		wait()
		t.Fatal(err)
	}
	after := acked()
	// Recovery: writes acknowledged again (through both nodes, in turn).
	harness.CheckFor(t, 60*time.Second, 10*time.Millisecond, func() error {
		if n := acked(); n < after+20*20 {
			return fmt.Errorf("%d events acknowledged since the restart", n-after)
		}
		return nil
	})
	close(stop)
	wait()
	for _, c := range clients {
		if _, err := c.DescribeLogStreams(ctx, &cwl.DescribeLogStreamsInput{LogGroupName: aws.String("load")}); err != nil {
			t.Fatalf("a node after the restart: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(nonRetry) > 0 {
		t.Fatalf("%d errors the SDK would not retry, e.g. %v", len(nonRetry), nonRetry[0])
	}
	a, unacked, unackedStored := l.check(t, readAll(t, clients[0], "load"))
	t.Logf("PostgreSQL restarted under load: %d events acknowledged, each stored once; %d unacknowledged (%d of them stored); errors by code %v",
		a, unacked, unackedStored, codes)
}
