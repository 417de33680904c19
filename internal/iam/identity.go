package iam

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"time"
)

// Identity is a long-term principal: an account's root user or an IAM user.
// It is immutable once its Store is built.
type Identity struct {
	Account  string
	ARN      string // arn:aws:iam::ACCT:root or arn:aws:iam::ACCT:user/NAME
	UserID   string // the account id for root, AIDA... for users
	Name     string // the IAM user name; "" for root
	Root     bool
	Policies []*Policy

	rights Rights
}

// Rights returns the identity's compiled rights, built once with the Store.
func (id *Identity) Rights() *Rights { return &id.rights }

// Role is an assumable role.
type Role struct {
	Account            string
	Name               string
	ARN                string // arn:aws:iam::ACCT:role/NAME
	RoleID             string // AROA...
	MaxSessionDuration time.Duration
	Trust              *Policy
	Policies           []*Policy

	rights Rights
}

// Rights returns the role's permission policies as Rights.
func (r *Role) Rights() *Rights { return &r.rights }

// TrustAllows reports whether a caller may assume the role. c describes the
// caller (PrincipalARN, CallerARN, PrincipalAccount, ...); its Action and
// Resource are set here. A trust policy that names the caller (or its role)
// by ARN suffices on its own within the account; one that names only the
// caller's account delegates to the caller's identity policies, which must
// then allow sts:AssumeRole on the role, as must those of a caller from
// another account.
func (r *Role) TrustAllows(c *Context, caller *Rights) bool {
	c.Action, c.Resource = "sts:AssumeRole", r.ARN
	effect, named := r.Trust.evaluate(c)
	if effect != Allowed {
		return false
	}
	if named && c.PrincipalAccount == r.Account {
		return true
	}
	return caller.Decide(c).Allowed
}

// PolicyType names where a decision was made, for AWS's message wording.
type PolicyType int

const (
	IdentityBased PolicyType = iota
	SessionPolicy
)

// Decision is the outcome of evaluating Rights.
type Decision struct {
	Allowed      bool
	ExplicitDeny bool
	// In is the policy type that denied, or that failed to allow.
	In PolicyType
}

// Rights is everything that decides what a principal may do: its identity
// policies (or root status), cut by a session policy for temporary
// credentials. It is immutable.
type Rights struct {
	Account  string
	Root     bool // everything on resources of Account
	Policies []*Policy
	// Bounded marks session credentials whose rights are the intersection
	// of Policies and Session. A bounded Rights with a nil Session allows
	// nothing (GetFederationToken without a policy).
	Bounded bool
	Session *Policy
}

// WithSession returns rights cut by a session policy.
func (r *Rights) WithSession(session *Policy) *Rights {
	out := *r
	out.Bounded, out.Session = true, session
	return &out
}

// Decide evaluates c the way AWS does for one account: an explicit Deny in
// any policy wins, then an identity-based Allow is needed, then, for session
// credentials, a session-policy Allow.
func (r *Rights) Decide(c *Context) Decision {
	c.prepare()
	allowed := r.Root && r.inAccount(c.Resource)
	for _, p := range r.Policies {
		switch p.Evaluate(c) {
		case Denied:
			return Decision{ExplicitDeny: true, In: IdentityBased}
		case Allowed:
			allowed = true
		}
	}
	sessionEffect := NoMatch
	if r.Bounded && r.Session != nil {
		if sessionEffect = r.Session.Evaluate(c); sessionEffect == Denied {
			return Decision{ExplicitDeny: true, In: SessionPolicy}
		}
	}
	if !allowed {
		return Decision{In: IdentityBased}
	}
	if r.Bounded && sessionEffect != Allowed {
		return Decision{In: SessionPolicy}
	}
	return Decision{Allowed: true}
}

// inAccount reports whether root may act on resource: any resource whose ARN
// names its account or no account, and actions without a resource.
func (r *Rights) inAccount(resource string) bool {
	acct := ARNAccount(resource)
	return acct == "" || acct == r.Account
}

// Store is an immutable set of accounts, identities, keys and roles. Swap a
// whole Store (through a Holder) to change any of it.
type Store struct {
	accounts   []string
	keys       map[string]accessKey
	identities map[string]*Identity // by ARN
	roles      map[string]*Role     // by ARN
	apiKeys    []*APIKey            // bearer keys (hashes only)
}

type accessKey struct {
	id     *Identity
	secret string
}

// String describes the store without any secret.
func (s *Store) String() string {
	return fmt.Sprintf("iam.Store{accounts: %d, identities: %d, keys: %d, roles: %d}", len(s.accounts), len(s.identities), len(s.keys), len(s.roles))
}

// GoString is String, so %#v cannot print the keys map with its secrets.
func (s *Store) GoString() string { return s.String() }

func newStore() *Store {
	return &Store{keys: map[string]accessKey{}, identities: map[string]*Identity{}, roles: map[string]*Role{}}
}

// LookupKey returns the identity owning a long-term access key and its secret.
func (s *Store) LookupKey(accessKeyID string) (*Identity, string, bool) {
	k, ok := s.keys[accessKeyID]
	return k.id, k.secret, ok
}

// CheckSecret returns the identity owning a long-term access key when secret
// is that key's secret (the console's sign-in, where the secret itself is
// presented instead of a signature made with it). Both a wrong secret and an
// unknown key answer false, and the comparison takes the same time whatever
// prefix of the secret is right.
func (s *Store) CheckSecret(accessKeyID, secret string) (*Identity, bool) {
	k, ok := s.keys[accessKeyID]
	// Compare hashes: ConstantTimeCompare returns at once on a length
	// mismatch, which would reveal the secret's length.
	want, got := sha256.Sum256([]byte(k.secret)), sha256.Sum256([]byte(secret))
	if subtle.ConstantTimeCompare(want[:], got[:]) != 1 || !ok {
		return nil, false
	}
	return k.id, true
}

// Identity returns a root user or IAM user by ARN.
func (s *Store) Identity(arn string) (*Identity, bool) {
	id, ok := s.identities[arn]
	return id, ok
}

// Role returns a role by ARN.
func (s *Store) Role(arn string) (*Role, bool) {
	r, ok := s.roles[arn]
	return r, ok
}

// Accounts returns the account ids, in file order.
func (s *Store) Accounts() []string { return slices.Clone(s.accounts) }

// AccessKeys returns the long-term access key ids, sorted (no secrets).
func (s *Store) AccessKeys() []string { return slices.Sorted(maps.Keys(s.keys)) }

func (s *Store) addIdentity(id *Identity) {
	id.rights = Rights{Account: id.Account, Root: id.Root, Policies: id.Policies}
	s.identities[id.ARN] = id
}

func (s *Store) addRole(r *Role) {
	r.rights = Rights{Account: r.Account, Policies: r.Policies}
	s.roles[r.ARN] = r
}

// Holder holds the current Store and swaps it atomically, so a reload (on
// SIGHUP, driven by the server) never shows a half-built store to requests.
type Holder struct {
	p atomic.Pointer[Store]
}

// NewHolder returns a Holder holding s.
func NewHolder(s *Store) *Holder {
	h := &Holder{}
	h.p.Store(s)
	return h
}

// Load returns the current Store.
func (h *Holder) Load() *Store { return h.p.Load() }

// Swap installs s and returns the previous Store.
func (h *Holder) Swap(s *Store) *Store { return h.p.Swap(s) }

// Reload builds a new Store with load and installs it. When load fails, the
// current Store stays in place and the error is returned for the caller to
// report.
func (h *Holder) Reload(load func() (*Store, error)) error {
	s, err := load()
	if err != nil {
		return err
	}
	h.p.Store(s)
	return nil
}

// RootARN, UserARN and RoleARN build IAM ARNs.
func RootARN(account string) string       { return "arn:aws:iam::" + account + ":root" }
func UserARN(account, name string) string { return "arn:aws:iam::" + account + ":user/" + name }
func RoleARN(account, name string) string { return "arn:aws:iam::" + account + ":role/" + name }

// uniqueID derives AWS-style unique ids (AIDA... for users, AROA... for
// roles) from the ARN, so they are stable across reloads and nodes.
func uniqueID(prefix, arn string) string {
	sum := sha256.Sum256([]byte(arn))
	return prefix + base32.StdEncoding.EncodeToString(sum[:])[:17]
}
