package transformer

import (
	"context"
	"errors"
	"fmt"

	json "github.com/goccy/go-json"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/logs/accountpolicy"
	"github.com/cairnlog/cairn/internal/store"
	"github.com/cairnlog/cairn/internal/transform"
)

// The TRANSFORMER_POLICY account policy's document is
// {"transformerConfig":[processor, …]} (PutAccountPolicy's documentation),
// the same processors as PutTransformer's.
type accountDocument struct {
	TransformerConfig []transform.Processor `json:"transformerConfig"`
}

// AccountLevel is Config.AccountLevel over the account policies: the most
// specific TRANSFORMER_POLICY that selects the group (accountpolicy's
// Effective orders them), or none.
func AccountLevel(a *accountpolicy.Service) func(ctx context.Context, g store.Group) ([]transform.Processor, error) {
	return func(ctx context.Context, g store.Group) ([]transform.Processor, error) {
		ps, err := a.EffectiveFor(ctx, g, accountpolicy.Transformer)
		if err != nil || len(ps) == 0 {
			return nil, err
		}
		var doc accountDocument
		if err := json.Unmarshal([]byte(ps[0].PolicyDocument), &doc); err != nil {
			return nil, fmt.Errorf("account policy %s: %w", ps[0].PolicyName, err)
		}
		return doc.TransformerConfig, nil
	}
}

// CheckAccountDocument is accountpolicy's deep check of a
// TRANSFORMER_POLICY document: it must compile as PutTransformer's
// configuration would (AWS's validation texts).
//
// Every refusal is InvalidParameterException: a plain error here was
// answered as an internal one (ServiceUnavailableException), as for a
// grok match of %{DATA:a} six times or a processor of the wrong shape.
func CheckAccountDocument(doc string) error {
	var d accountDocument
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return awserr.InvalidPolicyDocument("transformerConfig is not a list of processors of PutTransformer's form")
	}
	_, err := transform.Compile(d.TransformerConfig)
	var ce *transform.ConfigError
	if errors.As(err, &ce) {
		return awserr.InvalidPolicyDocument(ce.Message)
	}
	return err
}
