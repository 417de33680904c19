package sigv4

import (
	"net/http"
	"testing"
	"time"
)

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/logs/aws4_request, SignedHeaders=host;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
		"AWS4-HMAC-SHA256 Credential=a/b/c/d/e,SignedHeaders=host,Signature=00",
		"AWS4-HMAC-SHA256 Credential",
		"AWS4-HMAC-SHA256 ,,,=,==,",
		"AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=",
		"  AWS4-HMAC-SHA256   Credential=//////, Signature=",
		"",
	} {
		f.Add(s)
	}
	v := New(Config{Now: func() time.Time { return signTime }})
	f.Fuzz(func(t *testing.T, h string) {
		a, err := ParseAuthorization(h)
		if err == nil && (a.Credential == "" || a.Signature == "" || len(a.SignedHeaders) == 0) {
			t.Fatalf("accepted incomplete header %q: %+v", h, a)
		}
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/", nil)
		req.Header.Set("Authorization", h)
		req.Header.Set("X-Amz-Date", "20130524T000000Z")
		if _, err := v.Verify(req, nil, "logs", secrets); err == nil {
			t.Fatalf("fuzzed header verified: %q", h)
		}
	})
}
