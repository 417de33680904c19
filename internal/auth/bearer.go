package auth

import (
	"net"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/iam"
)

// Bearer tokens (API keys; see iam.APIKey) are the one way in without a
// signature. They stay small on purpose: a bearer principal may perform
// logs:PutLogEvents, and nothing else, on a stream of a group its key is
// scoped to and that has bearer-token authentication enabled (asked of the
// BearerCheck the server installs, which reads the group's setting), and
// only when the key's user's IAM policies allow both logs:PutLogEvents and
// logs:CallWithBearerToken there, as AWS requires. The token never leaves
// this file: the Principal keeps the key's ID.

// BearerCheck reports whether a group has bearer-token authentication on.
type BearerCheck func(account, region, group string) bool

type bearerHook struct{ fn atomic.Pointer[BearerCheck] }

// bearerToken returns the token of an "Authorization: Bearer …" header.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return "", false
	}
	return strings.TrimSpace(h[7:]), true
}

// authenticateBearer finds the key; an unknown or expired one is refused.
func (a *Authenticator) authenticateBearer(r *http.Request, token string) (*Principal, error) {
	if ServiceOf(r) != "logs" {
		return nil, awserr.MissingToken() // STS (and everything not logs) needs a signature
	}
	store := a.identities.Load()
	k, ok := store.LookupAPIKey(token)
	if !ok || (!k.Expires.IsZero() && !a.now().Before(k.Expires)) {
		return nil, awserr.InvalidBearerToken()
	}
	id := k.Identity
	p := &Principal{Account: id.Account, ARN: id.ARN, UserID: id.UserID, AccessKey: k.ID, Region: regionOfHost(r.Host),
		Service: "logs", principalARN: id.ARN, username: id.Name, root: id.Root, rights: id.Rights(), apiKey: k}
	return p, nil
}

// regionOfHost reads the region of a logs.REGION.amazonaws.com style host
// (a bearer request carries no credential scope); anything else is
// us-east-1.
func regionOfHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	parts := strings.Split(host, ".")
	if len(parts) >= 3 && parts[0] == "logs" && strings.Count(parts[1], "-") >= 2 {
		return parts[1]
	}
	return "us-east-1"
}

// authorizeBearer is Authorize for a bearer principal.
func (a *Authenticator) authorizeBearer(p *Principal, action, resource string, c *iam.Context) error {
	if action != "logs:PutLogEvents" {
		return awserr.BearerTokenNotEnabled(action)
	}
	group, ok := groupOfARN(resource)
	if !ok || !p.apiKey.Allows(group) {
		return awserr.ImplicitDeny(p.ARN, action, resource, false)
	}
	check := a.bearer.fn.Load()
	if check == nil || !(*check)(p.Account, p.Region, group) {
		return awserr.BearerTokenNotEnabled("log group " + group)
	}
	for _, act := range []string{"logs:PutLogEvents", "logs:CallWithBearerToken"} {
		c.Action = act
		if d := p.rights.Decide(c); !d.Allowed {
			return awserr.ImplicitDeny(p.ARN, act, resource, false)
		}
	}
	return nil
}

// groupOfARN reads the group of a log group or log stream ARN
// (arn:aws:logs:R:A:log-group:NAME[:log-stream:S]).
func groupOfARN(arn string) (string, bool) {
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) != 7 || parts[5] != "log-group" {
		return "", false
	}
	name := parts[6]
	if i := strings.Index(name, ":log-stream:"); i >= 0 {
		name = name[:i]
	}
	return strings.TrimSuffix(name, ":*"), name != ""
}
