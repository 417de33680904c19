package embedded

import (
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// seqChunk is how many sequence numbers are reserved per persisted
// high-water mark: after a crash, numbering resumes above the mark.
const seqChunk = 1 << 20

// allocSeq returns a fresh, never reused sequence number. Sequence numbers
// order blocks by arrival and identify groups and streams.
func (e *Engine) allocSeq() (uint64, error) {
	e.seqMu.Lock()
	defer e.seqMu.Unlock()
	return e.allocSeqLocked()
}

func (e *Engine) allocSeqLocked() (uint64, error) {
	if e.seqNext > e.seqHWM {
		hwm := e.seqHWM + seqChunk
		if err := e.db.Set([]byte{tagSeq}, beAppend(nil, hwm), pebble.Sync); err != nil {
			return 0, fmt.Errorf("persist sequence mark: %w", err)
		}
		e.seqHWM = hwm
	}
	s := e.seqNext
	e.seqNext++
	return s, nil
}

// allocAppendSeq is allocSeq for an Append: the sequence joins the pending
// set, and the caller must call finishSeq once the commit is over.
func (e *Engine) allocAppendSeq() (uint64, error) {
	e.seqMu.Lock()
	defer e.seqMu.Unlock()
	s, err := e.allocSeqLocked()
	if err != nil {
		return 0, err
	}
	e.pending = append(e.pending, s) // ascending: s is the largest yet
	return s, nil
}

// finishSeq takes seq out of the pending set and moves the mark. Calling it
// again for the same seq does nothing.
func (e *Engine) finishSeq(seq uint64) {
	e.seqMu.Lock()
	defer e.seqMu.Unlock()
	i, ok := slices.BinarySearch(e.pending, seq)
	if !ok {
		return
	}
	e.pending = slices.Delete(e.pending, i, i+1)
	if len(e.pending) > 0 {
		e.committed.Store(e.pending[0] - 1)
	} else {
		e.committed.Store(e.seqNext - 1)
	}
}
