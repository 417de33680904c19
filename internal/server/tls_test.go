package server_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cairnlog/cairn/internal/awsclient"
	"github.com/cairnlog/cairn/internal/server"
	"github.com/cairnlog/cairn/internal/tlsconf"

	"github.com/cairnlog/cairn/internal/harness"
)

// servedFingerprint opens a new TLS connection trusting roots and returns
// the fingerprint of the certificate the server presented.
func servedFingerprint(t testing.TB, addr string, roots *x509.CertPool) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return tlsconf.Fingerprint(conn.ConnectionState().PeerCertificates[0].Raw)
}

func poolOf(t testing.TB, certFiles ...string) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	for _, f := range certFiles {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !pool.AppendCertsFromPEM(raw) {
			t.Fatalf("%s: no certificate", f)
		}
	}
	return pool
}

// TestTLSSelfSigned: a SigV4 server with a generated pair serves HTTPS; the
// SDK trusting the certificate file works, the SDK with the system's roots
// fails; the key is private; a restart reuses the pair.
func TestTLSSelfSigned(t *testing.T) {
	s := harness.Start(t, harness.Configure(func(c *server.Config) { c.TLSSelfSigned = true }))
	dir := s.Dir
	if !strings.HasPrefix(s.URL(), "https://127.0.0.1:") {
		t.Fatalf("URL %q, want https://127.0.0.1:PORT", s.URL())
	}
	info := s.TLS()
	if !info.Enabled || !info.SelfSigned || !info.Created || info.CertFile != filepath.Join(dir, tlsconf.SelfSignedCertName) {
		t.Fatalf("TLS info %+v", info)
	}
	if fi, err := os.Stat(filepath.Join(dir, tlsconf.SelfSignedKeyName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if got := servedFingerprint(t, s.Addr(), poolOf(t, info.CertFile)); got != info.Fingerprint {
		t.Fatalf("served %s, logged %s", got, info.Fingerprint)
	}
	pem, err := awsclient.ReadCABundle(info.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	trusting, err := awsclient.HTTPClientWithCA(pem)
	if err != nil {
		t.Fatal(err)
	}
	client := func(hc cwl.HTTPClient) *cwl.Client {
		return s.ClientAs(s.Creds, "eu-west-1", func(o *cwl.Options) { o.HTTPClient = hc })
	}
	ctx := context.Background()
	if _, err := client(trusting).CreateLogGroup(ctx, &cwl.CreateLogGroupInput{LogGroupName: aws.String("over-tls")}); err != nil {
		t.Fatal(err)
	}
	out, err := client(trusting).DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
	if err != nil || len(out.LogGroups) != 1 || *out.LogGroups[0].LogGroupName != "over-tls" {
		t.Fatalf("describe over TLS: %+v %v", out, err)
	}
	_, err = client(awsclient.HTTPClient()).DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("without the CA file: %v, want an unknown-authority error", err)
	}
	// TLS 1.1 is refused.
	if c, err := tls.Dial("tcp", s.Addr(), &tls.Config{RootCAs: poolOf(t, info.CertFile), MaxVersion: tls.VersionTLS11}); err == nil {
		c.Close()
		t.Fatal("a TLS 1.1 handshake succeeded")
	}
	// Only HTTP/1.1 is offered.
	c, err := tls.Dial("tcp", s.Addr(), &tls.Config{RootCAs: poolOf(t, info.CertFile), NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if p := c.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Errorf("negotiated %q, want http/1.1", p)
	}
	c.Close()

	// A second server on the same directory reuses the pair.
	s.Restart()
	if i2 := s.TLS(); i2.Created || i2.Fingerprint != info.Fingerprint {
		t.Fatalf("restart: %+v, want the pair %s reused", i2, info.Fingerprint)
	}
}

// TestTLSReload: ReloadTLS (SIGHUP) makes new handshakes present the new
// pair; a broken pair is refused and the one in force stays.
func TestTLSReload(t *testing.T) {
	now := time.Now()
	a, err := tlsconf.EnsureSelfSigned(t.TempDir(), nil, now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tlsconf.EnsureSelfSigned(t.TempDir(), nil, now)
	if err != nil {
		t.Fatal(err)
	}
	certDir := t.TempDir()
	certFile, keyFile := filepath.Join(certDir, "cert.pem"), filepath.Join(certDir, "key.pem")
	install := func(certPEM, keyPEM []byte) {
		t.Helper()
		if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	read := func(p string) []byte {
		t.Helper()
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	install(read(a.CertFile), read(a.KeyFile))
	s := harness.Start(t, harness.Configure(func(c *server.Config) { c.TLSCertFile, c.TLSKeyFile = certFile, keyFile }))
	roots := poolOf(t, a.CertFile, b.CertFile)
	fpA := servedFingerprint(t, s.Addr(), roots)
	if fpA != s.TLS().Fingerprint {
		t.Fatalf("served %s, reported %s", fpA, s.TLS().Fingerprint)
	}

	install(read(b.CertFile), read(b.KeyFile))
	if err := s.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	fpB := servedFingerprint(t, s.Addr(), roots)
	if fpB == fpA || fpB != s.TLS().Fingerprint {
		t.Fatalf("after reload: served %s (before %s), reported %s", fpB, fpA, s.TLS().Fingerprint)
	}

	// B's certificate with A's key, then garbage: both refused, B stays.
	install(read(b.CertFile), read(a.KeyFile))
	if err := s.ReloadTLS(); err == nil {
		t.Fatal("a certificate with another pair's key was accepted")
	}
	install([]byte("not a certificate"), read(b.KeyFile))
	if err := s.ReloadTLS(); err == nil {
		t.Fatal("a broken certificate was accepted")
	}
	if got := servedFingerprint(t, s.Addr(), roots); got != fpB {
		t.Fatalf("after refused reloads: served %s, want %s", got, fpB)
	}
	// A world-readable key is refused too.
	install(read(b.CertFile), read(b.KeyFile))
	os.Chmod(keyFile, 0o644)
	if err := s.ReloadTLS(); err == nil || !strings.Contains(err.Error(), "accessible by other users") {
		t.Fatalf("world-readable key: %v", err)
	}
}

// TestPlainHTTPRefusedOffLoopback: SigV4 over plain HTTP on an address other
// than loopback fails the start, before anything is written; with TLS the
// same address is not refused for that reason.
func TestPlainHTTPRefusedOffLoopback(t *testing.T) {
	for _, listen := range []string{"0.0.0.0:0", "[::]:0", ":0"} {
		dir := filepath.Join(t.TempDir(), "data")
		_, err := server.Start(server.Config{Listen: listen, DataDir: dir})
		if err == nil || !strings.Contains(err.Error(), "refusing plain HTTP") || !strings.Contains(err.Error(), "--insecure-http") {
			t.Fatalf("%s: %v", listen, err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s: the refused start created the data directory (%v)", listen, err)
		}
	}
	// Loopback plain HTTP with SigV4 is the default and works.
	s := harness.Start(t)
	if !strings.HasPrefix(s.URL(), "http://") || s.TLS().Enabled {
		t.Fatalf("loopback: %s %+v", s.URL(), s.TLS())
	}
}

// TestPprofLoopbackOnly: the profiler is served on its own loopback listener,
// not on the API listener; a non-loopback profiler address is refused, and
// a request from a non-loopback peer gets 403.
func TestPprofLoopbackOnly(t *testing.T) {
	s := harness.Start(t, harness.Configure(func(c *server.Config) { c.Pprof, c.PprofListen = true, "127.0.0.1:0" }))
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get(s.URL() + "/debug/pprof/goroutine?debug=1"); code == http.StatusOK || strings.Contains(body, "goroutine profile") {
		t.Fatalf("the API listener served the profiler: %d %.200s", code, body)
	}
	if s.PprofAddr() == "" || s.PprofAddr() == s.Addr() {
		t.Fatalf("profiler address %q (API %q)", s.PprofAddr(), s.Addr())
	}
	if code, body := get("http://" + s.PprofAddr() + "/debug/pprof/goroutine?debug=1"); code != http.StatusOK || !strings.Contains(body, "goroutine profile") {
		t.Fatalf("profiler on loopback: %d %.200s", code, body)
	}
	for _, listen := range []string{"0.0.0.0:0", ":0", "192.0.2.1:6060"} {
		_, err := server.Start(server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Pprof: true, PprofListen: listen})
		if err == nil || !strings.Contains(err.Error(), "profiler") {
			t.Fatalf("profiler on %s: %v", listen, err)
		}
	}

	// This machine gives tests no non-loopback peer, so the peer check is
	// exercised on the handler with the peer addresses net/http would set.
	h := server.LoopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "profile") }))
	f := func(remote string, want int) {
		t.Helper()
		r := httptest.NewRequest("GET", "/debug/pprof/", nil)
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("peer %s: %d, want %d", remote, w.Code, want)
		}
	}
	f("192.0.2.7:40000", http.StatusForbidden)
	f("[2001:db8::1]:40000", http.StatusForbidden)
	f("10.0.0.1:1", http.StatusForbidden)
	f("garbage", http.StatusForbidden)
	f("127.0.0.1:40000", http.StatusOK)
	f("127.9.9.9:40000", http.StatusOK)
	f("[::1]:40000", http.StatusOK)
	f("[::ffff:127.0.0.1]:40000", http.StatusOK)
}
