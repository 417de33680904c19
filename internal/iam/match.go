package iam

import (
	"encoding/json"
	"strings"
)

// glob reports whether s matches pattern, where '*' matches any run of
// characters (colons included) and '?' any single byte. It backtracks only to
// the last '*', so it runs in O(len(p)*len(s)) at worst, linear in practice.
func glob(p, s string) bool {
	if !strings.ContainsAny(p, "*?") {
		return p == s
	}
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// arnPattern is a compiled Resource (or ArnLike value). AWS matches an ARN
// component by component: a wildcard in the region cannot swallow the
// account, but the last component (the resource, which holds colons of its
// own, as in log-group:G:log-stream:S) is matched as one string.
type arnPattern struct {
	whole string    // used when the pattern is not an ARN (e.g. "*")
	parts [6]string // arn, partition, service, region, account, resource
	isARN bool
}

func compileARN(p string) arnPattern {
	parts, ok := splitARN(p)
	if !ok {
		return arnPattern{whole: p}
	}
	return arnPattern{parts: parts, isARN: true}
}

func (a *arnPattern) match(r string) bool {
	if !a.isARN {
		return glob(a.whole, r)
	}
	parts, ok := splitARN(r)
	if !ok {
		return false
	}
	for i := range parts {
		if !glob(a.parts[i], parts[i]) {
			return false
		}
	}
	return true
}

// splitARN cuts s at its first five colons.
func splitARN(s string) ([6]string, bool) {
	var out [6]string
	if !strings.HasPrefix(s, "arn:") {
		return out, false
	}
	for i := range 5 {
		j := strings.IndexByte(s, ':')
		if j < 0 {
			return out, false
		}
		out[i], s = s[:j], s[j+1:]
	}
	out[5] = s
	return out, true
}

// ARNAccount returns the account component of an ARN, "" if there is none.
func ARNAccount(arn string) string {
	parts, ok := splitARN(arn)
	if !ok {
		return ""
	}
	return parts[4]
}

// principal is one entry of a trust policy's Principal element.
type principal struct {
	account string // a 12-digit id or arn:aws:iam::ID:root: any principal of that account
	arn     string // a user, role, assumed-role session or federated user
	service string // a service principal ("delivery.logs.amazonaws.com"): matches only Cairn's own work acting as that service
	other   bool   // Federated, CanonicalUser: never matches a Cairn caller
}

func parsePrincipal(raw json.RawMessage) ([]principal, bool, error) {
	var star string
	if err := json.Unmarshal(raw, &star); err == nil {
		if star != "*" {
			return nil, false, malformed("Principal must be \"*\" or an object such as {\"AWS\": \"arn:aws:iam::123456789012:user/name\"}")
		}
		return nil, true, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, false, malformed("Principal must be \"*\" or an object")
	}
	var out []principal
	anyone := false
	for typ, v := range m {
		vals, err := stringOrList(v)
		if err != nil {
			return nil, false, malformed("Principal %s must be a string or a list of strings", typ)
		}
		switch typ {
		case "AWS":
			for _, s := range vals {
				switch {
				case s == "*":
					anyone = true
				case isAccountID(s):
					out = append(out, principal{account: s})
				case strings.HasPrefix(s, "arn:") && strings.HasSuffix(s, ":root"):
					acct := ARNAccount(s)
					if !isAccountID(acct) {
						return nil, false, malformed("Invalid principal in policy: \"AWS\":\"%s\"", s)
					}
					out = append(out, principal{account: acct})
				case strings.HasPrefix(s, "arn:") && !strings.ContainsAny(s, "*?"):
					out = append(out, principal{arn: s})
				default:
					return nil, false, malformed("Invalid principal in policy: \"AWS\":\"%s\"", s)
				}
			}
		case "Service":
			for _, s := range vals {
				out = append(out, principal{service: s})
			}
		case "Federated", "CanonicalUser":
			out = append(out, principal{other: true})
		default:
			return nil, false, malformed("Invalid principal type %s", typ)
		}
	}
	if len(out) == 0 && !anyone {
		return nil, false, malformed("Principal must name at least one principal")
	}
	return out, anyone, nil
}

// matchPrincipal reports whether the caller is named, and whether by its own
// ARN (or "*") rather than only through its account.
func (st *statement) matchPrincipal(c *Context) (bool, bool) {
	if st.anyPrincipal {
		return true, true
	}
	viaAccount := false
	for _, p := range st.principals {
		switch {
		case p.other:
		case p.service != "":
			if c.ServicePrincipal != "" && p.service == c.ServicePrincipal {
				return true, true
			}
		case p.arn != "" && (p.arn == c.CallerARN || p.arn == c.PrincipalARN):
			return true, true
		case p.account != "" && p.account == c.PrincipalAccount:
			viaAccount = true
		}
	}
	return viaAccount, false
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
