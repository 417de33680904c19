package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// TestRsyslogForwarding runs Debian's rsyslogd (scripts/test.sh installs
// it) in the foreground with a config of its own: three files it follows
// (imfile), forwarded to Cairn's syslog listener as RFC 5424 over TCP with
// octet counting, as BSD syslog over TCP with newline framing, and as BSD
// syslog over UDP. Every line must arrive once per door, with rsyslog's
// hostname as the stream and the fields it sent.
func TestRsyslogForwarding(t *testing.T) {
	rsyslogd, err := exec.LookPath("rsyslogd")
	if err != nil {
		rsyslogd = "/usr/sbin/rsyslogd"
	}
	if _, err := os.Stat(rsyslogd); err != nil {
		t.Fatalf("rsyslogd is not installed (scripts/test.sh installs the rsyslog package): %v", err)
	}
	dir := t.TempDir()
	s := startServerArgs(t, filepath.Join(dir, "data"), "--auth", "off", "--syslog-listen", "127.0.0.1:0")
	addr := ""
	for _, line := range strings.Split(s.out.String(), "\n") {
		if strings.Contains(line, `msg="syslog listening"`) {
			addr = logField(line, "addr")
		}
	}
	if addr == "" {
		t.Fatalf("no syslog listener in the log:\n%s", s.out.String())
	}
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	c := s.logs(defaultRegion)
	cx := ctx(t)
	if _, err := c.CreateLogGroup(cx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/syslog/e2e")}); err != nil {
		t.Fatal(err)
	}
	// AWS's syslog ingestion flow: the group's resource policy lets the
	// syslog service principal write, from the endpoint, before the Put.
	g, err := c.DescribeLogGroups(cx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String("/syslog/e2e")})
	if err != nil || len(g.LogGroups) != 1 {
		t.Fatal(g, err)
	}
	arn := *g.LogGroups[0].LogGroupArn
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"syslog.logs.amazonaws.com"},` +
		`"Action":["logs:PutLogEvents","logs:CreateLogStream"],"Resource":"` + arn + `:*",` +
		`"Condition":{"StringEquals":{"aws:sourceVpce":"vpce-0000000000000000c"}}}]}`
	if _, err := c.PutResourcePolicy(cx, &cloudwatchlogs.PutResourcePolicyInput{ResourceArn: aws.String(arn), PolicyDocument: aws.String(doc)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutSyslogConfiguration(cx, &cloudwatchlogs.PutSyslogConfigurationInput{LogGroupIdentifier: aws.String("/syslog/e2e")}); err != nil {
		t.Fatal(err)
	}

	doors := []struct{ tag, protocol, framing, template string }{
		{"rfc5424tcp", "tcp", "octet-counted", "RSYSLOG_SyslogProtocol23Format"},
		{"bsdtcp", "tcp", "traditional", "RSYSLOG_TraditionalForwardFormat"},
		{"bsdudp", "udp", "", "RSYSLOG_TraditionalForwardFormat"},
	}
	lines := []string{"first line", `with "quotes" and \ backslash`, "last line"}
	var conf strings.Builder
	fmt.Fprintf(&conf, "global(workDirectory=%q localHostname=\"e2e-host\")\nmodule(load=\"imfile\" mode=\"polling\" pollingInterval=\"1\")\n", dir)
	for _, d := range doors {
		in := filepath.Join(dir, d.tag+".log")
		if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&conf, "input(type=\"imfile\" file=%q tag=%q facility=\"local3\" severity=\"warning\" ruleset=%q)\n", in, d.tag+":", d.tag)
		framing := ""
		if d.framing != "" {
			framing = fmt.Sprintf(" TCP_Framing=%q", d.framing)
		}
		fmt.Fprintf(&conf, "ruleset(name=%q) { action(type=\"omfwd\" target=\"127.0.0.1\" port=%q protocol=%q template=%q%s) }\n",
			d.tag, port, d.protocol, d.template, framing)
	}
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out := newLineLog("rsyslogd-never-matches\x00")
	cmd := exec.Command(rsyslogd, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start rsyslogd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		// Stop it by its PID, and wait for it.
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			cmd.Process.Kill()
			<-exited
			t.Error("rsyslogd did not stop on SIGTERM")
		}
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", out.String())
		}
	}()

	want := map[string][]string{}
	for _, d := range doors {
		want[d.tag] = lines
	}
	deadline := time.Now().Add(45 * time.Second)
	for {
		got := map[string][]string{}
		ev, err := c.FilterLogEvents(cx, &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String("/syslog/e2e")})
		if err != nil {
			t.Fatal(err)
		}
		bad := ""
		for _, e := range ev.Events {
			var m map[string]any
			if err := json.Unmarshal([]byte(*e.Message), &m); err != nil {
				t.Fatalf("event %q: %v", *e.Message, err)
			}
			if *e.LogStreamName != "e2e-host" || m["hostname"] != "e2e-host" || m["facility"] != "local3" || m["severity"] != "warning" {
				bad = *e.LogStreamName + " " + *e.Message
			}
			app, _ := m["appName"].(string)
			msg, _ := m["message"].(string)
			got[app] = append(got[app], msg)
		}
		for _, v := range got {
			sort.Strings(v)
		}
		for _, v := range want {
			sort.Strings(v)
		}
		if bad == "" && fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("rsyslogd exited: %v\n%s", err, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("events by app:\n got %q\nwant %q\nbad: %s", got, want, bad)
		}
		time.Sleep(200 * time.Millisecond) // polling, bounded by the deadline
	}
}
