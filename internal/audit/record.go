// Package audit is Cairn's own CloudTrail: every API call the server answers
// becomes a CloudTrail-format record in a log group (--audit-log-group), in
// the stream CloudTrail would write it to (<accountId>_CloudTrail_<region>),
// so CloudTrail's documented metric filters and queries work on it unchanged.
//
// Data flows: protocol.Handler → Writer.Audit (on the request's goroutine:
// build the record, drop what must not be kept, encode, enqueue; never
// blocks) → a bounded queue → the Writer's goroutine, which batches records
// and stores them with logs.Put through the core logs service as a system
// caller. Those writes do not pass through protocol.Handler, so they are
// never audited themselves: no feedback loop.
package audit

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cairnlog/cairn/internal/caller"
	"github.com/cairnlog/cairn/internal/protocol"
	"github.com/cairnlog/cairn/internal/sts"
	"github.com/cairnlog/cairn/internal/uuid"
)

// Record is one CloudTrail event (CloudTrail record contents, "Management,
// data and network activity events"). Fields CloudTrail always writes have
// no omitempty; requestParameters and responseElements are null when absent,
// as in CloudTrail's records.
type Record struct {
	EventVersion        string          `json:"eventVersion"`
	UserIdentity        UserIdentity    `json:"userIdentity"`
	EventTime           string          `json:"eventTime"`
	EventSource         string          `json:"eventSource"`
	EventName           string          `json:"eventName"`
	AWSRegion           string          `json:"awsRegion"`
	SourceIPAddress     string          `json:"sourceIPAddress"`
	UserAgent           string          `json:"userAgent"`
	ErrorCode           string          `json:"errorCode,omitempty"`
	ErrorMessage        string          `json:"errorMessage,omitempty"`
	RequestParameters   json.RawMessage `json:"requestParameters"`
	ResponseElements    json.RawMessage `json:"responseElements"`
	AdditionalEventData map[string]any  `json:"additionalEventData,omitempty"`
	RequestID           string          `json:"requestID"`
	EventID             string          `json:"eventID"`
	ReadOnly            bool            `json:"readOnly"`
	Resources           []Resource      `json:"resources,omitempty"`
	EventType           string          `json:"eventType"`
	ManagementEvent     bool            `json:"managementEvent"`
	RecipientAccountID  string          `json:"recipientAccountId"`
	EventCategory       string          `json:"eventCategory"`
}

// UserIdentity is CloudTrail's userIdentity element.
type UserIdentity struct {
	Type           string          `json:"type"`
	PrincipalID    string          `json:"principalId"`
	ARN            string          `json:"arn"`
	AccountID      string          `json:"accountId"`
	AccessKeyID    string          `json:"accessKeyId,omitempty"`
	UserName       string          `json:"userName,omitempty"`
	SessionContext *SessionContext `json:"sessionContext,omitempty"`
}

// SessionContext is userIdentity.sessionContext, for temporary credentials.
type SessionContext struct {
	SessionIssuer *SessionIssuer `json:"sessionIssuer,omitempty"`
	Attributes    struct {
		CreationDate     string `json:"creationDate"`
		MFAAuthenticated string `json:"mfaAuthenticated"`
	} `json:"attributes"`
}

// SessionIssuer is who issued a session: the role (AssumedRole) or the IAM
// user (FederatedUser).
type SessionIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

// Resource is an element of a data event's resources list.
type Resource struct {
	ARN       string `json:"ARN"`
	AccountID string `json:"accountId"`
	Type      string `json:"type"`
}

// Versions of the record format. CloudTrail's current version is 1.11; the
// records Cairn writes carry exactly the fields of the version named, the
// versions CloudTrail's own CloudWatch Logs and STS records show.
const (
	logsEventVersion = "1.09"
	stsEventVersion  = "1.08"
)

// MaxParameters bounds requestParameters and responseElements each:
// CloudTrail documents 100 KB for both and omits (not cuts) a larger one,
// which keeps every record valid JSON. Cairn does the same, and says so in
// additionalEventData ("requestParametersOmitted": true), so that a reader
// can tell an omitted value from an absent one. With both bounded, a record
// stays well within CloudWatch Logs' 256 KB event limit.
const MaxParameters = 100 << 10

// maxRecord is CloudWatch Logs' event limit less PutLogEvents' 26 bytes of
// overhead, the size a record must never exceed.
const maxRecord = 262144 - 26

// dataOps are the operations recorded only with data events on: ingestion
// and the reads of log data (CloudTrail's split between data plane and
// management plane). Everything else is a management event.
var dataOps = map[string]bool{
	"PutLogEvents": true, "GetLogEvents": true, "FilterLogEvents": true, "GetLogRecord": true, "GetLogObject": true,
	"StartQuery": true, "StopQuery": true, "GetQueryResults": true, "StartLiveTail": true,
}

// IsDataEvent reports whether a logs operation is a data event.
func IsDataEvent(op string) bool { return dataOps[op] }

// readOnly reports what CloudTrail's readOnly says: the call changes nothing.
func readOnly(op string, isSTS bool) bool {
	if isSTS {
		return true // AssumeRole, GetFederationToken, ... change no resource
	}
	for _, p := range []string{"Describe", "Get", "List", "Filter", "Test"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return op == "StartQuery" || op == "StartLiveTail"
}

// dropped are request members never copied into a record: message bodies
// (PutLogEvents' logEvents, TestMetricFilter's and TestTransformer's sample
// messages) and anything that could be a secret. Policy documents are kept:
// CloudTrail records them (PutResourcePolicy's policyDocument, AssumeRole's
// policy), and they are what an auditor looks for.
var dropped = map[string]bool{
	"logEvents": true, "logEventMessages": true,
	"secretAccessKey": true, "sessionToken": true, "password": true, "secret": true,
}

// Build turns an answered call into its record. now is the time the call was
// answered (CloudTrail's eventTime: "the request was completed").
func Build(c *protocol.AuditCall, now time.Time) *Record {
	r := &Record{
		EventTime:          now.UTC().Format("2006-01-02T15:04:05Z"),
		AWSRegion:          c.Caller.Region,
		SourceIPAddress:    sourceIP(c.Caller),
		UserAgent:          truncate(c.UserAgent, 1024),
		RequestID:          c.Caller.RequestID,
		EventID:            uuid.New(),
		EventType:          "AwsApiCall",
		ManagementEvent:    true,
		RecipientAccountID: c.Caller.Account,
		EventCategory:      "Management",
		UserIdentity:       identity(c.Caller),
		RequestParameters:  json.RawMessage("null"),
		ResponseElements:   json.RawMessage("null"),
	}
	if c.STS {
		r.EventVersion, r.EventSource = stsEventVersion, "sts.amazonaws.com"
		r.ReadOnly = true
		buildSTS(r, c)
	} else {
		r.EventVersion, r.EventSource, r.EventName = logsEventVersion, "logs.amazonaws.com", c.Op
		r.ReadOnly = readOnly(c.Op, false)
		if dataOps[c.Op] {
			r.ManagementEvent, r.EventCategory = false, "Data"
		}
		if c.Err != nil {
			r.ErrorCode, r.ErrorMessage = string(c.Err.Code), truncate(c.Err.Message, 4096)
		}
		if c.Request != nil {
			r.setParams(scrub(c.Request))
		}
		// CloudTrail writes responseElements for calls that change
		// something; reads (whose answers are log data) get null.
		if c.Err == nil && !r.ReadOnly && c.Response != nil {
			if _, stream := c.Response.(protocol.Streamer); !stream {
				if raw, err := json.Marshal(c.Response); err == nil && string(raw) != "{}" {
					r.setResponse(raw)
				}
			}
		}
		if !r.ManagementEvent {
			r.Resources = resources(c)
		}
	}
	return r
}

func (r *Record) setParams(raw []byte) {
	if raw == nil {
		return
	}
	if len(raw) > MaxParameters {
		r.omitted("requestParametersOmitted")
		return
	}
	r.RequestParameters = raw
}

func (r *Record) setResponse(raw []byte) {
	if len(raw) > MaxParameters {
		r.omitted("responseElementsOmitted")
		return
	}
	r.ResponseElements = raw
}

func (r *Record) omitted(key string) {
	if r.AdditionalEventData == nil {
		r.AdditionalEventData = map[string]any{}
	}
	r.AdditionalEventData[key] = true
}

// Encode is the record as stored: one JSON object, at most maxRecord bytes
// (the parameters are bounded; this is the last guard).
func (r *Record) Encode() ([]byte, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	if len(raw) > maxRecord {
		r.ResponseElements = json.RawMessage("null")
		r.omitted("responseElementsOmitted")
		if raw, err = json.Marshal(r); err == nil && len(raw) > maxRecord {
			r.RequestParameters = json.RawMessage("null")
			r.omitted("requestParametersOmitted")
			raw, err = json.Marshal(r)
		}
	}
	return raw, err
}

// scrub is a request body without the members that must not be kept; nil
// when it is not a JSON object (a malformed request's body is not copied:
// CloudTrail records requestParameters null then too).
func scrub(body []byte) []byte {
	var m map[string]json.RawMessage
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&m); err != nil || m == nil {
		return nil
	}
	for k := range m {
		if dropped[k] || strings.Contains(strings.ToLower(k), "secret") {
			delete(m, k)
		}
	}
	if len(m) == 0 {
		return nil
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil
	}
	return raw
}

// resources names a data event's log group, as CloudTrail lists the
// resources of a data event.
func resources(c *protocol.AuditCall) []Resource {
	var in struct {
		LogGroupName       string `json:"logGroupName"`
		LogGroupIdentifier string `json:"logGroupIdentifier"`
	}
	if json.Unmarshal(c.Request, &in) != nil {
		return nil
	}
	name := in.LogGroupName
	if name == "" {
		name = in.LogGroupIdentifier
	}
	if name == "" || len(name) > 2048 {
		return nil
	}
	arn := name
	if !strings.HasPrefix(name, "arn:") {
		arn = "arn:aws:logs:" + c.Caller.Region + ":" + c.Caller.Account + ":log-group:" + name
	}
	return []Resource{{ARN: arn, AccountID: c.Caller.Account, Type: "AWS::Logs::LogGroup"}}
}

// identity is CloudTrail's userIdentity for a caller: Root, IAMUser,
// AssumedRole (with the role as sessionIssuer) or FederatedUser (with the
// IAM user as sessionIssuer).
func identity(c caller.Caller) UserIdentity {
	id := UserIdentity{ARN: c.Identity.ARN, AccountID: c.Account, AccessKeyID: c.Identity.AccessKeyID, PrincipalID: c.Identity.UserID}
	s := c.Identity.STS
	switch {
	case s != nil && s.Session != nil && s.Session.Kind == sts.AssumedRole:
		id.Type = "AssumedRole"
		roleName := s.PrincipalARN[strings.LastIndexByte(s.PrincipalARN, '/')+1:]
		roleID, _, _ := strings.Cut(id.PrincipalID, ":")
		id.SessionContext = &SessionContext{SessionIssuer: &SessionIssuer{Type: "Role", PrincipalID: roleID, ARN: s.PrincipalARN,
			AccountID: c.Account, UserName: roleName}}
		id.SessionContext.Attributes.CreationDate = s.Session.Issued.UTC().Format("2006-01-02T15:04:05Z")
		id.SessionContext.Attributes.MFAAuthenticated = "false"
	case s != nil && s.Session != nil && s.Session.Kind == sts.FederatedUser:
		id.Type = "FederatedUser"
		issuer := &SessionIssuer{Type: "IAMUser", ARN: s.Session.Parent, AccountID: c.Account,
			UserName: s.Session.Parent[strings.LastIndexByte(s.Session.Parent, '/')+1:]}
		if strings.HasSuffix(s.Session.Parent, ":root") {
			issuer.Type, issuer.UserName = "Root", ""
		}
		issuer.PrincipalID = s.Session.Source
		id.SessionContext = &SessionContext{SessionIssuer: issuer}
		id.SessionContext.Attributes.CreationDate = s.Session.Issued.UTC().Format("2006-01-02T15:04:05Z")
		id.SessionContext.Attributes.MFAAuthenticated = "false"
	case s != nil && s.Root, strings.HasSuffix(id.ARN, ":root"):
		id.Type = "Root"
		id.PrincipalID = c.Account
	default:
		id.Type = "IAMUser"
		id.UserName = id.ARN[strings.LastIndexByte(id.ARN, '/')+1:]
		if s != nil && s.Username != "" {
			id.UserName = s.Username
		}
		if s != nil && s.Session != nil {
			// GetSessionToken credentials act as the user, with a session.
			id.SessionContext = &SessionContext{}
			id.SessionContext.Attributes.CreationDate = s.Session.Issued.UTC().Format("2006-01-02T15:04:05Z")
			id.SessionContext.Attributes.MFAAuthenticated = "false"
		}
	}
	return id
}

func sourceIP(c caller.Caller) string {
	if !c.SourceIP.IsValid() {
		return ""
	}
	return c.SourceIP.Unmap().String()
}

// buildSTS fills an STS call's name, parameters, answer and error from its
// form and the XML it was answered with. Parameters are those CloudTrail
// records for STS (camelCase members); the answer's credentials keep the
// access key id and expiration only. CloudTrail also records the session
// token there; Cairn does not: a record readable through logs:GetLogEvents
// would hand out the session itself.
func buildSTS(r *Record, c *protocol.AuditCall) {
	form, err := url.ParseQuery(string(c.Request))
	if err != nil {
		form = url.Values{}
	}
	r.EventName = truncate(form.Get("Action"), 128)
	params := map[string]any{}
	for member, name := range map[string]string{"RoleArn": "roleArn", "RoleSessionName": "roleSessionName", "Name": "name",
		"Policy": "policy", "ExternalId": "externalId", "SerialNumber": "serialNumber", "SourceIdentity": "sourceIdentity"} {
		if v := form.Get(member); v != "" {
			params[name] = truncate(v, 4096)
		}
	}
	if v := form.Get("DurationSeconds"); v != "" {
		if n, err := strconv.Atoi(v); err == nil {
			params["durationSeconds"] = n
		}
	}
	if len(params) > 0 {
		raw, _ := json.Marshal(params)
		r.setParams(raw)
	}
	var answer struct {
		Error struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Error"`
		Result struct {
			Credentials *struct {
				AccessKeyID string `xml:"AccessKeyId"`
				Expiration  string `xml:"Expiration"`
			} `xml:"Credentials"`
			AssumedRoleUser *struct {
				AssumedRoleID string `xml:"AssumedRoleId"`
				Arn           string `xml:"Arn"`
			} `xml:"AssumedRoleUser"`
			FederatedUser *struct {
				FederatedUserID string `xml:"FederatedUserId"`
				Arn             string `xml:"Arn"`
			} `xml:"FederatedUser"`
			PackedPolicySize int `xml:"PackedPolicySize"`
		} `xml:",any"`
	}
	if xml.Unmarshal(c.ResponseXML, &answer) != nil {
		return
	}
	if answer.Error.Code != "" {
		r.ErrorCode, r.ErrorMessage = answer.Error.Code, truncate(answer.Error.Message, 4096)
		return
	}
	if r.EventName == "GetCallerIdentity" {
		return // a read: no responseElements
	}
	resp := map[string]any{}
	res := answer.Result
	if res.Credentials != nil {
		exp := res.Credentials.Expiration
		if t, err := time.Parse(time.RFC3339, exp); err == nil {
			// CloudTrail's form: "Jan 1, 2024, 12:00:00 PM".
			exp = t.UTC().Format("Jan 2, 2006, 3:04:05 PM")
		}
		resp["credentials"] = map[string]string{"accessKeyId": res.Credentials.AccessKeyID, "expiration": exp}
	}
	if u := res.AssumedRoleUser; u != nil {
		resp["assumedRoleUser"] = map[string]string{"assumedRoleId": u.AssumedRoleID, "arn": u.Arn}
	}
	if u := res.FederatedUser; u != nil {
		resp["federatedUser"] = map[string]string{"federatedUserId": u.FederatedUserID, "arn": u.Arn}
	}
	if res.PackedPolicySize > 0 {
		resp["packedPolicySize"] = res.PackedPolicySize
	}
	if len(resp) > 0 {
		raw, _ := json.Marshal(resp)
		r.setResponse(raw)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
