package dataprotect

import (
	"math/bits"
	"net/netip"
	"strings"
)

// The single-pass detector. Every managed identifier is found around a
// trigger byte its matches always contain ('@' for an e-mail address, '.'
// and ':' for IP addresses, '-' for an SSN or a key block...). Rather than
// one scan of the message per identifier, scan walks the message once,
// eight bytes at a time, finds the trigger bytes of all identifiers in
// each eight at once (triggerMask), and hands each to the validator of
// the identifier it can start (Luhn, octet ranges, netip...); card
// numbers, whose trigger is a digit, are looked for only in a message
// with a run of bytes long enough to hold one (chainMask). Each validator
// keeps the cursor its stand-alone finder kept (the position before which
// it looks no further, after a match or a rejected candidate), so the
// single pass finds exactly what the per-identifier finders find
// (oracle_test.go keeps them; FuzzSinglePass and FuzzPlanted compare the
// two).

// ident is one managed identifier Cairn detects.
type ident int

const (
	idAwsSecretKey ident = iota
	idAwsAccessKeyID
	idEmailAddress
	idCreditCardNumber
	idIPAddress
	idSsnUS
	idJSONWebToken
	idOpenSSHPrivateKey
	idPgpPrivateKey
	idPkcsPrivateKey
	idPuttyPrivateKey
	numManaged
)

// managedNames are the Ids, by ident. AwsAccessKeyId and JsonWebToken
// are Cairn's own (AWS has no managed identifier for either;
// docs/data-protection.md).
var managedNames = [numManaged]string{"AwsSecretKey", "AwsAccessKeyId", "EmailAddress", "CreditCardNumber", "IpAddress", "Ssn-US",
	"JsonWebToken", "OpenSshPrivateKey", "PgpPrivateKey", "PkcsPrivateKey", "PuttyPrivateKey"}

// managedIndex returns the ident of an Id, or -1.
func managedIndex(name string) ident {
	for i, n := range managedNames {
		if n == name {
			return ident(i)
		}
	}
	return -1
}

// found is one match of a scan: the identifier's place in the Masker's
// names (key, with IPv6 after IPv4 within IpAddress, which is the order
// the per-identifier finder reported them in) and the byte range.
type found struct {
	key int
	span
}

// scanner is the state of one pass: for each identifier (or kind of match)
// the position before which it looks no further.
type scanner struct {
	s    string
	m    *Masker
	out  []found
	next [numManaged + 1]int // by ident; numManaged is IPv6's
	// secret: a "secret" or "credential" keyword was seen.
	secret bool
	// v6refused, when it equals the IPv6 cursor, says the cursor is the
	// byte after a colon of a run already refused for the letter or digit
	// before its start (ipv6).
	v6refused int
}

// ipv6 is the cursor slot of IPv6 (IPv4 uses idIPAddress's).
const ipv6 = numManaged

func (sc *scanner) add(id ident, sub int, start, end int) {
	sc.out = append(sc.out, found{key: sc.m.order[id]*2 + sub, span: span{start, end}})
}

// scan runs the enabled managed identifiers over s once and appends what
// they find to out.
//
// The pass looks at the message eight bytes at a time and stops only at
// the bytes some identifier's match starts or turns on: '.', ':' and '-'
// (IP addresses, SSNs, "-----BEGIN " key blocks), '@' (e-mail), 'A'
// ("AKIA"/"ASIA"), 'J' (the "eyJ" of a JWT), 'P' ("PuTTY-User-Key-File-")
// and 'c'/'C' (the "cr" of "secret" and "credential"), found all at once
// with word-wide masks (triggerMask); each is handed to its validator
// only when its neighbours allow a match. Digits, the commonest bytes of
// a log line, stop nothing: on the way the pass measures the longest run
// of bytes a card number can be made of (chainMask), and card numbers are
// looked for (digit run by digit run, as findCardNumbers does) only in a
// message with a run of 13 such bytes, which most lines have not (dates,
// times, status codes and sizes are shorter chains).
//
// Each identifier keeps its own cursor (the position before which it looks
// no further), which no other identifier's finding moves, so looking for
// card numbers after the rest finds what findCardNumbers finds.
func (m *Masker) scan(s string, out []found) []found {
	if haveAVX2 {
		return m.scanChunks(s, out, true)
	}
	return m.scanWords(s, out)
}

// scanWords is scan eight bytes at a time, in portable Go.
func (m *Masker) scanWords(s string, out []found) []found {
	sc := scanner{s: s, m: m, out: out}
	card := m.on(idCreditCardNumber)
	cardRun, run := false, 0
	p := 0
	for ; p+8 <= len(s); p += 8 {
		x := load64(s, p)
		t := x & low7
		dash := eqMask(t, '-')
		if card && !cardRun {
			c := chainMask(t, dash) &^ x & highs
			switch {
			case c == highs:
				run += 8
			case c == 0:
				run = 0
			default:
				// The run so far ends at the word's first byte outside
				// the set; the word's last bytes start the next one (a
				// run inside the word is at most six bytes).
				run += bits.TrailingZeros64(^c&highs) >> 3
				if run < minCardBytes {
					run = bits.LeadingZeros64(^c&highs) >> 3
				}
			}
			cardRun = run >= minCardBytes
		}
		for tm := triggerMask(x, t, dash); tm != 0; tm &= tm - 1 {
			sc.trigger(p + bits.TrailingZeros64(tm)>>3)
		}
	}
	for ; p < len(s); p++ {
		switch s[p] {
		case '.', ':', '-', '@', 'A', 'J', 'P', 'c', 'C':
			sc.trigger(p)
		}
		if isDigit(s[p]) || s[p] == ' ' || s[p] == '-' {
			run++
			cardRun = cardRun || run >= minCardBytes
		} else {
			run = 0
		}
	}
	return sc.finish(card && cardRun)
}

// finish looks for card numbers when cards (a run of bytes long enough to
// hold one was seen) and for AWS secret keys when a keyword was, after the
// pass, and returns what the scan found.
func (sc *scanner) finish(cards bool) []found {
	if cards {
		sc.cards()
	}
	if sc.secret {
		var sp [4]span
		for _, x := range findAWSSecretKeys(sc.s, sp[:0]) {
			sc.add(idAwsSecretKey, 0, x.start, x.end)
		}
	}
	return sc.out
}

// trigger hands the trigger byte at p to the validators that want it and
// whose identifiers are enabled.
func (sc *scanner) trigger(p int) {
	s, m := sc.s, sc.m
	switch s[p] {
	case '.':
		// A refused dot moves the cursor only to the byte after it,
		// where the next dot lies anyway: ask ipv4 only about a dot
		// between two digits whose next octet, of one to three digits, is
		// followed by a dot (an address's first dot is; a version's or a
		// decimal's "1.1" or "0.057" is not).
		if m.on(idIPAddress) && p >= sc.next[idIPAddress] && p > 0 && p+1 < len(s) && isDigit(s[p-1]) && isDigit(s[p+1]) && octetThenDot(s, p+2) {
			sc.ipv4(p)
		}
	case ':':
		// A colon with neither neighbour in an address's alphabet (a
		// JSON key's ":") is a run of one colon, refused with the
		// cursor moved past it: nothing to ask ipv6.
		//
		// And a colon with no second colon in the five bytes after it,
		// across hex digits only, is left to the run's next colon: an
		// address starts its run, so the run's first colon is the
		// address's, and the address's second colon follows it within
		// five bytes (a group is at most four hex digits; "::" is two
		// colons). ipv6 asked at a later colon of the same run walks back
		// to the same start (the cursor lies before the run) and counts
		// fewer colons, so it finds an address only where the first colon
		// would have found it, and the first colon finds none where it is
		// skipped. "user":99423 and a colon ending a clause reach no
		// validator.
		if m.on(idIPAddress) && p >= sc.next[ipv6] && (p > 0 && inV6(s[p-1]) || p+1 < len(s) && inV6(s[p+1])) && colonNear(s, p+1) {
			sc.ipv6(p)
		}
	case '-':
		// Most dashes are a date's or a separator's: an SSN's first
		// hyphen has a digit before it and a hyphen three bytes on (a
		// refused SSN moves its cursor only to the byte after this one,
		// where the next candidate lies anyway), a key block starts
		// "-----BEGIN ".
		if m.on(idSsnUS) && p > 0 && isDigit(s[p-1]) && p+3 < len(s) && s[p+3] == '-' && p >= sc.next[idSsnUS] {
			sc.ssn(p)
		}
		if p+1 < len(s) && s[p+1] == '-' && strings.HasPrefix(s[p:], "-----BEGIN ") {
			for _, id := range [...]ident{idOpenSSHPrivateKey, idPgpPrivateKey, idPkcsPrivateKey} {
				if m.on(id) && p >= sc.next[id] {
					sc.pem(id, p)
				}
			}
		}
	case '@':
		if m.on(idEmailAddress) && p >= sc.next[idEmailAddress] {
			sc.email(p)
		}
	case 'A':
		if m.on(idAwsAccessKeyID) && p >= sc.next[idAwsAccessKeyID] {
			sc.accessKey(p)
		}
	case 'J':
		if m.on(idJSONWebToken) && p >= 2 && p-2 >= sc.next[idJSONWebToken] && s[p-2] == 'e' && s[p-1] == 'y' {
			sc.jwt(p - 2)
		}
	case 'P':
		if m.on(idPuttyPrivateKey) && p >= sc.next[idPuttyPrivateKey] && strings.HasPrefix(s[p:], "PuTTY-User-Key-File-") {
			sc.putty(p)
		}
	default: // 'c', 'C'
		// Both keywords an AWS secret key wants nearby have a "cr"
		// ("secret", "credential"): findAWSSecretKeys runs once, at the
		// end, when one is in the message.
		if m.on(idAwsSecretKey) && !sc.secret && p+1 < len(s) && s[p+1]|0x20 == 'r' &&
			(p >= 2 && hasFoldPrefix(s[p-2:], "secret") || hasFoldPrefix(s[p:], "credential")) {
			sc.secret = true
		}
	}
}

// Eight-byte words for the masks below: each byte of the word set to b.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
	low7  = 0x7f7f7f7f7f7f7f7f
)

// The masks of eight bytes x of a message (the first in the lowest byte)
// have the top bit of each byte set where the byte is of their set, and
// no other bit. The top bit of each byte is cleared before the additions,
// so no carry or borrow crosses from one byte into the next, and bytes of
// 0x80 and above are excluded by &^ x: eqMask and chainMask are exact.

// eqMask: the bytes of t (top bits cleared) equal to b (b < 0x80), in the
// top bits (the bits below them are left to the caller's & highs): t^b is
// at most 0x7F in each byte, and adding 0x7F sets the top bit exactly
// where it is not zero.
func eqMask(t, b uint64) uint64 { return ^((t ^ b*ones) + low7) }

// triggerMask: the trigger bytes of scan, with a 'c' or 'C' only where the
// next byte (t>>8; the word's last byte always) may be an 'r' or 'R'. It
// may hold a byte trigger then refuses (a 'c' before a byte of 0x80 and
// above whose low seven bits are an 'r'), never lack one it would take.
// t is x with each byte's top bit cleared, dash eqMask(t, '-').
func triggerMask(x, t, dash uint64) uint64 {
	return (eqMask(t, '.') | eqMask(t, ':') | dash | eqMask(t, '@') | eqMask(t, 'A') | eqMask(t, 'J') |
		eqMask(t, 'P') | eqMask(t|0x20*ones, 'c')&(eqMask(t>>8|0x20*ones, 'r')|0x80<<56)) &^ x & highs
}

// chainMask: digits, ' ' and '-', the bytes of a card number (t is the
// word with each byte's top bit cleared, dash eqMask(t, '-'); the caller
// applies &^ x & highs).
func chainMask(t, dash uint64) uint64 {
	ge := t + (0x80-'0')*ones // top bit set where t >= '0'
	le := (0x80+'9')*ones - t // top bit set where t <= '9'
	return ge&le | eqMask(t, ' ') | dash
}

// load64 reads s[i:i+8] as a little-endian word (the compiler makes it one
// load).
func load64(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// minCardBytes: a card number is 13 digits or more, with single spaces or
// dashes between them, so it takes 13 bytes or more that are all digits,
// spaces or dashes in a row.
const minCardBytes = 13

// cards is findCardNumbers over the message: each run of digits that can
// start a card (cardCandidate) is handed to card.
func (sc *scanner) cards() {
	s := sc.s
	for p := 0; p < len(s); p++ {
		if !isDigit(s[p]) {
			continue
		}
		// The rest of the run of digits starts no card (one after a
		// digit is inside a word): go on after it. A refused run needs
		// no cursor move, as the next candidate lies past it.
		q := p + 1
		for q < len(s) && isDigit(s[q]) {
			q++
		}
		if s[p] >= '2' && s[p] <= '6' && p >= sc.next[idCreditCardNumber] && cardCandidate(s, p, q) {
			sc.card(p, q)
		}
		p = q - 1
	}
}

// hasFoldPrefix reports whether s starts with the ASCII lower-case word w,
// ignoring ASCII case: what indexFold's strings.EqualFold decides on a
// window of len(w) bytes (a window holding a multi-byte rune has fewer
// runes than w and cannot fold to it).
func hasFoldPrefix(s, w string) bool {
	if len(s) < len(w) {
		return false
	}
	for i := 0; i < len(w); i++ {
		if s[i]|0x20 != w[i] {
			return false
		}
	}
	return true
}

// email is findEmails at the '@' at.
func (sc *scanner) email(at int) {
	s := sc.s
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
		sc.add(idEmailAddress, 0, l, r)
		sc.next[idEmailAddress] = r
		return
	}
	sc.next[idEmailAddress] = at + 1
}

// ipv4 is findIPv4 at the '.' dot.
func (sc *scanner) ipv4(dot int) {
	s := sc.s
	sc.next[idIPAddress] = dot + 1
	if dot == 0 || dot+1 >= len(s) || !isDigit(s[dot-1]) || !isDigit(s[dot+1]) {
		return
	}
	start := dot - 1
	for start > 0 && dot-start < 3 && isDigit(s[start-1]) {
		start--
	}
	if start > 0 && (isAlnum(s[start-1]) || s[start-1] == '.') {
		return
	}
	end, ok := parseIPv4(s, start)
	if ok && (end == len(s) || !(isAlnum(s[end]) || s[end] == '.' && end+1 < len(s) && isDigit(s[end+1]))) {
		sc.add(idIPAddress, 0, start, end)
		sc.next[idIPAddress] = end
	}
}

// octetThenDot reports whether a '.' follows at i after at most two more
// digits: the rest of an octet that started at i-1, and the dot after it,
// without which parseIPv4 refuses (an address has four octets).
func octetThenDot(s string, i int) bool {
	for end := min(i+3, len(s)); i < end; i++ {
		if s[i] == '.' {
			return true
		}
		if !isDigit(s[i]) {
			return false
		}
	}
	return false
}

// colonNear reports whether a ':' lies in s[i:i+5] with only hex digits
// before it there.
func colonNear(s string, i int) bool {
	for end := min(i+5, len(s)); i < end; i++ {
		if s[i] == ':' {
			return true
		}
		if !isHex(s[i]) {
			return false
		}
	}
	return false
}

// inV6 reports whether c can be part of an IPv6 address's run: a hex digit,
// a colon or a dot (IPv4 in its last 32 bits).
func inV6(c byte) bool { return isHex(c) || c == ':' || c == '.' }

// ipv6 is findIPv6 at the ':' k. (findIPs ran it only on messages with two
// colons; a run with fewer is never an address, so the pass need not ask.)
func (sc *scanner) ipv6(k int) {
	s := sc.s
	off := sc.next[ipv6]
	start, i := k, k
	for start > off && inV6(s[start-1]) {
		start--
	}
	// A run after a letter or a digit (the "T" of 2026-11-22T05:09:14) is
	// refused whatever follows, so it is refused here, before the walk to
	// its end: the cursor goes to the byte after this colon only, and
	// v6refused marks it, so that the run's next colon, whose walk back
	// stops at the cursor, is refused with it (each byte is walked back
	// over once). Its end then needs no walk: the run's colons after a
	// time of day's last one ("14.002Z", "14Z") pass no colonNear.
	if start == off && off > 0 && sc.v6refused == off || start > 0 && isAlnum(s[start-1]) {
		sc.next[ipv6], sc.v6refused = k+1, k+1
		return
	}
	colons, hex := 0, false
	for i < len(s) && inV6(s[i]) {
		if s[i] == ':' {
			colons++
		} else if isHex(s[i]) {
			hex = true
		}
		i++
	}
	sc.next[ipv6] = i
	end := i
	for end > start && s[end-1] == '.' {
		end--
	}
	if colons < 2 || (start > 0 && isAlnum(s[start-1])) || (i < len(s) && isAlnum(s[i])) {
		return
	}
	if !hex {
		for j := start; j < end; j++ {
			if isHex(s[j]) {
				hex = true
				break
			}
		}
		if !hex {
			return
		}
	}
	if colons < 6 && !strings.Contains(s[start:end], "::") {
		// An IPv6 address has eight groups (seven colons), six and an
		// IPv4 address, or "::": not a time of day like 05:09:14, which
		// netip would take longer to refuse.
		return
	}
	if a, err := netip.ParseAddr(s[start:end]); err == nil && a.Is6() {
		sc.add(idIPAddress, 1, start, end)
	} else if end-start > 1 && s[end-1] == ':' && s[end-2] != ':' {
		// "addr:" at the end of a clause ("from fe80::1: refused").
		if a, err := netip.ParseAddr(s[start : end-1]); err == nil && a.Is6() {
			sc.add(idIPAddress, 1, start, end-1)
		}
	}
}

// cardCandidate reports whether the run of digits s[i:run] can start a card
// number where findCardNumbers would try one: not inside a word, a card
// network's first digit (cardPrefix: 2 to 6), and 13 digits or more, or a
// separator and a digit after the run.
func cardCandidate(s string, i, run int) bool {
	if i > 0 && isAlnum(s[i-1]) || s[i] < '2' || s[i] > '6' {
		return false
	}
	return run-i >= 13 || run+1 < len(s) && (s[run] == ' ' || s[run] == '-') && isDigit(s[run+1])
}

// card is findCardNumbers at the digit i, a cardCandidate whose run of
// digits ends at run.
func (sc *scanner) card(i, run int) {
	s := sc.s
	var digits [19]byte
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
		sc.add(idCreditCardNumber, 0, start, end)
		sc.next[idCreditCardNumber] = end
		return
	}
	sc.next[idCreditCardNumber] = run
}

// ssn is findSSNs at the '-' h.
func (sc *scanner) ssn(h int) {
	s := sc.s
	st := h - 3
	if st >= 0 && h+8 <= len(s) && s[h+3] == '-' && allDigits(s[st:h]) && allDigits(s[h+1:h+3]) && allDigits(s[h+4:h+8]) &&
		(st == 0 || !(isAlnum(s[st-1]) || s[st-1] == '-')) && (h+8 == len(s) || !(isAlnum(s[h+8]) || s[h+8] == '-')) {
		area, group, serial := s[st:h], s[h+1:h+3], s[h+4:h+8]
		if area != "000" && area != "666" && area[0] != '9' && group != "00" && serial != "0000" {
			sc.add(idSsnUS, 0, st, h+8)
			sc.next[idSsnUS] = h + 8
			return
		}
	}
	sc.next[idSsnUS] = h + 1
}

// accessKey is findAccessKeyIDs at the 'A' i.
func (sc *scanner) accessKey(i int) {
	s := sc.s
	sc.next[idAwsAccessKeyID] = i + 1
	if i+20 > len(s) || (s[i+1] != 'K' && s[i+1] != 'S') || s[i+2] != 'I' || s[i+3] != 'A' {
		return
	}
	if i > 0 && isAlnum(s[i-1]) || i+20 < len(s) && isAlnum(s[i+20]) {
		return
	}
	for _, c := range []byte(s[i+4 : i+20]) {
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return
		}
	}
	sc.add(idAwsAccessKeyID, 0, i, i+20)
	sc.next[idAwsAccessKeyID] = i + 20
}

// jwt is findJWTs at the "eyJ" i.
func (sc *scanner) jwt(i int) {
	s := sc.s
	sc.next[idJSONWebToken] = i + 3
	if i > 0 && isB64URL(s[i-1]) {
		return
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
		sc.add(idJSONWebToken, 0, i, end)
		sc.next[idJSONWebToken] = end
	}
}

// pem is pemFinder(kind) at the "-----BEGIN " i.
func (sc *scanner) pem(id ident, i int) {
	s := sc.s
	lstart := i + len("-----BEGIN ")
	// A label is short: look for its end in the next 45 bytes only, so
	// that many unterminated BEGINs cost linear time.
	l := strings.Index(s[lstart:min(lstart+45, len(s))], "-----")
	if l < 0 || l > 40 {
		sc.next[id] = lstart
		return
	}
	label := s[lstart : lstart+l]
	var mine bool
	switch id {
	case idOpenSSHPrivateKey:
		mine = label == "OPENSSH PRIVATE KEY"
	case idPgpPrivateKey:
		mine = label == "PGP PRIVATE KEY BLOCK"
	default:
		// PKCS: every other label that ends in PRIVATE KEY (RSA, EC, DSA,
		// ENCRYPTED, none).
		mine = strings.HasSuffix(label, "PRIVATE KEY") && label != "OPENSSH PRIVATE KEY"
	}
	if !mine {
		sc.next[id] = lstart
		return
	}
	// Through the END line, or the end of the message for a key cut short.
	endLine := "-----END " + label + "-----"
	e := strings.Index(s[lstart:], endLine)
	end := len(s)
	if e >= 0 {
		end = lstart + e + len(endLine)
	}
	sc.add(id, 0, i, end)
	sc.next[id] = end
}

// putty is findPuttyKeys at the "PuTTY-User-Key-File-" i.
func (sc *scanner) putty(i int) {
	s := sc.s
	// From the first line through the Private-MAC line (or the end of the
	// message); versions 2 and 3.
	end := len(s)
	if m := strings.Index(s[i:], "Private-MAC: "); m >= 0 {
		end = i + m + len("Private-MAC: ")
		for end < len(s) && isHex(s[end]) {
			end++
		}
	}
	sc.add(idPuttyPrivateKey, 0, i, end)
	sc.next[idPuttyPrivateKey] = end
}
