package iam

import (
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
