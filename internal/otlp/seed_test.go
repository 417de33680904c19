package otlp_test

import (
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/proto"
)

func protoSeed() []byte {
	b, _ := proto.Marshal(&logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{{ScopeLogs: []*logspb.ScopeLogs{{
		LogRecords: []*logspb.LogRecord{{TimeUnixNano: 1741900000000000000, SeverityNumber: 9,
			Body:    &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: "x"}},
			TraceId: []byte("0123456789abcdef"), SpanId: []byte("01234567")}}}}}}})
	return b
}
