package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestAPIKeyNewAndList(t *testing.T) {
	var out, errb bytes.Buffer
	env := Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	if code := Run(env, []string{"api-key", "new", "--log-groups", "/app/*,/x"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	token := regexp.MustCompile(`ACWL[A-Za-z0-9_-]{43}`).FindString(out.String())
	sum := regexp.MustCompile(`sha256: ([0-9a-f]{64})`).FindStringSubmatch(out.String())
	id := regexp.MustCompile(`id: (ACCA[0-9A-F]+)`).FindStringSubmatch(out.String())
	if token == "" || sum == nil || id == nil {
		t.Fatalf("output:\n%s", out.String())
	}
	h := sha256.Sum256([]byte(token))
	if hex.EncodeToString(h[:]) != sum[1] {
		t.Fatalf("printed sha256 %s is not the key's", sum[1])
	}
	// The printed entry, pasted under a user, is a valid IAM file.
	entry := out.String()[strings.Index(out.String(), "        apiKeys:"):]
	entry = entry[:strings.Index(entry, "\n\n")+1]
	doc := "accounts:\n  - id: \"123456789012\"\n    users:\n      - name: sender\n" + entry
	path := filepath.Join(t.TempDir(), "iam.yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := Run(env, []string{"api-key", "list", "--iam", path}); code != 0 {
		t.Fatalf("list exit %d: %s\n%s", code, errb.String(), doc)
	}
	want := id[1] + "\tarn:aws:iam::123456789012:user/sender\t/app/*,/x\texpires never\n"
	if out.String() != want {
		t.Fatalf("list: %q, want %q", out.String(), want)
	}
	if strings.Contains(out.String(), token) {
		t.Fatal("list printed the key")
	}
	if code := Run(env, []string{"api-key", "new"}); code != 2 {
		t.Fatalf("new without --log-groups: exit %d", code)
	}
}
