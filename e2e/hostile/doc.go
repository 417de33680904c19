// Package hostile is the hostile-input suite of the Security issue (issue 8):
// it attacks a real Cairn server the way a hostile client would and checks
// that every attack is refused with AWS's error, never a crash, a hang, a 500
// or memory that grows with the attacker's effort.
//
// Each test starts the real server in-process (harness.Start: server.Start on 127.0.0.1:0,
// SigV4 on, the root key it generates on first start, or an IAM file) and
// talks to it over TCP: through aws-sdk-go-v2 where a well-behaved client is
// enough, through requests signed with the SDK's own signer
// (aws/signer/v4) where the attack needs bytes or headers no SDK would send,
// and through raw sockets for slow or oversized requests. Because the server
// runs in the test process, memory is measured with runtime.ReadMemStats.
//
// regression_test.go keeps the attacks that were already refused refused
// (slowloris, deep JSON, gzip bombs, forged and tampered tokens, oversized
// bodies, replay outside the signing window, IAM denials across groups and
// ARNs); defects_test.go reproduces each defect of the issue exactly as it
// was found and asserts the fixed behaviour. Every test names what it guards
// in its doc comment.
//
// The package holds no code besides this comment; run it with
// `go test ./e2e/hostile/...`.
package hostile
