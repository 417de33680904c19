package bench

import (
	"encoding/json"
	"testing"
)

// answer is a GetQueryResults answer as a server may encode it, its rows
// holding any text (json.Marshal escapes what must be).
func answer(t testing.TB, status string, fields ...string) []byte {
	var rows [][]map[string]string
	for i := 0; i+1 < len(fields); i += 2 {
		rows = append(rows, []map[string]string{{"field": fields[i], "value": fields[i+1]}})
	}
	b, err := json.Marshal(map[string]any{"results": rows, "statistics": map[string]float64{"recordsMatched": 1}, "status": status})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTopStatus: the status read without decoding the rows is the one
// encoding/json decodes, whatever the rows hold, and an answer in another
// form is left to the full decode.
func TestTopStatus(t *testing.T) {
	for _, b := range [][]byte{
		answer(t, "Running"),
		answer(t, "Complete", "status", "Failed"),
		answer(t, "Running", `"status":"Complete"`, `{"status":"Complete"}`),
		answer(t, "Scheduled", "x", `\"status\":\"Complete\"`),
		[]byte(`{"results":[[{"field":"status","value":"Complete"}]],"status":"Running","nextToken":"a\"status\":\"b"}`),
	} {
		var r queryResults
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		got, ok := topStatus(b)
		if !ok || got != r.Status {
			t.Errorf("%s: topStatus = %q, %v; encoding/json: %q", b, got, ok, r.Status)
		}
	}
	for _, b := range []string{`{"status": "Running"}`, `{"status":"Run\u006eing"}`, `{}`, `{"status":"Running`} {
		if got, ok := topStatus([]byte(b)); ok {
			t.Errorf("%s: topStatus = %q, want the full decode", b, got)
		}
	}
}

// FuzzTopStatus: any rows, any status: topStatus agrees with encoding/json
// or declines.
func FuzzTopStatus(f *testing.F) {
	f.Add("Running", "status", `"status":"Complete"`)
	f.Add("Complete", `\"`, "")
	f.Fuzz(func(t *testing.T, status, field, value string) {
		b := answer(t, status, field, value, value, field)
		var r queryResults
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		if got, ok := topStatus(b); ok && got != r.Status {
			t.Fatalf("%s: topStatus = %q; encoding/json: %q", b, got, r.Status)
		}
	})
}
