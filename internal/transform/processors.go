package transform

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Paths are dot-separated keys into the event ("outer.inner"). They are
// walked segment by segment with strings.Cut, not split into a slice: a
// transformer walks several paths per event, and a split allocates.

// getPath returns the value at path.
func getPath(root *Object, path string) (any, bool) {
	var cur any = root
	for rest, more := path, true; more; {
		var seg string
		seg, rest, more = strings.Cut(rest, ".")
		o, ok := cur.(*Object)
		if !ok {
			return nil, false
		}
		if cur, ok = o.Get(seg); !ok {
			return nil, false
		}
	}
	return cur, true
}

// parentOf returns the object holding path's last segment, creating the
// intermediate objects when create is set; ok is false when a non-object is in
// the way.
func parentOf(root *Object, path string, create bool) (*Object, string, bool) {
	o := root
	for {
		seg, rest, more := strings.Cut(path, ".")
		if !more {
			return o, seg, true
		}
		path = rest
		v, ok := o.Get(seg)
		if !ok {
			if !create {
				return nil, "", false
			}
			n := &Object{}
			o.Set(seg, n)
			o = n
			continue
		}
		n, isObj := v.(*Object)
		if !isObj {
			return nil, "", false
		}
		o = n
	}
}

// lookup returns the object holding path, its last segment and the value
// there; ok is false when the path leads nowhere or nothing is there.
func (ev *event) lookup(path string) (o *Object, last string, v any, ok bool) {
	if o, last, ok = parentOf(ev.root, path, false); !ok {
		return nil, "", nil, false
	}
	v, ok = o.Get(last)
	return o, last, v, ok
}

// mapString replaces the string at path with fn of it; a missing key and a
// value that is not a string are left alone (the string mutators' rule).
func (ev *event) mapString(path string, fn func(string) any) {
	if o, last, v, ok := ev.lookup(path); ok {
		if s, isStr := v.(string); isStr {
			o.Set(last, fn(s))
		}
	}
}

// checkPathText checks an entry's key path (required) and a text member of
// it, 1 to max characters long.
func checkPathText(proc, pathField, path, textField, text string, max int) error {
	if err := checkPath(proc, pathField, path, true); err != nil {
		return err
	}
	if text == "" || len(text) > max {
		return configErr("%s: %s must be 1 to %d characters long.", proc, textField, max)
	}
	return nil
}

// checkEntries checks a processor's entry count (1 to hi) and each entry.
func checkEntries[E any](proc string, entries []E, hi int, check func(E) error) error {
	if err := checkCount(proc, "entries", len(entries), 1, hi); err != nil {
		return err
	}
	for _, e := range entries {
		if err := check(e); err != nil {
			return err
		}
	}
	return nil
}

var errTooManyFields = fmt.Errorf("a transformer can extract at most %d fields from a log event", MaxFields)

// put sets path to v unless it exists and overwrite is false; it counts new
// keys against MaxFields.
func (ev *event) put(path string, v any, overwrite bool) error {
	o, k, ok := parentOf(ev.root, path, true)
	if !ok {
		return fmt.Errorf("cannot set %s: a parent is not an object", path)
	}
	if _, exists := o.Get(k); exists {
		if overwrite {
			o.Set(k, v)
		}
		return nil
	}
	ev.fields++
	if ev.fields > MaxFields {
		return errTooManyFields
	}
	o.Set(k, v)
	return nil
}

// source returns the text a parser reads: the raw message for "@message" (the
// default), else the string at the path.
func (ev *event) source(path string) (string, error) {
	if path == "" || path == "@message" {
		return ev.msg, nil
	}
	v, ok := getPath(ev.root, path)
	if !ok {
		return "", fmt.Errorf("source key %s does not exist", path)
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("source key %s is not a string", path)
	}
	return s, nil
}

// merge adds the members of o at dest (the root when dest is empty).
func (ev *event) merge(dest string, o *Object, overwrite bool) error {
	if dest == "" {
		for i, k := range o.keys {
			if err := ev.put(k, o.vals[i], overwrite); err != nil {
				return err
			}
		}
		return nil
	}
	return ev.put(dest, o, overwrite)
}

func compileOne(name string, val any, first bool) (func(*event) error, error) {
	switch p := val.(type) {
	case *ParseJSON:
		return compileParseJSON(p, first)
	case *Grok:
		return compileGrok(p)
	case *CSV:
		return compileCSV(p)
	case *ParseKeyValue:
		return compileKeyValue(p)
	case *ParseToOCSF:
		return compileOCSF(p)
	case *SourceOnly:
		if p.Source != "" && p.Source != "@message" {
			return nil, configErr("%s: source must be @message.", name)
		}
		return vended(name), nil
	case *AddKeys:
		return compileAddKeys(p)
	case *WithKeys:
		return compileWithKeys(name, p)
	case *MoveKeys:
		return compileMove(p.Entries, "moveKeys", true)
	case *CopyValue:
		return compileMove(p.Entries, "copyValue", false)
	case *RenameKeys:
		return compileRename(p)
	case *ListToMap:
		return compileListToMap(p)
	case *SplitString:
		return compileSplit(p)
	case *SubstituteString:
		return compileSubstitute(p)
	case *TypeConverter:
		return compileTypeConverter(p)
	case *DateTimeConverter:
		return compileDateTime(p)
	}
	return nil, configErr("unknown processor %s", name)
}

func compileParseJSON(p *ParseJSON, first bool) (func(*event) error, error) {
	if err := checkPath("parseJSON", "source", p.Source, false); err != nil && p.Source != "@message" {
		return nil, err
	}
	if err := checkPath("parseJSON", "destination", p.Destination, false); err != nil {
		return nil, err
	}
	if first && p.Source != "" && p.Source != "@message" {
		// "When using parseJSON as the first processor, you must parse the
		// entire log event using @message as the source field." (DOC-TR)
		return nil, configErr("parseJSON: when parseJSON is the first processor, its source must be @message.")
	}
	src, dest := p.Source, p.Destination
	return func(ev *event) error {
		s, err := ev.source(src)
		if err != nil {
			return err
		}
		v, err := parseJSON(s)
		if err != nil {
			return errors.New("the source is not valid JSON")
		}
		o, ok := v.(*Object)
		if !ok {
			return errors.New("the source is not a JSON object")
		}
		return ev.merge(dest, o, false)
	}, nil
}

func compileCSV(p *CSV) (func(*event) error, error) {
	quote, delim := byte('"'), ","
	if p.QuoteCharacter != nil {
		if len(*p.QuoteCharacter) != 1 {
			return nil, configErr("csv: quoteCharacter must be a single character.")
		}
		quote = (*p.QuoteCharacter)[0]
	}
	if p.Delimiter != nil {
		// One character, or the two-character escapes \t (tab) and \s
		// (space) (DOC-TR csv; reference §5 #13).
		switch d := *p.Delimiter; {
		case d == `\t`:
			delim = "\t"
		case d == `\s`:
			delim = " "
		case len([]rune(d)) == 1:
			delim = d
		default:
			return nil, configErr("csv: delimiter must be a single character, or \\t or \\s.")
		}
	}
	if len(p.Columns) > 100 {
		return nil, configErr("csv: columns can have at most 100 entries.")
	}
	for _, c := range p.Columns {
		if c == "" || len(c) > 128 {
			return nil, configErr("csv: each column name must be 1 to 128 characters long.")
		}
	}
	if err := checkPath("csv", "destination", p.Destination, false); err != nil {
		return nil, err
	}
	cols, src, dest := p.Columns, p.Source, p.Destination
	return func(ev *event) error {
		s, err := ev.source(src)
		if err != nil {
			return err
		}
		vals := splitCSV(s, delim, quote)
		o := &Object{}
		for i, v := range vals {
			name := "column_" + strconv.Itoa(i+1)
			if i < len(cols) {
				name = cols[i]
			}
			o.Set(name, v)
		}
		return ev.merge(dest, o, false)
	}, nil
}

// splitCSV splits one line; a quoted value keeps delimiters and loses its
// quotes, a doubled quote inside one is a literal quote.
func splitCSV(s, delim string, quote byte) []string {
	var out []string
	var cur strings.Builder
	inQ := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case inQ && c == quote && i+1 < len(s) && s[i+1] == quote:
			cur.WriteByte(quote)
			i += 2
		case c == quote:
			inQ = !inQ
			i++
		case !inQ && strings.HasPrefix(s[i:], delim):
			out = append(out, cur.String())
			cur.Reset()
			i += len(delim)
		default:
			cur.WriteByte(c)
			i++
		}
	}
	return append(out, cur.String())
}

func compileKeyValue(p *ParseKeyValue) (func(*event) error, error) {
	if err := checkPath("parseKeyValue", "destination", p.Destination, false); err != nil {
		return nil, err
	}
	fd, kd := p.FieldDelimiter, p.KeyValueDelimiter
	if fd == "" {
		fd = "&"
	}
	if kd == "" {
		kd = "="
	}
	src, dest, prefix, nonMatch, over := p.Source, p.Destination, p.KeyPrefix, p.NonMatchValue, p.OverwriteIfExists
	return func(ev *event) error {
		s, err := ev.source(src)
		if err != nil {
			return err
		}
		o := &Object{}
		for _, piece := range strings.Split(s, fd) {
			k, v, found := strings.Cut(piece, kd)
			if !found {
				// A piece without the delimiter takes nonMatchValue; with
				// none configured it is dropped (reference §2.3, unverified).
				if nonMatch == "" || piece == "" {
					continue
				}
				k, v = piece, nonMatch
			}
			if k == "" {
				continue
			}
			o.Set(prefix+k, v)
		}
		return ev.merge(dest, o, over)
	}, nil
}

func compileAddKeys(p *AddKeys) (func(*event) error, error) {
	err := checkEntries("addKeys", p.Entries, 5, func(e AddKeyEntry) error {
		return checkPathText("addKeys", "key", e.Key, "value", e.Value, 256)
	})
	if err != nil {
		return nil, err
	}
	// The values are boxed once here, not once per event.
	type entry struct {
		key       string
		value     any
		overwrite bool
	}
	entries := make([]entry, len(p.Entries))
	for i, e := range p.Entries {
		entries[i] = entry{e.Key, e.Value, e.OverwriteIfExists}
	}
	return func(ev *event) error {
		for _, e := range entries {
			if err := ev.put(e.key, e.value, e.overwrite); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

func compileWithKeys(name string, p *WithKeys) (func(*event) error, error) {
	max := 10
	if name == "deleteKeys" {
		max = 5
	}
	if err := checkCount(name, "withKeys", len(p.WithKeys), 1, max); err != nil {
		return nil, err
	}
	for _, k := range p.WithKeys {
		if err := checkPath(name, "withKeys", k, true); err != nil {
			return nil, err
		}
	}
	keys := p.WithKeys
	if name == "deleteKeys" {
		return func(ev *event) error {
			for _, k := range keys {
				if o, last, ok := parentOf(ev.root, k, false); ok {
					o.Delete(last)
				}
			}
			return nil
		}, nil
	}
	var fn func(string) string
	switch name {
	case "lowerCaseString":
		fn = strings.ToLower
	case "upperCaseString":
		fn = strings.ToUpper
	default:
		fn = strings.TrimSpace
	}
	return func(ev *event) error {
		for _, k := range keys {
			if o, last, v, ok := ev.lookup(k); ok {
				// A string already in the case asked for is left as it
				// is: setting it again would only box it again.
				if s, isStr := v.(string); isStr {
					if t := fn(s); t != s {
						o.Set(last, t)
					}
				}
			}
		}
		return nil
	}, nil
}

func mustString(v any, ok bool) (string, bool) {
	if !ok {
		return "", false
	}
	s, isStr := v.(string)
	return s, isStr
}

// compileMove is moveKeys (move: the source is removed) and copyValue.
func compileMove(entries []SourceTarget, name string, move bool) (func(*event) error, error) {
	err := checkEntries(name, entries, 5, func(e SourceTarget) error {
		if move || !strings.HasPrefix(e.Source, "@") {
			if err := checkPath(name, "source", e.Source, true); err != nil {
				return err
			}
		} else if !isMetaKey(e.Source) {
			return configErr("copyValue: %s is not a metadata key (use @logGroupName, @logGroupStream, @accountId or @regionName).", e.Source)
		}
		return checkPath(name, "target", e.Target, true)
	})
	if err != nil {
		return nil, err
	}
	return func(ev *event) error {
		for _, e := range entries {
			var v any
			if !move && isMetaKey(e.Source) {
				v = ev.meta.value(e.Source)
			} else {
				o, last, val, ok := ev.lookup(e.Source)
				if !ok {
					continue
				}
				if move {
					// moveKeys puts the key into the object at target,
					// keeping its name (DOC-TR: outer_key1.inner_key1 moved
					// to outer_key2 becomes outer_key2.inner_key1); a target
					// that is not an object is the new full path.
					dest := e.Target
					if t, ok := getPath(ev.root, e.Target); ok {
						if _, isObj := t.(*Object); isObj {
							dest = e.Target + "." + last
						}
					}
					if tv, exists := getPath(ev.root, dest); exists && !e.OverwriteIfExists {
						_ = tv
						continue
					}
					o.Delete(last)
					ev.fields--
					if err := ev.put(dest, val, true); err != nil {
						return err
					}
					continue
				}
				v = deepCopy(val)
			}
			if err := ev.put(e.Target, v, e.OverwriteIfExists); err != nil {
				return err
			}
		}
		return nil
	}, nil
}

func isMetaKey(k string) bool {
	switch k {
	case "@logGroupName", "@logGroupStream", "@accountId", "@regionName":
		return true
	}
	return false
}

func (m Metadata) value(k string) string {
	switch k {
	case "@logGroupName":
		return m.LogGroupName
	case "@logGroupStream":
		return m.LogStreamName
	case "@accountId":
		return m.AccountID
	}
	return m.Region
}

func compileRename(p *RenameKeys) (func(*event) error, error) {
	err := checkEntries("renameKeys", p.Entries, 5, func(e RenameKeyEntry) error {
		return checkPathText("renameKeys", "key", e.Key, "renameTo", e.RenameTo, 128)
	})
	if err != nil {
		return nil, err
	}
	entries := p.Entries
	return func(ev *event) error {
		for _, e := range entries {
			o, last, ok := parentOf(ev.root, e.Key, false)
			if !ok {
				continue
			}
			i := o.index(last)
			if i < 0 {
				continue
			}
			if j := o.index(e.RenameTo); j >= 0 {
				if !e.OverwriteIfExists {
					continue
				}
				o.Delete(e.RenameTo)
				if j < i {
					i--
				}
			}
			o.keys[i] = e.RenameTo // in place: the key keeps its position
		}
		return nil
	}, nil
}

func compileListToMap(p *ListToMap) (func(*event) error, error) {
	if err := checkPath("listToMap", "source", p.Source, true); err != nil {
		return nil, err
	}
	if p.Key == "" {
		return nil, configErr("listToMap: key is required.")
	}
	if err := checkPath("listToMap", "target", p.Target, false); err != nil {
		return nil, err
	}
	if p.Flatten && p.FlattenedElement == "" {
		return nil, configErr("listToMap: flattenedElement is required when flatten is true.")
	}
	if p.FlattenedElement != "" && p.FlattenedElement != "first" && p.FlattenedElement != "last" {
		return nil, configErr("listToMap: flattenedElement must be first or last.")
	}
	c := *p
	return func(ev *event) error {
		v, ok := getPath(ev.root, c.Source)
		if !ok {
			return nil
		}
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("source key %s is not a list", c.Source)
		}
		out := &Object{}
		for _, item := range list {
			o, ok := item.(*Object)
			if !ok {
				continue
			}
			kv, ok := o.Get(c.Key)
			if !ok {
				continue
			}
			k, ok := scalarText(kv)
			if !ok {
				continue
			}
			var val any = deepCopy(o)
			if c.ValueKey != "" {
				if val, ok = o.Get(c.ValueKey); !ok {
					continue
				}
				val = deepCopy(val)
			}
			prev, exists := out.Get(k)
			switch {
			case c.Flatten && c.FlattenedElement == "first":
				if !exists {
					out.Set(k, val)
				}
			case c.Flatten:
				out.Set(k, val)
			case exists:
				out.Set(k, append(prev.([]any), val))
			default:
				out.Set(k, []any{val})
			}
		}
		return ev.merge(c.Target, out, false)
	}, nil
}

// scalarText renders a string, number or bool as a map key.
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case Number:
		return string(x), true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return "", false
}

func compileSplit(p *SplitString) (func(*event) error, error) {
	err := checkEntries("splitString", p.Entries, 10, func(e SplitStringEntry) error {
		return checkPathText("splitString", "source", e.Source, "delimiter", e.Delimiter, 128)
	})
	if err != nil {
		return nil, err
	}
	entries := p.Entries
	return func(ev *event) error {
		for _, e := range entries {
			ev.mapString(e.Source, func(s string) any {
				parts := strings.Split(s, e.Delimiter)
				list := make([]any, len(parts))
				for i, x := range parts {
					list[i] = x
				}
				return list
			})
		}
		return nil
	}, nil
}

// backref finds $1 and ${name} in a replacement.
var backref = regexp.MustCompile(`\$(\d+|\{[A-Za-z_][A-Za-z0-9_]*\})`)

func compileSubstitute(p *SubstituteString) (func(*event) error, error) {
	if err := checkCount("substituteString", "entries", len(p.Entries), 1, 10); err != nil {
		return nil, err
	}
	type entry struct {
		source string
		re     *regexp.Regexp
		to     string
	}
	var list []entry
	for _, e := range p.Entries {
		if err := checkPath("substituteString", "source", e.Source, true); err != nil {
			return nil, err
		}
		if e.From == "" || len(e.From) > 128 || e.To == "" || len(e.To) > 128 {
			return nil, configErr("substituteString: from and to must be 1 to 128 characters long.")
		}
		// from is a Java regex; RE2 accepts the common subset, (?P<name>)
		// groups included. Lookarounds and backreferences in the pattern
		// are refused here (RE2 cannot run them in linear time).
		re, err := regexp.Compile(e.From)
		if err != nil {
			return nil, configErr("substituteString: from %q is not a valid regular expression.", e.From)
		}
		refs := backref.FindAllString(e.To, -1)
		if len(refs) > 10 {
			return nil, configErr("substituteString: to can have at most 10 backreferences.")
		}
		seen := map[string]int{}
		for _, r := range refs {
			seen[r]++
			if seen[r] > 2 {
				return nil, configErr("substituteString: to can repeat a backreference at most twice.")
			}
		}
		// Java writes $1 and ${name}; Go's Expand reads $1 greedily as
		// ${1...}, so every reference is braced.
		to := backref.ReplaceAllStringFunc(e.To, func(m string) string {
			if m[1] == '{' {
				return m
			}
			return "${" + m[1:] + "}"
		})
		list = append(list, entry{e.Source, re, to})
	}
	return func(ev *event) error {
		for _, e := range list {
			ev.mapString(e.source, func(s string) any { return e.re.ReplaceAllString(s, e.to) })
		}
		return nil
	}, nil
}

func compileTypeConverter(p *TypeConverter) (func(*event) error, error) {
	// The model allows 5 entries, the user guide 10; the model is what the
	// SDKs and the protocol check (reference §5 #10).
	err := checkEntries("typeConverter", p.Entries, 5, func(e TypeConverterEntry) error {
		if err := checkPath("typeConverter", "key", e.Key, true); err != nil {
			return err
		}
		switch e.Type {
		case "boolean", "integer", "double", "string":
			return nil
		}
		return configErr("typeConverter: type must be one of boolean, integer, double, string.")
	})
	if err != nil {
		return nil, err
	}
	entries := p.Entries
	return func(ev *event) error {
		for _, e := range entries {
			o, last, v, ok := ev.lookup(e.Key)
			if !ok {
				continue
			}
			nv, err := convert(v, e.Type)
			if err != nil {
				return fmt.Errorf("cannot convert %s to %s", e.Key, e.Type)
			}
			o.Set(last, nv)
		}
		return nil
	}, nil
}

func convert(v any, typ string) (any, error) {
	text, ok := scalarText(v)
	if !ok {
		return nil, errors.New("not a scalar")
	}
	text = strings.TrimSpace(text)
	switch typ {
	case "string":
		return text, nil
	case "boolean":
		b, err := strconv.ParseBool(strings.ToLower(text))
		return b, err
	case "integer":
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			// "12.0" is an integer to Java's parsers only when whole.
			f, ferr := strconv.ParseFloat(text, 64)
			if ferr != nil || f != float64(int64(f)) {
				return nil, err
			}
			n = int64(f)
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(text, 64)
	return f, err
}
