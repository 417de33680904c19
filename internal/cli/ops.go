package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/cairnlog/cairn/internal/awsclient"
	"github.com/cairnlog/cairn/internal/server"
)

// awsConfig loads the SDK configuration the way `cairn logs` does (flags,
// then the standard environment and files), for commands that are not
// CloudWatch Logs clients. The endpoint defaults to a local Cairn.
func (a *awsFlags) awsConfig(ctx context.Context, env Env) (aws.Config, string, error) {
	profile := firstNonEmpty(a.profile, env.Getenv("AWS_PROFILE"))
	region := firstNonEmpty(a.region, env.Getenv("AWS_REGION"), env.Getenv("AWS_DEFAULT_REGION"), "us-east-1")
	endpoint := firstNonEmpty(a.endpoint, env.Getenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"), env.Getenv("AWS_ENDPOINT_URL"), "http://"+DefaultListen)
	if u, err := url.Parse(endpoint); err != nil || u.Host == "" {
		return aws.Config{}, "", fmt.Errorf("endpoint %q is not a URL", endpoint)
	}
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(region)}
	if profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(profile))
	}
	if caFile := firstNonEmpty(a.caFile, env.Getenv("AWS_CA_BUNDLE")); caFile != "" {
		pem, err := awsclient.ReadCABundle(caFile)
		if err != nil {
			return aws.Config{}, "", err
		}
		opts = append(opts, awsconfig.WithCustomCABundle(bytes.NewReader(pem)))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, "", fmt.Errorf("AWS configuration: %w", err)
	}
	return cfg, strings.TrimRight(endpoint, "/"), nil
}

const backupUsage = `usage: cairn backup --to DIR [--endpoint URL] [--profile P] [--region R] [--ca-file F]

Takes a consistent online snapshot of a running server's data directory into
DIR (which must not exist), on the server's host: the server writes it. The
request is signed with the account root's (or a user allowed cairn:Backup)
credentials and accepted from loopback only. 'cairn server --data DIR' opens
the copy as it is. See docs/operations.md.
`

func runBackup(env Env, args []string) int {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() { fmt.Fprint(env.Stderr, backupUsage, "\nflags:\n"); fs.PrintDefaults() }
	var af awsFlags
	af.register(fs)
	to := fs.String("to", "", "directory to write the snapshot into (must not exist)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *to == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	dir, err := filepath.Abs(*to)
	if err != nil {
		fmt.Fprintln(env.Stderr, "cairn backup:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	cfg, endpoint, err := af.awsConfig(ctx, env)
	if err != nil {
		fmt.Fprintln(env.Stderr, "cairn backup:", err)
		return 1
	}
	body, _ := json.Marshal(map[string]string{"to": dir})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+server.BackupPath, bytes.NewReader(body))
	if err != nil {
		fmt.Fprintln(env.Stderr, "cairn backup:", err)
		return 1
	}
	req.Header.Set("Content-Type", "application/json")
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		fmt.Fprintln(env.Stderr, "cairn backup: credentials:", err)
		return 1
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "logs", cfg.Region, time.Now()); err != nil {
		fmt.Fprintln(env.Stderr, "cairn backup: sign:", err)
		return 1
	}
	resp, err := cfg.HTTPClient.Do(req)
	if err != nil {
		fmt.Fprintln(env.Stderr, "cairn backup:", err)
		return 1
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Type != "" {
			fmt.Fprintf(env.Stderr, "cairn backup: %s: %s\n", e.Type, e.Message)
		} else {
			fmt.Fprintf(env.Stderr, "cairn backup: %s: %s\n", resp.Status, strings.TrimSpace(string(raw)))
		}
		return 1
	}
	fmt.Fprintf(env.Stdout, "backup written to %s; start it with: cairn server --data %s\n", dir, shellQuote(dir))
	return 0
}

const credsUsage = `usage: cairn creds --role ARN --group G [--stream-prefix P] [--duration 1h] [--format env|process] [aws flags]

Issues temporary credentials scoped to one log group and stream prefix: STS
AssumeRole with the session policy of the Jenkins CloudWatch plugin
(PutLogEvents and GetLogEvents on arn:aws:logs:*:*:log-group:G:log-stream:P*,
plus CreateLogStream there so that 'cairn run' and agents can create their
stream). --format env prints export lines (eval "$(cairn creds ...)");
--format process prints the JSON of an AWS credential_process, which the AWS
CLI and SDKs run again before the credentials expire:

  [profile ci]
  credential_process = cairn creds --endpoint http://127.0.0.1:4588 --role arn:aws:iam::ACCOUNT:role/ci --group ci --stream-prefix build-

The credentials that call AssumeRole are the standard chain's (--profile,
AWS_* variables), never the profile being served.
`

func runCreds(env Env, args []string) int {
	fs := flag.NewFlagSet("creds", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() { fmt.Fprint(env.Stderr, credsUsage, "\nflags:\n"); fs.PrintDefaults() }
	var af awsFlags
	af.register(fs)
	role := fs.String("role", "", "ARN of the role to assume [CAIRN_CREDS_ROLE]")
	group := fs.String("group", "", "log group the credentials may write")
	prefix := fs.String("stream-prefix", "", "stream name prefix within the group (default: every stream)")
	duration := fs.Duration("duration", time.Hour, "session lifetime (STS: 15m to the role's maximum)")
	format := fs.String("format", "env", "env (export lines) or process (credential_process JSON)")
	session := fs.String("session-name", "", "role session name (default CairnCreds-<uuid>)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	*role = firstNonEmpty(*role, env.Getenv("CAIRN_CREDS_ROLE"))
	if *role == "" || *group == "" || fs.NArg() > 0 || (*format != "env" && *format != "process") {
		fs.Usage()
		return 2
	}
	if *session == "" {
		var b [8]byte
		rand.Read(b[:])
		*session = "CairnCreds-" + hex.EncodeToString(b[:])
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, endpoint, err := af.awsConfig(ctx, env)
	if err != nil {
		fmt.Fprintln(env.Stderr, "cairn creds:", err)
		return 1
	}
	stsEndpoint := firstNonEmpty(af.endpoint, env.Getenv("AWS_ENDPOINT_URL_STS"), endpoint)
	client := sts.NewFromConfig(cfg, func(o *sts.Options) { o.BaseEndpoint = aws.String(stsEndpoint) })
	out, err := client.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: role, RoleSessionName: session,
		DurationSeconds: aws.Int32(int32(duration.Seconds())), Policy: aws.String(ScopedPolicy(*group, *prefix))})
	if err != nil {
		fmt.Fprintln(env.Stderr, "cairn creds:", awsErrText(err))
		return 1
	}
	c := out.Credentials
	switch *format {
	case "process":
		// The credential_process contract: Version 1, and an Expiration
		// (ISO 8601) so that the SDK runs the process again before it.
		json.NewEncoder(env.Stdout).Encode(map[string]any{"Version": 1, "AccessKeyId": *c.AccessKeyId,
			"SecretAccessKey": *c.SecretAccessKey, "SessionToken": *c.SessionToken, "Expiration": c.Expiration.UTC().Format(time.RFC3339)})
	default:
		fmt.Fprintf(env.Stdout, "export AWS_ACCESS_KEY_ID=%s\nexport AWS_SECRET_ACCESS_KEY=%s\nexport AWS_SESSION_TOKEN=%s\n# expires %s\n",
			shellQuote(*c.AccessKeyId), shellQuote(*c.SecretAccessKey), shellQuote(*c.SessionToken), c.Expiration.UTC().Format(time.RFC3339))
	}
	return 0
}

// ScopedPolicy is the session policy of `cairn creds`: the Jenkins
// CloudWatch plugin's (shared/reference/clients.md §1.4: PutLogEvents and
// GetLogEvents on the agent's stream ARN), with the stream name as a prefix
// and CreateLogStream added, since `cairn run` and agents create their own
// stream where the plugin's controller creates it for them.
func ScopedPolicy(group, prefix string) string {
	p := map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Action": []string{"logs:PutLogEvents", "logs:GetLogEvents", "logs:CreateLogStream"},
		"Resource": []string{"arn:aws:logs:*:*:log-group:" + group + ":log-stream:" + prefix + "*"}}}}
	raw, _ := json.Marshal(p)
	return string(raw)
}
