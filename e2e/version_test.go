package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// TestVersionCommit: a binary built from a git checkout says which commit it
// was built from, in `cairn version` and `cairn --version`.
func TestVersionCommit(t *testing.T) {
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD: %v", err)
	}
	for _, arg := range []string{"version", "--version"} {
		out, err := exec.Command(cairnBin, arg).Output()
		if err != nil {
			t.Fatalf("cairn %s: %v", arg, err)
		}
		if !strings.HasPrefix(string(out), "cairn ") || !strings.Contains(string(out), "commit "+strings.TrimSpace(string(head))) {
			t.Fatalf("cairn %s: %q, want the commit %s", arg, out, head)
		}
	}
}
