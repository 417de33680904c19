package embedded

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"slices"
	"strconv"

	"github.com/klauspost/compress/zstd"

	"github.com/cairnlog/cairn/internal/store"
)

// Format 3 (field-aware) is what the re-compaction worker (recompact.go)
// writes when it merges a stream's small blocks into a large one. Log lines
// are mostly a few hundred shapes filled with numbers and ids; a general
// compressor codes a random decimal number as text (a byte of literal per
// digit, or a costly match), so zstd at its best level leaves ~25 bytes of
// a 94-byte bench line. Format 3 splits every message into a template (the
// text with each number and hex id replaced by a placeholder) and typed
// variables, the variables stored as binary in columns, one column per kind
// of field, so the compressor sees like beside like:
//
//	0x03 | count uvarint | message bytes uvarint | runs uvarint | runs × run
//	     | frame ts | frame template ids | frame templates
//	     | columns uvarint | columns × frame
//
// run = seq delta varint | first index uvarint | length uvarint | ingestion
// delta varint. A merged block holds the events of many appends; each keeps
// its identity, the (seq, index) of the append that stored it, because that
// (with its timestamp) is its eventId and its place in every token and feed
// cursor (store.Position). Events are sorted by (timestamp, seq, index), the
// read order, so a run of consecutive indexes of one append is one run: a
// stream whose appends do not overlap in time costs one run per append.
//
// frame = len uvarint | a zstd frame. ts holds count uvarint deltas (the
// first against the block key's minTs). Template ids hold, per event,
// uvarint 0 for "the next new template, used again later", 1 for "the next
// new template, used by this event only" (decoded without caching it), or
// id+2 of an earlier reused one. Templates
// holds each distinct template once, in order of first use, each ended by
// '\n'. In a template:
//
//	0x01      a decimal number: a maximal run of digits (split every 18
//	          digits); its column holds uvarint(value<<1 | padded) and, when
//	          padded (leading zeros), a byte of its digit count
//	0x02 w    a lowercase hex id: a maximal run of 8 to 16 [0-9a-f] between
//	          two bytes that are not [0-9A-Za-z]; its column holds the value's
//	          ⌈w/2⌉ bytes, little-endian
//	0x03 b    the literal byte b, one of 0x01, 0x02, 0x03, '\n'
//
// and every other byte is itself. So a message round-trips byte for byte:
// leading zeros, widths and case are all kept (uppercase hex stays text).
// A variable's column is chosen by its kind, its ordinal in the message and
// a hash of the template's first four bytes (colSlot), in order of first
// use, so the decoder derives the same assignment from the templates alone.
//
// Format 4 (0x04, what the worker writes since merge10) is format 3 with
// one more frame after the columns: a seek index (encoder3.seekIndex), the
// walk's state every seekEvery events. A merged block's frames decompress
// whole, but its columns can only be read by walking every event before
// the one wanted (a skipped event cost ~3/4 of a rendered one); with the
// index a search walks from the checkpoint before each candidate and a time
// range from the one before its first event. Format 3 blocks stay readable
// (walked from the start; testdata/blocks-v3) and are rewritten as format 4
// when a merge takes them in.

const (
	blockFormat3 = 0x03
	blockFormat4 = 0x04 // format 3 and a seek index (below)

	tplNum    = 0x01
	tplHex    = 0x02
	tplEscape = 0x03

	maxNumDigits = 18 // 10^18 < 2^63: value<<1 fits a uint64
)

// A variable's column is named by its kind, its ordinal in the message
// (capped) and its template's class, a hash of the template's first bytes
// (access lines, application lines and JSON lines start differently), so
// an array indexes it: no map on the decoder's path.
const (
	colClasses  = 16
	colOrdinals = 64
	colSlots    = 2 * colClasses * colOrdinals
)

func tplClass(t []byte) int {
	var h uint32
	for _, c := range t[:min(len(t), 4)] {
		h = h*31 + uint32(c)
	}
	return int(h % colClasses)
}

func colSlot(kind byte, class, ordinal int) int {
	return (int(kind-tplNum)*colClasses+class)*colOrdinals + min(ordinal, colOrdinals-1)
}

// colTable maps slots to columns, assigned in order of first use.
type colTable struct {
	col [colSlots]int32 // column+1; 0: none yet
	n   int
}

func (c *colTable) of(slot int) int {
	if c.col[slot] == 0 {
		c.n++
		c.col[slot] = int32(c.n)
	}
	return int(c.col[slot]) - 1
}

// variable is one placeholder's value while a message is tokenized.
type variable struct {
	kind byte
	w    byte // hex: digits; decimal: digits when padded, else 0
	v    uint64
}

// encoder3 holds the state of one format-3 encoding; reuse it across blocks.
type encoder3 struct {
	ts, ids, tpls []byte
	cols          [][]byte
	colOf         colTable
	tplID         map[string]int
	uses          map[string]int // template → events using it
	evTpl         []string       // each event's template
	tpl           []byte
	vars          []variable
	// The seek index's checkpoints (format 4), every seekEvery events:
	// raw bytes before, and the columns' lengths then (ckCols[ckAt[k]:
	// ckAt[k+1]], columns made later are empty), from the first pass;
	// the ids' and templates' lengths and the reused templates so far,
	// from the second.
	ckRaw, ckIds, ckTpls, ckReused []int
	ckCols, ckAt                   []int
	format3                        bool // tests: write format 3, no index
}

// seekEvery is the seek index's spacing (format 4): a reader that needs
// a few events of a merged block starts walking at the checkpoint before
// each, so it walks at most this many events it does not need per event
// it renders, instead of every event before it. Measured on the bench's
// lines (docs/benchmarks.md, merge10): the index costs ~0.3 bytes/event
// (21.48 → 21.77 in BenchmarkScan's store), the full scan's CPU halves.
const seekEvery = 128

// EncodeBlock3 appends a format-3 value of events to dst. events are sorted
// by (timestamp, seq, index) and pos[i] is event i's original position (its
// Time equal to the event's timestamp); ingest[i] its ingestion time. minTs
// is the block key's (events[0].Timestamp). enc should be a strong level:
// the worker owns one.
func EncodeBlock3(dst []byte, events []store.Event, pos []store.Position, ingest []int64, enc *zstd.Encoder) []byte {
	var x encoder3
	return x.encode(dst, events, pos, ingest, enc)
}

func (x *encoder3) encode(dst []byte, events []store.Event, pos []store.Position, ingest []int64, enc *zstd.Encoder) []byte {
	x.ts, x.ids, x.tpls = x.ts[:0], x.ids[:0], x.tpls[:0]
	for i := range x.cols {
		x.cols[i] = x.cols[i][:0]
	}
	x.cols = x.cols[:0]
	x.colOf = colTable{}
	x.tplID = make(map[string]int)
	x.uses = make(map[string]int)
	x.evTpl = x.evTpl[:0]
	x.ckRaw, x.ckIds, x.ckTpls, x.ckReused = x.ckRaw[:0], x.ckIds[:0], x.ckTpls[:0], x.ckReused[:0]
	x.ckCols, x.ckAt = x.ckCols[:0], append(x.ckAt[:0], 0)

	if x.format3 {
		dst = append(dst, blockFormat3)
	} else {
		dst = append(dst, blockFormat4)
	}
	dst = binary.AppendUvarint(dst, uint64(len(events)))
	var raw uint64
	for _, e := range events {
		raw += uint64(len(e.Message))
	}
	dst = binary.AppendUvarint(dst, raw) // the decoder sizes its buffer once
	// Runs of (seq, consecutive indexes, ingestion).
	var runs []byte
	nruns := 0
	var prevSeq uint64
	var prevIngest int64
	for i := 0; i < len(events); {
		j := i + 1
		for j < len(events) && pos[j].Seq == pos[i].Seq && pos[j].Index == pos[j-1].Index+1 && ingest[j] == ingest[i] {
			j++
		}
		runs = binary.AppendVarint(runs, int64(pos[i].Seq-prevSeq))
		runs = binary.AppendUvarint(runs, uint64(pos[i].Index))
		runs = binary.AppendUvarint(runs, uint64(j-i))
		runs = binary.AppendVarint(runs, ingest[i]-prevIngest)
		prevSeq, prevIngest = pos[i].Seq, ingest[i]
		nruns++
		i = j
	}
	dst = binary.AppendUvarint(dst, uint64(nruns))
	dst = append(dst, runs...)

	prev := events[0].Timestamp
	raw = 0
	for i, e := range events {
		if i > 0 && i%seekEvery == 0 {
			x.ckRaw = append(x.ckRaw, int(raw))
			for _, c := range x.cols {
				x.ckCols = append(x.ckCols, len(c))
			}
			x.ckAt = append(x.ckAt, len(x.ckCols))
		}
		raw += uint64(len(e.Message))
		x.ts = binary.AppendUvarint(x.ts, uint64(e.Timestamp-prev))
		prev = e.Timestamp
		x.tokenize(e.Message)
		t := string(x.tpl)
		x.uses[t]++
		x.evTpl = append(x.evTpl, t)
	}
	// Templates used once are rendered straight from their text; the
	// others are compiled once and referred to by id.
	for i, t := range x.evTpl {
		if i > 0 && i%seekEvery == 0 {
			x.ckIds, x.ckTpls, x.ckReused = append(x.ckIds, len(x.ids)), append(x.ckTpls, len(x.tpls)), append(x.ckReused, len(x.tplID))
		}
		if id, ok := x.tplID[t]; ok {
			x.ids = binary.AppendUvarint(x.ids, uint64(id)+2)
			continue
		}
		if x.uses[t] == 1 {
			x.ids = append(x.ids, 1)
		} else {
			x.tplID[t] = len(x.tplID)
			x.ids = append(x.ids, 0)
		}
		x.tpls = append(x.tpls, t...)
		x.tpls = append(x.tpls, '\n')
	}
	dst = appendFrame(dst, x.ts, enc)
	dst = appendFrame(dst, x.ids, enc)
	dst = appendFrame(dst, x.tpls, enc)
	dst = binary.AppendUvarint(dst, uint64(len(x.cols)))
	for _, c := range x.cols {
		dst = appendFrame(dst, c, enc)
	}
	if x.format3 {
		return dst
	}
	return appendFrame(dst, x.seekIndex(), enc)
}

// seekIndex is format 4's last frame:
//
//	seekEvery uvarint | columns uvarint | columns × slot uvarint
//	| (count-1)/seekEvery × checkpoint
//
// checkpoint = ids offset | templates offset | reused templates | raw bytes
// | columns × column offset, each a uvarint delta from the checkpoint
// before (the first from 0): where the walk stands before event k ×
// seekEvery. The slots name each column (colSlot), so a reader that starts
// at a checkpoint knows the columns of templates it has not walked.
func (x *encoder3) seekIndex() []byte {
	ncols := len(x.cols)
	slots := make([]int, ncols)
	for slot, c := range x.colOf.col {
		if c > 0 {
			slots[c-1] = slot
		}
	}
	b := binary.AppendUvarint(nil, seekEvery)
	b = binary.AppendUvarint(b, uint64(ncols))
	for _, s := range slots {
		b = binary.AppendUvarint(b, uint64(s))
	}
	prevCol := make([]int, ncols)
	prev := [4]int{}
	for k := range x.ckRaw {
		cur := [4]int{x.ckIds[k], x.ckTpls[k], x.ckReused[k], x.ckRaw[k]}
		for j := range cur {
			b = binary.AppendUvarint(b, uint64(cur[j]-prev[j]))
		}
		prev = cur
		cols := x.ckCols[x.ckAt[k]:x.ckAt[k+1]]
		for c := range prevCol {
			n := 0
			if c < len(cols) {
				n = cols[c]
			}
			b = binary.AppendUvarint(b, uint64(n-prevCol[c]))
			prevCol[c] = n
		}
	}
	return b
}

func appendFrame(dst, raw []byte, enc *zstd.Encoder) []byte {
	// The frame's length goes first: reserve a uvarint's worst case for a
	// frame of this size, then shift if it came out shorter.
	at := len(dst)
	dst = enc.EncodeAll(raw, dst)
	frame := append([]byte(nil), dst[at:]...)
	dst = binary.AppendUvarint(dst[:at], uint64(len(frame)))
	return append(dst, frame...)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'z' }
func isLowerHex(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f'
}

// hexRun is the length of the hex id starting at m[i], or 0: a maximal run
// of 8 to 16 lowercase hex digits with no alphanumeric byte on either side.
func hexRun(m string, i int) int {
	if i > 0 && isAlnum(m[i-1]) {
		return 0
	}
	j := i
	for j < len(m) && j-i <= 16 && isLowerHex(m[j]) {
		j++
	}
	if n := j - i; n < 8 || n > 16 || j < len(m) && isAlnum(m[j]) {
		return 0
	}
	return j - i
}

// tokenize sets x.tpl to m's template and appends its variables to columns.
// verbatim (which literals the templates decide exactly) and templateLiteral
// rest on what it makes a variable: change them with it (TestVerbatimRandom).
func (x *encoder3) tokenize(m string) {
	t := x.tpl[:0]
	vars := x.vars[:0]
	for i := 0; i < len(m); {
		c := m[i]
		if n := hexRun(m, i); n > 0 {
			v, _ := strconv.ParseUint(m[i:i+n], 16, 64)
			vars = append(vars, variable{kind: tplHex, w: byte(n), v: v})
			t = append(t, tplHex, byte(n))
			i += n
			continue
		}
		if isDigit(c) {
			j := i
			for j < len(m) && j-i < maxNumDigits && isDigit(m[j]) {
				j++
			}
			v, _ := strconv.ParseUint(m[i:j], 10, 64)
			vr := variable{kind: tplNum, v: v}
			if j-i > 1 && c == '0' {
				vr.w = byte(j - i)
			}
			vars = append(vars, vr)
			t = append(t, tplNum)
			i = j
			continue
		}
		switch c {
		case tplNum, tplHex, tplEscape, '\n':
			t = append(t, tplEscape)
		}
		t = append(t, c)
		i++
	}
	class := tplClass(t)
	for k, vr := range vars {
		col := x.col(colSlot(vr.kind, class, k))
		switch vr.kind {
		case tplHex:
			for b := 0; b < (int(vr.w)+1)/2; b++ {
				x.cols[col] = append(x.cols[col], byte(vr.v>>(8*b)))
			}
		case tplNum:
			if vr.w == 0 {
				x.cols[col] = binary.AppendUvarint(x.cols[col], vr.v<<1)
			} else {
				x.cols[col] = append(binary.AppendUvarint(x.cols[col], vr.v<<1|1), vr.w)
			}
		}
	}
	x.tpl, x.vars = t, vars
}

func (x *encoder3) col(slot int) int {
	c := x.colOf.of(slot)
	if c == len(x.cols) {
		if len(x.cols) < cap(x.cols) {
			x.cols = x.cols[:c+1]
		} else {
			x.cols = append(x.cols, nil)
		}
	}
	return c
}

// A compiled template: literal text and slots, in order.
type tplOp struct {
	lit  []byte // literal text before the slot (or the tail when kind is 0)
	kind byte   // tplNum, tplHex or 0 (no slot: the end)
	w    byte   // hex width
	col  int32
}

// decoder3 reads format-3 columns. The columns are decompressed back to
// back into colBuf; column c is read through the cursor cur[c] up to
// end[c]: an int written back per variable, not a slice header.
type decoder3 struct {
	colBuf   []byte
	cur, end []int
	colOf    colTable
	tpls     [][]tplOp
	arena    []tplOp // every template's ops, back to back
	scratch  *decodeScratch
}

// keep hands the decoder's grown template arrays to its scratch.
func (x *decoder3) keep() {
	if x.scratch != nil {
		x.scratch.tpls, x.scratch.arena = x.tpls[:0], x.arena[:0]
	}
}

var errFormat3 = errors.New("corrupt format 3 block")

// isMerged says whether value is a merged block (format 3 or 4).
func isMerged(value []byte) bool {
	return len(value) > 0 && (value[0] == blockFormat3 || value[0] == blockFormat4)
}

// splitFrame returns the zstd frame at the head of b and what follows it.
func splitFrame(b []byte) (frame, rest []byte, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, errFormat3
	}
	return b[k : k+int(n)], b[k+int(n):], nil
}

// readFrame decompresses the frame at the head of b into dst.
func readFrame(b []byte, dst []byte, dec *zstd.Decoder) (out, rest []byte, err error) {
	frame, rest, err := splitFrame(b)
	if err != nil {
		return nil, nil, err
	}
	if out, err = dec.DecodeAll(frame, dst); err != nil {
		return nil, nil, err
	}
	return out, rest, nil
}

// decodeBlock3 reads a format-3 value whole. timesOnly stops after the
// timestamps and positions (no messages). Messages alias the returned buffer.
func decodeBlock3(value []byte, minTs int64, buf []byte, dec *zstd.Decoder, timesOnly bool) (*DecodedBlock, []byte, error) {
	return decodeBlock3Of(value, minTs, buf, dec, decodeWant{timesOnly: timesOnly, start: math.MinInt64, end: math.MaxInt64})
}

// decodeWant says which messages of a merged block a reader needs. A merged
// block holds up to recompactTarget events, and rendering a message is most
// of its decoding (the profile in docs/benchmarks.md, disk10: the number
// and literal writers ~70%, zstd ~17%), while a page or a search usually
// needs few of them: the events of a time range, or those that may hold a
// search's literal. The others are skipped: their variables' column
// cursors advance (a varint or a few bytes each) and nothing is written;
// they read back as empty messages, so the block is only good for a reader
// whose wants it covers (DecodedBlock.covers).
type decodeWant struct {
	timesOnly  bool
	start, end int64 // render the events in [start, end)
	// tpl, when set, renders only events whose template holds it:
	// templateLiteral of the search's literal, which every matching
	// message's template text must contain.
	tpl *literal
	// unsplit: the caller reads a format-2 block whose events all lie in
	// [start, end) with eachMatchLines only, so a lines-layout column may
	// come back unsplit (DecodedBlock.unsplit). Formats 1 and 3 ignore it.
	unsplit bool
	// hitsOnly, with tpl: the caller's filter matches exactly the messages
	// that hold tpl (tplExact) and it needs no message, only which events
	// match. A merged block wholly in [start, end) then decompresses its
	// timestamps, template ids and templates, not its columns, and walks
	// no event (DecodedBlock.hits).
	hitsOnly bool
	// approxSizes: the reader of a block wholly in [start, end) counts
	// what it examined for the whole block only (rawBytes(0, n), as a
	// scan does), never from an event within it, so with tpl the events
	// it skips need not be sized (walker.lazy). A page that may resume
	// inside the block (FilterLogEvents) needs exact sizes at every
	// match and leaves it unset.
	approxSizes bool
	// scratch, when set, lends the decode its arrays (decodeScratch): the
	// block returned is good only until the next decode with it.
	scratch *decodeScratch
}

// decodeScratch is what one scan worker's decodes of merged blocks reuse,
// block after block: the event arrays, the message offsets and sizes, and
// the compiled templates. A worker reads each block it decodes to the end
// before the next (scanner.load copies out what it keeps), so nothing of
// one block is read once the next is decoded into the same arrays. They
// were half of what an Insights query allocated, and so of its collector's
// work (BenchmarkShapes -memprofile: decodeBlock3Of and compile, 945 of
// 3,101 MB).
type decodeScratch struct {
	ts, ingest      []int64
	seqs            []uint64
	idx, off, sized []uint32
	arena           []tplOp
	tpls            [][]tplOp
}

// reslice returns s resized to n, reusing its array when it is large enough
// (cleared: a reader must not see the last block's values).
func reslice[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// tplExact reports whether a merged block's templates decide lit exactly:
// its template literal is the whole of it (templateLiteral, verbatim), so a
// message holds lit exactly when its template's text does.
func tplExact(lit *literal) bool {
	return lit != nil && lit.tpl != nil && string(lit.tpl.b) == string(lit.b)
}

// templateLiteral returns what a template must contain for its messages to
// hold l: l itself when no byte of an occurrence can come from a variable
// (verbatim), else the longest run of l's bytes outside [0-9a-f].
// Variables render only digits and lowercase hex digits, so such bytes of a
// message always come from its template's literal text, and a run of them
// (no variable can sit between adjacent bytes) lies in one literal stretch
// of it. nil when there is no such run of 3 bytes or more, or l holds a
// byte a template writes as an operator or escape (≤ 0x10: its bytes in
// the template text would not be contiguous).
func templateLiteral(l []byte) *literal {
	if verbatim(l) {
		return newLiteral(append([]byte(nil), l...))
	}
	var best []byte
	from := 0
	for i := 0; i <= len(l); i++ {
		if i < len(l) && l[i] <= 0x10 {
			return nil
		}
		if i == len(l) || isLowerHex(l[i]) {
			if i-from > len(best) {
				best = l[from:i]
			}
			from = i + 1
		}
	}
	if len(best) < 3 {
		return nil
	}
	return newLiteral(append([]byte(nil), best...))
}

// verbatim reports whether every occurrence of l in a message lies in one
// literal stretch of its template, so that the template's text holds l
// exactly when the message does. The tokenizer (tokenize) makes a variable
// of every digit and of a hex id, a maximal alphanumeric run of 8 to 16
// lowercase hex digits; a byte ≤ 0x10 may be an operator, a width or an
// escape. So l qualifies when it has none of those bytes, no digit, and
// each maximal run of [0-9A-Za-z] in it cannot be (part of) a hex id:
//
//   - a run holding a byte outside [0-9a-f] (g–z, any uppercase letter):
//     the message's run around it holds that byte too, so is no hex id;
//   - a run of a–f bounded inside l on both sides (by bytes that are not
//     alphanumeric) whose length is not 8 to 16: it is the message's whole
//     run, too short or too long to be an id.
//
// A run of a–f at either end of l may continue in the message into an id
// ("beef" in "deadbeef"), so such an l does not qualify. "ERROR", "error",
// "Exception", "checkout_timeout" and "user login" are verbatim; "deadbeef",
// "id=abc", "status=500" and "0x1f" are not.
func verbatim(l []byte) bool {
	if len(l) == 0 {
		return false
	}
	for i := 0; i < len(l); {
		c := l[i]
		if c <= 0x10 || isDigit(c) {
			return false
		}
		if !isAlnum(c) {
			i++
			continue
		}
		j, hexOnly := i, true
		for j < len(l) && isAlnum(l[j]) {
			if isDigit(l[j]) {
				return false
			}
			hexOnly = hexOnly && isLowerHex(l[j])
			j++
		}
		if hexOnly && (i == 0 || j == len(l) || j-i >= 8 && j-i <= 16) {
			return false
		}
		i = j
	}
	return true
}

// decodeBlock3Of reads a format-3 value, rendering the messages want asks
// for. When no event lies in want's time range it stops after the
// timestamps (off nil, buf untouched).
func decodeBlock3Of(value []byte, minTs int64, buf []byte, dec *zstd.Decoder, want decodeWant) (*DecodedBlock, []byte, error) {
	r := reader{b: value[1:]}
	n := r.uvarint()
	raw := r.uvarint()
	nruns := r.uvarint()
	// A message costs at least a bit of the compressed value: a raw size
	// far beyond the value's is corrupt (and would be a huge allocation).
	if r.err || n == 0 || n > maxBlockEvents || nruns == 0 || nruns > n || raw > math.MaxUint32 || raw > 1<<10*uint64(len(value)) {
		return nil, buf, errFormat3
	}
	d := &DecodedBlock{}
	if sc := want.scratch; sc != nil {
		sc.ts, sc.seqs, sc.idx, sc.ingest = reslice(sc.ts, int(n)), reslice(sc.seqs, int(n)), reslice(sc.idx, int(n)), reslice(sc.ingest, int(n))
		d.ts, d.seqs, d.idx, d.ingest = sc.ts, sc.seqs, sc.idx, sc.ingest
	} else {
		d.ts, d.seqs, d.idx, d.ingest = make([]int64, n), make([]uint64, n), make([]uint32, n), make([]int64, n)
	}
	var seq uint64
	var ingest int64
	at := 0
	for range nruns {
		seq += uint64(r.varint())
		first := r.uvarint()
		length := r.uvarint()
		ingest += r.varint()
		if r.err || length == 0 || length > n-uint64(at) || first+length > math.MaxUint32 {
			return nil, buf, errFormat3
		}
		seqs, idx, ing := d.seqs[at:at+int(length)], d.idx[at:at+int(length)], d.ingest[at:at+int(length)]
		for k := range seqs {
			seqs[k], idx[k], ing[k] = seq, uint32(first)+uint32(k), ingest
		}
		at += int(length)
	}
	if at != int(n) {
		return nil, buf, errFormat3
	}
	// One buffer: the messages first (exactly raw bytes), the frames'
	// decompressed columns after them.
	// (The frames: templates at most about the messages' size, the other
	// columns a few dozen bytes an event.)
	if need := 2*int(raw) + 32*int(n) + 64<<10; cap(buf) < need {
		buf = make([]byte, 0, need)
	}
	scratch := buf[raw:raw]
	tsCol, rest, err := readFrame(r.b, scratch, dec)
	if err != nil {
		return nil, buf, err
	}
	prev := minTs
	ts := d.ts
	for i := range ts {
		var v uint64
		if len(tsCol) > 0 && tsCol[0] < 0x80 { // most deltas: one byte
			v, tsCol = uint64(tsCol[0]), tsCol[1:]
		} else {
			var k int
			if v, k = binary.Uvarint(tsCol); k <= 0 || v > math.MaxInt64/4 {
				return nil, buf, errFormat3
			}
			tsCol = tsCol[k:]
		}
		if prev += int64(v); prev < 0 {
			return nil, buf, errFormat3
		}
		ts[i] = prev
	}
	if want.timesOnly {
		return d, buf, nil
	}
	// The events to render: [lo, hi) by time, and by template when tpl.
	lo, _ := slices.BinarySearch(d.ts, want.start)
	hi, _ := slices.BinarySearch(d.ts, want.end)
	if want.end == math.MaxInt64 {
		hi = int(n) // a timestamp of MaxInt64 is in range too
	}
	if lo >= hi {
		return d, buf, nil
	}
	// Decompress the other frames one after another into one scratch; the
	// messages are written before them. The template ids and texts first:
	// a hits-only read needs nothing else.
	ids, rest, err := readFrame(rest, tsCol[:0], dec)
	if err != nil {
		return nil, buf, err
	}
	tplBytes, rest, err := readFrame(rest, ids[len(ids):], dec)
	if err != nil {
		return nil, buf, err
	}
	if want.hitsOnly && want.tpl != nil && lo == 0 && hi == int(n) {
		if d.hits, err = templateHits(ids, tplBytes, int(n), want.tpl); err != nil {
			return nil, buf, err
		}
		d.hitsOnly, d.raw = true, int64(raw)
		return d, buf, nil
	}
	partial := lo > 0 || hi < int(n) || want.tpl != nil
	if partial {
		d.partial, d.from, d.to = true, lo, hi
		if want.tpl != nil {
			d.tpl, d.tplEsc = string(want.tpl.b), want.tpl.orBackslash
		}
	}
	r = reader{b: rest}
	ncols := r.uvarint()
	if r.err || ncols > 1<<16 {
		return nil, buf, errFormat3
	}
	// Only reused templates are compiled into the ops arena, and most
	// templates of a varied stream are used once: sizing it for every
	// template would allocate (and clear) megabytes that stay unused. It
	// grows by append instead; ops already handed out keep the old array.
	x := decoder3{cur: make([]int, ncols), end: make([]int, ncols)}
	if sc := want.scratch; sc != nil && sc.arena != nil {
		clear(sc.tpls[:cap(sc.tpls)]) // no stale template keeps the last block's buffer
		x.tpls, x.arena, x.scratch = sc.tpls[:0], sc.arena[:0], sc
	} else {
		x.tpls, x.arena, x.scratch = make([][]tplOp, 0, 64), make([]tplOp, 0, 1024), want.scratch
	}
	// What the walk grew, the next block reuses (the ops already handed out
	// are this block's only).
	defer x.keep()
	// The columns are appended to one slice, so they stay back to back
	// even when DecodeAll has to grow it.
	cb := tplBytes[len(tplBytes):len(tplBytes)]
	rest = r.b
	for c := range int(ncols) {
		var frame []byte
		if frame, rest, err = splitFrame(rest); err != nil {
			return nil, buf, err
		}
		x.cur[c] = len(cb)
		if cb, err = dec.DecodeAll(frame, cb); err != nil {
			return nil, buf, err
		}
		x.end[c] = len(cb)
	}
	var ix *seekIndex3
	if value[0] == blockFormat4 {
		var frame []byte
		if frame, _, err = splitFrame(rest); err != nil {
			return nil, buf, err
		}
		at := len(cb)
		if cb, err = dec.DecodeAll(frame, cb); err != nil {
			return nil, buf, err
		}
		if ix, err = parseSeekIndex(cb[at:], &x, int(n)); err != nil {
			return nil, buf, err
		}
	}
	x.colBuf = cb
	// The messages fill buf[:raw] exactly; every write is checked against
	// it, so a corrupt block that renders more fails rather than overwrite
	// the columns.
	out := buf[:raw]
	var off []uint32
	if sc := want.scratch; sc != nil {
		sc.off = reslice(sc.off, int(n)+1)
		off = sc.off
	} else {
		off = make([]uint32, n+1)
	}
	d.off = off
	w := walker{x: &x, out: out, ids: ids, tpls: tplBytes, off: off, tpl: want.tpl}
	// sized counts every message's length, rendered or not, when some are
	// skipped: what a reader examined (its scan budget) does not depend on
	// how much of the block it rendered.
	if partial {
		if sc := want.scratch; sc != nil {
			sc.sized = reslice(sc.sized, int(n)+1)
			w.sized = sc.sized
		} else {
			w.sized = make([]uint32, n+1)
		}
		d.sized = w.sized
	}
	if partial && ix != nil {
		w.lazy = want.approxSizes && want.tpl != nil && lo == 0 && hi == int(n)
		if err := w.seekWalk(ix, tplBytes, lo, hi, int(n), int(raw)); err != nil {
			return nil, buf, err
		}
		w.sized[n] = uint32(raw)
		d.off[n] = uint32(w.p)
		d.walked = int(n)
		if w.lazy {
			// Only the block's ends are exact: rawBytes(0, n) is raw.
			w.sized[0], d.walked = 0, 0
		}
		d.data = out[:w.p]
		return d, buf, nil
	}
	stop := int(n) // events past the last one rendered need no walk
	if partial {
		stop = hi
	}
	if want.tpl != nil && hi == int(n) {
		// A search renders few events: find the last one first (the ids
		// and the templates' text tell, no column is read), so the walk
		// ends there; a block none of whose templates holds the literal
		// (a gram filter's false positive) is not walked at all. The
		// events after it then count the rest of the block's raw bytes
		// (rawBytes), known from its header.
		if stop, err = lastCandidate(ids, tplBytes, lo, hi, want.tpl); err != nil {
			return nil, buf, err
		}
	}
	for i := range stop {
		if err := w.event(i, i >= lo && i < hi); err != nil {
			return nil, buf, err
		}
	}
	p, size := w.p, w.size
	if stop < int(n) {
		// Not walked: their messages read back empty and count as
		// nothing, and no reader of this block asks for them (covers).
		for i := stop; i < int(n); i++ {
			off[i], w.sized[i] = uint32(p), uint32(size)
		}
	} else if size != int(raw) || !partial && p != len(out) {
		return nil, buf, errFormat3
	}
	d.off[n] = uint32(p)
	d.walked = stop
	if partial {
		w.sized[n] = uint32(size)
		if stop < int(n) && hi == int(n) {
			w.sized[n] = uint32(raw) // the events not walked hold the rest
		}
	}
	d.data = out[:p]
	return d, buf, nil
}

// seekIndex3 is a format-4 block's seek index (encoder3.seekIndex), as
// positions in the decoded frames: checkpoint k stands before event
// k × every (checkpoint 0 is the start).
type seekIndex3 struct {
	every                  int
	ids, tpls, reused, raw []int
	cols                   []int // checkpoint k's column cursors: cols[k*ncols:(k+1)*ncols]
}

// parseSeekIndex reads the index b of a block of n events whose columns x
// holds (cursors at their starts), and sets x's column table from it.
func parseSeekIndex(b []byte, x *decoder3, n int) (*seekIndex3, error) {
	r := reader{b: b}
	every := r.uvarint()
	ncols := r.uvarint()
	if r.err || every == 0 || every > maxBlockEvents || ncols != uint64(len(x.cur)) {
		return nil, errFormat3
	}
	for c := range int(ncols) {
		slot := r.uvarint()
		if r.err || slot >= colSlots || x.colOf.col[slot] != 0 {
			return nil, errFormat3
		}
		x.colOf.col[slot] = int32(c + 1)
	}
	x.colOf.n = int(ncols)
	nck := (n-1)/int(every) + 1
	if (nck-1)*(4+int(ncols)) > len(r.b) { // a byte a varint at least: no huge table for a corrupt block
		return nil, errFormat3
	}
	ix := &seekIndex3{every: int(every), ids: make([]int, nck), tpls: make([]int, nck), reused: make([]int, nck),
		raw: make([]int, nck), cols: make([]int, nck*int(ncols))}
	copy(ix.cols, x.cur)
	for k := 1; k < nck; k++ {
		for _, f := range [][]int{ix.ids, ix.tpls, ix.reused, ix.raw} {
			d := r.uvarint()
			if d > math.MaxUint32 {
				r.err = true
			}
			f[k] = f[k-1] + int(d)
		}
		c0, c1 := ix.cols[(k-1)*int(ncols):k*int(ncols)], ix.cols[k*int(ncols):(k+1)*int(ncols)]
		for c := range c1 {
			d := r.uvarint()
			if c1[c] = c0[c] + int(d); d > math.MaxUint32 || c1[c] > x.end[c] {
				r.err = true
			}
		}
		if r.err {
			return nil, errFormat3
		}
	}
	return ix, nil
}

// walker walks a merged block's events in order, rendering or skipping
// each (decodeBlock3Of); the seek walk may move it to a checkpoint.
type walker struct {
	x         *decoder3
	out       []byte
	p, size   int    // the messages' end; the sizes of the events walked
	ids, tpls []byte // the heads of the ids and templates frames
	off       []uint32
	sized     []uint32 // nil: every event is walked
	tpl       *literal
	nreused   int
	// The seek walk: each reused template's text in the templates frame,
	// by id, compiled when first needed (nil: compiled as met).
	tplAt  []int
	tplAll []byte
	holds  []bool // with tpl: whether reused template id holds it
	// lazy (the seek walk of a block wholly in range, with a literal, for
	// a reader that needs no message size but the block's total:
	// decodeWant.approxSizes): a skipped event whose template's class is
	// not live (no candidate's template has that class) leaves the
	// columns as they are. A column belongs to one class (colSlot), so
	// no rendered event reads what such an event would have advanced
	// past; its size is not counted (the sizes are the checkpoints',
	// spread). cls is each reused template's class, by id.
	lazy bool
	live [colClasses]bool
	cls  []uint8
}

// event walks event i, rendering it when render and, with a literal, its
// template holds it.
func (w *walker) event(i int, render bool) error {
	x := w.x
	var v uint64
	if len(w.ids) > 0 && w.ids[0] < 0x80 {
		v, w.ids = uint64(w.ids[0]), w.ids[1:]
	} else {
		var k int
		if v, k = binary.Uvarint(w.ids); k <= 0 {
			return errFormat3
		}
		w.ids = w.ids[k:]
	}
	w.off[i] = uint32(w.p)
	if w.sized != nil {
		w.sized[i] = uint32(w.size)
	}
	var err error
	var id int // a reused template's
	if v <= 1 {
		j := tplEnd(w.tpls)
		if j < 0 {
			return errFormat3
		}
		t := w.tpls[:j]
		w.tpls = w.tpls[j+1:]
		if v == 1 {
			if render && (w.tpl == nil || w.tpl.inTemplate(t)) {
				q := w.p
				if w.p, err = x.renderText(w.out, w.p, t); err != nil {
					return err
				}
				w.size += w.p - q
			} else if !w.lazy || w.live[tplClass(t)] {
				k, err := x.skipText(t)
				if err != nil {
					return err
				}
				w.size += k
			}
			return nil
		}
		id = w.nreused
		w.nreused++
		if w.tplAt == nil {
			ops, err := x.compile(t)
			if err != nil {
				return err
			}
			x.tpls = append(x.tpls, ops)
			if w.tpl != nil {
				w.holds = append(w.holds, w.tpl.inTemplate(t))
			}
		} else if id >= len(w.tplAt) {
			return errFormat3
		}
	} else {
		if v-2 >= uint64(w.nreused) {
			return errFormat3
		}
		id = int(v - 2)
	}
	rendered := render && (w.tpl == nil || w.holds[id])
	if !rendered && w.lazy && !w.live[w.cls[id]] {
		return nil // its columns are no rendered event's: left as they are
	}
	ops := x.tpls[id]
	if ops == nil { // the seek walk: compiled when first needed
		t := w.tplAll[w.tplAt[id]:]
		j := tplEnd(t)
		if j < 0 {
			return errFormat3
		}
		if ops, err = x.compile(t[:j]); err != nil {
			return err
		}
		x.tpls[id] = ops
	}
	if rendered {
		q := w.p
		if w.p, err = x.render(w.out, w.p, ops); err != nil {
			return err
		}
		w.size += w.p - q
	} else {
		k, err := x.skip(ops)
		if err != nil {
			return err
		}
		w.size += k
	}
	return nil
}

// seekWalk renders the events of [lo, hi) a partial decode wants, walking
// from the checkpoint before each (a time range: before lo; a search:
// before each event whose template holds the literal) instead of from the
// block's start. It walks lo and hi-1 too, so the sizes of [lo, hi) are
// exact; the events it jumps over read back empty, their sizes spread
// evenly between the checkpoints' exact ones.
func (w *walker) seekWalk(ix *seekIndex3, tplAll []byte, lo, hi, n, raw int) error {
	// The templates up to hi: where each reused one's text is and,
	// with a literal, which events may hold it (the ids and templates
	// frames only, no column is read).
	var cands []int
	ts := tplScan{ids: w.ids, tpls: tplAll, tpl: w.tpl, classes: w.lazy}
	for i := 0; i < hi; i++ {
		h, at, err := ts.next()
		if err != nil {
			return err
		}
		if at >= 0 {
			w.tplAt = append(w.tplAt, at)
		}
		if w.tpl != nil && h && i >= lo {
			cands = append(cands, i)
			if w.lazy {
				w.live[ts.class] = true
			}
		}
	}
	w.holds, w.cls = ts.holds, ts.cls
	w.x.tpls = reslice(w.x.tpls, len(w.tplAt))
	w.tplAll = tplAll
	ids0 := w.ids
	pos := 0 // the next event the walker stands before
	// goTo walks up to event t (rendering what is in range), jumping to
	// t's checkpoint first when that is ahead and jump allows.
	goTo := func(t int, jump bool) error {
		if k := t / ix.every; jump && k*ix.every > pos {
			to := k * ix.every
			if ix.raw[k] < w.size || ix.ids[k] > len(ids0) || ix.tpls[k] > len(tplAll) || ix.reused[k] > len(w.tplAt) {
				return errFormat3
			}
			w.spread(pos, to, ix.raw[k])
			w.ids, w.tpls, w.nreused, w.size = ids0[ix.ids[k]:], tplAll[ix.tpls[k]:], ix.reused[k], ix.raw[k]
			copy(w.x.cur, ix.cols[k*len(w.x.cur):])
			pos = to
		}
		for ; pos <= t; pos++ {
			if err := w.event(pos, pos >= lo && pos < hi); err != nil {
				return err
			}
		}
		return nil
	}
	if w.tpl == nil {
		// Every event of the range: jump to lo, walk on to hi.
		if err := goTo(lo, true); err != nil {
			return err
		}
		if err := goTo(hi-1, false); err != nil {
			return err
		}
	} else {
		for _, t := range append(append([]int{lo}, cands...), hi-1) {
			if t >= pos {
				if err := goTo(t, true); err != nil {
					return err
				}
			}
		}
	}
	if w.size > raw {
		return errFormat3
	}
	w.spread(pos, n, raw)
	return nil
}

// spread fills events [a, b) the seek walk jumps over: empty messages,
// sizes evenly between the walker's (exact, at a) and end's (at b).
func (w *walker) spread(a, b, end int) {
	for i := a; i < b; i++ {
		w.off[i] = uint32(w.p)
		w.sized[i] = uint32(w.size + (end-w.size)*(i-a)/(b-a))
	}
}

// tplScan reads a merged block's ids and templates frames event by event,
// no column: which events' templates hold a literal, and where each
// reused template's text is.
type tplScan struct {
	ids   []byte // what is left of the ids frame
	tpls  []byte // the templates frame
	at    int    // where in tpls the next new template starts
	tpl   *literal
	holds []bool // by reused template id: whether it holds tpl
	// With classes: each reused template's class (tplClass) by id, and
	// the class of the template next read last.
	classes bool
	cls     []uint8
	class   int
}

// next reads the next event's template id: h, whether its template holds
// tpl (true when there is none), and at, the offset in tpls of the text of
// a template it is the first to use and later events reuse (else -1).
func (s *tplScan) next() (h bool, at int, err error) {
	v, k := binary.Uvarint(s.ids)
	if k <= 0 {
		return false, -1, errFormat3
	}
	s.ids = s.ids[k:]
	if v >= 2 {
		if v-2 >= uint64(len(s.holds)) {
			return false, -1, errFormat3
		}
		if s.classes {
			s.class = int(s.cls[v-2])
		}
		return s.holds[v-2], -1, nil
	}
	t := s.tpls[s.at:]
	j := tplEnd(t)
	if j < 0 {
		return false, -1, errFormat3
	}
	h, at = s.tpl == nil || s.tpl.inTemplate(t[:j]), -1
	if s.classes {
		s.class = tplClass(t[:j])
	}
	if v == 0 {
		at = s.at
		s.holds = append(s.holds, h)
		if s.classes {
			s.cls = append(s.cls, uint8(s.class))
		}
	}
	s.at += j + 1
	return h, at, nil
}

// templateHits lists the events of a block of n whose template holds
// tpl, from the ids and templates frames alone; every id and template must
// be used up exactly.
func templateHits(ids, tplBytes []byte, n int, tpl *literal) ([]int32, error) {
	s := tplScan{ids: ids, tpls: tplBytes, tpl: tpl}
	hits := []int32{}
	for i := range n {
		h, _, err := s.next()
		if err != nil {
			return nil, err
		}
		if h {
			hits = append(hits, int32(i))
		}
	}
	if len(s.ids) != 0 || s.at != len(s.tpls) {
		return nil, errFormat3
	}
	return hits, nil
}

// lastCandidate returns one past the last event in [lo, hi) whose template
// holds tpl, or lo when none does, reading the ids and templates frames
// only.
func lastCandidate(ids, tplBytes []byte, lo, hi int, tpl *literal) (int, error) {
	s := tplScan{ids: ids, tpls: tplBytes, tpl: tpl}
	last := lo
	for i := 0; i < hi; i++ {
		h, _, err := s.next()
		if err != nil {
			return 0, err
		}
		if h && i >= lo {
			last = i + 1
		}
	}
	return last, nil
}

// tplEnd is the index of the '\n' that ends the template at the head of b,
// or -1. A '\n' is the end unless it is the operand of an escape or a hex
// width: the first '\n' is, unless an operator precedes it (rare: walk).
func tplEnd(b []byte) int {
	j := bytes.IndexByte(b, '\n')
	if j < 0 {
		return -1
	}
	if j == 0 || b[j-1] != tplEscape && b[j-1] != tplHex {
		return j
	}
	j = 0
	for j < len(b) && b[j] != '\n' {
		if b[j] == tplEscape || b[j] == tplHex {
			j++
		}
		j++
	}
	if j >= len(b) {
		return -1
	}
	return j
}

// compile parses one template into ops, assigning columns as the encoder did.
func (x *decoder3) compile(t []byte) ([]tplOp, error) {
	start := len(x.arena)
	// lit is the literal text since the last slot: a sub-slice of t while
	// it holds no escape, a copy once it does.
	litFrom, escaped := 0, false
	var lit []byte
	ordinal := 0
	class := tplClass(t)
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch c {
		case tplEscape:
			if i+1 >= len(t) {
				return nil, errFormat3
			}
			if !escaped {
				lit, escaped = append([]byte(nil), t[litFrom:i]...), true
			}
			i++
			lit = append(lit, t[i])
			continue
		case tplNum, tplHex:
			if !escaped {
				lit = t[litFrom:i]
			}
			op := tplOp{lit: lit, kind: c}
			if c == tplHex {
				if i+1 >= len(t) || t[i+1] < 8 || t[i+1] > 16 {
					return nil, errFormat3
				}
				i++
				op.w = t[i]
			}
			col := x.colOf.of(colSlot(c, class, ordinal))
			if col >= len(x.cur) {
				return nil, errFormat3
			}
			op.col = int32(col)
			x.arena = append(x.arena, op)
			lit, escaped, litFrom = nil, false, i+1
			ordinal++
			continue
		}
		if escaped {
			lit = append(lit, c)
		}
	}
	if !escaped {
		lit = t[litFrom:]
	}
	x.arena = append(x.arena, tplOp{lit: lit})
	return x.arena[start:len(x.arena):len(x.arena)], nil
}

const hexDigits = "0123456789abcdef"

// digitPairs holds "00" to "99": two decimal digits per division.
const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

// zeroWord is eight '0's.
const zeroWord = 0x3030303030303030

// putLit writes s at out[p:], which the caller checked has room, and
// returns the new end. Short text (most literals and numbers) goes as one
// 8-byte word when both sides have the room, not a copy call: the bytes
// past s land in out beyond the new end, where the next writes overwrite
// them (every byte of out is written by the time the block is done).
func putLit(out []byte, p int, s []byte) int {
	if len(s) <= 8 && cap(s) >= 8 && len(out)-p >= 8 {
		binary.LittleEndian.PutUint64(out[p:], binary.LittleEndian.Uint64(s[:8]))
		return p + len(s)
	}
	return p + copy(out[p:], s)
}

// render writes one message at out[p:]: ops' literals and their variables,
// read off the head of their columns. It returns the new end.
func (x *decoder3) render(out []byte, p int, ops []tplOp) (int, error) {
	var err error
	for i := range ops {
		op := &ops[i]
		if len(op.lit) > len(out)-p {
			return 0, errFormat3
		}
		p = putLit(out, p, op.lit)
		switch op.kind {
		case tplNum:
			p, err = x.num(out, p, int(op.col))
		case tplHex:
			p, err = x.hex(out, p, int(op.col), int(op.w))
		default:
			return p, nil
		}
		if err != nil {
			return 0, err
		}
	}
	return p, nil
}

// litEnd is the index of the first operator byte (tplNum, tplHex,
// tplEscape: 1 to 3) of t at or after i, or len(t). A NUL is literal text
// like any other byte. Literal text is most of a template: it is scanned
// 8 bytes a word.
func litEnd(t []byte, i int) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(t); i += 8 {
		w := binary.LittleEndian.Uint64(t[i:])
		// A byte below 4 sets its high bit in (w - 4·lo) &^ w; bytes
		// above a flagged one may be flagged falsely (the borrow), the
		// lowest flagged byte never is.
		if m := (w - 4*lo) &^ w & hi; m != 0 {
			j := i + bits.TrailingZeros64(m)/8
			if t[j] != 0 {
				return j
			}
			i = j + 1 - 8 // a NUL: scan on after it
		}
	}
	for i < len(t) && (t[i] > tplEscape || t[i] == 0) {
		i++
	}
	return i
}

// renderText writes the message of a template used once, straight from its
// text (the same walk as compile, without building ops).
func (x *decoder3) renderText(out []byte, p int, t []byte) (int, error) {
	class := tplClass(t)
	ordinal := 0
	var err error
	for i := 0; i < len(t); {
		j := litEnd(t, i)
		if j-i > len(out)-p {
			return 0, errFormat3
		}
		p = putLit(out, p, t[i:j])
		if j == len(t) {
			break
		}
		switch t[j] {
		case tplEscape:
			if j+1 >= len(t) || p >= len(out) {
				return 0, errFormat3
			}
			out[p] = t[j+1]
			p++
			i = j + 2
			continue
		case tplNum:
			col := x.colOf.of(colSlot(tplNum, class, ordinal))
			if col >= len(x.cur) {
				return 0, errFormat3
			}
			p, err = x.num(out, p, col)
			i = j + 1
		default: // tplHex
			if j+1 >= len(t) || t[j+1] < 8 || t[j+1] > 16 {
				return 0, errFormat3
			}
			col := x.colOf.of(colSlot(tplHex, class, ordinal))
			if col >= len(x.cur) {
				return 0, errFormat3
			}
			p, err = x.hex(out, p, col, int(t[j+1]))
			i = j + 2
		}
		if err != nil {
			return 0, err
		}
		ordinal++
	}
	return p, nil
}

// num writes the decimal number at the head of column col at out[p:].
func (x *decoder3) num(out []byte, p, col int) (int, error) {
	q, end := x.cur[col], x.end[col]
	if q >= end {
		return 0, errFormat3
	}
	b := x.colBuf[q:end]
	var u uint64
	switch { // numbers below 64 take a byte, below 8192 two
	case b[0] < 0x80:
		u, q = uint64(b[0]), q+1
	case len(b) > 1 && b[1] < 0x80:
		u, q = uint64(b[0]&0x7f)|uint64(b[1])<<7, q+2
	default:
		v, k := binary.Uvarint(b)
		if k <= 0 {
			return 0, errFormat3
		}
		u, q = v, q+k
	}
	v := u >> 1
	if u&1 == 0 && v < 10 && p < len(out) { // most numbers: one digit
		out[p] = byte('0' + v)
		x.cur[col] = q
		return p + 1, nil
	}
	w := 0 // the padded width; 0: unpadded
	if u&1 != 0 {
		if q >= end {
			return 0, errFormat3
		}
		w = int(x.colBuf[q])
		q++
		if w > maxNumDigits {
			return 0, errFormat3
		}
	}
	if v < 1e8 && w <= 8 && len(out)-p >= 8 {
		// Up to 8 digits (with the padding) are built in a register and
		// stored as one word: the first digit in the low byte. (Bytes
		// written one by one and read back as a word would stall the
		// store forwarding.)
		var word uint64
		n := 0
		for v >= 100 {
			q := v / 100
			r := (v - q*100) * 2
			word = word<<16 | uint64(digitPairs[r]) | uint64(digitPairs[r+1])<<8
			v = q
			n += 2
		}
		if v >= 10 {
			word = word<<16 | uint64(digitPairs[v*2]) | uint64(digitPairs[v*2+1])<<8
			n += 2
		} else {
			word = word<<8 | ('0' + v)
			n++
		}
		if w == 0 {
			w = n
		} else if w < n {
			return 0, errFormat3
		} else if pad := uint(w - n); pad > 0 {
			word = word<<(8*pad) | zeroWord>>(64-8*pad)
		}
		binary.LittleEndian.PutUint64(out[p:], word)
		x.cur[col] = q
		return p + w, nil
	}
	// Longer numbers: the digits, right to left, two per division, into
	// tmp (ending at 48: room for the zero padding before).
	var tmp [56]byte
	const last = 48
	i := last
	for v >= 100 {
		q := v / 100
		r := (v - q*100) * 2
		i -= 2
		tmp[i], tmp[i+1] = digitPairs[r], digitPairs[r+1]
		v = q
	}
	if v >= 10 {
		i -= 2
		tmp[i], tmp[i+1] = digitPairs[v*2], digitPairs[v*2+1]
	} else {
		i--
		tmp[i] = byte('0' + v)
	}
	n := last - i
	if w == 0 {
		w = n
	} else if w < n {
		return 0, errFormat3
	} else {
		// Up to 17 zeros (i >= 30 here), three words of '0' without a loop.
		binary.LittleEndian.PutUint64(tmp[i-8:], zeroWord)
		binary.LittleEndian.PutUint64(tmp[i-16:], zeroWord)
		binary.LittleEndian.PutUint64(tmp[i-24:], zeroWord)
		i = last - w
	}
	if w > len(out)-p {
		return 0, errFormat3
	}
	x.cur[col] = q
	return p + copy(out[p:], tmp[i:last]), nil
}

// hex writes the w-digit hex id at the head of column col at out[p:]: its
// ⌈w/2⌉ bytes are little-endian, so digit k from the right is nibble k.
func (x *decoder3) hex(out []byte, p, col, w int) (int, error) {
	q := x.cur[col]
	nb := (w + 1) / 2
	if nb > x.end[col]-q || w > len(out)-p {
		return 0, errFormat3
	}
	c := x.colBuf[q : q+nb]
	o := out[p : p+w]
	for k := range o {
		o[w-1-k] = hexDigits[c[k>>1]>>(4*(k&1))&15]
	}
	x.cur[col] = q + nb
	return p + w, nil
}

// numLen is the number of decimal digits of v: log10 from its bit length
// (1233/4096 ≈ log10 2), corrected by one comparison; no division.
func numLen(v uint64) int {
	n := (bits.Len64(v|1)*1233)>>12 + 1
	if n > 1 && n <= len(pow10) && v < pow10[n-1] {
		n--
	}
	return n
}

// pow10[i] is 10^i.
var pow10 = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// skipNum advances column col past one number and returns the length its
// rendering would have had (num, without writing it).
func (x *decoder3) skipNum(col int) (int, error) {
	q, end := x.cur[col], x.end[col]
	if q >= end {
		return 0, errFormat3
	}
	var u uint64
	if b := x.colBuf[q]; b < 0x80 {
		u, q = uint64(b), q+1
	} else if q+1 < end && x.colBuf[q+1] < 0x80 {
		u, q = uint64(b&0x7f)|uint64(x.colBuf[q+1])<<7, q+2
	} else {
		v, k := binary.Uvarint(x.colBuf[q:end])
		if k <= 0 {
			return 0, errFormat3
		}
		u, q = v, q+k
	}
	n := numLen(u >> 1)
	if u&1 != 0 {
		if q >= end {
			return 0, errFormat3
		}
		w := int(x.colBuf[q])
		q++
		if w > maxNumDigits || w < n {
			return 0, errFormat3
		}
		n = w
	}
	x.cur[col] = q
	return n, nil
}

// skipHex advances column col past one w-digit hex id.
func (x *decoder3) skipHex(col, w int) error {
	nb := (w + 1) / 2
	if nb > x.end[col]-x.cur[col] {
		return errFormat3
	}
	x.cur[col] += nb
	return nil
}

// skip is render without writing: the columns advance past one message of
// ops, and its length is returned.
func (x *decoder3) skip(ops []tplOp) (int, error) {
	n := 0
	for i := range ops {
		op := &ops[i]
		n += len(op.lit)
		switch op.kind {
		case tplNum:
			k, err := x.skipNum(int(op.col))
			if err != nil {
				return 0, err
			}
			n += k
		case tplHex:
			if err := x.skipHex(int(op.col), int(op.w)); err != nil {
				return 0, err
			}
			n += int(op.w)
		default:
			return n, nil
		}
	}
	return n, nil
}

// skipText is renderText without writing.
func (x *decoder3) skipText(t []byte) (int, error) {
	class := tplClass(t)
	ordinal, n := 0, 0
	for i := 0; i < len(t); {
		j := litEnd(t, i)
		n += j - i
		if j == len(t) {
			break
		}
		switch t[j] {
		case tplEscape:
			if j+1 >= len(t) {
				return 0, errFormat3
			}
			n++
			i = j + 2
			continue
		case tplNum:
			col := x.colOf.of(colSlot(tplNum, class, ordinal))
			if col >= len(x.cur) {
				return 0, errFormat3
			}
			k, err := x.skipNum(col)
			if err != nil {
				return 0, err
			}
			n += k
			i = j + 1
		default: // tplHex
			if j+1 >= len(t) || t[j+1] < 8 || t[j+1] > 16 {
				return 0, errFormat3
			}
			col := x.colOf.of(colSlot(tplHex, class, ordinal))
			if col >= len(x.cur) {
				return 0, errFormat3
			}
			if err := x.skipHex(col, int(t[j+1])); err != nil {
				return 0, err
			}
			n += int(t[j+1])
			i = j + 2
		}
		ordinal++
	}
	return n, nil
}

// mergedSeqs lists the appends (seqs) whose events a format-3 value holds,
// from its runs alone: retention and stream reclamation delete their feed
// entries with the block.
func mergedSeqs(value []byte) []uint64 {
	if !isMerged(value) {
		return nil
	}
	r := reader{b: value[1:]}
	r.uvarint() // count
	r.uvarint() // message bytes
	nruns := r.uvarint()
	var seqs []uint64
	var seq uint64
	for i := uint64(0); i < nruns && !r.err; i++ {
		seq += uint64(r.varint())
		r.uvarint()
		r.uvarint()
		r.varint()
		if !r.err && (len(seqs) == 0 || !slices.Contains(seqs, seq)) {
			seqs = append(seqs, seq)
		}
	}
	return seqs
}
