package cwli

import "fmt"

// fillmissing (CWL_QuerySyntax-Fillmissing): "insert rows for empty time
// bins after stats ... by bin()", optionally "with value for field", "the
// constant value to assign to the specified field in the inserted rows".
//
// What AWS leaves unsaid, and what Cairn does:
//   - the bins filled are those between the first and the last bin the
//     stats produced (no rows are invented before the first event or after
//     the last: the query's range is not a bin the data saw);
//   - the stats must group by bin() alone: with other by fields there is
//     no saying which of their values an empty bin should get, so such a
//     query is refused with a message saying so;
//   - a field not named in a "with" is absent from an inserted row, as a
//     null field is from any row; a "with" for a field the stats does not
//     output is refused;
//   - rows keep bin order (inserted ones in their place), and at most
//     maxRows rows are made in all (past that the query fails: a bin(1s)
//     over a month would be 2.6 million rows).

// fillPlan is a compiled fillmissing.
type fillPlan struct {
	bin     duration
	binSlot int
	sets    []slotSet // constants for the inserted rows
}

func (pl *planner) fillCmd(c *command, stages []*stage) (*fillPlan, *CompileError) {
	var sp *statsPlan
	for i := len(stages) - 1; i >= 0; i-- {
		if stages[i].kind == sStats {
			sp = stages[i].stats
			break
		}
	}
	if sp == nil || sp.binAt < 0 {
		return nil, errAt(pl.src, c.pos, c.end, "fillmissing must follow a stats command that groups by bin()")
	}
	if !sp.binOnly {
		return nil, errAt(pl.src, c.pos, c.end, "fillmissing needs a stats that groups by bin() alone: with other by fields an empty bin has no values for them")
	}
	fp := &fillPlan{bin: sp.bin, binSlot: sp.bySlots[sp.binAt]}
	for _, f := range c.fills {
		slot, ok := pl.sc.names[f.field]
		if !ok {
			return nil, errAt(pl.src, f.pos, f.end, fmt.Sprintf("fillmissing: %s is not a field of the stats before it", f.field))
		}
		fp.sets = append(fp.sets, slotSet{slot: slot, e: litE{f.val.lit}})
	}
	return fp, nil
}

// fillRows inserts a row for every bin missing between the first and the
// last of rows (in bin order, as the stats leaves them; rows whose bin is
// not a time are kept as they are, after).
func (x *Exec) fillRows(rows []*row, fp *fillPlan) ([]*row, error) {
	var timed, other []*row
	for _, r := range rows {
		if v := r.slots[fp.binSlot]; v.k == kTime {
			timed = append(timed, r)
		} else {
			other = append(other, r)
		}
	}
	if len(timed) == 0 {
		return rows, nil
	}
	sortRows(x, timed, []sortSpec{{e: slotE{fp.binSlot}}})
	out := make([]*row, 0, len(rows))
	next := int64(timed[0].slots[fp.binSlot].n)
	for _, r := range timed {
		b := int64(r.slots[fp.binSlot].n)
		for ; next < b; next = fp.bin.ceil(next + 1) {
			if len(out) >= maxRows {
				return nil, fmt.Errorf("fillmissing would make more than %d rows; use a larger bin()", maxRows)
			}
			n := &row{slots: make([]Value, len(r.slots))}
			n.slots[fp.binSlot] = Value{k: kTime, n: float64(next)}
			for _, s := range fp.sets {
				n.slots[s.slot] = s.e.eval(n, &x.env)
			}
			x.charge(int64(len(n.slots)) * 40)
			out = append(out, n)
		}
		out = append(out, r)
		next = fp.bin.ceil(b + 1)
	}
	return append(out, other...), nil
}
