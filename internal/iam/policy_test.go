package iam

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
)

func mustParse(tb testing.TB, doc string) *Policy {
	tb.Helper()
	p, err := ParsePolicy([]byte(doc))
	if err != nil {
		tb.Fatalf("parse %s: %v", doc, err)
	}
	return p
}

func TestParsePolicyErrors(t *testing.T) {
	f := func(doc, reason string) {
		t.Helper()
		_, err := ParsePolicy([]byte(doc))
		if !awserr.Is(err, awserr.MalformedPolicy) {
			t.Fatalf("%s: got %v, want MalformedPolicyDocument", doc, err)
		}
		if !strings.Contains(err.Error(), reason) {
			t.Fatalf("%s: got %q, want it to say %q", doc, err, reason)
		}
	}
	f(`{`, "Syntax errors in policy")
	f(`[]`, "Syntax errors in policy")
	f(`{"Version":"2012-10-17"}`, "Missing required field Statement")
	f(`{"Version":"2019-01-01","Statement":[]}`, "valid version string")
	f(`{"Statement":[],"Foo":1}`, "Unknown field Foo")
	f(`{"Statement":[]}`, "Missing required field Statement")
	f(`{"Statement":"x"}`, "Statement must be an object")
	f(`{"Statement":{"Action":"logs:*","Resource":"*"}}`, "Statement 0: Missing required field Effect")
	f(`{"Statement":{"Effect":"allow","Action":"logs:*","Resource":"*"}}`, "Invalid effect: allow")
	f(`{"Statement":{"Effect":"Allow","Resource":"*"}}`, "must contain actions")
	f(`{"Statement":{"Effect":"Allow","Action":[],"Resource":"*"}}`, "must contain actions")
	f(`{"Statement":{"Effect":"Allow","Action":"PutLogEvents","Resource":"*"}}`, "prefaced by a vendor")
	f(`{"Statement":{"Effect":"Allow","Action":"logs:*"}}`, "must contain resources")
	f(`{"Statement":{"Effect":"Allow","Action":"logs:*","Resource":"log-group:x"}}`, `must be in ARN format or "*"`)
	f(`{"Statement":{"Effect":"Allow","Action":"logs:*","NotAction":"logs:x","Resource":"*"}}`, "both Action and NotAction")
	f(`{"Statement":{"Effect":"Allow","Action":"logs:*","Resource":"*","Principal":"*"}}`, "should not specify a principal")
	f(`{"Statement":{"Effect":"Allow","Action":"logs:*","Resource":"*","Bogus":1}}`, "Unknown field Bogus")
	f(`{"Statement":{"Effect":"Allow","Action":7,"Resource":"*"}}`, "Action must be a string or a list")
	f(`{"Statement":[{"Effect":"Allow","Action":"logs:*","Resource":"*"},{"Effect":"Deny"}]}`, "Statement 1:")
	f(`{"Statement":{"Effect":"Allow","Action":"logs:*","Resource":"*","Condition":{"StringSorta":{"aws:username":"x"}}}}`, "Invalid Condition type : StringSorta")
	f(`{"Statement":{"Effect":"Allow","Action":"logs:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"soon"}}}}`, "is not a date")
	f(`{"Statement":{"Effect":"Allow","Action":"logs:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/99"}}}}`, "not an IP address")
	f(`{"Statement":{"Effect":"Allow","Action":"logs:*","Resource":"*","Condition":{"StringEquals":{"aws:username":{"a":1}}}}}`, "values must be")
	f(`{"Statement":{"Effect":"Allow","Action":"logs:*","Resource":"*","Condition":"x"}}`, "Condition must be an object")

	if _, err := Parse([]byte(`{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}`), TrustPolicy); err == nil || !strings.Contains(err.Error(), "Missing required field Principal") {
		t.Fatalf("trust policy without principal: %v", err)
	}
	if _, err := Parse([]byte(`{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"arn:aws:iam::*:user/x"}}}`), TrustPolicy); err == nil {
		t.Fatal("wildcard principal ARN accepted")
	}
}

// TestParsePolicyShapes checks that every element takes a string or a list,
// and the statement an object or a list.
func TestParsePolicyShapes(t *testing.T) {
	a := mustParse(t, `{"Version":"2012-10-17","Statement":{"Sid":"one","Effect":"Allow","Action":"logs:GetLogEvents","Resource":"arn:aws:logs:*:*:*"}}`)
	b := mustParse(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:GetLogEvents"],"Resource":["arn:aws:logs:*:*:*"]}]}`)
	c := &Context{Action: "logs:GetLogEvents", Resource: "arn:aws:logs:eu-west-1:123456789012:log-group:g:log-stream:s"}
	if a.Evaluate(c) != Allowed || b.Evaluate(c) != Allowed {
		t.Fatal("shapes disagree")
	}
	if got := string(a.Compact()); strings.Contains(got, " \n") {
		t.Fatalf("compact form: %s", got)
	}
}

func TestEvaluateWildcards(t *testing.T) {
	p := mustParse(t, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["logs:Get*","LOGS:describelog?roups"],"Resource":"arn:aws:logs:*:123456789012:log-group:app-*"},
		{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"arn:aws:logs:eu-?est-1:123456789012:log-group:g:log-stream:s?"}]}`)
	f := func(action, resource string, want Effect) {
		t.Helper()
		if got := p.Evaluate(&Context{Action: action, Resource: resource}); got != want {
			t.Errorf("%s on %s: got %v, want %v", action, resource, got, want)
		}
	}
	const acct = "arn:aws:logs:eu-west-1:123456789012:"
	f("logs:GetLogEvents", acct+"log-group:app-web:log-stream:x", Allowed)
	f("Logs:getlogevents", acct+"log-group:app-web:log-stream:x", Allowed) // actions ignore case
	f("logs:GetLogEvents", acct+"log-group:APP-web", NoMatch)              // resources do not
	f("logs:DescribeLogGroups", acct+"log-group:app-1", Allowed)
	f("logs:DescribeLogStreams", acct+"log-group:app-1", NoMatch)
	f("logs:GetLogEvents", "arn:aws:logs:eu-west-1:999999999999:log-group:app-web", NoMatch)
	f("logs:PutLogEvents", acct+"log-group:g:log-stream:s1", Allowed)
	f("logs:PutLogEvents", acct+"log-group:g:log-stream:s12", NoMatch) // ? is exactly one
	f("logs:PutLogEvents", "arn:aws:logs:eu-xest-1:123456789012:log-group:g:log-stream:s1", Allowed)
	f("logs:PutLogEvents", "arn:aws:logs:eu-east-1:123456789012:log-group:g:log-stream:s1", NoMatch)
	f("logs:PutLogEvents", "arn:aws:logs:us-west-1:123456789012:log-group:g:log-stream:s1", NoMatch)

	// A wildcard in one ARN component does not reach into the next.
	q := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:logs:eu-*:log-group:x"}}`)
	if q.Evaluate(&Context{Action: "logs:X", Resource: "arn:aws:logs:eu-west-1:123456789012:log-group:x"}) != NoMatch {
		t.Error("region wildcard matched across components")
	}
}

func TestEvaluateNotActionNotResource(t *testing.T) {
	p := mustParse(t, `{"Statement":[
		{"Effect":"Allow","NotAction":"logs:Delete*","Resource":"*"},
		{"Effect":"Deny","Action":"*","NotResource":"arn:aws:logs:*:123456789012:*"}]}`)
	f := func(action, resource string, want Effect) {
		t.Helper()
		if got := p.Evaluate(&Context{Action: action, Resource: resource}); got != want {
			t.Errorf("%s on %s: got %v, want %v", action, resource, got, want)
		}
	}
	f("logs:PutLogEvents", "arn:aws:logs:r:123456789012:log-group:g", Allowed)
	f("logs:DeleteLogGroup", "arn:aws:logs:r:123456789012:log-group:g", NoMatch)
	f("logs:PutLogEvents", "arn:aws:logs:r:210987654321:log-group:g", Denied)
}

func TestExplicitDenyWins(t *testing.T) {
	allow := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"logs:*","Resource":"*"}}`)
	deny := mustParse(t, `{"Statement":{"Effect":"Deny","Action":"logs:DeleteLogGroup","Resource":"*"}}`)
	both := mustParse(t, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"logs:DeleteLogGroup","Resource":"*"}]}`)
	r := &Rights{Account: "123456789012", Policies: []*Policy{allow, deny}}
	c := &Context{Action: "logs:DeleteLogGroup", Resource: "arn:aws:logs:r:123456789012:log-group:g"}
	if d := r.Decide(c); d.Allowed || !d.ExplicitDeny || d.In != IdentityBased {
		t.Fatalf("deny across policies: %+v", d)
	}
	if both.Evaluate(c) != Denied {
		t.Fatal("deny within one policy")
	}
	c.Action = "logs:PutLogEvents"
	if d := r.Decide(c); !d.Allowed {
		t.Fatalf("allow: %+v", d)
	}
	// Root is not above an explicit deny in a session policy.
	root := (&Rights{Account: "123456789012", Root: true}).WithSession(deny)
	c.Action = "logs:DeleteLogGroup"
	if d := root.Decide(c); d.Allowed || !d.ExplicitDeny || d.In != SessionPolicy {
		t.Fatalf("root with session deny: %+v", d)
	}
}

func TestRightsIntersection(t *testing.T) {
	identity := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"logs:*","Resource":"arn:aws:logs:*:123456789012:log-group:a*"}}`)
	session := mustParse(t, `{"Statement":{"Effect":"Allow","Action":["logs:PutLogEvents","sts:GetCallerIdentity"],"Resource":"*"}}`)
	r := (&Rights{Account: "123456789012", Policies: []*Policy{identity}}).WithSession(session)
	f := func(action, resource string, allowed bool, in PolicyType) {
		t.Helper()
		d := r.Decide(&Context{Action: action, Resource: resource})
		if d.Allowed != allowed || (!allowed && d.In != in) {
			t.Errorf("%s on %s: %+v", action, resource, d)
		}
	}
	f("logs:PutLogEvents", "arn:aws:logs:r:123456789012:log-group:abc:log-stream:s", true, 0)
	f("logs:GetLogEvents", "arn:aws:logs:r:123456789012:log-group:abc:log-stream:s", false, SessionPolicy)
	f("logs:PutLogEvents", "arn:aws:logs:r:123456789012:log-group:b:log-stream:s", false, IdentityBased)
	f("sts:GetCallerIdentity", "*", false, IdentityBased) // the session cannot add rights

	none := (&Rights{Account: "123456789012", Policies: []*Policy{identity}}).WithSession(nil)
	if none.Decide(&Context{Action: "logs:PutLogEvents", Resource: "arn:aws:logs:r:123456789012:log-group:a"}).Allowed {
		t.Fatal("bounded rights without a session policy allowed something")
	}

	root := &Rights{Account: "123456789012", Root: true}
	for res, want := range map[string]bool{
		"arn:aws:logs:r:123456789012:log-group:g": true,
		"arn:aws:logs:r:210987654321:log-group:g": false,
		"*": true,
	} {
		if got := root.Decide(&Context{Action: "logs:CreateLogGroup", Resource: res}).Allowed; got != want {
			t.Errorf("root on %s: %v", res, got)
		}
	}
}

// TestJenkinsAgentPolicy is the session policy of clients.md §1.4 against an
// action × resource matrix.
func TestJenkinsAgentPolicy(t *testing.T) {
	p := mustParse(t, `{"Version": "2012-10-17", "Statement": [
 {"Effect": "Allow", "Action": ["logs:PutLogEvents", "logs:GetLogEvents"],
  "Resource": ["arn:aws:logs:*:*:log-group:jenkins:log-stream:folder/job@agent1"]}]}`)
	const base = "arn:aws:logs:eu-west-1:123456789012:log-group:"
	own := base + "jenkins:log-stream:folder/job@agent1"
	resources := []string{
		own,
		base + "jenkins:log-stream:folder/job@agent2",
		base + "jenkins:log-stream:folder/job@master",
		base + "jenkins:log-stream:folder/job@agent10",
		base + "jenkins:log-stream:",
		base + "other:log-stream:folder/job@agent1",
		"*",
	}
	actions := []string{"logs:PutLogEvents", "logs:GetLogEvents", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups", "logs:FilterLogEvents", "logs:DeleteLogStream"}
	for _, a := range actions {
		for _, r := range resources {
			want := NoMatch
			if r == own && (a == "logs:PutLogEvents" || a == "logs:GetLogEvents") {
				want = Allowed
			}
			if got := p.Evaluate(&Context{Action: a, Resource: r}); got != want {
				t.Errorf("%s on %s: got %v, want %v", a, r, got, want)
			}
		}
	}
}

func cond(tb testing.TB, c string) *Policy {
	tb.Helper()
	return mustParse(tb, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":`+c+`}}`)
}

func TestConditions(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ctx := func() *Context {
		return &Context{
			Action: "logs:PutLogEvents", Resource: "arn:aws:logs:eu-west-1:123456789012:log-group:g",
			PrincipalARN: "arn:aws:iam::123456789012:user/jenkins", Username: "jenkins", UserID: "AIDAEXAMPLE",
			PrincipalAccount: "123456789012",
			Region:           "eu-west-1", SourceIP: netip.MustParseAddr("10.1.2.3"), Time: now,
			Keys: map[string][]string{"cairn:tags": {"a", "b"}},
		}
	}
	f := func(c string, want bool) {
		t.Helper()
		if got := cond(t, c).Evaluate(ctx()) == Allowed; got != want {
			t.Errorf("%s: got %v, want %v", c, got, want)
		}
	}
	// StringEquals / StringNotEquals, keys case-insensitive, values ORed.
	f(`{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}`, true)
	f(`{"StringEquals":{"AWS:REQUESTEDREGION":["us-east-1","eu-west-1"]}}`, true)
	f(`{"StringEquals":{"aws:RequestedRegion":"EU-WEST-1"}}`, false)
	f(`{"StringEqualsIgnoreCase":{"aws:RequestedRegion":"EU-WEST-1"}}`, true)
	f(`{"StringNotEquals":{"aws:RequestedRegion":"us-east-1"}}`, true)
	f(`{"StringNotEquals":{"aws:RequestedRegion":["us-east-1","eu-west-1"]}}`, false)
	f(`{"StringEquals":{"aws:username":"jenkins","aws:userid":"AIDAEXAMPLE"}}`, true) // keys ANDed
	f(`{"StringEquals":{"aws:username":"jenkins","aws:userid":"AIDAOTHER"}}`, false)
	f(`{"StringEquals":{"aws:username":"jenkins"},"StringLike":{"aws:userid":"X*"}}`, false) // operators ANDed
	// StringLike / StringNotLike.
	f(`{"StringLike":{"aws:username":"jen*"}}`, true)
	f(`{"StringLike":{"aws:username":"jen?ins"}}`, true)
	f(`{"StringLike":{"aws:username":"Jen*"}}`, false)
	f(`{"StringNotLike":{"aws:username":"adm*"}}`, true)
	f(`{"StringNotLike":{"aws:username":"jen*"}}`, false)
	// ArnLike / ArnEquals.
	f(`{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/jen*"}}`, true)
	f(`{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/jenkins"}}`, true)
	f(`{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::123456789012:user/other"}}`, false)
	f(`{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}}`, true)
	// Dates.
	f(`{"DateLessThan":{"aws:CurrentTime":"2026-03-02T00:00:00Z"}}`, true)
	f(`{"DateLessThan":{"aws:CurrentTime":"2026-03-01"}}`, false)
	f(`{"DateGreaterThan":{"aws:CurrentTime":"2026-03-01T11:59:59Z"}}`, true)
	f(`{"DateGreaterThan":{"aws:CurrentTime":"1772366400"}}`, false) // epoch = now, not greater
	f(`{"DateGreaterThanEquals":{"aws:CurrentTime":"1772366400"}}`, true)
	f(`{"DateLessThan":{"aws:EpochTime":"2027-01-01T00:00:00Z"}}`, true)
	// IP addresses.
	f(`{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, true)
	f(`{"IpAddress":{"aws:SourceIp":["192.168.0.0/16","10.1.2.3"]}}`, true)
	f(`{"IpAddress":{"aws:SourceIp":"192.168.0.0/16"}}`, false)
	f(`{"NotIpAddress":{"aws:SourceIp":"192.168.0.0/16"}}`, true)
	f(`{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, false)
	f(`{"IpAddress":{"aws:SourceIp":"::ffff:10.0.0.0/104"}}`, true)
	// Numbers and booleans (values may be JSON numbers and booleans).
	f(`{"NumericLessThan":{"cairn:count":10}}`, false) // absent key
	f(`{"Bool":{"aws:SecureTransport":true}}`, false)
	// Missing keys: fail, unless IfExists, negated or ForAllValues.
	f(`{"StringEquals":{"aws:SourceVpc":"vpc-1"}}`, false)
	f(`{"StringEqualsIfExists":{"aws:SourceVpc":"vpc-1"}}`, true)
	f(`{"StringEqualsIfExists":{"aws:RequestedRegion":"us-east-1"}}`, false) // present: compared
	f(`{"StringNotEquals":{"aws:SourceVpc":"vpc-1"}}`, true)
	f(`{"IpAddressIfExists":{"aws:SourceVpcIp":"10.0.0.0/8"}}`, true)
	f(`{"DateLessThanIfExists":{"aws:TokenIssueTime":"2020-01-01"}}`, true)
	f(`{"Null":{"aws:SourceVpc":"true"}}`, true)
	f(`{"Null":{"aws:username":"true"}}`, false)
	f(`{"Null":{"aws:username":"false"}}`, true)
	// Multi-valued keys.
	f(`{"ForAnyValue:StringEquals":{"cairn:tags":["b","z"]}}`, true)
	f(`{"ForAllValues:StringEquals":{"cairn:tags":["a","b","c"]}}`, true)
	f(`{"ForAllValues:StringEquals":{"cairn:tags":["a"]}}`, false)
	f(`{"ForAllValues:StringEquals":{"cairn:absent":["a"]}}`, true)
	f(`{"ForAnyValue:StringEquals":{"cairn:absent":["a"]}}`, false)
	f(`{"StringNotEquals":{"cairn:tags":"z"}}`, true)
	f(`{"StringNotEquals":{"cairn:tags":"a"}}`, false)
}

func TestTrustPolicy(t *testing.T) {
	trust, err := Parse([]byte(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::123456789012:user/jenkins","arn:aws:iam::123456789012:role/controller"]},"Action":"sts:AssumeRole"},
		{"Effect":"Allow","Principal":{"AWS":"210987654321"},"Action":"sts:AssumeRole"},
		{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`), TrustPolicy)
	if err != nil {
		t.Fatal(err)
	}
	role := &Role{Account: "123456789012", ARN: RoleARN("123456789012", "sender"), Trust: trust}
	assume := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::123456789012:role/sender"}}`)
	f := func(name string, c *Context, rights *Rights, want bool) {
		t.Helper()
		if got := role.TrustAllows(c, rights); got != want {
			t.Errorf("%s: got %v", name, got)
		}
	}
	none := &Rights{Account: "123456789012"}
	f("named user", &Context{PrincipalARN: UserARN("123456789012", "jenkins"), CallerARN: UserARN("123456789012", "jenkins"), PrincipalAccount: "123456789012"}, none, true)
	f("other user", &Context{PrincipalARN: UserARN("123456789012", "bob"), CallerARN: UserARN("123456789012", "bob"), PrincipalAccount: "123456789012"}, none, false)
	f("session of named role", &Context{PrincipalARN: RoleARN("123456789012", "controller"), CallerARN: "arn:aws:sts::123456789012:assumed-role/controller/s1", PrincipalAccount: "123456789012"}, none, true)
	other := &Context{PrincipalARN: UserARN("210987654321", "ci"), CallerARN: UserARN("210987654321", "ci"), PrincipalAccount: "210987654321"}
	f("trusted account, no identity allow", other, &Rights{Account: "210987654321"}, false)
	f("trusted account with identity allow", other, &Rights{Account: "210987654321", Policies: []*Policy{assume}}, true)
}

func TestGlob(t *testing.T) {
	f := func(p, s string, want bool) {
		t.Helper()
		if got := glob(p, s); got != want {
			t.Errorf("glob(%q, %q) = %v", p, s, got)
		}
	}
	f("*", "", true)
	f("a*b*c", "aXXbYYc", true)
	f("a*b*c", "aXXbYY", false)
	f("a?c", "abc", true)
	f("a?c", "ac", false)
	f("*@agent1", "job@agent1", true)
	f("*@agent1", "job@agent10", false)
	f("**a", "bbba", true)
	f(strings.Repeat("*a", 20)+"b", strings.Repeat("a", 200), false)
}
