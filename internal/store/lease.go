package store

import (
	"context"
	"sync"
	"time"
)

// Leaser is implemented by engines that several Cairn nodes share (the
// PostgreSQL engine). A background job (a subscription filter's delivery,
// the metric-filter counter, the export runner, anomaly detection,
// retention) runs only on the node holding that job's lease, so it runs
// once across the cluster; a node that stops renewing loses its leases to
// the others once they expire. An engine that is not a Leaser has one node:
// every lease is always held there.
type Leaser interface {
	// TryLease takes the lease name for this node, or renews it when this
	// node holds it, until ttl from now (the engine's clock, one for every
	// node); false when another node holds it and it has not expired.
	TryLease(ctx context.Context, name string, ttl time.Duration) (bool, error)
	// ReleaseLease gives the lease up if this node holds it, so another
	// node may take it at once.
	ReleaseLease(ctx context.Context, name string) error
	// LeaseTTL is how long a lease lasts without renewal.
	LeaseTTL() time.Duration
}

// Lease is one job's lease as seen by this node: Held says whether the job
// may run here now. NewLease starts a goroutine that takes and renews it;
// Close stops it and releases the lease.
type Lease struct {
	l    Leaser
	name string
	ttl  time.Duration
	// poll is how often a node that does not hold the lease tries to take
	// it: often, so that a released lease moves within about a second.
	poll      time.Duration
	onAcquire func()

	mu       sync.Mutex
	held     bool
	gen      uint64        // incremented each time the lease is taken
	acquired chan struct{} // closed while held
	lost     chan struct{} // closed when the current holding ended

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// NewLease returns the lease name on st. onAcquire (may be nil) runs each
// time this node takes the lease (not on renewals), so a job can reload
// what another node changed while it did not hold it. On an engine that is
// not a Leaser the lease is held from the start and onAcquire never runs.
func NewLease(st Store, name string, onAcquire func()) *Lease {
	le := &Lease{name: name, onAcquire: onAcquire, acquired: make(chan struct{}), lost: make(chan struct{}),
		stop: make(chan struct{}), done: make(chan struct{})}
	l, ok := st.(Leaser)
	if !ok {
		le.held, le.gen = true, 1
		close(le.acquired)
		close(le.done)
		return le
	}
	le.l, le.ttl = l, l.LeaseTTL()
	le.poll = min(time.Second, le.ttl/3)
	go le.run()
	return le
}

// Held reports whether this node holds the lease now.
func (le *Lease) Held() bool {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.held
}

// Gen is incremented each time the lease is taken: a job that kept state
// across holdings compares it to know another node may have moved on.
func (le *Lease) Gen() uint64 {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.gen
}

// Wait blocks until this node holds the lease (false when ctx ended or the
// lease was closed first) and returns a context that ends when ctx does or
// when this holding ends; call cancel when done with it.
func (le *Lease) Wait(ctx context.Context) (context.Context, context.CancelFunc, bool) {
	for {
		le.mu.Lock()
		acquired, lost, held := le.acquired, le.lost, le.held
		le.mu.Unlock()
		if held {
			hctx, cancel := context.WithCancel(ctx)
			go func() {
				select {
				case <-lost:
					cancel()
				case <-hctx.Done():
				}
			}()
			return hctx, cancel, true
		}
		select {
		case <-ctx.Done():
			return nil, nil, false
		case <-le.stop:
			return nil, nil, false
		case <-acquired:
		}
	}
}

// Close stops taking and renewing the lease and releases it when held.
func (le *Lease) Close() {
	if le.l == nil {
		return
	}
	le.once.Do(func() {
		close(le.stop)
		<-le.done
	})
}

func (le *Lease) run() {
	defer close(le.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-le.stop:
			cancel()
		case <-le.done:
		}
	}()
	wait := time.Duration(0)
	for {
		t := time.NewTimer(wait)
		select {
		case <-le.stop:
			t.Stop()
			le.setHeld(false)
			// Released on a fresh context: the loop's is cancelled.
			rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
			le.l.ReleaseLease(rctx, le.name)
			rcancel()
			return
		case <-t.C:
		}
		// An attempt must finish well within the lease's life: a renewal
		// that did not answer in time counts as lost, so this node stops
		// before another may start.
		actx, acancel := context.WithTimeout(ctx, le.ttl/3)
		ok, err := le.l.TryLease(actx, le.name, le.ttl)
		acancel()
		le.setHeld(ok && err == nil)
		if le.Held() {
			wait = le.ttl / 3
		} else {
			wait = le.poll
		}
	}
}

func (le *Lease) setHeld(held bool) {
	le.mu.Lock()
	was := le.held
	le.held = held
	switch {
	case held && !was:
		le.gen++
		close(le.acquired)
		le.lost = make(chan struct{})
	case !held && was:
		close(le.lost)
		le.acquired = make(chan struct{})
	}
	le.mu.Unlock()
	if held && !was && le.onAcquire != nil {
		le.onAcquire()
	}
}
