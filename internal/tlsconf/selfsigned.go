package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// File names of the self-signed pair in the data directory.
const (
	SelfSignedCertName = "tls-cert.pem"
	SelfSignedKeyName  = "tls-key.pem"
)

const (
	// selfSignedValidity is 825 days: the longest validity Apple's
	// platforms accept for a TLS server certificate, so a pair trusted by
	// hand works on every client; long enough not to be renewed often.
	selfSignedValidity = 825 * 24 * time.Hour
	// renewBefore: a pair with less left than this is replaced at start,
	// so a server restarted now and then never serves an expired one.
	renewBefore = 30 * 24 * time.Hour
)

// SelfSigned is the outcome of EnsureSelfSigned.
type SelfSigned struct {
	CertFile, KeyFile string
	// Created says whether this call generated the pair (first start, an
	// expiring pair, or a host the old pair did not name).
	Created bool
}

// EnsureSelfSigned returns the self-signed pair in dir, generating it when
// there is none, when it expires within 30 days, or when it does not name
// every host in hosts. The certificate names localhost, 127.0.0.1 and ::1
// besides hosts (IP addresses or DNS names; empty and unspecified ones are
// skipped). The key is ECDSA P-256, written 0600; the certificate is its
// own issuer, so clients trust it by adding the certificate file to their
// CA bundle.
func EnsureSelfSigned(dir string, hosts []string, now time.Time) (SelfSigned, error) {
	out := SelfSigned{CertFile: filepath.Join(dir, SelfSignedCertName), KeyFile: filepath.Join(dir, SelfSignedKeyName)}
	dnsNames, ips := sanList(hosts)
	old, err := readCert(out.CertFile)
	switch {
	case err == nil:
		if err := checkKeyMode(out.KeyFile, 0o077); err != nil {
			return out, err
		}
		// A pair that does not load (a crash between writing the key and
		// the certificate) is replaced like an expiring one.
		_, loadErr := loadPair(out.CertFile, out.KeyFile)
		if loadErr == nil && !expiresSoon(old, now, renewBefore) && covers(old, dnsNames, ips) {
			return out, nil
		}
	case !errors.Is(err, fs.ErrNotExist):
		return out, err
	}
	if err := generate(out, dnsNames, ips, now); err != nil {
		return out, err
	}
	out.Created = true
	return out, nil
}

// sanList is the subject alternative names for hosts, loopback first.
func sanList(hosts []string) ([]string, []net.IP) {
	dnsNames := []string{"localhost"}
	ips := []net.IP{net.IPv4(127, 0, 0, 1).To4(), net.IPv6loopback}
	for _, h := range hosts {
		if h == "" {
			continue
		}
		if a, err := netip.ParseAddr(h); err == nil {
			a = a.Unmap()
			if a.IsUnspecified() {
				continue
			}
			ip := net.IP(a.AsSlice())
			if !slices.ContainsFunc(ips, ip.Equal) {
				ips = append(ips, ip)
			}
			continue
		}
		if !slices.Contains(dnsNames, h) {
			dnsNames = append(dnsNames, h)
		}
	}
	return dnsNames, ips
}

func covers(c *x509.Certificate, dnsNames []string, ips []net.IP) bool {
	for _, n := range dnsNames {
		if !slices.Contains(c.DNSNames, n) {
			return false
		}
	}
	for _, ip := range ips {
		if !slices.ContainsFunc(c.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

func readCert(path string) (*x509.Certificate, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("TLS certificate %s: no PEM certificate in it", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s: %w", path, err)
	}
	return c, nil
}

func generate(out SelfSigned, dnsNames []string, ips []net.IP, now time.Time) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	// The subject key id is the SHA-1 of the public key, the usual method
	// (RFC 5280 §4.2.1.2); it is an identifier, not a security property.
	ski := sha1.Sum(pub)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"Cairn"}, CommonName: "Cairn self-signed " + dnsNames[len(dnsNames)-1]},
		// An hour back tolerates clients whose clocks lag the server's.
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(selfSignedValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     dnsNames,
		IPAddresses:  ips,
		SubjectKeyId: ski[:],
		// A leaf, not a CA: trusting it lets a client trust this server
		// and nothing else, even if the key leaks.
		BasicConstraintsValid: true,
		IsCA:                  false,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	// Key first: a certificate without its key on disk would be reused
	// on the next start and fail to load.
	if err := writeFileAtomic(out.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return writeFileAtomic(out.CertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// writeFileAtomic writes data to a temporary file in the same directory,
// syncs it, and renames it over path, so a crash leaves the old file or
// the new one, never half of one.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // fails harmlessly after the rename
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
