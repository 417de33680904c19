package cli

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cairnlog/cairn/internal/iam"
)

// runAPIKey makes and lists bearer API keys. Keys live in the IAM file as
// SHA-256 sums under a user (docs/ingest.md): `new` prints the key once and
// the entry to add; `list` shows a file's keys without secrets. Revoking is
// deleting the entry and sending the server SIGHUP.
func runAPIKey(env Env, args []string) int {
	if len(args) == 0 || (args[0] != "new" && args[0] != "list") {
		fmt.Fprintln(env.Stderr, "usage: cairn api-key new --log-groups '/app/*,/other' [--expires 720h]\n       cairn api-key list --iam FILE")
		return 2
	}
	fs := flag.NewFlagSet("api-key "+args[0], flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	groups := fs.String("log-groups", "", "comma-separated log group names or patterns ('*' matches anything) the key may write to")
	expires := fs.Duration("expires", 0, "the key expires after this long (default: never)")
	iamFile := fs.String("iam", "", "IAM file to list the keys of [CAIRN_IAM]")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if args[0] == "list" {
		path := firstNonEmpty(*iamFile, env.Getenv("CAIRN_IAM"))
		if path == "" {
			fmt.Fprintln(env.Stderr, "cairn api-key list: --iam FILE is required")
			return 2
		}
		st, err := iam.LoadFile(path)
		if err != nil {
			fmt.Fprintln(env.Stderr, "cairn api-key list:", err)
			return 1
		}
		for _, k := range st.APIKeys() {
			exp := "never"
			if !k.Expires.IsZero() {
				exp = k.Expires.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(env.Stdout, "%s\t%s\t%s\texpires %s\n", k.ID, k.Identity.ARN, strings.Join(k.LogGroups, ","), exp)
		}
		return 0
	}
	var list []string
	for _, g := range strings.Split(*groups, ",") {
		if g = strings.TrimSpace(g); g != "" {
			list = append(list, strconv.Quote(g))
		}
	}
	if len(list) == 0 {
		fmt.Fprintln(env.Stderr, "cairn api-key new: --log-groups is required (the groups the key may write to)")
		return 2
	}
	id, token, sum := iam.NewAPIKey()
	fmt.Fprintf(env.Stdout, "API key (shown once; Cairn keeps only its SHA-256):\n  %s\n\n", token)
	fmt.Fprintf(env.Stdout, "Add to the user's entry in the IAM file, then send the server SIGHUP:\n        apiKeys:\n          - id: %s\n            sha256: %s\n            logGroups: [%s]\n",
		id, sum, strings.Join(list, ", "))
	if *expires > 0 {
		fmt.Fprintf(env.Stdout, "            expires: %q\n", time.Now().Add(*expires).UTC().Format(time.RFC3339))
	}
	fmt.Fprintln(env.Stdout, "\nThe user's policies must allow logs:PutLogEvents and logs:CallWithBearerToken, and each group needs\n  aws logs put-bearer-token-authentication --log-group-identifier GROUP --bearer-token-authentication-enabled")
	return 0
}
