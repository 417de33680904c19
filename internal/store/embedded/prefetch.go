package embedded

import (
	"context"
	"runtime"
	"sync"
)

// item is one block summary in iteration order and, once done, what opening
// its block gave.
type item struct {
	minTs int64
	done  chan struct{} // closed when the fields below are set (prefetched items)

	c             *cursor // nil: skipped, or nothing selected
	err           error
	scannedBytes  int64
	scannedEvents int64
	skipped       int64
	skippedEvents int64 // in range, estimated (selection.skippedShare)
	skippedBytes  int64
}

// sequentialLoads is how many blocks a read opens itself before it hands
// the rest to the prefetcher: short reads (a GetLogEvents page) then never
// decompress blocks they will not use.
const sequentialLoads = 4

// prefetchMinBudget is the smallest scan budget a read hands to the
// prefetcher: a page allowed to examine less reads its blocks itself. The
// prefetcher decodes and filters up to readAhead blocks per core ahead,
// which a page that stops at its budget throws away; under the small
// budget of a costly regex (logs.RegexScanBudget: 267 KB for two of 503
// instructions) that was most of the page's work: 40 blocks of 100 KB took
// 14 pages and 41–45 s, where reading each block once takes 12 s.
const prefetchMinBudget = 16 << 20

// peek returns the next summary's item without opening its block; nil when
// the range is exhausted.
func (r *readState) peek(ctx context.Context) (*item, error) {
	if r.head != nil {
		return r.head, nil
	}
	if r.pf != nil {
		select {
		case it, ok := <-r.pf.queue:
			if !ok {
				return nil, nil
			}
			r.head = it
			return it, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if !r.valid {
		return nil, r.it.Error()
	}
	minTs, _, _ := parseBlockKey(r.it.Key(), len(r.it.Key())-16)
	r.head = &item{minTs: minTs}
	return r.head, nil
}

// take consumes the peeked item, opening its block.
func (r *readState) take(ctx context.Context) (*item, error) {
	it := r.head
	r.head = nil
	if r.pf != nil {
		select {
		case <-it.done:
		case <-ctx.Done():
			r.pf.orphan(it)
			return nil, ctx.Err()
		}
		return it, it.err
	}
	v, err := r.it.ValueAndErr()
	if err != nil {
		return nil, err
	}
	s, err := r.decode(r.it.Key(), v)
	if err != nil {
		return nil, err
	}
	if name, ok := r.eligible(s, it); ok {
		r.load(s, name, it)
		r.loads++
	}
	r.advanceIter()
	if r.loads >= sequentialLoads && r.valid && r.pf == nil && (r.q.ScanBudget == 0 || r.q.ScanBudget >= prefetchMinBudget) {
		r.pf = r.startPrefetch()
	}
	return it, it.err
}

// eligible checks what a summary alone can rule out.
func (r *readState) eligible(s summary, it *item) (string, bool) {
	name, ok, filtered := r.admit(s, r.grams)
	if filtered {
		it.skipped++
		e, b := r.skippedShare(s)
		it.skippedEvents += e
		it.skippedBytes += b
	}
	return name, ok
}

func (r *readState) advanceIter() {
	if r.backward {
		r.valid = r.it.Prev() && string(r.it.Key()) >= string(r.lower)
	} else {
		r.valid = r.it.Next()
	}
}

// readAhead is how many items per worker the prefetcher's queue, and its
// job channel, hold: how far it may decode ahead of the merge. (16 was
// tried: workers waited less for work behind a slow head block, but paging
// without the resume cache then threw away up to twice as many decoded
// blocks a page.)
const readAhead = 4

// prefetcher decodes and filters upcoming blocks on every core while the
// merge consumes them in order. It owns the read's iterator from its start
// until stop returns.
type prefetcher struct {
	queue chan *item // in summary order
	jobs  chan job
	quit  chan struct{}
	wg    sync.WaitGroup
	// stranded holds items handed to a worker but not queued when quit
	// came; written by the walker, read by stop after wg.Wait.
	stranded []*item
}

type job struct {
	s    summary
	name string
	it   *item
}

func (r *readState) startPrefetch() *prefetcher {
	workers := runtime.GOMAXPROCS(0)
	pf := &prefetcher{queue: make(chan *item, readAhead*workers), jobs: make(chan job, readAhead*workers), quit: make(chan struct{})}
	for w := 0; w < workers; w++ {
		pf.wg.Add(1)
		go func() {
			defer pf.wg.Done()
			for j := range pf.jobs {
				func() {
					defer func() {
						if p := recover(); p != nil {
							j.it.c, j.it.err = nil, r.e.workerPanic(p)
						}
					}()
					r.load(j.s, j.name, j.it)
				}()
				close(j.it.done)
			}
		}()
	}
	pf.wg.Add(1)
	go func() {
		defer pf.wg.Done()
		defer close(pf.queue)
		defer close(pf.jobs)
		for r.valid {
			it := &item{done: make(chan struct{})}
			v, err := r.it.ValueAndErr()
			var s summary
			if err == nil {
				s, err = r.decode(r.it.Key(), v)
			}
			it.minTs = s.minTs
			failed := err != nil
			if failed {
				it.err = err
				close(it.done)
			} else if name, ok := r.eligible(s, it); ok {
				s.filter = nil // the iterator's buffer is not ours after Next
				select {
				case pf.jobs <- job{s, name, it}:
				case <-pf.quit:
					return
				}
			} else {
				close(it.done)
			}
			select {
			case pf.queue <- it:
			case <-pf.quit:
				pf.stranded = append(pf.stranded, it)
				return
			}
			if failed {
				return
			}
			r.advanceIter()
		}
		if err := r.it.Error(); err != nil {
			it := &item{err: err, done: make(chan struct{})}
			close(it.done)
			select {
			case pf.queue <- it:
			case <-pf.quit:
			}
		}
	}()
	return pf
}

// orphan releases an item the reader abandoned, once its worker is done.
func (pf *prefetcher) orphan(it *item) {
	<-it.done
	if it.c != nil && it.c.buf != nil {
		it.c.buf = nil // the pool loses one buffer; fine on an error path
	}
}

// stop ends the prefetcher and releases what it prepared but nobody used.
func (r *readState) stopPrefetch() {
	pf := r.pf
	if pf == nil {
		return
	}
	close(pf.quit)
	for it := range pf.queue {
		<-it.done
		if it.c != nil {
			r.park(it.c)
		}
	}
	pf.wg.Wait()
	for _, it := range pf.stranded {
		if it.c != nil {
			r.park(it.c)
		}
	}
	if r.head != nil {
		<-r.head.done
		if r.head.c != nil {
			r.park(r.head.c)
		}
		r.head = nil
	}
}
