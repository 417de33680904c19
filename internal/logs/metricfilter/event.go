package metricfilter

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/cairnlog/cairn/internal/pattern"
	"github.com/cairnlog/cairn/internal/store"
)

// What a filter makes of one event.
//
// A matching event publishes one datapoint: the constant metricValue, or
// the number its selector extracts, to the series its dimensions' values
// name. A matching event whose value is missing or not a number, or whose
// dimension field is missing, publishes nothing (CloudWatch drops such a
// datapoint). defaultValue is published once for a batch of events
// (one PutLogEvents request of one stream, one block of the feed) in which
// no event matched: AWS publishes it "during a period when logs are
// ingested but no matching logs are found" and a batch is the period
// Cairn's feed has (documented in docs/metrics.md).

// datapoint is one published value and its dimension values, in the
// filter's dims order.
type datapoint struct {
	value float64
	dims  []string
}

// maxDimensionValue bounds an extracted dimension value (the model's
// DimensionsValue bound), so a series key stays small.
const maxDimensionValue = 255

// eventDoc is one message, and what the group's filters learned of it
// that the others can reuse (whether it has a backslash, which of the
// group's literals it contains, its top-level JSON members).
type eventDoc struct {
	msg   string
	slash int8 // 0: not looked yet; 1: no backslash in msg; 2: one
	obj   int8 // 0: not looked yet; 1: msg does not start with '{' (after white space); 2: it does
	// memo: the answers of has are kept, by rareLiteral.id, in looked and
	// present (a literal of id 64 or more is looked for at each ask).
	// false: nothing is memoised (apply, the per-filter path).
	memo            bool
	looked, present uint64
	// view is msg's top-level JSON members, parsed by the first JSON
	// filter that needs them and read by the others (one JSON pass per
	// event instead of one per filter). nil: each filter walks msg.
	view *pattern.View
	// members: 0, the group's member table (scratch.members) not loaded
	// with this event yet; else 1 + what pattern.Members.Load made of it.
	members int8
}

// has reports whether the event's message contains l, looking at most once
// per event for each literal of the group.
func (e *eventDoc) has(l *rareLiteral) bool {
	if !e.memo || l.id < 0 || l.id >= 64 {
		return l.in(e.msg)
	}
	bit := uint64(1) << l.id
	if e.looked&bit == 0 {
		e.looked |= bit
		if l.in(e.msg) {
			e.present |= bit
		}
	}
	return e.present&bit != 0
}

// object reports whether msg starts with '{' after JSON white space (only
// such a message can match a JSON pattern).
func (e *eventDoc) object() bool {
	if e.obj == 0 {
		i := 0
		for i < len(e.msg) && (e.msg[i] == ' ' || e.msg[i] == '\t' || e.msg[i] == '\n' || e.msg[i] == '\r') {
			i++
		}
		e.obj = 1
		if i < len(e.msg) && e.msg[i] == '{' {
			e.obj = 2
		}
	}
	return e.obj == 2
}

// termsMatch is Match for a filter whose pattern is literal terms only
// (c.terms): decided from the group's literal answers, so a literal two
// filters share ("ERROR" of `ERROR` and of `?ERROR ?FATAL`) is looked for
// once an event and a filter's prefilter literal is not searched again by
// its own pattern (pattern.LiteralTerms; TestGroupCountAgrees and
// FuzzGroupCount compare with the pattern's own Match).
func (c *compiled) termsMatch(ev *eventDoc) bool {
	for i := range c.must {
		if !ev.has(&c.must[i]) {
			return false
		}
	}
	for i := range c.not {
		if ev.has(&c.not[i]) {
			return false
		}
	}
	if len(c.any) == 0 {
		return true
	}
	for i := range c.any {
		if ev.has(&c.any[i]) {
			return true
		}
	}
	return false
}

// scratch is what applying filters to events reuses from one event to the
// next (one per Counter.count call, never shared between goroutines): the
// extracted values and the dimension values of the last datapoint, so
// counting allocates nothing per event.
type scratch struct {
	vals  pattern.Values
	dims  []string
	view  [2]pattern.View // eventDoc.view of the stored and the transformed message
	block blockScratch    // blockScan's buffers and answers
	// members is the group's member table loaded with the event's stored
	// message (eventDoc.members says whether it is), nums its members'
	// values parsed as metric values, by slot.
	members pattern.Members
	nums    []numMemo
	// loadsAnyway: some member-table filter the block's events go to
	// has no prefilter, so the table is loaded for every JSON event and
	// applyMembers runs no prefilter before loading it (set by
	// Counter.count for each block).
	loadsAnyway bool
}

// numMemo is one member's value as a metric value: parsed once an event
// for every filter publishing it.
type numMemo struct {
	done, ok bool
	v        float64
}

// viewMatcher is a pattern that matches through a shared View
// (*pattern.Pattern).
type viewMatcher interface {
	MatchView(view *pattern.View) bool
	ExtractValuesView(view *pattern.View, v *pattern.Values) bool
}

// valuesExtractor is a pattern that extracts into a reusable Values
// (*pattern.Pattern); other logs.Pattern implementations go through the
// map of Extract.
type valuesExtractor interface {
	ExtractValues(message string, v *pattern.Values) bool
}

func (e *eventDoc) hasBackslash() bool {
	if e.slash == 0 {
		e.slash = 1
		if strings.IndexByte(e.msg, '\\') >= 0 {
			e.slash = 2
		}
	}
	return e.slash == 2
}

// mayMatch is the filter's prefilter: false only when the pattern cannot
// match (a literal every match contains is absent, or a JSON pattern's
// message is no object), at the cost of a byte test and substring
// searches, before the pattern's own evaluation (a JSON pass or a field
// split) runs. The literals are the pattern's Required and
// RequiredUnlessEscaped, the ones the store skips blocks with.
func (c *compiled) mayMatch(ev *eventDoc) bool {
	if c.isJSON && !ev.object() {
		return false
	}
	for i := range c.pre {
		if !ev.has(&c.pre[i]) {
			return false
		}
	}
	if len(c.preEsc) > 0 && !ev.hasBackslash() {
		for i := range c.preEsc {
			if !ev.has(&c.preEsc[i]) {
				return false
			}
		}
	}
	return true
}

// apply runs the filter on one message (a fresh scratch: dp.dims stays
// valid).
func (c *compiled) apply(msg string, scope store.Scope) (matched bool, dp datapoint, ok bool) {
	return c.applyDoc(&eventDoc{msg: msg}, scope, &scratch{})
}

// applyDoc runs the filter on one event. dp.dims is sc's and valid until
// the next call with sc.
func (c *compiled) applyDoc(ev *eventDoc, scope store.Scope, sc *scratch) (matched bool, dp datapoint, ok bool) {
	msg := ev.msg
	if !c.mayMatch(ev) {
		return false, dp, false
	}
	var mvals map[string]string
	vm := c.vm
	viaView := vm != nil && (c.isJSON || c.spaced) && ev.view != nil
	if viaView {
		// One JSON pass and one field split per event for all of the
		// group's filters: the view holds the message's members and fields;
		// each JSON filter walks only the values its selectors name, each
		// space-delimited one reads the fields split so far (the same
		// answers and values: pattern's TestViewAgrees, TestViewShared,
		// FuzzMatch; TestSharedViewAgrees here).
		if c.spaced && c.extract && !vm.MatchView(ev.view) {
			// As below: matching splits only the fields the pattern tests.
			return false, dp, false
		}
		switch {
		case c.headOnly:
			// Matched above; its fields are read from the view (field).
			matched = true
		case c.extract:
			matched = vm.ExtractValuesView(ev.view, &sc.vals)
		default:
			matched = vm.MatchView(ev.view)
		}
	} else if c.extract {
		if x := c.vx; x != nil {
			// Extracting into the scratch allocates nothing, but a
			// space-delimited pattern extracts every field of the line, and
			// matching splits only what the pattern tests: match first
			// there, and extract in the same pass elsewhere.
			if c.spaced && !c.pattern.Match(msg) {
				return false, dp, false
			}
			matched = x.ExtractValues(msg, &sc.vals)
		} else if c.pattern.Match(msg) {
			// Match first: most events do not match, and Extract builds a
			// map for every message it looks at.
			matched, mvals = c.pattern.Extract(msg)
		}
	} else {
		matched = c.pattern.Match(msg)
	}
	if !matched {
		return false, dp, false
	}
	get := func(key string) (string, bool) {
		if mvals != nil {
			v, ok := mvals[key]
			return v, ok
		}
		return sc.vals.Get(key)
	}
	field := func(s selector) (string, bool) {
		switch s.kind {
		case selSystem:
			return systemField(s, scope), true
		case selField:
			if viaView && s.head > 0 {
				return ev.view.FieldValue(s.head - 1), true
			}
			return get(s.raw)
		}
		if v, ok := get(s.raw); ok {
			return v, true
		}
		// A JSON field the pattern does not test: read on the message's
		// bytes (the pattern matched, so the message is a JSON object).
		if ev.view != nil {
			return pattern.LookupView(ev.view, s.path)
		}
		return pattern.LookupJSON(msg, s.path)
	}
	if c.value.kind == selConstant {
		dp.value = c.value.num
	} else {
		text, ok := field(c.value)
		if !ok {
			return true, dp, false
		}
		v, ok := metricValue(text)
		if !ok {
			return true, dp, false
		}
		dp.value = v
	}
	if len(c.dims) > 0 {
		sc.dims = sc.dims[:0]
		for _, d := range c.dims {
			v, ok := field(d.sel)
			if !ok || v == "" || len(v) > maxDimensionValue {
				return true, dp, false
			}
			sc.dims = append(sc.dims, v)
		}
		dp.dims = sc.dims
	}
	return true, dp, true
}

// systemField is a system field dimension's value: the caller's account
// or region.
func systemField(s selector, scope store.Scope) string {
	if s.raw == "@aws.account" {
		return scope.Account
	}
	return scope.Region
}

// metricValue is an extracted value as a datapoint's value: a number,
// white space around it allowed, finite.
func metricValue(text string) (float64, bool) {
	// The usual value, a JSON member's or a field's unsigned integer of
	// at most 15 digits, exactly as ParseFloat reads it (below 2^53 every
	// integer is a float64); anything else (a sign, white space, a point,
	// an exponent) through ParseFloat.
	if n := len(text); n > 0 && n <= 15 {
		var u uint64
		i := 0
		for ; i < n; i++ {
			c := text[i] - '0'
			if c > 9 {
				break
			}
			u = u*10 + uint64(c)
		}
		if i == n {
			return float64(u), true
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// memberFilter is a JSON filter matched on the group's member table
// (planMembers): its pattern's plan, and where its value and dimensions
// are read.
type memberFilter struct {
	set   *pattern.MemberSet
	plan  *pattern.MemberPlan
	value memberSel   // a JSON value selector's
	dims  []memberSel // by c.dims; a system field's unused
}

// memberSel is a one-key JSON selector on the member table: its member's
// slot, and whether the pattern extracts the selector (recorded: its value
// is the extracted one, Members.Text) or the value is looked up in the
// message (Members.Lookup), as applyDoc's field does.
type memberSel struct {
	slot     int
	recorded bool
}

func (s memberSel) text(m *pattern.Members) (string, bool) {
	if s.recorded {
		return m.Text(s.slot)
	}
	return m.Lookup(s.slot)
}

// memberPlanner is a pattern that can be matched on a member table
// (*pattern.Pattern).
type memberPlanner interface {
	PlanMembers(set *pattern.MemberSet) (*pattern.MemberPlan, bool)
}

// planMembers gives each of the group's JSON filters whose pattern,
// value and dimensions read only top-level members by one key
// (pattern.PlanMembers; "$.key" selectors) a plan on one member table
// shared by them all, so that per event each member they name is found
// once, each number parsed once, each value selector read once; the other
// filters' members stay nil (applyDoc).
func planMembers(fs []*compiled) {
	set := &pattern.MemberSet{}
	oneKey := func(s selector) bool {
		return s.kind != selJSON || len(s.path) == 1 && !strings.HasPrefix(s.path[0], "[")
	}
	for _, f := range fs {
		f.members = nil
		mp, ok := f.pattern.(memberPlanner)
		if !f.isJSON || !ok || f.value.kind != selConstant && f.value.kind != selJSON || !oneKey(f.value) ||
			slices.ContainsFunc(f.dims, func(d dimension) bool { return d.sel.kind != selSystem && d.sel.kind != selJSON || !oneKey(d.sel) }) {
			continue
		}
		plan, ok := mp.PlanMembers(set)
		if !ok {
			continue
		}
		sel := func(s selector) memberSel {
			if slot, ok := plan.Recorded(s.raw); ok {
				return memberSel{slot: slot, recorded: true}
			}
			return memberSel{slot: set.Slot(s.path[0])}
		}
		mf := &memberFilter{set: set, plan: plan}
		if f.value.kind == selJSON {
			mf.value = sel(f.value)
		}
		for _, d := range f.dims {
			var ms memberSel
			if d.sel.kind == selJSON {
				ms = sel(d.sel)
			}
			mf.dims = append(mf.dims, ms)
		}
		f.members = mf
	}
}

// applyMembers is applyDoc on the group's member table, for a filter
// with a plan (c.members) and an event whose stored message is a JSON
// object (ev.object()): the same answer (TestMembersAgree, FuzzMembers).
// done false: the table cannot hold this event (a key it names occurs
// twice, or a key has escapes); applyDoc decides it.
//
// The first planned filter to look at an event loads the table (one
// parse of the message, shared with MatchView); its prefilter runs
// before, so that an event none of whose literals are there is not
// parsed, unless another planned filter has no prefilter and will load
// the table anyway (sc.loadsAnyway: then the search would spare nothing
// but the member test, which costs less). The filters after it skip their
// prefilters for the same reason.
func (c *compiled) applyMembers(ev *eventDoc, scope store.Scope, sc *scratch) (matched bool, dp datapoint, ok, done bool) {
	mf := c.members
	if ev.members == 0 {
		if !sc.loadsAnyway && len(c.pre)+len(c.preEsc) > 0 && !c.mayMatch(ev) {
			return false, dp, false, true
		}
		ev.members = 1 + int8(sc.members.Load(mf.set, ev.view))
		if n := mf.set.Len(); cap(sc.nums) < n {
			sc.nums = make([]numMemo, n)
		} else {
			sc.nums = sc.nums[:n]
			clear(sc.nums)
		}
	}
	switch pattern.LoadState(ev.members - 1) {
	case pattern.NotObject:
		return false, dp, false, true
	case pattern.Unshared:
		return false, dp, false, false
	}
	if !mf.plan.Match(&sc.members) {
		return false, dp, false, true
	}
	if c.value.kind == selConstant {
		dp.value = c.value.num
	} else {
		n := &sc.nums[mf.value.slot]
		if !n.done {
			// Text and Lookup differ only in a string's invalid UTF-8 and
			// in null, neither of which is a number: one memo per slot.
			n.done = true
			if text, ok := mf.value.text(&sc.members); ok {
				n.v, n.ok = metricValue(text)
			}
		}
		if !n.ok {
			return true, dp, false, true
		}
		dp.value = n.v
	}
	if len(c.dims) > 0 {
		sc.dims = sc.dims[:0]
		for i, d := range c.dims {
			var v string
			ok := true
			if d.sel.kind == selSystem {
				v = systemField(d.sel, scope)
			} else {
				v, ok = mf.dims[i].text(&sc.members)
			}
			if !ok || v == "" || len(v) > maxDimensionValue {
				return true, dp, false, true
			}
			sc.dims = append(sc.dims, v)
		}
		dp.dims = sc.dims
	}
	return true, dp, true, true
}
