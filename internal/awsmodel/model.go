// Package awsmodel holds the CloudWatch Logs API model and validates requests
// against it the way AWS's request framework does.
//
// model.json is a trimmed copy of shared/reference/aws-logs-service-2.json
// (regenerate with `go run gen.go PATH`): shapes with their types, required
// members, length and value bounds, patterns and enums, and each operation's
// input shape. A request body enters Validate as a decoded JSON document; what
// leaves is nil or an *awserr.Error with AWS's wording, e.g.
// "1 validation error detected: Value '10001' at 'limit' failed to satisfy
// constraint: Member must have value less than or equal to 10000".
package awsmodel

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cairnlog/cairn/internal/awserr"
)

//go:embed model.json
var modelJSON []byte

// Shape is one shape of the model.
type Shape struct {
	Name     string
	Type     string
	Members  map[string]string // member name → shape name
	order    []string          // member names, sorted
	Member   string            // list element shape
	Key      string            // map key shape
	Value    string            // map value shape
	Required []string
	Min, Max *float64
	Pattern  string
	re       *regexp.Regexp
	Enum     []string
}

// Model is the parsed API model. It is immutable after Load.
type Model struct {
	TargetPrefix string
	inputs       map[string]string // operation → input shape ("" when none)
	shapes       map[string]*Shape
}

// Load parses the embedded model and compiles its patterns.
func Load() (*Model, error) {
	var raw struct {
		TargetPrefix string `json:"targetPrefix"`
		Operations   map[string]struct {
			Input string `json:"input"`
		} `json:"operations"`
		Shapes map[string]struct {
			Type     string                            `json:"type"`
			Members  map[string]struct{ Shape string } `json:"members"`
			Member   *struct{ Shape string }           `json:"member"`
			Key      *struct{ Shape string }           `json:"key"`
			Value    *struct{ Shape string }           `json:"value"`
			Required []string                          `json:"required"`
			Min      *float64                          `json:"min"`
			Max      *float64                          `json:"max"`
			Pattern  string                            `json:"pattern"`
			Enum     []string                          `json:"enum"`
		} `json:"shapes"`
	}
	if err := json.Unmarshal(modelJSON, &raw); err != nil {
		return nil, fmt.Errorf("parse embedded model: %w", err)
	}
	m := &Model{TargetPrefix: raw.TargetPrefix, inputs: map[string]string{}, shapes: map[string]*Shape{}}
	for name, op := range raw.Operations {
		m.inputs[name] = op.Input
	}
	for name, s := range raw.Shapes {
		sh := &Shape{Name: name, Type: s.Type, Required: s.Required, Min: s.Min, Max: s.Max, Pattern: s.Pattern, Enum: s.Enum}
		if s.Members != nil {
			sh.Members = map[string]string{}
			for mn, mv := range s.Members {
				sh.Members[mn] = mv.Shape
				sh.order = append(sh.order, mn)
			}
			sort.Strings(sh.order)
		}
		if s.Member != nil {
			sh.Member = s.Member.Shape
		}
		if s.Key != nil {
			sh.Key = s.Key.Shape
		}
		if s.Value != nil {
			sh.Value = s.Value.Shape
		}
		if s.Pattern != "" {
			sh.re = compileJavaPattern(s.Pattern)
		}
		m.shapes[name] = sh
	}
	return m, nil
}

// compileJavaPattern compiles a model pattern (Java syntax, whole-value match)
// for Go's RE2. A pattern RE2 cannot express is not enforced (nil).
func compileJavaPattern(p string) *regexp.Regexp {
	for _, cand := range []string{p, strings.ReplaceAll(p, `-_]`, `\-_]`)} {
		if re, err := regexp.Compile(`^(?:` + cand + `)$`); err == nil {
			return re
		}
	}
	return nil
}

// Operations lists every operation of the model, sorted.
func (m *Model) Operations() []string {
	ops := make([]string, 0, len(m.inputs))
	for op := range m.inputs {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}

// HasOperation reports whether op is an operation of the model.
func (m *Model) HasOperation(op string) bool {
	_, ok := m.inputs[op]
	return ok
}

// Shape returns a shape by name, or nil.
func (m *Model) Shape(name string) *Shape { return m.shapes[name] }

// Validate checks a decoded request document (numbers as json.Number)
// against op's input shape.
func (m *Model) Validate(op string, doc any) error {
	in, ok := m.inputs[op]
	if !ok || in == "" {
		return nil
	}
	v := validation{m: m}
	v.value(m.shapes[in], "", doc, true)
	return v.result()
}

// CheckValue validates one value against a named shape at a member path; the
// hot paths that decode straight into Go structs use it for their members.
func (m *Model) CheckValue(shape, path string, value any) error {
	vs, err := m.AppendViolations(nil, shape, path, value)
	if err != nil {
		return err
	}
	if len(vs) > 0 {
		return awserr.InvalidParameters(vs...)
	}
	return nil
}

// AppendViolations checks one value as CheckValue does but appends the
// constraints it breaks to vs instead of answering them, so a handler that
// checks some members by hand (PutLogEvents) can list the model's violations
// and its own in one InvalidParameterException, in order, without reading
// them back out of an error's text. It appends nothing, and allocates
// nothing, for a valid value. err is the SerializationException of a value
// of the wrong JSON type, which wins over any violation, as in Validate.
func (m *Model) AppendViolations(vs []awserr.Violation, shape, path string, value any) ([]awserr.Violation, error) {
	v := validation{m: m, violations: vs}
	v.value(m.shapes[shape], path, value, false)
	if v.typeErr != nil {
		return v.violations, v.typeErr
	}
	return v.violations, nil
}

type validation struct {
	m          *Model
	violations []awserr.Violation
	typeErr    *awserr.Error // the first member of the wrong JSON type
}

func (v *validation) result() error {
	if v.typeErr != nil {
		return v.typeErr
	}
	if len(v.violations) == 0 {
		return nil
	}
	return awserr.InvalidParameters(v.violations...)
}

func (v *validation) fail(val, path, constraint string) {
	v.violations = append(v.violations, awserr.Violation{Value: val, Member: path, Constraint: constraint})
}

func (v *validation) wrongType(path, want string, got any) {
	if v.typeErr == nil {
		v.typeErr = awserr.UnexpectedType(strings.TrimPrefix(path, "."), want, jsonKind(got))
	}
}

func jsonKind(x any) string {
	switch x.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number, float64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", x)
}

func (v *validation) value(s *Shape, path string, x any, top bool) {
	if s == nil || x == nil {
		return
	}
	switch s.Type {
	case "structure":
		obj, ok := x.(map[string]any)
		if !ok {
			v.wrongType(path, "object", x)
			return
		}
		for _, r := range s.Required {
			if obj[r] == nil {
				v.fail("null", join(path, r), "Member must not be null")
			}
		}
		for _, mn := range s.order {
			if mv, ok := obj[mn]; ok {
				v.value(v.m.shapes[s.Members[mn]], join(path, mn), mv, false)
			}
		}
	case "list":
		arr, ok := x.([]any)
		if !ok {
			v.wrongType(path, "array", x)
			return
		}
		if n := float64(len(arr)); s.outOfBounds(n) {
			v.length(s, path, quote(render(x)), n)
		}
		el := v.m.shapes[s.Member]
		for i, e := range arr {
			if e == nil {
				continue
			}
			v.value(el, fmt.Sprintf("%s.%d.member", path, i+1), e, false)
		}
	case "map":
		obj, ok := x.(map[string]any)
		if !ok {
			v.wrongType(path, "object", x)
			return
		}
		if n := float64(len(obj)); s.outOfBounds(n) {
			v.length(s, path, quote(render(x)), n)
		}
		ks, vs := v.m.shapes[s.Key], v.m.shapes[s.Value]
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			sub := validation{m: v.m}
			sub.value(ks, path, k, false)
			for _, c := range sub.violations {
				v.fail(quote(render(x)), path, "Map keys must satisfy constraint: ["+c.Constraint+"]")
			}
			sub = validation{m: v.m}
			sub.value(vs, path, obj[k], false)
			for _, c := range sub.violations {
				v.fail(quote(render(x)), path, "Map value must satisfy constraint: ["+c.Constraint+"]")
			}
			if sub.typeErr != nil && v.typeErr == nil {
				v.typeErr = sub.typeErr
			}
		}
	case "string":
		str, ok := x.(string)
		if !ok {
			v.wrongType(path, "string", x)
			return
		}
		if n := float64(utf16Len(str)); s.outOfBounds(n) {
			v.length(s, path, quote(str), n)
		}
		if len(s.Enum) > 0 && !slices.Contains(s.Enum, str) {
			v.fail(quote(str), path, "Member must satisfy enum value set: ["+strings.Join(s.Enum, ", ")+"]")
		}
		if s.re != nil && !s.re.MatchString(str) {
			val := quote(str)
			if unechoed(s.Name) {
				val = ""
			}
			v.fail(val, path, "Member must satisfy regular expression pattern: "+s.Pattern)
		}
	case "integer", "long", "double", "float":
		f, ok := number(x)
		if !ok {
			v.wrongType(path, "number", x)
			return
		}
		if (s.Type == "integer" || s.Type == "long") && f != math.Trunc(f) {
			v.wrongType(path, "integer", x)
			return
		}
		if s.Type == "integer" && (f > math.MaxInt32 || f < math.MinInt32) {
			v.wrongType(path, "32-bit integer", x)
			return
		}
		val := quote(numText(x))
		if s.Min != nil && f < *s.Min {
			v.fail(val, path, "Member must have value greater than or equal to "+fmtNum(*s.Min))
		}
		if s.Max != nil && f > *s.Max {
			v.fail(val, path, "Member must have value less than or equal to "+fmtNum(*s.Max))
		}
	case "boolean":
		if _, ok := x.(bool); !ok {
			v.wrongType(path, "boolean", x)
		}
	case "blob":
		if _, ok := x.(string); !ok {
			v.wrongType(path, "base64 string", x)
		}
	}
}

// unechoed reports the shapes whose value AWS leaves out of a pattern violation:
// "1 validation error detected: Value at 'logGroupIdentifier' failed to
// satisfy constraint: Member must satisfy regular expression pattern:
// [\w#+=/:,.@-]*". Recorded answers up to 2025 quoted the value (moto's
// AWS-verified tests, Grafana's and OpenTelemetry's reports); AWS changed it
// for log group identifiers in 2026 (moto #10104 "AWS changed the actual
// error message when providing an invalid logGroupIdentifier", its verified
// tests updated), and a 2026 recording of a mangled log group name reads
// "Value at 'logGroupName' failed to satisfy constraint: Member must satisfy
// regular expression pattern: [\.\-_/#A-Za-z0-9]+". Every other recorded
// violation still quotes its value (limit, outputFormat, logEvents, the
// lengths of these same members), so only these shapes' pattern violations
// leave it out, wherever they are used (lists of identifiers included).
func unechoed(shape string) bool { return shape == "LogGroupName" || shape == "LogGroupIdentifier" }

// outOfBounds reports whether a length n breaks s's bounds, so that the
// value is rendered (which allocates) only for the message of a violation.
func (s *Shape) outOfBounds(n float64) bool {
	return s.Min != nil && n < *s.Min || s.Max != nil && n > *s.Max
}

func (v *validation) length(s *Shape, path, rendered string, n float64) {
	if s.Min != nil && n < *s.Min {
		v.fail(rendered, path, "Member must have length greater than or equal to "+fmtNum(*s.Min))
	}
	if s.Max != nil && n > *s.Max {
		v.fail(rendered, path, "Member must have length less than or equal to "+fmtNum(*s.Max))
	}
}

// Length is a string's length as the model's bounds count it (utf16Len), for
// members of documents a model shape does not reach (an account policy's
// FilterPattern) that must be bounded as the model bounds the same member
// of an operation.
func Length(s string) int { return utf16Len(s) }

// utf16Len is the length of s in UTF-16 code units, the unit of the model's
// string bounds (Java's String.length), counted without converting s: a
// character outside the BMP is two units, and each invalid byte one, as
// utf16.Encode([]rune(s)) counts them.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++ // a surrogate pair
		}
	}
	return n
}

func join(path, member string) string {
	if path == "" {
		return member
	}
	return path + "." + member
}

func quote(s string) string { return "'" + s + "'" }

func number(x any) (float64, bool) {
	switch n := x.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	}
	return 0, false
}

func numText(x any) string {
	switch n := x.(type) {
	case json.Number:
		return n.String()
	case float64:
		return strconv.FormatFloat(n, 'f', -1, 64)
	}
	return fmt.Sprint(x)
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// render prints a value the way AWS's Java framework does in messages:
// lists as [a, b], maps as {k=v}.
func render(x any) string {
	switch t := x.(type) {
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = render(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + "=" + render(t[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case string:
		return t
	case nil:
		return "null"
	default:
		return numText(x)
	}
}
