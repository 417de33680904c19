// Package iam holds Cairn's identities and the policy language that decides
// what they may do.
//
// Data enters in three ways: policy documents (JSON bytes) through Parse and
// ParsePolicy, which compile them once into immutable *Policy values; the IAM
// file (YAML or JSON; see docs/iam-example.yaml) through LoadFile/ParseFile,
// which validate every element and build an immutable *Store of accounts,
// users, access keys and roles; and, when there is no IAM file, the root
// credentials file in the data directory through EnsureRootCredentials.
//
// Data leaves as lookups on the Store (access key → Identity and secret, ARN →
// Identity or Role) and as decisions: Rights.Decide evaluates a Context (action,
// resource ARN, condition keys) against identity policies and an optional
// session policy with AWS's rules — explicit Deny wins, then Allow, else the
// implicit deny. A Holder swaps whole Stores atomically so the server can
// re-read the IAM file and keep the old Store when the new one is broken.
//
// Nothing here reads flags or the environment, and no Store, Policy or error
// formats a secret.
package iam
