package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

const (
	cookieName = "cairn_console"
	csrfHeader = "X-CSRF-Token"
)

// session is one signed-in browser. It holds the key id, never its secret:
// each request's caller is built from the key as the identities have it then.
type session struct {
	id      string // the cookie value: 256 random bits
	csrf    string // sent by the page in X-CSRF-Token; 256 random bits
	keyID   string
	arn     string
	region  string
	created time.Time
	expires time.Time
}

func (s *session) info() sessionInfo {
	return sessionInfo{ARN: s.arn, KeyID: s.keyID, Region: s.region, CSRF: s.csrf, Expires: s.expires.UnixMilli()}
}

func (s *session) checkCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.csrf)) == 1
}

// sessions holds the live sessions in memory (a restart signs everyone out),
// keyed by the SHA-256 of the id so the map's lookup time says nothing about
// the id.
type sessions struct {
	now func() time.Time
	ttl time.Duration
	max int

	mu   sync.Mutex
	byID map[[sha256.Size]byte]*session
}

func newSessions(now func() time.Time, ttl time.Duration, max int) *sessions {
	return &sessions{now: now, ttl: ttl, max: max, byID: map[[sha256.Size]byte]*session{}}
}

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (ss *sessions) create(keyID, arn, region string) *session {
	now := ss.now()
	s := &session{id: randomToken(), csrf: randomToken(), keyID: keyID, arn: arn, region: region, created: now, expires: now.Add(ss.ttl)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.byID) >= ss.max {
		ss.evictLocked(now)
	}
	ss.byID[sha256.Sum256([]byte(s.id))] = s
	return s
}

// evictLocked drops the expired sessions, and the oldest one if none was.
func (ss *sessions) evictLocked(now time.Time) {
	var oldest [sha256.Size]byte
	var oldestAt time.Time
	n := len(ss.byID)
	for k, s := range ss.byID {
		if !now.Before(s.expires) {
			delete(ss.byID, k)
		} else if oldestAt.IsZero() || s.created.Before(oldestAt) {
			oldest, oldestAt = k, s.created
		}
	}
	if len(ss.byID) == n && !oldestAt.IsZero() {
		delete(ss.byID, oldest)
	}
}

func (ss *sessions) get(id string) *session {
	if id == "" {
		return nil
	}
	k := sha256.Sum256([]byte(id))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byID[k]
	if s == nil {
		return nil
	}
	if !ss.now().Before(s.expires) {
		delete(ss.byID, k)
		return nil
	}
	return s
}

func (ss *sessions) fromRequest(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	return ss.get(c.Value)
}

func (ss *sessions) delete(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byID, sha256.Sum256([]byte(id)))
}
