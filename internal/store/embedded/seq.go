package embedded

import (
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// Sequence numbers order blocks by arrival and identify groups and streams.
// They come from one counter; a mark persisted every seqChunk numbers keeps
// them unique across restarts.
//
// An Append's sequence is taken before its commit (allocAppendSeq) and
// commits finish in any order, so sequence order alone is not commit order: a
// feed follower that read up to 8 while 7 was still committing would never
// see 7. The engine therefore keeps the appends in flight in a pending set
// and a high-water mark, committed, that is one below the smallest pending
// sequence (or the last sequence handed out when none is pending). The set is
// touched under seq.mu for a moment before and after each commit, never
// across it: concurrent Sync commits still share one fsync. Subscribers hear
// of each append after its sequence left the pending set (append.go).

// seqChunk is how many sequence numbers are reserved per persisted
// high-water mark: after a crash, numbering resumes above the mark.
const seqChunk = 1 << 20

// allocSeq returns a fresh, never reused sequence number. Sequence numbers
// order blocks by arrival and identify groups and streams.
func (e *Engine) allocSeq() (uint64, error) {
	e.seq.mu.Lock()
	defer e.seq.mu.Unlock()
	return e.allocSeqLocked()
}

func (e *Engine) allocSeqLocked() (uint64, error) {
	if e.seq.next > e.seq.hwm {
		hwm := e.seq.hwm + seqChunk
		if err := e.db.Set([]byte{tagSeq}, beAppend(nil, hwm), pebble.Sync); err != nil {
			return 0, fmt.Errorf("persist sequence mark: %w", err)
		}
		e.seq.hwm = hwm
	}
	s := e.seq.next
	e.seq.next++
	return s, nil
}

// allocAppendSeq is allocSeq for an Append: the sequence joins the pending
// set, and the caller must call finishSeq once the commit is over.
func (e *Engine) allocAppendSeq() (uint64, error) {
	e.seq.mu.Lock()
	defer e.seq.mu.Unlock()
	s, err := e.allocSeqLocked()
	if err != nil {
		return 0, err
	}
	e.seq.pending = append(e.seq.pending, s) // ascending: s is the largest yet
	return s, nil
}

// finishSeq takes seq out of the pending set and moves the mark. Calling it
// again for the same seq does nothing.
func (e *Engine) finishSeq(seq uint64) {
	e.seq.mu.Lock()
	defer e.seq.mu.Unlock()
	i, ok := slices.BinarySearch(e.seq.pending, seq)
	if !ok {
		return
	}
	e.seq.pending = slices.Delete(e.seq.pending, i, i+1)
	if len(e.seq.pending) > 0 {
		e.committed.Store(e.seq.pending[0] - 1)
	} else {
		e.committed.Store(e.seq.next - 1)
	}
}
