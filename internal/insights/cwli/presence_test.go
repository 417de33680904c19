package cwli

import (
	"fmt"
	"testing"

	"github.com/cairnlog/cairn/internal/store"
)

// TestPresencePushdown: filter ispresent(f) on a JSON field pushes a
// necessary literal to the store; the messages it keeps must be a superset
// of those the filter passes, for nested paths, dotted keys, array
// indexes, escaped keys and messages that are not JSON objects. Expected
// counts are written by hand.
func TestPresencePushdown(t *testing.T) {
	msgs := []string{
		`{"latency_ms":5,"user":1}`,       // 0 latency_ms
		`{"a":{"b":{"c":1}}}`,             // 1 a.b.c
		`{"a.b":{"c":2}}`,                 // 2 a.b.c, dotted key
		`{"arr":[{"x":1},{"xyz":2}]}`,     // 3 arr.1.xyz
		`{"lat\u0065ncy_ms":7}`,           // 4 latency_ms, escaped
		`[{"latency_ms":1}]`,              // 5 not an object
		`latency_ms=5 "latency_ms"`,       // 6 plain text
		`{"other":"latency_ms"}`,          // 7 the name as a value
		`  {"latency_ms":null}`,           // 8 null: absent
		`{"latency_ms":""}`,               // 9 present, empty
		`{"deep":{"latency_ms":{"v":1}}}`, // 10 an object, not a leaf
	}
	var evs []store.StoredEvent
	for i, m := range msgs {
		evs = append(evs, store.StoredEvent{Stream: "s", Timestamp: int64(i), Message: m, Pos: store.Position{Index: uint32(i)}})
	}
	for _, c := range []struct {
		q    string
		want int
	}{
		{`filter ispresent(latency_ms) | stats count() as n`, 3}, // 0, 4, 9
		{`filter ispresent(a.b.c) | stats count() as n`, 2},
		{`filter ispresent(arr.1.xyz) | stats count() as n`, 1},
		{`filter ispresent(deep.latency_ms.v) | stats count() as n`, 1},
		{`filter ispresent(latency_ms) and ispresent(user) | stats count() as n`, 1},
		{`filter ispresent(latency_ms) or ispresent(a.b.c) | stats count() as n`, 5},
		{`filter not ispresent(latency_ms) | stats count() as n`, 8},
	} {
		q, err := Compile(c.q)
		if err != nil {
			t.Fatal(err)
		}
		m := q.Pushdown().Filter
		var kept []store.StoredEvent
		for _, e := range evs {
			if m == nil || m.Match(e.Message) {
				kept = append(kept, e)
			}
		}
		for _, in := range [][]store.StoredEvent{evs, kept} {
			x := q.Run(Options{})
			if len(in) > 0 {
				x.AddBlock("g", store.ScanBlock{Group: "g", Events: in})
			}
			res, err := x.Finish()
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Rows[0][0].Value; got != itoa(c.want) {
				t.Errorf("%s over %d events: n=%s, want %d", c.q, len(in), got, c.want)
			}
		}
		if m != nil {
			if len(m.RequiredUnlessEscaped()) == 0 && len(m.Required()) == 0 && c.q != `filter not ispresent(latency_ms) | stats count() as n` {
				t.Errorf("%s: no literal pushed", c.q)
			}
		}
	}
}

// TestParsePresencePushdown: filter ispresent(f) of a field a parse of
// @message set pushes the parse's literals; the kept messages must still
// give the exact answer, and a field set again by fields afterwards must
// push nothing of the parse. Expected counts are written by hand.
func TestParsePresencePushdown(t *testing.T) {
	msgs := []string{
		`10.0.0.1 - - [x] "GET /a HTTP/1.1" 200 5`, // 0 access line
		`10.0.0.2 - - [x] "GET /b HTTP/1.1" 404 7`, // 1
		`no quotes here 200`,                       // 2
		`{"msg":"a" 500 }`,                         // 3 quote, space, 3 digits
		`" 12 short`,                               // 4 the literal, no 3 digits
	}
	var evs []store.StoredEvent
	for i, m := range msgs {
		evs = append(evs, store.StoredEvent{Stream: "s", Timestamp: int64(i), Message: m, Pos: store.Position{Index: uint32(i)}})
	}
	for _, c := range []struct {
		q      string
		want   int
		pushed bool
	}{
		{`parse @message /" (?<status>\d{3}) / | filter ispresent(status) | stats count() as n`, 3, true},
		{`parse @message '* - - [*] "* * *" * *' as ip, ts, m, p, v, status, size | filter ispresent(status) | stats count() as n`, 2, true},
		{`parse @message /" (?<status>\d{3}) / | fields "x" as status | filter ispresent(status) | stats count() as n`, 5, false},
		{`parse @message /(?i)" (?<status>\d{3}) / | filter ispresent(status) | stats count() as n`, 3, false}, // case-folded: nothing exact
		{`parse @message /" (?<status>\d{3}) / | filter not ispresent(status) | stats count() as n`, 2, false},
	} {
		q, err := Compile(c.q)
		if err != nil {
			t.Fatal(err)
		}
		m := q.Pushdown().Filter
		if (m != nil) != c.pushed {
			t.Errorf("%s: pushed %v, want %v", c.q, m != nil, c.pushed)
		}
		var kept []store.StoredEvent
		for _, e := range evs {
			if m == nil || m.Match(e.Message) {
				kept = append(kept, e)
			}
		}
		for _, in := range [][]store.StoredEvent{evs, kept} {
			x := q.Run(Options{})
			if len(in) > 0 {
				x.AddBlock("g", store.ScanBlock{Group: "g", Events: in})
			}
			res, err := x.Finish()
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Rows[0][0].Value; got != itoa(c.want) {
				t.Errorf("%s over %d events: n=%s, want %d", c.q, len(in), got, c.want)
			}
		}
	}
}

// FuzzPushdown: over any message, a query's pushed-down filter may only
// drop messages the query itself drops (it is a necessary condition): the
// count with the message and the count after the store's prefilter agree.
func FuzzPushdown(f *testing.F) {
	for _, s := range []string{`{"latency_ms":5,"user":"a"}`, `{"lat\u0065ncy_ms":1}`, `{"a":{"b":{"c":1}}}`, `{"a.b":{"c":2}}`,
		`{"arr":[{"x":1},{"xyz":2}]}`, `10.0.0.1 - - [x] "GET /a HTTP/1.1" 200 5`, `" 12 short`, `[1]`, `{"latency_ms":null}`,
		" \t\n{\"latency_ms\":1,\"user\":\"a\"}", `x {"latency_ms":1}`, `{"":{"latency_ms":3},"user":"a"}`} {
		f.Add(s)
	}
	queries := []string{
		`filter ispresent(latency_ms) | stats count() as n`,
		`filter ispresent(a.b.c) or ispresent(arr.1.xyz) | stats count() as n`,
		`filter ispresent(latency_ms) and not ispresent(user) | stats count() as n`,
		`parse @message /" (?<status>\d{3}) / | filter ispresent(status) | stats count() as n`,
		`parse @message '* - - [*] "* * *" * *' as ip, ts, m, p, v, status, size | filter ispresent(status) | stats count() as n`,
		`filter user = "a" and ispresent(latency_ms) | stats count() as n`,
		`filter ispresent(latency_ms) | stats avg(latency_ms) as a, count() as n by user`,
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
		for i, q := range compiled {
			count := func(evs []store.StoredEvent) string {
				x := q.Run(Options{})
				if len(evs) > 0 {
					x.AddBlock("g", store.ScanBlock{Group: "g", Events: evs})
				}
				res, err := x.Finish()
				if err != nil {
					t.Fatal(err)
				}
				return fmt.Sprint(res.Rows) // every row: a stats by may have none
			}
			all := count([]store.StoredEvent{ev})
			var kept []store.StoredEvent
			if m := q.Pushdown().Filter; m == nil || m.Match(msg) {
				kept = append(kept, ev)
			}
			if got := count(kept); got != all {
				t.Fatalf("%s over %q: %s with the pushdown, %s without", queries[i], msg, got, all)
			}
		}
	})
}
