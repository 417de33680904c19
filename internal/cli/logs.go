package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/cairnlog/cairn/internal/awsclient"
	"github.com/cairnlog/cairn/internal/logscli"
)

// awsFlags are the AWS settings every client command takes. Unset, they
// come from the standard places: AWS_PROFILE, AWS_REGION (or
// AWS_DEFAULT_REGION), AWS_ENDPOINT_URL_CLOUDWATCH_LOGS or AWS_ENDPOINT_URL,
// ~/.aws/config and ~/.aws/credentials, then the SDK's default credential
// chain (which refreshes temporary credentials itself).
type awsFlags struct {
	profile, region, endpoint, caFile string
}

func (a *awsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.profile, "profile", a.profile, "AWS profile [AWS_PROFILE]")
	fs.StringVar(&a.region, "region", a.region, "AWS region [AWS_REGION]")
	fs.StringVar(&a.endpoint, "endpoint", a.endpoint, "CloudWatch Logs endpoint URL, e.g. a Cairn server [AWS_ENDPOINT_URL_CLOUDWATCH_LOGS, AWS_ENDPOINT_URL]")
	fs.StringVar(&a.caFile, "ca-file", a.caFile, "PEM bundle of the certificates to trust for HTTPS instead of the system's, e.g. a Cairn server's self-signed certificate [AWS_CA_BUNDLE]")
}

// logsClient builds the CloudWatch Logs client. custom reports an endpoint
// other than AWS's; maxAttempts 1 leaves retrying to the caller.
func (a *awsFlags) client(ctx context.Context, env Env, maxAttempts int) (c *cwl.Client, custom bool, err error) {
	profile := firstNonEmpty(a.profile, env.Getenv("AWS_PROFILE"))
	region := firstNonEmpty(a.region, env.Getenv("AWS_REGION"), env.Getenv("AWS_DEFAULT_REGION"))
	endpoint := firstNonEmpty(a.endpoint, env.Getenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"), env.Getenv("AWS_ENDPOINT_URL"))
	var opts []func(*awsconfig.LoadOptions) error
	if profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(profile))
	}
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	if endpoint != "" {
		// Probing for credentials a local Cairn does not need would
		// otherwise log IMDS warnings.
		opts = append(opts, awsconfig.WithLogger(logging.Nop{}))
	}
	if maxAttempts > 0 {
		opts = append(opts, awsconfig.WithRetryMaxAttempts(maxAttempts))
	}
	// The SDK reads AWS_CA_BUNDLE itself; reading it here too lets the
	// flag take its place (a load option wins over the environment) and a
	// file without a certificate fail with a clear error instead of every
	// handshake failing.
	if caFile := firstNonEmpty(a.caFile, env.Getenv("AWS_CA_BUNDLE")); caFile != "" {
		pem, err := awsclient.ReadCABundle(caFile)
		if err != nil {
			return nil, false, err
		}
		opts = append(opts, awsconfig.WithCustomCABundle(bytes.NewReader(pem)))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, false, fmt.Errorf("AWS configuration: %w", err)
	}
	if endpoint != "" {
		if u, err := url.Parse(endpoint); err != nil || u.Host == "" {
			return nil, false, fmt.Errorf("endpoint %q is not a URL", endpoint)
		}
		custom = true
		if cfg.Region == "" {
			cfg.Region = "us-east-1" // Cairn accepts any region
		}
		// A local Cairn with authentication off accepts any credentials;
		// don't make users invent some.
		rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err := cfg.Credentials.Retrieve(rctx)
		cancel()
		if err != nil {
			cfg.Credentials = credentials.NewStaticCredentialsProvider("cairn", "cairn", "")
		}
	}
	if cfg.Region == "" {
		return nil, false, errors.New("no AWS region: give --region or set AWS_REGION")
	}
	return cwl.NewFromConfig(cfg, func(o *cwl.Options) {
		awsclient.WithBufferedBodies(o)
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), custom, nil
}

// awsErrText shortens SDK errors to the service's code and message.
func awsErrText(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() + ": " + ae.ErrorMessage()
	}
	return err.Error()
}

// stringList is a repeatable flag; commas also separate values.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*s = append(*s, p)
		}
	}
	return nil
}

// parseInterspersed parses flags that may follow positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

const logsUsage = `usage: cairn logs [--profile P] [--region R] [--endpoint URL] [--ca-file F] COMMAND ...

commands:
  groups [--prefix P]
  streams GROUP [--prefix P] [--order name|last-event]
  get GROUP STREAM [--start T] [--end T] [--head N | --tail N] [--format F]
  query [--group G]... [--since 1h | --start T [--end T]] [--limit N]
        [--format table|json|csv] [--chart] 'QUERY'
  tail GROUP... [--follow] [--since 10m|2h|ISO-8601] [--filter PATTERN]
       [--stream NAME]... | [--stream-prefix P]
       [--format short|detailed|json|raw] [--local-time | --utc] [--color auto|always|never]
       [--no-live-tail] [--poll-interval 2s]

Times (T) are ages (10m, 2h, 3d, 1w) or ISO-8601 times. Usage errors exit 2,
failed calls 1. 'cairn logs COMMAND -h' lists a command's flags.
`

// logsCommands are the synopsis and the flags of each `cairn logs` command
// (besides the connection flags every command takes), for its -h and to
// refuse a flag that belongs to another command.
type logsCommand struct {
	synopsis string
	flags    []string
	// minArgs and maxArgs bound the positional arguments (maxArgs -1: no
	// bound); argsMsg is the usage error otherwise.
	minArgs, maxArgs int
	argsMsg          string
}

func logsCommands() map[string]logsCommand {
	return map[string]logsCommand{
		"groups":  {"groups [--prefix P]\n\nLists log groups.", []string{"prefix"}, 0, 0, "takes no arguments"},
		"streams": {"streams GROUP [--prefix P] [--order name|last-event]\n\nLists a group's streams.", []string{"prefix", "order"}, 1, 1, "give one GROUP"},
		"get": {"get GROUP STREAM [--start T] [--end T] [--head N | --tail N] [--format F]\n\nPrints a stream's events in order.",
			[]string{"start", "end", "head", "tail", "format", "local-time", "utc", "color"}, 2, 2, "give GROUP and STREAM"},
		"tail": {"tail GROUP... [--follow] [--since T] [--filter PATTERN] [--stream NAME]... | [--stream-prefix P]\n\n" +
			"Prints the groups' events, merged in time order; --follow keeps printing new ones (Live Tail, or polling).",
			[]string{"follow", "f", "since", "filter", "stream", "stream-prefix", "format", "local-time", "utc", "color", "no-live-tail", "poll-interval"}, 1, -1, "give at least one GROUP"},
		"query": {"query [--group G]... [--since 1h | --start T [--end T]] [--limit N] [--format table|json|csv] [--chart] 'QUERY'\n\n" +
			"Runs a Logs Insights query (StartQuery), shows its progress, then its rows; Ctrl-C stops it on the server.",
			[]string{"group", "since", "start", "end", "limit", "format", "chart", "local-time", "utc"}, 1, 1, "give one QUERY (quote it)"},
	}
}

// connectionFlags are registered by awsFlags on every command.
func connectionFlags() map[string]bool {
	return map[string]bool{"profile": true, "region": true, "endpoint": true, "ca-file": true}
}

func runLogs(env Env, args []string) int {
	var af awsFlags
	top := flag.NewFlagSet("logs", flag.ContinueOnError)
	top.SetOutput(env.Stderr)
	top.Usage = func() { fmt.Fprint(env.Stderr, logsUsage) }
	af.register(top)
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	args = top.Args()
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, logsUsage)
		return 2
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("logs "+sub, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	af.register(fs)
	prefix := fs.String("prefix", "", "only names with this prefix")
	order := fs.String("order", "name", "streams: name or last-event")
	start := fs.String("start", "", "get: first time (inclusive)")
	end := fs.String("end", "", "get: end time (exclusive)")
	head := fs.Int("head", 0, "get: only the first N events")
	tailN := fs.Int("tail", 0, "get: only the last N events")
	follow := fs.Bool("follow", false, "tail: keep printing new events")
	fs.BoolVar(follow, "f", false, "tail: short for --follow")
	since := fs.String("since", "10m", "tail: start this long ago, or at this time")
	filter := fs.String("filter", "", "tail: filter pattern")
	var streams stringList
	fs.Var(&streams, "stream", "tail: only this stream (repeatable)")
	streamPrefix := fs.String("stream-prefix", "", "tail: only streams with this prefix")
	format := fs.String("format", "short", "short, detailed, json or raw")
	localTime := fs.Bool("local-time", false, "print times in the local zone")
	utc := fs.Bool("utc", false, "print times in UTC (the default)")
	color := fs.String("color", "auto", "auto (when stdout is a terminal), always or never")
	noLive := fs.Bool("no-live-tail", false, "tail --follow: poll FilterLogEvents instead of using StartLiveTail")
	pollEvery := fs.Duration("poll-interval", 2*time.Second, "tail --follow: time between polls when polling")
	var groups stringList
	fs.Var(&groups, "group", "query: a log group to query (repeatable; none: the query's SOURCE)")
	limit := fs.Int("limit", 0, "query: at most N rows (StartQuery's limit)")
	chart := fs.Bool("chart", false, "query: draw the bar chart of a stats … by bin() result even when stdout is not a terminal")
	spec, known := logsCommands()[sub]
	conn := connectionFlags()
	if !known {
		fmt.Fprintf(env.Stderr, "cairn logs: unknown command %q\n", sub)
		fmt.Fprint(env.Stderr, logsUsage)
		return 2
	}
	mine := map[string]bool{}
	for _, n := range spec.flags {
		mine[n] = true
	}
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: cairn logs %s\n\nflags:\n", spec.synopsis)
		fs.VisitAll(func(f *flag.Flag) {
			if mine[f.Name] || conn[f.Name] {
				fmt.Fprintf(env.Stderr, "  --%s\n    \t%s", f.Name, f.Usage)
				if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
					fmt.Fprintf(env.Stderr, " (default %s)", f.DefValue)
				}
				fmt.Fprintln(env.Stderr)
			}
		})
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var foreign []string
	fs.Visit(func(f *flag.Flag) {
		if !mine[f.Name] && !conn[f.Name] {
			foreign = append(foreign, "--"+f.Name)
		}
	})
	if len(foreign) > 0 {
		fmt.Fprintf(env.Stderr, "cairn logs %s: %s is not a flag of this command (see cairn logs %s -h)\n", sub, strings.Join(foreign, ", "), sub)
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(env.Stderr, "cairn logs:", awsErrText(err))
		return 1
	}
	usageErr := func(msg string) int {
		fmt.Fprintf(env.Stderr, "cairn logs %s: %s\n", sub, msg)
		return 2
	}
	if len(pos) < spec.minArgs || (spec.maxArgs >= 0 && len(pos) > spec.maxArgs) {
		return usageErr(spec.argsMsg)
	}
	if *localTime && *utc {
		return usageErr("--local-time and --utc are exclusive")
	}
	if *head > 0 && *tailN > 0 {
		return usageErr("--head and --tail are exclusive")
	}
	if *head < 0 || *tailN < 0 {
		return usageErr("--head and --tail take a positive count")
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	f := logscli.FormatShort
	if sub != "query" { // query has formats of its own (table, json, csv)
		if f, err = logscli.ParseFormat(*format); err != nil {
			return usageErr(err.Error())
		}
	}
	p := &logscli.Printer{Format: f, Location: time.UTC}
	if *localTime {
		p.Location = time.Local
	}
	switch *color {
	case "always":
		p.Color = true
	case "auto":
		p.Color = isTerminal(env.Stdout) && env.Getenv("NO_COLOR") == "" && env.Getenv("TERM") != "dumb"
	case "never":
	default:
		return usageErr("--color must be auto, always or never")
	}
	now := time.Now()
	parseT := func(s string) (time.Time, error) {
		if s == "" {
			return time.Time{}, nil
		}
		return logscli.ParseTime(s, now, p.Location)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	c, custom, err := af.client(ctx, env, 0)
	if err != nil {
		return fail(err)
	}
	switch sub {
	case "groups":
		err = logscli.Groups(ctx, c, env.Stdout, *prefix)
	case "streams":
		if *order != "name" && *order != "last-event" {
			return usageErr("--order must be name or last-event")
		}
		err = logscli.Streams(ctx, c, env.Stdout, pos[0], *prefix, *order == "last-event")
	case "get":
		o := logscli.GetOptions{Group: pos[0], Stream: pos[1], Head: *head, Tail: *tailN, Printer: p}
		if o.Start, err = parseT(*start); err != nil {
			return usageErr(err.Error())
		}
		if o.End, err = parseT(*end); err != nil {
			return usageErr(err.Error())
		}
		err = logscli.Get(ctx, c, env.Stdout, o)
	case "tail":
		o := logscli.TailOptions{Groups: pos, Filter: *filter, Streams: streams, StreamPrefix: *streamPrefix,
			Follow: *follow, Printer: p, Stderr: env.Stderr, NoLiveTail: *noLive, PollInterval: *pollEvery}
		if o.Since, err = parseT(*since); err != nil {
			return usageErr(err.Error())
		}
		if custom && hostIsLocal(firstNonEmpty(af.endpoint, env.Getenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"), env.Getenv("AWS_ENDPOINT_URL"))) {
			// "stream-127.0.0.1" or "stream-localhost" would not resolve.
			o.LiveTailOptions = append(o.LiveTailOptions, awsclient.NoHostPrefix)
		}
		err = logscli.Tail(ctx, c, env.Stdout, o)
	case "query":
		if len(pos) != 1 {
			return usageErr("give one QUERY (quote it)")
		}
		o := logscli.QueryOptions{Groups: groups, Query: pos[0], Limit: *limit, Format: *format,
			Progress: env.Stderr, Live: isTerminal(env.Stderr), Chart: isTerminal(env.Stdout)}
		if !set["format"] {
			o.Format = "table"
		}
		o.End = now
		if set["start"] {
			if set["since"] {
				return usageErr("--since and --start are exclusive")
			}
			if o.Start, err = parseT(*start); err != nil {
				return usageErr(err.Error())
			}
			if set["end"] {
				if o.End, err = parseT(*end); err != nil {
					return usageErr(err.Error())
				}
			}
		} else {
			s := "1h"
			if set["since"] {
				s = *since
			}
			if o.Start, err = parseT(s); err != nil {
				return usageErr(err.Error())
			}
		}
		if *chart {
			o.Chart = true
		}
		err = logscli.Query(ctx, c, env.Stdout, o)
		if errors.Is(err, logscli.ErrQueryStopped) {
			return 130
		}
	default:
		fmt.Fprintf(env.Stderr, "cairn logs: unknown command %q\n", sub)
		fmt.Fprint(env.Stderr, logsUsage)
		return 2
	}
	if err != nil && ctx.Err() == nil {
		return fail(err)
	}
	return 0
}

// hostIsLocal reports an endpoint whose host cannot take a DNS prefix: an
// IP address, or a single-label name such as localhost.
func hostIsLocal(endpoint string) bool {
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return !strings.Contains(h, ".") || strings.Trim(h, "0123456789.") == "" || strings.Contains(h, ":")
}
