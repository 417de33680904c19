package e2e

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/cairnlog/cairn/internal/testdisk"
)

// TestDiskFullServer runs the real server on a small tmpfs (defect 4 of the
// security issue: a restart on a full disk spun at 120% CPU writing ~100
// error lines a second and never listened or exited):
//   - when the disk fills while it runs, PutLogEvents answers
//     ServiceUnavailableException, reads go on, the log says so once, and
//     SIGTERM stops it cleanly;
//   - a start on the full disk exits at once with status 1 and one line that
//     names the directory and the cause;
//   - once space is back, a start succeeds with every acknowledged event.
func TestDiskFullServer(t *testing.T) {
	t.Parallel()
	// The default reserve is one 32 MiB memtable + 16 MiB.
	mnt := testdisk.Mount(t, 96<<20)
	dir := filepath.Join(mnt, "data")
	srv := startServerOn(t, dir)
	c := srv.logs(defaultRegion)
	create(t, c, "full", "s")
	base := nowMS()
	var sent []event
	for i := range 100 {
		sent = append(sent, event{base + int64(i), fmt.Sprintf("before the disk filled %d", i)})
	}
	put(t, c, "full", "s", sent...)

	filler := testdisk.Fill(t, mnt, 40<<20)
	deadline := time.Now().Add(30 * time.Second)
	var err error
	for i := 0; ; i++ {
		in := &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String("full"), LogStreamName: aws.String("s")}
		ev := event{base + 1000 + int64(i), fmt.Sprintf("after the disk filled %d", i)}
		in.LogEvents = append(in.LogEvents, types.InputLogEvent{Timestamp: aws.Int64(ev.Timestamp), Message: aws.String(ev.Message)})
		if _, err = c.PutLogEvents(ctx(t), in); err != nil {
			break
		}
		sent = append(sent, ev)
		if time.Now().After(deadline) {
			t.Fatal("PutLogEvents still accepted with 40 MiB free of a 48 MiB reserve")
		}
	}
	if apiCode(err) != "ServiceUnavailableException" {
		t.Fatalf("PutLogEvents on a full disk: %v, want ServiceUnavailableException", err)
	}
	for range 200 {
		if _, err := c.CreateLogStream(ctx(t), &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String("full"),
			LogStreamName: aws.String("new")}); apiCode(err) != "ServiceUnavailableException" {
			t.Fatalf("CreateLogStream on a full disk: %v, want ServiceUnavailableException", err)
		}
	}
	checkEvents(t, c, "full", "s", sent)
	out := srv.out.String()
	if n := strings.Count(out, "refusing writes"); n != 1 {
		t.Errorf("the full disk was logged %d times, want once:\n%s", n, out)
	}
	if n := strings.Count(out, "\n"); n > 4 {
		t.Errorf("%d log lines while writes were refused:\n%s", n, out)
	}
	srv.stop()

	// A start on the full disk: out at once, with one clear line.
	testdisk.Fill(t, mnt, 0)
	cx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	cmd := exec.CommandContext(cx, cairnBin, "server", "--listen", "127.0.0.1:0", "--data", dir, "--auth", "off")
	log, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("cairn on a full disk: %v, want exit status 1:\n%s", err, log)
	}
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	want := `msg="cannot start" err="no space left for writes: data directory ` + dir + ` has 0.0 MiB free; opening it needs about `
	if len(lines) != 1 || !strings.Contains(lines[0], want) {
		t.Errorf("cairn on a full disk logged:\n%s\nwant one line containing %q", log, want)
	}

	// Space is back: every acknowledged event is there.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	srv = startServerOn(t, dir)
	c = srv.logs(defaultRegion)
	checkEvents(t, c, "full", "s", sent)
	put(t, c, "full", "s", event{nowMS(), "space is back"})
}

// checkEvents requires a stream to hold exactly want, in order.
func checkEvents(t *testing.T, c *cloudwatchlogs.Client, group, stream string, want []event) {
	t.Helper()
	out, err := c.GetLogEvents(ctx(t), &cloudwatchlogs.GetLogEventsInput{LogGroupName: &group, LogStreamName: &stream,
		StartFromHead: aws.Bool(true), Limit: aws.Int32(10000)})
	if err != nil {
		t.Fatalf("GetLogEvents: %v", err)
	}
	if len(out.Events) != len(want) {
		t.Fatalf("GetLogEvents: %d events, want %d", len(out.Events), len(want))
	}
	for i, e := range out.Events {
		if aws.ToString(e.Message) != want[i].Message || aws.ToInt64(e.Timestamp) != want[i].Timestamp {
			t.Fatalf("event %d is %q at %d, want %q at %d", i, aws.ToString(e.Message), aws.ToInt64(e.Timestamp), want[i].Message, want[i].Timestamp)
		}
	}
}

// TestModeDataAndIAM: the real server keeps its data private (defect 6 of the
// security issue): a data directory made 0755 with a 0644 file in it is
// tightened at start, everything it writes is 0600, and an IAM file others
// can read is refused with the credentials file's wording.
func TestModeDataAndIAM(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755) // whatever the umask
	if err := os.WriteFile(filepath.Join(dir, "left-over"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, "left-over"), 0o644)
	srv := startServerOn(t, dir)
	create(t, srv.logs(defaultRegion), "modes", "s")
	put(t, srv.logs(defaultRegion), "modes", "s", event{nowMS(), "private"})
	srv.stop()
	if !strings.Contains(srv.out.String(), "changed its mode to 0700") {
		t.Errorf("tightening the data directory was not logged:\n%s", srv.out)
	}
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data directory: %v, mode %04o, want 0700", err, fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	for _, de := range entries {
		fi, err := de.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // an obsolete WAL the engine deleted in the background
		}
		if err != nil || fi.Mode().Perm() != 0o600 {
			mode := fs.FileMode(0)
			if fi != nil {
				mode = fi.Mode().Perm()
			}
			t.Errorf("data file %s: mode %04o, want 0600 (%v)", de.Name(), mode, err)
		}
	}
	if len(entries) < 5 {
		t.Errorf("only %d files in the data directory: the check saw too little", len(entries))
	}

	iamFile := filepath.Join(t.TempDir(), "iam.yaml")
	if err := os.WriteFile(iamFile, []byte(e2eIAM), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chmod(iamFile, 0o644)
	cx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	out, err := exec.CommandContext(cx, cairnBin, "server", "--listen", "127.0.0.1:0", "--data", t.TempDir(),
		"--auth", "sigv4", "--iam", iamFile).CombinedOutput()
	var exit *exec.ExitError
	want := "IAM file " + iamFile + " is accessible by other users (mode 0644); run chmod 600 on it"
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), want) {
		t.Errorf("cairn with a 0644 IAM file: %v:\n%s\nwant exit status 1 and %q", err, out, want)
	}
}
