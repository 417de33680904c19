package sts

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
)

// FuzzOpen feeds arbitrary access key ids and session tokens to Open, seeded
// with real tokens. Open never panics, refuses with UnrecognizedClient or
// ExpiredToken only, and accepts only live tokens as Issue spells them: no
// other spelling of a token (a line break inside the base64, which Go's decoder
// skips; non-zero trailing bits) opens a session: one session, one string.
func FuzzOpen(f *testing.F) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	i := testIssuer(f, func() time.Time { return now })
	for _, s := range []Session{
		{Kind: AssumedRole, Account: "123456789012", ARN: "arn:aws:sts::123456789012:assumed-role/r/s", Parent: "arn:aws:iam::123456789012:role/r",
			Bounded: true, Policy: []byte(`{"Statement":[]}`), Issued: now, Expires: now.Add(time.Hour)},
		{Kind: UserSession, Account: "123456789012", ARN: "arn:aws:iam::123456789012:user/u", Issued: now, Expires: now.Add(time.Minute)},
		{Kind: FederatedUser, Account: "1", Issued: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)}, // expired
	} {
		c, err := i.Issue(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(c.AccessKeyID, c.SessionToken)
	}
	f.Add("", "")
	f.Add("ASIAAAAAAAAAAAAAAAAA", "CRN1")
	f.Fuzz(func(t *testing.T, keyID, token string) {
		s, err := i.Open(keyID, token)
		if err != nil {
			if !awserr.Is(err, awserr.UnrecognizedClient) && !awserr.Is(err, awserr.ExpiredToken) {
				t.Fatalf("Open(%q, %q) = %v", keyID, token, err)
			}
			return
		}
		// Tokens are sealed, so the fuzzer cannot forge one; what it can do is
		// respell a real one. An accepted token must be the one spelling of
		// its bytes that Issue writes.
		sealed, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(token, tokenPrefix))
		if canonical := tokenPrefix + base64.RawURLEncoding.EncodeToString(sealed); token != canonical {
			t.Fatalf("Open accepted %q, a respelling of %q (session %+v)", token, canonical, s)
		}
		if !now.Before(s.Expires) {
			t.Fatalf("Open accepted an expired session %+v", s)
		}
	})
}
