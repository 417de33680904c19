package iam

import (
	"os"
	"testing"
)

func FuzzParsePolicy(f *testing.F) {
	for _, s := range []string{
		`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"logs:*","Resource":"*"}}`,
		`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["logs:PutLogEvents", "logs:GetLogEvents"], "Resource": ["arn:aws:logs:*:*:log-group:g:log-stream:job@agent1"]}]}`,
		`{"Statement":[{"Effect":"Deny","NotAction":"logs:Get*","NotResource":["arn:aws:logs:*:1:*"],"Condition":{"ForAllValues:StringLikeIfExists":{"aws:TagKeys":["a*",1,true]},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"DateLessThan":{"aws:CurrentTime":"2020-01-01"},"Null":{"x":"true"}}}]}`,
		`{"Statement":{"Effect":"Allow","Principal":{"AWS":["123456789012","arn:aws:iam::1:root"]},"Action":"sts:AssumeRole"}}`,
		`{"Statement":{"Effect":"Allow","Principal":"*","Action":"*"}}`,
		`{}`, `[]`, `null`, `{"Statement":null}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, doc []byte, trust bool) {
		kind := IdentityPolicy
		if trust {
			kind = TrustPolicy
		}
		p, err := Parse(doc, kind)
		if err != nil {
			return
		}
		// A compiled policy must evaluate any request without panicking, and
		// its compact form must parse to a policy that decides the same.
		c := &Context{Action: "logs:PutLogEvents", Resource: "arn:aws:logs:r:123456789012:log-group:g:log-stream:s",
			PrincipalARN: "arn:aws:iam::123456789012:user/u", CallerARN: "arn:aws:iam::123456789012:user/u", PrincipalAccount: "123456789012"}
		e := p.Evaluate(c)
		q, err := Parse(p.Compact(), kind)
		if err != nil {
			t.Fatalf("compact form does not parse: %v", err)
		}
		if q.Evaluate(c) != e {
			t.Fatal("compact form decides differently")
		}
	})
}

// FuzzParseFile feeds arbitrary IAM files to ParseFile, seeded with the
// example file and the aliases that once crashed it. Whatever the file (an
// operator's typo arrives by SIGHUP into a running server), ParseFile returns
// a Store or an error and never panics, overflows the stack or expands without
// bound; an accepted file's store is consistent: every access key resolves to
// an identity of a listed account that is itself found by its ARN.
func FuzzParseFile(f *testing.F) {
	example, err := os.ReadFile("../../docs/iam-example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	const user = "accounts:\n  - id: \"123456789012\"\n    users:\n      - name: u\n        accessKeys: [{id: AKIAAAAAAAAAAAAAAAAA, secret: 0123456789abcdef}]\n"
	for _, s := range []string{
		string(example), user,
		user + "        policies: [{name: p, document: &x {Statement: [*x]}}]\n",
		user + "        policies: [{name: p, document: {a: &a [x, x], b: &b [*a, *a], c: [*b, *b]}}]\n",
		user + "        policies: [{name: p, document: '{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}'}]\n",
		`{"accounts":[{"id":"123456789012","root":{"accessKeys":[{"id":"AKIABBBBBBBBBBBBBBBB","secret":"0123456789abcdef"}]}}]}`,
		"", "accounts: [", "- &a [*a]",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseFile(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		accounts := map[string]bool{}
		for _, a := range s.Accounts() {
			accounts[a] = true
		}
		for _, k := range s.AccessKeys() {
			id, secret, ok := s.LookupKey(k)
			if !ok || id == nil || secret == "" || !accounts[id.Account] {
				t.Fatalf("key %s: identity %v, account listed %v", k, id, id != nil && accounts[id.Account])
			}
			if byARN, ok := s.Identity(id.ARN); !ok || byARN != id {
				t.Fatalf("key %s: identity %s not found by its ARN", k, id.ARN)
			}
		}
	})
}
