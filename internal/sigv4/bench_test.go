package sigv4

import (
	"bytes"
	"testing"
	"time"
)

func benchVerify(b *testing.B, body []byte) {
	v := New(Config{Now: func() time.Time { return signTime }})
	req := signed(b, "http://127.0.0.1:4566", body, staticCreds, signTime)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(req, body, "logs", secrets); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify140KB is a large PutLogEvents batch: the body hash dominates.
func BenchmarkVerify140KB(b *testing.B) {
	benchVerify(b, bytes.Repeat([]byte(`{"timestamp":1700000000000,"message":"a log line of sorts"},`), 140*1024/60))
}

// BenchmarkVerifyHeadersOnly is the fixed cost: parsing, canonical request,
// cached signing key, one HMAC.
func BenchmarkVerifyHeadersOnly(b *testing.B) {
	benchVerify(b, nil)
}
