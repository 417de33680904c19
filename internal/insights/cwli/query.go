package cwli

import (
	"fmt"
	"strings"

	"github.com/cairnlog/cairn/internal/store"
)

type stageKind uint8

const (
	sFilter stageKind = iota
	sFields
	sParse
	sUnnest
	sLookup
	sStats
	sSort
	sLimit
	sDedup
	sPattern
	sFilterIndex
	sUnmask // the event's message replaced by its original (unmask.go)
	sFillMissing
)

func (k stageKind) blocking() bool {
	return k == sStats || k == sSort || k == sLimit || k == sDedup || k == sPattern || k == sFillMissing
}

type slotSet struct {
	slot int
	e    expr
}

type sortSpec struct {
	e    expr
	desc bool
	ts   bool // the key is the event's @timestamp
}

// stage is one compiled command.
type stage struct {
	kind  stageKind
	cond  expr      // filter
	sets  []slotSet // fields
	parse *parsePlan
	src   expr // unnest, pattern
	slot  int  // unnest target
	stats *statsPlan
	keys  []sortSpec
	limit int
	any   bool
	dedup []expr
	pat   *patternPlan
	look  *lookupPlan
	fill  *fillPlan
}

type outCol struct {
	name string
	e    expr
}

// Query is a compiled query; safe for concurrent Runs.
type Query struct {
	src       string
	stages    []*stage
	nslots    int
	jsonNames []string
	jsonIDs   map[string]int
	jsonLens  [65]bool
	// jsonDotted: some JSON name holds a dot, so it may be a nested path
	// and extraction walks every level (env.extract)
	jsonDotted  bool
	out         []outCol
	statsRows   bool // the output rows are stats rows (no @ptr)
	nstats      int
	hasLimit    bool
	usesMsg     bool
	exactLead   int // exactLead(q)
	source      *SourceSpec
	filterIndex bool
	lookups     []string
	filter      *msgMatcher

	// unmask: the query reads originals (the unmask command or
	// function); unmaskAll: the command, every event unmasked.
	unmask, unmaskAll bool
}

func (q *Query) jsonID(name string) int {
	if id, ok := q.jsonIDs[name]; ok {
		return id
	}
	id := len(q.jsonNames)
	q.jsonLens[min(len(name), 64)] = true
	q.jsonDotted = q.jsonDotted || strings.Contains(name, ".")
	q.jsonNames = append(q.jsonNames, name)
	q.jsonIDs[name] = id
	return id
}

// maxQuery bounds the query text (StartQuery's queryString is at most 10,000
// characters; the API checks that, this is a backstop).
const maxQuery = 1 << 20

// Compile parses and plans a query.
func Compile(text string) (*Query, error) {
	q, err := compile(text)
	if err != nil {
		return nil, err
	}
	return q, nil
}

func compile(text string) (*Query, *CompileError) {
	if len(text) > maxQuery {
		return nil, &CompileError{Start: 0, End: 0, Message: "query is too long"}
	}
	cmds, err := parseQuery(text)
	if err != nil {
		return nil, err
	}
	q := &Query{src: text, jsonIDs: map[string]int{}}
	pl := &planner{src: text, q: q, sc: &scope{names: map[string]int{}}}
	var fieldsCols []outCol
	var display []outCol
	statsCols := []outCol(nil)
	after2ndStatsOnly := false
	for ci, c := range cmds {
		if after2ndStatsOnly && c.name != "limit" {
			return nil, errAt(text, c.pos, c.end, "only limit may follow dedup")
		}
		switch c.name {
		case "fields":
			st := &stage{kind: sFields}
			for _, p := range c.projs {
				e, err := pl.compile(p.e)
				if err != nil {
					return nil, err
				}
				name := p.alias
				if name == "" && p.e.op == "field" {
					fieldsCols = addCol(fieldsCols, outCol{p.e.name, e})
					continue
				}
				if name == "" {
					name = p.text
				}
				slot := pl.newSlot(name)
				st.sets = append(st.sets, slotSet{slot, e})
				fieldsCols = addCol(fieldsCols, outCol{name, slotE{slot}})
			}
			if len(st.sets) > 0 {
				q.stages = append(q.stages, st)
			}
		case "display":
			display = nil
			st := &stage{kind: sFields}
			for _, p := range c.projs {
				e, err := pl.compile(p.e)
				if err != nil {
					return nil, err
				}
				if p.e.op == "field" {
					display = addCol(display, outCol{p.e.name, e})
					continue
				}
				slot := pl.newSlot(p.text)
				st.sets = append(st.sets, slotSet{slot, e})
				display = addCol(display, outCol{p.text, slotE{slot}})
			}
			if len(st.sets) > 0 {
				q.stages = append(q.stages, st)
			}
		case "filter":
			e, err := pl.compile(c.cond)
			if err != nil {
				return nil, err
			}
			q.stages = append(q.stages, &stage{kind: sFilter, cond: e})
		case "filterindex":
			// filterIndex restricts the scan to what field indexes select; the
			// condition is also evaluated on every event so the result is the
			// same with or without an index.
			if pl.sc.afterStats {
				return nil, errAt(text, c.pos, c.end, "filterIndex must come before stats")
			}
			e, err := pl.compile(c.cond)
			if err != nil {
				return nil, err
			}
			if len(indexTerms(e)) == 0 {
				return nil, errAt(text, c.pos, c.end, "filterIndex needs field = value or field in [values] conditions joined by and")
			}
			q.filterIndex = true
			q.stages = append(q.stages, &stage{kind: sFilter, cond: e})
		case "stats":
			q.nstats++
			if q.nstats > 2 {
				return nil, errAt(text, c.pos, c.end, "a query can have at most 2 stats commands")
			}
			if q.nstats == 2 {
				for _, s := range q.stages {
					if s.kind == sSort || s.kind == sLimit {
						return nil, errAt(text, c.pos, c.end, "sort and limit must come after the second stats command")
					}
				}
			}
			sp, cols, err := pl.statsCmd(c)
			if err != nil {
				return nil, err
			}
			q.stages = append(q.stages, &stage{kind: sStats, stats: sp})
			statsCols, fieldsCols, display = cols, nil, nil
			q.statsRows = true
		case "fillmissing":
			fp, err := pl.fillCmd(c, q.stages)
			if err != nil {
				return nil, err
			}
			q.stages = append(q.stages, &stage{kind: sFillMissing, fill: fp})
		case "sort":
			st := &stage{kind: sSort}
			for _, k := range c.keys {
				e, err := pl.compile(&node{op: "field", name: k.name, segs: strings.Split(k.name, "."), pos: k.pos, end: k.end})
				if err != nil {
					return nil, err
				}
				ts := false
				if s, ok := e.(sysE); ok && s.f == fTimestamp {
					ts = true
				}
				st.keys = append(st.keys, sortSpec{e: e, desc: k.desc, ts: ts})
			}
			q.stages = append(q.stages, st)
		case "limit":
			q.hasLimit = true
			q.stages = append(q.stages, &stage{kind: sLimit, limit: c.limit, any: c.any})
		case "parse":
			st, err := pl.parseCmd(c)
			if err != nil {
				return nil, err
			}
			q.stages = append(q.stages, st)
		case "dedup":
			st := &stage{kind: sDedup} // of events or of stats rows
			for _, n := range c.names {
				e, err := pl.compile(&node{op: "field", name: n, segs: strings.Split(n, "."), pos: c.pos, end: c.end})
				if err != nil {
					return nil, err
				}
				st.dedup = append(st.dedup, e)
			}
			q.stages = append(q.stages, st)
			after2ndStatsOnly = true
		case "unnest":
			e, err := pl.compile(c.src)
			if err != nil {
				return nil, err
			}
			slot := pl.newSlot(c.into)
			// like parse, unnest adds a field without changing the columns
			q.stages = append(q.stages, &stage{kind: sUnnest, src: e, slot: slot})
		case "expand":
			// expand f: one event per element of the JSON array f, the
			// element replacing f. A JSON event's arrays are not fields (they
			// are flattened), so the array is read from the parsed message;
			// an ephemeral field holding a list or JSON text is used as is.
			var e expr
			if _, ok := pl.sc.names[c.into]; ok || pl.sc.afterStats {
				f, err := pl.field(c.src)
				if err != nil {
					return nil, err
				}
				e = expandE{f}
			} else {
				e = callE{f: functions["jsonparse"], args: []expr{sysE{fMessage}}}
				for _, sg := range c.src.segs {
					e = memberE{e, sg}
				}
				e = expandE{e}
				q.usesMsg = true
			}
			slot := pl.newSlot(c.into)
			q.stages = append(q.stages, &stage{kind: sUnnest, src: e, slot: slot})
		case "pattern":
			st, cols, err := pl.patternCmd(c)
			if err != nil {
				return nil, err
			}
			q.stages = append(q.stages, st)
			statsCols, fieldsCols, display = cols, nil, nil
			q.statsRows = true
		case "source":
			if ci != 0 {
				return nil, errAt(text, c.pos, c.end, "SOURCE must be the first command of the query")
			}
			q.source = c.spec
		case "lookup":
			st, err := pl.lookupCmd(c)
			if err != nil {
				return nil, err
			}
			q.stages = append(q.stages, st)
		case "unmask":
			if err := pl.unmaskCmd(c); err != nil {
				return nil, err
			}
		default:
			return nil, errAt(text, c.pos, c.end, fmt.Sprintf("BUG: command %s not planned", c.name))
		}
	}
	switch {
	case display != nil:
		q.out = display
	case q.statsRows:
		q.out = append(statsCols, fieldsCols...)
	case fieldsCols != nil:
		q.out = fieldsCols
	default:
		// a query without fields, display or stats shows @timestamp and @message
		q.out = []outCol{{"@timestamp", sysE{fTimestamp}}, {"@message", sysE{fMessage}}}
	}
	dropDeadFields(q)
	q.usesMsg = q.usesMsg || usesMessage(q)
	q.filter = pushFilter(q)
	q.exactLead = exactLead(q)
	return q, nil
}

// exactLead is how many of the query's first stages are filters the pushed
// matcher decides exactly (toMnode's exact: conditions on @message alone),
// when without them the query reads no message: a runner whose store
// applies the matcher may then skip those stages and ask for no message
// (Exec.SkipPushedFilter). 0 otherwise.
func exactLead(q *Query) int {
	if q.filter == nil || q.unmask || q.unmaskAll {
		return 0
	}
	k := 0
	pc := &pushCtx{q: q, parsed: map[int][]string{}}
	for _, s := range q.stages {
		if s.kind != sFilter {
			break
		}
		n, exact := toMnode(pc, s.cond)
		if !exact || n.op == 't' {
			break
		}
		k++
	}
	if k == 0 {
		return 0
	}
	rest := *q
	rest.stages = q.stages[k:]
	if usesMessage(&rest) {
		return 0
	}
	return k
}

func addCol(cols []outCol, c outCol) []outCol {
	for i, o := range cols {
		if o.name == c.name {
			cols[i] = c
			return cols
		}
	}
	return append(cols, c)
}

// walkExpr calls fn for e and every expression inside it.
func walkExpr(e expr, fn func(expr)) {
	if e == nil {
		return
	}
	fn(e)
	switch e := e.(type) {
	case memberE:
		walkExpr(e.base, fn)
	case indexE:
		walkExpr(e.base, fn)
	case andE:
		walkExpr(e.l, fn)
		walkExpr(e.r, fn)
	case orE:
		walkExpr(e.l, fn)
		walkExpr(e.r, fn)
	case notE:
		walkExpr(e.e, fn)
	case cmpE:
		walkExpr(e.l, fn)
		walkExpr(e.r, fn)
	case arithE:
		walkExpr(e.l, fn)
		walkExpr(e.r, fn)
	case negE:
		walkExpr(e.e, fn)
	case inE:
		walkExpr(e.l, fn)
	case likeE:
		walkExpr(e.l, fn)
	case expandE:
		walkExpr(e.e, fn)
	case callE:
		for _, a := range e.args {
			walkExpr(a, fn)
		}
	}
}

// walkQuery calls fn for every expression of the query: the stages' and,
// unless the rows are stats rows, the output columns' (stats outputs only
// read slots). outputs reports whether to include the output columns.
func walkQuery(q *Query, outputs bool, fn func(expr)) {
	for _, s := range q.stages {
		walkExpr(s.cond, fn)
		for _, ss := range s.sets {
			walkExpr(ss.e, fn)
		}
		walkExpr(s.src, fn)
		if s.parse != nil {
			walkExpr(s.parse.src, fn)
		}
		for _, k := range s.keys {
			walkExpr(k.e, fn)
		}
		for _, d := range s.dedup {
			walkExpr(d, fn)
		}
		if s.stats != nil {
			for _, b := range s.stats.by {
				walkExpr(b, fn)
			}
			for _, a := range s.stats.aggs {
				for _, e := range a.args {
					walkExpr(e, fn)
				}
			}
			for _, p := range s.stats.post {
				walkExpr(p.e, fn)
			}
		}
		if s.look != nil {
			for _, k := range s.look.keys {
				walkExpr(k, fn)
			}
		}
		if s.pat != nil {
			walkExpr(s.pat.src, fn)
		}
	}
	if outputs {
		for _, c := range q.out {
			walkExpr(c.e, fn)
		}
	}
}

// usesMessage reports whether any expression reads the message (directly
// or through JSON fields).
func usesMessage(q *Query) bool {
	found := q.unmaskAll
	walkQuery(q, !q.statsRows, func(e expr) {
		switch e := e.(type) {
		case sysE:
			found = found || e.f == fMessage
		case jsonE, lambdaE, unmaskE:
			found = true
		}
	})
	return found
}

// dropDeadFields removes computed fields nothing reads: Grafana prefixes
// every query with "fields @timestamp, ltrim(@log) as __log__…", which a
// following stats makes dead, and stats count() by bin(5m) then takes the
// timestamps-only path.
func dropDeadFields(q *Query) {
	read := map[int]bool{}
	walkQuery(q, true, func(e expr) {
		if s, ok := e.(slotE); ok {
			read[s.i] = true
		}
	})
	var stages []*stage
	for _, s := range q.stages {
		if s.kind == sFields {
			kept := s.sets[:0]
			for _, ss := range s.sets {
				if read[ss.slot] {
					kept = append(kept, ss)
				}
			}
			s.sets = kept
			if len(kept) == 0 {
				continue
			}
		}
		stages = append(stages, s)
	}
	q.stages = stages
}

// call compiles a function call (scalar, bin, or an aggregate inside stats).
func (pl *planner) call(n *node) (expr, *CompileError) {
	if n.name == "unmask" {
		return pl.unmaskCall(n)
	}
	if n.name == "bin" {
		if len(n.kids) != 1 || n.kids[0].op != "dur" {
			return nil, pl.errNode(n, "bin takes one time period, such as bin(5m)")
		}
		if pl.sc.afterStats {
			return nil, pl.errNode(n, "bin cannot be used after stats: the rows have no @timestamp; use datefloor on a field the first stats kept")
		}
		return binE{n.kids[0].dur}, nil
	}
	if a, ok := aggregates[n.name]; ok {
		return pl.aggCall(n, a)
	}
	f, ok := functions[n.name]
	if !ok {
		return nil, pl.errNode(n, "unknown function %s", n.name)
	}
	if len(n.kids) < f.min || f.max >= 0 && len(n.kids) > f.max {
		return nil, pl.errNode(n, "wrong number of arguments for %s: %d", n.name, len(n.kids))
	}
	c := callE{f: f}
	if f.prep != nil {
		st, err := f.prep(pl, n)
		if err != nil {
			return nil, err
		}
		c.c = st
	}
	for _, k := range n.kids {
		if k.op == "regex" || k.op == "dur" {
			c.args = append(c.args, litE{str(k.re)})
			continue
		}
		e, err := pl.compile(k)
		if err != nil {
			return nil, err
		}
		c.args = append(c.args, e)
	}
	return c, nil
}

// Pushdown is what the scan can do for the query.
type Pushdown struct {
	// Filter is a store.Matcher every event the query can use satisfies
	// (a necessary condition: the executor still applies the query's
	// filters), or nil. Its Required literals let the store skip blocks.
	Filter store.Matcher
	// NeedMessage is false when the query reads only timestamps, streams
	// and groups (e.g. stats count() by bin(5m)).
	NeedMessage bool
	// ExactFilter: Filter is exactly the query's leading filter stages,
	// and without them the query reads no message (filter @message like
	// "ERROR" | stats count() by bin(5m)). A runner whose store applies
	// Filter to every event may call Exec.SkipPushedFilter and scan
	// without messages.
	ExactFilter bool
	// Sources are the SOURCE names given in the query; a trailing * is a
	// prefix. Source is the whole SOURCE command (nil without one).
	Sources []string
	Source  *SourceSpec
	// Order is 1 (@timestamp asc) or -1 (desc) when the query keeps only
	// the first Limit events in that order (sort @timestamp desc | limit
	// 20, or no sort at all: newest first); 0 otherwise. Limit is the
	// query's own limit (0: only the run's default). Any: limit any N, the
	// runner may stop after N matching events.
	Order int
	Limit int
	Any   bool
	// Lookups are the lookup tables the query names.
	Lookups []string
	// Unmask: the query reads masked events' originals (unmask), which
	// needs logs:Unmask and Options.Unmask.
	Unmask bool
	// Index holds the "field = value" / "field in [...]" conditions every
	// result event satisfies (from the leading filters, joined by and), for
	// field indexes to select blocks; FilterIndex: the query used
	// filterIndex, so only indexed data should be scanned.
	Index       []IndexTerm
	FilterIndex bool
	// Streams, when not nil, are the only log streams whose events can
	// match (filter @logStream = "s" or in [...] in the leading filters):
	// the scan's ScanRequest.Streams. Careful: an empty, non-nil list means
	// no stream can match (ScanRequest reads empty as every stream).
	Streams []string
}

// streamTerms returns the stream names a conjunction allows, ok false when
// it does not constrain @logStream.
func streamTerms(e expr) ([]string, bool) {
	switch e := e.(type) {
	case andE:
		l, lok := streamTerms(e.l)
		r, rok := streamTerms(e.r)
		switch {
		case lok && rok:
			var both []string
			for _, a := range l {
				for _, b := range r {
					if a == b {
						both = append(both, a)
					}
				}
			}
			return both, true
		case lok:
			return l, true
		}
		return r, rok
	case cmpE:
		if e.op != "=" {
			return nil, false
		}
		l, r := e.l, e.r
		if _, ok := r.(sysE); ok {
			l, r = r, l
		}
		if s, ok := l.(sysE); ok && s.f == fStream {
			if v, ok := r.(litE); ok && v.v.k == kStr {
				return []string{v.v.s}, true
			}
		}
	case inE:
		if s, ok := e.l.(sysE); ok && s.f == fStream {
			var out []string
			for _, v := range e.list {
				if v.k != kStr {
					return nil, false
				}
				out = append(out, v.s)
			}
			return out, true
		}
	}
	return nil, false
}

// IndexTerm is a field that must hold one of Values (as text).
type IndexTerm struct {
	Field  string
	Values []string
	id     int
}

// indexTerms lists the equality conditions of a conjunction.
func indexTerms(e expr) []IndexTerm {
	switch e := e.(type) {
	case andE:
		return append(indexTerms(e.l), indexTerms(e.r)...)
	case cmpE:
		if e.op != "=" {
			return nil
		}
		l, r := e.l, e.r
		if _, ok := r.(jsonE); ok {
			l, r = r, l
		}
		j, ok1 := l.(jsonE)
		v, ok2 := r.(litE)
		if ok1 && ok2 && (v.v.k == kStr || v.v.k == kNum) {
			return []IndexTerm{{Field: "", Values: []string{v.v.render()}, id: j.id}}
		}
	case inE:
		j, ok := e.l.(jsonE)
		if !ok {
			return nil
		}
		t := IndexTerm{id: j.id}
		for _, v := range e.list {
			if v.k != kStr && v.k != kNum {
				return nil
			}
			t.Values = append(t.Values, v.render())
		}
		return []IndexTerm{t}
	}
	return nil
}

// Pushdown reports what the scan can do for the query.
func (q *Query) Pushdown() Pushdown {
	p := Pushdown{NeedMessage: q.usesMsg, ExactFilter: q.exactLead > 0, Source: q.source, Lookups: q.lookups, Unmask: q.unmask}
	if q.source != nil {
		p.Sources = append(p.Sources, q.source.Names...)
		for _, n := range q.source.NamePrefixes {
			p.Sources = append(p.Sources, n+"*")
		}
	}
	if q.filter != nil {
		p.Filter = q.filter
	}
	p.FilterIndex = q.filterIndex
	for _, s := range q.stages {
		if s.kind != sFilter {
			if s.kind == sFields || s.kind == sParse && !s.parse.multi || s.kind == sLookup {
				continue
			}
			break
		}
		for _, t := range indexTerms(s.cond) {
			t.Field = q.jsonNames[t.id]
			p.Index = append(p.Index, t)
		}
		if st, ok := streamTerms(s.cond); ok {
			if p.Streams == nil {
				p.Streams = append([]string{}, st...)
			} else {
				var both []string
				for _, a := range p.Streams {
					for _, b := range st {
						if a == b {
							both = append(both, a)
						}
					}
				}
				p.Streams = append([]string{}, both...)
			}
		}
	}
	if q.unmaskAll {
		// The store holds the masked text: what the query filters on is
		// the original, so no literal of it can rule a block out.
		p.Filter, p.Index, p.FilterIndex = nil, nil, false
	}
	m := mainPlan(q, 0)
	if m.topTs != 0 {
		p.Order, p.Limit = m.topTs, m.qlimit
	}
	if m.kind == mainAny {
		p.Any, p.Limit = true, m.qlimit
	}
	return p
}
