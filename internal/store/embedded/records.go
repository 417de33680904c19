package embedded

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/cockroachdb/pebble/v2"
)

// Stream records and group stats change with every Append. Rather than a
// read-modify-write under a lock (which would serialize a stream's writers
// across their fsyncs), Append writes a Pebble merge operand and Pebble folds
// operands with the commutative rules below: min of first timestamps, max of
// last timestamps and spans, sum of bytes.

// streamRecord is the persistent form of a stream.
type streamRecord struct {
	sid         uint64
	created     int64
	first, last int64 // event timestamps; 0: none
	lastIngest  int64
	storedBytes int64
}

const streamRecordLen = 48

func (r streamRecord) encode() []byte {
	b := make([]byte, 0, streamRecordLen)
	b = binary.BigEndian.AppendUint64(b, r.sid)
	b = binary.BigEndian.AppendUint64(b, uint64(r.created))
	b = binary.BigEndian.AppendUint64(b, uint64(r.first))
	b = binary.BigEndian.AppendUint64(b, uint64(r.last))
	b = binary.BigEndian.AppendUint64(b, uint64(r.lastIngest))
	return binary.BigEndian.AppendUint64(b, uint64(r.storedBytes))
}

func decodeStreamRecord(b []byte) (streamRecord, error) {
	if len(b) != streamRecordLen {
		return streamRecord{}, fmt.Errorf("stream record of %d bytes: %w", len(b), errCorrupt)
	}
	u := func(i int) int64 { return int64(binary.BigEndian.Uint64(b[8*i:])) }
	return streamRecord{sid: uint64(u(0)), created: u(1), first: u(2), last: u(3), lastIngest: u(4), storedBytes: u(5)}, nil
}

func (r *streamRecord) merge(o streamRecord) {
	r.sid = max(r.sid, o.sid)
	r.created = max(r.created, o.created)
	if o.first != 0 && (r.first == 0 || o.first < r.first) {
		r.first = o.first
	}
	r.last = max(r.last, o.last)
	r.lastIngest = max(r.lastIngest, o.lastIngest)
	r.storedBytes += o.storedBytes
}

// groupStats is the persistent, merged statistics of a group.
type groupStats struct {
	storedBytes int64
	maxSpan     int64 // largest maxTs−minTs of any block written to the group
}

const groupStatsLen = 16

func (s groupStats) encode() []byte {
	b := make([]byte, 0, groupStatsLen)
	b = binary.BigEndian.AppendUint64(b, uint64(s.storedBytes))
	return binary.BigEndian.AppendUint64(b, uint64(s.maxSpan))
}

func decodeGroupStats(b []byte) (groupStats, error) {
	if len(b) != groupStatsLen {
		return groupStats{}, fmt.Errorf("group stats of %d bytes: %w", len(b), errCorrupt)
	}
	return groupStats{storedBytes: int64(binary.BigEndian.Uint64(b)), maxSpan: int64(binary.BigEndian.Uint64(b[8:]))}, nil
}

func (s *groupStats) merge(o groupStats) {
	s.storedBytes += o.storedBytes
	s.maxSpan = max(s.maxSpan, o.maxSpan)
}

// merger is the Pebble merge operator for 'T' and 'g' keys. Its name is
// stored in the database; changing it makes old data directories unreadable.
func newMerger() *pebble.Merger {
	return &pebble.Merger{
		Name: "cairn.stats.v1",
		Merge: func(key, value []byte) (pebble.ValueMerger, error) {
			if len(key) == 0 {
				return nil, fmt.Errorf("merge of empty key")
			}
			switch key[0] {
			case tagStream:
				r, err := decodeStreamRecord(value)
				if err != nil {
					return nil, err
				}
				return &opMerger[streamRecord]{v: r, decode: decodeStreamRecord, merge: (*streamRecord).merge, encode: streamRecord.encode}, nil
			case tagGroupStats:
				s, err := decodeGroupStats(value)
				if err != nil {
					return nil, err
				}
				return &opMerger[groupStats]{v: s, decode: decodeGroupStats, merge: (*groupStats).merge, encode: groupStats.encode}, nil
			}
			return nil, fmt.Errorf("merge on key with tag %q", key[0])
		},
	}
}

// opMerger folds the merge operands of one kind of record, T, with its
// decode, merge and encode. (The rules are commutative, so newer and older
// operands fold alike.)
type opMerger[T any] struct {
	v      T
	decode func([]byte) (T, error)
	merge  func(*T, T)
	encode func(T) []byte
}

func (m *opMerger[T]) MergeNewer(v []byte) error { return m.add(v) }
func (m *opMerger[T]) MergeOlder(v []byte) error { return m.add(v) }
func (m *opMerger[T]) add(v []byte) error {
	o, err := m.decode(v)
	if err != nil {
		return err
	}
	m.merge(&m.v, o)
	return nil
}
func (m *opMerger[T]) Finish(bool) ([]byte, io.Closer, error) { return m.encode(m.v), nil, nil }
