package agent

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// queue holds a target's events between the inputs and the sender, in
// arrival order. The sender reads ahead of what it has acknowledged; only
// ack removes events, so a failed batch is sent again.
type queue interface {
	// append adds events, blocking while the queue is full.
	append(ctx context.Context, evs []Event) error
	// read returns up to max events after those already read.
	read(max int) ([]Event, error)
	// ack drops the n oldest read events.
	ack(n int) error
	// unread reports whether events wait to be read.
	unread() bool
	// sync makes appended events and acknowledgements durable.
	sync() error
	close() error
}

// memQueue is a queue in memory, bounded in bytes; `cairn run` uses it.
type memQueue struct {
	max int

	mu      sync.Mutex
	evs     []Event // guarded by mu; evs[:rd] are read, not yet acked
	rd      int     // guarded by mu
	bytes   int     // guarded by mu
	roomFor chan struct{}
}

func newMemQueue(maxBytes int) *memQueue {
	return &memQueue{max: maxBytes, roomFor: make(chan struct{}, 1)}
}

func (q *memQueue) append(ctx context.Context, evs []Event) error {
	n := 0
	for _, e := range evs {
		n += e.size()
	}
	for {
		q.mu.Lock()
		if q.bytes == 0 || q.bytes+n <= q.max {
			q.evs = append(q.evs, evs...)
			q.bytes += n
			q.mu.Unlock()
			return nil
		}
		q.mu.Unlock()
		select {
		case <-q.roomFor:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (q *memQueue) read(max int) ([]Event, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	end := min(len(q.evs), q.rd+max)
	out := append([]Event(nil), q.evs[q.rd:end]...)
	q.rd = end
	return out, nil
}

func (q *memQueue) ack(n int) error {
	q.mu.Lock()
	if n > q.rd {
		q.mu.Unlock()
		return fmt.Errorf("BUG: ack %d of %d read events", n, q.rd)
	}
	for _, e := range q.evs[:n] {
		q.bytes -= e.size()
	}
	q.evs = append(q.evs[:0], q.evs[n:]...)
	q.rd -= n
	q.mu.Unlock()
	select {
	case q.roomFor <- struct{}{}:
	default:
	}
	return nil
}

func (q *memQueue) unread() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.rd < len(q.evs)
}

func (q *memQueue) sync() error  { return nil }
func (q *memQueue) close() error { return nil }

// diskSpool is a queue in a directory of segment files, so events survive
// an unreachable endpoint (bounded by maxBytes on disk, not by memory) and a
// restart. Each record is uvarint(length) | crc32c(payload) | payload, the
// payload being uvarint(time) | message. The file "ack" holds the segment
// and offset of the first unacknowledged record; it is written by sync, so
// after a crash the events acknowledged since the last sync are sent again
// (at least once), never lost.
type diskSpool struct {
	dir      string
	segBytes int64
	maxBytes int64

	mu sync.Mutex
	// All fields below are guarded by mu.
	segs     []int64  // segment numbers on disk, ascending
	w        *os.File // last segment, appended to
	wOff     int64    // its size
	total    int64    // bytes in all segments
	rSeg     int64    // read position
	rOff     int64
	rFile    *os.File
	rBuf     *bufio.Reader
	readLens []recPos // positions after each read, unacked record
	aSeg     int64    // acknowledged position
	aOff     int64
	dirty    bool // ack moved since the last sync
	closed   bool
	roomFor  chan struct{}
}

type recPos struct{ seg, off int64 }

var crcTable = crc32.MakeTable(crc32.Castagnoli)

func openDiskSpool(dir string, segBytes, maxBytes int64) (*diskSpool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	s := &diskSpool{dir: dir, segBytes: segBytes, maxBytes: maxBytes, roomFor: make(chan struct{}, 1)}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".seg"); ok {
			if v, err := strconv.ParseInt(n, 10, 64); err == nil {
				s.segs = append(s.segs, v)
			}
		}
	}
	sort.Slice(s.segs, func(i, j int) bool { return s.segs[i] < s.segs[j] })
	if raw, err := os.ReadFile(filepath.Join(dir, "ack")); err == nil {
		if _, err := fmt.Sscan(string(raw), &s.aSeg, &s.aOff); err != nil {
			return nil, fmt.Errorf("spool %s: bad ack file: %w", dir, err)
		}
	}
	if len(s.segs) == 0 {
		s.segs = []int64{max(s.aSeg, 1)}
		s.aOff = 0
	}
	if s.aSeg < s.segs[0] {
		s.aSeg, s.aOff = s.segs[0], 0
	}
	for _, n := range s.segs {
		fi, err := os.Stat(s.segPath(n))
		if err == nil {
			s.total += fi.Size()
		}
	}
	last := s.segs[len(s.segs)-1]
	// A crash may have left a torn record at the end of the last segment.
	good, err := validPrefix(s.segPath(last))
	if err != nil {
		return nil, err
	}
	if s.w, err = os.OpenFile(s.segPath(last), os.O_CREATE|os.O_RDWR, 0o600); err != nil {
		return nil, err
	}
	fi, err := s.w.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() != good {
		s.total -= fi.Size() - good
		if err := s.w.Truncate(good); err != nil {
			return nil, err
		}
	}
	s.wOff = good
	if _, err := s.w.Seek(good, io.SeekStart); err != nil {
		return nil, err
	}
	s.rSeg, s.rOff = s.aSeg, s.aOff
	return s, nil
}

func (s *diskSpool) segPath(n int64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%016d.seg", n))
}

// validPrefix returns the length of the whole records at the start of a file.
func validPrefix(path string) (int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var off int64
	for {
		_, n, err := readRecord(r)
		if err != nil {
			return off, nil
		}
		off += n
	}
}

func encodeRecord(dst []byte, e Event) []byte {
	var tmp [binary.MaxVarintLen64]byte
	tl := binary.PutUvarint(tmp[:], uint64(e.Time))
	plen := tl + len(e.Message)
	dst = binary.AppendUvarint(dst, uint64(plen))
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = append(dst, tmp[:tl]...)
	dst = append(dst, e.Message...)
	binary.LittleEndian.PutUint32(dst[start:], crc32.Checksum(dst[start+4:], crcTable))
	return dst
}

var errTorn = errors.New("torn or corrupt spool record")

// readRecord reads one record and returns it with its size on disk.
func readRecord(r *bufio.Reader) (Event, int64, error) {
	plen, err := binary.ReadUvarint(r)
	if err != nil {
		return Event{}, 0, err
	}
	if plen > 2*MaxEventBytes {
		return Event{}, 0, errTorn
	}
	buf := make([]byte, 4+plen)
	if _, err := io.ReadFull(r, buf); err != nil {
		return Event{}, 0, errTorn
	}
	if binary.LittleEndian.Uint32(buf) != crc32.Checksum(buf[4:], crcTable) {
		return Event{}, 0, errTorn
	}
	t, n := binary.Uvarint(buf[4:])
	if n <= 0 {
		return Event{}, 0, errTorn
	}
	var hdr [binary.MaxVarintLen64]byte
	size := int64(binary.PutUvarint(hdr[:], plen)) + 4 + int64(plen)
	return Event{Time: int64(t), Message: string(buf[4+n:])}, size, nil
}

func (s *diskSpool) append(ctx context.Context, evs []Event) error {
	n := 0
	for _, e := range evs {
		n += len(e.Message) + 2*binary.MaxVarintLen64 + 4
	}
	buf := make([]byte, 0, n)
	for _, e := range evs {
		buf = encodeRecord(buf, e)
	}
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return errors.New("spool closed")
		}
		if s.total == 0 || s.total+int64(len(buf)) <= s.maxBytes || s.pendingLocked() == 0 {
			break
		}
		s.mu.Unlock()
		select {
		case <-s.roomFor:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer s.mu.Unlock()
	if s.wOff >= s.segBytes {
		if err := s.rollLocked(); err != nil {
			return err
		}
	}
	if _, err := s.w.Write(buf); err != nil {
		// Cut back to the last whole record so the file stays readable.
		s.w.Truncate(s.wOff)
		s.w.Seek(s.wOff, io.SeekStart)
		return fmt.Errorf("spool write: %w", err)
	}
	s.wOff += int64(len(buf))
	s.total += int64(len(buf))
	return nil
}

// pendingLocked is the bytes between the acknowledged position and the end.
func (s *diskSpool) pendingLocked() int64 {
	var p int64
	for _, n := range s.segs {
		if n < s.aSeg {
			continue
		}
		if n == s.segs[len(s.segs)-1] {
			p += s.wOff
		} else if fi, err := os.Stat(s.segPath(n)); err == nil {
			p += fi.Size()
		}
		if n == s.aSeg {
			p -= s.aOff
		}
	}
	return p
}

func (s *diskSpool) rollLocked() error {
	if err := s.w.Sync(); err != nil {
		return err
	}
	if err := s.w.Close(); err != nil {
		return err
	}
	next := s.segs[len(s.segs)-1] + 1
	f, err := os.OpenFile(s.segPath(next), os.O_CREATE|os.O_RDWR|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	s.w, s.wOff = f, 0
	s.segs = append(s.segs, next)
	return nil
}

func (s *diskSpool) unread() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	last := s.segs[len(s.segs)-1]
	return s.rSeg < last || s.rOff < s.wOff
}

func (s *diskSpool) read(max int) ([]Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Event
	for len(out) < max {
		last := s.segs[len(s.segs)-1]
		end := s.wOff
		if s.rSeg < last {
			fi, err := os.Stat(s.segPath(s.rSeg))
			if err != nil {
				return out, err
			}
			end = fi.Size()
		}
		if s.rOff >= end {
			if s.rSeg >= last {
				return out, nil
			}
			s.closeReaderLocked()
			s.rSeg, s.rOff = s.nextSegLocked(s.rSeg), 0
			continue
		}
		if s.rFile == nil {
			f, err := os.Open(s.segPath(s.rSeg))
			if err != nil {
				return out, err
			}
			if _, err := f.Seek(s.rOff, io.SeekStart); err != nil {
				f.Close()
				return out, err
			}
			s.rFile, s.rBuf = f, bufio.NewReaderSize(f, 64<<10)
		}
		e, n, err := readRecord(s.rBuf)
		if err != nil {
			// Only whole records are below end, so this is damage on
			// disk: skip the rest of the segment rather than stall.
			s.closeReaderLocked()
			s.rOff = end
			return out, fmt.Errorf("spool %s segment %d: %w", s.dir, s.rSeg, err)
		}
		s.rOff += n
		s.readLens = append(s.readLens, recPos{s.rSeg, s.rOff})
		out = append(out, e)
	}
	return out, nil
}

func (s *diskSpool) nextSegLocked(n int64) int64 {
	for _, v := range s.segs {
		if v > n {
			return v
		}
	}
	return n
}

func (s *diskSpool) closeReaderLocked() {
	if s.rFile != nil {
		s.rFile.Close()
		s.rFile, s.rBuf = nil, nil
	}
}

func (s *diskSpool) ack(n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n > len(s.readLens) {
		return fmt.Errorf("BUG: ack %d of %d read events", n, len(s.readLens))
	}
	if n == 0 {
		return nil
	}
	p := s.readLens[n-1]
	s.readLens = append(s.readLens[:0], s.readLens[n:]...)
	s.aSeg, s.aOff = p.seg, p.off
	s.dirty = true
	return nil
}

// sync flushes appended records to disk, then records the acknowledged
// position and removes the segments wholly before it.
func (s *diskSpool) sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	return s.syncLocked()
}

func (s *diskSpool) syncLocked() error {
	if err := s.w.Sync(); err != nil {
		return err
	}
	if !s.dirty {
		return nil
	}
	tmp := filepath.Join(s.dir, "ack.tmp")
	if err := os.WriteFile(tmp, fmt.Appendf(nil, "%d %d\n", s.aSeg, s.aOff), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, "ack")); err != nil {
		return err
	}
	s.dirty = false
	freed := false
	for len(s.segs) > 1 && s.segs[0] < s.aSeg && s.segs[0] < s.rSeg {
		p := s.segPath(s.segs[0])
		if fi, err := os.Stat(p); err == nil {
			s.total -= fi.Size()
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		s.segs = s.segs[1:]
		freed = true
	}
	// The last segment, once wholly acknowledged, starts over.
	if len(s.segs) == 1 && s.aSeg == s.segs[0] && s.aOff == s.wOff && s.rOff == s.wOff && s.wOff >= s.segBytes {
		if err := s.rollLocked(); err != nil {
			return err
		}
		old := s.segs[0]
		s.segs = s.segs[1:]
		s.total -= s.aOff
		os.Remove(s.segPath(old))
		s.closeReaderLocked()
		s.aSeg, s.aOff, s.rSeg, s.rOff = s.segs[0], 0, s.segs[0], 0
		s.dirty = true
		freed = true
	}
	if freed {
		select {
		case s.roomFor <- struct{}{}:
		default:
		}
	}
	return nil
}

func (s *diskSpool) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	err := s.syncLocked()
	s.closed = true
	s.closeReaderLocked()
	return errors.Join(err, s.w.Close())
}
