package server

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/cairnlog/cairn/internal/auth"
	"github.com/cairnlog/cairn/internal/iam"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/sts"
)

// security is what the server builds for authentication: the identities
// (from the IAM file, or the generated root key), the STS token issuer, the
// authenticator, and the STS endpoint.
type security struct {
	identities *iam.Holder
	authn      *auth.Authenticator
	sts        *sts.Handler
	iamFile    string
	// rootCreated and credentialsFile tell the user how to connect.
	rootCreated     bool
	credentialsFile string
	now             func() time.Time
}

func newSecurity(cfg Config) (*security, error) {
	mode := auth.Mode(cfg.Auth)
	if err := auth.CheckListenAddr(mode, cfg.Listen); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	sec := &security{iamFile: cfg.IAMFile, now: cfg.Now}
	var store *iam.Store
	var err error
	switch {
	case mode == auth.ModeOff:
		// Nothing is verified in this mode; the store only gives STS a root
		// identity to act as. Its key is never accepted as a signature key.
		store, err = iam.NewRootStore(cfg.AccountID, "CAIRNAUTHOFFMODE", randomSecret())
	case cfg.IAMFile != "":
		store, err = iam.LoadFile(cfg.IAMFile)
	default:
		store, sec.rootCreated, err = iam.EnsureRootCredentials(cfg.DataDir, cfg.AccountID)
		sec.credentialsFile = filepath.Join(cfg.DataDir, iam.CredentialsFileName)
	}
	if err != nil {
		return nil, err
	}
	sec.identities = iam.NewHolder(store)
	key, err := sts.LoadOrCreateKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	issuer, err := sts.NewIssuer(key, cfg.Now)
	if err != nil {
		return nil, err
	}
	sec.authn, err = auth.New(auth.Config{Mode: mode, Identities: sec.identities, Issuer: issuer, DefaultAccount: cfg.AccountID, Now: cfg.Now})
	if err != nil {
		return nil, err
	}
	sec.sts = sts.NewHandler(sts.Config{Issuer: issuer, Identities: sec.identities, Now: cfg.Now})
	return sec, nil
}

// reload re-reads the IAM file; a broken file is refused and the identities
// in force are kept.
func (s *security) reload() error {
	if s.iamFile == "" {
		return nil
	}
	return s.identities.Reload(func() (*iam.Store, error) { return iam.LoadFile(s.iamFile) })
}

// Authenticate implements protocol.Authenticator.
func (s *security) Authenticate(r *http.Request, body []byte) (protocol.Identity, error) {
	p, err := s.authn.Authenticate(r, body)
	if err != nil {
		return protocol.Identity{}, err
	}
	region := p.Region
	if region == "" {
		region = "us-east-1"
	}
	rc := auth.RequestContextOf(r, p, s.now())
	rc.Region = region
	return protocol.Identity{
		Account:   p.Account,
		Region:    region,
		Principal: p,
		ARN:       p.ARN,
		Authorize: func(action, resource string) error { return s.authn.Authorize(p, action, resource, rc) },
	}, nil
}

// Precheck refuses, before the body is read, a request whose signature
// cannot pass whatever the body (auth.Authenticator.Precheck); the protocol
// handler calls it when its Auth offers it.
func (s *security) Precheck(r *http.Request) error { return s.authn.Precheck(r) }

// ServeQuery implements protocol.QueryHandler: STS calls, with the caller
// already authenticated by SigV4.
func (s *security) ServeQuery(w http.ResponseWriter, r *http.Request, id protocol.Identity, body []byte) {
	p, ok := id.Principal.(*auth.Principal)
	if !ok {
		s.WriteError(w, sts.NewRequestID(), fmt.Errorf("BUG: STS call without a principal"))
		return
	}
	rc := auth.RequestContextOf(r, p, s.now())
	r2 := r.WithContext(sts.WithCaller(r.Context(), p.Caller(rc)))
	r2.Body = io.NopCloser(bytes.NewReader(body))
	r2.ContentLength = int64(len(body))
	r2.Header.Del("Content-Encoding")
	s.sts.ServeHTTP(w, r2)
}

// WriteError implements protocol.QueryHandler.
func (s *security) WriteError(w http.ResponseWriter, requestID string, err error) {
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
var _ protocol.Prechecker = (*security)(nil)
