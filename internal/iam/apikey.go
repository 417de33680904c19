package iam

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// API keys (bearer tokens) are CloudWatch Logs' "service-specific
// credentials" of an IAM user: a sender that cannot sign puts
// "Authorization: Bearer ACWL…" on PutLogEvents or an OTLP export, and acts
// as that user (its policies must allow logs:PutLogEvents and
// logs:CallWithBearerToken, as on AWS), only on the log groups the key is
// scoped to, and only on groups with bearer-token authentication enabled.
// The IAM file holds each key's SHA-256, never the key: NewAPIKey makes a
// key and the line to add; deleting the line (and SIGHUP) revokes it.

// (In logGroups, '*' matches any run of characters, '/' included.)

// fileAPIKey is one apiKeys entry of a user in the IAM file.
type fileAPIKey struct {
	ID        string   `yaml:"id"`
	SHA256    string   `yaml:"sha256"`
	LogGroups []string `yaml:"logGroups"`
	Expires   string   `yaml:"expires"`
}

// APIKey is a bearer key as the Store keeps it (the hash, never the key).
type APIKey struct {
	ID       string
	Identity *Identity
	// LogGroups are the group names (path.Match patterns: "/app/*") the key
	// may write to.
	LogGroups []string
	Expires   time.Time // zero: never
	hash      [sha256.Size]byte
}

// Allows reports whether the key may write to group. In a pattern '*'
// matches any run of characters, '/' included ("/app/*", "*").
func (k *APIKey) Allows(group string) bool {
	for _, p := range k.LogGroups {
		if globMatch(p, group) {
			return true
		}
	}
	return false
}

func globMatch(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// APIKeyPrefix starts every key, as AWS's CloudWatch Logs keys start.
const APIKeyPrefix = "ACWL"

var groupPatternRE = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]{1,512}$`)

var apiKeyIDRE = regexp.MustCompile(`^ACCA[A-Z0-9]{16,124}$`)

// NewAPIKey generates a key: its ID (ACCA…, like AWS's service-specific
// credential IDs), the token a sender presents, and the token's SHA-256 in
// hex, which the IAM file stores.
func NewAPIKey() (id, token, sum string) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token = APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	var idb [10]byte
	_, _ = rand.Read(idb[:])
	id = "ACCA" + strings.ToUpper(hex.EncodeToString(idb[:]))
	h := sha256.Sum256([]byte(token))
	return id, token, hex.EncodeToString(h[:])
}

func (s *Store) addAPIKeys(p string, keys []fileAPIKey, id *Identity) error {
	for ki, k := range keys {
		kp := fmt.Sprintf("%s.apiKeys[%d]", p, ki)
		if !apiKeyIDRE.MatchString(k.ID) {
			return fmt.Errorf("%s.id: %q must be ACCA and 16-124 upper-case letters and digits", kp, k.ID)
		}
		raw, err := hex.DecodeString(k.SHA256)
		if err != nil || len(raw) != sha256.Size {
			return fmt.Errorf("%s.sha256: must be the key's SHA-256 in hex (64 digits; see `cairn api-key`)", kp)
		}
		if len(k.LogGroups) == 0 {
			return fmt.Errorf("%s.logGroups: name the log groups (or patterns such as /app/*) the key may write to", kp)
		}
		for _, g := range k.LogGroups {
			if g == "" || strings.Trim(g, "*") != "" && !groupPatternRE.MatchString(strings.ReplaceAll(g, "*", "")) {
				return fmt.Errorf("%s.logGroups: %q is not a group name or pattern", kp, g)
			}
		}
		key := &APIKey{ID: k.ID, Identity: id, LogGroups: k.LogGroups}
		copy(key.hash[:], raw)
		if k.Expires != "" {
			t, err := time.Parse(time.RFC3339, k.Expires)
			if err != nil {
				return fmt.Errorf("%s.expires: %q is not an RFC 3339 time", kp, k.Expires)
			}
			key.Expires = t
		}
		for _, o := range s.apiKeys {
			if o.ID == k.ID || o.hash == key.hash {
				return fmt.Errorf("%s: API key %s is listed twice", kp, k.ID)
			}
		}
		s.apiKeys = append(s.apiKeys, key)
	}
	return nil
}

// LookupAPIKey finds the key a bearer token is. Every key's hash is compared
// in constant time, so the answer's timing says nothing about how close a
// guess came.
func (s *Store) LookupAPIKey(token string) (*APIKey, bool) {
	h := sha256.Sum256([]byte(token))
	var found *APIKey
	for _, k := range s.apiKeys {
		if subtle.ConstantTimeCompare(h[:], k.hash[:]) == 1 {
			found = k
		}
	}
	return found, found != nil
}

// APIKeys lists the store's keys (IDs, owners, scopes; no secrets).
func (s *Store) APIKeys() []*APIKey { return s.apiKeys }
