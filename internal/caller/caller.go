// Package caller holds who calls the service: a Caller is the account and
// region a call acts in, the identity behind it, the request it belongs to and
// the function that decides what it may do.
//
// Data flows one way. The protocol layer turns an authenticated HTTP request
// into a Caller (package auth fills the identity and the authorizer, package
// protocol the request id and source address); a background worker (a query
// worker, a delivery, the console's server side) builds one with System. The
// service's operations take a Caller by value and ask it Authorize before they
// touch a resource; they never see the HTTP request, its headers or its body.
package caller

import (
	"errors"
	"net/netip"
	"slices"

	"github.com/cairnlog/cairn/internal/iam"
	"github.com/cairnlog/cairn/internal/sts"
)

// Caller is one caller of the service.
type Caller struct {
	// Account and Region are where the call's resources live.
	Account string
	Region  string
	// Identity is who is calling.
	Identity Identity
	// RequestID is the request's x-amzn-RequestId ("" for work that has no
	// request); Live Tail reports it in sessionStart.
	RequestID string
	// SourceIP is the TCP peer of the request (aws:SourceIp); the zero Addr
	// for work that has no request.
	SourceIP netip.Addr
	// Authorizer decides whether the caller may perform action (e.g.
	// "logs:PutLogEvents") on resource (an ARN, or "*"), answering nil or an
	// AccessDeniedException. A Caller without one is refused everything:
	// forgetting to set it must not open the service.
	Authorizer func(action, resource string) error
}

// Identity is who a Caller is. It holds no secret and no token.
type Identity struct {
	// ARN names the caller (for a role session, the session's ARN). The
	// debug request log prints it; AccessDeniedException texts quote it.
	ARN    string
	UserID string
	// AccessKeyID is the access key the request was signed with ("" for
	// System callers and bearer keys); not a secret: CloudTrail records it.
	AccessKeyID string
	// STS is the caller as the STS operations need it (the session, the
	// rights, the user name); nil for callers that cannot call STS, such as
	// System callers.
	STS *sts.Caller
}

// errNoAuthorizer is a broken invariant, not a refusal a client caused: the
// protocol layer answers it ServiceUnavailableException and logs it.
var errNoAuthorizer = errors.New("BUG: caller has no authorizer")

// Authorize checks that the caller may perform action on resource.
func (c Caller) Authorize(action, resource string) error {
	if c.Authorizer == nil {
		return errNoAuthorizer
	}
	return c.Authorizer(action, resource)
}

// AllowAll is the authorizer of a server that authenticates nothing (auth
// off, tests of the wire layer): every action on every resource.
func AllowAll(action, resource string) error { return nil }

// System returns a caller for work Cairn does on its own account's behalf: a
// query worker, a subscription delivery, a scheduled job. It acts in account
// and region as "arn:aws:iam::ACCOUNT:user/cairn-system/NAME" and may perform
// exactly the actions listed, on any resource of that account and region
// (resources elsewhere are out of reach anyway: every operation resolves
// names in the caller's account and region). Any other action is refused
// with the AccessDeniedException an IAM user without a matching policy gets,
// so a worker that strays fails loudly, the way a client would.
func System(account, region, name string, actions ...string) Caller {
	arn := iam.UserARN(account, "cairn-system/"+name)
	allowed := slices.Clone(actions)
	return Caller{
		Account:  account,
		Region:   region,
		Identity: Identity{ARN: arn, UserID: "cairn-system/" + name},
		Authorizer: func(action, resource string) error {
			if slices.Contains(allowed, action) {
				return nil
			}
			return sts.Denied(arn, action, resource, iam.Decision{})
		},
	}
}
