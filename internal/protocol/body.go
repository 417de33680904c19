package protocol

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
)

// Request bodies are read before the caller is known (the signature covers
// the body), so what a body may cost is bounded without trusting the client:
//
//   - Memory follows the bytes that arrived, not the declared Content-Length:
//     a body starts in a pooled chunk of firstChunk bytes and grows by at most
//     growFactor each time it fills, never past Content-Length+1 or MaxBody+1.
//     A client that declares 8 MiB and trickles bytes holds 16 KiB.
//   - Every buffer is paid for from one server-wide budget of bytes
//     (Config.BodyBudget). When it is spent, a body waits up to
//     Config.BodyWait for room, then the request is refused with
//     ServiceUnavailableException, so memory stays bounded however many
//     connections are open.
//   - The whole body must arrive within Config.BodyTimeout.
const (
	firstChunk = 16 << 10
	growFactor = 4

	// DefaultBodyTimeout is how long a body may take to arrive. The largest
	// valid body (8 MiB) needs 280 KB/s within it, the usual PutLogEvents
	// batch of 1 MiB 35 KB/s; a client slower than that is stalled, and its
	// connection would otherwise hold a request slot and its buffer forever.
	DefaultBodyTimeout = 30 * time.Second
	// DefaultBodyBudget bounds the bytes of all request bodies held at once
	// (raw and gunzipped) while they are read and served. 8 writers sending
	// 1 MiB PutLogEvents at full speed hold about 12 MiB; the budget leaves
	// room for hundreds of concurrent 1 MiB batches while capping what any
	// number of connections can make the server buffer.
	DefaultBodyBudget = 256 << 20
	// DefaultBodyWait is how long a body waits for room in a spent budget:
	// long enough to ride out a burst of large batches that finish in
	// milliseconds, short enough that a client learns soon that it should
	// back off and retry.
	DefaultBodyWait = 2 * time.Second
)

var errBudget = errors.New("body budget spent")

// budget is a counting semaphore of bytes whose waiters give up after a
// while.
type budget struct {
	wait time.Duration

	mu struct {
		sync.Mutex
		free    int64         // bytes not held by any body
		waiters int           // acquirers waiting for room
		room    chan struct{} // closed (and replaced) when bytes are released while someone waits
	}
}

func newBudget(total int64, wait time.Duration) *budget {
	b := &budget{wait: wait}
	b.mu.free = total
	b.mu.room = make(chan struct{})
	return b
}

// acquire takes n bytes, waiting up to b.wait for them; it fails with
// errBudget when they did not come free, or with ctx's error.
func (b *budget) acquire(ctx context.Context, n int64) error {
	var timer *time.Timer
	for {
		b.mu.Lock()
		if b.mu.free >= n {
			b.mu.free -= n
			b.mu.Unlock()
			if timer != nil {
				timer.Stop()
			}
			return nil
		}
		b.mu.waiters++
		room := b.mu.room
		b.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(b.wait)
		}
		var err error
		select {
		case <-room:
		case <-timer.C:
			err = errBudget
		case <-ctx.Done():
			err = ctx.Err()
		}
		b.mu.Lock()
		b.mu.waiters--
		b.mu.Unlock()
		if err != nil {
			timer.Stop()
			return err
		}
	}
}

func (b *budget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.mu.free += n
	if b.mu.waiters > 0 {
		close(b.mu.room)
		b.mu.room = make(chan struct{})
	}
	b.mu.Unlock()
}

// bodyMem is what one request holds: budget bytes and the pooled chunks its
// bodies still live in. release gives both back; the bodies read through it
// must not be used after.
type bodyMem struct {
	h      *Handler
	held   int64
	chunks []*[]byte
	bigs   []*[]byte // grown buffers, for Handler.bigs
}

func (m *bodyMem) release() {
	for _, c := range m.chunks {
		m.h.chunks.Put(c)
	}
	m.chunks = m.chunks[:0]
	for _, b := range m.bigs {
		select {
		case m.h.bigs <- b:
		default: // enough kept
		}
	}
	m.bigs = m.bigs[:0]
	m.h.budget.release(m.held)
	m.held = 0
}

// readAll reads src to its end into memory paid for from the budget. hint is
// the declared length, or -1. A body longer than max is refused without
// reading past max+1 bytes.
func (m *bodyMem) readAll(ctx context.Context, src io.Reader, hint, max int64) ([]byte, error) {
	limit := max + 1
	if hint >= 0 && hint+1 < limit {
		limit = hint + 1 // the +1 lets the last Read see EOF in place
	}
	if err := m.acquire(ctx, firstChunk); err != nil {
		return nil, err
	}
	pooled := m.h.chunks.Get().(*[]byte) // the chunk buf is in, until it grows
	buf := (*pooled)[:firstChunk]
	var big *[]byte // the kept buffer buf is in, once it grew into one
	defer func() {
		if pooled != nil {
			m.chunks = append(m.chunks, pooled)
		}
		if big != nil {
			m.bigs = append(m.bigs, big)
		}
	}()
	n := 0
	for {
		if n == len(buf) {
			if int64(n) >= limit {
				break
			}
			size := min(limit, growFactor*int64(len(buf)))
			if err := m.acquire(ctx, size); err != nil {
				return nil, err
			}
			switch {
			case big != nil && int64(cap(*big)) >= size:
				buf = (*big)[:size] // grows in place: the bytes read stay where they are
			default:
				nb, nbig := m.h.bigBuffer(size)
				copy(nb, buf)
				if pooled != nil {
					m.h.chunks.Put(pooled)
					pooled = nil
				}
				if big != nil {
					m.bigs = append(m.bigs, big)
				}
				buf, big = nb, nbig
			}
			m.giveBack(int64(n))
		}
		k, err := src.Read(buf[n:])
		n += k
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, m.readError(err)
		}
	}
	if int64(n) > max {
		return nil, tooLarge(max)
	}
	return buf[:n], nil
}

// bigBuffer returns size bytes for a growing body: a kept buffer when one is
// large enough, else a new one (kept on release when it is at most
// maxPooledBody; its capacity is rounded up so that the next body of about
// the same size fits). Budget is paid by the caller for size bytes, what
// the body may fill; a kept buffer's spare capacity is never read.
func (h *Handler) bigBuffer(size int64) ([]byte, *[]byte) {
	select {
	case b := <-h.bigs:
		if int64(cap(*b)) >= size {
			return (*b)[:size], b
		}
		// Too small for this body: dropped, and a larger one kept instead.
	default:
	}
	if size > maxPooledBody {
		return make([]byte, size), nil
	}
	const round = 64 << 10
	b := make([]byte, size, min((size+round-1)/round*round, maxPooledBody))
	return b, &b
}

func (m *bodyMem) acquire(ctx context.Context, n int64) error {
	if err := m.h.budget.acquire(ctx, n); err != nil {
		if errors.Is(err, errBudget) {
			return awserr.BodiesBusy()
		}
		return awserr.BodyUnreadable()
	}
	m.held += n
	return nil
}

func (m *bodyMem) giveBack(n int64) {
	m.h.budget.release(n)
	m.held -= n
}

func (m *bodyMem) readError(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return awserr.BodyTimeout(m.h.cfg.BodyTimeout)
	}
	return awserr.BodyUnreadable()
}
