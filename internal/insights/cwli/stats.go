package cwli

import (
	"math"
	"sort"
	"strconv"
	"strings"
)

// statsPlan is a compiled stats command.
type statsPlan struct {
	by      []expr // evaluated in the input scope
	bySlots []int  // where each by value goes in the output row
	binAt   int    // index of the first bin() term in by, -1 if none
	aggs    []*aggSpec
	post    []slotSet // output expressions over aggregates (sum(x)/count())
	nslots  int       // output row width (the query's slot count)
}

func (pl *planner) statsCmd(c *command) (*statsPlan, []outCol, *CompileError) {
	sp := &statsPlan{binAt: -1}
	type pending struct {
		name string
		e    expr
	}
	// by terms and aggregate arguments read the input scope
	var byNames []string
	for i, b := range c.by {
		e, err := pl.compile(b.e)
		if err != nil {
			return nil, nil, err
		}
		if _, ok := e.(binE); ok && sp.binAt < 0 {
			sp.binAt = i
		}
		sp.by = append(sp.by, e)
		name := b.alias
		if name == "" {
			if b.e.op == "field" {
				name = b.e.name
			} else {
				name = b.text
			}
		}
		byNames = append(byNames, name)
	}
	pl.inStat = sp
	var outs []pending
	for _, p := range c.projs {
		n0 := len(sp.aggs)
		e, err := pl.compile(p.e)
		if err != nil {
			pl.inStat = nil
			return nil, nil, err
		}
		if len(sp.aggs) == n0 {
			pl.inStat = nil
			return nil, nil, pl.errNode(p.e, "stats needs an aggregate function such as count(), sum or avg: %s", p.text)
		}
		name := p.alias
		if name == "" {
			name = p.text
		}
		outs = append(outs, pending{name, e})
	}
	pl.inStat = nil
	// the output scope: only by terms and aggregates exist from here on
	pl.sc = &scope{names: map[string]int{}, afterStats: true}
	var cols []outCol
	for i, n := range byNames {
		s := pl.newSlot(n)
		sp.bySlots = append(sp.bySlots, s)
		cols = addCol(cols, outCol{n, slotE{s}})
		_ = i
	}
	for _, o := range outs {
		if se, ok := o.e.(slotE); ok {
			// a bare aggregate: its result slot is the column
			pl.sc.names[o.name] = se.i
			cols = addCol(cols, outCol{o.name, se})
			continue
		}
		s := pl.newSlot(o.name)
		sp.post = append(sp.post, slotSet{s, o.e})
		cols = addCol(cols, outCol{o.name, slotE{s}})
	}
	return sp, cols, nil
}

// aggCall registers an aggregate of the stats being compiled and stands
// for its result slot.
func (pl *planner) aggCall(n *node, a *aggDef) (expr, *CompileError) {
	sp := pl.inStat
	if sp == nil {
		return nil, pl.errNode(n, "the aggregate function %s can be used only in stats", n.name)
	}
	if len(n.kids) < a.min || len(n.kids) > a.max {
		return nil, pl.errNode(n, "wrong number of arguments for %s: %d", n.name, len(n.kids))
	}
	spec := &aggSpec{def: a}
	for i, k := range n.kids {
		if k.op == "star" {
			if !a.star {
				return nil, pl.errNode(k, "%s(*) is not allowed", n.name)
			}
			continue
		}
		if (n.name == "pct" || n.name == "percentile") && i == 1 {
			if k.op != "lit" || k.lit.k != kNum || k.lit.n < 0 || k.lit.n > 100 {
				return nil, pl.errNode(k, "the percentile must be a number between 0 and 100")
			}
			spec.p = k.lit.n
			continue
		}
		save := pl.inStat
		pl.inStat = nil // no aggregates inside aggregates
		e, err := pl.compile(k)
		pl.inStat = save
		if err != nil {
			return nil, err
		}
		spec.args = append(spec.args, e)
	}
	spec.slot = pl.q.nslots
	pl.q.nslots++
	sp.aggs = append(sp.aggs, spec)
	return slotE{spec.slot}, nil
}

// statsState is a running stats: groups by key, in first-seen order.
type statsState struct {
	sp     *statsPlan
	groups map[string]*group
	order  []*group
	key    []byte
	byv    []Value
	last   *group // the previous event's group: consecutive events usually share one (bin)
	args   []Value
}

type group struct {
	key  string
	by   []Value
	aggs []aggState
}

func newStatsState(sp *statsPlan) *statsState {
	return &statsState{sp: sp, groups: map[string]*group{}, byv: make([]Value, len(sp.by))}
}

// add folds r into its group and returns the memory it grew by.
func (s *statsState) add(r *row, x *env) int64 {
	sp := s.sp
	s.key = s.key[:0]
	for i, b := range sp.by {
		v := b.eval(r, x)
		s.byv[i] = v
		s.key = appendKey(s.key, v)
	}
	var grew int64
	g := s.last
	if g == nil || g.key != string(s.key) {
		g = s.groups[string(s.key)]
		if g == nil {
			g = &group{key: string(s.key), by: make([]Value, len(s.byv)), aggs: make([]aggState, len(sp.aggs))}
			for i, v := range s.byv {
				g.by[i] = keep(v)
				grew += v.size()
			}
			for i, a := range sp.aggs {
				g.aggs[i] = a.def.newState(a)
			}
			s.groups[g.key] = g
			s.order = append(s.order, g)
			grew += int64(2*len(g.key)) + 96 + int64(len(sp.aggs))*48
		}
		s.last = g
	}
	for i, a := range sp.aggs {
		s.args = s.args[:0]
		for _, e := range a.args {
			s.args = append(s.args, e.eval(r, x))
		}
		grew += g.aggs[i].add(s.args, r)
	}
	return grew
}

// appendKey encodes a value for grouping: kind byte, then its text, with a
// length so that keys of several values cannot collide.
func appendKey(b []byte, v Value) []byte {
	b = append(b, byte(v.k))
	switch v.k {
	case kTime, kNum, kBool:
		b = strconv.AppendInt(b, int64(math.Float64bits(v.n)), 36)
		return append(b, 0)
	case kNull:
		return b
	}
	s := v.render()
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

// rows renders the groups as output rows: by bin() ascending when the
// stats groups by bin, otherwise in first-seen order. A stats without by
// over no rows still answers one row (count() = 0).
func (s *statsState) rows(x *env, nslots int) []*row {
	gs := s.order
	if len(gs) == 0 && len(s.sp.by) == 0 {
		g := &group{aggs: make([]aggState, len(s.sp.aggs))}
		for i, a := range s.sp.aggs {
			g.aggs[i] = a.def.newState(a)
		}
		gs = []*group{g}
	}
	if b := s.sp.binAt; b >= 0 {
		gs = append([]*group(nil), gs...)
		sort.SliceStable(gs, func(i, j int) bool { return gs[i].by[b].n < gs[j].by[b].n })
	}
	out := make([]*row, 0, len(gs))
	for _, g := range gs {
		r := &row{slots: make([]Value, nslots)}
		for i, v := range g.by {
			r.slots[s.sp.bySlots[i]] = v
		}
		for i, a := range s.sp.aggs {
			r.slots[a.slot] = a.def.finish(g.aggs[i])
		}
		for _, p := range s.sp.post {
			r.slots[p.slot] = p.e.eval(r, x)
		}
		out = append(out, r)
	}
	return out
}

func (a *aggDef) finish(s aggState) Value { return s.result() }

var _ = strings.Clone
