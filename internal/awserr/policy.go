package awserr

// Policy errors: data protection policies (Put/Get/DeleteDataProtectionPolicy)
// and account policies (Put/Describe/DeleteAccountPolicy). AWS documents two
// texts (quoted where used); the rest are Cairn's, in AWS's style, pinned by
// internal/dataprotect's and internal/logs/accountpolicy's tests.

// InvalidDataIdentifier: a DataIdentifier that is neither a managed
// identifier's ARN nor a declared custom identifier. AWS's text, quoted in
// aws/aws-cdk#27388: "arn:aws:dataprotection::aws:data-identifier/PhoneNumber
// is not a valid Data Identifier".
func InvalidDataIdentifier(id string) *Error {
	return newError(InvalidParameter, "%s is not a valid Data Identifier", id)
}

// UndetectedDataIdentifier: a managed identifier AWS knows that Cairn cannot
// detect. Accepting it would store a policy that silently masks nothing, so
// Cairn refuses it (docs/data-protection.md lists the covered ones).
func UndetectedDataIdentifier(id string) *Error {
	return newError(InvalidParameter, "%s is a valid Data Identifier that this server does not detect", id)
}

// PolicyNameChars: a data protection policy Name with other characters; AWS's
// text (aws/aws-cdk#33557).
func PolicyNameChars() *Error {
	return newError(InvalidParameter, "Policy Name can only include alphanumeric characters, hyphens (-) and underscores (_)")
}

// InvalidPolicyDocument: a policy document that breaks one of its type's
// rules; detail says which.
func InvalidPolicyDocument(detail string) *Error {
	return newError(InvalidParameter, "Invalid policy document: %s", detail)
}

// InvalidSelectionCriteria: an account policy's selectionCriteria that its
// type does not accept; detail says why.
func InvalidSelectionCriteria(detail string) *Error {
	return newError(InvalidParameter, "Invalid selection criteria: %s", detail)
}

// AccountPolicyReservedName: policy names starting with "aws/" are AWS's.
func AccountPolicyReservedName() *Error {
	return newError(InvalidParameter, "Policy names starting with 'aws/' are reserved for AWS.")
}

// AccountPolicyNotFound: Describe (by name) or Delete of an account policy
// that does not exist.
func AccountPolicyNotFound(name string) *Error {
	return newError(ResourceNotFound, "Policy with name [%s] does not exist", name)
}

// DataProtectionPolicyNotFound: DeleteDataProtectionPolicy on a group that has
// no policy (TF tolerates ResourceNotFoundException there; the text is Cairn's).
func DataProtectionPolicyNotFound() *Error {
	return newError(ResourceNotFound, "The specified log group does not have a data protection policy.")
}
