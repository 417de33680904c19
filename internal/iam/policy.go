package iam

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cairnlog/cairn/internal/awserr"
)

// Effect is what a policy says about one request.
type Effect int

const (
	// NoMatch: no statement applies (an implicit deny on its own).
	NoMatch Effect = iota
	// Allowed: an Allow statement applies and no Deny does.
	Allowed
	// Denied: a Deny statement applies; it wins over every Allow.
	Denied
)

func (e Effect) String() string {
	switch e {
	case Allowed:
		return "Allow"
	case Denied:
		return "Deny"
	default:
		return "NoMatch"
	}
}

// Kind says which element a policy may or must name.
type Kind int

const (
	// IdentityPolicy is attached to a user or role, or passed as a session
	// policy: it must name resources and must not name a principal.
	IdentityPolicy Kind = iota
	// TrustPolicy is a role's resource-based policy: it must name the
	// principals allowed to assume the role.
	TrustPolicy
)

// Policy is a parsed, compiled policy document. It is immutable and safe to
// share between goroutines.
type Policy struct {
	Version    string
	statements []statement
	// compact is the document without insignificant whitespace, which is
	// what session tokens carry.
	compact []byte
}

// Compact returns the document without insignificant whitespace.
func (p *Policy) Compact() []byte { return p.compact }

type statement struct {
	sid          string
	deny         bool
	notAction    bool
	actions      []string // lower-cased patterns
	notResource  bool
	resources    []arnPattern
	principals   []principal // nil: no Principal element
	anyPrincipal bool
	conditions   []condition
}

// ParsePolicy parses and compiles an identity-based (or session) policy.
func ParsePolicy(doc []byte) (*Policy, error) { return Parse(doc, IdentityPolicy) }

// Parse parses and compiles a policy document of the given kind. Errors are
// *awserr.Error with code MalformedPolicyDocument and a reason.
func Parse(doc []byte, kind Kind) (*Policy, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(doc, &raw); err != nil {
		return nil, malformed("Syntax errors in policy: %v", err)
	}
	p := &Policy{Version: "2008-10-17"}
	var stmts []json.RawMessage
	for k, v := range raw {
		switch k {
		case "Version":
			if err := json.Unmarshal(v, &p.Version); err != nil || (p.Version != "2012-10-17" && p.Version != "2008-10-17") {
				return nil, malformed("The policy must contain a valid version string (2012-10-17 or 2008-10-17), not %s", truncate(v))
			}
		case "Id":
		case "Statement":
			var err error
			if stmts, err = objectOrList(v); err != nil {
				return nil, malformed("Statement must be an object or a list of objects")
			}
		default:
			return nil, malformed("Unknown field %s at the top level of the policy", k)
		}
	}
	if len(stmts) == 0 {
		return nil, malformed("Missing required field Statement")
	}
	for i, s := range stmts {
		st, err := parseStatement(s, kind)
		if err != nil {
			e, _ := awserr.As(err)
			return nil, malformed("Statement %d: %s", i, e.Message)
		}
		p.statements = append(p.statements, st)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, doc); err != nil {
		return nil, malformed("Syntax errors in policy: %v", err)
	}
	p.compact = buf.Bytes()
	return p, nil
}

func parseStatement(data json.RawMessage, kind Kind) (statement, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return statement{}, malformed("a statement must be an object")
	}
	var st statement
	var effect string
	var actions, notActions, resources, notResources []string
	var hasAction, hasNotAction, hasResource, hasNotResource, hasPrincipal bool
	var principalRaw, conditionRaw json.RawMessage
	for k, v := range raw {
		var err error
		switch k {
		case "Sid":
			err = json.Unmarshal(v, &st.sid)
		case "Effect":
			err = json.Unmarshal(v, &effect)
		case "Action":
			hasAction = true
			actions, err = stringOrList(v)
		case "NotAction":
			hasNotAction = true
			notActions, err = stringOrList(v)
		case "Resource":
			hasResource = true
			resources, err = stringOrList(v)
		case "NotResource":
			hasNotResource = true
			notResources, err = stringOrList(v)
		case "Principal":
			hasPrincipal = true
			principalRaw = v
		case "NotPrincipal":
			return st, malformed("NotPrincipal is not supported")
		case "Condition":
			conditionRaw = v
		default:
			return st, malformed("Unknown field %s", k)
		}
		if err != nil {
			return st, malformed("%s must be a string or a list of strings", k)
		}
	}
	switch effect {
	case "Allow":
	case "Deny":
		st.deny = true
	case "":
		return st, malformed("Missing required field Effect")
	default:
		return st, malformed("Invalid effect: %s", effect)
	}

	switch {
	case hasAction && hasNotAction:
		return st, malformed("A statement cannot have both Action and NotAction")
	case hasNotAction:
		st.notAction = true
		actions = notActions
	case !hasAction:
		return st, malformed("Policy statement must contain actions.")
	}
	if len(actions) == 0 {
		return st, malformed("Policy statement must contain actions.")
	}
	for _, a := range actions {
		if err := checkAction(a); err != nil {
			return st, err
		}
		st.actions = append(st.actions, strings.ToLower(a))
	}

	switch {
	case hasResource && hasNotResource:
		return st, malformed("A statement cannot have both Resource and NotResource")
	case hasNotResource:
		st.notResource = true
		resources = notResources
	case !hasResource && kind == IdentityPolicy:
		return st, malformed("Policy statement must contain resources.")
	}
	if (hasResource || hasNotResource) && len(resources) == 0 {
		return st, malformed("Policy statement must contain resources.")
	}
	for _, r := range resources {
		if r != "*" && !strings.HasPrefix(r, "arn:") {
			return st, malformed("Resource %s must be in ARN format or \"*\".", r)
		}
		st.resources = append(st.resources, compileARN(r))
	}
	if !hasResource && !hasNotResource {
		st.resources = []arnPattern{compileARN("*")}
	}

	switch {
	case hasPrincipal && kind == IdentityPolicy:
		return st, malformed("Policy document should not specify a principal.")
	case !hasPrincipal && kind == TrustPolicy:
		return st, malformed("Missing required field Principal")
	case hasPrincipal:
		var err error
		if st.principals, st.anyPrincipal, err = parsePrincipal(principalRaw); err != nil {
			return st, err
		}
	}

	if conditionRaw != nil {
		var err error
		if st.conditions, err = parseConditions(conditionRaw); err != nil {
			return st, err
		}
	}
	return st, nil
}

// checkAction accepts "*" and "vendor:action" patterns.
func checkAction(a string) error {
	if a == "*" {
		return nil
	}
	vendor, action, ok := strings.Cut(a, ":")
	if !ok || vendor == "" || action == "" {
		return malformed("Action %s: actions must be prefaced by a vendor, e.g. logs:PutLogEvents", a)
	}
	for _, c := range vendor {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '*' || c == '?') {
			return malformed("Action %s: vendor contains an invalid character", a)
		}
	}
	return nil
}

// Evaluate applies the policy to one request: Denied if a Deny statement
// matches, else Allowed if an Allow statement matches, else NoMatch.
func (p *Policy) Evaluate(c *Context) Effect {
	e, _ := p.evaluate(c)
	return e
}

// evaluate also reports whether a matching Allow named the principal by ARN
// (or "*") rather than through its account, which AssumeRole needs.
func (p *Policy) evaluate(c *Context) (Effect, bool) {
	c.prepare()
	allowed, named := false, false
	for i := range p.statements {
		st := &p.statements[i]
		ok, byName := st.matches(c)
		if !ok {
			continue
		}
		if st.deny {
			return Denied, false
		}
		allowed = true
		named = named || byName
	}
	if allowed {
		return Allowed, named
	}
	return NoMatch, false
}

func (st *statement) matches(c *Context) (bool, bool) {
	if matchAny(st.actions, c.action, matchFold) == st.notAction {
		return false, false
	}
	if st.matchResource(c.Resource) == st.notResource {
		return false, false
	}
	byName := true
	if st.principals != nil || st.anyPrincipal {
		var ok bool
		if ok, byName = st.matchPrincipal(c); !ok {
			return false, false
		}
	}
	for i := range st.conditions {
		if !st.conditions[i].eval(c) {
			return false, false
		}
	}
	return true, byName
}

func (st *statement) matchResource(r string) bool {
	for i := range st.resources {
		if st.resources[i].match(r) {
			return true
		}
	}
	return false
}

func matchAny(patterns []string, s string, match func(p, s string) bool) bool {
	for _, p := range patterns {
		if match(p, s) {
			return true
		}
	}
	return false
}

func matchFold(p, s string) bool { return glob(p, s) } // both sides already lower-case

// objectOrList accepts a JSON object or a list of them.
func objectOrList(v json.RawMessage) ([]json.RawMessage, error) {
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '{' {
		return []json.RawMessage{v}, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(v, &list); err != nil {
		return nil, err
	}
	for _, e := range list {
		if e = bytes.TrimSpace(e); len(e) == 0 || e[0] != '{' {
			return nil, fmt.Errorf("not an object")
		}
	}
	return list, nil
}

// stringOrList accepts "x" or ["x", "y"].
func stringOrList(v json.RawMessage) ([]string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return []string{s}, nil
	}
	var list []string
	if err := json.Unmarshal(v, &list); err != nil {
		return nil, err
	}
	return list, nil
}

// malformed refuses a policy document with the parser's account of why; the
// code and frame are awserr's.
func malformed(format string, args ...any) error {
	return awserr.MalformedPolicyDocument(fmt.Sprintf(format, args...))
}

func truncate(v []byte) string {
	if len(v) > 40 {
		return string(v[:40]) + "..."
	}
	return string(v)
}
