package metricfilter

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/logs"
	"github.com/cairnlog/cairn/internal/logs/fieldselect"
	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/rarebyte"
	"github.com/cairnlog/cairn/internal/store"
)

// unsafeString is b as a string without a copy, for searching b with the
// strings package; b must not change while the string is in use (blockScan
// searches its buffer and drops the string before the buffer is reused).
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// SystemFields are the values the model documents for
// emitSystemFieldDimensions ("Valid values are @aws.account and
// @aws.region").
var SystemFields = []string{"@aws.account", "@aws.region"}

// A compiled filter: what the Counter applies to each event.
type compiled struct {
	name     string // filterName
	creation int64  // ms; events ingested before it are not the filter's (MetricFilter.since)
	revision int64  // MetricFilter.revision: the counters' version
	// criteria is the filter's fieldSelectionCriteria (nil: none); the
	// Counter asks it once per group, whose events share their system
	// fields (fieldselect.Group).
	criteria *fieldselect.Criteria
	pattern  logs.Pattern
	// namespace, metric and unit name the CloudWatch metric.
	namespace, metric, unit string
	value                   selector // kind constant: value.num
	dims                    []dimension
	defaultValue            *float64
	// extract: the value or a dimension needs the event's fields, so
	// Extract (not the cheaper Match) runs.
	extract bool
	// transformed: the filter was created with applyOnTransformedLogs and
	// reads each event's transformed version where its append kept one.
	transformed bool
	// The prefilter of JSON and space-delimited patterns (mayMatch): the
	// literals every matching message contains (req), and those it contains
	// unless it has a backslash (reqEsc, JSON escapes); isJSON: only a
	// message starting with '{' can match.
	req, reqEsc []string
	isJSON      bool
	spaced      bool // a space-delimited pattern
	// pre and preEsc are req and reqEsc as found by their rarest byte,
	// with their index in the group's literal table (assignLiterals).
	pre, preEsc []rareLiteral
	// terms: the pattern is literal terms only (pattern.LiteralTerms), which
	// termsMatch decides from must, not and any; the value is then a
	// constant and there are no dimensions (PutMetricFilter refuses them
	// for term patterns).
	terms          bool
	must, not, any []rareLiteral
	// termBits: every literal of must, not and any has an id below 64;
	// mustBits, notBits and anyBits are their ids' bits (assignLiterals),
	// with which Counter.count decides the filter for a whole block from
	// blockScan's answers (termsBlock).
	termBits                   bool
	mustBits, notBits, anyBits uint64
	// all: every event matches and publishes the constant value, with no
	// dimensions: Counter.count counts a block's events at once.
	all bool
	// vm and vx are the pattern as a viewMatcher and a valuesExtractor,
	// nil when it is not one (asserted once here, not at each event).
	vm viewMatcher
	vx valuesExtractor
	// members: the filter is matched on the group's member table
	// (planMembers); nil: applyDoc.
	members *memberFilter
	// headOnly: a space-delimited filter whose value and dimension fields
	// are all before its pattern's trailing "..." (selector.head set):
	// matched through the event's View, it reads them from the fields the
	// match split instead of extracting every field of the line.
	headOnly bool
}

// headFielder is a space-delimited pattern that says which field holds
// a value (*pattern.Pattern).
type headFielder interface {
	HeadField(key string) (int, bool)
}

// headFields sets the head of the value selector and of each dimension's
// that reads a field, when the pattern resolves every one of them
// (pattern.HeadField), and reports whether it did; otherwise it leaves
// them unset.
func headFields(hf headFielder, value *selector, dims []dimension) bool {
	sels := []*selector{value}
	for i := range dims {
		sels = append(sels, &dims[i].sel)
	}
	var heads []int
	for _, s := range sels {
		h := 0
		if s.kind == selField {
			i, ok := hf.HeadField(s.raw)
			if !ok {
				return false
			}
			h = i + 1
		}
		heads = append(heads, h)
	}
	for i, s := range sels {
		s.head = heads[i]
	}
	return true
}

// rareLiteral is a literal a prefilter looks for: strings.Contains jumps
// to the literal's first byte, which in log text is often a common one
// ('l' of "level"), stopping every few bytes; this jumps
// (strings.IndexByte, vectorised) to its rarest byte by the ranking of
// how often bytes occur in log lines (internal/rarebyte), and compares
// around it.
//
// start: only an occurrence at a space-delimited field's start counts
// (pattern.AtFieldStart; the pattern's RequiredAtFieldStart): the "5" of
// status=5* is in nearly every line, at a field's start in few.
type rareLiteral struct {
	s     string
	rare  int  // index in s of its rarest byte
	rare2 int  // the second byte maskScan tests (secondRare)
	id    int  // index in the group's literal table; -1: none (not memoised)
	start bool // only at a field start
}

func newRareLiteral(s string) rareLiteral {
	r := rarebyte.Rarest(s)
	return rareLiteral{s: s, rare: r, rare2: secondRare(s, r, nil), id: -1}
}

// in is strings.Contains(msg, l.s), with the occurrence at a field start
// when l.start.
func (l *rareLiteral) in(msg string) bool {
	n, r := len(l.s), l.rare
	if n == 0 {
		return true
	}
	c := l.s[r]
	// The rare byte of a match starting at k sits at k+r, k+n <= len(msg).
	for i := r; i+n-r <= len(msg); {
		j := strings.IndexByte(msg[i:len(msg)-(n-r-1)], c)
		if j < 0 {
			return false
		}
		k := i + j - r
		if msg[k:k+n] == l.s && (!l.start || pattern.AtFieldStart(msg, k)) {
			return true
		}
		i += j + 1
	}
	return false
}

// assignLiterals numbers the distinct prefilter and term literals of a
// group's filters, so that each is looked for at most once per event
// however many filters require it (eventDoc.has memoises the first 64). It
// returns the literals a block's events are searched for at once
// (blockScan): those of term and space-delimited filters, which every
// event needs answered, among the first 64; a JSON filter's literals are
// looked for only in the events that are JSON objects, one by one.
func assignLiterals(fs []*compiled) []rareLiteral {
	type key struct {
		s     string
		start bool
	}
	ids := map[key]int{}
	var eager []rareLiteral
	for _, f := range fs {
		for li, list := range [][]rareLiteral{f.pre, f.preEsc, f.must, f.not, f.any} {
			for i := range list {
				k := key{list[i].s, list[i].start}
				id, ok := ids[k]
				if !ok {
					id = len(ids)
					ids[k] = id
				}
				list[i].id = id
				if !f.isJSON && id < 64 && li != 1 && !slices.ContainsFunc(eager, func(l rareLiteral) bool { return l.id == id }) {
					eager = append(eager, list[i])
				}
			}
		}
		f.termBits, f.mustBits, f.notBits, f.anyBits = false, 0, 0, 0
		if f.terms {
			f.termBits = true
			for _, x := range []struct {
				list []rareLiteral
				bits *uint64
			}{{f.must, &f.mustBits}, {f.not, &f.notBits}, {f.any, &f.anyBits}} {
				for _, l := range x.list {
					if l.id < 0 || l.id >= 64 {
						f.termBits = false
						continue
					}
					*x.bits |= 1 << l.id
				}
			}
		}
	}
	return eager
}

// termsBlock is termsMatch for each event of a block, from blockScan's
// answers (present, by event; looked must hold every bit of the filter's
// literals): the number of events that match. Most events have none of a
// group's term literals; an event's decision is three mask tests.
func (c *compiled) termsBlock(present []uint64) int {
	must, not, any := c.mustBits, c.notBits, c.anyBits
	n := 0
	for _, p := range present {
		if p&must == must && p&not == 0 && (any == 0 || p&any != 0) {
			n++
		}
	}
	return n
}

// jsonCommonLiterals: the literals of the group's JSON filters'
// prefilters that pruneJSON may drop (ids below 64, none a term filter's
// or searched a block at once: those are judged by pruneCommon).
func jsonCommonLiterals(fs []*compiled, eager []rareLiteral) []rareLiteral {
	var keep uint64
	for _, l := range eager {
		keep |= 1 << l.id
	}
	for _, f := range fs {
		keep |= f.mustBits | f.notBits | f.anyBits
	}
	var out []rareLiteral
	for _, f := range fs {
		if !f.isJSON {
			continue
		}
		for _, list := range [][]rareLiteral{f.pre, f.preEsc} {
			for _, l := range list {
				if l.id >= 0 && l.id < 64 && keep&(1<<l.id) == 0 && !slices.ContainsFunc(out, func(o rareLiteral) bool { return o.id == l.id }) {
					out = append(out, l)
				}
			}
		}
	}
	return out
}

// pruneJSON drops, from the JSON filters' prefilters, each literal of
// cands that at least 9 in 10 of the sampled JSON objects contained
// (seen: how many were sampled; present: by literal id, how many had it):
// a member name every object has ("latency_ms") spares no evaluation and
// costs a search in each object. As pruneCommon: the cost changes, never
// an answer.
func pruneJSON(fs []*compiled, cands []rareLiteral, seen int, present *[64]int) {
	var common uint64
	for _, l := range cands {
		if present[l.id]*10 >= seen*9 {
			common |= 1 << l.id
		}
	}
	if common == 0 {
		return
	}
	drop := func(l rareLiteral) bool { return l.id >= 0 && l.id < 64 && common&(1<<l.id) != 0 }
	for _, f := range fs {
		if f.isJSON {
			f.pre = slices.DeleteFunc(f.pre, drop)
			f.preEsc = slices.DeleteFunc(f.preEsc, drop)
		}
	}
}

// tuneRare re-picks, for each literal of lits, the byte blockScan searches
// for: the one least frequent in text (a group's own messages, where the
// static rarebyte ranking may be wrong: 'm' of "timeout" is in every
// "in 12ms"), ties going to the ranking's choice. Any byte of a literal
// finds all its occurrences, so this changes the cost only. At most the
// first 64 KB of text are counted.
func tuneRare(lits []rareLiteral, text []byte) {
	var freq [256]int
	for _, c := range text[:min(len(text), 64<<10)] {
		freq[c]++
	}
	for li := range lits {
		l := &lits[li]
		for i := 0; i < len(l.s); i++ {
			if freq[l.s[i]] < freq[l.s[l.rare]] {
				l.rare = i
			}
		}
		l.rare2 = secondRare(l.s, l.rare, &freq)
	}
}

// blockScratch is blockScan's buffers, reused from one block to the next:
// the block's messages end to end (and maskScan's padding), where each
// starts, each event's literal bits (the answers), and maskScan's masks,
// rows and literal plan.
type blockScratch struct {
	buf     []byte
	starts  []int
	present []uint64
	ms      maskScratch
	ml      []maskLit
	rows    [maskRows][32]byte
}

// blockScan finds every literal of lits in the messages of block at once:
// it leaves in bs.present, per event, the bits (by rareLiteral.id) of
// those its message contains, and returns the bits looked for. The
// messages are laid end to end in bs.buf. With masks (the CPU has AVX2:
// haveAVX2) every literal is found in one pass over the text by maskScan;
// otherwise, or when the literals need more bytes than maskScan tests,
// each literal's rarest byte is found by strings.IndexByte over the whole
// block, so a literal costs one search per occurrence of that byte instead
// of one or more per event. Either way an occurrence counts only within one
// message (a literal straddling two is no occurrence), and once a message
// has the literal the search goes on at the next message.
// TestBlockScanAgrees, TestMaskScanAgrees, FuzzBlockScan and FuzzGroupCount
// compare both with strings.Contains.
//
// tune: first re-pick the literals' bytes by this block's text (tuneRare);
// lits is then changed in place.
func blockScan(block []store.StoredEvent, lits []rareLiteral, tune bool, bs *blockScratch, masks bool) uint64 {
	buf, starts := bs.buf[:0], bs.starts[:0]
	for i := range block {
		starts = append(starts, len(buf))
		buf = append(buf, block[i].Message...)
	}
	tlen := len(buf)
	starts = append(starts, tlen)
	if tune {
		tuneRare(lits, buf)
	}
	present := append(bs.present[:0], make([]uint64, len(block))...)
	var looked uint64
	for li := range lits {
		looked |= uint64(1) << lits[li].id
	}
	var n int
	ok := false
	if masks && tlen > 0 {
		bs.ml, n, ok = maskPlan(lits, &bs.rows, bs.ml)
	}
	if ok {
		// Zeros to the end of the chunk after the last (the masks of a
		// chunk's last positions look into the next one).
		pad := ((tlen+63)/64+1)*64 - tlen
		for range pad {
			buf = append(buf, 0)
		}
		maskScan(buf, tlen, starts, lits, bs.ml, &bs.rows, n, present, &bs.ms, haveAVX2)
		bs.buf, bs.starts, bs.present = buf, starts, present
		return looked
	}
	text := unsafeString(buf)
	for li := range lits {
		l := &lits[li]
		bit := uint64(1) << l.id
		n, r := len(l.s), l.rare
		if n == 0 {
			for ev := range present {
				present[ev] |= bit
			}
			continue
		}
		c := l.s[r]
		ev := 0
		for pos := r; pos < len(text); {
			j := strings.IndexByte(text[pos:], c)
			if j < 0 {
				break
			}
			h := pos + j
			k := h - r // where a match with its rare byte at h starts
			for starts[ev+1] <= k {
				ev++
			}
			end := starts[ev+1]
			if k+n <= end && text[k:k+n] == l.s && (!l.start || k == starts[ev] || pattern.AtFieldStart(text, k)) {
				present[ev] |= bit
				pos = end + r // the next message
				continue
			}
			pos = h + 1
		}
	}
	bs.buf, bs.starts, bs.present = buf, starts, present
	return looked
}

// pruneSample is the fewest events of a block pruneCommon judges by.
const pruneSample = 64

// pruneCommon drops, from the prefilters of a group's filters and from the
// literals blockScan searches, each prefilter literal that at least 9 in
// 10 of a block's messages contain (present: blockScan's answers for that
// block): such a literal almost never spares a pattern's evaluation, and
// searching for it costs a search per message (the "5" of the bench's
// status=5* is in nearly every line: ~1 of the block search's 6 literals
// and most of its searches). A prefilter only skips a pattern that cannot
// match, so dropping one changes the cost, never an answer; the literals
// of literal-only term filters (must, not, any) are their match and stay.
// It returns what is left of eager.
func pruneCommon(fs []*compiled, eager []rareLiteral, present []uint64) []rareLiteral {
	var term uint64
	for _, f := range fs {
		for _, list := range [][]rareLiteral{f.must, f.not, f.any} {
			for _, l := range list {
				if l.id >= 0 && l.id < 64 {
					term |= 1 << l.id
				}
			}
		}
	}
	var common uint64
	for _, l := range eager {
		bit := uint64(1) << l.id
		if term&bit != 0 {
			continue
		}
		n := 0
		for _, p := range present {
			if p&bit != 0 {
				n++
			}
		}
		if n*10 >= len(present)*9 {
			common |= bit
		}
	}
	if common == 0 {
		return eager
	}
	drop := func(l rareLiteral) bool { return l.id >= 0 && l.id < 64 && common&(1<<l.id) != 0 }
	for _, f := range fs {
		f.pre = slices.DeleteFunc(f.pre, drop)
		f.preEsc = slices.DeleteFunc(f.preEsc, drop)
	}
	return slices.DeleteFunc(eager, drop)
}

// fieldStarts is a pattern that tells which of its required literals every
// match has at a space-delimited field's start (*pattern.Pattern).
type fieldStarts interface {
	RequiredAtFieldStart() []string
}

// literalTerms is a pattern that offers its literal-only terms
// (*pattern.Pattern).
type literalTerms interface {
	LiteralTerms() (must, not, any []string, ok bool)
}

type dimension struct {
	name string
	sel  selector // kind system: the caller's account or region
}

type selKind byte

const (
	selConstant selKind = iota
	selJSON             // $.path
	selField            // $name or $N of a space-delimited pattern
	selSystem           // @aws.account, @aws.region
)

type selector struct {
	kind selKind
	raw  string   // as written: the key Extract reports
	num  float64  // selConstant
	path []string // selJSON: object keys, or "[N]" array indexes
	head int      // selField of a headOnly filter: 1 + the field's index
}

// patternKind is how a filter pattern is written: JSON ({...}),
// space-delimited ([...]) or terms.
func patternKind(expr string) byte {
	t := strings.TrimSpace(expr)
	if t == "" {
		return 't'
	}
	switch t[0] {
	case '{':
		return 'j'
	case '[':
		return 's'
	}
	return 't'
}

// compileFilter checks a filter's transformation against its pattern the
// way AWS does at PutMetricFilter, and compiles both for counting.
func compileFilter(compile func(string) (logs.Pattern, error), f MetricFilter) (*compiled, error) {
	p, err := logs.CompilePattern(compile, f.FilterPattern)
	if err != nil {
		return nil, err
	}
	crit, err := fieldselect.Parse(f.FieldSelectionCriteria)
	if err != nil {
		return nil, awserr.InvalidFieldSelection(err.Error())
	}
	t := f.MetricTransformations[0]
	kind := patternKind(f.FilterPattern)
	c := &compiled{name: f.FilterName, creation: f.since(), revision: f.revision(), criteria: crit, pattern: p, namespace: t.MetricNamespace,
		metric: t.MetricName, unit: t.Unit, defaultValue: (*float64)(t.DefaultValue), transformed: f.ApplyOnTransformedLogs}
	// Term patterns are substring tests already, but a group's filters
	// often share their literals, which the prefilter looks for once an
	// event (and by their rarest byte).
	c.req, c.reqEsc, c.isJSON, c.spaced = p.Required(), p.RequiredUnlessEscaped(), kind == 'j', kind == 's'
	if kind == 't' {
		c.reqEsc = nil // no JSON escapes in a term match
	}
	var atStart []string
	if fs, ok := p.(fieldStarts); ok && kind == 's' {
		atStart = fs.RequiredAtFieldStart()
	}
	for _, l := range c.req {
		rl := newRareLiteral(l)
		rl.start = slices.Contains(atStart, l)
		c.pre = append(c.pre, rl)
	}
	for _, l := range c.reqEsc {
		c.preEsc = append(c.preEsc, newRareLiteral(l))
	}
	if c.value, err = parseSelector(t.MetricValue, true); err != nil {
		return nil, awserr.InvalidMetricValue(t.MetricValue)
	}
	if err := selectorFits(c.value, kind); err != nil {
		return nil, err
	}
	if len(t.Dimensions)+len(f.EmitSystemFieldDimensions) > 0 {
		if t.DefaultValue != nil {
			return nil, awserr.DimensionsWithDefaultValue()
		}
		if kind == 't' {
			return nil, awserr.PatternWithoutDimensions()
		}
	}
	if len(t.Dimensions)+len(f.EmitSystemFieldDimensions) > 3 {
		return nil, awserr.TooManyDimensions()
	}
	for k, v := range t.Dimensions {
		sel, err := parseSelector(v, false)
		if err != nil {
			return nil, awserr.InvalidDimensionValue(k, v)
		}
		if err := selectorFits(sel, kind); err != nil {
			return nil, err
		}
		c.dims = append(c.dims, dimension{name: k, sel: sel})
	}
	for _, sf := range f.EmitSystemFieldDimensions {
		if !slices.Contains(SystemFields, sf) {
			return nil, awserr.InvalidSystemField("emitSystemFieldDimensions", f.EmitSystemFieldDimensions, SystemFields)
		}
		c.dims = append(c.dims, dimension{name: sf, sel: selector{kind: selSystem, raw: sf}})
	}
	slices.SortFunc(c.dims, func(a, b dimension) int { return strings.Compare(a.name, b.name) })
	c.extract = c.value.kind != selConstant || slices.ContainsFunc(c.dims, func(d dimension) bool { return d.sel.kind != selSystem })
	c.vm, _ = p.(viewMatcher)
	c.vx, _ = p.(valuesExtractor)
	c.all = p.MatchesAll() && !c.extract && len(c.dims) == 0
	if hf, ok := p.(headFielder); ok && kind == 's' && c.extract {
		c.headOnly = headFields(hf, &c.value, c.dims)
	}
	if lt, ok := p.(literalTerms); ok && kind == 't' && !c.all {
		if must, not, any, ok := lt.LiteralTerms(); ok {
			c.terms = true
			for _, l := range must {
				c.must = append(c.must, newRareLiteral(l))
			}
			for _, l := range not {
				c.not = append(c.not, newRareLiteral(l))
			}
			for _, l := range any {
				c.any = append(c.any, newRareLiteral(l))
			}
		}
	}
	return c, nil
}

// selectorFits refuses a JSON selector on a pattern that is not JSON and a
// field name on one that is not space-delimited: the event would never
// have that field.
func selectorFits(s selector, kind byte) error {
	switch {
	case s.kind == selJSON && kind != 'j', s.kind == selField && kind != 's':
		return awserr.SelectorNotInPattern(s.raw)
	}
	return nil
}

// parseSelector parses a metricValue (a number allowed) or a dimension
// value (a selector only): "1", "2.5", "$.latency", "$.a.b[0]",
// "$.['odd.key']", "$size", "$7".
func parseSelector(s string, number bool) (selector, error) {
	if !strings.HasPrefix(s, "$") {
		if !number {
			return selector{}, errBadSelector
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return selector{}, errBadSelector
		}
		return selector{kind: selConstant, raw: s, num: v}, nil
	}
	if strings.HasPrefix(s, "$.") || strings.HasPrefix(s, "$[") {
		path, ok := parsePath(s[1:])
		if !ok {
			return selector{}, errBadSelector
		}
		return selector{kind: selJSON, raw: s, path: path}, nil
	}
	name := s[1:]
	if name == "" {
		return selector{}, errBadSelector
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return selector{}, errBadSelector
		}
	}
	return selector{kind: selField, raw: s}, nil
}

type selectorError struct{}

func (selectorError) Error() string { return "bad selector" }

var errBadSelector error = selectorError{}

// maxPathSteps bounds a JSON selector (AWS bounds metricValue to 100
// characters, so this is never reached by a valid one).
const maxPathSteps = 64

// parsePath parses the part of a JSON selector after "$": a sequence of
// ".key", "['key']" / "[\"key\"]" and "[N]"; array indexes are kept as
// "[N]" so that they never collide with a key.
func parsePath(s string) ([]string, bool) {
	var path []string
	for len(s) > 0 {
		if len(path) == maxPathSteps {
			return nil, false
		}
		switch s[0] {
		case '.':
			s = s[1:]
			if strings.HasPrefix(s, "[") { // "$.['key']"
				continue
			}
			end := strings.IndexAny(s, ".[")
			if end < 0 {
				end = len(s)
			}
			key := s[:end]
			if key == "" || strings.ContainsAny(key, " \t\"']") {
				return nil, false
			}
			path, s = append(path, key), s[end:]
		case '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, false
			}
			inner := s[1:end]
			if len(inner) >= 2 && (inner[0] == '\'' || inner[0] == '"') && inner[len(inner)-1] == inner[0] {
				key := inner[1 : len(inner)-1]
				if key == "" || strings.ContainsRune(key, rune(inner[0])) {
					return nil, false
				}
				path = append(path, key)
			} else {
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 || strconv.Itoa(n) != inner {
					return nil, false
				}
				path = append(path, "["+inner+"]")
			}
			s = s[end+1:]
			// "$.a['b']" and "$.a[0]" are followed by "." or "[" or the end.
			if len(s) > 0 && s[0] != '.' && s[0] != '[' {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	return path, len(path) > 0
}

func itoa(n int) string { return strconv.Itoa(n) }

// formatDouble prints a double as Java's Double.toString does, which is how
// AWS's service writes one both in messages (Java's toString of a request)
// and on the wire (Jackson): at least one fractional digit (0 → 0.0,
// 2 → 2.0), and from 10^7 up or below 10^-3 computerized scientific
// notation (1.0E7, 1.5E-4). The digits are the shortest that read back as
// v, as in Java since JDK 19.
func formatDouble(v float64) string {
	if a := math.Abs(v); a == 0 || a >= 1e-3 && a < 1e7 || math.IsNaN(v) || math.IsInf(v, 0) {
		s := strconv.FormatFloat(v, 'f', -1, 64)
		if !strings.ContainsAny(s, ".IN") { // not NaN or ±Inf (which no JSON request carries)
			s += ".0"
		}
		return s
	}
	mant, exp, _ := strings.Cut(strconv.FormatFloat(v, 'E', -1, 64), "E") // "1E+07", "1.5E-04"
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(e)
}

// Double is an API double (a transformation's defaultValue) that goes on the
// wire as AWS writes it, formatDouble's way: DescribeMetricFilters answered
// "defaultValue": 0.0 for a filter put with 0 (recorded, reference §4.2),
// where encoding/json writes 0, which boto3 and the AWS CLI then show as
// the integer 0.
type Double float64

// MarshalJSON writes d as formatDouble does; every form it writes is a JSON
// number that any decoder reads back as d.
func (d Double) MarshalJSON() ([]byte, error) { return []byte(formatDouble(float64(d))), nil }
