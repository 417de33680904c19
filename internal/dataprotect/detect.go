package dataprotect

import (
	"strings"
)

// span is a match's byte range in a message, [start, end).
type span struct{ start, end int }

// finder appends the matches it finds in s to dst. Every finder starts
// with a cheap byte scan for a character or literal every match contains,
// and returns at once when it is absent.
type finder func(s string, dst []span) []span

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

// --- credit card numbers ----------------------------------------------------

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

// --- JSON web tokens --------------------------------------------------------

func isB64URL(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }
