package dataprotect

// The oracle: the per-identifier detectors as they were before the single
// pass (scan.go), one scan of the message per identifier, and the Masker
// built on them. FuzzSinglePass and TestSinglePassGolden hold the single
// pass to exactly what these find. The validators the two share
// (parseIPv4, cardPrefix, luhn, findAWSSecretKeys...) are in detect.go.

import (
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"
)

// detectors are the per-identifier finders, by Id: each scans the whole
// message for its own trigger. The table is never written.
var detectors = map[string]finder{
	"AwsSecretKey":      findAWSSecretKeys,
	"AwsAccessKeyId":    findAccessKeyIDs,
	"EmailAddress":      findEmails,
	"CreditCardNumber":  findCardNumbers,
	"IpAddress":         findIPs,
	"Ssn-US":            findSSNs,
	"JsonWebToken":      findJWTs,
	"OpenSshPrivateKey": pemFinder(kindOpenSSH),
	"PgpPrivateKey":     pemFinder(kindPGP),
	"PkcsPrivateKey":    pemFinder(kindPKCS),
	"PuttyPrivateKey":   findPuttyKeys,
}

// findEmails finds local@domain.tld around each '@': a dotted domain whose
// last label is at least two letters.
func findEmails(s string, dst []span) []span {
	off := 0
	for {
		i := strings.IndexByte(s[off:], '@')
		if i < 0 {
			return dst
		}
		at := off + i
		l := at
		for l > 0 && isLocal(s[l-1]) {
			l--
		}
		for l < at && s[l] == '.' {
			l++
		}
		r := at + 1
		for r < len(s) && isDomain(s[r]) {
			r++
		}
		for r > at+1 && (s[r-1] == '.' || s[r-1] == '-') {
			r--
		}
		dot := strings.LastIndexByte(s[at+1:r], '.')
		if l < at && dot > 0 && tldOK(s[at+2+dot:r]) {
			dst = append(dst, span{l, r})
			off = r
			continue
		}
		off = at + 1
	}
}

// findIPs finds dotted-quad IPv4 addresses and IPv6 addresses (any form
// netip parses, at least two colons and one hex digit, not inside a word).
func findIPs(s string, dst []span) []span {
	if strings.IndexByte(s, '.') >= 0 {
		dst = findIPv4(s, dst)
	}
	if i := strings.IndexByte(s, ':'); i >= 0 && strings.IndexByte(s[i+1:], ':') >= 0 {
		dst = findIPv6(s, dst)
	}
	return dst
}

// findIPv4 is driven by the dots (strings.IndexByte): at each digit.digit
// it backs up to the start of the first octet and parses four.
func findIPv4(s string, dst []span) []span {
	for off := 0; ; {
		k := strings.IndexByte(s[off:], '.')
		if k < 0 {
			return dst
		}
		dot := off + k
		off = dot + 1
		if dot == 0 || dot+1 >= len(s) || !isDigit(s[dot-1]) || !isDigit(s[dot+1]) {
			continue
		}
		start := dot - 1
		for start > 0 && dot-start < 3 && isDigit(s[start-1]) {
			start--
		}
		if start > 0 && (isAlnum(s[start-1]) || s[start-1] == '.') {
			continue
		}
		end, ok := parseIPv4(s, start)
		if ok && (end == len(s) || !(isAlnum(s[end]) || s[end] == '.' && end+1 < len(s) && isDigit(s[end+1]))) {
			dst = append(dst, span{start, end})
			off = end
		}
	}
}

// findIPv6 is driven by the colons: around each one it takes the run of
// hex digits, colons and dots, and asks netip whether it is an address.
func findIPv6(s string, dst []span) []span {
	for off := 0; ; {
		k := strings.IndexByte(s[off:], ':')
		if k < 0 {
			return dst
		}
		start, i := off+k, off+k
		for start > off && (isHex(s[start-1]) || s[start-1] == ':' || s[start-1] == '.') {
			start--
		}
		colons, hex := 0, false
		for i < len(s) && (isHex(s[i]) || s[i] == ':' || s[i] == '.') {
			if s[i] == ':' {
				colons++
			} else if isHex(s[i]) {
				hex = true
			}
			i++
		}
		off = i
		end := i
		for end > start && s[end-1] == '.' {
			end--
		}
		if colons < 2 || (start > 0 && isAlnum(s[start-1])) || (i < len(s) && isAlnum(s[i])) {
			continue
		}
		if !hex {
			for j := start; j < end; j++ {
				if isHex(s[j]) {
					hex = true
					break
				}
			}
			if !hex {
				continue
			}
		}
		if a, err := netip.ParseAddr(s[start:end]); err == nil && a.Is6() {
			dst = append(dst, span{start, end})
		} else if end-start > 1 && s[end-1] == ':' && s[end-2] != ':' {
			// "addr:" at the end of a clause ("from fe80::1: refused").
			if a, err := netip.ParseAddr(s[start : end-1]); err == nil && a.Is6() {
				dst = append(dst, span{start, end - 1})
			}
		}
	}
}

// findCardNumbers finds 13–19 digits, optionally grouped by single spaces
// or hyphens, with a card network's prefix and a valid Luhn check digit.
func findCardNumbers(s string, dst []span) []span {
	var digits [19]byte
	for i := 0; i < len(s); {
		if !isDigit(s[i]) || (i > 0 && isAlnum(s[i-1])) {
			i++
			continue
		}
		start, n, j, end := i, 0, i, i
		for j < len(s) && n < 19 {
			if isDigit(s[j]) {
				digits[n] = s[j]
				n++
				j++
				end = j
				continue
			}
			if (s[j] == ' ' || s[j] == '-') && j+1 < len(s) && isDigit(s[j+1]) && isDigit(s[j-1]) {
				j++
				continue
			}
			break
		}
		if n >= 13 && (end == len(s) || !isAlnum(s[end])) && cardPrefix(digits[:n]) && luhn(digits[:n]) {
			dst = append(dst, span{start, end})
			i = end
			continue
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return dst
}

// findSSNs finds ddd-dd-dddd with a valid area (not 000, 666 or 9xx), group
// (not 00) and serial (not 0000), not inside a longer run of digits or
// hyphens. AWS also finds undashed SSNs next to a keyword; Cairn does not.
func findSSNs(s string, dst []span) []span {
	off := 0
	for {
		k := strings.IndexByte(s[off:], '-')
		if k < 0 {
			return dst
		}
		h := off + k
		st := h - 3
		if st >= 0 && h+8 <= len(s) && s[h+3] == '-' && allDigits(s[st:h]) && allDigits(s[h+1:h+3]) && allDigits(s[h+4:h+8]) &&
			(st == 0 || !(isAlnum(s[st-1]) || s[st-1] == '-')) && (h+8 == len(s) || !(isAlnum(s[h+8]) || s[h+8] == '-')) {
			area, group, serial := s[st:h], s[h+1:h+3], s[h+4:h+8]
			if area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000" {
				dst = append(dst, span{st, h + 8})
				off = h + 8
				continue
			}
		}
		off = h + 1
	}
}

// findAccessKeyIDs finds AKIA (long-term) and ASIA (temporary) access key
// ids: the prefix and 16 base32 characters.
func findAccessKeyIDs(s string, dst []span) []span {
	off := 0
	for {
		k := strings.Index(s[off:], "A")
		if k < 0 {
			return dst
		}
		i := off + k
		off = i + 1
		if i+20 > len(s) || (s[i+1] != 'K' && s[i+1] != 'S') || s[i+2] != 'I' || s[i+3] != 'A' {
			continue
		}
		if i > 0 && isAlnum(s[i-1]) || i+20 < len(s) && isAlnum(s[i+20]) {
			continue
		}
		ok := true
		for _, c := range []byte(s[i+4 : i+20]) {
			if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
				ok = false
				break
			}
		}
		if ok {
			dst = append(dst, span{i, i + 20})
			off = i + 20
		}
	}
}

// findJWTs finds header.payload.signature whose header starts "eyJ" (the
// base64url of `{"`), each part base64url; the signature may be empty
// (unsecured tokens).
func findJWTs(s string, dst []span) []span {
	off := 0
	for {
		k := strings.Index(s[off:], "eyJ")
		if k < 0 {
			return dst
		}
		i := off + k
		off = i + 3
		if i > 0 && isB64URL(s[i-1]) {
			continue
		}
		j := i
		end, ok := i, true
		for part := 0; part < 3 && ok; part++ {
			if part > 0 {
				if j >= len(s) || s[j] != '.' {
					ok = false
					break
				}
				j++
			}
			st := j
			for j < len(s) && isB64URL(s[j]) {
				j++
			}
			if part < 2 && j-st < 2 {
				ok = false
			}
			end = j
		}
		if ok && (end == len(s) || s[end] != '.') {
			dst = append(dst, span{i, end})
			off = end
		}
	}
}

type pemKind int

const (
	kindPKCS pemKind = iota
	kindOpenSSH
	kindPGP
)

// pemFinder finds "-----BEGIN <label>-----" blocks through their END line
// (or the end of the message, for a key cut short): OPENSSH PRIVATE KEY,
// PGP PRIVATE KEY BLOCK, and for PKCS every other label that ends in
// PRIVATE KEY (RSA, EC, DSA, ENCRYPTED, none).
func pemFinder(kind pemKind) finder {
	return func(s string, dst []span) []span {
		off := 0
		for {
			k := strings.Index(s[off:], "-----BEGIN ")
			if k < 0 {
				return dst
			}
			i := off + k
			lstart := i + len("-----BEGIN ")
			// A label is short: look for its end in the next 45 bytes only,
			// so that many unterminated BEGINs cost linear time.
			l := strings.Index(s[lstart:min(lstart+45, len(s))], "-----")
			if l < 0 || l > 40 {
				off = lstart
				continue
			}
			label := s[lstart : lstart+l]
			var mine bool
			switch kind {
			case kindOpenSSH:
				mine = label == "OPENSSH PRIVATE KEY"
			case kindPGP:
				mine = label == "PGP PRIVATE KEY BLOCK"
			default:
				mine = strings.HasSuffix(label, "PRIVATE KEY") && label != "OPENSSH PRIVATE KEY"
			}
			if !mine {
				off = lstart
				continue
			}
			endLine := "-----END " + label + "-----"
			e := strings.Index(s[lstart:], endLine)
			end := len(s)
			if e >= 0 {
				end = lstart + e + len(endLine)
			}
			dst = append(dst, span{i, end})
			off = end
		}
	}
}

// findPuttyKeys finds PuTTY key files (.ppk, versions 2 and 3) from their
// first line through the Private-MAC line (or the end of the message).
func findPuttyKeys(s string, dst []span) []span {
	off := 0
	for {
		k := strings.Index(s[off:], "PuTTY-User-Key-File-")
		if k < 0 {
			return dst
		}
		i := off + k
		end := len(s)
		if m := strings.Index(s[i:], "Private-MAC: "); m >= 0 {
			end = i + m + len("Private-MAC: ")
			for end < len(s) && isHex(s[end]) {
				end++
			}
		}
		dst = append(dst, span{i, end})
		off = end
	}
}

// oracleMasker is the Masker as it was: one finder per identifier, run one
// after the other over the whole message.
type oracleMasker struct {
	names []string
	finds []finder
}

func compileOracle(policies ...*Policy) *oracleMasker {
	m := &oracleMasker{}
	for _, p := range policies {
		if p == nil {
			continue
		}
		for _, id := range p.Identifiers {
			if re, ok := p.Custom[id]; ok {
				m.names = append(m.names, id)
				m.finds = append(m.finds, regexFinder(re))
				continue
			}
			if slices.Contains(m.names, id) {
				continue
			}
			m.names = append(m.names, id)
			m.finds = append(m.finds, detectors[id])
		}
	}
	return m
}

func (m *oracleMasker) Mask(msg string) (string, []Detection) {
	if len(m.finds) == 0 {
		return msg, nil
	}
	var dets []Detection
	var spans []span
	for i, f := range m.finds {
		n := len(spans)
		spans = f(msg, spans)
		for _, sp := range spans[n:] {
			dets = append(dets, Detection{Identifier: m.names[i], Start: sp.start, End: sp.end})
		}
	}
	if len(spans) == 0 {
		return msg, nil
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	var b strings.Builder
	b.Grow(len(msg))
	pos := 0
	for _, sp := range spans {
		if sp.end <= pos {
			continue
		}
		start := max(sp.start, pos)
		b.WriteString(msg[pos:start])
		b.WriteString(strings.Repeat("*", utf8.RuneCountInString(msg[start:sp.end])))
		pos = sp.end
	}
	b.WriteString(msg[pos:])
	for i := range dets {
		bs, be := dets[i].Start, dets[i].End
		dets[i].Start = utf8.RuneCountInString(msg[:bs])
		dets[i].End = dets[i].Start + utf8.RuneCountInString(msg[bs:be])
	}
	return b.String(), dets
}
