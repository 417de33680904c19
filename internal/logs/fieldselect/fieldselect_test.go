package fieldselect

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	sys := map[string]string{"@aws.account": "111111111111", "@aws.region": "us-east-1"}
	field := func(n string) string { return sys[n] }
	// ok parses text and checks what it selects for the event above.
	ok := func(text string, want bool) {
		t.Helper()
		c, err := Parse(text)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		if got := c.Selects(field); got != want {
			t.Fatalf("%q selects %v, want %v", text, got, want)
		}
	}
	bad := func(text, why string) {
		t.Helper()
		_, err := Parse(text)
		if err == nil || !strings.Contains(err.Error(), why) {
			t.Fatalf("%q: got %v, want an error containing %q", text, err, why)
		}
	}
	ok("", true)
	ok("  ", true)
	// The documentation's two examples.
	ok(`@aws.region = "us-east-1"`, true)
	ok(`@aws.account IN ["123456789012", "987654321098"]`, false)
	ok(`@aws.account IN ["123456789012","111111111111"]`, true)
	ok(`@aws.region != "us-east-1"`, false)
	ok(`@aws.account NOT IN ["123456789012"]`, true)
	ok(`@aws.region = "eu-west-1" OR @aws.account = "111111111111"`, true)
	ok(`@aws.region = "eu-west-1" AND @aws.account = "111111111111"`, false)
	// AND binds tighter than OR; parentheses regroup.
	ok(`@aws.region = "us-east-1" OR @aws.region = "x" AND @aws.account = "y"`, true)
	ok(`(@aws.region = "us-east-1" OR @aws.region = "x") AND @aws.account = "y"`, false)
	ok(`((@aws.region="us-east-1"))`, true)
	ok(`@aws.region = "us-\u0065ast-1"`, true)

	bad(`@aws.region`, "expected =, !=, IN or NOT IN")
	bad(`@aws.region == "x"`, "expected a double-quoted string")
	bad(`@aws.region = us-east-1`, "expected a double-quoted string")
	bad(`@aws.region = 'us-east-1'`, "unexpected")
	bad(`@aws.region IN []`, "must not be empty")
	bad(`@aws.region NOT IN []`, "must not be empty")
	bad(`@aws.region IN ["a",]`, "expected a double-quoted string in the list")
	bad(`@aws.region IN ["a"`, `expected "," or "]"`)
	bad(`@aws.region NOT ["a"]`, "expected IN after NOT")
	bad(`@aws.region in ["a"]`, "expected =, !=, IN or NOT IN")
	bad(`@aws.region = "a" and @aws.account = "b"`, "unexpected")
	bad(`@source.log = "a"`, "unsupported system field @source.log")
	bad(`@message = "a"`, "unsupported system field")
	bad(`region = "a"`, "expected a system field")
	bad(`@aws.region = "a" OR`, "expected a condition at the end")
	bad(`(@aws.region = "a"`, `expected ")"`)
	bad(`@aws.region = "a")`, "unexpected")
	bad(`@aws.region = "unterminated`, "unterminated string")
	bad(`@aws.region = "bad \x escape"`, "invalid string")
	bad(strings.Repeat("(", maxDepth+1)+`@aws.region = "a"`+strings.Repeat(")", maxDepth+1), "nest deeper")
	if g := Group("111111111111", "us-east-1"); g("@aws.region") != "us-east-1" || g("@aws.account") != "111111111111" || g("@source.log") != "" {
		t.Fatal("Group")
	}
}

// FuzzParse: any text is parsed or refused, never a panic, and a parsed
// criteria answers for any event.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`@aws.region = "us-east-1"`, `@aws.account IN ["1", "2"]`, `(@aws.region != "a" OR @aws.account NOT IN ["b"]) AND @aws.region = "c"`, `"\u00e9"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			return
		}
		c.Selects(func(string) string { return "" })
	})
}
