// Package sigv4 verifies AWS Signature Version 4 on incoming HTTP requests.
//
// Data enters as an *http.Request (headers, Host, method, raw path and query as
// received) plus the request body bytes exactly as sent on the wire: when the
// client sent Content-Encoding: gzip, the signature covers the compressed bytes,
// so the caller passes those, not the inflated ones. The caller also supplies a
// SecretFunc that maps an access key ID (and the X-Amz-Security-Token, if any) to
// the secret key; this package knows nothing about identities. Data leaves as a
// Result holding the parsed credential scope (access key, date, region,
// service), or as an *awserr.Error carrying AWS's code and wording.
//
// Both forms are verified: the Authorization header and the presigned query
// string (X-Amz-Algorithm, X-Amz-Credential, ...). The request time must lie
// within 15 minutes of the verifier's clock; a presigned URL that carries
// X-Amz-Expires is valid from its X-Amz-Date for that many seconds instead
// (up to seven days), one without it for the 15-minute window. Derived signing keys are cached in the Verifier.
//
// A signature is bound to what it was made for: the caller names the service
// the request is for and a credential scoped to another is refused; Host and,
// when the request carries one, X-Amz-Target (the operation) must be signed
// headers; and the body is always covered (UNSIGNED-PAYLOAD is not honoured).
// Precheck runs every check that does not need the body, so the caller can
// refuse a request before reading it.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cairnlog/cairn/internal/awserr"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

// UnsignedPayload is the x-amz-content-sha256 value by which an S3 client
// declares that the body is not covered by the signature. Cairn does not
// honour it (see payloadHash): the body is always signed.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

// MaxSkew is how far the request time may be from the server clock.
const MaxSkew = 15 * time.Minute

// MaxPresignExpires is the longest X-Amz-Expires AWS accepts (seven days).
const MaxPresignExpires = 604800

const (
	timeFormat = "20060102T150405Z"
	dateFormat = "20060102"
	terminator = "aws4_request"
)

// Scope is the credential scope of a signed request.
type Scope struct {
	AccessKey string
	Date      string // YYYYMMDD
	Region    string
	Service   string
}

// SecretFunc returns the secret access key for accessKey. sessionToken is the
// X-Amz-Security-Token sent with the request, "" when none was. To refuse, it
// returns an *awserr.Error such as UnrecognizedClientException or
// ExpiredTokenException; any other error is treated as an internal failure by
// the caller's edge.
type SecretFunc func(accessKey, sessionToken string) (secret string, err error)

// Result is what a successful verification established.
type Result struct {
	Scope
	// Time is the signing time (X-Amz-Date or Date).
	Time time.Time
	// Presigned is true when the signature came in the query string.
	Presigned bool
	// SessionToken reports whether an X-Amz-Security-Token was sent; the token
	// itself went to the SecretFunc and is deliberately not kept here.
	SessionToken bool
}

// Config configures a Verifier.
type Config struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// KeyCacheSize bounds the number of cached signing keys; 0 means 1024.
	KeyCacheSize int
}

// Verifier checks signatures. It is safe for concurrent use.
type Verifier struct {
	now  func() time.Time
	keys *keyCache
}

// New returns a Verifier.
func New(cfg Config) *Verifier {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	size := cfg.KeyCacheSize
	if size <= 0 {
		size = 1024
	}
	return &Verifier{now: now, keys: newKeyCache(size)}
}

// Precheck checks everything about r that does not need its body: the
// signature's form, algorithm and credential scope (service must be service,
// a non-empty signing name such as "logs" or "sts"), the time window, the
// headers the signature must cover, and that secret knows the access key (and
// session token). It returns the same errors, in the same order, as Verify,
// so a caller can refuse a request before buffering its body; Verify must
// still be called with the body.
func (v *Verifier) Precheck(r *http.Request, service string, secret SecretFunc) (Result, error) {
	a, _, err := v.check(r, service, secret)
	if err != nil {
		return Result{}, err
	}
	return a.result(), nil
}

// Verify checks the signature of r over body. service is the signing name the
// request must be scoped to ("logs", "sts"); it is required, so that no
// signature made for one service is accepted by another. body must be the
// bytes as sent (still compressed if the client compressed them).
func (v *Verifier) Verify(r *http.Request, body []byte, service string, secret SecretFunc) (Result, error) {
	a, key, err := v.check(r, service, secret)
	if err != nil {
		return Result{}, err
	}
	payload, err := payloadHash(r, body)
	if err != nil {
		return Result{}, err
	}
	want, ok := decodeSignature(a.signature)
	if !ok {
		return Result{}, awserr.SignatureMismatch()
	}
	sk := v.keys.get(key, a.scope.Date, a.scope.Region, a.scope.Service)
	got := signature(sk, a, canonicalRequest(r, a, payload))
	if !hmac.Equal(got[:], want[:]) {
		return Result{}, awserr.SignatureMismatch()
	}
	return a.result(), nil
}

// check is Precheck's work, shared with Verify; it returns the parsed
// request and the secret key. The order is close to the one AWS's answers
// show (form, scope, time, signed headers, the key, and the signature last,
// in Verify); a request with several faults gets the first one's error.
func (v *Verifier) check(r *http.Request, service string, secret SecretFunc) (*authInfo, string, error) {
	if service == "" {
		// An empty service would accept any scope; that is how a signature
		// for STS once opened CloudWatch Logs. Callers must say.
		return nil, "", errors.New("BUG: sigv4: verify without an expected service")
	}
	a, err := parseRequest(r)
	if err != nil {
		return nil, "", err
	}
	if err := a.checkScope(service); err != nil {
		return nil, "", err
	}
	if err := a.checkTime(v.now()); err != nil {
		return nil, "", err
	}
	if err := a.checkSignedHeaders(r); err != nil {
		return nil, "", err
	}
	if err := checkPayloadMode(r); err != nil {
		return nil, "", err
	}
	key, err := secret(a.scope.AccessKey, a.token)
	if err != nil {
		return nil, "", err
	}
	return a, key, nil
}

func (a *authInfo) result() Result {
	return Result{Scope: a.scope, Time: a.time, Presigned: a.presigned, SessionToken: a.token != ""}
}

// ScopeOf returns the credential scope a request claims, without verifying
// anything. It serves callers that run with authentication off but still want
// the region the client signed for.
func ScopeOf(r *http.Request) (Scope, bool) {
	var cred string
	if h := r.Header.Get("Authorization"); h != "" {
		auth, _, err := parseAuthorization(h)
		if err != nil {
			return Scope{}, false
		}
		cred = auth.Credential
	} else {
		cred = r.URL.Query().Get("X-Amz-Credential")
	}
	s, err := parseCredential(cred)
	if err != nil {
		return Scope{}, false
	}
	return s, true
}

// authInfo is everything the signature inputs need, from either form.
type authInfo struct {
	presigned        bool
	scope            Scope
	credential       string // raw, for messages
	signedHeadersRaw string
	signedHeaders    []string
	signature        string
	amzDate          string // as sent; the string to sign uses the formatted time
	dateFromHeader   bool   // time came from the HTTP Date header
	time             time.Time
	expires          int // X-Amz-Expires in seconds; 0 when absent
	token            string
}

func parseRequest(r *http.Request) (*authInfo, error) {
	header := r.Header.Get("Authorization")
	q := r.URL.Query()
	_, presigned := q["X-Amz-Algorithm"]
	switch {
	case header != "" && presigned:
		return nil, awserr.TwoAuthMechanisms()
	case header != "":
		return parseHeaderForm(r, header)
	case presigned:
		return parsePresignedForm(q)
	default:
		return nil, awserr.MissingToken()
	}
}

func parseHeaderForm(r *http.Request, header string) (*authInfo, error) {
	auth, missing, err := parseAuthorization(header)
	if err != nil {
		return nil, err
	}
	a := &authInfo{signature: auth.Signature, signedHeadersRaw: auth.SignedHeadersRaw, signedHeaders: auth.SignedHeaders, credential: auth.Credential}
	a.amzDate = r.Header.Get("X-Amz-Date")
	if a.amzDate == "" {
		if d := r.Header.Get("Date"); d != "" {
			a.amzDate = d
			a.dateFromHeader = true
		}
	}
	if a.amzDate == "" {
		missing = append(missing, awserr.RequiresDate)
	}
	if len(missing) > 0 {
		return nil, awserr.AuthorizationIncomplete(missing, header)
	}
	if err := a.parseTime(); err != nil {
		return nil, err
	}
	if a.scope, err = parseCredential(auth.Credential); err != nil {
		return nil, err
	}
	a.token = r.Header.Get("X-Amz-Security-Token")
	return a, nil
}

func parsePresignedForm(q map[string][]string) (*authInfo, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	var missing []string
	// X-Amz-Expires is optional: the SDKs' STS presigner leaves it out, and
	// without it the ordinary 15-minute window applies.
	for _, k := range []string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders"} {
		if get(k) == "" {
			missing = append(missing, "'"+k+"'")
		}
	}
	if len(missing) > 0 {
		return nil, awserr.PresignIncomplete(missing)
	}
	if alg := get("X-Amz-Algorithm"); alg != Algorithm {
		return nil, awserr.UnsupportedAlgorithm(alg)
	}
	a := &authInfo{
		presigned:        true,
		credential:       get("X-Amz-Credential"),
		signature:        get("X-Amz-Signature"),
		amzDate:          get("X-Amz-Date"),
		signedHeadersRaw: get("X-Amz-SignedHeaders"),
		token:            get("X-Amz-Security-Token"),
	}
	a.signedHeaders = strings.Split(a.signedHeadersRaw, ";")
	if v := get("X-Amz-Expires"); v != "" {
		exp, err := strconv.Atoi(v)
		if err != nil || exp < 1 || exp > MaxPresignExpires {
			return nil, awserr.PresignExpires(MaxPresignExpires, v)
		}
		a.expires = exp
	}
	if err := a.parseTime(); err != nil {
		return nil, err
	}
	var err error
	if a.scope, err = parseCredential(a.credential); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *authInfo) parseTime() error {
	var err error
	if a.dateFromHeader {
		a.time, err = http.ParseTime(a.amzDate)
	} else {
		a.time, err = time.Parse(timeFormat, a.amzDate)
	}
	if err != nil {
		return awserr.DateFormat(a.amzDate)
	}
	a.time = a.time.UTC()
	return nil
}

// parseCredential splits "AKID/20130524/us-east-1/logs/aws4_request".
func parseCredential(c string) (Scope, error) {
	parts := strings.Split(c, "/")
	if len(parts) != 5 || parts[0] == "" {
		return Scope{}, awserr.CredentialElements(c)
	}
	if parts[4] != terminator {
		return Scope{}, awserr.CredentialTerminator(terminator, parts[4])
	}
	if !validRegion(parts[2]) {
		return Scope{}, awserr.CredentialRegion(parts[2])
	}
	if _, err := time.Parse(dateFormat, parts[1]); err != nil || len(parts[1]) != 8 {
		return Scope{}, awserr.CredentialDate(parts[1])
	}
	return Scope{AccessKey: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}, nil
}

// validRegion accepts any lower-case region-like name: Cairn is not tied to
// AWS's region list, so "local" or "eu-home-1" are fine.
func validRegion(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func (a *authInfo) checkScope(service string) error {
	if service != "" && a.scope.Service != service {
		return awserr.CredentialService(service)
	}
	if want := a.time.Format(dateFormat); a.scope.Date != want {
		return awserr.CredentialDateMismatch(a.scope.Date, want, a.time.Format(timeFormat))
	}
	return nil
}

func (a *authInfo) checkTime(now time.Time) error {
	now = now.UTC()
	ts := a.time.Format(timeFormat)
	if a.time.After(now.Add(MaxSkew)) {
		return awserr.SignatureNotYetCurrent(ts, now.Add(MaxSkew).Format(timeFormat), now.Format(timeFormat))
	}
	if a.presigned && a.expires > 0 {
		// AWS keeps the wording of the clock-skew error and names the window.
		if limit := now.Add(-time.Duration(a.expires) * time.Second); a.time.Before(limit) {
			return awserr.PresignExpired(ts, limit.Format(timeFormat), now.Format(timeFormat), a.expires)
		}
		return nil
	}
	if limit := now.Add(-MaxSkew); a.time.Before(limit) {
		return awserr.SignatureExpired(ts, limit.Format(timeFormat), now.Format(timeFormat))
	}
	return nil
}

// checkSignedHeaders enforces which headers the signature must cover, so a
// signature cannot be lifted onto another request.
//
// Host: AWS's own rule and text. AWS answers it with InvalidSignatureException
// (observed responses recorded by DynamoDB emulators, e.g. dynalite, and
// clients' bug reports quote it with a 403 InvalidSignatureException).
//
// X-Amz-Target: it names the operation, so a signature that does not cover it
// could be replayed for any other operation (a presigned STS URL signed over
// "host" alone became CreateLogGroup). Every AWS SDK and the CLI sign every
// header they send, X-Amz-Target included, so real clients always pass. AWS
// publishes no text for this case; we answer as for Host, the same rule for
// another header: InvalidSignatureException, AWS's sentence with the header's
// name. The rule applies to both forms (SignedHeaders and
// X-Amz-SignedHeaders) and whenever the header is present, even empty.
func (a *authInfo) checkSignedHeaders(r *http.Request) error {
	if !signs(a.signedHeaders, "host") {
		return awserr.HostUnsigned()
	}
	if _, ok := r.Header["X-Amz-Target"]; ok && !signs(a.signedHeaders, "x-amz-target") {
		return awserr.TargetUnsigned()
	}
	return nil
}

func signs(signed []string, name string) bool {
	for _, h := range signed {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// checkPayloadMode refuses payload modes Cairn does not implement; it needs
// no body, so Precheck runs it too.
func checkPayloadMode(r *http.Request) error {
	if declared := r.Header.Get("X-Amz-Content-Sha256"); strings.HasPrefix(declared, "STREAMING-") {
		return awserr.StreamingPayload(declared)
	}
	return nil
}

// payloadHash returns the hex hash that ends the canonical request: always
// the SHA-256 of the body as sent. A declared x-amz-content-sha256 must match
// it.
//
// UNSIGNED-PAYLOAD is not honoured. AWS documents it only for Amazon S3 (its
// SigV4 pages for S3: "Unsigned payload option ... when sending the request
// to Amazon S3"); other AWS services hash the body whatever the header says,
// so a signature made over UNSIGNED-PAYLOAD fails there with the ordinary
// signature mismatch, and so it does here. CloudWatch Logs and STS are not S3,
// and every SDK and the CLI hash the body for them (aws-sdk-go-v2's
// cloudwatchlogs and sts clients use ComputePayloadSHA256 on every
// operation). Honouring it would leave the body unsigned: a header signature
// over host;x-amz-date with UNSIGNED-PAYLOAD could then be replayed with any
// body.
func payloadHash(r *http.Request, body []byte) (string, error) {
	s := sha256.Sum256(body)
	sum := hex.EncodeToString(s[:])
	declared := r.Header.Get("X-Amz-Content-Sha256")
	if declared != "" && declared != UnsignedPayload && declared != sum {
		return "", awserr.PayloadHashMismatch()
	}
	return sum, nil
}

func decodeSignature(s string) ([32]byte, bool) {
	var out [32]byte
	if len(s) != 64 {
		return out, false
	}
	if _, err := hex.Decode(out[:], []byte(s)); err != nil {
		return out, false
	}
	return out, true
}

func signature(signingKey []byte, a *authInfo, canonical []byte) [32]byte {
	ch := sha256.Sum256(canonical)
	sts := make([]byte, 0, 160)
	sts = append(sts, Algorithm...)
	sts = append(sts, '\n')
	sts = a.time.AppendFormat(sts, timeFormat)
	sts = append(sts, '\n')
	sts = append(sts, a.scope.Date...)
	sts = append(sts, '/')
	sts = append(sts, a.scope.Region...)
	sts = append(sts, '/')
	sts = append(sts, a.scope.Service...)
	sts = append(sts, "/"+terminator+"\n"...)
	sts = hex.AppendEncode(sts, ch[:])
	m := hmac.New(sha256.New, signingKey)
	m.Write(sts)
	var out [32]byte
	m.Sum(out[:0])
	return out
}

// deriveKey computes the SigV4 signing key.
func deriveKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, terminator)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
