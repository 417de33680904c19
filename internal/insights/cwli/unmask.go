package cwli

// unmask: data protection masks sensitive text at ingest and keeps the
// originals for callers allowed logs:Unmask (package logs/dataprotection).
// AWS's Logs Insights reveals them with the unmask command ("Use unmask to
// display all the content of a log event that has some content masked
// because of a data protection policy. To use this command, you must have
// the logs:Unmask permission", CWL_QuerySyntax-Unmask) and, in AWS's
// masking guide, unmask(@message) in fields. Here:
//
//   - the command `unmask` (or `unmask @message`) is a streaming stage that
//     replaces each event's message with its original, so every later
//     command (parse, filter, JSON fields, stats) sees the original text.
//     It must come before the first stats, sort, limit, dedup or pattern
//     (after them there are no events to unmask). The store filter is not
//     pushed down then: the store holds the masked text.
//   - the function unmask(@message) is the original message of the event
//     (its stored text when it has none), beside a masked @message.
//
// Both read Options.Unmask, which the service gives only to callers it
// allowed logs:Unmask; without it events are shown as stored.

type unmaskE struct{}

func (unmaskE) eval(r *row, x *env) Value {
	if !r.hasEv {
		return null
	}
	if x.opts.Unmask != nil {
		if s, ok := x.opts.Unmask(r.group, r.ev); ok {
			return str(s)
		}
	}
	return str(r.ev.Message)
}

// unmaskRow is the unmask stage: the row's event carries its original.
func unmaskRow(r *row, x *env) {
	if !r.hasEv || x.opts.Unmask == nil {
		return
	}
	if s, ok := x.opts.Unmask(r.group, r.ev); ok {
		r.ev.Message = s
		r.jsOK = false // JSON fields are read from the message again
	}
}

func (pl *planner) unmaskCall(n *node) (expr, *CompileError) {
	if len(n.kids) != 1 || n.kids[0].op != "field" || n.kids[0].name != "@message" {
		return nil, pl.errNode(n, "unmask takes @message, as in unmask(@message)")
	}
	if pl.sc.afterStats {
		return nil, pl.errNode(n, "unmask cannot be used after stats: the rows are no longer events")
	}
	pl.q.unmask = true
	return unmaskE{}, nil
}

func (pl *planner) unmaskCmd(c *command) *CompileError {
	for _, s := range pl.q.stages {
		if s.kind.blocking() {
			return errAt(pl.src, c.pos, c.end, "unmask must come before stats, sort, limit, dedup and pattern")
		}
	}
	pl.q.unmask, pl.q.unmaskAll = true, true
	pl.q.stages = append(pl.q.stages, &stage{kind: sUnmask})
	return nil
}
