package run_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/harness"
	"github.com/cairnlog/cairn/internal/insights/run"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/store/embedded"
)

var scope = store.Scope{Account: "123456789012", Region: "us-east-1"}

// counter is the simplest executor: it counts events and keeps the messages
// of the first few. gate, when set, holds every AddBlock until it is closed
// (so a test can see a query Running), and the first AddBlock closes
// entered.
type counter struct {
	mu      sync.Mutex
	n       int
	msgs    []string
	gate    chan struct{}
	entered chan struct{}
	once    sync.Once
	fail    error
}

func (c *counter) AddBlock(group string, b store.ScanBlock) bool {
	if c.entered != nil {
		c.once.Do(func() { close(c.entered) })
	}
	if c.gate != nil {
		<-c.gate
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ev := range b.Events {
		c.n++
		if len(c.msgs) < 5 {
			c.msgs = append(c.msgs, ev.Message)
		}
	}
	return true
}

func (c *counter) result() run.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := run.Result{RecordsMatched: float64(c.n), RecordsScanned: float64(c.n)}
	r.Rows = append(r.Rows, []run.Field{{Field: "count", Value: strconv.Itoa(c.n)}})
	return r
}

func (c *counter) Snapshot() run.Result { return c.result() }
func (c *counter) Finish() (run.Result, error) {
	if c.fail != nil {
		return run.Result{}, c.fail
	}
	return c.result(), nil
}

func open(t *testing.T) *embedded.Engine {
	t.Helper()
	e, err := embedded.Open(embedded.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	ctx := context.Background()
	if err := e.CreateGroup(ctx, store.Group{Scope: scope, Name: "g", CreationTime: 1}); err != nil {
		t.Fatal(err)
	}
	if err := e.CreateStream(ctx, scope, "g", store.Stream{Name: "s", CreationTime: 1}); err != nil {
		t.Fatal(err)
	}
	for b := 0; b < 10; b++ {
		var evs []store.Event
		for i := 0; i < 100; i++ {
			evs = append(evs, store.Event{Timestamp: int64(1000 + b*100 + i), Message: fmt.Sprintf("event %d", b*100+i)})
		}
		if _, err := e.Append(ctx, scope, "g", "s", evs, 5000); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func waitStatus(t *testing.T, m *run.Manager, id string, want ...string) run.Snapshot {
	t.Helper()
	var snap run.Snapshot
	harness.CheckFor(t, 10*time.Second, 5*time.Millisecond, func() error {
		var err error
		snap, err = m.Results(scope, id)
		if err != nil {
			return err
		}
		for _, w := range want {
			if snap.Status == w {
				return nil
			}
		}
		return fmt.Errorf("status %s, want %v", snap.Status, want)
	})
	return snap
}

func TestCompleteCountsTheWindow(t *testing.T) {
	m := run.New(run.Config{Store: open(t)})
	defer m.Close()
	// Both ends inclusive: 1100..1299 is 200 events.
	id, err := m.Start(run.Spec{Scope: scope, Groups: []string{"g"}, Start: 1100, End: 1299, Exec: &counter{}, Language: "CWLI"})
	if err != nil {
		t.Fatal(err)
	}
	snap := waitStatus(t, m, id, run.Complete)
	if got := snap.Result.Rows[0][0].Value; got != "200" {
		t.Fatalf("count %s, want 200", got)
	}
	if snap.Result.RecordsScanned != 200 {
		t.Fatalf("recordsScanned %v", snap.Result.RecordsScanned)
	}
	if err := m.Stop(scope, id); !awserr.Is(err, awserr.InvalidParameter) {
		t.Fatalf("stop of a finished query: %v", err)
	}
	// Another account does not see it.
	if _, err := m.Results(store.Scope{Account: "999999999999", Region: "us-east-1"}, id); !awserr.Is(err, awserr.ResourceNotFound) {
		t.Fatalf("other account: %v", err)
	}
	if _, err := m.Results(scope, "nope"); !awserr.Is(err, awserr.ResourceNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestRunningStopAndPartial(t *testing.T) {
	m := run.New(run.Config{Store: open(t), SnapshotEvery: time.Nanosecond})
	defer m.Close()
	c := &counter{gate: make(chan struct{}), entered: make(chan struct{})}
	id, err := m.Start(run.Spec{Scope: scope, Groups: []string{"g"}, Start: 0, End: 1 << 40, Exec: c})
	if err != nil {
		t.Fatal(err)
	}
	<-c.entered
	waitStatus(t, m, id, run.Running)
	if err := m.Stop(scope, id); err != nil {
		t.Fatal(err)
	}
	if err := m.Stop(scope, id); !awserr.Is(err, awserr.InvalidParameter) {
		t.Fatalf("second stop: %v", err)
	}
	close(c.gate)
	snap := waitStatus(t, m, id, run.Cancelled)
	if m.Running(scope) != 0 {
		// The slot is released when the runner ends.
		harness.CheckFor(t, 5*time.Second, 5*time.Millisecond, func() error {
			if n := m.Running(scope); n != 0 {
				return fmt.Errorf("%d running", n)
			}
			return nil
		})
	}
	_ = snap
}

func TestConcurrencyLimit(t *testing.T) {
	m := run.New(run.Config{Store: open(t), Concurrent: 2})
	gate := make(chan struct{})
	var ids []string
	for i := 0; i < 2; i++ {
		id, err := m.Start(run.Spec{Scope: scope, Groups: []string{"g"}, End: 1 << 40, Exec: &counter{gate: gate}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := m.Start(run.Spec{Scope: scope, Groups: []string{"g"}, End: 1 << 40, Exec: &counter{}}); !awserr.Is(err, awserr.LimitExceeded) {
		t.Fatalf("third query: %v", err)
	}
	// Another account has its own quota.
	other := store.Scope{Account: "999999999999", Region: "us-east-1"}
	if _, err := m.Start(run.Spec{Scope: other, Groups: []string{"g"}, End: 1 << 40, Exec: &counter{}}); err != nil {
		t.Fatalf("other account: %v", err)
	}
	// Close cancels what runs and waits for it.
	close(gate)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start(run.Spec{Scope: scope, Groups: []string{"g"}, Exec: &counter{}}); !errors.Is(err, run.ErrClosed) {
		t.Fatalf("start after close: %v", err)
	}
	for _, id := range ids {
		s, err := m.Results(scope, id)
		if err != nil {
			t.Fatal(err)
		}
		if s.Status != run.Complete && s.Status != run.Cancelled {
			t.Fatalf("status after close %s", s.Status)
		}
	}
}

func TestCloseCancelsRunning(t *testing.T) {
	m := run.New(run.Config{Store: open(t)})
	c := &counter{gate: make(chan struct{}), entered: make(chan struct{})}
	id, err := m.Start(run.Spec{Scope: scope, Groups: []string{"g"}, End: 1 << 40, Exec: c})
	if err != nil {
		t.Fatal(err)
	}
	<-c.entered
	done := make(chan struct{})
	go func() { m.Close(); close(done) }()
	// Close waits for the runner, which waits for the gate.
	select {
	case <-done:
		t.Fatal("Close returned while a runner was inside AddBlock")
	default:
	}
	close(c.gate)
	<-done
	s, _ := m.Results(scope, id)
	if s.Status != run.Cancelled {
		t.Fatalf("status %s, want Cancelled", s.Status)
	}
}

func TestTimeoutAndFailed(t *testing.T) {
	m := run.New(run.Config{Store: open(t), Timeout: time.Millisecond})
	defer m.Close()
	c := &counter{gate: make(chan struct{})}
	id, err := m.Start(run.Spec{Scope: scope, Groups: []string{"g"}, End: 1 << 40, Exec: c})
	if err != nil {
		t.Fatal(err)
	}
	// The deadline passes before the scan starts or while the executor
	// holds its first block.
	began := time.Now()
	harness.CheckFor(t, 5*time.Second, time.Millisecond, func() error {
		if time.Since(began) < 5*time.Millisecond {
			return errors.New("deadline not yet passed")
		}
		return nil
	})
	close(c.gate)
	waitStatus(t, m, id, run.Timeout)

	m2 := run.New(run.Config{Store: open(t)})
	defer m2.Close()
	id, err = m2.Start(run.Spec{Scope: scope, Groups: []string{"g"}, End: 1 << 40, Exec: &counter{fail: errors.New("memory limit")}})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, m2, id, run.Failed)
	id, err = m2.Start(run.Spec{Scope: scope, Groups: []string{"missing"}, End: 1 << 40, Exec: &counter{}})
	if err != nil {
		t.Fatal(err)
	}
	waitStatus(t, m2, id, run.Failed)
}

func TestRetentionAndList(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	m := run.New(run.Config{Store: open(t), Now: clock})
	defer m.Close()
	a, _ := m.Start(run.Spec{Scope: scope, Groups: []string{"g"}, End: 1 << 40, Exec: &counter{}, Language: "CWLI"})
	waitStatus(t, m, a, run.Complete)
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	b, _ := m.Start(run.Spec{Scope: scope, Groups: []string{"g", "h"}, End: 1 << 40, Exec: &counter{}, Language: "CWLI"})
	waitStatus(t, m, b, run.Complete, run.Failed)
	l := m.List(scope, run.Filter{})
	if len(l) != 2 || l[0].ID != b || l[1].ID != a {
		t.Fatalf("list %+v", l)
	}
	if l := m.List(scope, run.Filter{Group: "h"}); len(l) != 1 || l[0].ID != b {
		t.Fatalf("by group %+v", l)
	}
	if l := m.List(scope, run.Filter{Status: run.Running}); len(l) != 0 {
		t.Fatalf("running %+v", l)
	}
	mu.Lock()
	now = now.Add(7*24*time.Hour - 500*time.Millisecond)
	mu.Unlock()
	// a finished more than 7 days ago, b not quite.
	if _, err := m.Results(scope, a); !awserr.Is(err, awserr.ResourceNotFound) {
		t.Fatalf("expired: %v", err)
	}
	if _, err := m.Results(scope, b); err != nil {
		t.Fatalf("kept: %v", err)
	}
}
