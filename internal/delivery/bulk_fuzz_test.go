package delivery

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzBulkOutcome: any body a _bulk endpoint answers with a 2xx is
// classified without panicking: acknowledged, retryable or permanent, and,
// for a body encoding/json reads as a _bulk answer, exactly as computed here
// independently (errors false: acknowledged; some item 429 or 5xx:
// retryable; else permanent).
func FuzzBulkOutcome(f *testing.F) {
	for _, s := range []string{
		`{"took":3,"errors":false,"items":[{"index":{"_id":"1","status":201}}]}`,
		`{"errors":true,"items":[{"index":{"status":400,"error":{"type":"mapper_parsing_exception"}}}]}`,
		`{"errors":true,"items":[{"index":{"status":201}},{"create":{"status":429}}]}`,
		`{"errors":true,"items":[{"index":{"status":503}}]}`,
		`{"errors":true}`, `OK`, ``, `{"errors":true,"items":[{}]}`, `{"errors":"yes"}`, `[1,2]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		err := bulkOutcome(strings.NewReader(body))
		var res struct {
			Errors bool                                  `json:"errors"`
			Items  []map[string]struct{ Status float64 } `json:"items"`
		}
		dec := json.NewDecoder(strings.NewReader(body))
		if dec.Decode(&res) != nil {
			return // not a _bulk answer; any classification is the receiver's 2xx
		}
		want := "ack"
		if res.Errors {
			want = "permanent"
			for _, it := range res.Items {
				for _, v := range it {
					if v.Status == 429 || v.Status >= 500 {
						want = "retry"
					}
				}
			}
		}
		got := "ack"
		switch {
		case err != nil && IsPermanent(err):
			got = "permanent"
		case err != nil:
			got = "retry"
		}
		if got != want {
			t.Fatalf("%q: %s, want %s (%v)", body, got, want, err)
		}
	})
}
