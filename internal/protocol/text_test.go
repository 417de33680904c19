package protocol

import (
	"testing"
	"unicode/utf8"

	"github.com/goccy/go-json/jsontext"
	jsonv2 "github.com/goccy/go-json/v2"

	"github.com/cairnlog/cairn/internal/awserr"
)

func TestCheckText(t *testing.T) {
	f := func(body string, ok bool) {
		t.Helper()
		err := checkText([]byte(body))
		if (err == nil) != ok {
			t.Errorf("checkText(%q) = %v, want ok=%v", body, err, ok)
		}
		if err != nil && !awserr.Is(err, awserr.SerializationException) {
			t.Errorf("checkText(%q) = %v, want a SerializationException", body, err)
		}
	}
	f(`{"a":"\ud83d\ude00 \u00e9 \n \\"}`, true)
	f("{\"a\":\"s\xff\"}", false)
	f(`{"a":"\ud800"}`, false)
	f(`{"a":"\udc00\ud800"}`, false)
	f(`{"a":"\ud800\u0041"}`, false)
	// A backslash at the very end once sliced past the body (FuzzOperations:
	// DescribeLogGroups with the body `\` answered 500).
	f(`\`, true)
	f(`{"a":"x\`, true)
	f(`\u12`, true)
}

// FuzzCheckText holds checkText to two references: a body that is not UTF-8
// (utf8.Valid) is always refused, with a SerializationException; and for a
// body the server's lenient decoder reads as JSON, checkText accepts exactly
// what the strict decoder (invalid UTF-8 and unpaired surrogate escapes
// refused) accepts. Whatever the body, checkText never panics.
func FuzzCheckText(f *testing.F) {
	for _, s := range []string{
		`{"a":"\ud83d\ude00"}`, `{"a":"\ud800"}`, `{"a":"\udfff\ud800\udc00"}`, `{"\u0041":["\\u0041","\\\ud800"]}`,
		"{\"a\":\"s\xff\"}", "\xed\xa0\x80", `\`, `"\u`, `{"a":"\ud800\`, `{"a":"\ud800\u"}`, `[1,"\uD834\uDD1E",null]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := checkText(body)
		if err != nil && !awserr.Is(err, awserr.SerializationException) {
			t.Fatalf("checkText(%q) = %v, want a SerializationException", body, err)
		}
		if !utf8.Valid(body) && err == nil {
			t.Fatalf("checkText accepted %q, which is not UTF-8", body)
		}
		var v any
		if jsonv2.Unmarshal(body, &v, jsontext.AllowInvalidUTF8(true)) != nil {
			return // not JSON: the decoder refuses it whatever checkText says
		}
		strictErr := jsonv2.Unmarshal(body, &v)
		if (err == nil) != (strictErr == nil) {
			t.Fatalf("checkText(%q) = %v, but the strict decoder says %v", body, err, strictErr)
		}
	})
}
