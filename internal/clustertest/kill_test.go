package clustertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/pgtest"
)

// killBatches is how many batches the writers send before the kill; the
// environment's CAIRN_CLUSTER_KILL_BATCHES makes the run longer.
const killBatches = 40

// ledger is what the writers sent: every message, and whether its batch
// was acknowledged (a 200) or not (an error, or no answer).
type ledger struct {
	mu    sync.Mutex
	acked map[string]bool // message → acknowledged
}

func (l *ledger) record(msgs []string, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range msgs {
		l.acked[m] = ok
	}
}

// check: every acknowledged event is stored exactly once, an
// unacknowledged one at most once, and nothing else is stored.
func (l *ledger) check(t *testing.T, stored []string) (acked, unacked, unackedStored int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	count := map[string]int{}
	for _, m := range stored {
		count[m]++
	}
	for m, n := range count {
		ok, sent := l.acked[m]
		switch {
		case !sent:
			t.Fatalf("stored %q, which no writer sent", m)
		case n > 1:
			t.Fatalf("%q stored %d times", m, n)
		case !ok:
			unackedStored++
		}
	}
	for m, ok := range l.acked {
		if ok {
			acked++
			if count[m] != 1 {
				t.Fatalf("acknowledged %q stored %d times", m, count[m])
			}
		} else {
			unacked++
		}
	}
	return
}

// writers runs n goroutines putting unique batches of 20 events to
// group/stream-w through c() until stop is closed, each has sent max
// batches (0: no bound), or onErr, given an error, says to stop; a batch is
// acknowledged when PutLogEvents succeeded. It returns a wait function.
func writers(c func() *cwl.Client, group string, n, max int, l *ledger, stop <-chan struct{}, onErr func(error) bool) func() {
	var wg sync.WaitGroup
	base := time.Now().Add(-time.Minute).UnixMilli()
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; max == 0 || b < max; b++ {
				select {
				case <-stop:
					return
				default:
				}
				var msgs []string
				var evs []types.InputLogEvent
				for i := range 20 {
					m := fmt.Sprintf("w%d b%05d i%02d ERROR payload-%d", w, b, i, w*1_000_000+b*20+i)
					msgs = append(msgs, m)
					evs = append(evs, types.InputLogEvent{Timestamp: aws.Int64(base + int64(b)), Message: aws.String(m)})
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				_, err := c().PutLogEvents(ctx, &cwl.PutLogEventsInput{LogGroupName: aws.String(group),
					LogStreamName: aws.String("w" + strconv.Itoa(w)), LogEvents: evs})
				cancel()
				l.record(msgs, err == nil)
				if err != nil && !onErr(err) {
					return
				}
			}
		}()
	}
	return wg.Wait
}

// readAll reads every event of group (FilterLogEvents, all pages).
func readAll(t *testing.T, c *cwl.Client, group string) []string {
	t.Helper()
	var out []string
	in := &cwl.FilterLogEventsInput{LogGroupName: aws.String(group)}
	for {
		f, err := c.FilterLogEvents(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range f.Events {
			out = append(out, aws.ToString(e.Message))
		}
		if f.NextToken == nil {
			return out
		}
		in.NextToken = f.NextToken
	}
}

// TestKillNode: two real `cairn server` processes on one database; the
// first holds the background jobs' leases (retention, the metric-filter
// counter, a subscription filter's delivery) and takes 4 writers' batches
// when it is killed with SIGKILL mid-ingest. Afterwards, read through the
// survivor, every acknowledged event is there exactly once (an
// unacknowledged one at most once), every lease the dead node held is held
// by the survivor within the lease TTL, and the subscription's delivery
// goes on there: every acknowledged ERROR event delivered.
func TestKillNode(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	out := filepath.Join(t.TempDir(), "delivered.jsonl")
	cfg := filepath.Join(t.TempDir(), "cairn.yaml")
	if err := os.WriteFile(cfg, []byte("destinations:\n  "+fileARN+":\n    file:\n      path: "+out+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startNode(t, url, "--config", cfg)
	ca := a.client()
	ctx := context.Background()
	if _, err := ca.CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("ingest")}); err != nil {
		t.Fatal(err)
	}
	for w := range 4 {
		if _, err := ca.CreateLogStream(ctx, &cwl.CreateLogStreamInput{LogGroupName: aws.String("ingest"), LogStreamName: aws.String("w" + strconv.Itoa(w))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ca.PutSubscriptionFilter(ctx, &cwl.PutSubscriptionFilterInput{LogGroupName: aws.String("ingest"),
		FilterName: aws.String("all"), FilterPattern: aws.String("ERROR"), DestinationArn: aws.String(fileARN)}); err != nil {
		t.Fatal(err)
	}
	// Alone, a holds every lease; then b starts.
	var holderA string
	harness.CheckFor(t, 30*time.Second, 50*time.Millisecond, func() error {
		ls := leases(t, url)
		if len(ls) < 3 {
			return fmt.Errorf("leases: %s", describe(ls))
		}
		for _, h := range ls {
			holderA = h
		}
		return nil
	})
	held := leases(t, url)
	b := startNode(t, url, "--config", cfg)
	cb := b.client()

	l := &ledger{acked: map[string]bool{}}
	stop := make(chan struct{})
	var errMu sync.Mutex
	var errs []error
	wait := writers(func() *cwl.Client { return ca }, "ingest", 4, 0, l, stop, func(err error) bool {
		errMu.Lock()
		errs = append(errs, err)
		errMu.Unlock()
		return false
	})
	batches := killBatches
	if v, err := strconv.Atoi(os.Getenv("CAIRN_CLUSTER_KILL_BATCHES")); err == nil && v > 0 {
		batches = v
	}
	harness.CheckFor(t, 60*time.Second, 5*time.Millisecond, func() error {
		l.mu.Lock()
		n := len(l.acked) / 20
		l.mu.Unlock()
		if n < batches {
			return fmt.Errorf("%d batches sent", n)
		}
		return nil
	})
	a.kill() // mid-ingest: the writers are sending
	// Writers see the dead node's errors; stop them once each has.
	harness.CheckFor(t, 30*time.Second, 10*time.Millisecond, func() error {
		errMu.Lock()
		defer errMu.Unlock()
		if len(errs) < 4 {
			return fmt.Errorf("%d writers saw the node die", len(errs))
		}
		return nil
	})
	close(stop)
	wait()

	acked, unacked, unackedStored := l.check(t, readAll(t, cb, "ingest"))
	t.Logf("killed mid-ingest: %d events acknowledged, each stored once; %d unacknowledged, %d of them stored", acked, unacked, unackedStored)
	if acked == 0 {
		t.Fatal("no batch was acknowledged before the kill")
	}

	// Every lease a held moves to b.
	harness.CheckFor(t, 60*time.Second, 100*time.Millisecond, func() error {
		now := leases(t, url)
		for name, h := range held {
			if h != holderA {
				continue
			}
			if now[name] == "" || now[name] == holderA {
				return fmt.Errorf("lease %q not taken over: %s", name, describe(now))
			}
		}
		return nil
	})
	// Delivery goes on on b: more ERROR events, and every acknowledged
	// ERROR event (there and before) delivered at least once (a page the
	// dead node delivered without saving its cursor comes again), nothing
	// that was not sent.
	l2 := &ledger{acked: map[string]bool{}}
	writers(func() *cwl.Client { return cb }, "ingest", 1, 3, l2, nil, func(err error) bool { t.Error(err); return false })()
	harness.CheckFor(t, 60*time.Second, 50*time.Millisecond, func() error {
		got, err := deliveredMessages(out)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, m := range got {
			seen[m] = true
		}
		for _, led := range []*ledger{l, l2} {
			led.mu.Lock()
			for m, ok := range led.acked {
				if ok && !seen[m] {
					led.mu.Unlock()
					return fmt.Errorf("acknowledged %q not delivered (%d delivered)", m, len(got))
				}
			}
			led.mu.Unlock()
		}
		return nil
	})
	got, _ := deliveredMessages(out)
	for _, m := range got {
		_, s1 := l.acked[m]
		_, s2 := l2.acked[m]
		if !s1 && !s2 {
			t.Fatalf("delivered %q, never sent", m)
		}
	}
}
