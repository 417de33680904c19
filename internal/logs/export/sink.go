package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Sink is where exported objects go: a bucket and a key, as S3 has them.
type Sink interface {
	// Writable reports whether bucket exists and can be written; false
	// answers CreateExportTask as AWS answers a bucket it cannot use.
	Writable(ctx context.Context, bucket string) bool
	Put(ctx context.Context, bucket, key string, body []byte) error
}

// SinkConfig is the server configuration of export destinations (the
// config file's `export:` section). At most one of S3 and Dir is used; with
// neither, every CreateExportTask is refused.
type SinkConfig struct {
	// S3 writes through the S3 API: real S3 (Endpoint empty: AWS's own
	// endpoint for Region) or any S3-compatible store.
	S3 *S3Config
	// Dir writes to a directory: bucket B is the subdirectory DIR/B, which
	// must exist (as a bucket must); objects are files under it (0600).
	Dir string
}

// S3Config reaches an S3 API.
type S3Config struct {
	Endpoint string // e.g. http://127.0.0.1:9000; empty: AWS
	Region   string // default us-east-1
	// AccessKeyID and SecretAccessKey sign the requests; both empty: the
	// SDK's default chain is not consulted (libraries read no environment),
	// so they are required.
	AccessKeyID, SecretAccessKey string
	// PathStyle addresses buckets as ENDPOINT/BUCKET (most S3-compatible
	// stores need it).
	PathStyle bool
}

// NewSink builds the configured sink, or nil when none is configured.
func NewSink(cfg SinkConfig) (Sink, error) {
	switch {
	case cfg.S3 != nil && cfg.Dir != "":
		return nil, errors.New("export: configure s3 or directory, not both")
	case cfg.S3 != nil:
		c := *cfg.S3
		if c.Region == "" {
			c.Region = "us-east-1"
		}
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return nil, errors.New("export: s3 needs access_key_id and secret_access_key")
		}
		o := s3.Options{
			Region:       c.Region,
			Credentials:  credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, ""),
			UsePathStyle: c.PathStyle,
		}
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
		return s3Sink{s3.New(o)}, nil
	case cfg.Dir != "":
		return dirSink{cfg.Dir}, nil
	}
	return nil, nil
}

type s3Sink struct{ c *s3.Client }

func (s s3Sink) Writable(ctx context.Context, bucket string) bool {
	_, err := s.c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	return err == nil
}

// Put writes with the ACL AWS's export writes (bucket-owner-full-control,
// the condition of the documented bucket policy).
func (s s3Sink) Put(ctx context.Context, bucket, key string, body []byte) error {
	_, err := s.c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))), ACL: s3types.ObjectCannedACLBucketOwnerFullControl})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	return nil
}

type dirSink struct{ root string }

// path maps a bucket and key under root, refusing any that would leave it.
// A key is a name, not a path: S3 keeps "p/t/../000000.gz" as written, so
// a "." or ".." segment (from a log stream named "..", or
// "../<task>/<stream>") is written as "%2E" or "%2E%2E" rather than let
// filepath.Join resolve it onto another object of the bucket (another
// task's export, overwritten).
func (d dirSink) path(bucket, key string) (string, bool) {
	if bucket == "" || strings.ContainsAny(bucket, `/\`) || bucket == "." || bucket == ".." {
		return "", false
	}
	segs := strings.Split(key, "/")
	for i, seg := range segs {
		switch seg {
		case ".":
			segs[i] = "%2E"
		case "..":
			segs[i] = "%2E%2E"
		}
	}
	p := filepath.Join(d.root, bucket, filepath.FromSlash(strings.Join(segs, "/")))
	rel, err := filepath.Rel(filepath.Join(d.root, bucket), p)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return p, true
}

func (d dirSink) Writable(_ context.Context, bucket string) bool {
	if _, ok := d.path(bucket, "x"); !ok {
		return false
	}
	st, err := os.Stat(filepath.Join(d.root, bucket))
	return err == nil && st.IsDir()
}

func (d dirSink) Put(_ context.Context, bucket, key string, body []byte) error {
	p, ok := d.path(bucket, key)
	if !ok {
		return fmt.Errorf("export: key %q leaves bucket %q", key, bucket)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, body, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}
