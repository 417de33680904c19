package cwli

import (
	"fmt"
	"regexp"
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
)

func (k stageKind) blocking() bool {
	return k == sStats || k == sSort || k == sLimit || k == sDedup || k == sPattern
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
	out       []outCol
	statsRows bool // the output rows are stats rows (no @ptr)
	nstats    int
	hasLimit  bool
	usesMsg   bool
	sources   []string
	lookups   []string
	filter    *msgMatcher
}

func (q *Query) jsonID(name string) int {
	if id, ok := q.jsonIDs[name]; ok {
		return id
	}
	id := len(q.jsonNames)
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
			if pl.sc.afterStats {
				// allowed: dedup of stats rows
			}
			st := &stage{kind: sDedup}
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
			q.stages = append(q.stages, &stage{kind: sUnnest, src: e, slot: slot})
			fieldsCols = addCol(fieldsCols, outCol{c.into, slotE{slot}})
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
			q.sources = append(q.sources, c.sources...)
		case "lookup":
			st, cols, err := pl.lookupCmd(c)
			if err != nil {
				return nil, err
			}
			q.stages = append(q.stages, st)
			for _, col := range cols {
				fieldsCols = addCol(fieldsCols, col)
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
	q.usesMsg = q.usesMsg || usesMessage(q)
	q.filter = pushFilter(q)
	return q, nil
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

// usesMessage reports whether any expression reads the message (directly
// or through JSON fields). Expressions are walked through their types.
func usesMessage(q *Query) bool {
	if len(q.jsonNames) > 0 {
		return true
	}
	found := false
	var walk func(e expr)
	walk = func(e expr) {
		switch e := e.(type) {
		case sysE:
			if e.f == fMessage {
				found = true
			}
		case memberE:
			walk(e.base)
		case indexE:
			walk(e.base)
		case andE:
			walk(e.l)
			walk(e.r)
		case orE:
			walk(e.l)
			walk(e.r)
		case notE:
			walk(e.e)
		case cmpE:
			walk(e.l)
			walk(e.r)
		case arithE:
			walk(e.l)
			walk(e.r)
		case negE:
			walk(e.e)
		case inE:
			walk(e.l)
		case likeE:
			walk(e.l)
		case callE:
			for _, a := range e.args {
				walk(a)
			}
		}
	}
	for _, s := range q.stages {
		if s.cond != nil {
			walk(s.cond)
		}
		for _, ss := range s.sets {
			walk(ss.e)
		}
		if s.src != nil {
			walk(s.src)
		}
		if s.parse != nil {
			walk(s.parse.src)
		}
		for _, k := range s.keys {
			walk(k.e)
		}
		for _, d := range s.dedup {
			walk(d)
		}
		if s.stats != nil {
			for _, b := range s.stats.by {
				walk(b)
			}
			for _, a := range s.stats.aggs {
				for _, e := range a.args {
					walk(e)
				}
			}
		}
		if s.look != nil {
			walk(s.look.key)
		}
		if s.pat != nil {
			walk(s.pat.src)
		}
	}
	if !q.statsRows {
		for _, c := range q.out {
			walk(c.e)
		}
	}
	return found
}

// call compiles a function call (scalar, bin, or an aggregate inside stats).
func (pl *planner) call(n *node) (expr, *CompileError) {
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

// compiled regexes used by parse keep Go's (?P<name>) form; CWLI writes (?<name>).
var _ = regexp.MustCompile

// Pushdown is what the scan can do for the query.
type Pushdown struct {
	// Filter is a store.Matcher every event the query can use satisfies
	// (a necessary condition: the executor still applies the query's
	// filters), or nil. Its Required literals let the store skip blocks.
	Filter store.Matcher
	// NeedMessage is false when the query reads only timestamps, streams
	// and groups (e.g. stats count() by bin(5m)).
	NeedMessage bool
	// Sources are the SOURCE names given in the query; a trailing * is a
	// prefix.
	Sources []string
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
}

// Pushdown reports what the scan can do for the query.
func (q *Query) Pushdown() Pushdown {
	p := Pushdown{NeedMessage: q.usesMsg, Sources: q.sources, Lookups: q.lookups}
	if q.filter != nil {
		p.Filter = q.filter
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
