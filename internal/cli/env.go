package cli

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/cairnlog/cairn/internal/iam"
	"github.com/cairnlog/cairn/internal/tlsconf"
)

// runEnv prints the environment that points the AWS CLI and SDKs at a Cairn
// server started with the same flags, environment and config file:
//
//	eval "$(cairn env)"
//
// It prints both region variables (the AWS CLI v1 reads only
// AWS_DEFAULT_REGION), the credentials file as an absolute path (so the
// lines work from any directory), and the endpoint in the two variables
// that SDKs read; clients that honour neither still need --endpoint-url
// (docs/clients.md says which).
func runEnv(env Env, args []string) int {
	cfg, _, err := serverSettings(env, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(env.Stderr, "cairn env:", err)
		return 2
	}
	if cfg.IAMFile != "" {
		fmt.Fprintln(env.Stderr, "cairn env: the server uses an IAM file (--iam); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to one of its keys")
	}
	if cfg.Auth == "off" {
		fmt.Fprintln(env.Stderr, "cairn env: the server runs with --auth off; any credentials are accepted")
	}
	region := firstNonEmpty(env.Getenv("AWS_REGION"), env.Getenv("AWS_DEFAULT_REGION"), "us-east-1")
	scheme := "http"
	var ca string
	switch {
	case cfg.TLSSelfSigned:
		scheme = "https"
		ca = filepath.Join(cfg.DataDir, tlsconf.SelfSignedCertName)
	case cfg.TLSCertFile != "":
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		fmt.Fprintln(env.Stderr, "cairn env: listen address:", err)
		return 2
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1" // a wildcard listener is reachable on loopback
	}
	endpoint := scheme + "://" + net.JoinHostPort(host, port)
	var lines []string
	add := func(k, v string) { lines = append(lines, "export "+k+"="+shellQuote(v)) }
	if cfg.IAMFile == "" && cfg.Auth != "off" {
		creds, err := filepath.Abs(filepath.Join(cfg.DataDir, iam.CredentialsFileName))
		if err != nil {
			fmt.Fprintln(env.Stderr, "cairn env:", err)
			return 1
		}
		if _, err := os.Stat(creds); err != nil {
			fmt.Fprintf(env.Stderr, "cairn env: %s does not exist yet: start the server once (cairn server) to generate it\n", creds)
		}
		add("AWS_SHARED_CREDENTIALS_FILE", creds)
	}
	add("AWS_REGION", region)
	add("AWS_DEFAULT_REGION", region)
	add("AWS_ENDPOINT_URL", endpoint)
	add("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", endpoint)
	if ca != "" {
		abs, err := filepath.Abs(ca)
		if err == nil {
			ca = abs
		}
		add("AWS_CA_BUNDLE", ca)
	}
	fmt.Fprintln(env.Stdout, strings.Join(lines, "\n"))
	return 0
}

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-:=+,@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
