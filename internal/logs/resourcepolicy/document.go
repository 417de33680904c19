package resourcepolicy

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/iam"
)

// MaxDocument is the longest policy document CloudWatch Logs stores, in
// characters. The model allows 51,200, but AWS's quota is 5,120 ("CloudWatch
// Logs resource policies are limited to 5120 characters", Step Functions'
// guide; the same figure in the text AWS services relay, below).
const MaxDocument = 5120

// parseDocument checks a policy document as CloudWatch Logs does before it
// stores it, and returns it normalised (what DescribeResourcePolicies
// answers).
//
// The checks: at most MaxDocument characters; a JSON object that package iam
// parses as a resource-based policy (Effect, Action, a Principal in every
// statement); principals of the forms AWS accepts ("*", an account id or an
// IAM ARN under "AWS", a service name under "Service"). Anything else is
// AWS's "Could not convert to persistable policy." (recorded for a service
// name given as an "AWS" principal, hashicorp/terraform-provider-aws#32260);
// AWS has no other text on record, so every malformed document gets that one.
func parseDocument(doc string) (string, error) {
	if n := utf8.RuneCountInString(doc); n > MaxDocument {
		return "", awserr.PolicyTooLong(MaxDocument)
	}
	var raw any
	d := json.NewDecoder(strings.NewReader(doc))
	d.UseNumber()
	if err := d.Decode(&raw); err != nil || d.More() {
		return "", awserr.PolicyNotPersistable()
	}
	top, ok := raw.(map[string]any)
	if !ok {
		return "", awserr.PolicyNotPersistable()
	}
	if err := checkPrincipals(top["Statement"]); err != nil {
		return "", err
	}
	if _, err := iam.Parse([]byte(doc), iam.TrustPolicy); err != nil {
		return "", awserr.PolicyNotPersistable()
	}
	return normalise(top), nil
}

// checkPrincipals refuses the principal forms AWS cannot store, which
// package iam (whose trust policies accept any Service string) lets through:
// an empty or wildcard service name, and an "AWS" entry that is neither "*",
// an account id nor an ARN (a service name given as "AWS", the recorded case).
func checkPrincipals(stmts any) error {
	list, ok := stmts.([]any)
	if !ok {
		list = []any{stmts}
	}
	for _, st := range list {
		obj, ok := st.(map[string]any)
		if !ok {
			return awserr.PolicyNotPersistable()
		}
		pr, ok := obj["Principal"].(map[string]any)
		if !ok {
			continue // "*" or malformed: iam.Parse decides
		}
		for typ, v := range pr {
			for _, s := range strings1(v) {
				switch typ {
				case "Service":
					if s == "" || strings.ContainsAny(s, "*? ") || !strings.Contains(s, ".") {
						return awserr.PolicyNotPersistable()
					}
				case "AWS":
					if s != "*" && !strings.HasPrefix(s, "arn:") && !isAccount(s) {
						return awserr.PolicyNotPersistable()
					}
				}
			}
		}
	}
	return nil
}

func strings1(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// statementOrder is the order AWS writes a statement's members in a
// described policy (recorded: Sid, Effect, Principal, Action, Resource);
// where the rest go is not recorded, so they follow in this order.
var statementOrder = [...]string{"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"}

// normalise writes a policy as DescribeResourcePolicies returns it
// (recorded, pipeline reference §6): "Version" first (2008-10-17 when the
// document has none), then "Statement"; statement members in AWS's order;
// one-element lists written as their element ("Service":["x"] → "Service":"x").
// The output is compact JSON.
func normalise(top map[string]any) string {
	var b bytes.Buffer
	b.WriteString(`{"Version":`)
	v, ok := top["Version"]
	if !ok {
		v = "2008-10-17"
	}
	writeValue(&b, v)
	if id, ok := top["Id"]; ok {
		b.WriteString(`,"Id":`)
		writeValue(&b, id)
	}
	b.WriteString(`,"Statement":`)
	stmts, isList := top["Statement"].([]any)
	if !isList {
		stmts = []any{top["Statement"]}
	}
	b.WriteByte('[')
	for i, st := range stmts {
		if i > 0 {
			b.WriteByte(',')
		}
		obj, _ := st.(map[string]any)
		b.WriteByte('{')
		n := 0
		for _, k := range statementOrder {
			if val, ok := obj[k]; ok {
				if n > 0 {
					b.WriteByte(',')
				}
				writeString(&b, k)
				b.WriteByte(':')
				writeValue(&b, collapse(val))
				n++
			}
		}
		b.WriteByte('}')
	}
	b.WriteString("]}")
	return b.String()
}

// collapse writes one-element lists as their element, at every depth.
func collapse(v any) any {
	switch t := v.(type) {
	case []any:
		if len(t) == 1 {
			return collapse(t[0])
		}
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = collapse(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = collapse(e)
		}
		return out
	}
	return v
}

// writeValue writes v compactly, object keys sorted (encoding/json's order).
func writeValue(b *bytes.Buffer, v any) {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, k)
			b.WriteByte(':')
			writeValue(b, t[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range t {
			if i > 0 {
				b.WriteByte(',')
			}
			writeValue(b, e)
		}
		b.WriteByte(']')
	default:
		out, err := json.Marshal(t)
		if err != nil {
			b.WriteString("null") // unreachable: values come from a decoded document
			return
		}
		b.Write(out)
	}
}

func writeString(b *bytes.Buffer, s string) {
	out, _ := json.Marshal(s)
	b.Write(out)
}
