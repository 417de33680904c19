// Package syslog receives syslog messages: it parses RFC 5424 and RFC 3164
// (BSD) messages, frames them off TCP streams (RFC 6587 octet counting and
// newline framing) and UDP datagrams, and hands each parsed Message to a
// handler with the sender's address.
//
// Data flows: net.Conn / net.PacketConn → framing (ReadFrame: one message's
// bytes, bounded) → Parse (a Message; a line that is not syslog at all is kept
// whole as the message, with RFC 3164's defaults) → Listener.Handle. Nothing
// here knows about log groups: package logs/syslogconfig turns messages into
// log events. Every input is bounded (message length, connections, idle
// time) and no input makes a function panic.
package syslog

import (
	"bytes"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"
)

// Message is one syslog message.
type Message struct {
	Format    string    // "rfc5424", "rfc3164", or "" (no PRI: the line as it came)
	Facility  int       // 0–23
	Severity  int       // 0–7
	Version   int       // RFC 5424's VERSION; 0 for the others
	Timestamp time.Time // zero when the message has none (or "-")
	Hostname  string
	AppName   string // RFC 3164: the TAG
	ProcID    string
	MsgID     string
	// StructuredData holds RFC 5424's SD-ELEMENTs in order.
	StructuredData []Element
	Message        string
}

// Element is one SD-ELEMENT: an SD-ID and its parameters in order.
type Element struct {
	ID     string
	Params []Param
}

// Param is one SD-PARAM.
type Param struct {
	Name, Value string
}

// Facility and severity names (RFC 5424 §6.2.1), which the stored events use.
var facilities = [...]string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
	"authpriv", "ftp", "ntp", "security", "console", "solaris-cron", "local0", "local1", "local2", "local3",
	"local4", "local5", "local6", "local7"}

var severities = [...]string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// FacilityName is the keyword of facility f ("kern", "local7"), or its number.
func FacilityName(f int) string {
	if f >= 0 && f < len(facilities) {
		return facilities[f]
	}
	return strconv.Itoa(f)
}

// SeverityName is the keyword of severity s ("err", "info"), or its number.
func SeverityName(s int) string {
	if s >= 0 && s < len(severities) {
		return severities[s]
	}
	return strconv.Itoa(s)
}

var errEmpty = errors.New("syslog: empty message")

// Parse parses one message (framing already removed). now is the receive
// time: RFC 3164 timestamps carry no year and no zone, and are read in now's
// location and year (the previous year when that would put them more than a
// day ahead of now). A line without a valid PRI is not an error: RFC 3164
// §4.3.3 says a relay treats it as the message of a user.notice event, which
// is what it becomes (Format ""). Only an empty line is refused.
func Parse(b []byte, now time.Time) (Message, error) {
	b = bytes.TrimRight(b, "\r\n\x00")
	if len(b) == 0 {
		return Message{}, errEmpty
	}
	pri, rest, ok := parsePRI(b)
	if !ok {
		return Message{Facility: 1, Severity: 5, Message: text(b)}, nil
	}
	m := Message{Facility: pri / 8, Severity: pri % 8}
	if len(rest) >= 2 && rest[0] >= '1' && rest[0] <= '9' {
		if v, after, ok := parseVersion(rest); ok {
			if parse5424(&m, v, after) {
				return m, nil
			}
			m = Message{Facility: pri / 8, Severity: pri % 8}
		}
	}
	parse3164(&m, rest, now)
	return m, nil
}

// parsePRI reads "<N>" with N in 0–191, at most three digits, no leading zero
// except "<0>".
func parsePRI(b []byte) (int, []byte, bool) {
	if len(b) < 3 || b[0] != '<' {
		return 0, nil, false
	}
	n, i := 0, 1
	for ; i < len(b) && i <= 4 && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + int(b[i]-'0')
	}
	digits := i - 1
	if digits == 0 || digits > 3 || i >= len(b) || b[i] != '>' || n > 191 || (digits > 1 && b[1] == '0') {
		return 0, nil, false
	}
	return n, b[i+1:], true
}

// parseVersion reads RFC 5424's "VERSION SP" (1–999, no leading zero).
func parseVersion(b []byte) (int, []byte, bool) {
	n, i := 0, 0
	for ; i < len(b) && i < 3 && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + int(b[i]-'0')
	}
	if i == 0 || i >= len(b) || b[i] != ' ' {
		return 0, nil, false
	}
	return n, b[i+1:], true
}

// parse5424 parses what follows "<PRI>VERSION SP". It reports false when the
// header is not RFC 5424's, so the caller falls back to RFC 3164.
func parse5424(m *Message, version int, b []byte) bool {
	var ts, host, app, proc, msgid []byte
	var ok bool
	if ts, b, ok = field(b, 0); !ok {
		return false
	}
	if host, b, ok = field(b, 255); !ok {
		return false
	}
	if app, b, ok = field(b, 48); !ok {
		return false
	}
	if proc, b, ok = field(b, 128); !ok {
		return false
	}
	if msgid, b, ok = field(b, 32); !ok {
		return false
	}
	if !bytes.Equal(ts, nilValue) {
		t, err := time.Parse(time.RFC3339Nano, string(ts))
		if err != nil {
			return false
		}
		m.Timestamp = t
	}
	sd, rest, ok := parseSD(b)
	if !ok {
		return false
	}
	if len(rest) > 0 {
		if rest[0] != ' ' {
			return false
		}
		rest = rest[1:]
	}
	// An MSG may start with a UTF-8 byte order mark (RFC 5424 §6.4).
	rest = bytes.TrimPrefix(rest, []byte("\xef\xbb\xbf"))
	m.Format, m.Version = "rfc5424", version
	m.Hostname, m.AppName, m.ProcID, m.MsgID = nilable(host), nilable(app), nilable(proc), nilable(msgid)
	m.StructuredData = sd
	m.Message = text(rest)
	return true
}

var nilValue = []byte("-")

func nilable(b []byte) string {
	if bytes.Equal(b, nilValue) {
		return ""
	}
	return text(b)
}

// field reads one space-terminated header field of printable US-ASCII, at
// most max bytes (0: no bound beyond the message's).
func field(b []byte, max int) ([]byte, []byte, bool) {
	i := bytes.IndexByte(b, ' ')
	if i <= 0 || (max > 0 && i > max) {
		return nil, nil, false
	}
	for _, c := range b[:i] {
		if c < 33 || c > 126 {
			return nil, nil, false
		}
	}
	return b[:i], b[i+1:], true
}

// parseSD reads STRUCTURED-DATA: "-" or one or more "[ID name="value" ...]".
func parseSD(b []byte) ([]Element, []byte, bool) {
	if len(b) == 0 {
		return nil, nil, false
	}
	if b[0] == '-' {
		return nil, b[1:], true
	}
	var els []Element
	for len(b) > 0 && b[0] == '[' {
		b = b[1:]
		id, n := sdName(b)
		if n == 0 {
			return nil, nil, false
		}
		el := Element{ID: id}
		b = b[n:]
		for len(b) > 0 && b[0] == ' ' {
			b = b[1:]
			name, n := sdName(b)
			if n == 0 || n >= len(b) || b[n] != '=' || n+1 >= len(b) || b[n+1] != '"' {
				return nil, nil, false
			}
			b = b[n+2:]
			// PARAM-VALUE: '"', '\' and ']' are escaped with '\'.
			var val []byte
			closed := false
			for i := 0; i < len(b); i++ {
				c := b[i]
				if c == '\\' && i+1 < len(b) && (b[i+1] == '"' || b[i+1] == '\\' || b[i+1] == ']') {
					val = append(val, b[i+1])
					i++
					continue
				}
				if c == '"' {
					b = b[i+1:]
					closed = true
					break
				}
				val = append(val, c)
			}
			if !closed {
				return nil, nil, false
			}
			el.Params = append(el.Params, Param{Name: name, Value: text(val)})
		}
		if len(b) == 0 || b[0] != ']' {
			return nil, nil, false
		}
		b = b[1:]
		els = append(els, el)
	}
	if els == nil {
		return nil, nil, false
	}
	return els, b, true
}

// sdName reads an SD-NAME: 1–32 printable US-ASCII except '=', ' ', ']', '"'.
func sdName(b []byte) (string, int) {
	i := 0
	for ; i < len(b) && i < 33; i++ {
		c := b[i]
		if c < 33 || c > 126 || c == '=' || c == ']' || c == '"' {
			break
		}
	}
	if i == 0 || i > 32 {
		return "", 0
	}
	return string(b[:i]), i
}

// parse3164 parses what follows the PRI of a BSD message: "Mmm dd hh:mm:ss
// HOSTNAME TAG[PID]: MSG". Each part is optional as RFC 3164 §4.3 allows a
// relay to find it missing: without a timestamp the hostname is not looked
// for either, and what remains is the message.
func parse3164(m *Message, b []byte, now time.Time) {
	m.Format = "rfc3164"
	if t, n, ok := stamp3164(b, now); ok {
		m.Timestamp = t
		b = b[n:]
		if len(b) > 0 && b[0] == ' ' {
			b = b[1:]
			if i := bytes.IndexByte(b, ' '); i > 0 && i <= 255 && printable(b[:i]) && !bytes.ContainsAny(b[:i], "[:") {
				m.Hostname = string(b[:i])
				b = b[i+1:]
			}
		}
	}
	// TAG: up to 32 alphanumerics (we allow the usual '-', '_', '.', '/'
	// too), then "[PID]" and/or ":".
	i := 0
	for i < len(b) && i < 48 && isTagByte(b[i]) {
		i++
	}
	if i > 0 && i < len(b) && (b[i] == '[' || b[i] == ':') {
		tag := b[:i]
		rest := b[i:]
		var pid []byte
		if rest[0] == '[' {
			j := bytes.IndexByte(rest, ']')
			if j < 2 || j > 129 || !printable(rest[1:j]) {
				m.Message = text(b)
				return
			}
			pid, rest = rest[1:j], rest[j+1:]
		}
		if len(rest) > 0 && rest[0] == ':' {
			rest = rest[1:]
		} else if pid == nil {
			m.Message = text(b)
			return
		}
		m.AppName, m.ProcID = string(tag), string(pid)
		b = bytes.TrimPrefix(rest, []byte(" "))
	}
	m.Message = text(b)
}

func isTagByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '/'
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 33 || c > 126 {
			return false
		}
	}
	return true
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// stamp3164 reads "Mmm dd hh:mm:ss" (day space-padded) or an RFC 3339
// timestamp (rsyslog and syslog-ng may send one in BSD messages), and how
// many bytes it took.
func stamp3164(b []byte, now time.Time) (time.Time, int, bool) {
	if len(b) >= 15 {
		mon := -1
		for i, s := range months {
			if string(b[:3]) == s {
				mon = i + 1
			}
		}
		if mon > 0 && b[3] == ' ' {
			day := 0
			switch {
			case b[4] == ' ' && isDigit(b[5]):
				day = int(b[5] - '0')
			case isDigit(b[4]) && isDigit(b[5]):
				day = int(b[4]-'0')*10 + int(b[5]-'0')
			}
			hh, okh := two(b[7:9])
			mm, okm := two(b[10:12])
			ss, oks := two(b[13:15])
			if day >= 1 && day <= 31 && b[6] == ' ' && b[9] == ':' && b[12] == ':' && okh && okm && oks && hh < 24 && mm < 60 && ss < 61 {
				loc := now.Location()
				t := time.Date(now.Year(), time.Month(mon), day, hh, mm, ss, 0, loc)
				if t.After(now.Add(24 * time.Hour)) {
					t = time.Date(now.Year()-1, time.Month(mon), day, hh, mm, ss, 0, loc)
				}
				return t, 15, true
			}
		}
	}
	if i := bytes.IndexByte(b, ' '); i >= 19 && i <= 40 && isDigit(b[0]) {
		if t, err := time.Parse(time.RFC3339Nano, string(b[:i])); err == nil {
			return t, i, true
		}
	}
	return time.Time{}, 0, false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func two(b []byte) (int, bool) {
	if len(b) != 2 || !isDigit(b[0]) || !isDigit(b[1]) {
		return 0, false
	}
	return int(b[0]-'0')*10 + int(b[1]-'0'), true
}

// text turns bytes into a valid UTF-8 string: invalid sequences become
// U+FFFD, as PutLogEvents would store them anyway.
func text(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
}

// JSON is the message as a log event: a JSON object Insights discovers the
// fields of (facility, severity, hostname, appName, procId, msgId,
// structuredData, message), documented in docs/ingest.md. Empty fields are
// left out; facility and severity are their keywords ("local0", "err"), as
// rsyslog and journald name them; structuredData maps each SD-ID to its
// parameters (a repeated parameter keeps its last value). sourceIp is the
// sender's address, when known.
func (m Message) JSON(from string) string {
	b := make([]byte, 0, len(m.Message)+128)
	b = append(b, `{"facility":`...)
	b = appendString(b, FacilityName(m.Facility))
	b = append(b, `,"severity":`...)
	b = appendString(b, SeverityName(m.Severity))
	add := func(name, v string) {
		if v != "" {
			b = append(b, ',', '"')
			b = append(b, name...)
			b = append(b, '"', ':')
			b = appendString(b, v)
		}
	}
	add("hostname", m.Hostname)
	add("appName", m.AppName)
	add("procId", m.ProcID)
	add("msgId", m.MsgID)
	if len(m.StructuredData) > 0 {
		// One pass: elements with the same SD-ID merge (the last value of a
		// parameter wins), in the order the IDs and names first appear.
		type sd struct {
			names  []string
			values map[string]string
		}
		var ids []string
		byID := map[string]*sd{}
		for _, el := range m.StructuredData {
			e := byID[el.ID]
			if e == nil {
				e = &sd{values: map[string]string{}}
				byID[el.ID] = e
				ids = append(ids, el.ID)
			}
			for _, p := range el.Params {
				if _, ok := e.values[p.Name]; !ok {
					e.names = append(e.names, p.Name)
				}
				e.values[p.Name] = p.Value
			}
		}
		b = append(b, `,"structuredData":{`...)
		for i, id := range ids {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, id)
			b = append(b, ':', '{')
			e := byID[id]
			for j, name := range e.names {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, name)
				b = append(b, ':')
				b = appendString(b, e.values[name])
			}
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	add("sourceIp", from)
	b = append(b, `,"message":`...)
	b = appendString(b, m.Message)
	b = append(b, '}')
	return string(b)
}

// appendString appends s as a JSON string (s is valid UTF-8: see text).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
