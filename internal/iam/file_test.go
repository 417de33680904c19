package iam

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// privateCopy copies a file into a 0600 temporary file (a checkout leaves
// files 0644, which LoadFile refuses).
func privateCopy(tb testing.TB, src string) string {
	tb.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		tb.Fatal(err)
	}
	dst := filepath.Join(tb.TempDir(), filepath.Base(src))
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	return dst
}

func TestExampleFile(t *testing.T) {
	s, err := LoadFile(privateCopy(t, "../../docs/iam-example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Accounts(); len(got) != 1 || got[0] != "123456789012" {
		t.Fatalf("accounts: %v", got)
	}
	id, secret, ok := s.LookupKey("AKIAJENKINSEXAMPLE01")
	if !ok || id.ARN != "arn:aws:iam::123456789012:user/jenkins" || secret != "jenkins-secret-at-least-16-chars" || !strings.HasPrefix(id.UserID, "AIDA") {
		t.Fatalf("jenkins: %+v", id)
	}
	c := &Context{Action: "logs:PutLogEvents", Resource: "arn:aws:logs:eu-west-1:123456789012:log-group:jenkins:log-stream:x"}
	if !id.Rights().Decide(c).Allowed {
		t.Fatal("jenkins cannot write its logs")
	}
	c.Action = "logs:DeleteLogGroup"
	if d := id.Rights().Decide(c); d.Allowed || !d.ExplicitDeny {
		t.Fatalf("jenkins delete: %+v", d)
	}
	root, _, ok := s.LookupKey("AKIAROOTEXAMPLE00001")
	if !ok || !root.Root || root.ARN != "arn:aws:iam::123456789012:root" {
		t.Fatalf("root: %+v", root)
	}
	role, ok := s.Role("arn:aws:iam::123456789012:role/cloudwatch-sender")
	if !ok || role.MaxSessionDuration.Seconds() != 3600 || !strings.HasPrefix(role.RoleID, "AROA") {
		t.Fatalf("role: %+v", role)
	}
	if !role.TrustAllows(&Context{PrincipalARN: id.ARN, CallerARN: id.ARN, PrincipalAccount: id.Account}, id.Rights()) {
		t.Fatal("jenkins cannot assume the role")
	}
	if strings.Contains(fmt.Sprintf("%v %+v", s, s), "secret") {
		t.Fatal("store formats a secret")
	}
}

func TestParseFileJSON(t *testing.T) {
	s, err := ParseFile([]byte(`{"accounts":[{"id":"000000000001","users":[{"name":"u","accessKeys":[{"id":"AKIA0000000000000001","secret":"0123456789abcdef"}],
		"policies":[{"name":"p","document":{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"logs:*","Resource":"*"}}}]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	id, _, ok := s.LookupKey("AKIA0000000000000001")
	if !ok || len(id.Policies) != 1 || id.Account != "000000000001" {
		t.Fatalf("%+v", id)
	}
}

func TestParseFileUnquotedVersion(t *testing.T) {
	s, err := ParseFile([]byte(`
accounts:
  - id: "123456789012"
    users:
      - name: u
        policies:
          - name: p
            document:
              Version: 2012-10-17
              Statement: {Effect: Allow, Action: "logs:*", Resource: "*"}
`))
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := s.Identity(UserARN("123456789012", "u")); id.Policies[0].Version != "2012-10-17" {
		t.Fatalf("version %q", id.Policies[0].Version)
	}
}

func TestParseFileErrors(t *testing.T) {
	const user = `
accounts:
  - id: "123456789012"
    users:
      - name: u
        accessKeys: [{id: AKIAAAAAAAAAAAAAAAAA, secret: 0123456789abcdef}]
`
	f := func(doc, want string) {
		t.Helper()
		_, err := ParseFile([]byte(doc))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want %q", err, want)
		}
	}
	f(`accounts: []`, "accounts: at least one account")
	f(`acounts: []`, "field acounts not found")
	f(`accounts: [{id: "12345"}]`, `accounts[0].id: "12345" is not a 12-digit account id`)
	f(`accounts: [{id: "123456789012"}, {id: "123456789012"}]`, "accounts[1].id: account 123456789012 is listed twice")
	f(user+`      - name: "bad name"`, `accounts[0].users[1].name: "bad name" must be`)
	f(user+`      - name: u`, "accounts[0].users[1].name: user u is listed twice")
	f(user+`      - {name: v, accessKeys: [{id: AKIAAAAAAAAAAAAAAAAA, secret: 0123456789abcdef}]}`, "accounts[0].users[1].accessKeys[0].id: access key AKIAAAAAAAAAAAAAAAAA is used twice")
	f(user+`      - {name: v, accessKeys: [{id: akia, secret: 0123456789abcdef}]}`, "accounts[0].users[1].accessKeys[0].id")
	f(user+`      - {name: v, accessKeys: [{id: ASIAAAAAAAAAAAAAAAAA, secret: 0123456789abcdef}]}`, "reserved for temporary credentials")
	f(user+`      - {name: v, accessKeys: [{id: AKIABBBBBBBBBBBBBBBB, secret: short}]}`, "accounts[0].users[1].accessKeys[0].secret")
	f(user+`        policies: [{name: p, document: {Statement: {Effect: Allow, Action: "logs:*"}}}]`,
		"accounts[0].users[0].policies[0].document: MalformedPolicyDocument: Statement 0: Policy statement must contain resources.")
	f(user+`        policies: [{name: p, document: "{not json"}]`, "accounts[0].users[0].policies[0].document: MalformedPolicyDocument: Syntax errors")
	f(user+`        policies: [{document: {}}]`, "accounts[0].users[0].policies[0].name")
	f(user+`    roles: [{name: r}]`, "accounts[0].roles[0].trustPolicy: a role needs a trust policy")
	f(user+`    roles: [{name: r, maxSessionDuration: 60, trustPolicy: {}}]`, "accounts[0].roles[0].maxSessionDuration: 60")
	f(user+`    roles: [{name: r, trustPolicy: {Statement: {Effect: Allow, Action: "sts:AssumeRole"}}}]`, "accounts[0].roles[0].trustPolicy: MalformedPolicyDocument: Statement 0: Missing required field Principal")
	// An alias inside its own anchor overflowed the stack (a fatal error, not
	// a panic: a SIGHUP reload of such a file killed the server), and
	// doubling aliases expanded without bound.
	f(user+`        policies: [{name: p, document: &x {Statement: [*x]}}]`, "parse: line 7: alias *x is inside its own anchor")
	laughs := "        policies:\n          - name: p\n            document:\n              l0: &l0 [x, x, x, x, x, x, x, x]\n"
	for i := 1; i <= 6; i++ {
		laughs += fmt.Sprintf("              l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	f(user+laughs, "parse: line 10: policy document expands to more than 16384 values")
}

// An alias used more than once, within the bound, is still a way to share a
// statement between policies.
func TestParseFileAliases(t *testing.T) {
	s, err := ParseFile([]byte(`
accounts:
  - id: "123456789012"
    users:
      - name: u
        policies:
          - {name: a, document: {Statement: [&read {Effect: Allow, Action: "logs:Get*", Resource: "*"}]}}
          - {name: b, document: {Statement: [*read, *read]}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := s.Identity(UserARN("123456789012", "u")); len(id.Policies) != 2 {
		t.Fatalf("policies %v", id.Policies)
	}
}

func TestEnsureRootCredentials(t *testing.T) {
	dir := t.TempDir()
	s, created, err := EnsureRootCredentials(dir, "123456789012")
	if err != nil || !created {
		t.Fatalf("first start: %v %v", created, err)
	}
	path := filepath.Join(dir, "credentials")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v %v", fi.Mode(), err)
	}
	data, _ := os.ReadFile(path)
	m := regexp.MustCompile(`^\[default\]\naws_access_key_id = (AKIA[A-Z2-7]{16})\naws_secret_access_key = ([A-Za-z0-9+/]{40})\n$`).FindStringSubmatch(string(data))
	if m == nil {
		t.Fatalf("file content: %q", data)
	}
	id, secret, ok := s.LookupKey(m[1])
	if !ok || secret != m[2] || !id.Root || id.ARN != "arn:aws:iam::123456789012:root" {
		t.Fatalf("store: %+v", id)
	}

	s2, created, err := EnsureRootCredentials(dir, "123456789012")
	if err != nil || created {
		t.Fatalf("second start: %v %v", created, err)
	}
	if _, secret2, ok := s2.LookupKey(m[1]); !ok || secret2 != secret {
		t.Fatal("second start did not reuse the key")
	}

	os.Chmod(path, 0o644)
	if _, _, err := EnsureRootCredentials(dir, "123456789012"); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("readable file: %v", err)
	}
	if _, _, err := EnsureRootCredentials(t.TempDir(), "12"); err == nil {
		t.Fatal("bad account accepted")
	}
}

func TestHolderReload(t *testing.T) {
	good, err := NewRootStore("123456789012", "AKIAAAAAAAAAAAAAAAAA", "0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	h := NewHolder(good)
	if err := h.Reload(func() (*Store, error) { return nil, errors.New("broken file") }); err == nil || h.Load() != good {
		t.Fatal("a failed reload replaced the store")
	}
	next, _ := NewRootStore("123456789012", "AKIABBBBBBBBBBBBBBBB", "0123456789abcdef")
	if err := h.Reload(func() (*Store, error) { return next, nil }); err != nil || h.Load() != next {
		t.Fatal("reload did not install the new store")
	}
}

// TestFileModeRefused: the IAM file holds secret keys; a file other users can
// read or write is refused with the credentials file's wording, whatever the
// umask made it, and accepted once it is private.
func TestFileModeRefused(t *testing.T) {
	path := privateCopy(t, "../../docs/iam-example.yaml")
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o620, 0o602, 0o666} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadFile(path)
		want := fmt.Sprintf("IAM file %s is accessible by other users (mode %04o); run chmod 600 on it", path, mode)
		if err == nil || err.Error() != want {
			t.Errorf("mode %04o: got %v, want %q", mode, err, want)
		}
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		os.Chmod(path, mode)
		if _, err := LoadFile(path); err != nil {
			t.Errorf("mode %04o: %v", mode, err)
		}
	}
}
