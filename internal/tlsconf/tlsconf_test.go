package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSelfSigned: the generated pair is ECDSA P-256, names loopback and the
// listen host, is valid now and for 825 days, and verifies as its own
// trust anchor for each name; the key is 0600.
func TestSelfSigned(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	ss, err := EnsureSelfSigned(dir, []string{"logs.example.test", "192.0.2.10", "0.0.0.0", ""}, now)
	if err != nil || !ss.Created {
		t.Fatalf("%+v %v", ss, err)
	}
	c, err := readCert(ss.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Fatalf("key %T", c.PublicKey)
	}
	if c.IsCA || c.NotAfter.Sub(now) < 824*24*time.Hour || c.NotAfter.Sub(now) > 826*24*time.Hour || c.NotBefore.After(now) {
		t.Fatalf("IsCA %v, valid %v – %v", c.IsCA, c.NotBefore, c.NotAfter)
	}
	roots := x509.NewCertPool()
	roots.AddCert(c)
	for _, name := range []string{"localhost", "127.0.0.1", "::1", "logs.example.test", "192.0.2.10"} {
		if _, err := c.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: now}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, ip := range c.IPAddresses {
		if ip.IsUnspecified() {
			t.Errorf("names the unspecified address %v", ip)
		}
	}
	if fi, err := os.Stat(ss.KeyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key mode: %v %v", fi, err)
	}
	if _, err := Load(ss.CertFile, ss.KeyFile); err != nil {
		t.Fatal(err)
	}
}

// TestSelfSignedReuse: a later start reuses the pair; it is replaced when it
// is about to expire, when a new listen host is not among its names, or
// when certificate and key do not match; a key others can read is refused.
func TestSelfSignedReuse(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	first := mustEnsure(t, dir, []string{"a.test"}, now)
	fp := fingerprintOf(t, first.CertFile)
	f := func(hosts []string, at time.Time, wantCreated bool) {
		t.Helper()
		ss := mustEnsure(t, dir, hosts, at)
		if ss.Created != wantCreated {
			t.Fatalf("hosts %v at %v: created %v, want %v", hosts, at, ss.Created, wantCreated)
		}
		if got := fingerprintOf(t, ss.CertFile); (got != fp) != wantCreated {
			t.Fatalf("fingerprint %s (was %s), created %v", got, fp, wantCreated)
		}
		fp = fingerprintOf(t, ss.CertFile)
	}
	f([]string{"a.test"}, now, false)
	f(nil, now.Add(24*time.Hour), false)                   // fewer hosts are covered
	f([]string{"a.test"}, now.Add(800*24*time.Hour), true) // 25 days left
	f([]string{"b.test"}, now.Add(800*24*time.Hour), true) // a new host

	// A crash between writing the key and the certificate: mismatched pair.
	other := mustEnsure(t, t.TempDir(), []string{"b.test"}, now)
	key, err := os.ReadFile(other.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, SelfSignedKeyName), key, 0o600); err != nil {
		t.Fatal(err)
	}
	f([]string{"b.test"}, now.Add(800*24*time.Hour), true)

	os.Chmod(filepath.Join(dir, SelfSignedKeyName), 0o640)
	if _, err := EnsureSelfSigned(dir, nil, now); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("group-readable generated key: %v", err)
	}
}

func mustEnsure(t *testing.T, dir string, hosts []string, now time.Time) SelfSigned {
	t.Helper()
	ss, err := EnsureSelfSigned(dir, hosts, now)
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

func fingerprintOf(t *testing.T, certFile string) string {
	t.Helper()
	c, err := readCert(certFile)
	if err != nil {
		t.Fatal(err)
	}
	return Fingerprint(c.Raw)
}

func TestFingerprint(t *testing.T) {
	got := Fingerprint([]byte("abc"))
	// SHA-256("abc") = ba7816bf...
	if !strings.HasPrefix(got, "BA:78:16:BF:") || len(got) != 32*3-1 {
		t.Fatalf("%s", got)
	}
}

func TestLoopbackRules(t *testing.T) {
	f := func(listen string, loopback bool) {
		t.Helper()
		if got := IsLoopback(listen); got != loopback {
			t.Errorf("IsLoopback(%q) = %v", listen, got)
		}
		if err := CheckPlainHTTP(listen, false); (err == nil) != loopback {
			t.Errorf("CheckPlainHTTP(%q): %v", listen, err)
		}
		if err := CheckPlainHTTP(listen, true); err != nil {
			t.Errorf("CheckPlainHTTP(%q, allowed): %v", listen, err)
		}
		if err := CheckProfilerListen(listen); (err == nil) != loopback {
			t.Errorf("CheckProfilerListen(%q): %v", listen, err)
		}
	}
	f("127.0.0.1:4588", true)
	f("127.1.2.3:0", true)
	f("[::1]:4588", true)
	f("localhost:4588", true)
	f("[::ffff:127.0.0.1]:1", true)
	f("0.0.0.0:4588", false)
	f(":4588", false)
	f("[::]:4588", false)
	f("192.0.2.1:4588", false)
	f("logs.example.test:4588", false)
	f("no-port", false)
	if IsLoopbackRemote("localhost:1") || !IsLoopbackRemote("127.0.0.1:1") || IsLoopbackRemote(net.JoinHostPort("192.0.2.1", "1")) {
		t.Error("IsLoopbackRemote")
	}
}
