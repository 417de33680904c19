package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/iam"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/sts"
	"github.com/cairnlog/cairn/internal/uuid"
)

// SecurityConfig is what a server's security is built from (package server
// fills it from its own Config).
type SecurityConfig struct {
	Mode Mode
	// Listen is the address the server will listen on; mode off refuses a
	// non-loopback one (CheckListenAddr).
	Listen string
	// DataDir holds the generated root key and the STS token key.
	DataDir string
	// AccountID is the account of the generated root key, and of every
	// request in mode off.
	AccountID string
	// IAMFile holds accounts, users, keys, roles and policies; "" means a
	// root key generated on first start in DataDir/credentials.
	IAMFile string
	Now     func() time.Time
	// Shared, when set, keeps the secrets every node of one database must
	// have alike (the generated root key, the STS token key), so a token
	// one node issues is accepted by all. nil: this node is alone, and the
	// secrets live in DataDir.
	Shared SharedSecrets
}

// SharedSecrets is a store of secrets for the nodes of a cluster (the
// PostgreSQL engine implements it).
type SharedSecrets interface {
	// SharedSecret stores offer under name unless a value is already
	// there, and returns the stored value: the first node's offer wins.
	SharedSecret(ctx context.Context, name string, offer []byte) ([]byte, error)
}

// Security is what a server builds for authentication: the identities (from
// the IAM file, or the generated root key), the STS token issuer, the
// Authenticator, and the STS endpoint. It is the protocol layer's
// Authenticator (with Precheck) and QueryHandler: it turns a verified
// request into a caller.Caller whose authorizer evaluates the caller's IAM
// policies, and serves STS calls with that caller.
type Security struct {
	identities *iam.Holder
	authn      *Authenticator
	sts        *sts.Handler
	iamFile    string
	// rootCreated and credentialsFile tell the user how to connect.
	rootCreated     bool
	credentialsFile string
	now             func() time.Time
}

// NewSecurity loads or creates the identities and the STS key in cfg.DataDir
// (creating the directory, private) and builds the authenticator.
func NewSecurity(cfg SecurityConfig) (*Security, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	mode := cfg.Mode
	if err := CheckListenAddr(mode, cfg.Listen); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	sec := &Security{iamFile: cfg.IAMFile, now: cfg.Now}
	var store *iam.Store
	var err error
	switch {
	case mode == ModeOff:
		// Nothing is verified in this mode; the store only gives STS a root
		// identity to act as. Its key is never accepted as a signature key.
		store, err = iam.NewRootStore(cfg.AccountID, "CAIRNAUTHOFFMODE", randomSecret())
	case cfg.IAMFile != "":
		store, err = iam.LoadFile(cfg.IAMFile)
	default:
		var share func(string, string) (string, string, error)
		if cfg.Shared != nil {
			share = func(keyID, secret string) (string, string, error) {
				v, err := cfg.Shared.SharedSecret(context.Background(), "root-key/"+cfg.AccountID, []byte(keyID+"\n"+secret))
				if err != nil {
					return "", "", err
				}
				k, sc, ok := strings.Cut(string(v), "\n")
				if !ok {
					return "", "", errors.New("the stored root key is malformed")
				}
				return k, sc, nil
			}
		}
		store, sec.rootCreated, err = iam.EnsureSharedRootCredentials(cfg.DataDir, cfg.AccountID, share)
		sec.credentialsFile = filepath.Join(cfg.DataDir, iam.CredentialsFileName)
	}
	if err != nil {
		return nil, err
	}
	sec.identities = iam.NewHolder(store)
	var key []byte
	if cfg.Shared != nil {
		// The cluster's key only: a node's own key file would sign tokens
		// the other nodes refuse.
		offer := make([]byte, 32)
		rand.Read(offer)
		key, err = cfg.Shared.SharedSecret(context.Background(), "sts-key", offer)
		if err == nil && len(key) != 32 {
			err = errors.New("the stored STS key is not 32 bytes")
		}
		if err != nil {
			return nil, fmt.Errorf("shared STS key: %w", err)
		}
	} else if key, err = sts.LoadOrCreateKey(cfg.DataDir); err != nil {
		return nil, err
	}
	issuer, err := sts.NewIssuer(key, cfg.Now)
	if err != nil {
		return nil, err
	}
	sec.authn, err = New(Config{Mode: mode, Identities: sec.identities, Issuer: issuer, DefaultAccount: cfg.AccountID, Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	sec.sts = sts.NewHandler(sts.Config{Issuer: issuer, Identities: sec.identities, Now: cfg.Now})
	return sec, nil
}

// Reload re-reads the IAM file (SIGHUP); a broken file is refused and the
// identities in force are kept. Without an IAM file it does nothing.
func (s *Security) Reload() error {
	if s.iamFile == "" {
		return nil
	}
	return s.identities.Reload(func() (*iam.Store, error) { return iam.LoadFile(s.iamFile) })
}

// ReloadDocument makes the IAM document doc (an IAM file's content, the
// cluster's: internal/iamshare) the identities in force; a document that
// does not parse is refused and the identities in force stay.
func (s *Security) ReloadDocument(doc []byte) error {
	return s.identities.Reload(func() (*iam.Store, error) { return iam.ParseFile(doc) })
}

// CredentialsFile is the generated root credentials file, or "" when the
// identities come from an IAM file or auth is off; created says whether
// NewSecurity created it.
func (s *Security) CredentialsFile() (path string, created bool) {
	return s.credentialsFile, s.rootCreated
}

// Authenticate implements protocol.Authenticator.
func (s *Security) Authenticate(r *http.Request, body []byte) (caller.Caller, error) {
	p, err := s.authn.Authenticate(r, body)
	if err != nil {
		return caller.Caller{}, err
	}
	return s.callerOf(r, p), nil
}

// callerOf is the service's view of an authenticated principal.
func (s *Security) callerOf(r *http.Request, p *Principal) caller.Caller {
	region := p.Region
	if region == "" {
		region = "us-east-1"
	}
	rc := RequestContextOf(r, p, s.now())
	// The STS view keeps the signed region as it is (STS conditions see
	// what was signed); the service's resources default to us-east-1.
	stsCaller := p.Caller(rc)
	rc.Region = region
	if p.apiKey != nil {
		stsCaller = nil // a bearer key cannot call STS
	}
	return caller.Caller{
		Account:  p.Account,
		Region:   region,
		SourceIP: rc.SourceIP,
		Identity: caller.Identity{
			ARN:         p.ARN,
			UserID:      p.UserID,
			AccessKeyID: p.AccessKey,
			STS:         stsCaller,
		},
		Authorizer: func(action, resource string) error { return s.authn.Authorize(p, action, resource, rc) },
	}
}

// SignIn checks an access key id and its secret presented directly (the
// console's sign-in form) and answers who owns the key. Only long-term keys
// (the root key, IAM users' keys) sign in; a refusal is the
// InvalidSecurityToken error an API call with that key would get, for an
// unknown key and a wrong secret alike. With auth off every pair is the
// account's root, as every API call is.
func (s *Security) SignIn(keyID, secret string) (arn string, err error) {
	if s.authn.mode == ModeOff {
		return iam.RootARN(s.authn.account), nil
	}
	id, ok := s.identities.Load().CheckSecret(keyID, secret)
	if !ok {
		return "", awserr.InvalidSecurityToken()
	}
	return id.ARN, nil
}

// KeyCaller is the caller of a request made on behalf of a key that signed
// in (a console session holds the key id, never the secret). The key is
// looked up again in the identities in force, so a key removed by a reload
// of the IAM file stops working at once; its policies are evaluated exactly
// as for a signed API call from r's peer in region.
func (s *Security) KeyCaller(r *http.Request, keyID, region string) (caller.Caller, error) {
	var p *Principal
	if s.authn.mode == ModeOff {
		p = s.authn.anonymous(r)
	} else {
		p = &Principal{}
		if _, err := s.authn.lookup(s.identities.Load(), p, keyID, ""); err != nil {
			return caller.Caller{}, awserr.InvalidSecurityToken()
		}
		p.AccessKey, p.Service = keyID, "logs"
	}
	p.Region = region
	return s.callerOf(r, p), nil
}

// SetBearerCheck tells the authenticator which groups take bearer keys
// (the server installs the bearer family's check once the store is open).
func (s *Security) SetBearerCheck(fn BearerCheck) { s.authn.SetBearerCheck(fn) }

// Precheck refuses, before the body is read, a request whose signature
// cannot pass whatever the body (Authenticator.Precheck); the protocol
// handler calls it when its Auth offers it.
func (s *Security) Precheck(r *http.Request) error { return s.authn.Precheck(r) }

// ServeQuery implements protocol.QueryHandler: STS calls, with the caller
// already authenticated by SigV4.
func (s *Security) ServeQuery(w http.ResponseWriter, r *http.Request, c caller.Caller, body []byte) {
	if c.Identity.STS == nil {
		s.WriteError(w, uuid.New(), fmt.Errorf("BUG: STS call without a principal"))
		return
	}
	r2 := r.WithContext(sts.WithCaller(r.Context(), c.Identity.STS))
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	r2.Header.Del("Content-Encoding")
	s.sts.ServeHTTP(w, r2)
}

// WriteError implements protocol.QueryHandler.
func (s *Security) WriteError(w http.ResponseWriter, requestID string, err error) {
	sts.WriteError(w, requestID, err)
}

func randomSecret() string {
	var b [30]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// The protocol layer refuses unauthenticated requests before reading their
// bodies only if security offers the precheck; keep that from breaking
// silently.
var _ protocol.Prechecker = (*Security)(nil)
