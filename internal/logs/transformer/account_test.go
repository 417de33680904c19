package transformer_test

import (
	"testing"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/logs/transformer"
)

// TestCheckAccountDocumentErrors: a TRANSFORMER_POLICY document that does
// not compile is InvalidParameterException with the transformer's text.
// Before, these were plain errors and PutAccountPolicy answered
// ServiceUnavailableException (500).
func TestCheckAccountDocumentErrors(t *testing.T) {
	six := ""
	for range 6 {
		six += "%{DATA:a} "
	}
	for doc, msg := range map[string]string{
		`{"transformerConfig":[{"grok":{"match":"` + six + `"}}]}`: "Invalid policy document: grok: the DATA pattern can be used at most 5 times in match.",
		`{"transformerConfig":[{"parseJSON":1}]}`:                  "Invalid policy document: transformerConfig is not a list of processors of PutTransformer's form",
		`{"transformerConfig":"x"}`:                                "Invalid policy document: transformerConfig is not a list of processors of PutTransformer's form",
	} {
		err := transformer.CheckAccountDocument(doc)
		e, ok := awserr.As(err)
		if !ok || e.Code != awserr.InvalidParameter || e.Message != msg {
			t.Errorf("%s: %v, want InvalidParameterException %q", doc, err, msg)
		}
	}
	if err := transformer.CheckAccountDocument(`{"transformerConfig":[{"parseJSON":{}}]}`); err != nil {
		t.Errorf("a valid document: %v", err)
	}
}
