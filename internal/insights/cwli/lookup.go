package cwli

import (
	"fmt"
	"strings"
)

// LookupTable is a lookup table's contents (from its CSV body): the header
// and the rows.
type LookupTable struct {
	Columns []string
	Rows    [][]string
}

type lookupPlan struct {
	table     string
	keys      []expr   // the event's fields
	tableKeys []string // the table's columns matched against them
	outs      []string
	slots     []int
}

type lookupIndex struct {
	keyCols []int
	cols    []int // per output: table column
	rows    map[string][]string
}

func (pl *planner) lookupCmd(c *command) (*stage, *CompileError) {
	lp := &lookupPlan{table: c.table}
	for _, kp := range c.keyPairs {
		key, err := pl.field(&node{op: "field", name: kp[1], segs: strings.Split(kp[1], "."), pos: c.pos, end: c.end})
		if err != nil {
			return nil, err
		}
		lp.keys, lp.tableKeys = append(lp.keys, key), append(lp.tableKeys, kp[0])
	}
	for _, o := range c.outs {
		name := o.alias
		if name == "" {
			name = o.text
		}
		lp.outs = append(lp.outs, o.text)
		s := pl.newSlot(name)
		lp.slots = append(lp.slots, s)
	}
	pl.q.lookups = append(pl.q.lookups, c.table)
	return &stage{kind: sLookup, look: lp}, nil
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
		col := func(name string) int {
			for i, c := range t.Columns {
				if c == name {
					return i
				}
			}
			return -1
		}
		li := &lookupIndex{rows: map[string][]string{}}
		for _, k := range lp.tableKeys {
			c := col(k)
			if c < 0 {
				x.err = fmt.Errorf("lookup table %s has no column %s", lp.table, k)
				return
			}
			li.keyCols = append(li.keyCols, c)
		}
		for _, o := range lp.outs {
			c := col(o)
			if c < 0 {
				x.err = fmt.Errorf("lookup table %s has no column %s", lp.table, o)
				return
			}
			li.cols = append(li.cols, c)
		}
		var kb []byte
		for _, r := range t.Rows {
			kb = kb[:0]
			ok := true
			for _, c := range li.keyCols {
				if c >= len(r) {
					ok = false
					break
				}
				kb = appendKey(kb, str(r[c]))
			}
			// the first row with a key wins
			if _, dup := li.rows[string(kb)]; ok && !dup {
				li.rows[string(kb)] = r
			}
		}
		x.lookups[lookupID(lp)] = li
	}
}

func lookupID(lp *lookupPlan) string { return lp.table + "\x00" + strings.Join(lp.tableKeys, "\x00") }

func (x *Exec) lookupRow(lp *lookupPlan, r *row) {
	li := x.lookups[lookupID(lp)]
	var tr []string
	if li != nil {
		kb := x.lookupKey[:0]
		ok := true
		for _, k := range lp.keys {
			s, isText := k.eval(r, &x.env).text()
			if !isText {
				ok = false
				break
			}
			kb = appendKey(kb, str(s))
		}
		x.lookupKey = kb
		if ok {
			tr = li.rows[string(kb)]
		}
	}
	// OUTPUT overwrites: an event without a match gets no value
	for i, s := range lp.slots {
		if tr == nil || li.cols[i] >= len(tr) {
			r.slots[s] = null
			continue
		}
		r.slots[s] = str(tr[li.cols[i]])
	}
}
