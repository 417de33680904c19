package lookuptable

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tb, err := Parse("id, name\n1,\"a, b\"\n2,c\n")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tb.Columns, "|") != "id|name" || len(tb.Rows) != 2 || tb.Rows[0][1] != "a, b" {
		t.Fatalf("%+v", tb)
	}
	for body, want := range map[string]string{
		"":                             "header row",
		"a\n\xff\n":                    "UTF-8",
		"a,b\n1,2,3\n":                 "wrong number of fields",
		" ,b\n":                        "no name",
		strings.Repeat("c", MaxBody+1): "10 MB",
	} {
		if _, err := Parse(body); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%.20q): %v, want %q", body, err, want)
		}
	}
}
