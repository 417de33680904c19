// Sends log records to Cairn's /v1/logs with the OpenTelemetry JS SDK's own
// OTLP exporter. Usage: node otel-logs.js URL GROUP STREAM TOKEN proto|http
// Node finds the SDK through NODE_PATH (set by e2e/otlp_test.go). Exits 1
// when an export fails.
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { setGlobalErrorHandler } = require('@opentelemetry/core');

const [url, group, stream, token, kind] = process.argv.slice(2);
const { OTLPLogExporter } = require(kind === 'proto'
  ? '@opentelemetry/exporter-logs-otlp-proto'
  : '@opentelemetry/exporter-logs-otlp-http');

let failed = false;
setGlobalErrorHandler((err) => { failed = true; console.error('export error:', err && err.message ? err.message : err); });

const exporter = new OTLPLogExporter({
  url: url + '/v1/logs',
  headers: { 'x-aws-log-group': group, 'x-aws-log-stream': stream, Authorization: 'Bearer ' + token },
});
// The batch processor sends the three records in one export at forceFlush;
// a failed export reaches the global error handler above.
const provider = new LoggerProvider({
  resource: resourceFromAttributes({ 'service.name': 'checkout-' + kind, 'deployment.environment': 'e2e' }),
  processors: [new BatchLogRecordProcessor({ exporter })],
});
const logger = provider.getLogger('cairn-e2e', '1.2.3');
for (let i = 1; i <= 3; i++) {
  logger.emit({ severityNumber: 9, severityText: 'INFO', body: kind + ' record ' + i, attributes: { 'record.n': i, 'user.id': 'u' + i } });
}
provider.forceFlush()
  .then(() => provider.shutdown())
  .then(() => process.exit(failed ? 1 : 0))
  .catch((e) => { console.error(e); process.exit(1); });
