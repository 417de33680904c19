package sts

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/iam"
)

// KeyFileName is the server key's file in the data directory. Nodes that
// share it verify each other's temporary credentials.
const KeyFileName = "sts.key"

// LoadOrCreateKey returns the server key from <dataDir>/sts.key, creating a
// random 32-byte key (mode 0600) on first use. A key file others can read is
// refused.
func LoadOrCreateKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, KeyFileName)
	key, err := readKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("sts key: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("sts key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readKey(path) // another node or process won the race
	}
	if err != nil {
		return nil, fmt.Errorf("sts key: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(raw) + "\n")
	serr := f.Sync()
	if cerr := f.Close(); werr == nil && serr == nil {
		werr = cerr
	}
	if werr != nil || serr != nil {
		os.Remove(path)
		return nil, fmt.Errorf("sts key: write %s: %w", path, errors.Join(werr, serr))
	}
	return raw, nil
}

func readKey(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("sts key %s is accessible by other users (mode %04o); run chmod 600 on it", path, fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sts key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) < 32 {
		return nil, fmt.Errorf("sts key %s: want base64 of at least 32 bytes", path)
	}
	return key, nil
}

// Kind is the kind of temporary credentials.
type Kind string

const (
	AssumedRole   Kind = "assumed-role"   // AssumeRole
	FederatedUser Kind = "federated-user" // GetFederationToken
	UserSession   Kind = "session"        // GetSessionToken
)

// Session is what a session token carries. Sessions are stateless: the
// server keeps no record of them, so any node with the same key accepts
// them, and none can revoke one before it expires (removing the parent user
// or role from the IAM file does: the parent is looked up on every request).
type Session struct {
	Kind    Kind      `json:"k"`
	Account string    `json:"a"`
	ARN     string    `json:"arn"` // the session's ARN (for GetSessionToken, the user's)
	UserID  string    `json:"uid"`
	Parent  string    `json:"p"` // ARN of the role or identity whose policies apply
	Source  string    `json:"src,omitempty"`
	Bounded bool      `json:"b,omitempty"`   // rights cut by Policy
	Policy  []byte    `json:"pol,omitempty"` // compact session policy JSON
	Issued  time.Time `json:"iat"`
	Expires time.Time `json:"exp"`
}

// Credentials are temporary credentials as STS returns them. Formatting them
// with fmt masks the secret and the token.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

func (c Credentials) String() string {
	return fmt.Sprintf("{AccessKeyID:%s SecretAccessKey:*** SessionToken:*** Expiration:%s}", c.AccessKeyID, c.Expiration.Format(time.RFC3339))
}

// GoString masks like String, for %#v.
func (c Credentials) GoString() string { return "sts.Credentials" + c.String() }

// Issuer mints and opens temporary credentials. The session token is the
// Session sealed with AES-256-GCM (bound to the access key id), and the
// secret key is an HMAC of the access key id, so nothing needs storing.
type Issuer struct {
	aead      cipher.AEAD
	secretKey []byte
	now       func() time.Time
}

// NewIssuer returns an Issuer using the server key (at least 32 bytes).
// now is the clock; nil means time.Now.
func NewIssuer(key []byte, now func() time.Time) (*Issuer, error) {
	if len(key) < 32 {
		return nil, errors.New("sts: server key must be at least 32 bytes")
	}
	if now == nil {
		now = time.Now
	}
	block, err := aes.NewCipher(derive(key, "cairn sts token encryption v1"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Issuer{aead: aead, secretKey: derive(key, "cairn sts secret derivation v1"), now: now}, nil
}

func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

const tokenPrefix = "CRN1"

// IsTemporary reports whether an access key id is one of ours.
func IsTemporary(accessKeyID string) bool { return strings.HasPrefix(accessKeyID, "ASIA") }

// Issue mints credentials for s.
func (i *Issuer) Issue(s Session) (Credentials, error) {
	id := make([]byte, 10)
	if _, err := rand.Read(id); err != nil {
		return Credentials{}, fmt.Errorf("sts: %w", err)
	}
	keyID := "ASIA" + base32.StdEncoding.EncodeToString(id) // 4 + 16 characters
	claims, err := json.Marshal(s)
	if err != nil {
		return Credentials{}, fmt.Errorf("sts: %w", err)
	}
	nonce := make([]byte, i.aead.NonceSize(), i.aead.NonceSize()+len(claims)+i.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return Credentials{}, fmt.Errorf("sts: %w", err)
	}
	sealed := i.aead.Seal(nonce, nonce, claims, []byte(keyID))
	return Credentials{
		AccessKeyID:     keyID,
		SecretAccessKey: i.Secret(keyID),
		SessionToken:    tokenPrefix + base64.RawURLEncoding.EncodeToString(sealed),
		Expiration:      s.Expires,
	}, nil
}

// Secret derives the secret key of a temporary access key id. Call it only
// after Open accepted the token sent with that key.
func (i *Issuer) Secret(accessKeyID string) string {
	m := hmac.New(sha256.New, i.secretKey)
	m.Write([]byte(accessKeyID))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))[:40]
}

// Open checks a session token sent with accessKeyID and returns its Session.
// A token that was altered, forged, or sent with another access key is
// UnrecognizedClientException; an expired one ExpiredTokenException.
func (i *Issuer) Open(accessKeyID, token string) (*Session, error) {
	rest, ok := strings.CutPrefix(token, tokenPrefix)
	if !ok {
		return nil, awserr.InvalidSecurityToken()
	}
	// Only the spelling Issue writes: Go's decoder skips '\r' and '\n' and,
	// outside Strict mode, ignores non-zero trailing bits, so without the
	// re-encoding check many strings would open one session (FuzzOpen).
	sealed, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil || len(sealed) < i.aead.NonceSize()+i.aead.Overhead() || base64.RawURLEncoding.EncodeToString(sealed) != rest {
		return nil, awserr.InvalidSecurityToken()
	}
	ns := i.aead.NonceSize()
	claims, err := i.aead.Open(nil, sealed[:ns], sealed[ns:], []byte(accessKeyID))
	if err != nil {
		return nil, awserr.InvalidSecurityToken()
	}
	var s Session
	if err := json.Unmarshal(claims, &s); err != nil {
		return nil, awserr.InvalidSecurityToken()
	}
	if !i.now().Before(s.Expires) {
		return nil, awserr.SecurityTokenExpired()
	}
	return &s, nil
}

// Rights resolves what a session may do against the current identities: the
// parent role's or identity's rights, cut by the session policy when the
// session is bounded. policy is s.Policy compiled (nil when there is none);
// callers cache it. ok is false when the parent no longer exists.
func (s *Session) Rights(store *iam.Store, policy *iam.Policy) (r *iam.Rights, ok bool) {
	var base *iam.Rights
	switch s.Kind {
	case AssumedRole:
		role, found := store.Role(s.Parent)
		if !found {
			return nil, false
		}
		base = role.Rights()
	default:
		id, found := store.Identity(s.Parent)
		if !found {
			return nil, false
		}
		base = id.Rights()
	}
	if s.Bounded {
		return base.WithSession(policy), true
	}
	return base, true
}

// PrincipalARN is what aws:PrincipalArn reports for the session: the role's
// ARN for a role session, the session's own ARN otherwise.
func (s *Session) PrincipalARN() string {
	if s.Kind == AssumedRole {
		return s.Parent
	}
	return s.ARN
}
