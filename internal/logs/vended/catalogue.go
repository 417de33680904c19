package vended

import "slices"

// The catalogue of vended logs: which AWS services send which log types, and
// the configuration templates of those Cairn can describe. It is AWS's
// internal data; the sources give only the log types per service (the
// model's PutDeliverySource documentation) and CloudFront's access-log
// defaults (a recorded CloudFront → S3 delivery, pipeline reference §7.5).
// Cairn keeps exactly those: a template for CloudFront ACCESS_LOGS to each
// destination type, and no template (no field or delimiter checks) for the
// rest, rather than inventing AWS's catalogue.

// logTypes are the log types each service (an ARN's service component)
// sends, from the model's documentation of PutDeliverySource.logType.
func logTypes(service string) []string {
	switch service {
	case "cloudfront":
		return []string{"ACCESS_LOGS"}
	case "elasticloadbalancing":
		return []string{"ALB_ACCESS_LOGS", "ALB_CONNECTION_LOGS", "ALB_HEALTH_CHECK_LOGS", "NLB_ACCESS_LOGS"}
	case "bedrock":
		return []string{"APPLICATION_LOGS", "EVENT_LOGS", "TRACES"}
	case "bedrock-agentcore":
		return []string{"APPLICATION_LOGS", "USAGE_LOGS", "TRACES"}
	case "codewhisperer":
		return []string{"EVENT_LOGS"}
	case "mediapackagev2":
		return []string{"EGRESS_ACCESS_LOGS", "INGRESS_ACCESS_LOGS"}
	case "mediatailor":
		return []string{"AD_DECISION_SERVER_LOGS", "MANIFEST_SERVICE_LOGS", "TRANSCODE_LOGS"}
	case "eks":
		return []string{"AUTO_MODE_BLOCK_STORAGE_LOGS", "AUTO_MODE_COMPUTE_LOGS", "AUTO_MODE_IPAM_LOGS", "AUTO_MODE_LOAD_BALANCING_LOGS",
			"EKS_CAPABILITY_ACK_LOGS", "EKS_CAPABILITY_ARGOCD_APPLICATION_LOGS", "EKS_CAPABILITY_ARGOCD_APPLICATIONSET_LOGS",
			"EKS_CAPABILITY_ARGOCD_COMMITSERVER_LOGS", "EKS_CAPABILITY_ARGOCD_REPOSERVER_LOGS", "EKS_CAPABILITY_ARGOCD_SERVER_LOGS", "EKS_CAPABILITY_KRO_LOGS"}
	case "entityresolution":
		return []string{"WORKFLOW_LOGS"}
	case "sso":
		return []string{"ERROR_LOGS"}
	case "network-firewall":
		return []string{"ALERT_LOGS", "ALLOW_LOGS", "DENY_LOGS"}
	case "pcs":
		return []string{"PCS_SCHEDULER_LOGS", "PCS_JOBCOMP_LOGS", "PCS_SCHEDULER_AUDIT_LOGS"}
	case "quicksight":
		return []string{"AGENT_HOURS_LOGS", "CHAT_LOGS", "FEEDBACK_LOGS", "INDEX_USAGE_LOGS"}
	case "qbusiness":
		return []string{"EVENT_LOGS", "SYNC_JOB_LOGS"}
	case "securityhub":
		return []string{"SECURITY_FINDING_LOGS"}
	case "ses":
		return []string{"APPLICATION_LOGS", "TRAFFIC_POLICY_DEBUG_LOGS"}
	case "workmail":
		return []string{"ACCESS_CONTROL_LOGS", "AUTHENTICATION_LOGS", "WORKMAIL_AVAILABILITY_PROVIDER_LOGS", "WORKMAIL_MAILBOX_ACCESS_LOGS", "WORKMAIL_PERSONAL_ACCESS_TOKEN_LOGS"}
	case "ec2":
		return []string{"EVENT_LOGS"} // VPC Route Server
	}
	return nil
}

// cloudFrontFields are CloudFront's standard access-log fields, in AWS's
// order (the recorded default recordFields).
var cloudFrontFields = [...]string{"date", "time", "x-edge-location", "sc-bytes", "c-ip", "cs-method", "cs(Host)", "cs-uri-stem",
	"sc-status", "cs(Referer)", "cs(User-Agent)", "cs-uri-query", "cs(Cookie)", "x-edge-result-type", "x-edge-request-id",
	"x-host-header", "cs-protocol", "cs-bytes", "time-taken", "x-forwarded-for", "ssl-protocol", "ssl-cipher",
	"x-edge-response-result-type", "cs-protocol-version", "fle-status", "fle-encrypted-fields", "c-port",
	"time-to-first-byte", "x-edge-detailed-result-type", "sc-content-type", "sc-content-len", "sc-range-start", "sc-range-end"}

// templates are the configuration templates Cairn knows, built fresh on
// each call (no shared mutable state).
func templates() []ConfigurationTemplate {
	fields := make([]RecordField, len(cloudFrontFields))
	for i, f := range cloudFrontFields {
		fields[i] = RecordField{Name: f, Mandatory: false}
	}
	delims := []string{",", "\\t", " ", "|"}
	mk := func(dest string, formats []string, s3 *S3DeliveryConfiguration, suffix []string) ConfigurationTemplate {
		return ConfigurationTemplate{
			Service: "cloudfront", LogType: "ACCESS_LOGS", ResourceType: "DISTRIBUTION", DeliveryDestinationType: dest,
			DefaultDeliveryConfigValues: &ConfigurationTemplateDeliveryConfigValues{RecordFields: cloudFrontFields[:], S3DeliveryConfiguration: s3},
			AllowedFields:               fields, AllowedOutputFormats: formats, AllowedFieldDelimiters: delims, AllowedSuffixPathFields: suffix,
			AllowedActionForAllowVendedLogsDeliveryForResource: "cloudfront:AllowVendedLogDeliveryForResource",
		}
	}
	return []ConfigurationTemplate{
		mk("S3", []string{"w3c", "json", "plain", "parquet"}, &S3DeliveryConfiguration{SuffixPath: "AWSLogs/{account-id}/CloudFront/", EnableHiveCompatiblePath: new(bool)},
			[]string{"{account-id}", "{DistributionId}", "{yyyy}", "{MM}", "{dd}", "{HH}"}),
		mk("CWL", []string{"w3c", "json", "plain"}, nil, nil),
		mk("FH", []string{"w3c", "json", "plain", "raw"}, nil, nil),
	}
}

// template is the template for a source's service and log type delivered to
// a destination type, or nil when Cairn has none.
func template(service, logType, destType string) *ConfigurationTemplate {
	for _, t := range templates() {
		if t.Service == service && t.LogType == logType && t.DeliveryDestinationType == destType {
			return &t
		}
	}
	return nil
}

func allowedField(t *ConfigurationTemplate, name string) bool {
	return slices.ContainsFunc(t.AllowedFields, func(f RecordField) bool { return f.Name == name })
}
