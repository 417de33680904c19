package awserr

// The Security Token Service's errors, worded as STS words them.

// UnparsableParameters: a form body that does not parse.
func UnparsableParameters() *Error {
	return newError(Validation, "Could not parse the request parameters")
}

// MissingAction: a Query request without Action.
func MissingAction() *Error {
	return newError(InvalidAction, "Missing Action")
}

// ActionNotFound: an Action the version does not have, or a version STS
// does not serve.
func ActionNotFound(action, version string) *Error {
	return newError(InvalidAction, "Could not find operation %s for version %s", action, version)
}

// NotAuthorized is AWS's refusal without a policy named, as AssumeRole
// answers a role that does not exist or does not trust the caller.
func NotAuthorized(principal, action, resource string) *Error {
	return newError(AccessDenied, "User: %s is not authorized to perform: %s on resource: %s", principal, action, resource)
}

// ExplicitDeny is AWS's refusal by a Deny statement, in an identity-based
// policy or, when session is true, in the session policy.
func ExplicitDeny(principal, action, resource string, session bool) *Error {
	where := "an identity-based policy"
	if session {
		where = "a session policy"
	}
	return newError(AccessDenied, "User: %s is not authorized to perform: %s on resource: %s with an explicit deny in %s", principal, action, resource, where)
}

// ImplicitDeny is AWS's refusal because no statement allows the action.
func ImplicitDeny(principal, action, resource string, session bool) *Error {
	no := "no identity-based policy"
	if session {
		no = "no session policy"
	}
	return newError(AccessDenied, "User: %s is not authorized to perform: %s on resource: %s because %s allows the %s action", principal, action, resource, no, action)
}

// DurationExceedsRole: DurationSeconds over the role's MaxSessionDuration.
func DurationExceedsRole() *Error {
	return newError(Validation, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
}

// DurationExceedsChaining: DurationSeconds over an hour for a role assumed
// with role credentials.
func DurationExceedsChaining() *Error {
	return newError(Validation, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
}

// SessionCredentialsRefused: GetFederationToken or GetSessionToken called
// with temporary credentials.
func SessionCredentialsRefused(op string) *Error {
	return newError(AccessDenied, "Cannot call %s with session credentials", op)
}

// PackedPolicy: a session policy that packs to over 100% of its space.
func PackedPolicy(percent int) *Error {
	return newError(PackedPolicyTooLarge, "Packed policy consumes %d%% of allotted space, please use smaller policy.", percent)
}

// MalformedPolicyDocument refuses a policy document; detail is what the
// parser found, e.g. "Missing required field Effect". The texts are the
// parser's (internal/iam), which quotes AWS's where AWS publishes one.
func MalformedPolicyDocument(detail string) *Error {
	return newError(MalformedPolicy, "%s", detail)
}
