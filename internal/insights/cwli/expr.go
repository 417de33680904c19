package cwli

import (
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/cairnlog/cairn/internal/store"
)

// row is one record flowing through the pipeline: an event (before the first
// stats) with the ephemeral fields the query computed, or a result row of a
// stats (slots only).
type row struct {
	ev    store.StoredEvent
	hasEv bool
	group string
	slots []Value
	js    []Value // JSON fields the query reads, by id; valid when jsDone
	jsOK  bool
	seq   int64 // the event's position in the run's input, for ties and order
}

// env is what evaluation needs beyond the row; one per Exec, used by one
// goroutine at a time.
type env struct {
	q      *Query
	opts   *Options
	stack  []Value // function arguments
	now    int64   // ms, for now()
	pbuf   []byte  // JSON path scratch
	walker jsonWalker
	// fullWalk: extract always walks the whole tree (tests compare the
	// top-level scanner with it)
	fullWalk bool
}

type expr interface {
	eval(r *row, x *env) Value
}

// scope maps the names visible at a point of the pipeline to slots. Before
// the first stats, names not in the scope are event fields; after it only
// the stats' outputs exist.
type scope struct {
	names      map[string]int
	afterStats bool
}

func (s *scope) clone() *scope {
	c := &scope{names: make(map[string]int, len(s.names)), afterStats: s.afterStats}
	for k, v := range s.names {
		c.names[k] = v
	}
	return c
}

// planner holds what compiling the whole query accumulates.
type planner struct {
	src    string
	q      *Query
	sc     *scope
	inStat *statsPlan // set while compiling stats aggregates
}

func (pl *planner) newSlot(name string) int {
	i := pl.q.nslots
	pl.q.nslots++
	pl.sc.names[name] = i
	return i
}

func (pl *planner) errNode(n *node, format string, a ...any) *CompileError {
	return errAt(pl.src, n.pos, n.end, fmt.Sprintf(format, a...))
}

// system fields
const (
	fMessage = iota
	fTimestamp
	fIngestion
	fStream
	fLog
	fPtr
)

var systemFields = map[string]int{"@message": fMessage, "@timestamp": fTimestamp, "@ingestionTime": fIngestion,
	"@logStream": fStream, "@log": fLog, "@ptr": fPtr}

type litE struct{ v Value }

func (e litE) eval(*row, *env) Value { return e.v }

type slotE struct{ i int }

func (e slotE) eval(r *row, _ *env) Value {
	if e.i < len(r.slots) {
		return r.slots[e.i]
	}
	return null
}

type sysE struct{ f int }

func (e sysE) eval(r *row, x *env) Value {
	if !r.hasEv {
		return null
	}
	switch e.f {
	case fMessage:
		return str(r.ev.Message)
	case fTimestamp:
		return timeMs(r.ev.Timestamp)
	case fIngestion:
		return timeMs(r.ev.IngestionTime)
	case fStream:
		return str(r.ev.Stream)
	case fLog:
		if x.opts.LogName != nil {
			return str(x.opts.LogName(r.group))
		}
		return str(r.group)
	case fPtr:
		if x.opts.Ptr != nil {
			return str(x.opts.Ptr(r.group, r.ev))
		}
	}
	return null
}

type jsonE struct{ id int }

func (e jsonE) eval(r *row, x *env) Value {
	if !r.hasEv {
		return null
	}
	if !r.jsOK {
		x.extract(r)
	}
	return r.js[e.id]
}

type memberE struct {
	base expr
	key  string
}

func (e memberE) eval(r *row, x *env) Value {
	v := e.base.eval(r, x)
	if v.k != kMap {
		return null
	}
	for i, k := range v.c.keys {
		if k == e.key {
			return v.c.vals[i]
		}
	}
	return null
}

type indexE struct {
	base expr
	i    int
}

func (e indexE) eval(r *row, x *env) Value {
	v := e.base.eval(r, x)
	if v.k != kList || e.i >= len(v.c.list) {
		return null
	}
	return v.c.list[e.i]
}

type andE struct{ l, r expr }

func (e andE) eval(r *row, x *env) Value {
	return boolean(e.l.eval(r, x).truth() && e.r.eval(r, x).truth())
}

type orE struct{ l, r expr }

func (e orE) eval(r *row, x *env) Value {
	return boolean(e.l.eval(r, x).truth() || e.r.eval(r, x).truth())
}

type notE struct{ e expr }

func (e notE) eval(r *row, x *env) Value { return boolean(!e.e.eval(r, x).truth()) }

type cmpE struct {
	op   string
	l, r expr
}

// A comparison with a missing field is false, whichever the operator
// (insights.md §2.3: missing compares false, != included).
func (e cmpE) eval(r *row, x *env) Value {
	a, b := e.l.eval(r, x), e.r.eval(r, x)
	c, ok := compare(a, b)
	if !ok {
		return boolean(false)
	}
	switch e.op {
	case "=":
		return boolean(c == 0)
	case "!=":
		return boolean(c != 0)
	case "<":
		return boolean(c < 0)
	case "<=":
		return boolean(c <= 0)
	case ">":
		return boolean(c > 0)
	}
	return boolean(c >= 0)
}

type arithE struct {
	op   byte
	l, r expr
}

func (e arithE) eval(r *row, x *env) Value {
	a, ok1 := e.l.eval(r, x).number()
	b, ok2 := e.r.eval(r, x).number()
	if !ok1 || !ok2 {
		return null
	}
	var f float64
	switch e.op {
	case '+':
		f = a + b
	case '-':
		f = a - b
	case '*':
		f = a * b
	case '/':
		if b == 0 {
			return null
		}
		f = a / b
	case '%':
		if b == 0 {
			return null
		}
		f = math.Mod(a, b)
	case '^':
		f = math.Pow(a, b)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return null
	}
	return num(f)
}

type negE struct{ e expr }

func (e negE) eval(r *row, x *env) Value {
	f, ok := e.e.eval(r, x).number()
	if !ok {
		return null
	}
	return num(-f)
}

type inE struct {
	l    expr
	list []Value
}

func (e inE) eval(r *row, x *env) Value {
	v := e.l.eval(r, x)
	for _, w := range e.list {
		if c, ok := compare(v, w); ok && c == 0 {
			return boolean(true)
		}
	}
	return boolean(false)
}

type likeE struct {
	l expr
	m *textMatcher
}

func (e likeE) eval(r *row, x *env) Value {
	v := e.l.eval(r, x)
	s, ok := v.text()
	if !ok {
		return boolean(false)
	}
	return boolean(e.m.match(s))
}

// callE calls a scalar function; arguments go on the env's stack so a call
// allocates nothing.
type callE struct {
	f    *fnDef
	args []expr
	c    any // compile-time constant state (a parsed CIDR, a compiled regex)
}

func (e callE) eval(r *row, x *env) Value {
	base := len(x.stack)
	for _, a := range e.args {
		x.stack = append(x.stack, a.eval(r, x))
	}
	args := x.stack[base:]
	if !e.f.nullOK {
		for _, a := range args {
			if a.k == kNull {
				x.stack = x.stack[:base]
				return null
			}
		}
	}
	v := e.f.fn(args, x, e.c)
	x.stack = x.stack[:base]
	return v
}

// binE is bin(period): @timestamp floored to the period.
type binE struct{ d duration }

func (e binE) eval(r *row, _ *env) Value {
	if !r.hasEv {
		return null
	}
	return timeMs(e.d.floor(r.ev.Timestamp))
}

// expandE reads a value as a list: lists as they are, text holding a JSON
// array parsed.
type expandE struct{ e expr }

func (e expandE) eval(r *row, x *env) Value {
	v := e.e.eval(r, x)
	if v.k == kStr {
		if p := parseJSONValue(v.s); p.k == kList {
			return p
		}
	}
	return v
}

type durE struct{ d duration }

func (e durE) eval(*row, *env) Value { return null }

// compile resolves names and builds the evaluator of n.
func (pl *planner) compile(n *node) (expr, *CompileError) {
	switch n.op {
	case "lit":
		return litE{n.lit}, nil
	case "paren":
		return pl.compile(n.kids[0])
	case "field":
		return pl.field(n)
	case "member", "index":
		b, err := pl.compile(n.kids[0])
		if err != nil {
			return nil, err
		}
		if n.op == "member" {
			return memberE{b, n.name}, nil
		}
		return indexE{b, int(n.lit.n)}, nil
	case "and", "or":
		l, err := pl.compile(n.kids[0])
		if err != nil {
			return nil, err
		}
		r, err := pl.compile(n.kids[1])
		if err != nil {
			return nil, err
		}
		if n.op == "and" {
			return andE{l, r}, nil
		}
		return orE{l, r}, nil
	case "not":
		e, err := pl.compile(n.kids[0])
		if err != nil {
			return nil, err
		}
		return notE{e}, nil
	case "neg":
		e, err := pl.compile(n.kids[0])
		if err != nil {
			return nil, err
		}
		return negE{e}, nil
	case "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "^":
		l, err := pl.compile(n.kids[0])
		if err != nil {
			return nil, err
		}
		r, err := pl.compile(n.kids[1])
		if err != nil {
			return nil, err
		}
		if len(n.op) == 1 && strings.Contains("+-*/%^", n.op) {
			return arithE{n.op[0], l, r}, nil
		}
		return cmpE{n.op, l, r}, nil
	case "in":
		l, err := pl.compile(n.kids[0])
		if err != nil {
			return nil, err
		}
		var list []Value
		for _, k := range n.kids[1].kids {
			if k.op != "lit" {
				return nil, pl.errNode(k, "in [...] takes literal values")
			}
			list = append(list, k.lit)
		}
		return inE{l, list}, nil
	case "like":
		l, err := pl.compile(n.kids[0])
		if err != nil {
			return nil, err
		}
		m, cerr := pl.matcher(n.kids[1])
		if cerr != nil {
			return nil, cerr
		}
		return likeE{l, m}, nil
	case "call":
		return pl.call(n)
	case "regex":
		return nil, pl.errNode(n, "a regular expression is allowed only after like or =~, or in parse")
	case "dur":
		return durE{n.dur}, nil
	case "list":
		var vs []Value
		for _, k := range n.kids {
			if k.op != "lit" {
				return nil, pl.errNode(k, "a list takes literal values")
			}
			vs = append(vs, k.lit)
		}
		return litE{Value{k: kList, c: &composite{list: vs}}}, nil
	case "star":
		return nil, pl.errNode(n, "unexpected symbol found * at line %d and position %d", lineColPair(pl.src, n.pos)...)
	}
	return nil, pl.errNode(n, "unexpected expression")
}

func lineColPair(src string, pos int) []any {
	l, c := lineCol(src, pos)
	return []any{l, c}
}

// field resolves a name: an ephemeral field in scope, a map member of one
// (m.key), a system field, or a JSON field of the event.
func (pl *planner) field(n *node) (expr, *CompileError) {
	if i, ok := pl.sc.names[n.name]; ok {
		return slotE{i}, nil
	}
	// m.a.b where m (or m.a) is an ephemeral field holding a map
	for k := len(n.segs) - 1; k >= 1; k-- {
		if i, ok := pl.sc.names[strings.Join(n.segs[:k], ".")]; ok {
			var e expr = slotE{i}
			for _, s := range n.segs[k:] {
				e = memberE{e, s}
			}
			return e, nil
		}
	}
	if pl.sc.afterStats {
		return nil, pl.errNode(n, "the field %s is not defined by the previous stats command", n.name)
	}
	if f, ok := systemFields[n.name]; ok {
		return sysE{f}, nil
	}
	if strings.HasPrefix(n.name, "@@") {
		// a discovered field whose own name starts with @ is shown as @@name
		return jsonE{pl.q.jsonID(n.name[1:])}, nil
	}
	if lambdaFields[n.name] {
		return lambdaE{n.name}, nil
	}
	return jsonE{pl.q.jsonID(n.name)}, nil
}

// textMatcher is like's right side: a substring or an RE2 regex.
type textMatcher struct {
	sub   string
	re    *regexp.Regexp
	lit   string // for a regex that is a plain literal: substring search
	fold  bool   // lit is matched case-insensitively (lower-case)
	isSub bool
}

func (m *textMatcher) match(s string) bool {
	switch {
	case m.isSub:
		return strings.Contains(s, m.sub)
	case m.lit != "":
		if m.fold {
			return containsFold(s, m.lit)
		}
		return strings.Contains(s, m.lit)
	}
	return m.re.MatchString(s)
}

func (pl *planner) matcher(n *node) (*textMatcher, *CompileError) {
	if n.op == "lit" {
		return &textMatcher{sub: n.lit.s, isSub: true}, nil
	}
	re, lit, fold, err := compileRegex(n.re)
	if err != nil {
		return nil, pl.errNode(n, "invalid regular expression /%s/: %v", n.re, err)
	}
	return &textMatcher{re: re, lit: lit, fold: fold}, nil
}
