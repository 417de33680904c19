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
