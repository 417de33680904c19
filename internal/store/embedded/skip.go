package embedded

import (
	"strings"
)

// eligible checks what a summary alone can rule out.
func (r *readState) eligible(s summary, it *item) (string, bool) {
	if s.maxTs < r.start || s.minTs >= r.end {
		return "", false
	}
	name, ok := r.streamName(s.sid)
	if !ok {
		return "", false
	}
	if s.filter != nil && (!r.need.mayContain(s.filter) || (s.flags&flagBackslash == 0 && !r.needUnlessEscaped.mayContain(s.filter))) {
		it.skipped++
		return "", false
	}
	return name, true
}

func (r *readState) streamName(sid uint64) (string, bool) {
	if r.allowed != nil {
		n, ok := r.allowed[sid]
		return n, ok
	}
	r.g.mu.RLock()
	s := r.g.byID[sid]
	r.g.mu.RUnlock()
	if s == nil || !strings.HasPrefix(s.name, r.q.StreamPrefix) {
		return "", false
	}
	return s.name, true
}
