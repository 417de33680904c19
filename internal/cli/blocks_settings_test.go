package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBlocksSettings: --blocks and its companions from flags, environment
// and the config file (flags first), the keys from the environment or the
// file only, and the refusals.
func TestBlocksSettings(t *testing.T) {
	pg := []string{"--store", "postgres://u@db:5432/cairn"}
	keys := map[string]string{"CAIRN_BLOCKS_ACCESS_KEY_ID": "AKID", "CAIRN_BLOCKS_SECRET_ACCESS_KEY": "sekrit"}
	cfg, _, err := serverSettings(envOf(keys), append(pg, "--blocks", "s3://logs/cairn", "--blocks-endpoint", "http://127.0.0.1:9000", "--blocks-after", "30m"))
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Blocks
	if b == nil || b.URL != "s3://logs/cairn" || b.Endpoint != "http://127.0.0.1:9000" || !b.PathStyle || b.After != 30*time.Minute ||
		b.AccessKeyID != "AKID" || b.SecretAccessKey != "sekrit" {
		t.Fatalf("from flags: %+v", b)
	}
	file := filepath.Join(t.TempDir(), "cairn.yaml")
	os.WriteFile(file, []byte("store: postgres://u@db/cairn\nblocks:\n  url: s3://file-bucket\n  region: eu-west-1\n  after: 2h\n  access_key_id: FK\n  secret_access_key: fs\n"), 0o600)
	cfg, _, err = serverSettings(envOf(map[string]string{"CAIRN_CONFIG": file, "CAIRN_BLOCKS": "s3://env-bucket/p"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b := cfg.Blocks; b == nil || b.URL != "s3://env-bucket/p" || b.Region != "eu-west-1" || b.After != 2*time.Hour || b.AccessKeyID != "FK" || b.PathStyle {
		t.Fatalf("from the environment and the file: %+v", b)
	}
	if cfg, _, err = serverSettings(envOf(nil), pg); err != nil || cfg.Blocks != nil {
		t.Fatalf("without --blocks: %+v %v", cfg.Blocks, err)
	}
	for name, c := range map[string]struct {
		env  map[string]string
		args []string
	}{
		"no keys":         {nil, append(pg, "--blocks", "s3://logs")},
		"embedded store":  {keys, []string{"--blocks", "s3://logs"}},
		"not s3":          {keys, append(pg, "--blocks", "https://logs/x")},
		"negative after":  {keys, append(pg, "--blocks", "s3://logs", "--blocks-after", "-1m")},
		"bad env after":   {map[string]string{"CAIRN_BLOCKS_ACCESS_KEY_ID": "a", "CAIRN_BLOCKS_SECRET_ACCESS_KEY": "b", "CAIRN_BLOCKS_AFTER": "soon"}, append(pg, "--blocks", "s3://logs")},
		"keys in the URL": {keys, append(pg, "--blocks", "s3://AKID:secret@logs")},
	} {
		_, _, err := serverSettings(envOf(c.env), c.args)
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "secret") && !strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%s: the error echoes the key: %v", name, err)
		}
	}
}

// TestConfigSecretsPrivate: a config file holding a secret key
// (blocks.secret_access_key, export.s3.secret_access_key, a destination's)
// is refused while
// group or other users may access it, with the mode and the chmod to run
// and never the key; private, or without a secret, it is accepted.
func TestConfigSecretsPrivate(t *testing.T) {
	dir := t.TempDir()
	const blocks = "store: postgres://u@db/cairn\nblocks:\n  url: s3://file-bucket\n  access_key_id: FK\n  secret_access_key: file-sekrit-0123\n"
	const export = "export:\n  s3:\n    endpoint: http://127.0.0.1:9000\n    access_key_id: EK\n    secret_access_key: export-sekrit-0123\n"
	for _, c := range []struct {
		name, body string
		mode       os.FileMode
		refused    string // what the error names; "" when accepted
	}{
		{"blocks 0644", blocks, 0o644, "holds blocks.secret_access_key and is accessible by other users (mode 0644); run chmod 600 on it"},
		{"blocks 0640", blocks, 0o640, "holds blocks.secret_access_key and is accessible by other users (mode 0640); run chmod 600 on it"},
		{"export 0604", export, 0o604, "holds export.s3.secret_access_key and is accessible by other users (mode 0604); run chmod 600 on it"},
		{"both 0660", blocks + export, 0o660, "holds blocks.secret_access_key and export.s3.secret_access_key and is accessible"},
		{"blocks 0600", blocks, 0o600, ""},
		{"export 0400", export, 0o400, ""},
		{"destination 0644", "destinations:\n  \"arn:aws:kinesis:us-east-1:123456789012:stream/s\":\n    kinesis: {access_key_id: K, secret_access_key: dest-sekrit-0123}\n", 0o644,
			`holds destinations["arn:aws:kinesis:us-east-1:123456789012:stream/s"].kinesis.secret_access_key and is accessible by other users (mode 0644)`},
		{"no secret 0644", "listen: 127.0.0.1:0\n", 0o644, ""},
		// A PostgreSQL password is a secret as much as an S3 key (README
		// documents store: postgres://user:password@host:port/db).
		{"store password 0644", "store: postgres://u:db-sekrit-0123@db/cairn\n", 0o644,
			"holds store (a password in its URL) and is accessible by other users (mode 0644)"},
		{"store password 0600", "store: postgres://u:db-sekrit-0123@db/cairn\n", 0o600, ""},
		{"store without password 0644", "store: postgres://u@db/cairn\n", 0o644, ""},
		{"destination url password 0644", "destinations:\n  \"arn:aws:lambda:us-east-1:123456789012:function:f\":\n    http: {url: \"https://u:http-sekrit-0123@h/x\"}\n", 0o644,
			`holds destinations["arn:aws:lambda:us-east-1:123456789012:function:f"].http.url (a password in its URL) and is accessible`},
		{"destination authorization header 0644", "destinations:\n  \"arn:aws:lambda:us-east-1:123456789012:function:f\":\n    bulk: {url: \"http://h/_bulk\", index: i, headers: {Authorization: \"Basic hdr-sekrit-0123\"}}\n", 0o644,
			`holds destinations["arn:aws:lambda:us-east-1:123456789012:function:f"].bulk.headers.Authorization and is accessible`},
	} {
		file := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".yaml")
		if err := os.WriteFile(file, []byte(c.body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(file, c.mode); err != nil { // past the umask
			t.Fatal(err)
		}
		_, _, err := serverSettings(envOf(map[string]string{"CAIRN_CONFIG": file}), nil)
		switch {
		case c.refused == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.refused != "" && (err == nil || !strings.Contains(err.Error(), c.refused)):
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.refused)
		case err != nil && strings.Contains(err.Error(), "sekrit"):
			t.Errorf("%s: the error echoes the key: %v", c.name, err)
		}
	}
}
