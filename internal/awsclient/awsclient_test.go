package awsclient

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnlog/cairn/internal/tlsconf"
)

// TestReadCABundle: a bundle must hold at least one certificate, and every
// certificate in it must parse; other PEM blocks are skipped.
func TestReadCABundle(t *testing.T) {
	ss, err := tlsconf.EnsureSelfSigned(t.TempDir(), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := os.ReadFile(ss.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := func(content string, wantErr string) {
		t.Helper()
		p := filepath.Join(dir, "bundle.pem")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		raw, err := ReadCABundle(p)
		if wantErr == "" {
			if err != nil {
				t.Fatalf("%q: %v", content, err)
			}
			if _, err := HTTPClientWithCA(raw); err != nil {
				t.Fatal(err)
			}
			return
		}
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("%.40q: %v, want %q", content, err, wantErr)
		}
	}
	f(string(cert), "")
	f("# my bundle\n"+string(cert)+"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "")
	f("", "no PEM certificate")
	f("hello", "no PEM certificate")
	f("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "certificate 1")
	if _, err := ReadCABundle(filepath.Join(dir, "missing.pem")); err == nil {
		t.Fatal("a missing file was accepted")
	}
}
