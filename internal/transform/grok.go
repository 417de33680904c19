package transform

import (
	"errors"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"
)

// AWS's grok pattern library (DOC-TR "Supported grok patterns"), written here
// as RE2 from the documented descriptions. Definitions refer to others as
// %{NAME}; a %{NAME:field} inside a definition is a field the pattern emits
// beside its own value (HOSTPORT's PORT, SYSLOGPROG's program and pid,
// SYSLOGFACILITY's facility and priority), and only when the pattern is used
// directly with a field name. Every group in a definition is non-capturing:
// the compiler numbers the captures it makes itself.
//
// grokLibrary is a constant table: it is never written.
var grokLibrary = map[string]string{
	"USERNAME":             `[a-zA-Z0-9._-]+`,
	"USER":                 `%{USERNAME}`,
	"INT":                  `(?:[+-]?[0-9]+)`,
	"BASE10NUM":            `(?:[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+))`,
	"NUMBER":               `%{BASE10NUM}`,
	"BASE16NUM":            `(?:[+-]?(?:0[xX])?[0-9A-Fa-f]+)`,
	"POSINT":               `\b[1-9][0-9]*\b`,
	"NONNEGINT":            `\b[0-9]+\b`,
	"WORD":                 `\b\w+\b`,
	"NOTSPACE":             `\S+`,
	"SPACE":                `\s*`,
	"DATA":                 `.*?`,
	"GREEDYDATA":           `.*`,
	"GREEDYDATA_MULTILINE": `(?s:.*)`,
	"QUOTEDSTRING":         `(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')`,
	"UUID":                 `[A-Fa-f0-9]{8}-(?:[A-Fa-f0-9]{4}-){3}[A-Fa-f0-9]{12}`,
	"URN":                  `urn:[0-9A-Za-z][0-9A-Za-z-]{0,31}:(?:%[0-9a-fA-F]{2}|[0-9A-Za-z()+,.:=@;$_!*'/?#-])+`,
	"ARN":                  `arn:(?:aws|aws-cn|aws-us-gov):[A-Za-z0-9-]+:[A-Za-z0-9-]*:[0-9]*:[A-Za-z0-9_+=,.@-]+(?:[:/][A-Za-z0-9_+=,.@*-]+){0,5}`,
	"CISCOMAC":             `(?:[A-Fa-f0-9]{4}\.){2}[A-Fa-f0-9]{4}`,
	"WINDOWSMAC":           `(?:[A-Fa-f0-9]{2}-){5}[A-Fa-f0-9]{2}`,
	"COMMONMAC":            `(?:[A-Fa-f0-9]{2}:){5}[A-Fa-f0-9]{2}`,
	"MAC":                  `(?:%{CISCOMAC}|%{WINDOWSMAC}|%{COMMONMAC})`,
	"IPV4":                 `(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])`,
	"IPV6": `(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){6}%{IPV4}|(?:[0-9A-Fa-f]{1,4}:){1,7}:|` +
		`(?:[0-9A-Fa-f]{1,4}:){1,6}:[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,5}(?::[0-9A-Fa-f]{1,4}){1,2}|` +
		`(?:[0-9A-Fa-f]{1,4}:){1,4}(?::[0-9A-Fa-f]{1,4}){1,3}|(?:[0-9A-Fa-f]{1,4}:){1,3}(?::[0-9A-Fa-f]{1,4}){1,4}|` +
		`(?:[0-9A-Fa-f]{1,4}:){1,2}(?::[0-9A-Fa-f]{1,4}){1,5}|[0-9A-Fa-f]{1,4}:(?::[0-9A-Fa-f]{1,4}){1,6}|` +
		`::(?:ffff(?::0{1,4})?:)?%{IPV4}|:(?::[0-9A-Fa-f]{1,4}){1,7}|::)`,
	"IP":                 `(?:%{IPV6}|%{IPV4})`,
	"HOSTNAME":           `\b[0-9A-Za-z][0-9A-Za-z-]{0,62}(?:\.[0-9A-Za-z][0-9A-Za-z-]{0,62})*\.?`,
	"HOST":               `%{HOSTNAME}`,
	"IPORHOST":           `(?:%{IP}|%{HOSTNAME})`,
	"HOSTPORT":           `%{IPORHOST}:%{POSINT:PORT}`,
	"URIHOST":            `%{IPORHOST}(?::%{POSINT:port})?`,
	"UNIXPATH":           `(?:/[\w_%!$@:.,+~-]*)+(?:\?[\w_%!$@:.,+~=&/-]*)?`,
	"WINPATH":            `(?:[A-Za-z]+:|\\)(?:\\[^\\?*\s]*)+`,
	"PATH":               `(?:%{UNIXPATH}|%{WINPATH})`,
	"TTY":                `/dev/(?:pts|tty[pq]?)(?:\w+)?/?[0-9]+`,
	"URIPROTO":           `[A-Za-z](?:[A-Za-z0-9+\-.]+)+`,
	"URIPATH":            `(?:/[A-Za-z0-9$.+!*'(){},~:;=@#%&_\-]*)+`,
	"URIPARAM":           `\?[A-Za-z0-9$.+!*'|(){},~@#%&/=:;_?\-\[\]<>]*`,
	"URIPATHPARAM":       `%{URIPATH}(?:%{URIPARAM})?`,
	"URI":                `%{URIPROTO}://(?:%{USER}(?::[^@]*)?@)?(?:%{URIHOST})?(?:%{URIPATHPARAM})?`,
	"MONTH":              `\b(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|Jun(?:e)?|Jul(?:y)?|Aug(?:ust)?|Sep(?:tember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\b`,
	"MONTHNUM":           `(?:1[0-2]|0?[1-9])`,
	"MONTHNUM2":          `(?:0[1-9]|1[0-2])`,
	"MONTHDAY":           `(?:3[01]|[12][0-9]|0?[1-9])`,
	"YEAR":               `(?:[0-9]{4}|[0-9]{2})`,
	"DAY":                `\b(?:Mon(?:day)?|Tue(?:sday)?|Wed(?:nesday)?|Thu(?:rsday)?|Fri(?:day)?|Sat(?:urday)?|Sun(?:day)?)\b`,
	"HOUR":               `(?:2[0-3]|[01]?[0-9])`,
	"MINUTE":             `[0-5][0-9]`,
	"SECOND":             `(?:60|[0-5]?[0-9])(?:[:.,][0-9]+)?`,
	"TIME":               `%{HOUR}:%{MINUTE}:%{SECOND}`,
	"DATE_US":            `%{MONTHNUM}[/-]%{MONTHDAY}[/-]%{YEAR}`,
	"DATE_EU":            `%{MONTHDAY}[./-]%{MONTHNUM}[./-]%{YEAR}`,
	"ISO8601_TIMEZONE":   `(?:Z|[+-]%{HOUR}:?%{MINUTE})`,
	"ISO8601_SECOND":     `%{SECOND}`,
	"TIMESTAMP_ISO8601":  `%{YEAR}-%{MONTHNUM}-%{MONTHDAY}[T ]%{HOUR}:%{MINUTE}(?::%{SECOND})?%{ISO8601_TIMEZONE}?`,
	"DATE":               `(?:%{DATE_US}|%{DATE_EU})`,
	"DATESTAMP":          `%{DATE}[- ]%{TIME}`,
	"TZ":                 `(?:[PMCE][SD]T|UTC)`,
	"DATESTAMP_RFC822":   `%{DAY} %{MONTH} %{MONTHDAY} %{YEAR} %{TIME} %{TZ}`,
	"DATESTAMP_RFC2822":  `%{DAY}, %{MONTHDAY} %{MONTH} %{YEAR} %{TIME} %{ISO8601_TIMEZONE}`,
	"DATESTAMP_OTHER":    `%{DAY} %{MONTH} %{MONTHDAY} %{TIME} %{TZ} %{YEAR}`,
	"DATESTAMP_EVENTLOG": `(?:[0-9]{4}|[0-9]{2})(?:0[1-9]|1[0-2])(?:3[01]|[12][0-9]|0[1-9])(?:2[0-3]|[01][0-9])[0-5][0-9](?:60|[0-5][0-9])`,
	"LOGLEVEL": `(?:[Aa]lert|ALERT|[Tt]race|TRACE|[Dd]ebug|DEBUG|[Nn]otice|NOTICE|[Ii]nfo|INFO|[Ww]arn(?:ing)?|WARN(?:ING)?|` +
		`[Ee]rr(?:or)?|ERR(?:OR)?|[Cc]rit(?:ical)?|CRIT(?:ICAL)?|[Ff]atal|FATAL|[Ss]evere|SEVERE|[Ee]merg(?:ency)?|EMERG(?:ENCY)?)`,
	"HTTPDATE":        `%{MONTHDAY}/%{MONTH}/%{YEAR}:%{TIME} %{INT}`,
	"SYSLOGTIMESTAMP": `%{MONTH} +%{MONTHDAY} %{TIME}`,
	"PROG":            `[\w./%-]+`,
	"SYSLOGPROG":      `%{PROG:program}(?:\[%{POSINT:pid}\])?`,
	"SYSLOGHOST":      `%{IPORHOST}`,
	"SYSLOGFACILITY":  `<%{NONNEGINT:facility}\.%{NONNEGINT:priority}>`,
}

// Per-pattern use limits in one match (DOC-TR table); unlisted: 20.
var grokLimit = map[string]int{
	"NOTSPACE": 5, "SPACE": 5, "DATA": 5, "GREEDYDATA": 5, "GREEDYDATA_MULTILINE": 1, "ARN": 5, "IPV6": 5, "IP": 5,
	"HOSTNAME": 5, "HOST": 5, "IPORHOST": 5, "HOSTPORT": 5, "URIHOST": 5, "WINPATH": 5, "PATH": 5, "URIPARAM": 5,
	"URIPATHPARAM": 5, "URI": 5, "SYSLOGHOST": 5, "APACHE_ACCESS_LOG": 1, "NGINX_ACCESS_LOG": 1, "SYSLOG5424": 1,
}

// The patterns that together may be used at most five times.
var grokGreedy = map[string]bool{"URI": true, "URIPARAM": true, "URIPATHPARAM": true, "SPACE": true, "DATA": true,
	"GREEDYDATA": true, "GREEDYDATA_MULTILINE": true}

const maxGrokPatterns = 20

// expandGrok expands %{NAME} references of a library definition into RE2,
// without captures (nested field markers are dropped).
func expandGrok(def string, depth int) string {
	if depth > 10 {
		return def
	}
	return grokRef.ReplaceAllStringFunc(def, func(m string) string {
		sub := grokRef.FindStringSubmatch(m)
		return "(?:" + expandGrok(grokLibrary[sub[1]], depth+1) + ")"
	})
}

// grokRef is one %{NAME} or %{NAME:FIELD} reference.
var grokRef = regexp.MustCompile(`%\{([A-Za-z0-9_]+)(?::([^{}:]+))?\}`)

// grokField is one value a compiled grok pattern emits.
type grokField struct {
	name    string // key path in the event
	group   int    // capture group
	pattern string // the library pattern it came from
}

type grokMatcher struct {
	re     *regexp.Regexp
	fields []grokField
	common string    // APACHE_ACCESS_LOG, NGINX_ACCESS_LOG or SYSLOG5424, emitted by commonLog
	cgroup int       // the common pattern's capture
	fast   *grokFast // the literal splitter, for expressions of its shape (grokfast.go)
	// insts is the size of the compiled program: RE2's matching costs up
	// to insts steps per byte of input (see grokWorkBudget).
	insts int
}

// grokWorkBudget bounds one grok match's work, in program instructions
// times input bytes. RE2 is linear in both, but their product is not small:
// twenty library patterns (IPV6, URI, HOSTNAME...) compile to ~20,000
// instructions, and a 256 KB event through them would take seconds of one
// core at ingest, for every event of the group. Past the budget (2^26: about
// 60 ms of matching), the expression is treated as not matching that event
// (its fields are not added; the event is stored as sent). The shapes
// people use stay far inside it: "%{NOTSPACE} %{NOTSPACE} %{GREEDYDATA}" is
// 16 instructions (4 MB of input; and its splitter needs no budget), an
// Apache access log ~1,300 (50 KB lines). AWS documents no such limit; Cairn
// adds it so that no configuration can make ingest hang.
const grokWorkBudget = 1 << 26

// Common log formats, matched by their own expressions; commonLog turns the
// captures into AWS's documented keys and types.
var (
	apacheRE = `(?P<remote_host>%{IPORHOST}) (?:-|%{USER}) (?P<auth_user>%{USER}|-) \[(?P<timestamp>%{HTTPDATE})\] ` +
		`"(?P<http_method>%{WORD}) (?P<request>\S+) HTTP/(?P<http_version>%{NUMBER})" (?P<status_code>%{INT}) (?P<response_size>%{INT}|-)`
	nginxRE = apacheRE + ` "(?P<referrer>[^"]*)" "(?P<agent>[^"]*)"`
	// RFC 5424: <pri>version timestamp hostname app procid msgid [sd]... msg
	syslogRE = `<(?P<pri>[0-9]{1,3})>(?P<version>[0-9]{1,2}) (?P<timestamp>\S+) (?P<hostname>\S+) (?P<app>\S+) (?P<procid>\S+) ` +
		`(?P<msg_id>\S+) (?:-|\[(?P<structured_data>(?:[^\]"\\]|"(?:[^"\\]|\\.)*"|\\.)*)\])(?: ?(?P<message>(?s:.*)))?`
)

func commonDef(name string) string {
	switch name {
	case "APACHE_ACCESS_LOG":
		return apacheRE
	case "NGINX_ACCESS_LOG":
		return nginxRE
	}
	return syslogRE
}

func compileGrok(p *Grok) (func(*event) error, error) {
	if err := checkPath("grok", "source", p.Source, false); err != nil && p.Source != "@message" {
		return nil, err
	}
	m, err := CompileGrok(p.Match)
	if err != nil {
		return nil, err
	}
	src := p.Source
	return func(ev *event) error {
		s, err := ev.source(src)
		if err != nil {
			return err
		}
		return m.apply(ev, s)
	}, nil
}

// CompileGrok compiles a grok match expression with AWS's rules.
func CompileGrok(match string) (*grokMatcher, error) {
	if match == "" || len(match) > 512 {
		return nil, configErr("grok: match must be 1 to 512 characters long.")
	}
	var re strings.Builder
	m := &grokMatcher{}
	uses := map[string]int{}
	total, greedy, group := 0, 0, 0
	last := 0
	refs := grokRef.FindAllStringSubmatchIndex(match, -1)
	for i, loc := range refs {
		re.WriteString(regexp.QuoteMeta(match[last:loc[0]]))
		last = loc[1]
		name := match[loc[2]:loc[3]]
		field := ""
		if loc[4] >= 0 {
			field = match[loc[4]:loc[5]]
			if err := checkPath("grok", "field name", field, true); err != nil {
				return nil, err
			}
		}
		total++
		uses[name]++
		if grokGreedy[name] {
			greedy++
		}
		limit, ok := grokLimit[name]
		if !ok {
			limit = 20
		}
		switch name {
		case "APACHE_ACCESS_LOG", "NGINX_ACCESS_LOG", "SYSLOG5424":
			if i != 0 || loc[0] != 0 {
				return nil, configErr("grok: the %s pattern must be the first pattern in match.", name)
			}
			if m.common != "" {
				return nil, configErr("grok: match can contain only one common log pattern.")
			}
			m.common = name
			group++
			m.cgroup = group
			re.WriteString("(" + grokNamedToPlain(commonDef(name)) + ")")
			group += strings.Count(commonDef(name), "(?P<")
			continue
		}
		if _, known := grokLibrary[name]; !known {
			return nil, configErr("grok: %%{%s} is not a supported grok pattern.", name)
		}
		if m.common != "" && name != "DATA" && name != "GREEDYDATA" && name != "GREEDYDATA_MULTILINE" {
			return nil, configErr("grok: only DATA, GREEDYDATA or GREEDYDATA_MULTILINE can follow a common log pattern.")
		}
		if m.common != "" && total > 2 {
			return nil, configErr("grok: a common log pattern can be followed by only one DATA, GREEDYDATA or GREEDYDATA_MULTILINE pattern.")
		}
		if uses[name] > limit {
			return nil, configErr("grok: the %s pattern can be used at most %d times in match.", name, limit)
		}
		if field == "" {
			re.WriteString("(?:" + expandGrok(grokLibrary[name], 0) + ")")
			continue
		}
		group++
		m.fields = append(m.fields, grokField{name: field, group: group, pattern: name})
		// Emitted sub-fields: captures for the definition's own markers.
		def := grokLibrary[name]
		var b strings.Builder
		lastSub := 0
		for _, sl := range grokRef.FindAllStringSubmatchIndex(def, -1) {
			b.WriteString(def[lastSub:sl[0]])
			lastSub = sl[1]
			sub := expandGrok(grokLibrary[def[sl[2]:sl[3]]], 0)
			if sl[4] >= 0 {
				group++
				m.fields = append(m.fields, grokField{name: def[sl[4]:sl[5]], group: group})
				b.WriteString("(" + sub + ")")
			} else {
				b.WriteString("(?:" + sub + ")")
			}
		}
		b.WriteString(def[lastSub:])
		re.WriteString("(" + b.String() + ")")
	}
	re.WriteString(regexp.QuoteMeta(match[last:]))
	if total == 0 {
		return nil, configErr("grok: match must contain at least one grok pattern.")
	}
	if total > maxGrokPatterns {
		return nil, configErr("grok: match can contain at most %d grok patterns.", maxGrokPatterns)
	}
	if greedy > 5 {
		return nil, configErr("grok: URI, URIPARAM, URIPATHPARAM, SPACE, DATA, GREEDYDATA and GREEDYDATA_MULTILINE can be used at most 5 times together.")
	}
	compiled, err := regexp.Compile(re.String())
	if err != nil {
		return nil, configErr("grok: match %q does not compile.", match)
	}
	m.re = compiled
	if re, err := syntax.Parse(re.String(), syntax.Perl); err == nil {
		if prog, err := syntax.Compile(re.Simplify()); err == nil {
			m.insts = len(prog.Inst)
		}
	}
	if m.common == "" {
		m.fast = grokFastPlan(match)
	}
	return m, nil
}

// grokNamedToPlain expands a common-log definition, keeping its (?P<...>)
// captures (their order is the one commonLog reads).
func grokNamedToPlain(def string) string { return expandGrok(def, 0) }

var errNoMatch = errors.New("the grok pattern does not match")

// find is the regular expression's FindStringSubmatchIndex, by the fast
// path when it decides.
// find returns the submatch indexes of s (nil: no match), in buf when the
// literal splitter decides.
func (m *grokMatcher) find(s string, buf []int) []int {
	if m.fast != nil {
		if idx, ok := m.fast.match(s, buf[:0]); ok {
			return idx
		}
	}
	if m.insts > 0 && len(s) > grokWorkBudget/m.insts {
		return nil
	}
	return m.re.FindStringSubmatchIndex(s)
}

func (m *grokMatcher) apply(ev *event, s string) error {
	idx := m.find(s, ev.idx)
	if idx == nil {
		return errNoMatch
	}
	if cap(idx) > cap(ev.idx) && cap(idx) <= 64 {
		ev.idx = idx[:0] // the splitter grew it: keep the larger buffer
	}
	if m.common != "" {
		if err := m.commonLog(ev, s, idx); err != nil {
			return err
		}
	}
	for _, f := range m.fields {
		a, b := idx[2*f.group], idx[2*f.group+1]
		if a < 0 {
			continue
		}
		v := s[a:b]
		if f.pattern == "QUOTEDSTRING" && len(v) >= 2 {
			v = v[1 : len(v)-1] // AWS's output drops the quotes
		}
		if err := ev.put(f.name, v, true); err != nil {
			return err
		}
	}
	return nil
}

// commonLog emits a common log format's keys (DOC-TR "Common log format
// examples"): numbers for status, size, pri and version; the HTTP date in ISO
// 8601 UTC; "-" user and procid omitted.
func (m *grokMatcher) commonLog(ev *event, s string, idx []int) error {
	names := m.re.SubexpNames()
	var pairs [][2]string
	for g := m.cgroup + 1; g < len(names); g++ {
		if names[g] == "" {
			break
		}
		a, b := idx[2*g], idx[2*g+1]
		if a < 0 {
			continue
		}
		pairs = append(pairs, [2]string{names[g], s[a:b]})
	}
	for _, kv := range pairs {
		k, v := kv[0], kv[1]
		var val any = v
		switch k {
		case "status_code", "response_size", "pri", "version":
			if v == "-" {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return errNoMatch
			}
			val = n
		case "auth_user", "procid":
			if v == "-" {
				continue
			}
		case "structured_data", "message":
			if v == "" {
				continue
			}
		case "timestamp":
			if m.common != "SYSLOG5424" {
				t, err := time.Parse("02/Jan/2006:15:04:05 -0700", v)
				if err == nil {
					val = t.UTC().Format("2006-01-02T15:04:05Z")
				}
			}
		}
		if err := ev.put(k, val, true); err != nil {
			return err
		}
	}
	return nil
}
