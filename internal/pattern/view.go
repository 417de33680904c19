package pattern

// View is one message's structure, parsed lazily once and shared by every
// pattern a caller matches against the message (a log group's metric
// filters): whether the message is a JSON object and the key and value
// offsets of each top-level member, and the message's space-delimited
// fields as far as a pattern needed them. A JSON pattern matched through
// the view walks only the values its selectors name instead of validating
// and walking the whole message again; a space-delimited one reads the
// fields another split, splitting further only when it needs more. A view is reused from
// one message to the next (Reset) and allocates nothing once its slice
// has grown to the widest message; it is not safe for concurrent use.
type View struct {
	msg    string
	state  int8 // 0: not parsed yet; 1: not a JSON object; 2: parsed
	fields []viewField
	split  fieldSplit // the space-delimited fields split so far
}

// viewField is one top-level member: the raw key (between its quotes,
// escapes undecoded) and the value's offsets in the message.
type viewField struct {
	key        string
	esc        bool
	start, end int
	// dkey is key decoded, when esc and decoded (once for all the
	// patterns matched through the view).
	dkey    string
	decoded bool
}

// Reset points v at msg; the message is parsed on first use.
func (v *View) Reset(msg string) {
	v.msg, v.state, v.fields = msg, 0, v.fields[:0]
	v.split.fields, v.split.next, v.split.tabs = v.split.fields[:0], 0, 0
}

// parse validates the message as a JSON object exactly as jsonPattern.match
// does (the same scanners, the same depth rule: top-level values at depth
// 1) and records each member.
func (v *View) parse() bool {
	if v.state != 0 {
		return v.state == 2
	}
	v.state = 1
	s := v.msg
	i := skipWS(s, 0)
	if i >= len(s) || s[i] != '{' {
		return false
	}
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		i++
	} else {
		for {
			if i >= len(s) || s[i] != '"' {
				return false
			}
			kend, kesc, ok := scanString(s, i)
			if !ok {
				return false
			}
			key := s[i+1 : kend-1]
			i = skipWS(s, kend)
			if i >= len(s) || s[i] != ':' {
				return false
			}
			i = skipWS(s, i+1)
			start := i
			if i, ok = skipValue(s, i, 1); !ok {
				return false
			}
			v.fields = append(v.fields, viewField{key: key, esc: kesc, start: start, end: i})
			i = skipWS(s, i)
			if i >= len(s) {
				return false
			}
			if s[i] == ',' {
				i = skipWS(s, i+1)
				continue
			}
			if s[i] != '}' {
				return false
			}
			i++
			break
		}
	}
	if skipWS(s, i) != len(s) {
		return false
	}
	v.state = 2
	return true
}

// MatchView is Match for a message held in view (view.Reset(message)):
// the same answer, with a JSON pattern reading the view's members and a
// space-delimited one its fields instead of parsing the message itself.
// Term patterns match the message.
func (p *Pattern) MatchView(view *View) bool {
	switch {
	case p.all:
		return true
	case p.json != nil:
		return p.json.matchView(view, nil)
	case p.spaced != nil:
		return p.spaced.matchSplit(view.msg, nil, &view.split)
	}
	return p.Match(view.msg)
}

// ExtractValuesView is ExtractValues for a message held in view.
func (p *Pattern) ExtractValuesView(view *View, v *Values) bool {
	var ok bool
	switch {
	case p.json != nil:
		v.kv = v.kv[:0]
		ok = p.json.matchView(view, v)
	case p.spaced != nil:
		v.kv = v.kv[:0]
		ok = p.spaced.matchSplit(view.msg, v, &view.split)
	default:
		return p.ExtractValues(view.msg, v)
	}
	if !ok {
		v.kv = v.kv[:0] // as ExtractValues: nothing on false
	}
	return ok
}

// matchView is match on a parsed view: for each top-level member, in the
// message's order (duplicates included, as match sees them), the value is
// evaluated only when a selector names its key.
func (p *jsonPattern) matchView(view *View, ext *Values) bool {
	if !view.parse() {
		return false
	}
	e := jsonEval{pat: p, s: view.msg, ext: ext}
	root := p.root
	var child nodeSet
	for fi := range view.fields {
		f := &view.fields[fi]
		if len(root.fields) == 0 && root.anyField == nil {
			break
		}
		key := f.key
		if f.esc {
			if !f.decoded {
				f.dkey, f.decoded = unescape(key), true
			}
			key = f.dkey
		}
		child.n = 0
		if c := root.field(key); c != nil {
			child.add(c)
		}
		if root.anyField != nil {
			child.add(root.anyField)
		}
		if child.n == 0 {
			continue
		}
		if end, ok := e.value(f.start, &child, 1); !ok || end != f.end {
			// Cannot happen: parse validated this value with the same
			// scanners. Refusing keeps the answer match's.
			return false
		}
	}
	return e.eval(p.expr)
}

// LookupView is LookupJSON for a message held in view: the same answer,
// with the path's first key found among the view's members instead of by
// walking the message. A message that is not a JSON object has no
// members, and a path into an array at the top finds nothing in an
// object; those go to LookupJSON, which decides them as it always has.
func LookupView(view *View, path []string) (string, bool) {
	if len(path) == 0 || isIndexStep(path[0]) || !view.parse() {
		return LookupJSON(view.msg, path)
	}
	found := -1
	names := stepNamesOf(path[0])
	for fi := range view.fields {
		f := &view.fields[fi]
		if names.match(f.key, f.esc, path[0]) {
			found = fi // the last occurrence wins, as in LookupJSON
		}
	}
	if found < 0 {
		return "", false
	}
	start, _, ok := lookupValue(view.msg, view.fields[found].start, path[1:], 1)
	if !ok || start < 0 {
		return "", false
	}
	return scalarAt(view.msg, start, 0)
}

// HeadField is, for a space-delimited pattern whose only ellipsis is its
// last element ([ip, user, status=5*, bytes, ...]), the index of the
// field whose value ExtractValues records under key ("$bytes", or "$2"
// for an unnamed second element): such a pattern is matched through a
// View by splitting only the fields before its ellipsis, and the value of
// each of them is that field's text, so a caller that needs a few values
// reads them with FieldValue instead of extracting every field of the
// line. ok is false for any other pattern or key (a key the trailing
// fields would answer, a name that is also a number): extract then.
func (p *Pattern) HeadField(key string) (int, bool) {
	sp := p.spaced
	if sp == nil || len(key) < 2 || key[0] != '$' {
		return 0, false
	}
	k := len(sp.elems)
	if k < 2 || !sp.elems[k-1].ellipsis {
		return 0, false
	}
	for j := 0; j < k-1; j++ {
		if sp.elems[j].ellipsis {
			return 0, false
		}
	}
	name := key[1:]
	pos := canonicalInt(name)
	at := -1
	for j := 0; j < k-1; j++ {
		switch n := sp.elems[j].name; {
		case n == name && pos >= 0:
			return 0, false // "$7" naming an element called 7: Get's two readings
		case n == name:
			at = j // a name set twice keeps its last value (Values.Get)
		case n == "" && j+1 == pos:
			at = j
		}
	}
	return at, at >= 0
}

// FieldValue is the text of the message's field i (0-based) as a
// space-delimited pattern's values hold it (quotes and brackets off); it
// is valid only after MatchView(view) returned true for a pattern whose
// HeadField gave i (the fields are then split at least that far).
func (v *View) FieldValue(i int) string {
	f := v.split.fields[i]
	return v.msg[f.vs:f.ve]
}
