package cwli

import "fmt"

// LookupTable is a lookup table's contents (from its CSV body): the header
// and the rows.
type LookupTable struct {
	Columns []string
	Rows    [][]string
}

type lookupPlan struct {
	table    string
	key      expr   // the event's field
	tableKey string // the table's column matched against it
	outs     []string
	slots    []int
}

type lookupIndex struct {
	keyCol int
	cols   []int // per output: table column, -1 missing
	rows   map[string][]string
	err    error
}

func (pl *planner) lookupCmd(c *command) (*stage, []outCol, *CompileError) {
	key, err := pl.field(&node{op: "field", name: c.keyPair[0], segs: []string{c.keyPair[0]}, pos: c.pos, end: c.end})
	if err != nil {
		return nil, nil, err
	}
	if len(c.outs) == 0 {
		return nil, nil, errAt(pl.src, c.pos, c.end, "lookup needs OUTPUT and the table fields to add")
	}
	lp := &lookupPlan{table: c.table, key: key, tableKey: c.keyPair[1]}
	var cols []outCol
	for _, o := range c.outs {
		name := o.alias
		if name == "" {
			name = o.text
		}
		lp.outs = append(lp.outs, o.text)
		s := pl.newSlot(name)
		lp.slots = append(lp.slots, s)
		cols = append(cols, outCol{name, slotE{s}})
	}
	pl.q.lookups = append(pl.q.lookups, c.table)
	return &stage{kind: sLookup, look: lp}, cols, nil
}

// loadLookups reads the tables once per run; a missing table fails the run.
func (x *Exec) loadLookups() {
	for _, st := range x.q.stages {
		if st.kind != sLookup {
			continue
		}
		lp := st.look
		if x.lookups == nil {
			x.lookups = map[string]*lookupIndex{}
		}
		if x.opts.Lookup == nil {
			x.err = fmt.Errorf("lookup table %s: lookup tables are not available", lp.table)
			return
		}
		t, err := x.opts.Lookup(lp.table)
		if err != nil {
			x.err = fmt.Errorf("lookup table %s: %w", lp.table, err)
			return
		}
		li := &lookupIndex{keyCol: -1, rows: map[string][]string{}}
		for i, c := range t.Columns {
			if c == lp.tableKey {
				li.keyCol = i
			}
		}
		if li.keyCol < 0 {
			x.err = fmt.Errorf("lookup table %s has no column %s", lp.table, lp.tableKey)
			return
		}
		for _, o := range lp.outs {
			col := -1
			for i, c := range t.Columns {
				if c == o {
					col = i
				}
			}
			if col < 0 {
				x.err = fmt.Errorf("lookup table %s has no column %s", lp.table, o)
				return
			}
			li.cols = append(li.cols, col)
		}
		for _, r := range t.Rows {
			if li.keyCol < len(r) {
				if _, dup := li.rows[r[li.keyCol]]; !dup {
					li.rows[r[li.keyCol]] = r
				}
			}
		}
		x.lookups[lp.table+"\x00"+lp.tableKey] = li
	}
}

func (x *Exec) lookupRow(lp *lookupPlan, r *row) {
	li := x.lookups[lp.table+"\x00"+lp.tableKey]
	k, ok := lp.key.eval(r, &x.env).text()
	var tr []string
	if ok && li != nil {
		tr = li.rows[k]
	}
	for i, s := range lp.slots {
		if tr == nil || li.cols[i] >= len(tr) {
			r.slots[s] = null
			continue
		}
		r.slots[s] = str(tr[li.cols[i]])
	}
}
