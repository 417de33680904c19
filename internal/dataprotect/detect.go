package dataprotect

import (
	"net/netip"
	"strings"
)

// span is a match's byte range in a message, [start, end).
type span struct{ start, end int }

// finder appends the matches it finds in s to dst. Every finder starts
// with a cheap byte scan for a character or literal every match contains,
// and returns at once when it is absent.
type finder func(s string, dst []span) []span

// detectors are the managed data identifiers Cairn detects, by Id. The
// table is never written. AwsAccessKeyId and JsonWebToken are Cairn's own
// (AWS has no managed identifier for either; docs/data-protection.md).
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

// awsIDs are AWS's managed identifiers that need no country suffix
// (CWL-managed-data-identifiers); countryIDs those that do, with the
// suffixes AWS accepts. Parse tells "AWS has it, Cairn does not detect it"
// from "no such identifier" with them.
var (
	awsIDs = []string{"Address", "AwsSecretKey", "CreditCardExpiration", "CreditCardNumber", "CreditCardSecurityCode",
		"EmailAddress", "IpAddress", "LatLong", "Name", "OpenSshPrivateKey", "PgpPrivateKey", "PkcsPrivateKey",
		"PuttyPrivateKey", "VehicleIdentificationNumber", "DateOfBirth"}
	countryIDs = map[string]string{
		"BankAccountNumber": "DE ES FR GB IT US", "CepCode": "BR", "Cnpj": "BR", "CpfCode": "BR",
		"DriversLicense":              "AT AU BE BG CA CY CZ DE DK EE ES FI FR GB GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK US",
		"DrugEnforcementAgencyNumber": "US", "ElectoralRollNumber": "GB", "HealthInsuranceCardNumber": "EU",
		"HealthInsuranceClaimNumber": "US", "HealthInsuranceNumber": "FR", "HealthcareProcedureCode": "US",
		"IndividualTaxIdentificationNumber": "US", "InseeCode": "FR", "MedicareBeneficiaryNumber": "US",
		"NationalDrugCode": "US", "NationalIdentificationNumber": "DE ES IT", "NationalInsuranceNumber": "GB",
		"NationalProviderId": "US", "NhsNumber": "GB", "NieNumber": "ES", "NifNumber": "ES",
		"PassportNumber": "CA DE ES FR GB IT US", "PermanentResidenceNumber": "CA", "PersonalHealthNumber": "CA",
		"PhoneNumber": "BR DE ES FR GB IT US", "PostalCode": "CA", "RgNumber": "BR", "SocialInsuranceNumber": "CA",
		"Ssn": "ES US", "TaxId": "DE ES FR GB", "ZipCode": "US",
	}
)

// awsManaged reports whether id is one of AWS's managed identifiers.
func awsManaged(id string) bool {
	for _, a := range awsIDs {
		if a == id {
			return true
		}
	}
	base, country, ok := strings.Cut(id, "-")
	if !ok || len(country) != 2 {
		return false
	}
	return strings.Contains(countryIDs[base], country)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// --- e-mail addresses -------------------------------------------------------

func isLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}
func isDomain(c byte) bool { return isAlnum(c) || c == '.' || c == '-' }

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

func tldOK(t string) bool {
	if len(t) < 2 {
		return false
	}
	for _, c := range []byte(t) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// --- IP addresses -----------------------------------------------------------

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

// parseIPv4 parses four dot-separated octets (0–255, 1–3 digits) at i.
func parseIPv4(s string, i int) (int, bool) {
	for part := 0; part < 4; part++ {
		if part > 0 {
			if i >= len(s) || s[i] != '.' {
				return 0, false
			}
			i++
		}
		v, n := 0, 0
		for i < len(s) && isDigit(s[i]) && n < 4 {
			v = v*10 + int(s[i]-'0')
			i++
			n++
		}
		if n == 0 || n > 3 || v > 255 {
			return 0, false
		}
	}
	return i, true
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

// --- credit card numbers ----------------------------------------------------

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

// cardPrefix: Visa, Mastercard, American Express, Discover, JCB, Diners
// Club, UnionPay. A 13-digit millisecond timestamp starts with 1 and is
// thereby never taken for a card.
func cardPrefix(d []byte) bool {
	p2 := int(d[0]-'0')*10 + int(d[1]-'0')
	p3 := p2*10 + int(d[2]-'0')
	p4 := p3*10 + int(d[3]-'0')
	switch {
	case d[0] == '4':
		return true
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return true
	case p2 == 34 || p2 == 37:
		return true
	case p4 == 6011, p3 >= 644 && p3 <= 649, p2 == 65, p2 == 62:
		return true
	case p4 >= 3528 && p4 <= 3589:
		return true
	case p3 >= 300 && p3 <= 305, p2 == 36, p2 == 38, p2 == 39:
		return true
	}
	return false
}

func luhn(d []byte) bool {
	sum, double := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// --- US social security numbers ---------------------------------------------

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

func allDigits(s string) bool {
	for _, c := range []byte(s) {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// --- AWS credentials ----------------------------------------------------------

func isB64(c byte) bool { return isAlnum(c) || c == '/' || c == '+' }

// secretKeywords are AwsSecretKey's keywords (protect-sensitive-log-data-
// types-credentials), lower case, with the space variants AWS also matches
// (no space, '_' or '-').
var secretKeywords = []string{"aws_secret_access_key", "credentials", "secret access key", "secretaccesskey",
	"secret_access_key", "secret-access-key", "secret key", "secretkey", "secret_key", "secret-key", "set-awscredential"}

// keywordGap is how close (in bytes, inclusive) a keyword must be to the
// value: AWS says 30 characters.
const keywordGap = 30

// findAWSSecretKeys finds 40-character base64 tokens (letters of both
// cases or digits mixed in) within 30 characters of one of the keywords.
func findAWSSecretKeys(s string, dst []span) []span {
	if indexFold(s, "secret") < 0 && indexFold(s, "credential") < 0 {
		return dst
	}
	lower := strings.ToLower(s)
	var kws []span
	for _, kw := range secretKeywords {
		for off := 0; ; {
			i := strings.Index(lower[off:], kw)
			if i < 0 {
				break
			}
			kws = append(kws, span{off + i, off + i + len(kw)})
			off += i + 1
		}
	}
	for i := 0; i < len(s); {
		if !isB64(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isB64(s[j]) {
			j++
		}
		if j-i == 40 && (j == len(s) || s[j] != '=') && mixed(s[i:j]) && near(kws, i, j) {
			dst = append(dst, span{i, j})
		}
		i = j
	}
	return dst
}

func mixed(t string) bool {
	var up, low, dig bool
	for _, c := range []byte(t) {
		switch {
		case c >= 'A' && c <= 'Z':
			up = true
		case c >= 'a' && c <= 'z':
			low = true
		case isDigit(c):
			dig = true
		}
	}
	n := 0
	for _, b := range []bool{up, low, dig} {
		if b {
			n++
		}
	}
	return n >= 2
}

func near(kws []span, start, end int) bool {
	for _, k := range kws {
		if k.end <= start && start-k.end <= keywordGap || k.start >= end && k.start-end <= keywordGap {
			return true
		}
	}
	return false
}

// indexFold is strings.Index for an ASCII lower-case needle, ignoring case.
// It follows the next lower- and upper-case first letter with two
// strings.IndexByte cursors, so each byte is scanned once by the vectorised
// search rather than compared one by one.
func indexFold(s, needle string) int {
	lo, up := needle[0], needle[0]-'a'+'A'
	nl, nu := strings.IndexByte(s, lo), strings.IndexByte(s, up)
	for nl >= 0 || nu >= 0 {
		p := nl
		if p < 0 || (nu >= 0 && nu < p) {
			p = nu
		}
		if p+len(needle) > len(s) {
			return -1
		}
		if strings.EqualFold(s[p:p+len(needle)], needle) {
			return p
		}
		if p == nl {
			if nl = strings.IndexByte(s[p+1:], lo); nl >= 0 {
				nl += p + 1
			}
		} else if nu = strings.IndexByte(s[p+1:], up); nu >= 0 {
			nu += p + 1
		}
	}
	return -1
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

// --- JSON web tokens --------------------------------------------------------

func isB64URL(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }

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

// --- private keys -----------------------------------------------------------

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
