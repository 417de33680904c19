package embedded

import (
	"sync"

	"github.com/cairnlog/cairn/internal/store"
)

// subscribers are the listeners Subscribe registered. notify holds mu for
// reading while it calls them, so an unsubscribe (which takes it for
// writing) returns only once no call to its listener is running.
type subscribers struct {
	mu   sync.RWMutex
	next uint64
	fns  map[uint64]func(store.Appended) // guarded by mu
}

// Subscribe implements store.Store. fn must not call Subscribe or an
// unsubscribe function.
func (e *Engine) Subscribe(fn func(store.Appended)) (unsubscribe func()) {
	s := &e.subs
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fns == nil {
		s.fns = make(map[uint64]func(store.Appended))
	}
	s.next++
	id := s.next
	s.fns[id] = fn
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.fns, id)
			s.mu.Unlock()
		})
	}
}

func (e *Engine) notify(scope store.Scope, group, stream string, events []store.StoredEvent) {
	s := &e.subs
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.fns) == 0 || len(events) == 0 {
		return
	}
	a := store.Appended{Scope: scope, Group: group, Stream: stream, Events: events}
	for _, fn := range s.fns {
		fn(a)
	}
}

// hasListeners reports whether any listener is subscribed.
func (e *Engine) hasListeners() bool {
	e.subs.mu.RLock()
	defer e.subs.mu.RUnlock()
	return len(e.subs.fns) > 0
}
