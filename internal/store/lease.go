package store

import (
	"context"
	"errors"
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

// EpochLeaser is a Leaser whose leases carry a fencing token: TryLeaseEpoch
// is TryLease that also returns the holding's epoch, which grows every time
// the lease is taken anew (by another node, or by this one after it let it
// expire). The engine checks a Fence against it in the writes a job makes.
type EpochLeaser interface {
	Leaser
	TryLeaseEpoch(ctx context.Context, name string, ttl time.Duration) (epoch int64, ok bool, err error)
}

// Fence names a lease holding. A context carrying one (WithFence) makes
// the engine's job writes (SetCursor, PutResource, DeleteResource) conditional
// on that holding still being current: a node that was paused past its
// lease's expiry and resumes cannot move a cursor or a task's state
// after another node took the job over; the write fails with ErrFenced.
type Fence struct {
	Lease string
	Epoch int64
}

// ErrFenced: the write's lease holding is no longer current.
var ErrFenced = errors.New("store: the lease holding this write belongs to has ended (another node runs the job)")

type fenceKey struct{}

// WithFence returns ctx carrying f; a zero Fence (no epoch: an engine
// without fencing, or no holding) leaves ctx as it is.
func WithFence(ctx context.Context, f Fence) context.Context {
	if f.Epoch == 0 {
		return ctx
	}
	return context.WithValue(ctx, fenceKey{}, f)
}

// FenceFrom returns the fence ctx carries.
func FenceFrom(ctx context.Context) (Fence, bool) {
	f, ok := ctx.Value(fenceKey{}).(Fence)
	return f, ok
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
	epoch    int64         // the holding's fencing token (0 without EpochLeaser)
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

// Fence is the current holding's fence (zero when not held, or when the
// engine has no fencing).
func (le *Lease) Fence() Fence {
	le.mu.Lock()
	defer le.mu.Unlock()
	if !le.held {
		return Fence{}
	}
	return Fence{Lease: le.name, Epoch: le.epoch}
}

// Wait blocks until this node holds the lease (false when ctx ended or the
// lease was closed first) and returns a context that ends when ctx does or
// when this holding ends, carrying the holding's Fence; call cancel when
// done with it.
func (le *Lease) Wait(ctx context.Context) (context.Context, context.CancelFunc, bool) {
	for {
		le.mu.Lock()
		acquired, lost, held, fence := le.acquired, le.lost, le.held, Fence{Lease: le.name, Epoch: le.epoch}
		le.mu.Unlock()
		if held {
			hctx, cancel := context.WithCancel(WithFence(ctx, fence))
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
			le.setHeld(false, 0)
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
		var (
			ok    bool
			err   error
			epoch int64
		)
		if el, fenced := le.l.(EpochLeaser); fenced {
			epoch, ok, err = el.TryLeaseEpoch(actx, le.name, le.ttl)
		} else {
			ok, err = le.l.TryLease(actx, le.name, le.ttl)
		}
		acancel()
		if le.Held() && ok && err == nil && epoch != le.currentEpoch() {
			// Renewed, but as a new holding (this node let it expire, and
			// the engine moved the epoch on): the old holding's writes are
			// fenced off, so its job must end and start again.
			le.setHeld(false, 0)
		}
		le.setHeld(ok && err == nil, epoch)
		if le.Held() {
			wait = le.ttl / 3
		} else {
			wait = le.poll
		}
	}
}

func (le *Lease) currentEpoch() int64 {
	le.mu.Lock()
	defer le.mu.Unlock()
	return le.epoch
}

func (le *Lease) setHeld(held bool, epoch int64) {
	le.mu.Lock()
	was := le.held
	le.held = held
	le.epoch = epoch
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
