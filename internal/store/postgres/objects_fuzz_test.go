package postgres

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzParseBlocksURL: any string either is refused or gives a bucket
// without a slash and a prefix that is empty or ends with one slash, and
// s3://bucket/prefix built from them parses back to the same.
func FuzzParseBlocksURL(f *testing.F) {
	for _, s := range []string{"s3://b", "s3://b/", "s3://b/p/q", "s3://b//p//", "http://b/p", "s3://u@b/p", "s3:///p", "s3://b/p?x=1", "s3://b/%2F"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		bucket, prefix, err := ParseBlocksURL(s)
		if err != nil {
			return
		}
		if bucket == "" || strings.Contains(bucket, "/") {
			t.Fatalf("%q: bucket %q", s, bucket)
		}
		if prefix != "" && (!strings.HasSuffix(prefix, "/") || strings.HasPrefix(prefix, "/") || strings.HasSuffix(prefix, "//")) {
			t.Fatalf("%q: prefix %q", s, prefix)
		}
		again := (&url.URL{Scheme: "s3", Host: bucket, Path: "/" + prefix}).String()
		b2, p2, err := ParseBlocksURL(again)
		if err != nil || b2 != bucket || p2 != prefix {
			t.Fatalf("%q: %s parses to %q %q %v", s, again, b2, p2, err)
		}
	})
}

func TestParseBlocksURL(t *testing.T) {
	for in, want := range map[string][2]string{"s3://logs": {"logs", ""}, "s3://logs/cairn": {"logs", "cairn/"}, "s3://logs/a/b/": {"logs", "a/b/"}, "s3://my.logs-1//a//b": {"my.logs-1", "a/b/"}, "s3://logs/caf%C3%A9": {"logs", "café/"}} {
		b, p, err := ParseBlocksURL(in)
		if err != nil || b != want[0] || p != want[1] {
			t.Errorf("%s: %q %q %v", in, b, p, err)
		}
	}
	for _, bad := range []string{"", "logs", "http://logs/x", "s3://", "s3://k:s@logs/x", "s3://logs/x?region=y", "s3://0/%00", "s3://ab/x", "s3://Logs/x", "s3://lo..gs", "s3://-logs", "s3://logs:9000/x", "s3://logs/%7f"} {
		if _, _, err := ParseBlocksURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
