package cwli

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cairnlog/cairn/internal/store"
)

func TestCompileErrors(t *testing.T) {
	f := func(q, msg string, start, end int) {
		t.Helper()
		_, err := Compile(q)
		ce, ok := err.(*CompileError)
		if !ok {
			t.Fatalf("%q: err = %v, want *CompileError", q, err)
		}
		if !strings.Contains(ce.Message, msg) || ce.Start != start || ce.End != end {
			t.Errorf("%q: got %q [%d,%d), want %q [%d,%d)", q, ce.Message, ce.Start, ce.End, msg, start, end)
		}
	}
	// AWS's wording for syntax errors (insights.md §7)
	f(``, "unexpected symbol found <EOF> at line 1 and position 0", 0, 0)
	f(`fields a | bad`, "unexpected symbol found bad at line 1 and position 11", 11, 14)
	f(`stats count() by bin(1d) | sort bin(1d) desc`, "unexpected symbol found ( at line 1 and position 35", 35, 36)
	f("fields a\n| filter x = :", "unexpected symbol found : at line 2 and position 13", 22, 23)
	f(`fields é | filter ?`, "unexpected symbol found ? at line 1 and position 18", 18, 19)
	// planner errors
	f(`stats count() | stats count() | stats count()`, "at most 2 stats", 32, 45)
	f(`stats count() as c | sort c | stats count()`, "sort and limit must come after the second stats", 30, 43)
	f(`parse "a * b *" as x`, "2 wildcards but 1 fields", 6, 20)
	f(`fields nosuch(x)`, "unknown function nosuch", 7, 16)
	f(`fields abs(1, 2)`, "wrong number of arguments for abs", 7, 16)
	f(`stats count() by x | fields @message`, "not defined by the previous stats", 28, 36)
	f(`fields sum(x)`, "can be used only in stats", 7, 13)
	f(`dedup a | fields b`, "only limit may follow dedup", 10, 18)
	f(`limit 0`, "limit must be between 1 and 100000", 6, 7)
	f(`limit 100001`, "limit must be between 1 and 100000", 6, 12)
	f(`filter @message like /(/`, "invalid regular expression", 21, 24)
	f(`stats x by y`, "needs an aggregate", 6, 7)
	f(`diff`, "not supported", 0, 4)
	f(`fields "unterminated`, "unterminated string", 7, 20)
}

func TestCompileAccepts(t *testing.T) {
	for _, q := range []string{
		// Grafana's prefix before a user query (insights.md §8.1)
		"fields @timestamp,ltrim(@log) as __log__grafana_internal__,ltrim(@logStream) as __logstream__grafana_internal__|fields @timestamp, @message | sort @timestamp desc | limit 20",
		"fields @timestamp,ltrim(@log) as __log__grafana_internal__,ltrim(@logStream) as __logstream__grafana_internal__|stats count(*) by bin(5m)",
		"SOURCE logGroups(namePrefix: ['app-', 'web'], class: ['STANDARD']) | filter @message like /x/",
		"SOURCE logGroups() | stats count()",
		"SOURCE \"g1\" START=1700000000000 END=1700000000999 | fields @message",
		"SOURCE \"g1\" START=-3600s END=0s |\nfields @message",
		"STATS count(*) as c BY bin(5m) as @t | SORT @t desc",
		"fields @`aws.tag.aws:cloudformation:stack-name`, json_message.`user.id`",
		"filterIndex requestId = \"abc\" | fields @message",
		"stats sum(message_length)/1024/1024 as logs_mb by bin(1h)",
		"fields `foo-bar` | limit any 5",
		"filter @message like /(?<!x)/"[0:0] + "filter statusCode in [300,400,500] and Type not in [\"foo\",\"bar\",1]",
		"lookup users name as user OUTPUT team, email as mail",
		"lookup user_data id OUTPUT name, email",
		"fields jsonParse(@message) as j | unnest j.items into item",
		"expand items",
		"parse @message /(?<a>\\w+)=(?<b>\\w+)/ multi",
	} {
		if _, err := Compile(q); err != nil {
			t.Errorf("Compile(%q): %v", q, err)
		}
	}
}

func TestSource(t *testing.T) {
	q, err := Compile("SOURCE logGroups(namePrefix: ['app-', 'web'], accountIdentifiers: ['111122223333']) | fields @message")
	if err != nil {
		t.Fatal(err)
	}
	p := q.Pushdown()
	if strings.Join(p.Sources, ",") != "app-*,web*" || strings.Join(p.Source.AccountIdentifiers, ",") != "111122223333" {
		t.Errorf("sources %q %+v", p.Sources, p.Source)
	}
	q, _ = Compile(`SOURCE "g1" START=-3600s END=0s | fields @message`)
	s := q.Pushdown().Source
	if s.Names[0] != "g1" || !s.HasStart || s.Start != -3600000 || !s.StartRelative || !s.HasEnd || s.End != 0 || !s.EndRelative {
		t.Errorf("rewritten form: %+v", s)
	}
	q, _ = Compile(`SOURCE logGroups() | stats count()`)
	if !q.Pushdown().Source.All {
		t.Error("logGroups() selects every group")
	}
	for _, bad := range []string{"SOURCE logGroups(namePrefix: ['a','b','c','d','e','f'])", "SOURCE logGroups(colour: ['x'])", "fields a | SOURCE \"g\"", "SOURCE"} {
		if _, err := Compile(bad); err == nil {
			t.Errorf("Compile(%q) accepted", bad)
		}
	}
}

func TestIndexTerms(t *testing.T) {
	q, err := Compile(`filterIndex requestId = "abc" | filter status in [200, "404"] and level = "ERROR" or x = 1 | fields @message`)
	if err != nil {
		t.Fatal(err)
	}
	p := q.Pushdown()
	if !p.FilterIndex || len(p.Index) != 1 || p.Index[0].Field != "requestId" || p.Index[0].Values[0] != "abc" {
		t.Errorf("index %+v", p)
	}
	q, _ = Compile(`filter status in [200, "404"] and level = "ERROR" | stats count()`)
	p = q.Pushdown()
	if p.FilterIndex || len(p.Index) != 2 || p.Index[0].Field != "status" || strings.Join(p.Index[0].Values, ",") != "200,404" || p.Index[1].Field != "level" {
		t.Errorf("index %+v", p.Index)
	}
	if _, err := Compile(`filterIndex a > 1`); err == nil {
		t.Error("filterIndex a > 1 accepted")
	}
}

func TestStreamPushdown(t *testing.T) {
	f := func(q string, want []string) {
		t.Helper()
		cq, err := Compile(q)
		if err != nil {
			t.Fatal(err)
		}
		got := cq.Pushdown().Streams
		if (got == nil) != (want == nil) || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%q: streams %q, want %q", q, got, want)
		}
	}
	f(`filter @logStream = "a" | stats count()`, []string{"a"})
	f(`filter @logStream in ["a", "b"] and x = 1 | filter @logStream = "b"`, []string{"b"})
	f(`filter @logStream = "a" and @logStream = "b"`, []string{})
	f(`filter @logStream = "a" or x = 1`, nil)
	f(`filter @logStream != "a"`, nil)
	f(`stats count() as n by @logStream | filter @logStream = "a"`, nil)
}

func TestPushdown(t *testing.T) {
	f := func(q string, need bool, match, noMatch string, req []string, order, limit int) {
		t.Helper()
		cq, err := Compile(q)
		if err != nil {
			t.Fatal(err)
		}
		p := cq.Pushdown()
		if p.NeedMessage != need || p.Order != order || p.Limit != limit {
			t.Errorf("%q: pushdown %+v", q, p)
		}
		if match == "" {
			if p.Filter != nil {
				t.Errorf("%q: unexpected filter", q)
			}
			return
		}
		if p.Filter == nil || !p.Filter.Match(match) || p.Filter.Match(noMatch) {
			t.Errorf("%q: filter does not separate %q and %q", q, match, noMatch)
			return
		}
		if got := strings.Join(p.Filter.Required(), ","); got != strings.Join(req, ",") {
			t.Errorf("%q: required %q, want %q", q, got, req)
		}
	}
	f(`stats count() by bin(5m)`, false, "", "", nil, 0, 0)
	// Grafana's prefix is dead under a stats: timestamps only
	grafana := "fields @timestamp,ltrim(@log) as __log__grafana_internal__,ltrim(@logStream) as __logstream__grafana_internal__|"
	f(grafana+`stats count(*) by bin(5m)`, false, "", "", nil, 0, 0)
	if q, _ := Compile(grafana + `stats count(*) by bin(5m)`); len(q.stages) != 1 || !q.Run(Options{}).stats.countsOnly() {
		t.Errorf("the dead fields stage stayed: %d stages", len(q.stages))
	}
	f(grafana+`fields @message | limit 5`, true, "", "", nil, -1, 5)
	f(`fields user as u, @message as m | stats count() by bin(1m)`, false, "", "", nil, 0, 0)
	f(`filter @type = "REPORT" | stats avg(@duration)`, true, "", "", nil, 0, 0)
	f(`filter @message like /ERROR/ | stats count() by bin(1h)`, true, "an ERROR x", "fine", []string{"ERROR"}, 0, 0)
	// user is a JSON field: only a JSON object can pass (a plain line has
	// no JSON fields, so the store rules it out at its first byte)
	f(`filter @message like /timeout \d+/ and user = "x"`, true, `{"m":"timeout 5","user":"x"}`, "timeout 5 x", []string{"timeout "}, -1, 0)
	f(`filter @message like /timeout \d+/ and user = "x"`, true, `{"m":"timeout 5","user":"x"}`, `{"m":"timeout 5"}`, []string{"timeout "}, -1, 0)
	f(`filter ispresent(latency_ms) | stats avg(latency_ms) by user`, true, ` {"latency_ms":1}`, `latency_ms=1 "latency_ms"`, nil, 0, 0)
	f(`filter user = "carol" | stats count()`, true, `{"user":"carol"}`, `{"user":"bob"}`, nil, 0, 0)
	if cq, _ := Compile(`filter user = "carol"`); strings.Join(cq.Pushdown().Filter.RequiredUnlessEscaped(), ",") != "carol" {
		t.Errorf("json equality: required unless escaped %q", cq.Pushdown().Filter.RequiredUnlessEscaped())
	}
	if cq, _ := Compile(`filter user = "carol"`); !cq.Pushdown().Filter.Match(`{"user":"c\u0061rol"}`) {
		t.Errorf("json equality must pass escaped messages")
	}
	f(`filter status = "200"`, true, "", "", nil, -1, 0)
	f(`filter @message like "a" or @message like "b"`, true, "xbx", "xyz", nil, -1, 0)
	f(`filter not @message like "a"`, true, "xyz", "xax", nil, -1, 0)
	f(`fields @timestamp, @message | sort @timestamp desc | limit 20`, true, "", "", nil, -1, 20)
	f(`fields @timestamp | sort @timestamp asc | limit 5`, false, "", "", nil, 1, 5)
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{"fields @timestamp, @message | sort @timestamp desc | limit 20", "stats count() by bin(5m)",
		"filter @message like /ERROR/ and x in [1,2] | parse @message \"a * b\" as c", "fields `a b`.c, f(1)[0].x # c",
		"stats pct(x, 50) as p by y | filter p > 1 | stats count()", "parse /(?<a>\\d+)/ multi | unnest split(a, \",\") into z | dedup z",
		"SOURCE logGroups(namePrefix: ['a', 'b'], class: ['INFREQUENT_ACCESS'], accountIdentifiers: ['123456789012']) START=-3600s END=0s | stats count()",
		"SOURCE \"g\" START=1700000000000 END=1700000000999 | fields @message", "unmask | filter @message like /x/ | fields unmask(@message) as o",
		"unmask @message | stats count() by user", "stats count() as n, avg(x) as a by bin(1m) | fillmissing with 0 for n, \"none\" for a",
		"stats count() by bin(5m) | fillmissing | sort @timestamp desc", "fields method, status | countFrequent method, status | limit 3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Compile(s)
		if err != nil {
			ce, ok := err.(*CompileError)
			n := utf8.RuneCountInString(s)
			if !ok || ce.Start < 0 || ce.End < ce.Start || ce.End > n || ce.Message == "" {
				t.Fatalf("bad error for %q: %#v", s, err)
			}
			return
		}
		_ = q.Pushdown()
	})
}

// FuzzRun executes whatever compiles over a few events: it must not panic.
func FuzzRun(f *testing.F) {
	for _, s := range []string{"fields @timestamp, @message", "stats count() by bin(5m)", "filter user = \"bob\" | fields tags.0",
		"fields jsonParse(@message) as j | unnest j.tags into t | stats count_distinct(t), pct(latency, 90) by user",
		"parse @message \"* *\" as a, b | sort a desc | dedup b", "pattern", "stats count() as c by user | stats sum(c)",
		"unmask | fields user, unmask(@message) as o | stats count() by user",
		"stats count() as n by bin(1ms) | fillmissing with -1 for n", "stats avg(latency) as a by bin(1s) as t | fillmissing with \"x\" for a | sort t desc | limit 3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Compile(s)
		if err != nil {
			return
		}
		x := q.Run(Options{MaxMemory: 1 << 24, Parallel: 1 + len(s)%2, Lookup: func(string) (*LookupTable, error) {
			return &LookupTable{Columns: []string{"user", "team"}, Rows: [][]string{{"bob", "red"}}}, nil
		}, Ptr: func(string, store.StoredEvent) string { return "p" },
			Unmask: func(_ string, ev store.StoredEvent) (string, bool) { return `{"user":"u"}`, ev.Pos.Index%2 == 0 }})
		x.AddBlock("g", store.ScanBlock{Group: "g", Events: corpus[:3]})
		_ = x.Snapshot()
		x.AddBlock("g", store.ScanBlock{Group: "g", Events: corpus[3:]})
		_, _ = x.Finish()
	})
}

// FuzzMessage runs field extraction of every kind over arbitrary messages:
// JSON flattening, jsonParse, Lambda lines, parse glob/regex/logfmt/csv,
// pattern. It must not panic, and DiscoverFields stays within its cap.
func FuzzMessage(f *testing.F) {
	for _, s := range []string{`{"a":{"b":[1,{"c":"x\u00e9"}]},"d":null,"e":true}`, `[[[[1]]]]`, `{"a":`, "REPORT RequestId: x\tDuration: 1 ms",
		`k=v q="a \"b\"" z`, `a,"b""c",d`, `{"@x":1,"y":"\ud83d\ude00"}`} {
		f.Add(s)
	}
	queries := []string{
		`fields a.b.1.c, d, e, @x, @@x | filter ispresent(a.b.0)`,
		`fields jsonParse(@message) as j | fields jsonStringify(j) as s, j.a.b[1].c as c | unnest j.a.b into u`,
		`parse @message "*=*" as k, v | parse @message /(?<w>\w+)/ | parse logfmt as m | parse csv as c1, c2 | display k, v, w, m.k, c1, c2`,
		`stats count() by @type, @duration, @requestId`,
		`pattern @message`,
	}
	var compiled []*Query
	for _, q := range queries {
		cq, err := Compile(q)
		if err != nil {
			f.Fatal(err)
		}
		compiled = append(compiled, cq)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		ev := store.StoredEvent{Stream: "s", Timestamp: 1, Message: msg}
		if n := len(DiscoverFields(ev)); n > 5+maxJSONFields+len(lambdaFields) {
			t.Fatalf("%d fields", n)
		}
		for _, q := range compiled {
			x := q.Run(Options{MaxMemory: 1 << 24})
			x.AddBlock("g", store.ScanBlock{Events: []store.StoredEvent{ev, ev}})
			_, _ = x.Finish()
		}
	})
}

// TestExactLead: which queries may leave their leading filters to the
// store and scan without messages (Pushdown.ExactFilter, Exec.
// SkipPushedFilter), and which literal the pushed matcher says it is
// exactly (store.LiteralMatcher).
func TestExactLead(t *testing.T) {
	for _, c := range []struct {
		q    string
		lead int
		lit  string // "": the matcher is more than one literal
	}{
		{`filter @message like "ERROR" | stats count()`, 1, "ERROR"},
		{`filter @message like /ERROR/ | stats count() by bin(5m)`, 1, "ERROR"},
		{`filter @message like /(?i)error/ | stats count()`, 1, ""},
		{`filter @message like /ERR(OR)?/ | stats count()`, 1, ""},
		{`filter @message like "ERROR" | filter @message not like "x" | stats count() by @logStream`, 2, ""},
		{`filter @message like "ERROR" or @message like "WARN" | stats count()`, 1, ""},
		{`filter @message like "ERROR" | fields @timestamp | sort @timestamp desc | limit 5`, 1, "ERROR"},
		{`filter @message like "ERROR"`, 0, "ERROR"},                                     // shows @message
		{`filter @message like "ERROR" | stats count() by strlen(@message)`, 0, "ERROR"}, // reads it after
		{`filter @message like "ERROR" | parse @message "* *" as a, b | stats count() by a`, 0, "ERROR"},
		{`filter @message like "ERROR" and @logStream = "s" | stats count()`, 0, "ERROR"},  // not on the message alone
		{`filter @message like "ERROR" | filter status = 500 | stats count()`, 0, "ERROR"}, // a JSON field
		{`stats count() by bin(5m)`, 0, ""},
	} {
		q, err := Compile(c.q)
		if err != nil {
			t.Fatal(err)
		}
		p := q.Pushdown()
		if q.exactLead != c.lead || p.ExactFilter != (c.lead > 0) {
			t.Errorf("%s: exactLead %d (ExactFilter %v), want %d", c.q, q.exactLead, p.ExactFilter, c.lead)
		}
		lit := ""
		if lm, ok := p.Filter.(store.LiteralMatcher); ok {
			if l, ok := lm.Literal(); ok {
				lit = l
			}
		}
		if lit != c.lit {
			t.Errorf("%s: the matcher is exactly %q, want %q", c.q, lit, c.lit)
		}
	}
}
