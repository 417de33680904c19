package lookuptable

import (
	"reflect"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "a\n", "", "a,a\n", "\"x\ny\",b\n1,2", "a,b\n1\n", "\xff,b\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		tb, err := Parse(body)
		if err != nil {
			return
		}
		if len(tb.Columns) == 0 {
			t.Fatal("a parsed table has no columns")
		}
		for _, r := range tb.Rows {
			if len(r) != len(tb.Columns) {
				t.Fatalf("row %q has %d fields, header %d", r, len(r), len(tb.Columns))
			}
		}
		// what Format writes parses back to the same table
		out, err := Format(tb.Columns, tb.Rows)
		if err != nil {
			t.Fatal(err)
		}
		tb2, err := Parse(out)
		if err != nil {
			t.Fatalf("Format's output %q does not parse: %v", out, err)
		}
		if !reflect.DeepEqual(tb2.Columns, tb.Columns) {
			t.Fatalf("round trip through %q: columns %q, want %q", out, tb2.Columns, tb.Columns)
		}
		if len(tb2.Rows) != len(tb.Rows) {
			t.Fatalf("round trip through %q: %d rows, want %d", out, len(tb2.Rows), len(tb.Rows))
		}
		for i := range tb.Rows {
			if !reflect.DeepEqual(tb2.Rows[i], tb.Rows[i]) {
				t.Fatalf("round trip through %q: row %d %q, want %q", out, i, tb2.Rows[i], tb.Rows[i])
			}
		}
	})
}
