// Package dataprotect is the engine behind CloudWatch Logs data protection
// policies: it parses and validates AWS's policy documents (Parse), and
// compiles one or more policies into a Masker that finds sensitive data in a
// message and masks it with asterisks.
//
// Data flows: a policy document (a string, as PutDataProtectionPolicy or
// PutAccountPolicy receive it) → Parse → *Policy (name, identifiers, custom
// regexes, findings destination) → Compile(policies...) → *Masker. At ingest
// the Masker's Mask(message) returns the masked message and the detections
// (identifier, rune offsets) an audit findings report needs. The engine knows
// nothing of groups, stores or HTTP; package internal/logs/dataprotection
// wires it to the service.
//
// Speed: the managed identifiers are found in one pass over the message
// (scan.go: word masks find, eight bytes at a time, each trigger byte, an
// '@', a dot, a dash..., and hand it to the validators of the identifiers
// that want it; card numbers are looked for only in a message with a run
// of 13 bytes that can be one); a line without triggers costs one walk of
// its words. The per-identifier finders
// the pass replaced are the test oracle (oracle_test.go). Custom
// identifiers are Go regexps (RE2: linear time), prefiltered by their
// literal prefix when they have one.
package dataprotect

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/pattern"
)

// Limits of a policy document (reference ingest-processing.md §1.2–1.3).
const (
	MaxDocumentChars = 30_720
	maxCustom        = 10
	maxCustomName    = 128
	maxCustomRegex   = 200
	// maxCustomProgram bounds a custom identifier's RE2 program
	// (instructions): every ingested event of the group is scanned with
	// it, at a cost per byte that grows with the program, and 200
	// characters of ".{0,1000}" compile to some 44,000 (2.6 s for one
	// 5 KB PutLogEvents before the bound). The filter patterns' %regex%
	// have the same bound (pattern.MaxRegexProgram).
	maxCustomProgram = 512
	version          = "2021-06-01"
	managedPrefix    = "dataprotection::aws:data-identifier/"
)

// Policy is a parsed, valid data protection policy.
type Policy struct {
	Name string
	// Identifiers are the identifiers both statements list, in the
	// document's order: managed ones by Id ("EmailAddress"), custom ones by
	// their Name.
	Identifiers []string
	// Custom maps a custom identifier's Name to its regex.
	Custom map[string]*regexp.Regexp
	// FindingsLogGroup is the audit statement's CloudWatchLogs destination
	// ("" when findings go nowhere but metrics).
	FindingsLogGroup string
}

// document is the JSON form. Keys are matched case-insensitively, as
// encoding/json does: aws-cdk sends camelCase statements, the docs and
// Terraform PascalCase, and AWS accepts both (reference §1.2).
type document struct {
	Name          *string        `json:"Name"`
	Description   *string        `json:"Description"`
	Version       *string        `json:"Version"`
	Configuration *configuration `json:"Configuration"`
	Statement     []statement    `json:"Statement"`
}

type configuration struct {
	CustomDataIdentifier []customIdentifier `json:"CustomDataIdentifier"`
}

type customIdentifier struct {
	Name  string `json:"Name"`
	Regex string `json:"Regex"`
}

type statement struct {
	Sid            string    `json:"Sid"`
	DataIdentifier []string  `json:"DataIdentifier"`
	Operation      operation `json:"Operation"`
}

type operation struct {
	Audit      *audit      `json:"Audit"`
	Deidentify *deidentify `json:"Deidentify"`
}

type audit struct {
	FindingsDestination *destination `json:"FindingsDestination"`
}

type destination struct {
	CloudWatchLogs *struct {
		LogGroup string `json:"LogGroup"`
	} `json:"CloudWatchLogs"`
	Firehose *struct {
		DeliveryStream string `json:"DeliveryStream"`
	} `json:"Firehose"`
	S3 *struct {
		Bucket string `json:"Bucket"`
	} `json:"S3"`
}

type deidentify struct {
	MaskConfig *json.RawMessage `json:"MaskConfig"`
}

// Parse validates a policy document as PutDataProtectionPolicy does and
// returns the policy, or an InvalidParameterException saying what is wrong.
// AWS documents two of its texts (a bad identifier, a bad Name); the others
// are Cairn's and say which rule the document breaks.
func Parse(doc string) (*Policy, error) {
	if n := len([]rune(doc)); n > MaxDocumentChars {
		return nil, awserr.InvalidPolicyDocument("the policy document must be at most 30720 characters")
	}
	var d document
	dec := json.NewDecoder(strings.NewReader(doc))
	if err := dec.Decode(&d); err != nil {
		return nil, awserr.InvalidPolicyDocument("the policy document is not a valid JSON object")
	}
	if dec.More() || !bytes.HasPrefix(bytes.TrimSpace([]byte(doc)), []byte("{")) {
		return nil, awserr.InvalidPolicyDocument("the policy document is not a valid JSON object")
	}
	if d.Name == nil || *d.Name == "" {
		return nil, awserr.InvalidPolicyDocument("Name is required")
	}
	if !validName(*d.Name) {
		return nil, awserr.PolicyNameChars()
	}
	if d.Version == nil || *d.Version != version {
		return nil, awserr.InvalidPolicyDocument("Version must be " + version)
	}
	p := &Policy{Name: *d.Name, Custom: map[string]*regexp.Regexp{}}
	if d.Configuration != nil {
		if len(d.Configuration.CustomDataIdentifier) > maxCustom {
			return nil, awserr.InvalidPolicyDocument("a policy can declare at most 10 custom data identifiers")
		}
		for _, c := range d.Configuration.CustomDataIdentifier {
			re, err := parseCustom(c)
			if err != nil {
				return nil, err
			}
			if _, dup := p.Custom[c.Name]; dup {
				return nil, awserr.InvalidPolicyDocument("custom data identifier " + c.Name + " is declared twice")
			}
			p.Custom[c.Name] = re
		}
	}
	// Exactly one Audit and one Deidentify statement (the API reference's
	// "two blocks"; the user guide's "one or more de-identify statements"
	// conflicts with it and with every example, reference §1.4 rule 3).
	var auditSt, maskSt *statement
	for i := range d.Statement {
		st := &d.Statement[i]
		switch {
		case st.Operation.Audit != nil && st.Operation.Deidentify != nil:
			return nil, awserr.InvalidPolicyDocument("a statement has one operation, Audit or Deidentify")
		case st.Operation.Audit != nil:
			if auditSt != nil {
				return nil, awserr.InvalidPolicyDocument("the policy must have exactly one Audit statement")
			}
			auditSt = st
		case st.Operation.Deidentify != nil:
			if maskSt != nil {
				return nil, awserr.InvalidPolicyDocument("the policy must have exactly one Deidentify statement")
			}
			maskSt = st
		default:
			return nil, awserr.InvalidPolicyDocument("every statement needs an Operation, Audit or Deidentify")
		}
	}
	if auditSt == nil {
		return nil, awserr.InvalidPolicyDocument("the policy must have exactly one Audit statement")
	}
	if maskSt == nil {
		return nil, awserr.InvalidPolicyDocument("the policy must have exactly one Deidentify statement")
	}
	if auditSt.Operation.Audit.FindingsDestination == nil {
		return nil, awserr.InvalidPolicyDocument("the Audit operation needs a FindingsDestination (it may be empty)")
	}
	if mc := maskSt.Operation.Deidentify.MaskConfig; mc == nil || !isEmptyObject(*mc) {
		return nil, awserr.InvalidPolicyDocument("the Deidentify operation needs an empty MaskConfig")
	}
	fd := auditSt.Operation.Audit.FindingsDestination
	if fd.CloudWatchLogs != nil {
		if fd.CloudWatchLogs.LogGroup == "" {
			return nil, awserr.InvalidPolicyDocument("FindingsDestination.CloudWatchLogs needs a LogGroup")
		}
		p.FindingsLogGroup = fd.CloudWatchLogs.LogGroup
	}
	// Cairn has no S3 or Firehose to deliver to: storing such a destination
	// would promise findings that never arrive, so it is refused.
	if fd.S3 != nil {
		return nil, awserr.InvalidPolicyDocument("this server cannot deliver findings to S3; use CloudWatchLogs")
	}
	if fd.Firehose != nil {
		return nil, awserr.InvalidPolicyDocument("this server cannot deliver findings to Firehose; use CloudWatchLogs")
	}
	if len(auditSt.DataIdentifier) == 0 || len(maskSt.DataIdentifier) == 0 {
		return nil, awserr.InvalidPolicyDocument("DataIdentifier must list at least one data identifier")
	}
	for _, list := range [][]string{auditSt.DataIdentifier, maskSt.DataIdentifier} {
		for _, id := range list {
			if err := p.checkIdentifier(id); err != nil {
				return nil, err
			}
		}
	}
	// The two lists must name the same identifiers; order does not matter.
	a, m := identifierSet(auditSt.DataIdentifier), identifierSet(maskSt.DataIdentifier)
	if !slices.Equal(a, m) {
		return nil, awserr.InvalidPolicyDocument("the Audit and Deidentify statements must list the same data identifiers")
	}
	for _, id := range auditSt.DataIdentifier {
		n := identifierName(id)
		if !slices.Contains(p.Identifiers, n) {
			p.Identifiers = append(p.Identifiers, n)
		}
	}
	for name := range p.Custom {
		if !slices.Contains(p.Identifiers, name) {
			return nil, awserr.InvalidPolicyDocument("custom data identifier " + name + " is declared but not used")
		}
	}
	return p, nil
}

func isEmptyObject(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(raw, &m) == nil && m != nil && len(m) == 0
}

// checkIdentifier accepts a managed identifier's ARN (any partition) that
// Cairn detects, or a declared custom identifier's Name.
func (p *Policy) checkIdentifier(id string) error {
	if _, ok := p.Custom[id]; ok {
		return nil
	}
	name, ok := managedID(id)
	if !ok {
		return awserr.InvalidDataIdentifier(id)
	}
	if managedIndex(name) >= 0 {
		return nil
	}
	if awsManaged(name) {
		return awserr.UndetectedDataIdentifier(id)
	}
	return awserr.InvalidDataIdentifier(id)
}

// managedID returns the Id of a managed identifier ARN:
// arn:<partition>:dataprotection::aws:data-identifier/<Id>.
func managedID(arn string) (string, bool) {
	rest, ok := strings.CutPrefix(arn, "arn:")
	if !ok {
		return "", false
	}
	partition, rest, ok := strings.Cut(rest, ":")
	if !ok || (partition != "aws" && partition != "aws-cn" && partition != "aws-us-gov") {
		return "", false
	}
	id, ok := strings.CutPrefix(rest, managedPrefix)
	return id, ok && id != ""
}

func identifierName(id string) string {
	if n, ok := managedID(id); ok {
		return n
	}
	return id
}

func identifierSet(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, identifierName(id))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func validName(s string) bool {
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// parseCustom validates a custom identifier (CWL-custom-data-identifiers:
// Name ≤ 128 of [A-Za-z0-9_-], not a managed Id; Regex ≤ 200 characters).
// The documented regex character set leaves out parentheses, which public
// Terraform code uses and AWS accepts in practice (reference §1.3); Cairn
// accepts any regex RE2 compiles.
func parseCustom(c customIdentifier) (*regexp.Regexp, error) {
	if c.Name == "" || len(c.Name) > maxCustomName || !validName(c.Name) {
		return nil, awserr.InvalidPolicyDocument("a custom data identifier Name must be 1 to 128 alphanumeric characters, hyphens (-) or underscores (_)")
	}
	if managedIndex(c.Name) >= 0 || awsManaged(c.Name) {
		return nil, awserr.InvalidPolicyDocument("custom data identifier " + c.Name + " has the name of a managed data identifier")
	}
	if c.Regex == "" || len([]rune(c.Regex)) > maxCustomRegex {
		return nil, awserr.InvalidPolicyDocument("the Regex of custom data identifier " + c.Name + " must be 1 to 200 characters")
	}
	re, err := regexp.Compile(c.Regex)
	if err != nil {
		return nil, awserr.InvalidPolicyDocument("the Regex of custom data identifier " + c.Name + " is not a valid regular expression")
	}
	if pattern.ProgramSize(c.Regex) > maxCustomProgram {
		return nil, awserr.InvalidPolicyDocument("the Regex of custom data identifier " + c.Name + " is too complex; use smaller repetition counts")
	}
	if re.MatchString("") {
		return nil, awserr.InvalidPolicyDocument("the Regex of custom data identifier " + c.Name + " matches the empty string")
	}
	return re, nil
}
