// Package sts serves the AWS Security Token Service Query API (AssumeRole,
// GetFederationToken, GetSessionToken, GetCallerIdentity) and mints and opens
// the temporary credentials it hands out.
//
// Data enters as form-encoded requests (Action=...&Version=2011-06-15, in a
// POST body or the query string) whose SigV4 signature the caller has already
// checked: the caller attaches who sent the request with WithCaller before
// calling Handler.ServeHTTP, and leaves r.Body readable (re-wrapping the bytes
// it read for verification). Data leaves as XML in the
// https://sts.amazonaws.com/doc/2011-06-15/ namespace, with an x-amzn-RequestId
// header; errors as an XML ErrorResponse (WriteError, which the caller also
// uses for signature failures on STS requests).
//
// Temporary credentials are stateless (see Issuer): the session token is the
// Session sealed with a key derived from the server key in the data directory,
// and the secret is derived from the access key id, so every node sharing the
// key can verify them. Their rights are the parent role's or identity's
// policies intersected with the session policy (Session.Rights).
package sts

import (
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/iam"
	"github.com/cairnlog/cairn/internal/uuid"
)

// Namespace is the STS XML namespace; APIVersion the only version served.
const (
	Namespace  = "https://sts.amazonaws.com/doc/2011-06-15/"
	APIVersion = "2011-06-15"
)

// Limits from the STS API reference.
const (
	MaxPolicyLength  = 2048 // characters of the Policy parameter
	MaxPackedPolicy  = 2048 // bytes of the packed (compact UTF-8) policy
	minDuration      = 900
	maxRoleDuration  = 43200
	maxFedDuration   = 129600
	defaultFedToken  = 43200
	rootMaxDuration  = 3600
	chainMaxDuration = 3600
)

// Caller is the authenticated sender of an STS request.
type Caller struct {
	Account      string
	ARN          string // the caller itself (for a role session, the session's ARN)
	UserID       string
	PrincipalARN string // aws:PrincipalArn: for a role session, the role
	Username     string // IAM users only
	Root         bool
	// Session is set when the caller used temporary credentials.
	Session *Session
	// Rights decide what the caller may do.
	Rights   *iam.Rights
	Region   string
	SourceIP netip.Addr
}

type callerKey struct{}

// WithCaller attaches the authenticated caller to a request context.
func WithCaller(ctx context.Context, c *Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller attached by WithCaller.
func CallerFrom(ctx context.Context) (*Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(*Caller)
	return c, ok && c != nil
}

// Config configures a Handler.
type Config struct {
	Issuer     *Issuer
	Identities *iam.Holder
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Handler serves the STS Query API.
type Handler struct {
	issuer     *Issuer
	identities *iam.Holder
	now        func() time.Time
}

// NewHandler returns a Handler.
func NewHandler(cfg Config) *Handler {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Handler{issuer: cfg.Issuer, identities: cfg.Identities, now: now}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := uuid.New()
	caller, ok := CallerFrom(r.Context())
	if !ok {
		WriteError(w, reqID, awserr.MissingToken())
		return
	}
	if err := r.ParseForm(); err != nil {
		WriteError(w, reqID, awserr.UnparsableParameters())
		return
	}
	action, version := r.Form.Get("Action"), r.Form.Get("Version")
	if version != "" && version != APIVersion {
		WriteError(w, reqID, awserr.ActionNotFound(action, version))
		return
	}
	var result any
	var err error
	switch action {
	case "AssumeRole":
		result, err = h.assumeRole(caller, r.Form)
	case "GetFederationToken":
		result, err = h.getFederationToken(caller, r.Form)
	case "GetSessionToken":
		result, err = h.getSessionToken(caller, r.Form)
	case "GetCallerIdentity":
		result = &callerIdentityResult{XMLName: xml.Name{Local: "GetCallerIdentityResult"}, Arn: caller.ARN, UserID: caller.UserID, Account: caller.Account}
	case "":
		err = awserr.MissingAction()
	default:
		err = awserr.ActionNotFound(action, APIVersion)
	}
	if err != nil {
		WriteError(w, reqID, err)
		return
	}
	writeResult(w, reqID, action, result)
}

type form interface{ Get(string) string }

var (
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]*$`)
	fedNameRE     = regexp.MustCompile(`^[\w+=,.@-]+$`)
)

func (h *Handler) assumeRole(c *Caller, f form) (any, error) {
	roleARN, sessionName := f.Get("RoleArn"), f.Get("RoleSessionName")
	if err := checkString(roleARN, "roleArn", 20, 2048, nil); err != nil {
		return nil, err
	}
	if err := checkString(sessionName, "roleSessionName", 2, 64, sessionNameRE); err != nil {
		return nil, err
	}
	dur, err := duration(f, minDuration, maxRoleDuration, 3600)
	if err != nil {
		return nil, err
	}
	policy, packed, err := sessionPolicy(f)
	if err != nil {
		return nil, err
	}
	store := h.identities.Load()
	role, found := store.Role(roleARN)
	ctx := h.context(c)
	if !found || !role.TrustAllows(ctx, c.Rights) {
		return nil, awserr.NotAuthorized(c.ARN, "sts:AssumeRole", roleARN)
	}
	if dur > int(role.MaxSessionDuration/time.Second) {
		return nil, awserr.DurationExceedsRole()
	}
	if c.Session != nil && c.Session.Kind == AssumedRole && dur > chainMaxDuration {
		return nil, awserr.DurationExceedsChaining()
	}
	now := h.now().UTC().Truncate(time.Second)
	s := Session{
		Kind:    AssumedRole,
		Account: role.Account,
		ARN:     "arn:aws:sts::" + role.Account + ":assumed-role/" + role.Name + "/" + sessionName,
		UserID:  role.RoleID + ":" + sessionName,
		Parent:  role.ARN,
		Source:  c.ARN,
		Issued:  now,
		Expires: now.Add(time.Duration(dur) * time.Second),
	}
	if policy != nil {
		s.Bounded, s.Policy = true, policy.Compact()
	}
	creds, err := h.issuer.Issue(s)
	if err != nil {
		return nil, err
	}
	return &assumeRoleResult{
		XMLName:          xml.Name{Local: "AssumeRoleResult"},
		AssumedRoleUser:  &assumedRoleUser{AssumedRoleID: s.UserID, Arn: s.ARN},
		Credentials:      xmlCredentials(creds),
		PackedPolicySize: packed,
	}, nil
}

func (h *Handler) getFederationToken(c *Caller, f form) (any, error) {
	if c.Session != nil {
		return nil, awserr.SessionCredentialsRefused("GetFederationToken")
	}
	name := f.Get("Name")
	if err := checkString(name, "name", 2, 32, fedNameRE); err != nil {
		return nil, err
	}
	dur, err := duration(f, minDuration, maxFedDuration, defaultFedToken)
	if err != nil {
		return nil, err
	}
	if c.Root {
		dur = min(dur, rootMaxDuration)
	}
	policy, packed, err := sessionPolicy(f)
	if err != nil {
		return nil, err
	}
	arn := "arn:aws:sts::" + c.Account + ":federated-user/" + name
	ctx := h.context(c)
	ctx.Action, ctx.Resource = "sts:GetFederationToken", arn
	if d := c.Rights.Decide(ctx); !d.Allowed {
		return nil, Denied(c.ARN, "sts:GetFederationToken", arn, d)
	}
	now := h.now().UTC().Truncate(time.Second)
	s := Session{
		Kind:    FederatedUser,
		Account: c.Account,
		ARN:     arn,
		UserID:  c.Account + ":" + name,
		Parent:  c.ARN,
		Source:  c.ARN,
		Bounded: true, // without a policy, a federated user may do nothing
		Issued:  now,
		Expires: now.Add(time.Duration(dur) * time.Second),
	}
	if policy != nil {
		s.Policy = policy.Compact()
	}
	creds, err := h.issuer.Issue(s)
	if err != nil {
		return nil, err
	}
	return &federationTokenResult{
		XMLName:          xml.Name{Local: "GetFederationTokenResult"},
		Credentials:      xmlCredentials(creds),
		FederatedUser:    &federatedUser{FederatedUserID: s.UserID, Arn: s.ARN},
		PackedPolicySize: packed,
	}, nil
}

func (h *Handler) getSessionToken(c *Caller, f form) (any, error) {
	if c.Session != nil {
		return nil, awserr.SessionCredentialsRefused("GetSessionToken")
	}
	dur, err := duration(f, minDuration, maxFedDuration, defaultFedToken)
	if err != nil {
		return nil, err
	}
	if c.Root {
		dur = min(dur, rootMaxDuration)
	}
	now := h.now().UTC().Truncate(time.Second)
	creds, err := h.issuer.Issue(Session{
		Kind: UserSession, Account: c.Account, ARN: c.ARN, UserID: c.UserID, Parent: c.ARN, Source: c.ARN,
		Issued: now, Expires: now.Add(time.Duration(dur) * time.Second),
	})
	if err != nil {
		return nil, err
	}
	return &sessionTokenResult{XMLName: xml.Name{Local: "GetSessionTokenResult"}, Credentials: xmlCredentials(creds)}, nil
}

func (h *Handler) context(c *Caller) *iam.Context {
	return &iam.Context{
		PrincipalARN: c.PrincipalARN, CallerARN: c.ARN, PrincipalAccount: c.Account,
		Username: c.Username, UserID: c.UserID,
		Region: c.Region, SourceIP: c.SourceIP, Time: h.now(),
	}
}

// Denied builds AWS's AccessDenied message for an identity-policy refusal.
func Denied(principal, action, resource string, d iam.Decision) *awserr.Error {
	session := d.In == iam.SessionPolicy
	if d.ExplicitDeny {
		return awserr.ExplicitDeny(principal, action, resource, session)
	}
	return awserr.ImplicitDeny(principal, action, resource, session)
}

// checkString applies the model's length and pattern constraints with AWS's
// validation wording.
func checkString(v, member string, minLen, maxLen int, re *regexp.Regexp) error {
	n := utf8.RuneCountInString(v)
	switch {
	case v == "":
		return invalid("null", member, "Member must not be null")
	case n < minLen:
		return invalid(quote(v), member, fmt.Sprintf("Member must have length greater than or equal to %d", minLen))
	case n > maxLen:
		return invalid(quote(v), member, fmt.Sprintf("Member must have length less than or equal to %d", maxLen))
	case re != nil && !re.MatchString(v):
		return invalid(quote(v), member, "Member must satisfy regular expression pattern: "+strings.Trim(re.String(), "^$"))
	}
	return nil
}

// invalid is STS's answer to one broken constraint: ValidationError. value
// is rendered as AWS renders it (quoted, null, or empty for the policy,
// whose text AWS does not echo).
func invalid(value, member, constraint string) error {
	return awserr.ValidationFailed(awserr.Violation{Value: value, Member: member, Constraint: constraint})
}

func quote(s string) string { return "'" + s + "'" }

func duration(f form, lo, hi, def int) (int, error) {
	s := f.Get("DurationSeconds")
	if s == "" {
		return def, nil
	}
	d, err := strconv.Atoi(s)
	switch {
	case err != nil:
		return 0, invalid(quote(s), "durationSeconds", "Member must be a number")
	case d < lo:
		return 0, invalid(quote(strconv.Itoa(d)), "durationSeconds", fmt.Sprintf("Member must have value greater than or equal to %d", lo))
	case d > hi:
		return 0, invalid(quote(strconv.Itoa(d)), "durationSeconds", fmt.Sprintf("Member must have value less than or equal to %d", hi))
	}
	return d, nil
}

// sessionPolicy parses the optional Policy parameter. The plaintext limit
// counts characters; the packed limit counts the bytes of the compact UTF-8
// form (AWS packs into a binary format of its own; Cairn's token carries the
// compact JSON, so its size is what is bounded). PackedPolicySize is that
// size as a percentage of the limit, as AWS reports it.
func sessionPolicy(f form) (*iam.Policy, int, error) {
	doc := f.Get("Policy")
	if doc == "" {
		return nil, 0, nil
	}
	if n := utf8.RuneCountInString(doc); n > MaxPolicyLength {
		return nil, 0, invalid("", "policy", fmt.Sprintf("Member must have length less than or equal to %d", MaxPolicyLength))
	}
	p, err := iam.ParsePolicy([]byte(doc))
	if err != nil {
		return nil, 0, err
	}
	packed := (len(p.Compact())*100 + MaxPackedPolicy - 1) / MaxPackedPolicy
	if packed > 100 {
		return nil, 0, awserr.PackedPolicy(packed)
	}
	return p, packed, nil
}

// XML shapes of the responses.

type xmlCreds struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

func xmlCredentials(c Credentials) *xmlCreds {
	return &xmlCreds{c.AccessKeyID, c.SecretAccessKey, c.SessionToken, c.Expiration.UTC().Format("2006-01-02T15:04:05Z")}
}

type assumedRoleUser struct {
	AssumedRoleID string `xml:"AssumedRoleId"`
	Arn           string `xml:"Arn"`
}

type federatedUser struct {
	FederatedUserID string `xml:"FederatedUserId"`
	Arn             string `xml:"Arn"`
}

type assumeRoleResult struct {
	XMLName          xml.Name
	AssumedRoleUser  *assumedRoleUser `xml:"AssumedRoleUser"`
	Credentials      *xmlCreds        `xml:"Credentials"`
	PackedPolicySize int              `xml:"PackedPolicySize,omitempty"`
}

type federationTokenResult struct {
	XMLName          xml.Name
	Credentials      *xmlCreds      `xml:"Credentials"`
	FederatedUser    *federatedUser `xml:"FederatedUser"`
	PackedPolicySize int            `xml:"PackedPolicySize,omitempty"`
}

type sessionTokenResult struct {
	XMLName     xml.Name
	Credentials *xmlCreds `xml:"Credentials"`
}

type callerIdentityResult struct {
	XMLName xml.Name
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
}

func writeResult(w http.ResponseWriter, reqID, action string, result any) {
	type envelope struct {
		XMLName  xml.Name
		Xmlns    string `xml:"xmlns,attr"`
		Result   any    // named by its XMLName, e.g. AssumeRoleResult
		Metadata struct {
			RequestID string `xml:"RequestId"`
		} `xml:"ResponseMetadata"`
	}
	env := envelope{XMLName: xml.Name{Local: action + "Response"}, Xmlns: Namespace, Result: result}
	env.Metadata.RequestID = reqID
	body, err := xml.Marshal(env)
	if err != nil {
		WriteError(w, reqID, err)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", reqID)
	w.Write(body)
}

// WriteError writes err as an STS XML ErrorResponse, with the code's Query
// name and status from awserr's table. An error that is not an *awserr.Error,
// or is a server fault, is reported as InternalFailure without its text.
func WriteError(w http.ResponseWriter, reqID string, err error) {
	e, ok := awserr.As(err)
	if !ok || e.Code.Status() >= http.StatusInternalServerError {
		e = awserr.QueryInternal()
	}
	code, status := e.Code.Query()
	typ := "Sender"
	if status >= http.StatusInternalServerError {
		typ = "Receiver"
	}
	var b strings.Builder
	b.WriteString(`<ErrorResponse xmlns="` + Namespace + `"><Error><Type>` + typ + `</Type><Code>` + code + `</Code><Message>`)
	xml.EscapeText(&b, []byte(e.Message))
	b.WriteString(`</Message></Error><RequestId>` + reqID + `</RequestId></ErrorResponse>`)
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amzn-RequestId", reqID)
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}
