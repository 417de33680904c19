package quota

import (
	"sync"

	"github.com/cairnlog/cairn/internal/awserr"
)

// Slots bounds how many of one kind of thing an account holds at once in a
// region: running Insights queries (AWSConcurrentQueries), open Live Tail
// sessions (AWSLiveTailSessions). The operation that starts one calls
// Acquire and calls the release function when it ends. It is safe for
// concurrent use.
//
// Memory: a key exists only while it holds a slot, so the map never has more
// entries than there are slots held, which the holders themselves bound.
type Slots struct {
	max int
	mu  sync.Mutex
	// held counts the slots in use per key; guarded by mu. A key whose
	// count drops to zero is deleted.
	held map[slotKey]int
}

type slotKey struct{ account, region string }

// NewSlots returns Slots allowing max at once per account and region.
func NewSlots(max int) *Slots {
	return &Slots{max: max, held: make(map[slotKey]int)}
}

// Acquire takes a slot of (account, region), or answers
// LimitExceededException "Resource limit exceeded." when all are taken.
// release gives the slot back; calling it again does nothing, so a holder
// may both defer it and call it early.
func (s *Slots) Acquire(account, region string) (release func(), err error) {
	k := slotKey{account, region}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held[k] >= s.max {
		return nil, awserr.ResourceLimitExceeded()
	}
	s.held[k]++
	var once sync.Once
	return func() { once.Do(func() { s.release(k) }) }, nil
}

func (s *Slots) release(k slotKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held[k] <= 1 {
		delete(s.held, k)
		return
	}
	s.held[k]--
}

// InUse is how many slots (account, region) holds.
func (s *Slots) InUse(account, region string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.held[slotKey{account, region}]
}

// Keys is how many keys hold a slot (tests check that released keys go).
func (s *Slots) Keys() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.held)
}
