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
//     (its stored text when it has none), beside a masked @message. AWS
//     documents it for @message only; unmask(f) of a field f the message's
//     JSON holds (f, a.b, @@f) is that field as read from the original
//     message, so that `fields email, unmask(email)` shows both. Other
//     fields (made by parse, system fields) are refused: they are not read
//     from the message at that point, and their original is not defined.
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
	if len(n.kids) != 1 || n.kids[0].op != "field" {
		return nil, pl.errNode(n, "unmask takes @message or a field of the message's JSON, as in unmask(@message)")
	}
	if pl.sc.afterStats {
		return nil, pl.errNode(n, "unmask cannot be used after stats: the rows are no longer events")
	}
	if n.kids[0].name == "@message" {
		pl.q.unmask = true
		return unmaskE{}, nil
	}
	e, err := pl.field(n.kids[0])
	if err != nil {
		return nil, err
	}
	js, ok := e.(jsonE)
	if !ok {
		return nil, pl.errNode(n, "unmask takes @message or a field of the message's JSON; %s is not read from the message here", n.kids[0].name)
	}
	pl.q.unmask = true
	return unmaskFieldE{js}, nil
}

// unmaskFieldE is unmask(f) of a JSON field: f read from the event's
// original message (from the stored one when it has none).
type unmaskFieldE struct{ f jsonE }

func (e unmaskFieldE) eval(r *row, x *env) Value {
	if !r.hasEv || x.opts.Unmask == nil {
		return e.f.eval(r, x)
	}
	s, ok := x.opts.Unmask(r.group, r.ev)
	if !ok {
		return e.f.eval(r, x)
	}
	// A copy of the row with the original message and JSON fields of its
	// own (the row's stay those of the message it shows).
	o := *r
	o.ev.Message, o.js, o.jsOK = s, nil, false
	return e.f.eval(&o, x)
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
