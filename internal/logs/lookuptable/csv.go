package lookuptable

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/cairnlog/cairn/internal/insights/cwli"
)

// MaxBody is AWS's limit on a table body: "must use UTF-8 encoding and not
// exceed 10 MB" (CreateLookupTable's documentation; the model's TableBody
// max 10485760). Decoded enforces it on the wire; Parse enforces it again
// for bodies built from query results.
const MaxBody = 10 << 20

// maxColumns bounds a header. AWS documents no column limit; a query result
// has at most a few hundred fields, so 1,000 is Cairn's bound, there only so
// a pathological header cannot cost more than its bytes.
const maxColumns = 1000

// Parse reads a CSV table body: a header row of distinct, non-empty column
// names, then rows of exactly as many fields (encoding/csv's
// FieldsPerRecord). The body is at most MaxBody bytes, so what Parse keeps
// is bounded by its input.
func Parse(body string) (*cwli.LookupTable, error) {
	if len(body) > MaxBody {
		return nil, errors.New("the table body exceeds 10 MB")
	}
	if !utf8.ValidString(body) {
		return nil, errors.New("the table body must use UTF-8 encoding")
	}
	r := csv.NewReader(strings.NewReader(body))
	r.ReuseRecord = false
	head, err := r.Read()
	if err == io.EOF {
		return nil, errors.New("the table body must have a header row with column names")
	}
	if err != nil {
		return nil, fmt.Errorf("the table body is not valid CSV: %v", err)
	}
	if len(head) > maxColumns {
		return nil, fmt.Errorf("the header row has %d columns; at most %d are allowed", len(head), maxColumns)
	}
	seen := map[string]bool{}
	for i, h := range head {
		h = strings.TrimSpace(h)
		head[i] = h
		if h == "" {
			return nil, fmt.Errorf("column %d of the header row has no name", i+1)
		}
		if seen[h] {
			return nil, fmt.Errorf("the header row names column %s twice", h)
		}
		seen[h] = true
	}
	t := &cwli.LookupTable{Columns: head}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("the table body is not valid CSV: %v", err)
		}
		t.Rows = append(t.Rows, rec)
	}
	return t, nil
}

// Format writes a table as CSV (the body of a table made from query
// results). A row of one empty field is written `""`: encoding/csv writes
// it as an empty line, which every CSV reader (Parse too) skips, so a
// one-column result's empty values would vanish from the table
// (FuzzParse found it).
func Format(cols []string, rows [][]string) (string, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(cols); err != nil {
		return "", err
	}
	for _, r := range rows {
		if len(r) == 1 && r[0] == "" {
			w.Flush()
			b.WriteString("\"\"\n")
			continue
		}
		if err := w.Write(r); err != nil {
			return "", err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return "", err
	}
	return b.String(), nil
}
