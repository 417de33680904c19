// Package auth is the one place the protocol layer asks "who is this?" and
// "may they do that?".
//
// Data enters as an *http.Request plus its body bytes as sent (still gzipped
// if the client gzipped them) into Authenticate, which verifies SigV4 (package
// sigv4) against the current identities (package iam) or, for ASIA... keys,
// the session token (package sts), and returns a *Principal. The signature
// must be scoped to the service the request is for (ServiceOf: "logs" for a
// request with X-Amz-Target, "sts" otherwise). Precheck runs the checks that
// need no body, so the protocol layer can refuse a request before reading
// it. Authorize then
// takes that Principal, an action ("logs:PutLogEvents"), a resource ARN and a
// RequestContext (region, source IP, time) and returns nil or an
// AccessDeniedException with AWS's wording. Every refusal is an *awserr.Error.
//
// Security (security.go) is that wiring, the one the server uses: it loads the
// identities (the IAM file, or the root key it generates in the data
// directory), the STS token key and issuer, builds the Authenticator, and
// implements the protocol layer's Authenticator (turning a Principal into a
// caller.Caller whose Authorizer calls Authorize), Prechecker and
// QueryHandler (STS calls, served with the caller's STS view). By hand:
//
//	a, _ := auth.New(auth.Config{Mode: auth.ModeSigV4, Identities: holder, Issuer: issuer})
//	err := a.Precheck(r)                               // before reading the body
//	p, err := a.Authenticate(r, body)                  // every request
//	err = a.Authorize(p, "logs:PutLogEvents", streamARN, auth.RequestContextOf(r, p, now))
//	// STS requests (form-encoded, Action=...): restore r.Body, then
//	stsHandler.ServeHTTP(w, r.WithContext(sts.WithCaller(r.Context(), p.Caller(rc))))
//
// Mode "off" accepts any credentials or none: every request is the default
// account's root user, the region comes from the credential scope when one
// was sent, and Authorize allows everything. CheckListenAddr refuses that mode
// on a non-loopback address.
//
// Nothing here logs, and no Principal, Caller or error formats a secret key
// or a session token: they hold neither.
package auth

import (
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/iam"
	"github.com/cairnlog/cairn/internal/sigv4"
	"github.com/cairnlog/cairn/internal/sts"
)

// Mode selects how requests are authenticated.
type Mode string

const (
	ModeSigV4 Mode = "sigv4"
	ModeOff   Mode = "off"
)

// Config configures an Authenticator.
type Config struct {
	Mode Mode
	// Identities holds the current identity Store (required for sigv4).
	Identities *iam.Holder
	// Issuer opens session tokens; nil refuses temporary credentials.
	Issuer *sts.Issuer
	// DefaultAccount is the account of every request in mode off.
	DefaultAccount string
	// DefaultRegion is used in mode off when the request names none.
	DefaultRegion string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SessionCacheSize bounds the cache of opened session tokens; 0 means 4096.
	SessionCacheSize int
}

// Authenticator authenticates and authorizes requests. It is safe for
// concurrent use.
type Authenticator struct {
	mode          Mode
	identities    *iam.Holder
	issuer        *sts.Issuer
	account       string
	defaultRegion string
	now           func() time.Time
	verifier      *sigv4.Verifier
	sessions      *sessionCache
	bearer        bearerHook
}

// SetBearerCheck installs the question bearer principals need answered:
// whether a group has bearer-token authentication on. Until it is set, no
// bearer key writes anywhere.
func (a *Authenticator) SetBearerCheck(fn BearerCheck) { a.bearer.fn.Store(&fn) }

// New returns an Authenticator.
func New(cfg Config) (*Authenticator, error) {
	a := &Authenticator{
		mode: cfg.Mode, identities: cfg.Identities, issuer: cfg.Issuer,
		account: cfg.DefaultAccount, defaultRegion: cfg.DefaultRegion, now: cfg.Now,
	}
	if a.now == nil {
		a.now = time.Now
	}
	switch a.mode {
	case ModeSigV4:
		if a.identities == nil || a.identities.Load() == nil {
			return nil, fmt.Errorf("auth: mode sigv4 needs an identity store")
		}
	case ModeOff:
		if len(a.account) != 12 {
			return nil, fmt.Errorf("auth: mode off needs a 12-digit default account, not %q", a.account)
		}
	default:
		return nil, fmt.Errorf("auth: unknown mode %q (want sigv4 or off)", a.mode)
	}
	size := cfg.SessionCacheSize
	if size <= 0 {
		size = 4096
	}
	a.verifier = sigv4.New(sigv4.Config{Now: a.now})
	a.sessions = newSessionCache(size)
	return a, nil
}

// Principal is an authenticated caller. It holds no secret and no token.
type Principal struct {
	Account   string
	ARN       string
	UserID    string
	AccessKey string
	Region    string    // from the credential scope
	Service   string    // the signing name ("logs", "sts")
	Expires   time.Time // zero for long-term credentials

	principalARN string // aws:PrincipalArn
	username     string
	root         bool
	anonymous    bool // mode off
	session      *sts.Session
	rights       *iam.Rights
	apiKey       *iam.APIKey // a bearer principal's key (see bearer.go)
}

// String names the principal; it is what %v and %+v print.
func (p *Principal) String() string {
	if p == nil {
		return "<nil principal>"
	}
	s := fmt.Sprintf("Principal{ARN: %s, Account: %s, UserID: %s, AccessKey: %s, Region: %s", p.ARN, p.Account, p.UserID, p.AccessKey, p.Region)
	if !p.Expires.IsZero() {
		s += ", Expires: " + p.Expires.UTC().Format(time.RFC3339)
	}
	return s + "}"
}

// GoString is String, for %#v.
func (p *Principal) GoString() string { return p.String() }

// Temporary reports whether the principal used STS credentials.
func (p *Principal) Temporary() bool { return p.session != nil }

// Caller returns the principal as the STS handler's caller.
func (p *Principal) Caller(rc RequestContext) *sts.Caller {
	return &sts.Caller{
		Account: p.Account, ARN: p.ARN, UserID: p.UserID,
		PrincipalARN: p.principalARN, Username: p.username, Root: p.root,
		Session: p.session, Rights: p.rights,
		Region: rc.Region, SourceIP: rc.SourceIP,
	}
}

// RequestContext is the request data conditions may test.
type RequestContext struct {
	Region   string     // aws:RequestedRegion
	SourceIP netip.Addr // aws:SourceIp
	Time     time.Time  // aws:CurrentTime; zero means now
}

// RequestContextOf builds a RequestContext from the request: the signed
// region and the TCP peer address (proxies' X-Forwarded-For is not trusted).
func RequestContextOf(r *http.Request, p *Principal, now time.Time) RequestContext {
	rc := RequestContext{Time: now}
	if p != nil {
		rc.Region = p.Region
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if ip, err := netip.ParseAddr(host); err == nil {
			rc.SourceIP = ip.Unmap()
		}
	}
	return rc
}

// Authenticate establishes who sent r. body is the request body as sent.
func (a *Authenticator) Authenticate(r *http.Request, body []byte) (*Principal, error) {
	if a.mode == ModeOff {
		return a.anonymous(r), nil
	}
	if token, ok := bearerToken(r); ok {
		return a.authenticateBearer(r, token)
	}
	p := &Principal{}
	store := a.identities.Load()
	res, err := a.verifier.Verify(r, body, ServiceOf(r), func(key, token string) (string, error) {
		return a.lookup(store, p, key, token)
	})
	if err != nil {
		return nil, err
	}
	p.AccessKey, p.Region, p.Service = res.AccessKey, res.Region, res.Service
	return p, nil
}

// Precheck refuses, before any body is read, a request Authenticate would
// refuse for a reason the body cannot change: the signature's form and
// algorithm, the credential scope (the service this request is for, the
// region), the time window, the headers that must be signed (Host,
// X-Amz-Target), and an unknown access key or a session token that does not
// open or has expired. Its errors are Authenticate's. A nil answer promises
// nothing: Authenticate must still run with the body. In mode off it is nil.
func (a *Authenticator) Precheck(r *http.Request) error {
	if a.mode == ModeOff {
		return nil
	}
	if token, ok := bearerToken(r); ok {
		_, err := a.authenticateBearer(r, token)
		return err
	}
	var p Principal
	store := a.identities.Load()
	_, err := a.verifier.Precheck(r, ServiceOf(r), func(key, token string) (string, error) {
		return a.lookup(store, &p, key, token)
	})
	return err
}

// ServiceOf is the signing name a request must be scoped to, decided by the
// same fact the protocol layer routes on: a request with X-Amz-Target is a
// CloudWatch Logs (AWS JSON 1.1) call, signed for "logs"; anything else (a
// form-encoded or presigned Query-protocol call, Action=...) is for STS,
// signed for "sts". Deriving it here keeps protocol.Authenticator unchanged,
// and no caller can forget to say which service it expects.
func ServiceOf(r *http.Request) string {
	// POST /v1/logs (the OTLP endpoint) is CloudWatch Logs too, and so are
	// Cairn's admin endpoints (/cairn/admin/..., e.g. cairn backup).
	if r.Header.Get("X-Amz-Target") != "" || r.URL.Path == "/v1/logs" || strings.HasPrefix(r.URL.Path, "/cairn/admin/") {
		return "logs"
	}
	return "sts"
}

// lookup finds the secret for key and fills p with who owns it.
func (a *Authenticator) lookup(store *iam.Store, p *Principal, key, token string) (string, error) {
	if !sts.IsTemporary(key) {
		if token != "" {
			return "", awserr.InvalidSecurityToken()
		}
		id, secret, ok := store.LookupKey(key)
		if !ok {
			return "", awserr.InvalidSecurityToken()
		}
		p.Account, p.ARN, p.UserID, p.principalARN = id.Account, id.ARN, id.UserID, id.ARN
		p.username, p.root, p.rights = id.Name, id.Root, id.Rights()
		return secret, nil
	}
	if token == "" || a.issuer == nil {
		return "", awserr.InvalidSecurityToken()
	}
	s, policy, err := a.openSession(key, token)
	if err != nil {
		return "", err
	}
	rights, ok := s.Rights(store, policy)
	if !ok {
		return "", awserr.InvalidSecurityToken() // the parent user or role is gone
	}
	p.Account, p.ARN, p.UserID, p.principalARN = s.Account, s.ARN, s.UserID, s.PrincipalARN()
	p.session, p.rights, p.Expires = s, rights, s.Expires
	if s.Kind == sts.UserSession {
		if id, ok := store.Identity(s.Parent); ok {
			p.username, p.root = id.Name, id.Root
		}
	}
	return a.issuer.Secret(key), nil
}

// openSession opens a token, through the cache: the AES-GCM open and the
// session policy's compilation happen once per token.
func (a *Authenticator) openSession(key, token string) (*sts.Session, *iam.Policy, error) {
	h := sha256.Sum256([]byte(token))
	if e, ok := a.sessions.get(h); ok && e.accessKey == key {
		if !a.now().Before(e.session.Expires) {
			return nil, nil, awserr.SecurityTokenExpired()
		}
		return e.session, e.policy, nil
	}
	s, err := a.issuer.Open(key, token)
	if err != nil {
		return nil, nil, err
	}
	var policy *iam.Policy
	if len(s.Policy) > 0 {
		if policy, err = iam.ParsePolicy(s.Policy); err != nil {
			return nil, nil, awserr.InvalidSecurityToken()
		}
	}
	a.sessions.put(h, sessionEntry{accessKey: key, session: s, policy: policy})
	return s, policy, nil
}

func (a *Authenticator) anonymous(r *http.Request) *Principal {
	p := &Principal{
		Account: a.account, ARN: iam.RootARN(a.account), UserID: a.account,
		Region: a.defaultRegion, root: true, anonymous: true,
	}
	p.principalARN = p.ARN
	p.rights = &iam.Rights{Account: a.account, Root: true}
	if s, ok := sigv4.ScopeOf(r); ok {
		p.AccessKey, p.Region, p.Service = s.AccessKey, s.Region, s.Service
	}
	return p
}

// Authorize decides whether p may perform action on resource (an ARN, or "*"
// for actions without one). A refusal is AccessDeniedException worded as AWS
// words it.
func (a *Authenticator) Authorize(p *Principal, action, resource string, rc RequestContext) error {
	if p == nil {
		return awserr.MissingToken()
	}
	if p.anonymous {
		return nil
	}
	if rc.Time.IsZero() {
		rc.Time = a.now()
	}
	if rc.Region == "" {
		rc.Region = p.Region
	}
	c := iam.Context{
		Action: action, Resource: resource,
		PrincipalARN: p.principalARN, CallerARN: p.ARN, PrincipalAccount: p.Account,
		Username: p.username, UserID: p.UserID,
		Region: rc.Region, SourceIP: rc.SourceIP, Time: rc.Time,
	}
	if p.apiKey != nil {
		return a.authorizeBearer(p, action, resource, &c)
	}
	if d := p.rights.Decide(&c); !d.Allowed {
		return sts.Denied(p.ARN, action, resource, d)
	}
	return nil
}

// CheckListenAddr enforces that mode off serves loopback only: with no
// authentication, anything else would open the server to the network.
func CheckListenAddr(mode Mode, addr string) error {
	if mode != ModeOff {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("auth off: listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Unmap().IsLoopback() {
		return fmt.Errorf("auth off accepts any credentials and may only listen on a loopback address (127.0.0.1, [::1], localhost), not %q", addr)
	}
	return nil
}

// sessionCache maps a token's hash to the opened session; two generations
// bound it like sigv4's key cache.
type sessionCache struct {
	half int
	mu   struct {
		sync.Mutex
		cur, old map[[sha256.Size]byte]sessionEntry // guarded by mu
	}
}

type sessionEntry struct {
	accessKey string
	session   *sts.Session
	policy    *iam.Policy
}

func newSessionCache(size int) *sessionCache {
	c := &sessionCache{half: max(size/2, 1)}
	c.mu.cur = make(map[[sha256.Size]byte]sessionEntry)
	return c
}

func (c *sessionCache) get(k [sha256.Size]byte) (sessionEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.mu.cur[k]; ok {
		return e, true
	}
	if e, ok := c.mu.old[k]; ok {
		c.putLocked(k, e)
		return e, true
	}
	return sessionEntry{}, false
}

func (c *sessionCache) put(k [sha256.Size]byte, e sessionEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(k, e)
}

func (c *sessionCache) putLocked(k [sha256.Size]byte, e sessionEntry) {
	if len(c.mu.cur) >= c.half {
		c.mu.old = c.mu.cur
		c.mu.cur = make(map[[sha256.Size]byte]sessionEntry, c.half)
	}
	c.mu.cur[k] = e
}
