package anomaly

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"unicode/utf8"

	"github.com/cairnlog/cairn/internal/drain"
)

// A detector's learnt state is one resource record (kind
// "anomalyDetectorState", named by the detector id), written at the end of
// every evaluation:
//
//	"CADS" | version uvarint (1) | body | CRC-32C of everything before, 4 bytes big-endian
//
// body (version 1), integers uvarint unless said, strings uvarint length +
// bytes:
//
//	evals | evalAt varint (ms) | feed position | trained byte (0/1)
//	drain: nextID | clock | cluster count, then per cluster:
//	  id | count | touched | sample | path count, path strings |
//	  token count, then per token: flags byte (1 dynamic) and either the
//	  type index (dynamic; the text is <*>) or the text |
//	  baseline byte (0 none, 1: mean 8 bytes IEEE-754 big-endian, windows)
//
// The feed position is in the record (the detector's durable cursor: the
// feed cursor "anomaly-detector/<id>" is read only when there is no record,
// from data an older Cairn wrote), so learning and position move together:
// there is no order between them to get wrong.
const (
	stateMagic   = "CADS"
	stateVersion = 1
	// stateBudget bounds a record: clusters are written most recently
	// matched first, and those past the budget are not kept (drain's cluster
	// cap bounds their number; this bounds their size, as a template's last
	// token may hold the rest of a long message).
	stateBudget = 8 << 20
	// sampleKeep is how much of a cluster's first message is kept.
	sampleKeep = 256
)

// tokenTypes index a dynamic token's type in the record.
var tokenTypes = []string{drain.TypeNone, drain.TypeNumber, drain.TypeHex, drain.TypeUUID, drain.TypeIP, drain.TypeTimestamp, drain.TypeVariable}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// saved is a detector's learnt state as the record holds it.
type saved struct {
	Evals    int64  // evaluations done (the last one's number)
	EvalAt   int64  // when the last evaluation ran (server clock, ms)
	Pos      uint64 // feed position learnt up to
	Trained  bool
	Drain    drain.State
	Baseline map[int]stat
}

// encodeState writes s; clusters past stateBudget are left out (dropped
// counts them).
func encodeState(s *saved) (b []byte, dropped int) {
	b = append(b, stateMagic...)
	b = binary.AppendUvarint(b, stateVersion)
	b = binary.AppendUvarint(b, uint64(s.Evals))
	b = binary.AppendVarint(b, s.EvalAt)
	b = binary.AppendUvarint(b, s.Pos)
	b = append(b, boolByte(s.Trained))
	b = binary.AppendUvarint(b, uint64(s.Drain.NextID))
	b = binary.AppendUvarint(b, s.Drain.Clock)
	var cs [][]byte
	size := len(b)
	for _, c := range s.Drain.Clusters { // most recently matched first
		e := encodeCluster(c, s.Baseline)
		if size+len(e) > stateBudget {
			dropped++
			continue
		}
		size += len(e)
		cs = append(cs, e)
	}
	b = binary.AppendUvarint(b, uint64(len(cs)))
	for _, e := range cs {
		b = append(b, e...)
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), dropped
}

func encodeCluster(c drain.ClusterState, base map[int]stat) []byte {
	var b []byte
	b = binary.AppendUvarint(b, uint64(c.ID))
	b = binary.AppendUvarint(b, uint64(c.Count))
	b = binary.AppendUvarint(b, c.Touched)
	b = appendString(b, truncate(c.Sample, sampleKeep))
	b = binary.AppendUvarint(b, uint64(len(c.Path)))
	for _, k := range c.Path {
		b = appendString(b, k)
	}
	b = binary.AppendUvarint(b, uint64(len(c.Tokens)))
	for _, t := range c.Tokens {
		if t.Dynamic {
			b = append(b, 1)
			b = binary.AppendUvarint(b, uint64(typeIndex(t.Type)))
			continue
		}
		b = append(b, 0)
		b = appendString(b, t.Text)
	}
	st, ok := base[c.ID]
	if !ok {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.BigEndian.AppendUint64(b, math.Float64bits(st.mean))
	return binary.AppendUvarint(b, uint64(st.windows))
}

func typeIndex(t string) int {
	for i, x := range tokenTypes {
		if x == t {
			return i
		}
	}
	return len(tokenTypes) - 1 // Variable
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

var errState = errors.New("anomaly detector state record")

// decodeState reads a record encodeState wrote. Any damage (checksum, an
// unknown version, a length past the record) is an error, never a panic;
// what it returns still goes through drain.Restore's checks.
func decodeState(b []byte) (*saved, error) {
	if len(b) < len(stateMagic)+1+4 || string(b[:len(stateMagic)]) != stateMagic {
		return nil, fmt.Errorf("%w: no magic", errState)
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", errState)
	}
	r := reader{b: body[len(stateMagic):]}
	if v := r.uvarint(); r.err == nil && v != stateVersion {
		return nil, fmt.Errorf("%w: unknown version %d", errState, v)
	}
	s := &saved{Baseline: map[int]stat{}}
	s.Evals = int64(r.uvarint())
	s.EvalAt = r.varint()
	s.Pos = r.uvarint()
	s.Trained = r.byte() == 1
	s.Drain.NextID = r.int()
	s.Drain.Clock = r.uvarint()
	n := r.count(8) // a cluster takes at least 8 bytes
	for i := 0; i < n && r.err == nil; i++ {
		var c drain.ClusterState
		c.ID = r.int()
		c.Count = int64(r.uvarint())
		c.Touched = r.uvarint()
		c.Sample = r.string()
		c.Path = make([]string, r.count(1))
		for j := range c.Path {
			c.Path[j] = r.string()
		}
		c.Tokens = make([]drain.Token, r.count(2))
		for j := range c.Tokens {
			if r.byte() == 1 {
				ti := r.uvarint()
				if ti >= uint64(len(tokenTypes)) {
					r.fail("token type")
					break
				}
				c.Tokens[j] = drain.Token{Text: "<*>", Dynamic: true, Type: tokenTypes[ti]}
				continue
			}
			c.Tokens[j] = drain.Token{Text: r.string()}
		}
		if r.byte() == 1 {
			mean := math.Float64frombits(r.uint64())
			windows := r.int()
			if math.IsNaN(mean) || math.IsInf(mean, 0) || mean < 0 {
				r.fail("baseline mean")
			}
			s.Baseline[c.ID] = stat{mean: mean, windows: windows}
		}
		s.Drain.Clusters = append(s.Drain.Clusters, c)
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	if r.err != nil {
		return nil, r.err
	}
	return s, nil
}

// reader reads a record; the first failure sticks and every later read
// returns zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: bad %s", errState, what)
	}
	r.b = nil
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// int is a uvarint that must fit a non-negative int32 (IDs, window counts).
func (r *reader) int() int {
	v := r.uvarint()
	if v > math.MaxInt32 {
		r.fail("integer")
		return 0
	}
	return int(v)
}

// count is a length of items of at least min bytes each, which the rest of
// the record must be able to hold (no allocation from a forged length).
func (r *reader) count(min int) int {
	v := r.uvarint()
	if r.err == nil && v > uint64(len(r.b)/min) {
		r.fail("count")
		return 0
	}
	return int(v)
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.fail("byte")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) uint64() uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 8 {
		r.fail("float")
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.fail("string length")
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func crc32Castagnoli(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
