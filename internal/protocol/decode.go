package protocol

import (
	"bytes"
	"errors"
	"reflect"
	"strconv"
	"strings"

	json "github.com/goccy/go-json"
	"github.com/goccy/go-json/jsontext"
	jsonv2 "github.com/goccy/go-json/v2"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/awsmodel"
)

// How a request body becomes an operation's input.
//
// AWS's JSON protocol names members exactly as the model spells them and
// ignores members it does not know; a member spelled in another case
// ("LogGroupName") is one it does not know. encoding/json and goccy/go-json's
// v1 API match names without regard to case, last one winning, so a body
// could carry a name the model validator checked and a case variant the
// struct took. Inputs are therefore decoded with the encoding/json/v2
// semantics (goccy/go-json/v2, the same decoder behind the v2 API; the
// standard library's v2 still needs GOEXPERIMENT=jsonv2 in Go 1.26): names
// match exactly, unknown members are skipped, and an object that names a
// member twice is refused.
//
// Exact duplicates are refused rather than resolved (AWS's Jackson lets the
// last one win) because no SDK sends them and because no resolution is safe
// for every shape: a second "tags" object is merged into the first by a
// struct decoder, so a document that validated with 50 tags could store 100.
// Refusing them makes the validated document and the decoded struct the same
// value by construction.
//
// Invalid UTF-8 in strings is replaced with U+FFFD, as the v1 decoder did
// before; that choice is issue 8's defect 5 and is made here only.
var decodeOptions = jsontext.AllowInvalidUTF8(true)

// Decode decodes the body into v and validates it against the operation's
// input shape in the API model. Both passes read the body with the same
// member semantics (exact names, duplicates refused), so what was validated
// is what v holds.
func (c *Call) Decode(v any) error {
	body := c.body()
	if err := checkText(body); err != nil {
		return err
	}
	structErr := jsonv2.Unmarshal(body, v, decodeOptions)
	var syn *jsontext.SyntacticError
	if errors.As(structErr, &syn) {
		// Malformed JSON or a duplicate name: there is no document to
		// validate.
		return serializationError(structErr)
	}
	// The document the model validates: numbers kept as written, for AWS's
	// wording of out-of-range values. Map keys are compared exactly, and the
	// body has no duplicate names, so each member has one value here and in v.
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var doc any
	if err := d.Decode(&doc); err != nil {
		return serializationError(err)
	}
	if _, ok := doc.(map[string]any); !ok {
		return awserr.NotAnObject()
	}
	if err := c.model.Validate(c.Op, doc); err != nil {
		return err
	}
	if structErr != nil {
		return serializationError(structErr)
	}
	return nil
}

// DecodeUnchecked decodes the body into v without model validation; hot paths
// (PutLogEvents) validate the members of v themselves with Model().CheckValue,
// so what they validate is what they use. Names match as in Decode.
//
// An input that implements FastDecoder is offered the body first; when it
// declines, the generic decoder below decodes it from scratch.
func (c *Call) DecodeUnchecked(v any) error {
	if fd, ok := v.(FastDecoder); ok {
		if fd.DecodeFast(c.Body) {
			return nil
		}
		fd.ResetFast() // what the declined fast pass left behind
	}
	if err := checkText(c.Body); err != nil {
		return err
	}
	if err := jsonv2.Unmarshal(c.body(), v, decodeOptions); err != nil {
		return serializationError(err)
	}
	return nil
}

// FastDecoder is an input with a hand-written decoder for the shape clients
// send (PutLogEvents: a profile put the generic decoder at 15-19% of the
// server's ingest CPU). DecodeFast either decodes body into the receiver
// exactly as checkText followed by the generic decoder would, and reports
// true, or reports false for anything it does not handle the same way (an
// unknown or duplicate member, an escaped name, null, a number it does not
// parse, malformed JSON...), and the generic decoder then runs on its own,
// so every error, and every accepted oddity, is the generic one. The
// receiver must also have a ResetFast method that restores its zero value.
// A fuzz test of each implementation compares the two decoders.
type FastDecoder interface {
	DecodeFast(body []byte) bool
	ResetFast()
}

// Model is the API model, for members validated by hand.
func (c *Call) Model() *awsmodel.Model { return c.model }

func (c *Call) body() []byte {
	if len(bytes.TrimSpace(c.Body)) == 0 {
		return []byte("{}") // AWS treats an empty body as an empty input
	}
	return c.Body
}

func serializationError(err error) error {
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) && errors.Is(syn.Err, jsontext.ErrDuplicateName) {
		name, at := syn.JSONPointer.LastToken(), memberPath(syn.JSONPointer.Parent())
		return awserr.DuplicateField(name, at)
	}
	var sem *jsonv2.SemanticError
	if errors.As(err, &sem) && sem.GoType != nil && sem.JSONKind != 0 {
		return awserr.UnexpectedType(memberPath(sem.JSONPointer), kindOf(sem.GoType), jsonKindName(sem.JSONKind))
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return awserr.UnexpectedType(te.Field, te.Type.String(), "")
	}
	msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "jsontext: "), "json: ")
	return awserr.MalformedBody(msg)
}

// memberPath writes a JSON pointer as the model validator writes paths:
// "/logEvents/0/timestamp" is "logEvents.1.member.timestamp".
func memberPath(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		if i, err := strconv.Atoi(tok); err == nil && i >= 0 {
			b.WriteString(strconv.Itoa(i+1) + ".member")
			continue
		}
		b.WriteString(tok)
	}
	return b.String()
}

func kindOf(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return t.String()
}

func jsonKindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 'f', 't':
		return "boolean"
	case '"':
		return "string"
	case '0':
		return "number"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return "value"
}
