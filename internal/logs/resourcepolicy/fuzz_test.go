package resourcepolicy

import (
	"encoding/json"
	"testing"

	"github.com/cairnlog/cairn/internal/awserr"
)

// FuzzParseDocument: any document is accepted or refused with one of AWS's
// two InvalidParameterException texts, never a panic; an accepted one
// normalises to valid JSON that parses again to the same normal form.
func FuzzParseDocument(f *testing.F) {
	for _, s := range []string{
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["route53.amazonaws.com"]},"Action":"logs:PutLogEvents","Resource":"*"}]}`,
		`{"Statement":{"Effect":"Deny","Principal":"*","Action":["logs:*"],"Condition":{"StringEquals":{"aws:SourceAccount":["1"]}}}}`,
		`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"NotAction":"logs:x","NotResource":"arn:aws:logs:*"}]}`,
		`[]`, `{}`, `{"Statement":[]}`, `"x"`, `{"Statement":[1]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		norm, err := parseDocument(doc)
		if err != nil {
			e, ok := awserr.As(err)
			if !ok || e.Code != awserr.InvalidParameter {
				t.Fatalf("%q: %v", doc, err)
			}
			return
		}
		if !json.Valid([]byte(norm)) {
			t.Fatalf("%q normalised to invalid JSON %q", doc, norm)
		}
		again, err := parseDocument(norm)
		if err != nil {
			// Collapsing a one-element list can make a document iam refuses
			// only if it was wrongly accepted before; report it.
			t.Fatalf("%q normalised to %q, which is refused: %v", doc, norm, err)
		}
		if again != norm {
			t.Fatalf("normal form not stable: %q → %q", norm, again)
		}
	})
}
