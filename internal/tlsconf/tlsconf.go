// Package tlsconf holds the server side of Cairn's TLS: the certificate
// pair the listener serves, loaded from PEM files or generated as a
// self-signed pair in the data directory, and the rule for when plain HTTP
// is allowed.
//
// Data flows one way: files on disk → Load/Reload parse and check the pair →
// an atomic pointer → tls.Config.GetCertificate, which every new handshake
// calls. A reload therefore affects new connections only; connections
// already established keep the certificate they were opened with, as with
// any TLS server. A pair that fails to load is refused and the one in force
// stays.
package tlsconf

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Certificate is the pair a TLS listener serves; Reload swaps it.
type Certificate struct {
	certFile, keyFile string
	cur               atomic.Pointer[pair]
}

// pair is one loaded certificate with what is logged about it.
type pair struct {
	cert        *tls.Certificate
	fingerprint string
}

// Load reads a PEM certificate (chain, leaf first) and its PEM private key.
func Load(certFile, keyFile string) (*Certificate, error) {
	c := &Certificate{certFile: certFile, keyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload re-reads the files. On error the pair in force stays and the error
// says why the new one was refused.
func (c *Certificate) Reload() error {
	p, err := loadPair(c.certFile, c.keyFile)
	if err != nil {
		return err
	}
	c.cur.Store(p)
	return nil
}

// CertFile is the certificate's path (what clients are told to trust when
// it is self-signed).
func (c *Certificate) CertFile() string { return c.certFile }

// Fingerprint is the SHA-256 fingerprint of the leaf certificate in force,
// in the form `openssl x509 -noout -fingerprint -sha256` prints.
func (c *Certificate) Fingerprint() string { return c.cur.Load().fingerprint }

// ServerConfig is the tls.Config for the listener: TLS 1.2 or later, the
// certificate in force at each handshake, HTTP/1.1 only.
func (c *Certificate) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cur.Load().cert, nil
		},
		// HTTP/2 is not offered: the API's clients speak HTTP/1.1 to
		// CloudWatch Logs, and the server's body limits, timeouts and the
		// SDK workarounds in internal/awsclient are made for HTTP/1.1.
		NextProtos: []string{"http/1.1"},
	}
}

func loadPair(certFile, keyFile string) (*pair, error) {
	if err := checkKeyMode(keyFile, 0o007); err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	leaf := cert.Leaf
	if leaf == nil { // LoadX509KeyPair fills Leaf since Go 1.23; be safe anyway
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("TLS certificate %s: %w", certFile, err)
		}
		cert.Leaf = leaf
	}
	return &pair{cert: &cert, fingerprint: Fingerprint(leaf.Raw)}, nil
}

// checkKeyMode refuses a private key file whose mode has any of the bits in
// forbidden. A key given by the user may be group-readable (Debian's
// ssl-cert group holds keys 0640) but never world-readable; the key Cairn
// writes itself must be private to its user.
func checkKeyMode(path string, forbidden os.FileMode) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("TLS key: %w", err)
	}
	if fi.Mode().Perm()&forbidden != 0 {
		want := "640"
		if forbidden&0o070 != 0 {
			want = "600"
		}
		return fmt.Errorf("TLS key %s is accessible by other users (mode %04o); run chmod %s on it", path, fi.Mode().Perm(), want)
	}
	return nil
}

// Fingerprint is the SHA-256 of a DER certificate as colon-separated
// upper-case hex bytes.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// IsLoopback reports whether a listen address (host:port) binds loopback
// only: an address in 127.0.0.0/8, ::1, or the name localhost. An empty or
// unspecified host (":4588", "0.0.0.0:4588") binds every interface.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// CheckPlainHTTP enforces that plain HTTP carries SigV4 requests only on
// loopback unless allowed: SigV4 keeps secrets off the wire but not the log
// events, session tokens or STS credentials a response carries, and it
// does not stop a captured request being replayed within 15 minutes.
func CheckPlainHTTP(listen string, allow bool) error {
	if allow || IsLoopback(listen) {
		return nil
	}
	return fmt.Errorf("refusing plain HTTP on %q, which is not a loopback address: requests, credentials from STS and log events "+
		"would cross the network unencrypted. Serve HTTPS (--tls-cert and --tls-key, or --tls-self-signed), listen on loopback, "+
		"or pass --insecure-http if something in front of Cairn provides TLS", listen)
}

// CheckProfilerListen enforces that the profiler listens on loopback only:
// a profile or goroutine dump can reveal log contents and credentials, and
// the profiler has no authentication.
func CheckProfilerListen(listen string) error {
	if IsLoopback(listen) {
		return nil
	}
	return fmt.Errorf("the profiler has no authentication and may only listen on a loopback address (127.0.0.1, [::1], localhost), not %q", listen)
}

// IsLoopbackRemote reports whether a request's remote address (host:port,
// as net/http gives it) is a loopback address.
func IsLoopbackRemote(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// expiresSoon reports whether a certificate is no longer valid at
// now+margin.
func expiresSoon(c *x509.Certificate, now time.Time, margin time.Duration) bool {
	return now.Add(margin).After(c.NotAfter) || now.Before(c.NotBefore)
}
