// Package cli is Cairn's command line: it parses arguments, environment
// variables and the config file, builds the components a subcommand needs,
// and runs it. It is the only package besides cmd/ that reads flags or the
// environment (a lint test holds it so); everything it builds takes a Config
// struct.
//
// Data flows: cmd/cairn's main → Main (the process's stdin, stdout, stderr
// and environment as an Env, so tests run commands without a process) → Run
// picks the subcommand (commands) → its run function parses its flags (over
// the environment and, for the server and the agent, a YAML config file:
// yamlfile.go, checked strictly) → a Config of the package that does the
// work (server.Config in server.go, the agent in agent.go, logscli in
// logs.go, runcmd in run.go, bench in bench.go and benchpipe.go; backup and
// creds in ops.go; migrate, api-key, env, completion and version in files of
// their own) → the exit status.
package cli

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Env is what a subcommand sees of its process, so tests can run commands
// without a process of their own.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

type command struct {
	summary string
	run     func(env Env, args []string) int
}

func commands() map[string]command {
	return map[string]command{
		"server":     {"run the Cairn server (CloudWatch Logs API)", runServer},
		"bench":      {"load-generate against any CloudWatch Logs endpoint", runBench},
		"logs":       {"read log groups, streams and events; tail and follow them", runLogs},
		"agent":      {"ship files and stdin to a CloudWatch Logs endpoint (--config FILE)", runAgent},
		"run":        {"run a command and ship its stdout and stderr: cairn run -- CMD", runRun},
		"env":        {"print the environment for the AWS CLI and SDKs: eval \"$(cairn env)\"", runEnv},
		"version":    {"print the version and commit of this build", runVersion},
		"completion": {"print a shell completion script: cairn completion bash|zsh|fish", runCompletion},
		"api-key":    {"make a bearer API key for PutLogEvents and OTLP (stored hashed in the IAM file); list a file's keys", runAPIKey},
		"backup":     {"snapshot a running server's data directory: cairn backup --to DIR", runBackup},
		"migrate":    {"copy a stopped embedded server's data into PostgreSQL: cairn migrate --from DIR --to postgres://…", runMigrate},
		"creds":      {"issue credentials scoped to a log group and stream prefix (env or credential_process)", runCreds},
	}
}

// Main runs the command line and returns the process exit status.
func Main(args []string) int {
	return Run(Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}, args)
}

// Run runs a command with the given environment.
func Run(env Env, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.Stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		return runVersion(env, nil)
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "cairn: unknown command %q\n", args[0])
		usage(env.Stderr, cmds)
		return 2
	}
	return c.run(env, args[1:])
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: cairn COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'cairn COMMAND -h' for a command's flags.")
}

// envOr returns the environment variable, or def.
func envOr(env Env, name, def string) string {
	if v := strings.TrimSpace(env.Getenv(name)); v != "" {
		return v
	}
	return def
}
