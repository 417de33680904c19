package transform

import (
	"encoding/json"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzConfig: any configuration JSON either is refused with a ConfigError or
// compiles and transforms any message without panicking, into valid JSON.
func FuzzConfig(f *testing.F) {
	f.Add(`[{"parseJSON":{}},{"addKeys":{"entries":[{"key":"a.b","value":"c"}]}}]`, `{"x":1}`)
	f.Add(`[{"grok":{"match":"%{IP:ip} %{WORD:m}"}}]`, `1.2.3.4 GET`)
	f.Add(`[{"csv":{"delimiter":"\\t"}}]`, "a\tb")
	f.Add(`[{"parseJSON":{}},{"moveKeys":{"entries":[{"source":"a","target":"b"}]}},{"listToMap":{"source":"l","key":"k"}}]`, `{"a":{"x":1},"b":{},"l":[{"k":"v"}]}`)
	f.Fuzz(func(t *testing.T, config, msg string) {
		var procs []Processor
		if json.Unmarshal([]byte(config), &procs) != nil {
			return
		}
		tr, err := Compile(procs)
		if err != nil {
			if _, ok := err.(*ConfigError); !ok {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		out, _ := tr.Apply(msg, Metadata{})
		if !json.Valid(out) {
			t.Fatalf("invalid JSON %q", out)
		}
	})
}

// FuzzGrok: any match expression compiles or is refused; a compiled one
// matches any input without panicking.
func FuzzGrok(f *testing.F) {
	f.Add("%{NUMBER:a} %{QUOTEDSTRING:b}", `1 "x"`)
	f.Add("%{APACHE_ACCESS_LOG} %{GREEDYDATA:rest}", `127.0.0.1 - - [03/Aug/2023:12:34:56 +0000] "GET / HTTP/1.1" 200 1`)
	f.Add("%{SYSLOG5424}", `<165>1 2003-10-11T22:14:15.003Z h a - ID47 - msg`)
	f.Add("%{NOTSPACE:a} %{NOTSPACE:b} %{GREEDYDATA:rest}", "GET /x  200\nnext line")
	f.Add("[%{NOTSPACE:lvl}]\t%{NOTSPACE} %{GREEDYDATA}", "  [x]\tb c")
	f.Fuzz(func(t *testing.T, match, msg string) {
		m, err := CompileGrok(match)
		if err != nil {
			return
		}
		// The literal splitter, where it decides, answers what RE2 answers.
		if m.fast != nil {
			if got, ok := m.fast.match(msg, nil); ok {
				if want := m.re.FindStringSubmatchIndex(msg); !slices.Equal(got, want) {
					t.Fatalf("match %q on %q: fast %v, regexp %v", match, msg, got, want)
				}
			}
		}
		ev := &event{root: &Object{}, msg: msg}
		m.apply(ev, msg)
		if !json.Valid(appendJSON(nil, ev.root)) {
			t.Fatal("invalid JSON")
		}
	})
}

// FuzzParseJSON: the event parser agrees with encoding/json on validity,
// and on the value of a document that is one string of valid UTF-8 (the
// escapes, surrogate pairs and lone surrogates).
func FuzzParseJSON(f *testing.F) {
	f.Add(`{"a":[1,2,{"b":"\u00e9"}]}`)
	f.Add(`"\ud800\u0041"`)
	f.Add(`"\ud83d\ude00 \udc00\ud800"`)
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseJSON(s)
		if (err == nil) != json.Valid([]byte(s)) {
			t.Fatalf("parseJSON %v, encoding/json valid %v on %q", err, json.Valid([]byte(s)), s)
		}
		var want string
		if err == nil && utf8.ValidString(s) && json.Unmarshal([]byte(s), &want) == nil && v != want {
			t.Fatalf("parseJSON(%q) = %q, encoding/json %q", s, v, want)
		}
	})
}
