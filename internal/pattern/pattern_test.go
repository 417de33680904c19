package pattern

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func mustCompile(tb testing.TB, expr string) *Pattern {
	tb.Helper()
	p, err := Compile(expr)
	if err != nil {
		tb.Fatalf("Compile(%q): %v", expr, err)
	}
	return p
}

func TestTerms(t *testing.T) {
	f := func(pattern, msg string, want bool) {
		t.Helper()
		p := mustCompile(t, pattern)
		if got := p.Match(msg); got != want {
			t.Errorf("%q Match(%q) = %v, want %v", pattern, msg, got, want)
		}
		if got, _ := p.Extract(msg); got != want {
			t.Errorf("%q Extract(%q) = %v, want %v", pattern, msg, got, want)
		}
		if want {
			checkRequired(t, p, msg)
		}
	}
	f("ERROR", "ERRORNEOUS PROGRAM", true)
	f("ERROR", "Error: x", false)
	f("ERROR", "", false)
	f("", "", true)
	f("  \t ", "anything", true)
	f(`" "`, "", true)
	f(`"  "`, "nospace", true)
	f(`ERROR " "`, "ERROR", true)
	f(`-" "`, "anything", false)
	f(`?" " ?x`, "abc", true)
	f(`" " ?x`, "abc", true) // a plain term, even an empty one, turns off ?terms
	f(`?ERROR ?WARN -DEBUG`, "WARN x", true)
	f(`?ERROR ?WARN -DEBUG`, "WARN DEBUG", false)
	f(`?ERROR ?WARN -DEBUG`, "INFO", false)
	f(`-DEBUG`, "INFO", true)
	f(`-DEBUG`, "DEBUG", false)
	f(`"say \"hi\""`, `they say "hi" twice`, true)
	f(`"a\\b"`, `a\b`, true)
	f(`"C:\temp"`, `dir C:\temp`, true)
	f(`"ünïcödé ✓"`, "tested ünïcödé ✓ ok", true)
	f(`日本`, "ログ 日本語", true)
	f(`a.b`, "x a.b y", true) // lenient: unquoted punctuation is a literal
	f(`user@example.com`, "login user@example.com ok", true)
	f(`-`, "a - b", true)
	f(`--x`, "a -x", false)
	f(`ERROR %4[0-9]{2}%`, "ERROR 404", true)
	f(`ERROR %4[0-9]{2}%`, "ERROR 500", false)
	f(`-%^DEBUG%`, "DEBUG x", false)
	f(`-%^DEBUG%`, "x DEBUG", true)
	f(`%\d{3}$%`, "status 200", true)
	f(`%\d{3}$%`, "status 200 ", false)
	f(`%a{,2}c%`, "ac", true)
	f(`%x.{0,250}y%`, "x"+strings.Repeat("-", 250)+"y", true) // within MaxRegexProgram
	f(`%x.{0,250}y%`, "x"+strings.Repeat("-", 251)+"y", false)
	f(`%^a{,2}c$%`, "aaac", false)
	f(`%\x41B%`, "xAB", true)
	f(`%[^0-9]x%`, "1x", false)
	f(`%[a\-]x%`, "-x", true)
	f(`%gr[ae]y|colou?r%`, "grey", true)
	f(`%a.c%`, "a\nc", false) // like Java, . does not match a newline
	big := strings.Repeat("x", 1<<20)
	f("ERROR", big+"ERROR", true)
	f("ERROR", big, false)
	f(`%x{5}ERROR$%`, big+"ERROR", true)
}

func TestJSON(t *testing.T) {
	f := func(pattern, msg string, want bool) {
		t.Helper()
		p := mustCompile(t, pattern)
		if got := p.Match(msg); got != want {
			t.Errorf("%q Match(%q) = %v, want %v", pattern, msg, got, want)
		}
		if got, _ := p.Extract(msg); got != want {
			t.Errorf("%q Extract(%q) = %v, want %v", pattern, msg, got, want)
		}
		if want {
			checkRequired(t, p, msg)
		}
	}
	f(`{ $.a = 1 }`, `{"a":1}`, true)
	f(`{ $.a = 1 }`, ` {"a" : 1.0e0 } `, true)
	f(`{ $.a = 1 }`, `{"a":"1"}`, true)
	f(`{ $.a = 1 }`, `{"a":"1.0"}`, false)
	f(`{ $.a > 1 }`, `{"a":"2"}`, false)
	f(`{ $.a != 1 }`, `{"a":true}`, true)
	f(`{ $.a != 1 }`, `{"b":2}`, false)
	f(`{ $.a != 1 }`, `{"a":[2]}`, false)
	f(`{ $.a = 1 }`, `[{"a":1}]`, false)
	f(`{ $.a = 1 }`, `{"a":1}x`, false)
	f(`{ $.a = 1 }`, `{"a":1,}`, false)
	f(`{ $.a = 1 }`, `{"a":1} {"a":1}`, false)
	f(`{ $.a = 1 }`, `{"a":01}`, false)
	f(`{ $.a = 1 }`, `{"a":1,"b":[1,2,{"c":"\u00e9\n"}]}`, true)
	f(`{ $.a = 1 }`, `{"a":1,"b":"bad \x escape"}`, false)
	f(`{ $.a = 1 }`, "{\"a\":1,\"b\":\"raw\ttab\"}", false)
	f(`{ $.a = 1 }`, ``, false)
	f(`{ $.a = 1 }`, `not json`, false)
	f(`{ $.a = x }`, `{"a":"x"}`, true)
	f(`{ $.a = "x" }`, `{"\u0061":"\u0078"}`, true)
	f(`{ $.a = "é" }`, `{"a":"\u00e9"}`, true)
	f(`{ $.a = "😀" }`, `{"a":"\ud83d\ude00"}`, true)
	f(`{ $.a = "a\"b" }`, `{"a":"a\"b"}`, true)
	f(`{ $.a = "Ev*ent" }`, `{"a":"Ev*ent"}`, true)
	f(`{ $.a = "Ev*ent" }`, `{"a":"Evxent"}`, false)
	f(`{ $.a = *Event }`, `{"a":"PutEvent"}`, true)
	f(`{ $.a = Event* }`, `{"a":"EventId"}`, true)
	f(`{ $.a = "*" }`, `{"a":null}`, true)
	f(`{ $.a = * }`, `{"a":{}}`, false)
	f(`{ $.a != * }`, `{"a":1}`, false)
	f(`{ $.a IS TRUE }`, `{"a":true}`, true)
	f(`{ $.a IS TRUE }`, `{"a":"true"}`, false)
	f(`{ $.a is false }`, `{"a":false}`, true)
	f(`{ $.a IS NULL }`, `{"a":"null"}`, false)
	f(`{ $.a = true }`, `{"a":true}`, true)
	f(`{ $.a NOT EXISTS }`, `{"a":null}`, false)
	f(`{ $.a NOT EXISTS }`, `{"b":{"a":1}}`, true)
	f(`{ $.a.b NOT EXISTS }`, `{"a":[{"b":1}]}`, true)
	f(`{ $.a NOT EXISTS }`, `nope`, false)
	f(`{ $.a[1] = 2 }`, `{"a":[1,2]}`, true)
	f(`{ $.a[1] = 2 }`, `{"a":{"1":2}}`, false)
	f(`{ $.a.1 = 2 }`, `{"a":{"1":2}}`, true)
	f(`{ $.a[*].b = 2 }`, `{"a":[{"b":1},{"b":2}]}`, true)
	f(`{ $.a[*].b = 3 }`, `{"a":[{"b":1},{"b":2}]}`, false)
	f(`{ $.a.* = 2 }`, `{"a":{"x":1,"y":2}}`, true)
	f(`{ $.*.b = 2 && $.x.* = 1 && $.x[*] = 1 }`, `{"x":{"b":2,"c":1}}`, false)
	f(`{ $.*.b = 2 && $.x.* = 1 }`, `{"x":{"b":2,"c":1}}`, true)
	f(`{ $['a b'] = 1 }`, `{"a b":1}`, true)
	f(`{ $.["a'b"] = 1 }`, `{"a'b":1}`, true)
	f(`{ $.a-b_c = 1 }`, `{"a-b_c":1}`, true)
	f(`{ $.big = 123456789012345678 }`, `{"big":123456789012345679}`, false)
	f(`{ $.big < 123456789012345679 }`, `{"big":123456789012345678}`, true)
	f(`{ $.big > 1e399 }`, `{"big":1e400}`, true)
	f(`{ $.big = 1e400 }`, `{"big":10e399}`, true)
	f(`{ $.n = -0 }`, `{"n":0}`, true)
	f(`{ $.n > -1.5 }`, `{"n":-1.25}`, true)
	f(`{ $.n < +1000 }`, `{"n":999.999}`, true)
	f(`{ $.n >= 10e-3 }`, `{"n":0.01}`, true)
	f(`{ $.n > 10e-3 }`, `{"n":0.01}`, false)
	f(`{ $.a = 1 || $.b = 2 && $.c = 3 }`, `{"a":1}`, true)
	f(`{ ($.a = 1 || $.b = 2) && $.c = 3 }`, `{"a":1}`, false)
	f(`{ (($.a = 1)) }`, `{"a":1}`, true)
	f(`{ $.a = %^x+$% }`, `{"a":"xxx"}`, true)
	f(`{ $.a != %^x+$% }`, `{"a":"xxy"}`, true)
	f(`{ $.a = %^1% }`, `{"a":12}`, true)
	deep := strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000)
	f(`{ $.a = 1 }`, deep, false)
	f(`{ $.b = 1 }`, `{"a":`+strings.Repeat("[", 100000)+strings.Repeat("]", 100000)+`,"b":1}`, false)
	f(`{ $.b = 1 }`, `{"a":`+strings.Repeat("[", 400)+strings.Repeat("]", 400)+`,"b":1}`, true)
	f(`{ $.a = 1 }`, `{"a":1,"pad":"`+strings.Repeat("y", 1<<20)+`"}`, true)
}

func TestSpaced(t *testing.T) {
	f := func(pattern, msg string, want map[string]string) {
		t.Helper()
		p := mustCompile(t, pattern)
		if got := p.Match(msg); got != (want != nil) {
			t.Errorf("%q Match(%q) = %v, want %v", pattern, msg, got, want != nil)
		}
		ok, vals := p.Extract(msg)
		if ok != (want != nil) || !maps.Equal(vals, want) {
			t.Errorf("%q Extract(%q) = %v %q, want %q", pattern, msg, ok, vals, want)
		}
		if ok {
			checkRequired(t, p, msg)
		}
	}
	type m = map[string]string
	f(`[a]`, "one two  three ", m{"$a": "one two  three"})
	f(`[a]`, "", nil)
	f(`[a]`, "   ", nil)
	f(`[...]`, "", m{})
	f(`[]`, "x y", m{"$1": "x", "$2": "y"})
	f(`[a, b]`, "x", nil)
	f(`[a, b]`, "x\ty", m{"$a": "x", "$b": "y"})
	f(`[a, b]`, `x "y z"`, m{"$a": "x", "$b": "y z"})
	f(`[a, b]`, `x "y z" w`, m{"$a": "x", "$b": `"y z" w`})
	f(`[a, b]`, `x [y z]`, m{"$a": "x", "$b": "y z"})
	f(`[a, b]`, `x "y \" z"`, m{"$a": "x", "$b": `y \" z`})
	f(`[a, b]`, `x "unterminated y`, m{"$a": "x", "$b": `"unterminated y`})
	f(`[a, b=y]`, `x "y"z`, nil)
	f(`[a, ..., c]`, "1 2 3 4", m{"$a": "1", "$2": "2", "$3": "3", "$c": "4"})
	f(`[a, ..., c]`, "1 4", m{"$a": "1", "$c": "4"})
	f(`[a, ..., c]`, "1", nil)
	f(`[..., b=x, ..., d=y, ...]`, "q x y x y", m{"$1": "q", "$b": "x", "$d": "y", "$4": "x", "$5": "y"})
	f(`[..., b=x, c=y, ...]`, "x z x y", m{"$1": "x", "$2": "z", "$b": "x", "$c": "y"})
	f(`[..., b=x, c=y, ...]`, "x z y x", nil)
	f(`[, b]`, "x y", m{"$1": "x", "$b": "y"})
	f(`[a=ERROR&&a!=x, b]`, "ERROR 1", m{"$a": "ERROR", "$b": "1"})
	f(`[a=1 || a=2 && a=3, b]`, "1 z", m{"$a": "1", "$b": "z"})
	f(`[a=1 || a=2 && a=3, b]`, "2 z", nil)
	f(`[a>10, b]`, "9 z", nil)
	f(`[a>10, b]`, "1e2 z", m{"$a": "1e2", "$b": "z"})
	f(`[a>10, b]`, "abc z", nil)
	f(`[a!=10, b]`, "abc z", m{"$a": "abc", "$b": "z"})
	f(`[a=10, b]`, "10.0 z", m{"$a": "10.0", "$b": "z"})
	f(`[a="10", b]`, "10.0 z", nil)
	f(`[a=*x*, b]`, "axb z", m{"$a": "axb", "$b": "z"})
	f(`[a="x y", b]`, `"x y" z`, m{"$a": "x y", "$b": "z"})
	f(`[a=%^\d+$%, b]`, "123 z", m{"$a": "123", "$b": "z"})
	f(`[a!=%^\d+$%, b]`, "123 z", nil)
	f(`[timestamp=*Z, request_id="*-*", event]`, "2017-01-01T00:00:00.000Z\tab-cd\tsomething happened here",
		m{"$timestamp": "2017-01-01T00:00:00.000Z", "$request_id": "ab-cd", "$event": "something happened here"})
	f(`[a, b]`, "ü ✓ 日本", m{"$a": "ü", "$b": "✓ 日本"})
	f(`[a, ..., b=w]`, strings.Repeat("w ", 1<<12), m2(1<<12))
	long := strings.Repeat("w ", 1<<19) // 1 MB
	f(`[a=w, b]`, long, m{"$a": "w", "$b": strings.TrimSpace(long[2:])})
	if !mustCompile(t, `[a, ..., b=w, ..., c=w]`).Match(long) {
		t.Error("1 MB message with ellipses did not match")
	}
}

// m2 is what [a, ..., b] extracts from n words "w".
func m2(n int) map[string]string {
	out := map[string]string{"$a": "w", "$b": "w"}
	for i := 2; i < n; i++ {
		out["$"+itoa(i)] = "w"
	}
	return out
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

func TestAPI(t *testing.T) {
	p := mustCompile(t, "  ERROR  ")
	if p.String() != "  ERROR  " || p.MatchesAll() {
		t.Errorf("String %q, MatchesAll %v", p.String(), p.MatchesAll())
	}
	for _, s := range []string{"", "  ", `" "`, `""`, "[]", "[...]", "[..., ...]", `?" "`} {
		if !mustCompile(t, s).MatchesAll() {
			t.Errorf("%q: MatchesAll false", s)
		}
	}
	for _, s := range []string{"x", "-x", "?x", "[a]", "{ $.a = * }", "[..., a]"} {
		if mustCompile(t, s).MatchesAll() {
			t.Errorf("%q: MatchesAll true", s)
		}
	}
	ok, vals := mustCompile(t, "").Extract("x")
	if !ok || vals == nil || len(vals) != 0 {
		t.Errorf("empty pattern Extract = %v %v", ok, vals)
	}
	ok, vals = mustCompile(t, "x").Extract("y")
	if ok || vals != nil {
		t.Errorf("term Extract non-match = %v %v", ok, vals)
	}
}

func TestRequired(t *testing.T) {
	f := func(pattern string, req, esc []string) {
		t.Helper()
		p := mustCompile(t, pattern)
		if got := p.Required(); !equalSets(got, req) {
			t.Errorf("%q Required() = %q, want %q", pattern, got, req)
		}
		if got := p.RequiredUnlessEscaped(); !equalSets(got, esc) {
			t.Errorf("%q RequiredUnlessEscaped() = %q, want %q", pattern, got, esc)
		}
	}
	f(`ERROR "Bad Thing" -DEBUG`, []string{"ERROR", "Bad Thing"}, nil)
	f(`?ERROR ?WARN`, nil, nil)
	f(`-ERROR`, nil, nil)
	f(`%colou?r%`, []string{"colo"}, nil)
	f(`%a|b%`, nil, nil)
	f(`ERROR ERROR`, []string{"ERROR"}, nil)
	f(`{ $.a.b = "x*" }`, nil, []string{`"a"`, `"b"`, "x"})
	f(`{ $.a = 5 }`, nil, []string{`"a"`})
	f(`{ $.a IS NULL }`, []string{"null"}, []string{`"a"`})
	f(`{ $.a NOT EXISTS }`, nil, nil)
	f(`{ $.a = "x" || $.b = "x" }`, nil, []string{"x"})
	f(`{ $.a IS TRUE || $.b IS TRUE }`, []string{"true"}, nil)
	f(`{ $.a IS TRUE || $.b = %true% }`, nil, []string{"true"})
	f(`{ $.a = 1 && ($.c = 1 || $.c = 2) }`, nil, []string{`"a"`, `"c"`})
	f(`{ $.* = "x" }`, nil, []string{"x"})
	f(`{ $.['a"b'] = "x\"y" }`, nil, nil)
	f(`[a, b=*.html*, c=404 || c=4*]`, []string{".html"}, nil)
	f(`[a=GET || a=PUT, b]`, nil, nil)
	f(`[a!=GET, b]`, nil, nil)
}

func equalSets(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		found := false
		for _, y := range b {
			found = found || x == y
		}
		if !found {
			return false
		}
	}
	return true
}

func TestSyntaxErrors(t *testing.T) {
	f := func(pattern string, pos int, msgPart string) {
		t.Helper()
		_, err := Compile(pattern)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Compile(%q) = %v, want a *SyntaxError", pattern, err)
			return
		}
		if se.Pos != pos || !strings.Contains(se.Error(), msgPart) {
			t.Errorf("Compile(%q) = %q (pos %d), want pos %d and %q", pattern, se.Error(), se.Pos, pos, msgPart)
		}
		if !strings.HasPrefix(se.Error(), "Invalid filter pattern: ") {
			t.Errorf("Compile(%q) = %q: bad prefix", pattern, se.Error())
		}
	}
	f(`"abc`, 0, "unterminated quoted string")
	f(`ERROR "abc`, 6, "at character 7")
	f(`"ab"cd`, 4, "unexpected 'c'")
	f(`%abc`, 0, "unterminated regular expression")
	f(`%%`, 0, "empty regular expression")
	f(`%a(b)%`, 2, "parentheses")
	f(`%something!%`, 10, "'!' is not allowed")
	f(`%é%`, 1, "multi-byte")
	f(`%a{x}%`, 2, "invalid repetition")
	f(`%a}%`, 2, "unexpected '}'")
	f(`%*a%`, 0, "missing argument to repetition operator")
	f(`%a**%`, 0, "invalid nested repetition")
	f(`%[z-a]%`, 0, "invalid character class range")
	f(`%[abc%`, 1, "unterminated character class")
	f(`%\q%`, 1, `unsupported escape \q`)
	f(`%\x4%`, 1, `two hex digits`)
	f(`%a{2000}%`, 0, "invalid repeat count")
	// RE2's cost per byte grows with the program: 50 of these took 49 s
	// on one 10 KB message before the bound.
	f(`%.{0,1000}%`, 0, "regular expression is too complex")
	f(`x %`+strings.Repeat(`.{0,100}`, 3)+`z%`, 2, "too complex")
	f(`{ $.a = %`+strings.Repeat(`a?`, 300)+`% }`, 8, "too complex")
	f(`[a = %[a-z]{600}%, b]`, 5, "too complex")
	f(`%a% %b% %c%`, 8, "too many regular expressions")
	f(`{ $.a = %a% || $.b = %b% || $.c = %c% }`, 34, "too many regular expressions")
	f(strings.Repeat("a", 1025), 1024, "longer than 1024 characters")
	f(strings.Repeat("é", 1025), 1024, "at character 1025")
	f(`{`, 0, "unbalanced '{'")
	f(`{ $.a = 1`, 0, "unbalanced '{'")
	f(`{ }`, 2, "empty JSON pattern")
	f(`{ $.a = 1 } x`, 12, "after the closing '}'")
	f(`{ ($.a = 1 }`, 2, "unbalanced '('")
	f(`{ $.a = 1) }`, 9, "unexpected ')'")
	f(`{ ($.user.id = 1) && ) }`, 21, "unexpected ')'")
	f(`{ $.a == 1 }`, 6, "expected an operator")
	f(`{ $.a =< 1 }`, 7, "expected a value")
	f(`{ $.a < "x" }`, 8, "operator '<' needs a number")
	f(`{ $.a > abc }`, 8, "needs a number")
	f(`{ $.a >= %x% }`, 9, "needs a number")
	f(`{ $.a = }`, 8, "expected a value")
	f(`{ $.a IS MAYBE }`, 9, "expected NULL, TRUE or FALSE")
	f(`{ $.a IS NOT NULL }`, 9, "expected NULL, TRUE or FALSE")
	f(`{ $.a EXISTS }`, 6, "expected an operator")
	f(`{ $.a NOT THERE }`, 10, "expected EXISTS")
	f(`{ $ = 1 }`, 2, "must name a field")
	f(`{ $. = 1 }`, 4, "expected a field name")
	f(`{ $.a[x] = 1 }`, 5, "invalid array index")
	f(`{ $.a[99999999999999999999] = 1 }`, 6, "too large")
	f(`{ $.['a = 1 }`, 4, "unterminated key")
	f(`{ $.*.* = 1 }`, 5, "at most one wildcard")
	f(`{ $.a* = 1 }`, 5, "unexpected '*'")
	f(`{ $.* = 1 && $.* = 2 && $.* = 3 && $.* = 4 }`, 36, "too many wildcards")
	f(`{ a = 1 }`, 2, "selector starting with '$'")
	f(`{ $.a = 1 && }`, 13, "selector starting with '$'")
	f(`{ $.a = 1 & $.b = 2 }`, 10, "unexpected '&'")
	f(`{ $.a = "x }`, 8, "unterminated quoted string")
	f(`[a, b`, 0, "unbalanced '['")
	f(`[a b]`, 3, "expected ',' or ']'")
	f(`[a, b] c`, 7, "after the closing ']'")
	f(`[a, $b]`, 4, "expected a field name")
	f(`[a = ]`, 5, "expected a value")
	f(`[a > x, b]`, 5, "needs a number")
	f(`[a = 1 && , b]`, 10, "expected a field name after '&&'")
	f(`[a = 1 || b c]`, 12, "expected an operator after field b")
	f(`[a IS NULL]`, 3, "expected ',' or ']'")
}
