package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// unmaskIAM: admin may do everything; masked everything but logs:Unmask
// (denied explicitly, as an operator would).
const unmaskIAM = `
accounts:
  - id: "123456789012"
    users:
      - name: admin
        accessKeys:
          - id: AKIAUNMASKADMIN00001
            secret: "unmask-admin-secret-0123456789"
        policies:
          - name: all
            document:
              Version: "2012-10-17"
              Statement:
                - {Effect: Allow, Action: ["logs:*"], Resource: "*"}
      - name: masked
        accessKeys:
          - id: AKIAUNMASKMASKED0001
            secret: "unmask-masked-secret-0123456789"
        policies:
          - name: all-but-unmask
            document:
              Version: "2012-10-17"
              Statement:
                - {Effect: Allow, Action: ["logs:*"], Resource: "*"}
                - {Effect: Deny, Action: ["logs:Unmask"], Resource: "*"}
`

// TestBoto3Unmask: GetLogEvents and FilterLogEvents with unmask=True
// through boto3 (its unmask member) against the real binary under SigV4, as
// an IAM user allowed logs:Unmask and as one denied it
// (testdata/boto3_unmask.py asserts the texts and errors).
func TestBoto3Unmask(t *testing.T) {
	t.Parallel()
	py, version := recentBoto3(t)
	dir := t.TempDir()
	iamFile := filepath.Join(dir, "iam.yaml")
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(iamFile, []byte(unmaskIAM), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(creds, []byte("[admin]\naws_access_key_id = AKIAUNMASKADMIN00001\naws_secret_access_key = unmask-admin-secret-0123456789\n"+
		"[masked]\naws_access_key_id = AKIAUNMASKMASKED0001\naws_secret_access_key = unmask-masked-secret-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServerArgs(t, filepath.Join(dir, "data"), "--auth", "sigv4", "--iam", iamFile)
	runBoto3Script(t, py, version, "boto3_unmask.py", srv.url, creds)
}
