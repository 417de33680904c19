package sts

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/iam"
)

func testIssuer(tb testing.TB, now func() time.Time) *Issuer {
	tb.Helper()
	i, err := NewIssuer(bytes.Repeat([]byte{7}, 32), now)
	if err != nil {
		tb.Fatal(err)
	}
	return i
}

func TestTokenRoundTrip(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := now
	i := testIssuer(t, func() time.Time { return clock })
	s := Session{Kind: AssumedRole, Account: "123456789012", ARN: "arn:aws:sts::123456789012:assumed-role/r/s", UserID: "AROAX:s",
		Parent: "arn:aws:iam::123456789012:role/r", Bounded: true, Policy: []byte(`{"Statement":[]}`), Issued: now, Expires: now.Add(time.Hour)}
	c, err := i.Issue(s)
	if err != nil {
		t.Fatal(err)
	}
	if !IsTemporary(c.AccessKeyID) || len(c.AccessKeyID) != 20 || len(c.SecretAccessKey) != 40 {
		t.Fatalf("shape: %d %d", len(c.AccessKeyID), len(c.SecretAccessKey))
	}
	got, err := i.Open(c.AccessKeyID, c.SessionToken)
	if err != nil || got.ARN != s.ARN || !got.Expires.Equal(s.Expires) || string(got.Policy) != string(s.Policy) {
		t.Fatalf("open: %v %+v", err, got)
	}
	// Another node with the same key derives the same secret and opens the token.
	other := testIssuer(t, func() time.Time { return clock })
	if other.Secret(c.AccessKeyID) != c.SecretAccessKey {
		t.Fatal("secret not derivable on another node")
	}
	if _, err := other.Open(c.AccessKeyID, c.SessionToken); err != nil {
		t.Fatal(err)
	}

	f := func(name, key, token string, code awserr.Code) {
		t.Helper()
		if _, err := i.Open(key, token); !awserr.Is(err, code) {
			t.Errorf("%s: got %v, want %s", name, err, code)
		}
	}
	for pos := 4; pos < len(c.SessionToken); pos += 7 {
		b := []byte(c.SessionToken)
		b[pos] = "AB"[b[pos]%2] // flip to another base64 character
		if string(b) != c.SessionToken {
			f(fmt.Sprint("flip at ", pos), c.AccessKeyID, string(b), awserr.UnrecognizedClient)
		}
	}
	f("truncated", c.AccessKeyID, c.SessionToken[:len(c.SessionToken)-4], awserr.UnrecognizedClient)
	f("no prefix", c.AccessKeyID, c.SessionToken[4:], awserr.UnrecognizedClient)
	f("empty", c.AccessKeyID, "", awserr.UnrecognizedClient)
	f("another key id", "ASIAAAAAAAAAAAAAAAAA", c.SessionToken, awserr.UnrecognizedClient)
	otherKey, _ := NewIssuer(bytes.Repeat([]byte{8}, 32), nil)
	if _, err := otherKey.Open(c.AccessKeyID, c.SessionToken); !awserr.Is(err, awserr.UnrecognizedClient) {
		t.Errorf("other server key: %v", err)
	}
	clock = now.Add(time.Hour)
	f("expired", c.AccessKeyID, c.SessionToken, awserr.ExpiredToken)

	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(verb, c); strings.Contains(out, c.SecretAccessKey) || strings.Contains(out, c.SessionToken[4:30]) {
			t.Errorf("%s shows a secret: %s", verb, out)
		}
	}
}

// A token opens only as Issue spelled it: Go's base64 decoder skips line
// breaks and ignores the unused low bits of the last character, so both
// respellings decoded to the same sealed bytes and opened the session
// (FuzzOpen, testdata/fuzz/FuzzOpen).
func TestTokenRespelled(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	i := testIssuer(t, func() time.Time { return now })
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for n := range 3 { // three lengths of claims: one leaves no unused bits, two do
		c, err := i.Issue(Session{Kind: UserSession, Account: "1", Source: strings.Repeat("s", n), Expires: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := i.Open(c.AccessKeyID, c.SessionToken); err != nil {
			t.Fatal(err)
		}
		f := func(name, token string) {
			t.Helper()
			if _, err := i.Open(c.AccessKeyID, token); !awserr.Is(err, awserr.UnrecognizedClient) {
				t.Errorf("%s (%d): got %v, want UnrecognizedClient", name, n, err)
			}
		}
		tok := c.SessionToken
		f("line feed", tok[:20]+"\n"+tok[20:])
		f("carriage return", tok[:20]+"\r\n"+tok[20:])
		f("trailing line feed", tok+"\n")
		if len(tok[4:])%4 != 0 { // the last character carries unused bits: set the lowest
			last := strings.IndexByte(alphabet, tok[len(tok)-1])
			f("trailing bits", tok[:len(tok)-1]+string(alphabet[last|1]))
		}
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadOrCreateKey(dir)
	if err != nil || len(k1) != 32 {
		t.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(dir, KeyFileName))
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	k2, err := LoadOrCreateKey(dir)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatal("key not reused")
	}
	os.Chmod(filepath.Join(dir, KeyFileName), 0o640)
	if _, err := LoadOrCreateKey(dir); err == nil {
		t.Fatal("group-readable key accepted")
	}
}

// TestHandlerWire checks the XML the handler writes: namespace, result and
// metadata elements, the request id header, and the error shape.
func TestHandlerWire(t *testing.T) {
	store, err := iam.NewRootStore("123456789012", "AKIAAAAAAAAAAAAAAAAA", "0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	h := NewHandler(Config{Issuer: testIssuer(t, nil), Identities: iam.NewHolder(store)})
	root, _ := store.Identity(iam.RootARN("123456789012"))
	caller := &Caller{Account: root.Account, ARN: root.ARN, UserID: root.UserID, PrincipalARN: root.ARN, Root: true, Rights: root.Rights()}
	do := func(form url.Values, c *Caller) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if c != nil {
			r = r.WithContext(WithCaller(context.Background(), c))
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := do(url.Values{"Action": {"GetCallerIdentity"}, "Version": {APIVersion}}, caller)
	id := w.Header().Get("x-amzn-RequestId")
	want := `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:root</Arn><UserId>123456789012</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>` + id + `</RequestId></ResponseMetadata></GetCallerIdentityResponse>`
	if w.Code != 200 || w.Body.String() != want || len(id) != 36 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	w = do(url.Values{"Action": {"Frobnicate"}, "Version": {APIVersion}}, caller)
	id = w.Header().Get("x-amzn-RequestId")
	want = `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>Could not find operation Frobnicate for version 2011-06-15</Message></Error><RequestId>` + id + `</RequestId></ErrorResponse>`
	if w.Code != 400 || w.Body.String() != want {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if w = do(url.Values{"Action": {"GetCallerIdentity"}}, nil); w.Code != 403 || !strings.Contains(w.Body.String(), "<Code>MissingAuthenticationToken</Code>") {
		t.Fatalf("no caller: %d %s", w.Code, w.Body)
	}
	rec := httptest.NewRecorder()
	WriteError(rec, "id", fmt.Errorf("disk on fire at /var/secret"))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "fire") {
		t.Fatalf("internal error leaked: %s", rec.Body)
	}
}
