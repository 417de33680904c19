package transformer_test

import (
	"testing"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/logs/transformer"
)

// FuzzCheckAccountDocument: a TRANSFORMER_POLICY document is accepted or
// refused with InvalidParameterException, never a plain error (answered as
// a 500: how a grok match of %{DATA:a} six times was answered) nor a panic.
func FuzzCheckAccountDocument(f *testing.F) {
	for _, doc := range []string{
		`{"transformerConfig":[{"parseJSON":{}}]}`,
		`{"transformerConfig":[{"grok":{"match":"%{DATA:a} %{DATA:a} %{DATA:a} %{DATA:a} %{DATA:a} %{DATA:a}"}}]}`,
		`{"transformerConfig":[{"parseJSON":{}},{"substituteString":{"entries":[{"source":"a","from":"x+","to":"y"}]}}]}`,
		`{"transformerConfig":[{"csv":{"columns":["a","b"]}},{"typeConverter":{"entries":[{"key":"a","type":"integer"}]}}]}`,
		`{"transformerConfig":[{"parseJSON":1}]}`, `{"transformerConfig":"x"}`, `{}`, `[]`,
	} {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		err := transformer.CheckAccountDocument(doc)
		if err == nil {
			return
		}
		if e, ok := awserr.As(err); !ok || e.Code != awserr.InvalidParameter {
			t.Fatalf("%s: %v (%T), want InvalidParameterException", doc, err, err)
		}
	})
}
