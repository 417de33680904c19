package dataprotect

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cairnlog/cairn/internal/awserr"
)

const tfDoc = `{"Name":"Test","Version":"2021-06-01","Statement":[` +
	`{"Sid":"Audit","DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],"Operation":{"Audit":{"FindingsDestination":{}}}},` +
	`{"Sid":"Redact","DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/EmailAddress"],"Operation":{"Deidentify":{"MaskConfig":{}}}}]}`

// TestParseErrors: AWS's two documented texts and Cairn's for the other rules.
func TestParseErrors(t *testing.T) {
	if _, err := Parse(tfDoc); err != nil {
		t.Fatal(err)
	}
	// aws-cdk's camelCase statements are accepted too.
	camel := strings.NewReplacer(`"Sid"`, `"sid"`, `"DataIdentifier"`, `"dataIdentifier"`, `"Operation"`, `"operation"`, `"Audit"`, `"audit"`,
		`"FindingsDestination"`, `"findingsDestination"`, `"Deidentify"`, `"deidentify"`, `"MaskConfig"`, `"maskConfig"`).Replace(tfDoc)
	if _, err := Parse(camel); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ doc, msg string }{
		{strings.Replace(tfDoc, "EmailAddress", "PhoneNumber", 2), "arn:aws:dataprotection::aws:data-identifier/PhoneNumber is not a valid Data Identifier"},
		{strings.Replace(tfDoc, `"Test"`, `"data protection policy"`, 1), "Policy Name can only include alphanumeric characters, hyphens (-) and underscores (_)"},
		{strings.Replace(tfDoc, "EmailAddress", "Name", 2), "arn:aws:dataprotection::aws:data-identifier/Name is a valid Data Identifier that this server does not detect"},
		{strings.Replace(tfDoc, "EmailAddress", "IpAddress", 1), "Invalid policy document: the Audit and Deidentify statements must list the same data identifiers"},
		{strings.Replace(tfDoc, "2021-06-01", "2012-10-17", 1), "Invalid policy document: Version must be 2021-06-01"},
		{strings.Replace(tfDoc, `"MaskConfig":{}`, `"MaskConfig":{"x":1}`, 1), "Invalid policy document: the Deidentify operation needs an empty MaskConfig"},
		{strings.Replace(tfDoc, `"FindingsDestination":{}`, `"FindingsDestination":{"S3":{"Bucket":"b"}}`, 1), "Invalid policy document: this server cannot deliver findings to S3; use CloudWatchLogs"},
		{"[]", "Invalid policy document: the policy document is not a valid JSON object"},
		// 20 of these took 2.6 s to mask one 5 KB event at ingest.
		{strings.Replace(customDoc, `"x+"`, `"`+strings.Repeat(`.{0,1000}`, 20)+`z"`, 1), "Invalid policy document: the Regex of custom data identifier E is too complex; use smaller repetition counts"},
		{strings.Replace(customDoc, `"x+"`, `"(?:a{100}){6}"`, 1), "Invalid policy document: the Regex of custom data identifier E is too complex; use smaller repetition counts"},
		{tfDoc + "{}", "Invalid policy document: the policy document is not a valid JSON object"},
	} {
		_, err := Parse(tc.doc)
		e, ok := awserr.As(err)
		if !ok || e.Code != awserr.InvalidParameter || e.Message != tc.msg {
			t.Errorf("got %v, want %q", err, tc.msg)
		}
	}
}

// customDoc is a policy with the custom identifier E, Regex "x+".
const customDoc = `{"Name":"c","Version":"2021-06-01","Configuration":{"CustomDataIdentifier":[{"Name":"E","Regex":"x+"}]},"Statement":[` +
	`{"DataIdentifier":["E"],"Operation":{"Audit":{"FindingsDestination":{}}}},{"DataIdentifier":["E"],"Operation":{"Deidentify":{"MaskConfig":{}}}}]}`

// FuzzParse: the parser never panics and answers InvalidParameterException
// or a policy that compiles, whose masker keeps the character count of any
// message and never leaves a detected span unmasked.
func FuzzParse(f *testing.F) {
	f.Add(tfDoc, "mail a@example.com now")
	f.Add(`{"Name":"c","Version":"2021-06-01","Configuration":{"CustomDataIdentifier":[{"Name":"E","Regex":"x+"}]},"Statement":[`+
		`{"DataIdentifier":["E"],"Operation":{"Audit":{"FindingsDestination":{}}}},{"DataIdentifier":["E"],"Operation":{"Deidentify":{"MaskConfig":{}}}}]}`, "xxx")
	f.Add(`{"Name":"n","Version":"2021-06-01","Statement":[{"DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/IpAddress"],"Operation":{"Audit":{"FindingsDestination":{"CloudWatchLogs":{"LogGroup":"g"}}}}},{"DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/IpAddress"],"Operation":{"Deidentify":{"MaskConfig":{}}}}]}`, "10.0.0.1 ::1")
	f.Fuzz(func(t *testing.T, doc, msg string) {
		p, err := Parse(doc)
		if err != nil {
			if e, ok := awserr.As(err); !ok || e.Code != awserr.InvalidParameter {
				t.Fatalf("error %v", err)
			}
			return
		}
		m := Compile(p)
		out, dets := m.Mask(msg)
		if utf8.ValidString(msg) && utf8.RuneCountInString(out) != utf8.RuneCountInString(msg) {
			t.Fatalf("mask changed the length: %q → %q", msg, out)
		}
		for _, d := range dets {
			if d.Start < 0 || d.End <= d.Start {
				t.Fatalf("bad detection %+v", d)
			}
		}
	})
}

// FuzzMask: every managed detector on arbitrary text: no panic, the same
// number of characters out, detections inside the message.
func FuzzMask(f *testing.F) {
	for _, s := range []string{"a@b.co 4111 1111 1111 1111 10.1.2.3 fe80::1 123-45-6789 AKIAIOSFODNN7EXAMPLE eyJa.eyJb.c",
		"-----BEGIN RSA PRIVATE KEY-----\nabc", "PuTTY-User-Key-File-3: x Private-MAC: ab", "secret key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"} {
		f.Add(s)
	}
	var ids []string
	for id := range detectors {
		ids = append(ids, id)
	}
	m := Compile(&Policy{Identifiers: ids})
	f.Fuzz(func(t *testing.T, msg string) {
		out, dets := m.Mask(msg)
		n := utf8.RuneCountInString(msg)
		if utf8.RuneCountInString(out) != n {
			t.Fatalf("length changed: %q → %q", msg, out)
		}
		for _, d := range dets {
			if d.Start < 0 || d.End > n || d.End <= d.Start {
				t.Fatalf("detection %+v outside %q", d, msg)
			}
		}
	})
}

// TestCustomRegexWithinBound: a custom regex of the usual size still parses.
func TestCustomRegexWithinBound(t *testing.T) {
	for _, rx := range []string{`x+`, `[A-Z]{3}-\\d{6}`, `.{0,250}z`, `(?:a{100}){5}`} {
		if _, err := Parse(strings.Replace(customDoc, `"x+"`, `"`+rx+`"`, 1)); err != nil {
			t.Errorf("%s: %v", rx, err)
		}
	}
}
