package dataprotect

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cairnlog/cairn/internal/bench"
)

// samePass checks that the single pass and the oracle give the same masked
// message and the same detections, in the same order, for policy p.
func samePass(t testing.TB, p *Policy, msg string) {
	t.Helper()
	got, gotDets := Compile(p).Mask(msg)
	want, wantDets := compileOracle(p).Mask(msg)
	if got != want || !slices.Equal(gotDets, wantDets) {
		t.Fatalf("identifiers %v on %q:\nsingle pass %q %v\noracle      %q %v", p.Identifiers, msg, got, gotDets, want, wantDets)
	}
	samePaths(t, Compile(p), msg)
}

// policyFrom picks identifiers from bits, in an order rotated by rot, and a
// custom identifier when bit 15 is set: the single pass must agree with the
// oracle whatever the subset and the order (the order is the detections').
func policyFrom(bits uint16, rot uint8) *Policy {
	var ids []string
	for i, n := range managedNames {
		if bits&(1<<i) != 0 {
			ids = append(ids, n)
		}
	}
	if len(ids) > 0 {
		k := int(rot) % len(ids)
		ids = append(ids[k:], ids[:k]...)
	}
	p := &Policy{Identifiers: ids, Custom: map[string]*regexp.Regexp{}}
	if bits&(1<<15) != 0 {
		p.Custom["Order"] = regexp.MustCompile(`ord-[0-9]{3}`)
		p.Identifiers = append([]string{"Order"}, p.Identifiers...)
	}
	return p
}

var singlePassCases = []string{
	"", "plain text", "mail a@example.com and b.c@d.example.org.", "@", "x@y", ".a@b.cc",
	"4111 1111 1111 1111", "4111-1111-1111-1111x", "card 5500000000000004 and 378282246310005, 30569309025904",
	"ts 1700000000000 and 4111111111111111111111", "10.1.2.3 and 256.1.1.1 and 1.2.3.4.5 and v1.2.3.4 and 192.168.0.1.",
	"HTTP/1.1 0.057 1.22.3.4 1.222.3.4 1.2222.3.4 12.3.45.6 1.2.3 1.2. 9.99.999.9 1.1.1.1", "1.2.3.4", "1.2.3.", "1.",
	"fe80::1 ::1 2001:db8::ff00:42:8329 from fe80::1: refused 12:34:56 ::", "a:b::c 1::2::3 ::ffff:10.0.0.1",
	"- 123-45-6789 a-123-45-6789 -123-45-6789 2026-11-22 123-45-6789 000-12-3456 666-12-3456 900-12-3456 123-00-4567 123-45-0000 1123-45-6789 123-45-67890",
	"AKIAIOSFODNN7EXAMPLE ASIAIOSFODNN7EXAMPL1 xAKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPLEx",
	"token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig and eyJa.eyJb. and xeyJa.eyJb.c and eyJa.eyJb.c.d",
	"-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY----- -----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl",
	"-----BEGIN PGP PRIVATE KEY BLOCK-----\nx\n-----END PGP PRIVATE KEY BLOCK----- -----BEGIN CERTIFICATE-----",
	"-----BEGIN PRIVATE KEY----------BEGIN ENCRYPTED PRIVATE KEY-----",
	"PuTTY-User-Key-File-3: ssh-ed25519\nPrivate-MAC: 0a1b2c PuTTY-User-Key-File-2: x",
	"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "SECRET KEY wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	"Credentials: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY=", "ſecret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	"ord-123 at 10.0.0.1 by a@b.co ord-12", "é@ex.com 1.2.3.4é ünïcödé 4111 1111 1111 1111 ✓",
	"\xff\xfe1.2.3.4\xff a@b.c\x80om",
	"2026-11-22T05:09:14 ::1 and T05:09:14.002Z fe80::1, x::1 T1:2:3:4:5:6:7:8 g1:2::3 1:2::3 T05:09:14:: ::",
}

// TestSinglePassGolden: the hand-written cases and the standard benchmark
// lines, every identifier alone and all together, in two orders.
func TestSinglePassGolden(t *testing.T) {
	g := bench.NewLineGen(42)
	msgs := slices.Clone(singlePassCases)
	for range 2000 {
		msgs = append(msgs, g.Line())
	}
	for _, msg := range msgs {
		for i := range managedNames {
			samePass(t, policyFrom(1<<i, 0), msg)
		}
		samePass(t, policyFrom(1<<numManaged-1, 0), msg)
		samePass(t, policyFrom(1<<numManaged-1|1<<15, 5), msg)
	}
}

// FuzzSinglePass: on any message, for any subset and order of identifiers,
// the single pass masks and reports exactly what the per-identifier
// detectors do.
func FuzzSinglePass(f *testing.F) {
	for i, s := range singlePassCases {
		f.Add(s, uint16(1<<numManaged-1), uint8(i))
		f.Add(s, uint16(1<<(i%int(numManaged))|1<<15), uint8(0))
	}
	f.Fuzz(func(t *testing.T, msg string, bits uint16, rot uint8) {
		samePass(t, policyFrom(bits, rot), msg)
	})
}

// TestAppendMasked: AppendMasked masks and reports exactly what Mask does,
// with one Scratch and one buffer shared by the messages of a batch, and
// leaves the buffer as it was when nothing is found.
func TestAppendMasked(t *testing.T) {
	g := bench.NewLineGen(7)
	msgs := slices.Clone(singlePassCases)
	for range 500 {
		msgs = append(msgs, g.Line())
	}
	for _, p := range []*Policy{policyFrom(1<<numManaged-1, 0), policyFrom(1<<numManaged-1|1<<15, 3), policyFrom(1<<idIPAddress|1<<idEmailAddress, 1)} {
		m := Compile(p)
		var sc Scratch
		buf := []byte("batch:")
		for _, msg := range msgs {
			want, wantDets := m.Mask(msg)
			for _, withDets := range []bool{true, false} {
				before := len(buf)
				var ok bool
				var dets []Detection
				buf, ok, dets = m.AppendMasked(buf, &sc, msg, withDets)
				if ok != (wantDets != nil) {
					t.Fatalf("%q: found %v, Mask found %v", msg, ok, wantDets)
				}
				if !ok {
					if len(buf) != before {
						t.Fatalf("%q: nothing found but the buffer grew", msg)
					}
					continue
				}
				if got := string(buf[before:]); got != want {
					t.Fatalf("%q: masked %q, Mask %q", msg, got, want)
				}
				if withDets && !slices.Equal(dets, wantDets) || !withDets && dets != nil {
					t.Fatalf("%q (detections %v): %v, Mask %v", msg, withDets, dets, wantDets)
				}
			}
		}
		if string(buf[:6]) != "batch:" {
			t.Fatalf("the buffer's start changed: %q", buf[:6])
		}
	}
}

// plantedSecrets are one match of each managed identifier (and a near
// miss or two), planted into the standard benchmark lines by TestPlanted
// and FuzzPlanted.
var plantedSecrets = []string{
	"AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPL1", "a.b@example.com", "x@y.co", "4111 1111 1111 1111", "5500-0000-0000-0004",
	"378282246310005", "4111111111111112", "10.1.2.3", "192.168.0.1", "fe80::1", "2001:db8::ff00:42:8329", "::ffff:10.0.0.1",
	"123-45-6789", "000-12-3456", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
	"-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl",
	"-----BEGIN PGP PRIVATE KEY BLOCK-----\nx\n-----END PGP PRIVATE KEY BLOCK-----",
	"PuTTY-User-Key-File-3: ssh-ed25519\nPrivate-MAC: 0a1b2c", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	"Credentials: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "1700000000000",
	// Around the colon shortcut (colonNear): full forms whose colons are
	// five bytes apart, compressions, a zone, IPv4-mapped and IPv4-tailed
	// forms, and the near misses: times of day, a port, a JSON number,
	// a group too long, versions.
	"2001:0db8:85a3:0000:0000:8a2e:0370:7334", "abcd:ef01:2345:6789:abcd:ef01:2345:6789", "::1", "fe80::1%eth0",
	"::ffff:1.2.3.4", "1:2:3:4:5:6:1.2.3.4", "fe80::1:", "12:34:56", "05:09:14.002", "10.0.0.1:8080", "\"user\":99423",
	"12345:1::2", "abcd:ef012::1", "v1.2.3", "1.2.3.4.5", "a:b",
	// Around the refusal of a run after a letter (ipv6's v6refused).
	"T05:09:14 ::1", "x::1", "T1:2:3:4:5:6:7:8", "05:09:14.002Z fe80::1", "g1:2::3 1:2::3",
}

// plant puts secret into line at byte k (modulo the line's length + 1).
func plant(line, secret string, k int) string {
	k %= len(line) + 1
	return line[:k] + secret + line[k:]
}

// TestPlanted: each planted secret, in every standard benchmark line of a
// sample at a place of its own, with every identifier on (and in two
// orders): the single pass finds what the per-identifier detectors find.
// And the test can fail: a secret planted between spaces is masked.
func TestPlanted(t *testing.T) {
	g := bench.NewLineGen(13)
	all := policyFrom(1<<numManaged-1, 0)
	m := Compile(all)
	for i := range 3000 {
		line := g.Line()
		secret := plantedSecrets[i%len(plantedSecrets)]
		msg := plant(line, secret, i*7)
		samePass(t, all, msg)
		samePass(t, policyFrom(1<<numManaged-1|1<<15, uint8(i)), msg)
		samePass(t, policyFrom(uint16(i*2654435761>>7), uint8(i)), msg)
		if secret == "a.b@example.com" || secret == "10.1.2.3" || secret == "2001:0db8:85a3:0000:0000:8a2e:0370:7334" {
			if got, _ := m.Mask(line + " " + secret + " "); strings.Contains(got, secret) {
				t.Fatalf("%q not masked in %q", secret, got)
			}
		}
	}
}

// FuzzPlanted: a secret planted anywhere in a benchmark line, the line and
// the secret then mutated: the single pass finds exactly what the
// per-identifier detectors find, for any subset and order of identifiers.
func FuzzPlanted(f *testing.F) {
	g := bench.NewLineGen(99)
	for i, s := range plantedSecrets {
		f.Add(g.Line(), s, uint16(i*13), uint16(1<<numManaged-1), uint8(i))
	}
	f.Fuzz(func(t *testing.T, line, secret string, k, bits uint16, rot uint8) {
		samePass(t, policyFrom(bits, rot), plant(line, secret, int(k)))
	})
}
