package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// runVersion prints the build's version and commit, from what the Go
// toolchain stamps into the binary: the module version (a tag when built with
// `go install …@vX`, "(devel)" from a checkout) and, for `go build` in a git
// checkout, the commit, its time and whether the tree had local changes.
// `go run` stamps no commit; the line then says so.
func runVersion(env Env, args []string) int {
	if len(args) > 0 && args[0] != "-h" && args[0] != "--help" {
		fmt.Fprintln(env.Stderr, "usage: cairn version")
		return 2
	}
	fmt.Fprintln(env.Stdout, versionLine())
	return 0
}

func versionLine() string {
	version, commit, when, modified := "(devel)", "", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" {
			version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	line := "cairn " + version
	switch {
	case commit == "":
		line += " (no commit stamped: built with go run or -buildvcs=false)"
	default:
		line += " commit " + commit
		if when != "" {
			line += " (" + when + ")"
		}
		if modified {
			line += " with local changes"
		}
	}
	return line + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}
