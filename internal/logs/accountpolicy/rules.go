package accountpolicy

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/cairnlog/cairn/internal/awserr"
	"github.com/cairnlog/cairn/internal/awsmodel"
	"github.com/cairnlog/cairn/internal/dataprotect"
	"github.com/cairnlog/cairn/internal/logs"
)

// Per-type limits (reference ingest-processing.md §2.7, §3.2).
const (
	maxScopedTransformer = 20
	maxScopedFieldIndex  = 20
	maxDataSourceIndex   = 20
	maxScopedMetric      = 5
	maxMetricValues      = 50
	maxProcessors        = 20
)

// checkSelection refuses criteria the type does not take.
func checkSelection(policyType string, sel Selection, text string) error {
	if sel.Unscoped() {
		return nil
	}
	switch policyType {
	case DataProtection:
		return awserr.InvalidSelectionCriteria("selectionCriteria is not supported for DATA_PROTECTION_POLICY")
	case SubscriptionFilter:
		if sel.Field != "LogGroupName" || !sel.Not {
			return awserr.InvalidSelectionCriteria(`SUBSCRIPTION_FILTER_POLICY accepts only LogGroupName NOT IN ["name", ...]`)
		}
	case Transformer:
		if sel.Field != "LogGroupNamePrefix" || sel.Not {
			return awserr.InvalidSelectionCriteria(`TRANSFORMER_POLICY accepts only LogGroupNamePrefix IN ["prefix", ...]`)
		}
	case FieldIndex:
		if sel.DataSourceName == "" && (sel.Field != "LogGroupNamePrefix" || sel.Not) {
			return awserr.InvalidSelectionCriteria(`FIELD_INDEX_POLICY accepts only LogGroupNamePrefix IN ["prefix", ...] or DataSourceName = "name" AND DataSourceType = "type"`)
		}
	case MetricExtraction:
		if sel.DataSourceName != "" {
			return awserr.InvalidSelectionCriteria("METRIC_EXTRACTION_POLICY accepts LogGroupName or LogGroupNamePrefix with IN or NOT IN")
		}
		if len(sel.Values) > maxMetricValues {
			return awserr.InvalidSelectionCriteria("METRIC_EXTRACTION_POLICY accepts at most 50 values")
		}
	}
	if sel.DataSourceName != "" && policyType != FieldIndex {
		return awserr.InvalidSelectionCriteria("DataSourceName and DataSourceType are supported only for FIELD_INDEX_POLICY")
	}
	return nil
}

// checkLimits applies the type's count and overlap rules against the other
// policies of the type (the one being replaced left out).
func checkLimits(policyType string, sel Selection, others []Policy) error {
	var unscoped, scoped, dataSource, notIn int
	var prefixes []string
	for _, o := range others {
		os := o.Selection()
		switch {
		case os.DataSourceName != "":
			dataSource++
			if os.DataSourceName == sel.DataSourceName && os.DataSourceType == sel.DataSourceType {
				return awserr.InvalidSelectionCriteria("another policy already selects this DataSourceName and DataSourceType")
			}
		case os.Unscoped():
			unscoped++
		default:
			scoped++
			if os.Not {
				notIn++
			}
			if os.Field == sel.Field && !os.Not && !sel.Not {
				prefixes = append(prefixes, os.Values...)
			}
		}
	}
	switch policyType {
	case DataProtection, SubscriptionFilter:
		// One per account (and region): replacing needs the same name.
		if len(others) > 0 {
			return awserr.ResourceLimitExceeded()
		}
	case Transformer, FieldIndex:
		limit := maxScopedTransformer
		if policyType == FieldIndex {
			limit = maxScopedFieldIndex
		}
		switch {
		case sel.DataSourceName != "":
			if dataSource >= maxDataSourceIndex {
				return awserr.ResourceLimitExceeded()
			}
		case sel.Unscoped():
			if unscoped >= 1 {
				return awserr.ResourceLimitExceeded()
			}
		default:
			if scoped >= limit {
				return awserr.ResourceLimitExceeded()
			}
			if overlaps(sel.Values, prefixes) {
				return awserr.InvalidSelectionCriteria("the prefixes overlap those of another policy of this type")
			}
		}
	case MetricExtraction:
		// One unscoped policy, or up to five scoped ones, at most one of
		// them NOT IN.
		switch {
		case sel.Unscoped():
			if len(others) > 0 {
				return awserr.ResourceLimitExceeded()
			}
		default:
			if unscoped > 0 || scoped >= maxScopedMetric {
				return awserr.ResourceLimitExceeded()
			}
			if sel.Not && notIn > 0 {
				return awserr.InvalidSelectionCriteria("only one METRIC_EXTRACTION_POLICY may use NOT IN")
			}
			if !sel.Not && overlaps(sel.Values, prefixes) {
				return awserr.InvalidSelectionCriteria("the values overlap those of another policy of this type")
			}
		}
	}
	return nil
}

// checkDocument validates the document's form for its type, then runs the
// type's deep check from Config.Documents, if any.
func (s *Service) checkDocument(policyType, doc string) error {
	var err error
	switch policyType {
	case DataProtection:
		_, err = dataprotect.Parse(doc)
	case SubscriptionFilter:
		err = s.checkSubscription(doc)
	case Transformer:
		err = checkTransformer(doc)
	case FieldIndex:
		err = checkFieldIndex(doc)
	case MetricExtraction:
		err = checkMetricExtraction(doc)
	}
	if err != nil {
		return err
	}
	if f := s.docs[policyType]; f != nil {
		return f(doc)
	}
	return nil
}

// object decodes a JSON object document into v; extra text after it, or a
// document that is not an object, is refused.
func object(doc string, v any) error {
	t := bytes.TrimSpace([]byte(doc))
	if len(t) == 0 || t[0] != '{' {
		return awserr.InvalidPolicyDocument("the policy document is not a valid JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	if err := dec.Decode(v); err != nil || dec.More() {
		return awserr.InvalidPolicyDocument("the policy document is not a valid JSON object")
	}
	return nil
}

type subscriptionDoc struct {
	DestinationArn *string `json:"DestinationArn"`
	RoleArn        *string `json:"RoleArn"`
	FilterPattern  *string `json:"FilterPattern"`
	Distribution   *string `json:"Distribution"`
}

func (s *Service) checkSubscription(doc string) error {
	var d subscriptionDoc
	if err := object(doc, &d); err != nil {
		return err
	}
	if d.DestinationArn == nil || *d.DestinationArn == "" {
		return awserr.InvalidPolicyDocument("DestinationArn is required")
	}
	service, ok := arnService(*d.DestinationArn)
	if !ok || (service != "lambda" && service != "kinesis" && service != "firehose" && service != "logs") {
		return awserr.InvalidPolicyDocument("DestinationArn must be the ARN of a Lambda function, a Kinesis data stream, a Firehose delivery stream or a CloudWatch Logs destination")
	}
	if d.RoleArn != nil && *d.RoleArn != "" {
		if svc, ok := arnService(*d.RoleArn); !ok || svc != "iam" || !strings.Contains(*d.RoleArn, ":role/") {
			return awserr.InvalidPolicyDocument("RoleArn must be the ARN of an IAM role")
		}
	} else if service == "kinesis" || service == "firehose" {
		return awserr.InvalidPolicyDocument("RoleArn is required for a Kinesis or Firehose destination")
	}
	if d.Distribution != nil && *d.Distribution != "Random" && *d.Distribution != "ByLogStream" {
		return awserr.InvalidPolicyDocument("Distribution must be Random or ByLogStream")
	}
	if d.FilterPattern != nil && *d.FilterPattern != "" {
		// Counted as PutSubscriptionFilter's model check counts its own
		// filterPattern (max 1024, in characters: awsmodel.Length), not in
		// UTF-8 bytes, so a pattern one operation takes the other takes too.
		if awsmodel.Length(*d.FilterPattern) > 1024 {
			return awserr.InvalidPolicyDocument("FilterPattern must be at most 1024 characters")
		}
		if _, err := logs.CompilePattern(s.compile, *d.FilterPattern); err != nil {
			return err
		}
	}
	return nil
}

// arnService returns an ARN's service: arn:partition:service:region:account:resource.
func arnService(arn string) (string, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return "", false
	}
	return parts[2], true
}

// processors are the model's Processor members.
var processors = map[string]bool{
	"addKeys": true, "copyValue": true, "csv": true, "dateTimeConverter": true, "deleteKeys": true, "grok": true,
	"listToMap": true, "lowerCaseString": true, "moveKeys": true, "parseCloudfront": true, "parseJSON": true,
	"parseKeyValue": true, "parseRoute53": true, "parseToOCSF": true, "parsePostgres": true, "parseVPC": true,
	"parseWAF": true, "renameKeys": true, "splitString": true, "substituteString": true, "trimString": true,
	"typeConverter": true, "upperCaseString": true,
}

// checkTransformer checks the TRANSFORMER_POLICY form (reference §2.7, the
// recommended wrapper): 1 to 20 processors, each naming one processor. The
// processors' own rules are the transformer family's (Config.Documents).
func checkTransformer(doc string) error {
	var d struct {
		TransformerConfig *[]map[string]json.RawMessage `json:"transformerConfig"`
	}
	if err := object(doc, &d); err != nil {
		return err
	}
	if d.TransformerConfig == nil {
		return awserr.InvalidPolicyDocument("transformerConfig is required")
	}
	ps := *d.TransformerConfig
	if len(ps) < 1 || len(ps) > maxProcessors {
		return awserr.InvalidPolicyDocument("transformerConfig must have 1 to 20 processors")
	}
	for _, p := range ps {
		if len(p) != 1 {
			return awserr.InvalidPolicyDocument("each processor must name exactly one processor type")
		}
		for name := range p {
			if !processors[name] {
				return awserr.InvalidPolicyDocument("unknown processor " + name)
			}
		}
	}
	return nil
}

func checkFieldIndex(doc string) error {
	var d struct {
		Fields   []string `json:"Fields"`
		FieldsV2 map[string]struct {
			Type string `json:"type"`
		} `json:"FieldsV2"`
	}
	if err := object(doc, &d); err != nil {
		return err
	}
	if len(d.Fields) == 0 && len(d.FieldsV2) == 0 {
		return awserr.InvalidPolicyDocument("the policy must index at least one field")
	}
	seen := map[string]bool{}
	for _, f := range d.Fields {
		if f == "" {
			return awserr.InvalidPolicyDocument("field names must not be empty")
		}
		if seen[f] {
			return awserr.InvalidPolicyDocument("field " + f + " is listed twice")
		}
		seen[f] = true
	}
	for f, v := range d.FieldsV2 {
		if f == "" {
			return awserr.InvalidPolicyDocument("field names must not be empty")
		}
		if seen[f] {
			return awserr.InvalidPolicyDocument("field " + f + " is in both Fields and FieldsV2")
		}
		if v.Type != "FIELD_INDEX" && v.Type != "FACET" {
			return awserr.InvalidPolicyDocument("the type of field " + f + " must be FIELD_INDEX or FACET")
		}
	}
	return nil
}

func checkMetricExtraction(doc string) error {
	var d struct {
		EMF *struct {
			Status string `json:"Status"`
		} `json:"EmbeddedMetricFormat"`
	}
	if err := object(doc, &d); err != nil {
		return err
	}
	if d.EMF == nil {
		return awserr.InvalidPolicyDocument("EmbeddedMetricFormat is required")
	}
	if d.EMF.Status != "Enabled" && d.EMF.Status != "Disabled" {
		return awserr.InvalidPolicyDocument("EmbeddedMetricFormat.Status must be Enabled or Disabled")
	}
	return nil
}
