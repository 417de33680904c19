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
		"SOURCE \"app-\"* | filter @message like /x/",
		"STATS count(*) as c BY bin(5m) as @t | SORT @t desc",
		"fields @`aws.tag.aws:cloudformation:stack-name`, json_message.`user.id`",
		"filterIndex requestId = \"abc\" | fields @message",
		"stats sum(message_length)/1024/1024 as logs_mb by bin(1h)",
		"fields `foo-bar` | limit any 5",
		"filter @message like /(?<!x)/"[0:0] + "filter statusCode in [300,400,500] and Type not in [\"foo\",\"bar\",1]",
		"lookup users user as name OUTPUT team, email as mail",
		"fields jsonParse(@message) as j | unnest j.items into item",
		"expand items",
		"parse @message /(?<a>\\w+)=(?<b>\\w+)/ multi",
	} {
		if _, err := Compile(q); err != nil {
			t.Errorf("Compile(%q): %v", q, err)
		}
	}
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
	f(`filter @message like /ERROR/ | stats count() by bin(1h)`, true, "an ERROR x", "fine", []string{"ERROR"}, 0, 0)
	f(`filter @message like /timeout \d+/ and user = "x"`, true, "timeout 5", "timeout", []string{"timeout "}, -1, 0)
	f(`filter @message like "a" or @message like "b"`, true, "xbx", "xyz", nil, -1, 0)
	f(`filter not @message like "a"`, true, "xyz", "xax", nil, -1, 0)
	f(`fields @timestamp, @message | sort @timestamp desc | limit 20`, true, "", "", nil, -1, 20)
	f(`fields @timestamp | sort @timestamp asc | limit 5`, false, "", "", nil, 1, 5)
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{"fields @timestamp, @message | sort @timestamp desc | limit 20", "stats count() by bin(5m)",
		"filter @message like /ERROR/ and x in [1,2] | parse @message \"a * b\" as c", "fields `a b`.c, f(1)[0].x # c",
		"stats pct(x, 50) as p by y | filter p > 1 | stats count()", "parse /(?<a>\\d+)/ multi | unnest split(a, \",\") into z | dedup z"} {
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
		"parse @message \"* *\" as a, b | sort a desc | dedup b", "pattern", "stats count() as c by user | stats sum(c)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Compile(s)
		if err != nil {
			return
		}
		x := q.Run(Options{MaxMemory: 1 << 24, Lookup: func(string) (*LookupTable, error) {
			return &LookupTable{Columns: []string{"user", "team"}, Rows: [][]string{{"bob", "red"}}}, nil
		}, Ptr: func(string, store.StoredEvent) string { return "p" }})
		x.AddBlock("g", store.ScanBlock{Group: "g", Events: corpus[:3]})
		_ = x.Snapshot()
		x.AddBlock("g", store.ScanBlock{Group: "g", Events: corpus[3:]})
		_, _ = x.Finish()
	})
}
