// Package e2e tests Cairn from the outside, the way users run it: TestMain
// builds the cairn binary once, each test starts it as a separate process on
// 127.0.0.1:0 with a fresh data directory (or restarts it on an old one) and
// drives it with real clients — the AWS CLI v2 (/usr/bin/aws), boto3
// (/usr/bin/python3) and aws-sdk-go-v2 — over HTTP. Processes are stopped by
// PID with SIGTERM (or killed with SIGKILL to simulate a crash), so the tests
// also cover startup, clean shutdown, persistence across restarts and
// recovery after a crash in the middle of ingestion.
//
// The package holds no code besides this comment; everything is in _test.go
// files. Run it with `go test ./e2e/...`; it needs the Debian packages awscli
// and python3-boto3 and fails, rather than skips, when they are missing.
package e2e
