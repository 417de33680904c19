// Package otlp is Cairn's OpenTelemetry logs endpoint: OTLP/HTTP log exports
// (protobuf or JSON, optionally gzipped) at POST /v1/logs, as CloudWatch
// Logs' own OTLP endpoint takes them.
//
// Data flows: the HTTP request → bounded body read (Config.MaxBody as sent,
// Config.MaxDecoded after gunzip) → authentication of the body as sent
// (SigV4 for "logs", or a bearer API key: Config.Auth) → Decode (an
// ExportLogsServiceRequest) → Events (one JSON event per log record, with
// its resource and scope) → logs.Put into the group and stream the
// x-aws-log-group / x-aws-log-stream headers name, through PutLogEvents as
// the authenticated caller → the OTLP response ({} or partialSuccess).
package otlp

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"strconv"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// The request is decoded as logs.v1.LogsData, which is field for field (and
// on the wire, in protobuf and JSON) the collector's ExportLogsServiceRequest
// ("repeated ResourceLogs resource_logs = 1"): importing the collector
// package would bring gRPC and its gateway into the binary for nothing.

// Decode parses an export request body of the given kind ("protobuf" or
// "json").
func Decode(body []byte, kind string) (*logspb.LogsData, error) {
	var req logspb.LogsData
	switch kind {
	case "protobuf":
		if err := (proto.UnmarshalOptions{RecursionLimit: 64}).Unmarshal(body, &req); err != nil {
			return nil, errors.New("the body is not a valid OTLP protobuf ExportLogsServiceRequest")
		}
	case "json":
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true, RecursionLimit: 64}).Unmarshal(body, &req); err != nil {
			return nil, errors.New("the body is not a valid OTLP JSON ExportLogsServiceRequest")
		}
		fixJSONIDs(&req)
	default:
		return nil, errors.New("unsupported content type")
	}
	return &req, nil
}

// fixJSONIDs undoes protojson's reading of traceId and spanId: OTLP/JSON
// writes them as hex strings (the OTLP spec's one departure from proto3
// JSON), which protojson reads as base64. Hex digits are base64 digits, so
// re-encoding the bytes gives back the hex text exactly.
func fixJSONIDs(req *logspb.LogsData) {
	fix := func(b []byte, hexLen int) []byte {
		if len(b) == 0 {
			return b
		}
		s := base64.StdEncoding.EncodeToString(b)
		if len(s) == hexLen {
			if d, err := hex.DecodeString(s); err == nil {
				return d
			}
		}
		return b
	}
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			for _, r := range sl.LogRecords {
				r.TraceId = fix(r.TraceId, 32)
				r.SpanId = fix(r.SpanId, 16)
			}
		}
	}
}

// Event is one log record as a stored event.
type Event struct {
	TimestampMs int64
	Message     string
}

// Events turns every log record into a JSON event:
//
//	{"resource":{"attributes":{…}},"scope":{"name":…,"version":…,"attributes":{…}},
//	 "timeUnixNano":…,"observedTimeUnixNano":…,"severityNumber":…,"severityText":…,
//	 "body":…,"attributes":{…},"droppedAttributesCount":…,"flags":…,"traceId":"hex","spanId":"hex","eventName":…}
//
// the record's own OTLP fields with attribute lists as JSON objects and
// AnyValues as plain JSON values (bytes as base64), so Insights discovers
// every field (resource.attributes.service.name, body, attributes.user.id).
// Empty members are left out. The timestamp is timeUnixNano, else
// observedTimeUnixNano, else nowMs (the OTLP data model's rule).
func Events(req *logspb.LogsData, nowMs int64) []Event {
	var out []Event
	for _, rl := range req.ResourceLogs {
		var resource map[string]any
		if r := rl.GetResource(); r != nil && len(r.Attributes) > 0 {
			resource = map[string]any{"attributes": attrs(r.Attributes)}
		}
		for _, sl := range rl.ScopeLogs {
			var scope map[string]any
			if s := sl.GetScope(); s != nil {
				scope = map[string]any{}
				if s.Name != "" {
					scope["name"] = s.Name
				}
				if s.Version != "" {
					scope["version"] = s.Version
				}
				if len(s.Attributes) > 0 {
					scope["attributes"] = attrs(s.Attributes)
				}
				if len(scope) == 0 {
					scope = nil
				}
			}
			for _, r := range sl.LogRecords {
				ev := map[string]any{}
				if resource != nil {
					ev["resource"] = resource
				}
				if scope != nil {
					ev["scope"] = scope
				}
				ts := nowMs
				switch {
				case r.TimeUnixNano > 0:
					ts = int64(r.TimeUnixNano / 1e6)
				case r.ObservedTimeUnixNano > 0:
					ts = int64(r.ObservedTimeUnixNano / 1e6)
				}
				if ts > math.MaxInt64/2 || ts < 0 {
					ts = nowMs
				}
				if r.TimeUnixNano > 0 {
					ev["timeUnixNano"] = json.Number(strconv.FormatUint(r.TimeUnixNano, 10))
				}
				if r.ObservedTimeUnixNano > 0 {
					ev["observedTimeUnixNano"] = json.Number(strconv.FormatUint(r.ObservedTimeUnixNano, 10))
				}
				if r.SeverityNumber != 0 {
					ev["severityNumber"] = int32(r.SeverityNumber)
				}
				if r.SeverityText != "" {
					ev["severityText"] = r.SeverityText
				}
				if r.Body != nil {
					ev["body"] = value(r.Body, 0)
				}
				if len(r.Attributes) > 0 {
					ev["attributes"] = attrs(r.Attributes)
				}
				if r.DroppedAttributesCount > 0 {
					ev["droppedAttributesCount"] = r.DroppedAttributesCount
				}
				if r.Flags != 0 {
					ev["flags"] = r.Flags
				}
				if len(r.TraceId) > 0 {
					ev["traceId"] = hex.EncodeToString(r.TraceId)
				}
				if len(r.SpanId) > 0 {
					ev["spanId"] = hex.EncodeToString(r.SpanId)
				}
				if r.EventName != "" {
					ev["eventName"] = r.EventName
				}
				msg, err := json.Marshal(ev)
				if err != nil {
					continue // unreachable: every value above marshals
				}
				out = append(out, Event{TimestampMs: ts, Message: string(msg)})
			}
		}
	}
	return out
}

func attrs(kvs []*commonpb.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = value(kv.Value, 0)
	}
	return m
}

// value is an AnyValue as a plain JSON value. Nesting beyond 32 levels (the
// decoder's recursion limit already bounds it) becomes null.
func value(v *commonpb.AnyValue, depth int) any {
	if v == nil || depth > 32 {
		return nil
	}
	switch x := v.Value.(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		if math.IsNaN(x.DoubleValue) || math.IsInf(x.DoubleValue, 0) {
			return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
		}
		return x.DoubleValue
	case *commonpb.AnyValue_BytesValue:
		return base64.StdEncoding.EncodeToString(x.BytesValue)
	case *commonpb.AnyValue_ArrayValue:
		vals := x.ArrayValue.GetValues()
		a := make([]any, len(vals))
		for i, e := range vals {
			a[i] = value(e, depth+1)
		}
		return a
	case *commonpb.AnyValue_KvlistValue:
		m := map[string]any{}
		for _, kv := range x.KvlistValue.GetValues() {
			m[kv.Key] = value(kv.Value, depth+1)
		}
		return m
	}
	return nil
}
