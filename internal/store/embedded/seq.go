package embedded

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble/v2"

	"github.com/cairnlog/cairn/internal/store"
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
// of each append once the mark has passed it (finishSeq): from its own
// goroutine, or, when a lower append was still committing, from the one that
// moved the mark.

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

// finishSeq takes seq out of the pending set and moves the mark. notice,
// when the append committed, is what its listeners are to be told. It
// returns the notices now due: those of every append the mark has just
// passed, ascending. An append that commits while a lower sequence is
// still pending is not yet readable from the feed, so its notice is held
// until the append that moves the mark past it hands it back: telling
// listeners at once would wake a follower that reads nothing and, when the
// lower append was another group's, then sleeps with the block unread until
// its group's next append (the subscription stall). Calling it again for
// the same seq does nothing.
func (e *Engine) finishSeq(seq uint64, notice *store.Appended) []store.Appended {
	e.seq.mu.Lock()
	defer e.seq.mu.Unlock()
	i, ok := slices.BinarySearch(e.seq.pending, seq)
	if !ok {
		return nil
	}
	e.seq.pending = slices.Delete(e.seq.pending, i, i+1)
	mark := e.seq.next - 1
	if len(e.seq.pending) > 0 {
		mark = e.seq.pending[0] - 1
	}
	e.committed.Store(mark)
	if notice != nil {
		j, _ := slices.BinarySearchFunc(e.seq.held, seq, func(a store.Appended, s uint64) int { return cmp.Compare(noticeSeq(a), s) })
		e.seq.held = slices.Insert(e.seq.held, j, *notice)
	}
	n := 0
	for n < len(e.seq.held) && noticeSeq(e.seq.held[n]) <= mark {
		n++
	}
	if n == 0 {
		return nil
	}
	due := slices.Clone(e.seq.held[:n])
	e.seq.held = slices.Delete(e.seq.held, 0, n)
	return due
}

// noticeSeq is the feed position of a held notice's append.
func noticeSeq(a store.Appended) uint64 { return a.Events[0].Pos.Seq }

// announce tells the listeners of each notice finishSeq returned.
func (e *Engine) announce(due []store.Appended) {
	for i := range due {
		e.notify(due[i].Scope, due[i].Group, due[i].Stream, due[i].Events)
	}
}
